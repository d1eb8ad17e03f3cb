//! The link-key file: the 32-byte shared secret of a signed MAVLink link and the signing link
//! id of its holder. One loader for the ground station and the onboard program (both read the
//! same format; assets/authz/README.md documents it).
//!
//! ```json
//! { "format": "utkik-link-key/1", "link_id": 1, "secret_key_hex": "<64 hex digits>", "note": "..." }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `format` of a link key file.
pub const LINK_KEY_FORMAT: &str = "utkik-link-key/1";

/// The shared secret of a signed link (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey {
    /// MAVLink signing link id the holder puts in the frames it signs.
    pub link_id: u8,
    /// The 32-byte secret.
    pub secret_key: [u8; 32],
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkKey")
            .field("link_id", &self.link_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// A link key file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: link key file: {reason}")]
pub struct LinkKeyError {
    /// The file.
    pub path: PathBuf,
    /// Why (names the field).
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkKeyFile {
    format: String,
    link_id: u8,
    secret_key_hex: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

/// 32 bytes from 64 hex digits; `None` for anything else.
pub(crate) fn secret_from_hex(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok().and_then(|k| k.try_into().ok())
}

impl LinkKey {
    /// Parses a key file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`LinkKeyError`] naming the field (format, hex, an all-zero key).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, LinkKeyError> {
        let err = |reason: String| LinkKeyError {
            path: path.to_path_buf(),
            reason,
        };
        let f: LinkKeyFile = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        if f.format != LINK_KEY_FORMAT {
            return Err(err(format!(
                "field `format`: `{}` is not `{LINK_KEY_FORMAT}`",
                f.format
            )));
        }
        let secret_key = secret_from_hex(&f.secret_key_hex)
            .ok_or_else(|| err("field `secret_key_hex`: 32 bytes of hex expected".into()))?;
        if secret_key == [0; 32] {
            return Err(err("field `secret_key_hex`: an all-zero key is refused".into()));
        }
        Ok(Self {
            link_id: f.link_id,
            secret_key,
        })
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// An unreadable file or [`LinkKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, LinkKeyError> {
        let bytes = std::fs::read(path).map_err(|e| LinkKeyError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_json(&bytes, path)
    }
}
