//! Shutdown as an input: one flag every thread polls, set by Ctrl-C, by a test, or by a fatal
//! error in any stage, plus an interruptible sleep so back-offs end promptly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Cloneable shutdown signal shared by all pipeline threads.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal (idempotent).
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until the signal fires; returns `true` when it fired.
    pub fn sleep(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if self.is_triggered() {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(20)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag_and_sleep_returns_at_once_when_fired() {
        let a = Shutdown::new();
        let b = a.clone();
        assert!(!b.is_triggered());
        assert!(!b.sleep(Duration::ZERO));
        a.trigger();
        assert!(b.is_triggered());
        // An hour-long sleep must return immediately: the test would hang otherwise.
        assert!(b.sleep(Duration::from_secs(3600)));
    }
}
