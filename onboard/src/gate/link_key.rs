//! The ground -> drone link key and the check every UTKIK_AUTHZ_COMMAND
//! passes: MAVLink 2 signed with this key (LAW.md section 4, "revocation from
//! the ground reaches the drone over the (signed) link"). Unsigned, MAVLink 1,
//! wrongly signed or replayed frames are refused.
//!
//! Key file (the ground station reads the same file; assets/authz/README.md):
//! `{ "format": "utkik-link-key/1", "link_id": 1, "secret_key_hex": "<64 hex>", "note": "..." }`

use std::path::{Path, PathBuf};

use mavlink_core::{MAVLinkV2MessageRaw, SigningConfig, SigningData};
use serde::Deserialize;

/// `format` of a link key file.
pub const LINK_KEY_FORMAT: &str = "utkik-link-key/1";

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

/// The shared secret of the signed link (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey {
    /// MAVLink signing link id of the ground station.
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

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl LinkKey {
    /// Parses a key file's bytes; `path` is for messages.
    ///
    /// # Errors
    /// [`LinkKeyError`] naming the field.
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
        let secret_key = decode_hex32(&f.secret_key_hex)
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
    /// Unreadable file or [`LinkKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, LinkKeyError> {
        let bytes = std::fs::read(path).map_err(|e| LinkKeyError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_json(&bytes, path)
    }
}

/// Why a frame's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    /// A MAVLink 1 frame cannot be signed.
    #[error("MAVLink 1 frame (cannot be signed)")]
    MavlinkV1,
    /// A MAVLink 2 frame without a signature.
    #[error("unsigned MAVLink 2 frame")]
    Unsigned,
    /// Signed, but not with the link key, or a replayed/stale timestamp.
    #[error("signature does not verify with the link key (wrong key, altered or replayed frame)")]
    BadSignature,
    /// Not a whole frame.
    #[error("malformed frame")]
    Malformed,
}

/// Verifies MAVLink 2 signatures with the link key; keeps the per-stream
/// timestamps of the signing spec, so a replayed frame is refused.
pub struct LinkVerifier {
    signing: SigningData,
}

impl LinkVerifier {
    /// A verifier for `key` that accepts signed frames only.
    pub fn new(key: &LinkKey) -> Self {
        Self {
            signing: SigningData::from_config(SigningConfig::new(key.secret_key, key.link_id, false, false)),
        }
    }

    /// Checks one raw frame (as received, signature included).
    ///
    /// # Errors
    /// Why the frame is refused.
    pub fn check(&self, frame: &[u8]) -> Result<(), SignatureRefused> {
        match frame.first() {
            Some(0xFE) => return Err(SignatureRefused::MavlinkV1),
            Some(0xFD) => {}
            _ => return Err(SignatureRefused::Malformed),
        }
        if frame.len() < 12 || frame.len() > mavlink_core::consts::MAX_FRAME_SIZE {
            return Err(SignatureRefused::Malformed);
        }
        if frame[2] & mavlink_core::consts::v2::IFLAG_SIGNED == 0 {
            return Err(SignatureRefused::Unsigned);
        }
        let mut buf = [0u8; mavlink_core::consts::MAX_FRAME_SIZE];
        buf[..frame.len()].copy_from_slice(frame);
        let raw = MAVLinkV2MessageRaw::from_bytes_unparsed(buf);
        if raw.raw_bytes().len() != frame.len() {
            return Err(SignatureRefused::Malformed);
        }
        if self.signing.verify_signature(&raw) {
            Ok(())
        } else {
            Err(SignatureRefused::BadSignature)
        }
    }
}

/// Encodes `msg` as a MAVLink 2 frame signed with `key` (what the ground
/// station sends; used by the tests and the demo tools).
pub fn sign_frame(key: &LinkKey, header: mavlink_core::MavHeader, msg: &utkik_shared::dialect::MavMessage) -> Vec<u8> {
    let signing = SigningData::from_config(SigningConfig::new(key.secret_key, key.link_id, true, false));
    let mut raw = MAVLinkV2MessageRaw::new();
    raw.serialize_message_for_signing(header, msg);
    signing.sign_message(&mut raw);
    raw.raw_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::decoder::encode_v2;
    use mavlink_core::MavHeader;
    use utkik_shared::dialect::{MavMessage, UTKIK_AUTHZ_COMMAND_DATA};

    fn demo_key() -> LinkKey {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/authz/DEMO-link.key.NOT-SECRET.json");
        LinkKey::load(&path).unwrap()
    }

    fn command() -> MavMessage {
        MavMessage::UTKIK_AUTHZ_COMMAND(UTKIK_AUTHZ_COMMAND_DATA {
            request_id: 7,
            ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
        })
    }

    #[test]
    fn signed_with_the_link_key_passes_anything_else_is_refused() {
        let key = demo_key();
        let header = MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 0,
        };
        let v = LinkVerifier::new(&key);
        let good = sign_frame(&key, header, &command());
        assert_eq!(v.check(&good), Ok(()));
        assert_eq!(v.check(&good), Err(SignatureRefused::BadSignature), "replay");
        assert_eq!(v.check(&encode_v2(header, &command())), Err(SignatureRefused::Unsigned));
        let other = LinkKey {
            link_id: key.link_id,
            secret_key: [9; 32],
        };
        let wrong = sign_frame(&other, header, &command());
        assert_eq!(v.check(&wrong), Err(SignatureRefused::BadSignature));
        let mut altered = sign_frame(&key, header, &command());
        altered[12] ^= 1;
        assert_eq!(v.check(&altered), Err(SignatureRefused::BadSignature));
    }

    #[test]
    fn key_file_errors_name_the_field_and_hide_the_secret() {
        let p = Path::new("k.json");
        let e = LinkKey::from_json(br#"{"format":"x","link_id":1,"secret_key_hex":"00"}"#, p).unwrap_err();
        assert!(e.reason.contains("`format`"), "{e}");
        let e =
            LinkKey::from_json(br#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"zz"}"#, p).unwrap_err();
        assert!(e.reason.contains("secret_key_hex"), "{e}");
        assert!(!format!("{:?}", demo_key()).contains("dfb4"));
    }
}
