//! The trust store: the issuer keys an authorization may be signed with, each
//! tied to the kind of issuer it speaks for (prosecutor, court, or senior
//! officer for urgent use). A key that is not in the store is refused
//! (LAW.md section 2); so is a key used for another kind of issuer.
//!
//! File format (JSON), configured on the drone and at the ground station:
//! ```json
//! { "format": "utkik-trust-store/1",
//!   "keys": [ { "key_id": "prosecutor-city-1", "kind": "prosecutor",
//!               "holder": "City åklagarkammare", "public_key_hex": "<64 hex>" } ] }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::document::IssuerKind;
use super::error::AuthzError;

/// The value of the trust store's `format` field.
pub const TRUST_STORE_FORMAT: &str = "utkik-trust-store/1";

/// One key as it appears in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustStoreEntry {
    /// Id that documents name in `issuer.key_id`.
    pub key_id: String,
    /// The kind of issuer the key may sign for.
    pub kind: IssuerKind,
    /// Who holds the key (for people reading the file).
    pub holder: String,
    /// The ed25519 public key, 32 bytes as hex.
    pub public_key_hex: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustStoreFile {
    format: String,
    keys: Vec<TrustStoreEntry>,
}

/// A key the store trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// Its id.
    pub key_id: String,
    /// Kind of issuer it signs for.
    pub kind: IssuerKind,
    /// Who holds it.
    pub holder: String,
    /// The public key.
    pub key: VerifyingKey,
}

/// Issuer keys by id.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<String, TrustedKey>,
}

impl TrustStore {
    /// An empty store (trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    ///
    /// # Errors
    /// [`AuthzError::Invalid`] on `keys` when the id is empty or already present,
    /// or the key is a weak (small-order) point that would verify forged signatures.
    pub fn insert(&mut self, key: TrustedKey) -> Result<(), AuthzError> {
        if key.key_id.trim().is_empty() {
            return Err(AuthzError::invalid("keys.key_id", "must not be empty"));
        }
        if key.key.is_weak() {
            return Err(AuthzError::invalid(
                format!("keys[{}].public_key_hex", key.key_id),
                "weak (small-order) key",
            ));
        }
        if self.keys.contains_key(&key.key_id) {
            return Err(AuthzError::invalid(
                "keys.key_id",
                format!("`{}` appears twice", key.key_id),
            ));
        }
        self.keys.insert(key.key_id.clone(), key);
        Ok(())
    }

    /// Parses a trust store file.
    ///
    /// # Errors
    /// [`AuthzError::Parse`] or [`AuthzError::Invalid`] naming the field
    /// (`keys[1].public_key_hex`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, AuthzError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let file: TrustStoreFile = serde_path_to_error::deserialize(&mut *de).map_err(AuthzError::from_path_error)?;
        if file.format != TRUST_STORE_FORMAT {
            return Err(AuthzError::invalid(
                "format",
                format!("`{}` is not `{TRUST_STORE_FORMAT}`", file.format),
            ));
        }
        let mut store = TrustStore::new();
        for (i, e) in file.keys.into_iter().enumerate() {
            let field = format!("keys[{i}]");
            if e.key_id.trim().is_empty() {
                return Err(AuthzError::invalid(format!("{field}.key_id"), "must not be empty"));
            }
            if store.keys.contains_key(&e.key_id) {
                return Err(AuthzError::invalid(
                    format!("{field}.key_id"),
                    format!("`{}` appears twice", e.key_id),
                ));
            }
            let key = parse_public_key(&e.public_key_hex)
                .map_err(|r| AuthzError::invalid(format!("{field}.public_key_hex"), r))?;
            if key.is_weak() {
                return Err(AuthzError::invalid(
                    format!("{field}.public_key_hex"),
                    "weak (small-order) key",
                ));
            }
            store.keys.insert(
                e.key_id.clone(),
                TrustedKey {
                    key_id: e.key_id,
                    kind: e.kind,
                    holder: e.holder,
                    key,
                },
            );
        }
        Ok(store)
    }

    /// Reads and parses a trust store file.
    ///
    /// # Errors
    /// [`AuthzError::Io`], or as [`TrustStore::from_json`].
    pub fn load(path: &Path) -> Result<Self, AuthzError> {
        let bytes = std::fs::read(path).map_err(|source| AuthzError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// The store as a file (round-trips through [`TrustStore::from_json`]).
    pub fn to_json_pretty(&self) -> String {
        let file = TrustStoreFile {
            format: TRUST_STORE_FORMAT.into(),
            keys: self
                .keys
                .values()
                .map(|k| TrustStoreEntry {
                    key_id: k.key_id.clone(),
                    kind: k.kind,
                    holder: k.holder.clone(),
                    public_key_hex: hex::encode(k.key.as_bytes()),
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).expect("a trust store always serializes");
        s.push('\n');
        s
    }

    /// The key with this id, if trusted.
    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.get(key_id)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the store trusts no key at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Parses 32 bytes of hex as an ed25519 public key.
pub(crate) fn parse_public_key(hex_text: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode(hex_text.trim()).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("an ed25519 public key is 32 bytes, got {}", bytes.len()))?;
    VerifyingKey::from_bytes(&arr).map_err(|_| "not a valid ed25519 public key (not a curve point)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    fn store_json(entries: &str) -> String {
        format!(r#"{{"format":"utkik-trust-store/1","keys":[{entries}]}}"#)
    }

    #[test]
    fn round_trip() {
        let mut s = TrustStore::new();
        s.insert(TrustedKey {
            key_id: "p1".into(),
            kind: IssuerKind::Prosecutor,
            holder: "Prosecutor".into(),
            key: key(1),
        })
        .unwrap();
        let back = TrustStore::from_json(s.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back.get("p1").unwrap().key, key(1));
        assert!(back.get("p2").is_none());
    }

    #[test]
    fn bad_key_named_with_index() {
        let good = hex::encode(key(1).as_bytes());
        let json = store_json(&format!(
            r#"{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{good}"}},
               {{"key_id":"b","kind":"court","holder":"x","public_key_hex":"abcd"}}"#
        ));
        let e = TrustStore::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[1].public_key_hex");
    }

    #[test]
    fn duplicate_id_refused() {
        let good = hex::encode(key(1).as_bytes());
        let entry = format!(r#"{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{good}"}}"#);
        let e = TrustStore::from_json(store_json(&format!("{entry},{entry}")).as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[1].key_id");
    }

    #[test]
    fn unknown_kind_named() {
        let good = hex::encode(key(1).as_bytes());
        let json = store_json(&format!(
            r#"{{"key_id":"a","kind":"police_chief","holder":"x","public_key_hex":"{good}"}}"#
        ));
        let e = TrustStore::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[0].kind");
    }

    #[test]
    fn weak_key_refused() {
        // The identity point (0, 1) encodes as 01 00 .. 00: small order, verifies forgeries.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let json = store_json(&format!(
            r#"{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{}"}}"#,
            hex::encode(weak)
        ));
        let e = TrustStore::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[0].public_key_hex");
        assert!(e.to_string().contains("weak"), "{e}");
    }

    #[test]
    fn wrong_format_refused() {
        let e = TrustStore::from_json(br#"{"format":"x","keys":[]}"#).unwrap_err();
        assert_eq!(e.field(), "format");
    }

    #[test]
    fn missing_file_named() {
        let e = TrustStore::load(Path::new("/nonexistent/trust.json")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/trust.json"), "{e}");
    }
}
