//! Each crew member's command-signing key (LAW.md 4.5): the drone checks the role of the user
//! who gave a command against its own trust store, so every command carries that user's ed25519
//! signature (`utkik_shared::authz::command_signature`). The station must not be able to sign
//! for a user who is not signed in, so the secret seed is stored in the users file only
//! encrypted under a key derived from that user's password, and it is decrypted only at their
//! sign-in and held in memory for the session ([`UserSigner`], wiped when dropped at sign-out).
//!
//! # Encryption
//! - Key derivation: argon2id over the password with a fresh 16-byte random salt, with the
//!   same parameters as password hashes ([`HashParams`], see `password.rs`), 32-byte output. The
//!   salt differs from the password hash's, so the hash in the file says nothing about this key.
//! - AEAD: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`), 24-byte random nonce, over the
//!   32-byte seed. Associated data: a domain tag, the user id and the public key, so an entry
//!   cannot be moved to another user or paired with another public key without failing.
//! - Every re-encryption (new password) draws a new salt and nonce.
//!
//! ```json
//! "signing_key": { "public_key_hex": "<64 hex>", "kdf": "argon2id", "m_cost_kib": 65536,
//!                  "t_cost": 3, "p_cost": 1, "salt_hex": "<32 hex>", "nonce_hex": "<48 hex>",
//!                  "ciphertext_hex": "<96 hex: 32-byte seed + 16-byte tag>" }
//! ```

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use utkik_shared::authz::command_signature::SigningKey;
use zeroize::Zeroizing;

use super::password::HashParams;

/// The only key derivation written and read.
pub const KDF: &str = "argon2id";
/// Associated-data domain tag.
const AAD_TAG: &[u8] = b"utkik-user-signing-key/1\0";
const SALT_BYTES: usize = 16;
const NONCE_BYTES: usize = 24;

/// A user's signing key as the users file holds it (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedSigningKey {
    /// The public key (what the drone's trust store lists for this user).
    pub public_key_hex: String,
    /// Always [`KDF`].
    pub kdf: String,
    /// argon2 memory, KiB.
    pub m_cost_kib: u32,
    /// argon2 passes.
    pub t_cost: u32,
    /// argon2 lanes.
    pub p_cost: u32,
    /// KDF salt.
    pub salt_hex: String,
    /// AEAD nonce.
    pub nonce_hex: String,
    /// The encrypted seed with its tag.
    pub ciphertext_hex: String,
}

/// Why a signing key cannot be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    /// A field does not parse or the parameters are too weak.
    #[error("field `signing_key.{field}`: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The password does not open it (wrong password, or the entry was altered or moved).
    #[error("the signing key of `{user_id}` does not open with this password (altered, or moved from another user)")]
    WontOpen {
        /// The user.
        user_id: String,
    },
    /// The OS gave no random bytes.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

fn random<const N: usize>() -> Result<[u8; N], SigningKeyError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| SigningKeyError::Random(e.to_string()))?;
    Ok(b)
}

fn derive(password: &str, salt: &[u8], params: HashParams) -> Result<Zeroizing<[u8; 32]>, SigningKeyError> {
    let p = argon2::Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32)).map_err(|e| {
        SigningKeyError::Invalid {
            field: "m_cost_kib",
            reason: e.to_string(),
        }
    })?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut kek = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(password.as_bytes(), salt, kek.as_mut())
        .map_err(|e| SigningKeyError::Invalid {
            field: "salt_hex",
            reason: e.to_string(),
        })?;
    Ok(kek)
}

fn aad(user_id: &str, public_key: &[u8; 32]) -> Vec<u8> {
    let mut a = AAD_TAG.to_vec();
    a.extend_from_slice(user_id.as_bytes());
    a.push(0);
    a.extend_from_slice(public_key);
    a
}

fn hex_field<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], SigningKeyError> {
    let bytes = hex::decode(text.trim()).map_err(|e| SigningKeyError::Invalid {
        field,
        reason: format!("not hex: {e}"),
    })?;
    bytes.as_slice().try_into().map_err(|_| SigningKeyError::Invalid {
        field,
        reason: format!("{N} bytes expected, got {}", bytes.len()),
    })
}

/// A fresh random seed for a new user key.
///
/// # Errors
/// No randomness from the OS.
pub fn new_seed() -> Result<Zeroizing<[u8; 32]>, SigningKeyError> {
    Ok(Zeroizing::new(random::<32>()?))
}

impl EncryptedSigningKey {
    /// Encrypts `seed` for `user_id` under `password`.
    ///
    /// # Errors
    /// No randomness, or parameters argon2 refuses.
    pub fn seal(user_id: &str, seed: &[u8; 32], password: &str, params: HashParams) -> Result<Self, SigningKeyError> {
        let public = SigningKey::from_bytes(seed).verifying_key().to_bytes();
        let salt = random::<SALT_BYTES>()?;
        let nonce = random::<NONCE_BYTES>()?;
        let kek = derive(password, &salt, params)?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
        let aad = aad(user_id, &public);
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: seed, aad: &aad })
            .map_err(|_| SigningKeyError::Random("encryption failed".into()))?;
        Ok(Self {
            public_key_hex: hex::encode(public),
            kdf: KDF.into(),
            m_cost_kib: params.m_cost_kib,
            t_cost: params.t_cost,
            p_cost: params.p_cost,
            salt_hex: hex::encode(salt),
            nonce_hex: hex::encode(nonce),
            ciphertext_hex: hex::encode(ciphertext),
        })
    }

    /// Checks the fields without the password (at load): KDF, parameters at least
    /// [`HashParams::MINIMUM`], lengths, a valid public key.
    ///
    /// # Errors
    /// [`SigningKeyError::Invalid`] naming the field.
    pub fn check(&self) -> Result<(), SigningKeyError> {
        if self.kdf != KDF {
            return Err(SigningKeyError::Invalid {
                field: "kdf",
                reason: format!("`{}` is not `{KDF}`", self.kdf),
            });
        }
        if self.m_cost_kib < HashParams::MINIMUM.m_cost_kib
            || self.t_cost < HashParams::MINIMUM.t_cost
            || self.p_cost == 0
        {
            return Err(SigningKeyError::Invalid {
                field: "m_cost_kib",
                reason: format!(
                    "m={} KiB, t={}, p={} are weaker than the minimum m={} KiB, t={}",
                    self.m_cost_kib,
                    self.t_cost,
                    self.p_cost,
                    HashParams::MINIMUM.m_cost_kib,
                    HashParams::MINIMUM.t_cost
                ),
            });
        }
        self.public_key()?;
        hex_field::<SALT_BYTES>("salt_hex", &self.salt_hex)?;
        hex_field::<NONCE_BYTES>("nonce_hex", &self.nonce_hex)?;
        hex_field::<48>("ciphertext_hex", &self.ciphertext_hex)?;
        Ok(())
    }

    /// The public key.
    ///
    /// # Errors
    /// [`SigningKeyError::Invalid`] on `public_key_hex`.
    pub fn public_key(&self) -> Result<ed25519_dalek::VerifyingKey, SigningKeyError> {
        let b = hex_field::<32>("public_key_hex", &self.public_key_hex)?;
        ed25519_dalek::VerifyingKey::from_bytes(&b).map_err(|_| SigningKeyError::Invalid {
            field: "public_key_hex",
            reason: "not an ed25519 public key".into(),
        })
    }

    /// Decrypts the seed for `user_id` with `password`; the key, checked against the public key.
    ///
    /// # Errors
    /// [`SigningKeyError::WontOpen`] for a wrong password or an altered entry; malformed fields.
    pub fn open(&self, user_id: &str, password: &str) -> Result<UserSigner, SigningKeyError> {
        self.check()?;
        let public = hex_field::<32>("public_key_hex", &self.public_key_hex)?;
        let salt = hex_field::<SALT_BYTES>("salt_hex", &self.salt_hex)?;
        let nonce = hex_field::<NONCE_BYTES>("nonce_hex", &self.nonce_hex)?;
        let ciphertext = hex::decode(&self.ciphertext_hex).map_err(|e| SigningKeyError::Invalid {
            field: "ciphertext_hex",
            reason: e.to_string(),
        })?;
        let params = HashParams {
            m_cost_kib: self.m_cost_kib,
            t_cost: self.t_cost,
            p_cost: self.p_cost,
        };
        let kek = derive(password, &salt, params)?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
        let won_t = || SigningKeyError::WontOpen {
            user_id: user_id.to_string(),
        };
        let seed = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad(user_id, &public),
                    },
                )
                .map_err(|_| won_t())?,
        );
        let seed: &[u8; 32] = seed.as_slice().try_into().map_err(|_| won_t())?;
        let key = SigningKey::from_bytes(seed);
        if key.verifying_key().to_bytes() != public {
            return Err(won_t());
        }
        Ok(UserSigner {
            user_id: user_id.to_string(),
            key,
        })
    }
}

/// A signed-in user's unlocked signing key. `ed25519_dalek::SigningKey` wipes its secret when
/// dropped (the `zeroize` feature), so signing out (dropping this) leaves no seed in memory.
pub struct UserSigner {
    user_id: String,
    key: SigningKey,
}

impl std::fmt::Debug for UserSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("UserSigner")
            .field("user_id", &self.user_id)
            .field("public_key", &hex::encode(self.key.verifying_key().as_bytes()))
            .finish()
    }
}

impl UserSigner {
    /// Whose key it is.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The key, for `command_signature::sign_command` / `cosign_command`.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_key_opens_with_the_password_only() {
        let seed = [0x33; 32];
        let sealed = EncryptedSigningKey::seal("anna", &seed, "correct horse", HashParams::MINIMUM).unwrap();
        sealed.check().unwrap();
        let signer = sealed.open("anna", "correct horse").unwrap();
        assert_eq!(signer.key().to_bytes(), seed);
        assert_eq!(
            sealed.public_key().unwrap(),
            SigningKey::from_bytes(&seed).verifying_key()
        );
        // A wrong password cannot unlock it.
        assert_eq!(
            sealed.open("anna", "correct horsE").unwrap_err(),
            SigningKeyError::WontOpen { user_id: "anna".into() }
        );
        // Moved to another user: refused (the user id is bound in).
        assert!(matches!(
            sealed.open("bertil", "correct horse"),
            Err(SigningKeyError::WontOpen { .. })
        ));
        // Paired with another public key: refused.
        let mut swapped = sealed.clone();
        swapped.public_key_hex = hex::encode(SigningKey::from_bytes(&[0x44; 32]).verifying_key().as_bytes());
        assert!(matches!(
            swapped.open("anna", "correct horse"),
            Err(SigningKeyError::WontOpen { .. })
        ));
        // The entry never holds the seed in clear, and two seals differ (fresh salt and nonce).
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains(&hex::encode(seed)), "{text}");
        let again = EncryptedSigningKey::seal("anna", &seed, "correct horse", HashParams::MINIMUM).unwrap();
        assert_ne!(again.ciphertext_hex, sealed.ciphertext_hex);
        assert_ne!(again.salt_hex, sealed.salt_hex);
        // Debug shows no secret.
        assert!(!format!("{signer:?}").contains(&hex::encode(seed)));
    }

    #[test]
    fn weak_or_malformed_entries_are_named() {
        let sealed = EncryptedSigningKey::seal("anna", &[1; 32], "pw-pw-pw-1", HashParams::MINIMUM).unwrap();
        let mut weak = sealed.clone();
        weak.m_cost_kib = 8;
        assert!(matches!(
            weak.check(),
            Err(SigningKeyError::Invalid {
                field: "m_cost_kib",
                ..
            })
        ));
        let mut short = sealed.clone();
        short.nonce_hex = "00".into();
        assert!(matches!(
            short.check(),
            Err(SigningKeyError::Invalid { field: "nonce_hex", .. })
        ));
        let mut kdf = sealed;
        kdf.kdf = "pbkdf2".into();
        assert!(matches!(
            kdf.check(),
            Err(SigningKeyError::Invalid { field: "kdf", .. })
        ));
    }
}
