//! The masked re-stream's SRTP key file (issue 17 item 4): one file, the same on the drone
//! (`privacy.srtp_key`, on its RAM filesystem like the link key) and at the ground station
//! (`--video-key`), made by `utkik-ground video-key new` and carried to the drone at pre-flight.
//!
//! ```json
//! { "format": "utkik-video-key/1", "key_hex": "<88 hex digits>", "note": "..." }
//! ```
//!
//! 44 bytes: the AES-256-GCM master key (32) and salt (12) of RFC 7714 SRTP. A secret file:
//! read only when its owner alone may read it (`crate::secret_file`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `format` of a video key file.
pub const VIDEO_KEY_FORMAT: &str = "utkik-video-key/1";

/// Bytes of the key: AES-256-GCM master key + salt.
pub const VIDEO_KEY_LEN: usize = 44;

/// An SRTP master key + salt. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoKey([u8; VIDEO_KEY_LEN]);

impl std::fmt::Debug for VideoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VideoKey(..)")
    }
}

/// A video key file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: video key file: {reason}")]
pub struct VideoKeyError {
    /// The file.
    pub path: PathBuf,
    /// Why (names the field).
    pub reason: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VideoKeyFile {
    format: String,
    key_hex: String,
    #[serde(default)]
    note: String,
}

impl VideoKey {
    /// The key from its bytes (e.g. 44 bytes from the operating system's random source).
    pub fn from_bytes(bytes: [u8; VIDEO_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; VIDEO_KEY_LEN] {
        &self.0
    }

    /// Parses a key file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`VideoKeyError`] naming the field (format, hex and length, an all-zero key).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, VideoKeyError> {
        let err = |reason: String| VideoKeyError {
            path: path.to_path_buf(),
            reason,
        };
        let f: VideoKeyFile = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        if f.format != VIDEO_KEY_FORMAT {
            return Err(err(format!(
                "field `format`: `{}` is not `{VIDEO_KEY_FORMAT}`",
                f.format
            )));
        }
        let key: [u8; VIDEO_KEY_LEN] = hex::decode(&f.key_hex)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| err(format!("field `key_hex`: {VIDEO_KEY_LEN} bytes of hex expected")))?;
        if key == [0; VIDEO_KEY_LEN] {
            return Err(err("field `key_hex`: an all-zero key is refused".into()));
        }
        Ok(Self(key))
    }

    /// Reads a key file (only if its owner alone may read and write it).
    ///
    /// # Errors
    /// An unreadable or too open file (the reason says `chmod 600`), or [`VideoKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, VideoKeyError> {
        let bytes = crate::secret_file::read_secret(path).map_err(|e| VideoKeyError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_json(&bytes, path)
    }

    /// The file's text, with a note saying what it is for.
    pub fn to_json(&self, note: &str) -> String {
        let f = VideoKeyFile {
            format: VIDEO_KEY_FORMAT.into(),
            key_hex: hex::encode(self.0),
            note: note.into(),
        };
        serde_json::to_string_pretty(&f).expect("a key file serialises") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_round_trips_and_bad_fields_are_named() {
        let p = Path::new("video.key.json");
        let k = VideoKey::from_bytes([5; VIDEO_KEY_LEN]);
        assert_eq!(VideoKey::from_json(k.to_json("test").as_bytes(), p).unwrap(), k);
        assert_eq!(format!("{k:?}"), "VideoKey(..)");
        let text = |format: &str, hex: &str| format!(r#"{{"format":"{format}","key_hex":"{hex}"}}"#);
        let e = VideoKey::from_json(text("utkik-link-key/1", &"05".repeat(44)).as_bytes(), p).unwrap_err();
        assert!(
            e.to_string().contains("`format`") && e.to_string().contains("video.key.json"),
            "{e}"
        );
        let e = VideoKey::from_json(text(VIDEO_KEY_FORMAT, &"05".repeat(32)).as_bytes(), p).unwrap_err();
        assert!(
            e.to_string().contains("key_hex") && e.to_string().contains("44 bytes"),
            "{e}"
        );
        let e = VideoKey::from_json(text(VIDEO_KEY_FORMAT, &"00".repeat(44)).as_bytes(), p).unwrap_err();
        assert!(e.to_string().contains("all-zero"), "{e}");
        let e = VideoKey::from_json(b"{\"format\":1}", p).unwrap_err();
        assert!(e.to_string().contains("video.key.json"), "{e}");
    }

    #[test]
    fn the_demo_key_parses() {
        VideoKey::from_json(crate::demo::VIDEO_KEY_JSON, Path::new("DEMO")).unwrap();
    }
}
