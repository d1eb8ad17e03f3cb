//! Time as an input: the outbound link asks a [`Clock`] for "now", so tests drive budgets and
//! resend back-offs with a [`ManualClock`] instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ingest::time::unix_now_usec;

/// Source of the current time in Unix microseconds.
pub trait Clock: Send + Sync {
    /// Now, Unix µs.
    fn now_usec(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_usec(&self) -> u64 {
        unix_now_usec()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock at `usec`.
    pub fn new(usec: u64) -> Self {
        Self(Arc::new(AtomicU64::new(usec)))
    }

    /// Moves the clock forward.
    pub fn advance_usec(&self, d: u64) {
        self.0.fetch_add(d, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_usec(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
