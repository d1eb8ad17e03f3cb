//! What the gate saves so that a restart, also `kill -9` or a power cut, does not undo the law
//! (issue 14 item 4): a revoked authorization stays revoked, an urgent use keeps its original
//! start and 24 h deadline, a refused one stays refused, and the gate still knows every match
//! and evidence crop it holds, so a later stop, revocation or refusal still deletes them and
//! the receipt counts them.
//!
//! One small JSON file in `gate.audit_dir` (beside the command replay window,
//! `LINK_STATE_FILE`), keyed by the authorization digest (a drone flies with different
//! documents over time; each keeps its own entry). It is replaced atomically and fsynced
//! (`utkik_shared::atomic_file`) *before* the effect of a command is reported and before a
//! match is sent, so whatever the ground was told is on disk. A file that cannot be read or
//! parsed stops start-up naming it: refusing to identify beats forgetting a revocation.
//!
//! Since `utkik-gate-state/2` the file also says which document the gate had loaded
//! (`loaded`): the configured `gate.authorization`, or an authorization uploaded from the ground
//! station and stored under `gate.audit_dir/uploads/<digest>/` (LAW.md 3.4). A drone killed
//! during an urgent use started from an upload comes back with that document. A `/1` file (no
//! `loaded`) is read as "the configured document".
//!
//! ```json
//! { "format": "utkik-gate-state/2",
//!   "loaded": { "digest": "<digest hex>", "source": "upload" },
//!   "authorizations": { "<digest hex>": {
//!     "lifecycle": { "state": "urgent", "clock_usec": 1, "urgent_started_usec": 1,
//!                    "application_recorded_usec": null },
//!     "use_started_usec": 1, "matches": [ { "alert_id": 1073807361, "evidence": null } ],
//!     "matches_sent": 1, "last_request_id": 3, "last_command": 5, "last_result": 0,
//!     "saved_usec": 1 } } }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utkik_shared::audit::PayloadRef;
use utkik_shared::authz::LifecycleSnapshot;

/// Name of the saved gate state inside the audit directory.
pub const GATE_STATE_FILE: &str = "gate-state.json";
/// `format` of the file as written.
pub const GATE_STATE_FORMAT: &str = "utkik-gate-state/2";
/// The earlier format, still read (no `loaded`: the configured document).
pub const GATE_STATE_FORMAT_1: &str = "utkik-gate-state/1";

/// The state file cannot be read, parsed or written.
#[derive(Debug, thiserror::Error)]
#[error("gate state file {path}: {reason}")]
pub struct GateStateError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (names the field when it is the content).
    pub reason: String,
}

/// A match held on the drone: its alert and its evidence crop in the payload store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedMatch {
    /// The alert id it went out with.
    pub alert_id: u32,
    /// Its evidence crop.
    pub evidence: Option<PayloadRef>,
}

/// Everything the gate keeps about one authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedUse {
    /// The lifecycle (state, clock, urgent start, application).
    pub lifecycle: LifecycleSnapshot,
    /// When the running use started (none: no use running).
    pub use_started_usec: Option<u64>,
    /// Matches held (deleted by stop, revoke, refusal).
    pub matches: Vec<SavedMatch>,
    /// Matches sent under this authorization (UTKIK_AUTHZ_STATUS.matches).
    pub matches_sent: u64,
    /// The command handled last (a resend of it is answered, not applied again).
    pub last_request_id: u16,
    /// Its UTKIK_AUTHZ_COMMAND value.
    pub last_command: Option<u32>,
    /// Its MAV_RESULT value.
    pub last_result: u32,
    /// When this entry was saved (Unix µs).
    pub saved_usec: u64,
}

/// Where the loaded document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentSource {
    /// `gate.authorization` of the configuration.
    Configured,
    /// Uploaded from the ground station (UTKIK_UPLOAD_CHUNK), stored in
    /// `gate.audit_dir/uploads/<digest>/`.
    Upload,
}

/// The document the gate had loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadedDocument {
    /// Its digest (hex).
    pub digest: String,
    /// Where it came from.
    pub source: DocumentSource,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedGate {
    /// The document loaded when the file was written (`None`: none, or a `/1` file).
    pub loaded: Option<LoadedDocument>,
    /// Per authorization digest (hex).
    pub authorizations: BTreeMap<String, SavedUse>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateFile {
    format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    loaded: Option<LoadedDocument>,
    authorizations: BTreeMap<String, SavedUse>,
}

fn is_digest_hex(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

impl SavedGate {
    /// Parses the file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`GateStateError`] naming the field.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, GateStateError> {
        let err = |reason: String| GateStateError {
            path: path.to_path_buf(),
            reason,
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let f: GateFile = serde::Deserialize::deserialize(&mut de).map_err(|e| err(e.to_string()))?;
        de.end().map_err(|e| err(e.to_string()))?;
        if f.format != GATE_STATE_FORMAT && f.format != GATE_STATE_FORMAT_1 {
            return Err(err(format!(
                "field `format`: `{}` is not `{GATE_STATE_FORMAT}` (or `{GATE_STATE_FORMAT_1}`)",
                f.format
            )));
        }
        for key in f.authorizations.keys() {
            if !is_digest_hex(key) {
                return Err(err(format!(
                    "field `authorizations`: key `{key}` is not a SHA-256 digest in hex"
                )));
            }
        }
        if let Some(l) = &f.loaded
            && !is_digest_hex(&l.digest)
        {
            return Err(err(format!(
                "field `loaded.digest`: `{}` is not a SHA-256 digest in hex",
                l.digest
            )));
        }
        Ok(Self {
            loaded: f.loaded,
            authorizations: f.authorizations,
        })
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let f = GateFile {
            format: GATE_STATE_FORMAT.into(),
            loaded: self.loaded.clone(),
            authorizations: self.authorizations.clone(),
        };
        serde_json::to_vec_pretty(&f).expect("plain data serialises")
    }

    /// Reads the file; a missing file is the empty state (first start with this folder).
    ///
    /// # Errors
    /// Unreadable or damaged: start-up stops naming the file.
    pub fn load(path: &Path) -> Result<Self, GateStateError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_json(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(GateStateError {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Replaces the file atomically and durably (temporary file, fsync, rename, folder fsync).
    ///
    /// # Errors
    /// [`GateStateError`] with the OS error.
    pub fn save(&self, path: &Path) -> Result<(), GateStateError> {
        utkik_shared::atomic_file::write_atomic(path, &self.to_json(), 0o600).map_err(|e| GateStateError {
            path: path.to_path_buf(),
            reason: e.source.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::authz::AuthzState;

    fn sample() -> SavedGate {
        let mut g = SavedGate {
            loaded: Some(LoadedDocument {
                digest: "ab".repeat(32),
                source: DocumentSource::Upload,
            }),
            ..SavedGate::default()
        };
        g.authorizations.insert(
            "ab".repeat(32),
            SavedUse {
                lifecycle: LifecycleSnapshot {
                    state: AuthzState::Urgent,
                    clock_usec: 7,
                    urgent_started_usec: Some(5),
                    application_recorded_usec: None,
                },
                use_started_usec: Some(5),
                matches: vec![SavedMatch {
                    alert_id: 0x4001_0001,
                    evidence: Some(PayloadRef {
                        sha256_hex: "cd".repeat(32),
                        len_bytes: 1200,
                    }),
                }],
                matches_sent: 1,
                last_request_id: 3,
                last_command: Some(5),
                last_result: 0,
                saved_usec: 7,
            },
        );
        g
    }

    #[test]
    fn round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(GATE_STATE_FILE);
        assert_eq!(SavedGate::load(&path).unwrap(), SavedGate::default(), "no file yet");
        sample().save(&path).unwrap();
        assert_eq!(SavedGate::load(&path).unwrap(), sample());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(GATE_STATE_FILE);
        let good = sample().to_json();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() / 2].to_vec(), "EOF"),
            (
                String::from_utf8(good.clone())
                    .unwrap()
                    .replace("utkik-gate-state/2", "utkik-gate-state/9")
                    .into_bytes(),
                "format",
            ),
            (
                String::from_utf8(good.clone())
                    .unwrap()
                    .replace("\"urgent\"", "\"very_urgent\"")
                    .into_bytes(),
                "very_urgent",
            ),
            (
                String::from_utf8(good.clone())
                    .unwrap()
                    .replace(&"ab".repeat(32), "not-a-digest")
                    .into_bytes(),
                "not-a-digest",
            ),
        ];
        for (bytes, needle) in cases {
            std::fs::write(&path, &bytes).unwrap();
            let e = SavedGate::load(&path).unwrap_err().to_string();
            assert!(e.contains(GATE_STATE_FILE) && e.contains(needle), "{e}");
        }
    }

    /// A file written before the gate could load uploads names no document: the configured one.
    #[test]
    fn a_version_1_file_is_read_as_the_configured_document() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(GATE_STATE_FILE);
        let mut old = sample();
        old.loaded = None;
        let text = String::from_utf8(old.to_json())
            .unwrap()
            .replace(GATE_STATE_FORMAT, GATE_STATE_FORMAT_1);
        assert!(!text.contains("loaded"), "{text}");
        std::fs::write(&path, text).unwrap();
        assert_eq!(SavedGate::load(&path).unwrap(), old);
    }
}
