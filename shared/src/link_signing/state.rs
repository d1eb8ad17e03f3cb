//! The signing state that must survive a restart: the last accepted timestamp per stream (else
//! a frame recorded before the restart could be replayed after it) and the last timestamp we
//! signed with (else a restarted sender whose clock is behind would be refused as a replay).
//! A small JSON file, replaced through [`crate::atomic_file`] (temporary file, fsync, rename,
//! fsync of the folder), so a crash leaves the old or the new state, never half of one.
//!
//! ```json
//! { "format": "utkik-link-state/1", "sent_timestamp": 1234,
//!   "streams": [ { "link_id": 1, "system_id": 1, "component_id": 191, "timestamp": 1200 } ] }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::window::{ReplayWindow, StreamId};

/// `format` of a link state file.
pub const LINK_STATE_FORMAT: &str = "utkik-link-state/1";

/// What a link end remembers across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    /// The last signing timestamp this end signed with (0: none).
    pub sent_timestamp: u64,
    /// Last accepted timestamp per received stream.
    pub window: ReplayWindow,
}

/// A state file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: link signing state: {reason}")]
pub struct LinkStateError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (names the field).
    pub reason: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamEntry {
    link_id: u8,
    system_id: u8,
    component_id: u8,
    timestamp: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    sent_timestamp: u64,
    streams: Vec<StreamEntry>,
}

impl LinkState {
    /// Parses a state file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`LinkStateError`] naming the field.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, LinkStateError> {
        let err = |reason: String| LinkStateError {
            path: path.to_path_buf(),
            reason,
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let f: StateFile = serde_path_to_error::deserialize(&mut de).map_err(|e| err(e.to_string()))?;
        if f.format != LINK_STATE_FORMAT {
            return Err(err(format!(
                "field `format`: `{}` is not `{LINK_STATE_FORMAT}`",
                f.format
            )));
        }
        Ok(Self {
            sent_timestamp: f.sent_timestamp,
            window: ReplayWindow::from_streams(f.streams.into_iter().map(|s| {
                (
                    StreamId {
                        link_id: s.link_id,
                        system_id: s.system_id,
                        component_id: s.component_id,
                    },
                    s.timestamp,
                )
            })),
        })
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let f = StateFile {
            format: LINK_STATE_FORMAT.into(),
            sent_timestamp: self.sent_timestamp,
            streams: self
                .window
                .streams()
                .map(|(s, timestamp)| StreamEntry {
                    link_id: s.link_id,
                    system_id: s.system_id,
                    component_id: s.component_id,
                    timestamp,
                })
                .collect(),
        };
        serde_json::to_vec_pretty(&f).expect("plain data serialises")
    }

    /// Reads the state; a missing file is the empty state (first start).
    ///
    /// # Errors
    /// An unreadable or malformed file: refusing to start beats forgetting the window.
    pub fn load(path: &Path) -> Result<Self, LinkStateError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_json(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(LinkStateError {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Writes the state atomically (temporary file, fsync, rename, fsync of the folder).
    ///
    /// # Errors
    /// [`LinkStateError`] with the OS error.
    pub fn save(&self, path: &Path) -> Result<(), LinkStateError> {
        crate::atomic_file::write_atomic(path, &self.to_json(), 0o600).map_err(|e| LinkStateError {
            path: path.to_path_buf(),
            reason: e.source.to_string(),
        })
    }
}
