//! Images sealed to the ground station's public key: evidence crops of biometric matches and
//! plate images of plate hits (issue 17 items 3 and 4).
//!
//! Why: a drone can be lost or captured, and the radio can be heard. Signing (MAVLink 2,
//! `link_signing`) proves who sent a frame but hides nothing. The drone therefore seals every
//! such image, the moment it is made, to the ground station's *public* key; the drone holds no
//! key that can open what it sealed. Its disk (the audit payload store `gate.audit_dir`, the
//! alert outbox) and the radio (DATA_TRANSMISSION_HANDSHAKE + ENCAPSULATED_DATA) carry only the
//! sealed bytes: one sealing covers "at rest" and "on the radio". Only the station's secret key
//! (`utkik-ground --seal-key`) opens them.
//!
//! The construction is HPKE (RFC 9180), base mode, with the suite
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305 (KEM 0x0020, KDF 0x0001,
//! AEAD 0x0003), through the `hpke` crate (pure Rust on the RustCrypto primitives). A standard
//! with published test vectors (the known-answer test below opens RFC 9180 A.2.1's), not a
//! construction of our own. Each sealing makes a fresh ephemeral key, so two sealings of the
//! same image differ.
//!
//! - `info` = [`INFO`] (`utkik-image-seal/1`): a key used for something else cannot open these.
//! - `aad` = [`ImageAad`]: the alert's system id, alert id and kind. The station opens an image
//!   with the aad of the alert it arrived for, so a sealed crop cannot be replayed as another
//!   alert's (or another drone's) image.
//!
//! Sealed bytes: `version (1 byte, [`SEAL_VERSION`]) || enc (32 bytes, the encapsulated
//! ephemeral X25519 key) || ciphertext (the image, then the 16-byte Poly1305 tag)`; 49 bytes
//! more than the image.
//!
//! Key files ([`key_file`]): the station's secret key `utkik-seal-key/1` (a secret: mode 0600,
//! read through [`crate::secret_file`]) and the public file `utkik-seal-public/1` that the drone
//! is given (`gate.ground_seal_public`).

pub mod key_file;
#[cfg(test)]
mod tests;

use hpke::{Deserializable as _, Kem as _, Serializable as _};

pub use key_file::{SEAL_KEY_FORMAT, SEAL_PUBLIC_FORMAT, SealKeyFileError};

type SealKem = hpke::kem::X25519HkdfSha256;
type SealKdf = hpke::kdf::HkdfSha256;
type SealAead = hpke::aead::ChaCha20Poly1305;

/// HPKE `info` of every sealed image: the domain tag (a version of its own, so a later
/// construction cannot be confused with this one).
pub const INFO: &[u8] = b"utkik-image-seal/1";
/// First byte of sealed bytes: HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
/// ChaCha20-Poly1305, [`INFO`].
pub const SEAL_VERSION: u8 = 1;
/// Length of the encapsulated key (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// Length of the AEAD tag.
pub const TAG_LEN: usize = 16;
/// Bytes a sealing adds to the image: version, encapsulated key, tag.
pub const SEAL_OVERHEAD: usize = 1 + ENC_LEN + TAG_LEN;

/// What a sealed image is, bound into its aad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ImageKind {
    /// The evidence crop of a UTKIK_BIOMETRIC_MATCH.
    FaceEvidence = 1,
    /// The plate image of a UTKIK_PLATE_READ hit.
    PlateImage = 2,
}

impl ImageKind {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::FaceEvidence => "evidence crop",
            ImageKind::PlateImage => "plate image",
        }
    }
}

/// The alert an image belongs to: the associated data of its sealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageAad {
    /// MAVLink system id of the drone that raised the alert.
    pub system_id: u8,
    /// The alert's id (UTKIK_BIOMETRIC_MATCH / UTKIK_PLATE_READ `alert_id`).
    pub alert_id: u32,
    /// Which image of the alert.
    pub kind: ImageKind,
}

impl ImageAad {
    /// The aad bytes: `"utkik-image-aad/1" || system_id || alert_id (u32 LE) || kind`.
    pub fn to_bytes(&self) -> Vec<u8> {
        const TAG: &[u8] = b"utkik-image-aad/1";
        let mut out = Vec::with_capacity(TAG.len() + 6);
        out.extend_from_slice(TAG);
        out.push(self.system_id);
        out.extend_from_slice(&self.alert_id.to_le_bytes());
        out.push(self.kind as u8);
        out
    }
}

impl std::fmt::Display for ImageAad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of alert {} from system {}",
            self.kind.name(),
            self.alert_id,
            self.system_id
        )
    }
}

/// Why sealed bytes were not opened (or an image not sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The first byte is not a known sealing version.
    #[error("sealed image: version byte {found} is not {SEAL_VERSION} (HPKE X25519/ChaCha20-Poly1305)")]
    Version {
        /// The byte found.
        found: u8,
    },
    /// Shorter than version, encapsulated key and tag.
    #[error("sealed image: {len} bytes, shorter than the {SEAL_OVERHEAD} bytes of version, key and tag (truncated)")]
    TooShort {
        /// Its length.
        len: usize,
    },
    /// The encapsulated key is not an X25519 public key the KEM accepts.
    #[error("sealed image: the encapsulated key is invalid")]
    BadEncappedKey,
    /// The AEAD refused: sealed to another key, with another aad (another alert), or altered.
    #[error("sealed image does not open: sealed to another station's key, for another alert, or altered on the way")]
    DoesNotOpen,
    /// The public key cannot be sealed to (a low-order X25519 point: the shared secret would be
    /// zero, which HPKE refuses).
    #[error("the seal public key cannot be used: it is a low-order X25519 point")]
    UnusablePublicKey,
}

/// The ground station's public key, given to the drone: anything sealed to it opens only with
/// the station's secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealPublicKey {
    key: <SealKem as hpke::Kem>::PublicKey,
    bytes: [u8; 32],
}

impl std::fmt::Debug for SealPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealPublicKey({})", hex::encode(self.bytes))
    }
}

impl SealPublicKey {
    /// A public key from its 32 bytes.
    ///
    /// # Errors
    /// [`SealError::UnusablePublicKey`] for a key nothing can be sealed to (a trial sealing is
    /// made, so a bad key is found when it is loaded, not at the first alert).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, SealError> {
        let key = <SealKem as hpke::Kem>::PublicKey::from_bytes(&bytes).map_err(|_| SealError::UnusablePublicKey)?;
        let pk = Self { key, bytes };
        let probe = ImageAad {
            system_id: 0,
            alert_id: 0,
            kind: ImageKind::FaceEvidence,
        };
        seal(&pk, &probe, b"")?;
        Ok(pk)
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The key as 64 hex digits (for logs: it is public).
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }
}

/// The ground station's key pair: the secret opens what drones sealed to the public half.
#[derive(Clone)]
pub struct SealKeyPair {
    secret: <SealKem as hpke::Kem>::PrivateKey,
    public: SealPublicKey,
}

impl std::fmt::Debug for SealKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SealKeyPair {
    /// A new key pair from the operating system's random source.
    ///
    /// # Panics
    /// If the operating system has no random source (getrandom fails).
    pub fn generate() -> Self {
        let (secret, pk) = SealKem::gen_keypair();
        let public =
            SealPublicKey::from_bytes(pk.to_bytes().into()).expect("a random X25519 secret has a usable public key");
        Self { secret, public }
    }

    /// The key pair of a secret key's 32 bytes (an X25519 scalar, clamped as X25519 does).
    ///
    /// # Errors
    /// [`SealError::UnusablePublicKey`] (only for a degenerate secret, e.g. all zero).
    pub fn from_secret_bytes(secret: [u8; 32]) -> Result<Self, SealError> {
        let secret = zeroize::Zeroizing::new(secret);
        let sk =
            <SealKem as hpke::Kem>::PrivateKey::from_bytes(&secret[..]).map_err(|_| SealError::UnusablePublicKey)?;
        let pk = SealKem::sk_to_pk(&sk);
        let public = SealPublicKey::from_bytes(pk.to_bytes().into())?;
        Ok(Self { secret: sk, public })
    }

    /// The public half (what the drone is given).
    pub fn public(&self) -> &SealPublicKey {
        &self.public
    }

    /// The secret's 32 bytes (for writing the key file).
    pub fn secret_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.secret.to_bytes().into())
    }
}

/// Seals `plaintext` (an image) to `pk` for the alert `aad`: `version || enc || ciphertext`.
///
/// # Errors
/// [`SealError::UnusablePublicKey`] (not for a key that passed [`SealPublicKey::from_bytes`]).
pub fn seal(pk: &SealPublicKey, aad: &ImageAad, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let (enc, ciphertext) = hpke::single_shot_seal::<SealAead, SealKdf, SealKem>(
        &hpke::OpModeS::Base,
        &pk.key,
        INFO,
        plaintext,
        &aad.to_bytes(),
    )
    .map_err(|_| SealError::UnusablePublicKey)?;
    let mut out = Vec::with_capacity(1 + ENC_LEN + ciphertext.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens bytes made by [`seal`] with the station's key pair, for the alert `aad`.
///
/// # Errors
/// [`SealError::Version`], [`SealError::TooShort`] (truncated), [`SealError::BadEncappedKey`],
/// [`SealError::DoesNotOpen`] (another station's key, another alert, or altered bytes).
pub fn open(keys: &SealKeyPair, aad: &ImageAad, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let Some(&version) = sealed.first() else {
        return Err(SealError::TooShort { len: 0 });
    };
    if version != SEAL_VERSION {
        return Err(SealError::Version { found: version });
    }
    if sealed.len() < SEAL_OVERHEAD {
        return Err(SealError::TooShort { len: sealed.len() });
    }
    let enc = <SealKem as hpke::Kem>::EncappedKey::from_bytes(&sealed[1..1 + ENC_LEN])
        .map_err(|_| SealError::BadEncappedKey)?;
    hpke::single_shot_open::<SealAead, SealKdf, SealKem>(
        &hpke::OpModeR::Base,
        &keys.secret,
        &enc,
        INFO,
        &sealed[1 + ENC_LEN..],
        &aad.to_bytes(),
    )
    .map_err(|_| SealError::DoesNotOpen)
}
