//! An issuer's signing key as a file: what the issuer's tooling (and, for
//! urgent use, the ground station on behalf of a senior officer) signs
//! authorizations with. The repository holds only DEMO keys whose seeds are
//! public (`assets/authz/*.NOT-SECRET.json`); real keys live with their holders.
//!
//! ```json
//! { "not_secret_warning": "...", "key_id": "DEMO-prosecutor-1", "kind": "prosecutor",
//!   "holder": "...", "seed_hex": "<64 hex>" }
//! ```
//! `not_secret_warning` is optional and ignored; it exists so a DEMO key file
//! says what it is to whoever opens it.

use std::path::Path;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::document::IssuerKind;
use super::error::AuthzError;
use super::trust_store::TrustedKey;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningKeyFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_secret_warning: Option<String>,
    key_id: String,
    kind: IssuerKind,
    holder: String,
    seed_hex: String,
}

/// A signing key with its trust-store identity.
#[derive(Debug, Clone)]
pub struct IssuerSigningKey {
    /// The id documents name in `issuer.key_id`.
    pub key_id: String,
    /// The issuer kind the key is trusted for.
    pub kind: IssuerKind,
    /// Who holds it.
    pub holder: String,
    /// The secret key.
    pub key: SigningKey,
}

impl IssuerSigningKey {
    /// Parses a key file.
    ///
    /// # Errors
    /// [`AuthzError::Parse`] or [`AuthzError::Invalid`] naming the field (`seed_hex`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, AuthzError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let f: SigningKeyFile = serde_path_to_error::deserialize(&mut *de).map_err(AuthzError::from_path_error)?;
        let seed =
            hex::decode(f.seed_hex.trim()).map_err(|e| AuthzError::invalid("seed_hex", format!("not hex: {e}")))?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| AuthzError::invalid("seed_hex", format!("an ed25519 seed is 32 bytes, got {}", seed.len())))?;
        if f.key_id.trim().is_empty() {
            return Err(AuthzError::invalid("key_id", "must not be empty"));
        }
        Ok(Self {
            key_id: f.key_id,
            kind: f.kind,
            holder: f.holder,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// [`AuthzError::Io`], or as [`IssuerSigningKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, AuthzError> {
        let bytes = std::fs::read(path).map_err(|source| AuthzError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// The public half, as a trust store holds it.
    pub fn trusted_key(&self) -> TrustedKey {
        TrustedKey {
            key_id: self.key_id.clone(),
            kind: self.kind,
            holder: self.holder.clone(),
            key: self.key.verifying_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_derives_the_public_key() {
        let json = format!(
            r#"{{"not_secret_warning":"demo","key_id":"k","kind":"court","holder":"h","seed_hex":"{}"}}"#,
            "11".repeat(32)
        );
        let k = IssuerSigningKey::from_json(json.as_bytes()).unwrap();
        assert_eq!(k.trusted_key().key, SigningKey::from_bytes(&[0x11; 32]).verifying_key());
        assert_eq!(k.kind, IssuerKind::Court);
    }

    #[test]
    fn short_seed_named() {
        let json = r#"{"key_id":"k","kind":"court","holder":"h","seed_hex":"1122"}"#;
        assert_eq!(
            IssuerSigningKey::from_json(json.as_bytes()).unwrap_err().field(),
            "seed_hex"
        );
    }
}
