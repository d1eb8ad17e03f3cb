//! The link-key files: the 32-byte shared secrets of signed MAVLink links and the signing link
//! ids of their holders. One loader for the ground station and the onboard program (both read
//! the same formats; assets/authz/README.md documents them). Both are secrets: they are read
//! through [`crate::secret_file`], which refuses a file others may read or write.
//!
//! A drone holds only its own key (`utkik-link-key/1`), so a captured drone compromises only
//! itself; the ground station holds one key per drone, by system id (`utkik-link-keys/1`):
//!
//! ```json
//! { "format": "utkik-link-key/1", "link_id": 1, "secret_key_hex": "<64 hex digits>", "note": "..." }
//! { "format": "utkik-link-keys/1",
//!   "keys": [ { "system_id": 1, "link_id": 1, "secret_key_hex": "<64 hex digits>", "note": "..." } ] }
//! ```
//! A single-key file given to the ground station serves every system id (the DEMO set: one
//! drone); a keys file is the field set-up.

use std::collections::BTreeMap;
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

    /// Reads a key file (only if its owner alone may read and write it).
    ///
    /// # Errors
    /// An unreadable or too open file (the reason says `chmod 600`), or [`LinkKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, LinkKeyError> {
        Self::from_json(&read_key_file(path)?, path)
    }
}

fn read_key_file(path: &Path) -> Result<Vec<u8>, LinkKeyError> {
    crate::secret_file::read_secret(path).map_err(|e| LinkKeyError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// `format` of a keys file (one key per drone).
pub const LINK_KEYS_FORMAT: &str = "utkik-link-keys/1";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysEntry {
    system_id: u8,
    link_id: u8,
    secret_key_hex: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[allow(dead_code)] // checked before, through `Format`
    format: String,
    keys: Vec<KeysEntry>,
}

/// The ground station's link keys: one per drone (system id), or one for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkKeys {
    by_system: BTreeMap<u8, LinkKey>,
    every_system: Option<LinkKey>,
}

impl LinkKeys {
    /// One key for every system id (a single-key file: the DEMO set, one drone).
    pub fn one_for_all(key: LinkKey) -> Self {
        Self {
            by_system: BTreeMap::new(),
            every_system: Some(key),
        }
    }

    /// One key per system id.
    pub fn per_system(keys: impl IntoIterator<Item = (u8, LinkKey)>) -> Self {
        Self {
            by_system: keys.into_iter().collect(),
            every_system: None,
        }
    }

    /// The key of system `system_id` (frames from a system without one are refused).
    pub fn for_system(&self, system_id: u8) -> Option<&LinkKey> {
        self.by_system.get(&system_id).or(self.every_system.as_ref())
    }

    /// Whether one key serves every system id.
    pub fn is_one_for_all(&self) -> bool {
        self.every_system.is_some()
    }

    /// System ids with a key of their own.
    pub fn systems(&self) -> impl Iterator<Item = u8> + '_ {
        self.by_system.keys().copied()
    }

    /// Parses a keys file (`utkik-link-keys/1`) or a single-key file (`utkik-link-key/1`, one
    /// key for all); `path` is for messages.
    ///
    /// # Errors
    /// [`LinkKeyError`] naming the field (`keys[2].system_id`: a duplicate or broadcast id).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, LinkKeyError> {
        let err = |reason: String| LinkKeyError {
            path: path.to_path_buf(),
            reason,
        };
        #[derive(Deserialize)]
        struct Format {
            format: String,
        }
        let format = serde_json::from_slice::<Format>(bytes)
            .map_err(|e| err(e.to_string()))?
            .format;
        if format == LINK_KEY_FORMAT {
            return LinkKey::from_json(bytes, path).map(Self::one_for_all);
        }
        if format != LINK_KEYS_FORMAT {
            return Err(err(format!(
                "field `format`: `{format}` is neither `{LINK_KEYS_FORMAT}` nor `{LINK_KEY_FORMAT}`"
            )));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let f: KeysFile = serde_path_to_error::deserialize(&mut de).map_err(|e| err(e.to_string()))?;
        let mut by_system = BTreeMap::new();
        for (i, k) in f.keys.into_iter().enumerate() {
            if k.system_id == 0 {
                return Err(err(format!("field `keys[{i}].system_id`: 0 is broadcast, not a drone")));
            }
            let secret_key = secret_from_hex(&k.secret_key_hex)
                .ok_or_else(|| err(format!("field `keys[{i}].secret_key_hex`: 32 bytes of hex expected")))?;
            if secret_key == [0; 32] {
                return Err(err(format!(
                    "field `keys[{i}].secret_key_hex`: an all-zero key is refused"
                )));
            }
            let key = LinkKey {
                link_id: k.link_id,
                secret_key,
            };
            if by_system.insert(k.system_id, key).is_some() {
                return Err(err(format!(
                    "field `keys[{i}].system_id`: system {} has a key already",
                    k.system_id
                )));
            }
        }
        if by_system.is_empty() {
            return Err(err("field `keys`: no key".into()));
        }
        Ok(Self {
            by_system,
            every_system: None,
        })
    }

    /// Reads a keys file (only if its owner alone may read and write it).
    ///
    /// # Errors
    /// As [`LinkKey::load`] and [`LinkKeys::from_json`].
    pub fn load(path: &Path) -> Result<Self, LinkKeyError> {
        Self::from_json(&read_key_file(path)?, path)
    }
}
