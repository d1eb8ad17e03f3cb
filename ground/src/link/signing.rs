//! MAVLink 2 message signing on the ground -> drone link (LAW.md section 4: "revocation from the
//! ground reaches the drone over the (signed) link"). Every frame the ground station sends
//! (UTKIK_AUTHZ_COMMAND, UTKIK_ALERT_ACK) carries the 13-byte signature of the MAVLink 2 signing
//! spec (link id, 48-bit timestamp in 10 µs since 2015-01-01, first 6 bytes of
//! SHA-256(key ‖ frame)). The onboard side verifies it with the same key and refuses anything
//! unsigned or wrongly signed.
//!
//! Key file (JSON; format documented in assets/authz/README.md):
//! ```json
//! { "format": "utkik-link-key/1", "link_id": 1, "secret_key_hex": "<32 bytes hex>", "note": "..." }
//! ```

use std::path::{Path, PathBuf};

use mavlink_core::{MAVLinkV2MessageRaw, MavHeader, SigningConfig, SigningData};
use serde::Deserialize;
use utkik_shared::dialect::MavMessage;

/// `format` of a link key file.
pub const LINK_KEY_FORMAT: &str = "utkik-link-key/1";

/// The shared secret of the signed link.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey {
    /// MAVLink signing link id of this station.
    pub link_id: u8,
    /// The 32-byte shared secret.
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

/// A link key file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: link key file: {reason}")]
pub struct LinkKeyError {
    /// The file.
    pub path: PathBuf,
    /// Why (names the field).
    pub reason: String,
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
        let secret_key: [u8; 32] = hex::decode(&f.secret_key_hex)
            .ok()
            .and_then(|k| k.try_into().ok())
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
    /// [`LinkKeyError`].
    pub fn load(path: &Path) -> Result<Self, LinkKeyError> {
        let bytes = std::fs::read(path).map_err(|e| LinkKeyError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_json(&bytes, path)
    }

    /// Signing state for sending (signs outgoing, accepts nothing unsigned).
    pub fn signer(&self) -> SigningData {
        SigningData::from_config(SigningConfig::new(self.secret_key, self.link_id, true, false))
    }
}

/// Serialises `msg` as one signed MAVLink 2 frame.
pub fn encode_v2_signed(header: MavHeader, msg: &MavMessage, signing: &SigningData) -> Vec<u8> {
    let mut raw = MAVLinkV2MessageRaw::new();
    raw.serialize_message_for_signing(header, msg);
    signing.sign_message(&mut raw);
    raw.raw_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{FrameDecoder, encode_v2};
    use utkik_shared::dialect::{UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand};

    const IFLAG_SIGNED: u8 = 0x01;

    fn key(byte: u8) -> LinkKey {
        LinkKey {
            link_id: 1,
            secret_key: [byte; 32],
        }
    }

    fn command() -> MavMessage {
        MavMessage::UTKIK_AUTHZ_COMMAND(UTKIK_AUTHZ_COMMAND_DATA {
            time_usec: 1,
            target_system: 1,
            target_component: 191,
            request_id: 7,
            command: UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
            authorization_digest: [0xab; 32],
            operator_id: [b'a'; 16].into(),
        })
    }

    fn header() -> MavHeader {
        MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 3,
        }
    }

    fn raw(frame: &[u8]) -> MAVLinkV2MessageRaw {
        let mut bytes = [0u8; mavlink_core::consts::MAX_FRAME_SIZE];
        bytes[..frame.len()].copy_from_slice(frame);
        MAVLinkV2MessageRaw::from_bytes_unparsed(bytes)
    }

    /// The receiving side's check: the onboard verifier uses the same key with allow_unsigned off.
    fn verifier(k: &LinkKey) -> SigningData {
        SigningData::from_config(SigningConfig::new(k.secret_key, k.link_id, false, false))
    }

    #[test]
    fn unsigned_bytes_become_signed_and_verify_with_the_key_only() {
        let plain = encode_v2(header(), &command());
        assert_eq!(plain[2] & IFLAG_SIGNED, 0, "encode_v2 sends unsigned frames");
        assert!(!verifier(&key(1)).verify_signature(&raw(&plain)), "unsigned is refused");
        let signed = encode_v2_signed(header(), &command(), &key(1).signer());
        assert_eq!(signed[2] & IFLAG_SIGNED, IFLAG_SIGNED);
        assert_eq!(signed.len(), plain.len() + 13, "13 signature bytes appended");
        assert_eq!(signed[signed.len() - 13], 1, "link id");
        assert!(verifier(&key(1)).verify_signature(&raw(&signed)));
        assert!(!verifier(&key(2)).verify_signature(&raw(&signed)), "wrong key refused");
        let mut tampered = signed.clone();
        tampered[20] ^= 0x01; // inside the payload (digest bytes); CRC no longer matters to the signature
        assert!(!verifier(&key(1)).verify_signature(&raw(&tampered)));
    }

    #[test]
    fn signed_frames_still_decode() {
        let signed = encode_v2_signed(header(), &command(), &key(9).signer());
        let mut got = Vec::new();
        FrameDecoder::new().push(&signed, |d| got.push(d));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message, command());
    }

    #[test]
    fn key_file_is_parsed_and_checked() {
        let p = Path::new("k.json");
        let k = LinkKey::from_json(
            br#"{"format":"utkik-link-key/1","link_id":3,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
            p,
        )
        .unwrap();
        assert_eq!(
            k,
            LinkKey {
                link_id: 3,
                secret_key: [1; 32]
            }
        );
        let short = LinkKey::from_json(br#"{"format":"utkik-link-key/1","link_id":3,"secret_key_hex":"01"}"#, p);
        assert!(short.unwrap_err().reason.contains("secret_key_hex"));
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/authz/DEMO-link.key.NOT-SECRET.json");
        LinkKey::load(&demo).unwrap();
    }
}
