//! The seal key files: the ground station's secret key and the public file the drone is given.
//!
//! ```json
//! { "format": "utkik-seal-key/1", "secret_key_hex": "<64 hex digits>", "public_key_hex": "<64 hex digits>", "note": "..." }
//! { "format": "utkik-seal-public/1", "public_key_hex": "<64 hex digits>", "note": "..." }
//! ```
//! The secret file is read through [`crate::secret_file`] (refused unless only its owner may
//! read and write it, mode 0600) and written 0600. Its `public_key_hex` is optional and, when
//! present, must be the public half of the secret (a file whose halves disagree was edited by
//! hand and is refused rather than trusted). The public file is not a secret: the drone reads
//! it like any config file. Unknown fields are refused in both.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{SealKeyPair, SealPublicKey};

/// `format` of the station's secret seal key file.
pub const SEAL_KEY_FORMAT: &str = "utkik-seal-key/1";
/// `format` of the public seal key file.
pub const SEAL_PUBLIC_FORMAT: &str = "utkik-seal-public/1";

/// A seal key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: seal key file: {reason}")]
pub struct SealKeyFileError {
    /// The file.
    pub path: PathBuf,
    /// Why (names the field).
    pub reason: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    format: String,
    secret_key_hex: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key_hex: Option<String>,
    #[serde(default)]
    note: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicFile {
    format: String,
    public_key_hex: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
struct Format {
    format: String,
}

fn key_from_hex(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok().and_then(|k| k.try_into().ok())
}

impl SealKeyPair {
    /// Parses a secret key file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`SealKeyFileError`] naming the field (format, hex, an all-zero key, a public half that
    /// is not the secret's).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, SealKeyFileError> {
        let err = |reason: String| SealKeyFileError {
            path: path.to_path_buf(),
            reason,
        };
        // The format first, so the public file given in place of the secret one says so.
        let format = serde_json::from_slice::<Format>(bytes)
            .map_err(|e| err(e.to_string()))?
            .format;
        if format != SEAL_KEY_FORMAT {
            return Err(err(format!(
                "field `format`: `{format}` is not `{SEAL_KEY_FORMAT}`{}",
                if format == SEAL_PUBLIC_FORMAT {
                    " (this is the public file; the station needs the secret key file)"
                } else {
                    ""
                }
            )));
        }
        let f: SecretFile = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        let secret = zeroize::Zeroizing::new(
            key_from_hex(&f.secret_key_hex)
                .ok_or_else(|| err("field `secret_key_hex`: 32 bytes of hex expected".into()))?,
        );
        if *secret == [0; 32] {
            return Err(err("field `secret_key_hex`: an all-zero key is refused".into()));
        }
        let pair = Self::from_secret_bytes(*secret).map_err(|e| err(format!("field `secret_key_hex`: {e}")))?;
        if let Some(public_hex) = &f.public_key_hex {
            let public = key_from_hex(public_hex)
                .ok_or_else(|| err("field `public_key_hex`: 32 bytes of hex expected".into()))?;
            if public != pair.public().to_bytes() {
                return Err(err(
                    "field `public_key_hex` is not the public half of `secret_key_hex` (the file was altered)".into(),
                ));
            }
        }
        Ok(pair)
    }

    /// Reads the station's secret key file (only if its owner alone may read and write it).
    ///
    /// # Errors
    /// An unreadable or too open file (the reason says `chmod 600`), or [`SealKeyPair::from_json`].
    pub fn load(path: &Path) -> Result<Self, SealKeyFileError> {
        let bytes = crate::secret_file::read_secret(path).map_err(|e| SealKeyFileError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_json(&bytes, path)
    }

    /// The secret key file's JSON (holds the secret: write it with
    /// [`crate::secret_file::write_secret`]).
    pub fn to_json(&self, note: &str) -> String {
        let f = SecretFile {
            format: SEAL_KEY_FORMAT.into(),
            secret_key_hex: hex::encode(*self.secret_bytes()),
            public_key_hex: Some(self.public().to_hex()),
            note: note.into(),
        };
        serde_json::to_string_pretty(&f).expect("a key file serialises") + "\n"
    }

    /// Writes the secret key file (`0600`) and the public file beside it.
    ///
    /// # Errors
    /// [`SealKeyFileError`] naming the file that could not be written.
    pub fn write_files(&self, secret_path: &Path, public_path: &Path, note: &str) -> Result<(), SealKeyFileError> {
        crate::secret_file::write_secret(secret_path, self.to_json(note).as_bytes()).map_err(|e| SealKeyFileError {
            path: secret_path.to_path_buf(),
            reason: e.to_string(),
        })?;
        crate::atomic_file::write_atomic(public_path, self.public().to_json(note).as_bytes(), 0o644).map_err(|e| {
            SealKeyFileError {
                path: public_path.to_path_buf(),
                reason: e.to_string(),
            }
        })
    }
}

impl SealPublicKey {
    /// Parses a public key file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`SealKeyFileError`] naming the field (format, hex, an unusable key).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, SealKeyFileError> {
        let err = |reason: String| SealKeyFileError {
            path: path.to_path_buf(),
            reason,
        };
        let f: PublicFile = serde_json::from_slice(bytes).map_err(|e| {
            if serde_json::from_slice::<SecretFile>(bytes).is_ok() {
                err(format!(
                    "this is a secret key file (`{SEAL_KEY_FORMAT}`): the drone must be given the public file \
                     (`{SEAL_PUBLIC_FORMAT}`) only, never the station's secret"
                ))
            } else {
                err(e.to_string())
            }
        })?;
        if f.format != SEAL_PUBLIC_FORMAT {
            return Err(err(format!(
                "field `format`: `{}` is not `{SEAL_PUBLIC_FORMAT}`",
                f.format
            )));
        }
        let bytes = key_from_hex(&f.public_key_hex)
            .ok_or_else(|| err("field `public_key_hex`: 32 bytes of hex expected".into()))?;
        Self::from_bytes(bytes).map_err(|e| err(format!("field `public_key_hex`: {e}")))
    }

    /// Reads a public key file.
    ///
    /// # Errors
    /// An unreadable file or [`SealPublicKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, SealKeyFileError> {
        let bytes = std::fs::read(path).map_err(|e| SealKeyFileError {
            path: path.to_path_buf(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::from_json(&bytes, path)
    }

    /// The public file's JSON.
    pub fn to_json(&self, note: &str) -> String {
        let f = PublicFile {
            format: SEAL_PUBLIC_FORMAT.into(),
            public_key_hex: self.to_hex(),
            note: note.into(),
        };
        serde_json::to_string_pretty(&f).expect("a key file serialises") + "\n"
    }
}
