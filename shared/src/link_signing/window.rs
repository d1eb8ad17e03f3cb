//! The replay window of the MAVLink 2 signing spec: per stream (link id, system id, component
//! id) the last accepted timestamp; a frame must be newer than it. A stream not seen before is
//! accepted only if its timestamp is at most a minute behind the newest time known (the local
//! clock or any accepted timestamp), so an old recording cannot be replayed as a "new" stream.
//! Plain data: the caller saves it ([`super::LinkState`]) and a restart starts from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How far behind the newest known time a new stream may start: one minute, in 10 µs units.
pub const NEW_STREAM_TOLERANCE: u64 = 60 * 100_000;

/// One signed stream: who signed (link id) and who sent (system, component).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamId {
    /// Signing link id in the signature.
    pub link_id: u8,
    /// Sender system id.
    pub system_id: u8,
    /// Sender component id.
    pub component_id: u8,
}

/// Why a timestamp is not new enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRefusal {
    /// Not above the stream's last accepted timestamp.
    Replayed {
        /// The stream's last accepted timestamp.
        last: u64,
    },
    /// A new stream more than [`NEW_STREAM_TOLERANCE`] behind the newest known time.
    Stale {
        /// The newest known time (clock or accepted timestamp).
        newest: u64,
    },
}

/// Last accepted timestamp per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    streams: BTreeMap<StreamId, u64>,
    highest: u64,
    changed: bool,
}

impl ReplayWindow {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `timestamp` on `stream` would be accepted with the local clock at `now` (both in
    /// signing units).
    ///
    /// # Errors
    /// [`WindowRefusal`].
    pub fn check(&self, stream: StreamId, timestamp: u64, now: u64) -> Result<(), WindowRefusal> {
        match self.streams.get(&stream) {
            Some(&last) if timestamp <= last => Err(WindowRefusal::Replayed { last }),
            Some(_) => Ok(()),
            None => {
                let newest = now.max(self.highest);
                if timestamp.saturating_add(NEW_STREAM_TOLERANCE) < newest {
                    Err(WindowRefusal::Stale { newest })
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Records an accepted timestamp (after its signature verified).
    pub fn accept(&mut self, stream: StreamId, timestamp: u64) {
        let last = self.streams.entry(stream).or_insert(0);
        *last = (*last).max(timestamp);
        self.highest = self.highest.max(timestamp);
        self.changed = true;
    }

    /// The last accepted timestamp of `stream`.
    pub fn last(&self, stream: StreamId) -> Option<u64> {
        self.streams.get(&stream).copied()
    }

    /// Every stream and its last accepted timestamp.
    pub fn streams(&self) -> impl Iterator<Item = (StreamId, u64)> + '_ {
        self.streams.iter().map(|(s, t)| (*s, *t))
    }

    /// The newest accepted timestamp of any stream (0 when none).
    pub fn highest(&self) -> u64 {
        self.highest
    }

    /// Whether anything was accepted since the last call (then: save the window).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// A window holding these streams (loaded from a saved state).
    pub fn from_streams(streams: impl IntoIterator<Item = (StreamId, u64)>) -> Self {
        let mut w = Self::default();
        for (s, t) in streams {
            w.accept(s, t);
        }
        w.changed = false;
        w
    }
}
