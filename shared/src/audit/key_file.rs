//! The key files of the audit log's signed checkpoints, and the anchor text.
//!
//! Why two files: the writer of a log (the drone, the ground station) holds the secret seed;
//! whoever checks the log afterwards (IMY, a court, an internal auditor) must be able to do so
//! without it, or they could forge checkpoints themselves. So each log key has a public file
//! that can be handed out, published or printed in a report:
//!
//! ```text
//! secret (0600, stays with the writer):
//!   {"format":"utkik-audit-key/1","key_id":"drone-1-audit","seed_hex":"<32 bytes hex>","note":"..."}
//! public (hand it to the auditor):
//!   {"format":"utkik-audit-public-key/1","key_id":"drone-1-audit",
//!    "public_key_ed25519_hex":"<32 bytes hex>","note":"..."}
//! ```
//!
//! `key_id` is what each checkpoint record names (`Checkpoint.key_id`), so a verifier with
//! several public keys (the drone's and the ground's) picks the right one; a checkpoint naming
//! an unknown key id does not verify. `note` is free text (who holds the key, since when).
//!
//! An anchor (`SEQ:SHA256HEX`) is a record of a log noted down elsewhere, e.g. the last
//! checkpoint as printed by `utkik-ground verify-audit` and written into the mission report or
//! sent to the auditor at the end of the mission. Verifying with it proves the log still holds
//! that record unchanged, so a log cut back to an earlier checkpoint (which still verifies on
//! its own) is caught.
//!
//! Parsing only (bytes in, keys out): reading the secret file is the caller's job, through the
//! secret-file checks of the program that holds it.

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointKeys, CheckpointSigner};
use super::record::ChainHead;

/// `format` of a secret checkpoint key file.
pub const SECRET_KEY_FORMAT: &str = "utkik-audit-key/1";
/// `format` of a public checkpoint key file.
pub const PUBLIC_KEY_FORMAT: &str = "utkik-audit-public-key/1";

/// A key file (or anchor) that cannot be used: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct KeyFileError {
    /// The field (`document` when the file is not the expected JSON at all).
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

fn bad(field: &'static str, reason: impl Into<String>) -> KeyFileError {
    KeyFileError {
        field,
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretKeyFile {
    format: String,
    key_id: String,
    seed_hex: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

/// The public key file (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyFile {
    /// Always [`PUBLIC_KEY_FORMAT`].
    pub format: String,
    /// The id checkpoints name.
    pub key_id: String,
    /// The ed25519 public key, 32 bytes, lower-case hex.
    pub public_key_ed25519_hex: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

fn check_key_id(key_id: &str) -> Result<(), KeyFileError> {
    if key_id.trim().is_empty() {
        return Err(bad("key_id", "must not be empty"));
    }
    Ok(())
}

fn hex32(field: &'static str, text: &str) -> Result<[u8; 32], KeyFileError> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad(field, "32 bytes of hex expected"))
}

/// Parses a secret key file.
///
/// # Errors
/// [`KeyFileError`] naming the field.
pub fn parse_signer(bytes: &[u8]) -> Result<CheckpointSigner, KeyFileError> {
    let f: SecretKeyFile = serde_json::from_slice(bytes).map_err(|e| bad("document", e.to_string()))?;
    if f.format != SECRET_KEY_FORMAT {
        return Err(bad("format", format!("`{}` is not `{SECRET_KEY_FORMAT}`", f.format)));
    }
    check_key_id(&f.key_id)?;
    let seed = hex32("seed_hex", &f.seed_hex)?;
    Ok(CheckpointSigner {
        key_id: f.key_id,
        key: SigningKey::from_bytes(&seed),
    })
}

/// Parses a public key file into (key id, key).
///
/// # Errors
/// [`KeyFileError`] naming the field: wrong format (a secret key file is refused here, so
/// nobody hands out a seed by mistake and has it work), bad hex, not a curve point.
pub fn parse_public_key(bytes: &[u8]) -> Result<(String, VerifyingKey), KeyFileError> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
        && v.get("format").and_then(|f| f.as_str()) == Some(SECRET_KEY_FORMAT)
    {
        return Err(bad(
            "format",
            format!(
                "this is a SECRET key file (`{SECRET_KEY_FORMAT}`): verify with its public key file \
                 (`{PUBLIC_KEY_FORMAT}`, `utkik-ground audit-public-key`) and keep the secret one private"
            ),
        ));
    }
    let f: PublicKeyFile = serde_json::from_slice(bytes).map_err(|e| bad("document", e.to_string()))?;
    if f.format != PUBLIC_KEY_FORMAT {
        return Err(bad("format", format!("`{}` is not `{PUBLIC_KEY_FORMAT}`", f.format)));
    }
    check_key_id(&f.key_id)?;
    let raw = hex32("public_key_ed25519_hex", &f.public_key_ed25519_hex)?;
    let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("public_key_ed25519_hex", "not an ed25519 public key"))?;
    Ok((f.key_id, key))
}

/// The public key file of a signer, as pretty JSON with a trailing newline.
pub fn public_key_json(signer: &CheckpointSigner, note: &str) -> String {
    let f = PublicKeyFile {
        format: PUBLIC_KEY_FORMAT.into(),
        key_id: signer.key_id.clone(),
        public_key_ed25519_hex: hex::encode(signer.key.verifying_key().to_bytes()),
        note: note.into(),
    };
    serde_json::to_string_pretty(&f).expect("a key file serializes") + "\n"
}

/// Adds the keys of several public key files (bytes) to one set.
///
/// # Errors
/// The first file that does not parse (its index and the error), or two files with the same
/// key id and different keys.
pub fn keys_from_public_files<'a>(
    files: impl IntoIterator<Item = &'a [u8]>,
) -> Result<CheckpointKeys, (usize, KeyFileError)> {
    let mut keys = CheckpointKeys::new();
    for (i, bytes) in files.into_iter().enumerate() {
        let (id, key) = parse_public_key(bytes).map_err(|e| (i, e))?;
        if keys.get(&id).is_some_and(|k| *k != key) {
            return Err((i, bad("key_id", format!("`{id}` is given twice with different keys"))));
        }
        keys.insert(id, key);
    }
    Ok(keys)
}

/// The text of an anchor: `SEQ:SHA256HEX`.
pub fn anchor_text(head: &ChainHead) -> String {
    format!("{}:{}", head.seq, hex::encode(head.sha256))
}

/// Parses an anchor (`SEQ:SHA256HEX`, as [`anchor_text`] writes it).
///
/// # Errors
/// [`KeyFileError`] with field `anchor`.
pub fn parse_anchor(text: &str) -> Result<ChainHead, KeyFileError> {
    let (seq, hash) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| bad("anchor", format!("`{text}` is not SEQ:SHA256HEX")))?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| bad("anchor", format!("`{seq}` is not a record sequence number")))?;
    let sha256 = hex32("anchor", hash)?;
    Ok(ChainHead { seq, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = r#"{"format":"utkik-audit-key/1","key_id":"drone-1","seed_hex":"0707070707070707070707070707070707070707070707070707070707070707","note":"test"}"#;

    #[test]
    fn public_file_round_trip_and_matches_the_secret() {
        let signer = parse_signer(SECRET.as_bytes()).unwrap();
        let json = public_key_json(&signer, "drone 1");
        let (id, key) = parse_public_key(json.as_bytes()).unwrap();
        assert_eq!(id, "drone-1");
        assert_eq!(key, signer.key.verifying_key());
        assert!(!json.contains("0707070707"), "no seed in the public file: {json}");
    }

    #[test]
    fn a_secret_file_is_not_accepted_as_a_public_one() {
        let e = parse_public_key(SECRET.as_bytes()).unwrap_err();
        assert_eq!(e.field, "format");
        assert!(e.reason.contains("SECRET"), "{e}");
    }

    #[test]
    fn bad_fields_are_named() {
        let e =
            parse_public_key(br#"{"format":"utkik-audit-public-key/1","key_id":"a","public_key_ed25519_hex":"12"}"#)
                .unwrap_err();
        assert_eq!(e.field, "public_key_ed25519_hex");
        let e =
            parse_public_key(br#"{"format":"utkik-audit-public-key/1","key_id":" ","public_key_ed25519_hex":"12"}"#)
                .unwrap_err();
        assert_eq!(e.field, "key_id");
        assert_eq!(parse_public_key(b"[]").unwrap_err().field, "document");
        assert_eq!(
            parse_signer(br#"{"format":"x","key_id":"a","seed_hex":""}"#)
                .unwrap_err()
                .field,
            "format"
        );
    }

    #[test]
    fn same_key_id_with_two_keys_is_refused() {
        let a = public_key_json(&parse_signer(SECRET.as_bytes()).unwrap(), "");
        let other = CheckpointSigner {
            key_id: "drone-1".into(),
            key: SigningKey::from_bytes(&[8; 32]),
        };
        let b = public_key_json(&other, "");
        assert!(keys_from_public_files([a.as_bytes(), a.as_bytes()]).is_ok());
        let (i, e) = keys_from_public_files([a.as_bytes(), b.as_bytes()]).unwrap_err();
        assert_eq!((i, e.field), (1, "key_id"));
    }

    #[test]
    fn demo_public_key_files_match_their_secret_keys() {
        let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/audit");
        for name in ["ground", "onboard"] {
            let secret = std::fs::read(assets.join(format!("DEMO-{name}-audit.key.NOT-SECRET.json"))).unwrap();
            let public = std::fs::read(assets.join(format!("DEMO-{name}-audit.pub.json"))).unwrap();
            let signer = parse_signer(&secret).unwrap();
            let (id, key) = parse_public_key(&public).unwrap();
            assert_eq!(id, signer.key_id, "{name}");
            assert_eq!(key, signer.key.verifying_key(), "{name}");
        }
    }

    #[test]
    fn anchor_round_trip_and_errors() {
        let h = ChainHead {
            seq: 41,
            sha256: [0xab; 32],
        };
        assert_eq!(parse_anchor(&anchor_text(&h)).unwrap(), h);
        assert!(parse_anchor("41").is_err());
        assert!(parse_anchor("x:ab").is_err());
        assert!(parse_anchor("41:abcd").is_err());
    }
}
