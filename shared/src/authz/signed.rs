//! The signed authorization file, its canonical encoding, signature check and
//! digest, and [`authorize`], the one entry point that turns file bytes into a
//! [`VerifiedAuthorization`] or a refusal naming the field.
//!
//! File: `{"document": {..}, "signature_ed25519_hex": "<128 hex>"}`.
//!
//! Canonical encoding: the document is parsed into [`Authorization`] and
//! re-encoded as compact JSON with fields in declaration order, prefixed by
//! the domain tag [`SIGNING_CONTEXT`]. Signing the re-encoding (rather than
//! the file's bytes) lets the file be pretty-printed or reordered without
//! breaking the signature, and guarantees the signature covers exactly the
//! values the code acts on: nothing the parser ignores is signed, and
//! unknown fields are refused. serde_json's `float_roundtrip` makes every
//! coordinate parse to exactly the value that was signed. The domain tag keeps
//! a signature from being reusable for another kind of message (such as an
//! audit checkpoint) signed with the same key.
//!
//! Digest: SHA-256 over the canonical encoding followed by the 64 signature
//! bytes. It names one signed document; UTKIK_AUTHZ_COMMAND and
//! UTKIK_AUTHZ_STATUS carry it.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::actor::Role;
use super::document::{Authorization, IssuerKind};
use super::error::AuthzError;
use super::trust_store::{TrustStore, TrustedKey};
use super::validate::validate;

/// `issuer.key_id` prefix naming a crew member's own key (urgent use started at the station).
pub const USER_KEY_PREFIX: &str = "user:";

/// Prefix of the signed bytes (domain separation).
pub const SIGNING_CONTEXT: &[u8] = b"utkik-authorization/1\n";

/// SHA-256 digest naming one signed authorization.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct AuthzDigest(pub [u8; 32]);

impl AuthzDigest {
    /// The raw bytes (the `authorization_digest` field of the MAVLink messages).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for AuthzDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AuthzDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthzDigest({})", self.to_hex())
    }
}

impl From<AuthzDigest> for String {
    fn from(d: AuthzDigest) -> String {
        d.to_hex()
    }
}

impl TryFrom<String> for AuthzDigest {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bytes = hex::decode(&s).map_err(|e| format!("digest is not hex: {e}"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "a digest is 32 bytes (64 hex digits)".to_string())?;
        Ok(AuthzDigest(arr))
    }
}

/// The canonical bytes that are signed: [`SIGNING_CONTEXT`] + compact JSON of `doc`.
pub fn canonical_bytes(doc: &Authorization) -> Vec<u8> {
    let mut out = SIGNING_CONTEXT.to_vec();
    serde_json::to_writer(&mut out, doc).expect("an authorization always serializes");
    out
}

/// The signed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedAuthorization {
    /// The decision.
    pub document: Authorization,
    /// ed25519 signature over [`canonical_bytes`] of `document`, 64 bytes as hex.
    pub signature_ed25519_hex: String,
}

impl SignedAuthorization {
    /// Signs `document` with `key` (the issuer's tooling; the demo example).
    pub fn sign(document: Authorization, key: &SigningKey) -> Self {
        let sig = key.sign(&canonical_bytes(&document));
        Self {
            document,
            signature_ed25519_hex: hex::encode(sig.to_bytes()),
        }
    }

    /// Parses the file. Nothing is checked beyond its shape.
    ///
    /// # Errors
    /// [`AuthzError::Parse`] naming the field path.
    pub fn from_json(bytes: &[u8]) -> Result<Self, AuthzError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let signed: SignedAuthorization =
            serde_path_to_error::deserialize(&mut *de).map_err(AuthzError::from_path_error)?;
        de.end().map_err(|e| AuthzError::Parse {
            field: ".".into(),
            message: super::error::strip_position(&e.to_string()),
            line: e.line(),
            column: e.column(),
        })?;
        Ok(signed)
    }

    /// The file as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("an authorization always serializes");
        s.push('\n');
        s
    }

    fn signature(&self) -> Result<Signature, String> {
        let bytes = hex::decode(self.signature_ed25519_hex.trim()).map_err(|e| format!("not hex: {e}"))?;
        let arr: [u8; 64] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("an ed25519 signature is 64 bytes, got {}", bytes.len()))?;
        Ok(Signature::from_bytes(&arr))
    }

    /// Checks the signature against the trust store: the key named in
    /// `document.issuer.key_id` must be trusted, trusted for the issuer kind
    /// the document claims, and the signature must verify (strictly: no
    /// malleable signatures, no weak keys).
    ///
    /// An urgent use started at the ground station (LAW.md 3.4) is signed with the senior
    /// officer's own crew key: `key_id` is [`USER_KEY_PREFIX`] + user id, and that user must be
    /// in the store's crew with the senior-officer role, be the issuer named in the document,
    /// and the document must claim the senior-officer kind. A crew key signs nothing else.
    ///
    /// # Errors
    /// [`AuthzError::UntrustedKey`], [`AuthzError::WrongIssuerKind`] or [`AuthzError::BadSignature`].
    pub fn verify_signature(&self, trust: &TrustStore) -> Result<TrustedKey, AuthzError> {
        let key_id = &self.document.issuer.key_id;
        let trusted = match key_id.strip_prefix(USER_KEY_PREFIX) {
            Some(user_id) => self.crew_issuer(trust, user_id)?,
            None => trust
                .get(key_id)
                .cloned()
                .ok_or_else(|| AuthzError::UntrustedKey { key_id: key_id.clone() })?,
        };
        if trusted.kind != self.document.issuer.kind {
            return Err(AuthzError::WrongIssuerKind {
                key_id: key_id.clone(),
                key_kind: trusted.kind,
                claimed: self.document.issuer.kind,
            });
        }
        let sig = self.signature().map_err(|reason| AuthzError::BadSignature {
            key_id: key_id.clone(),
            reason,
        })?;
        trusted
            .key
            .verify_strict(&canonical_bytes(&self.document), &sig)
            .map_err(|_| AuthzError::BadSignature {
                key_id: key_id.clone(),
                reason: "does not verify over the document: forged, altered after signing, or signed with another key"
                    .into(),
            })?;
        Ok(trusted)
    }

    /// The crew key of `user_id` as an issuer key: senior officers only, for urgent use they
    /// issue themselves.
    fn crew_issuer(&self, trust: &TrustStore, user_id: &str) -> Result<TrustedKey, AuthzError> {
        let key_id = &self.document.issuer.key_id;
        let user = trust
            .user(user_id)
            .ok_or_else(|| AuthzError::UntrustedKey { key_id: key_id.clone() })?;
        if !user.roles.contains(&Role::SeniorOfficer) {
            return Err(AuthzError::invalid(
                "document.issuer.key_id",
                format!(
                    "crew member `{user_id}` is not a senior officer: only a senior officer's own key signs an urgent use"
                ),
            ));
        }
        if self.document.issuer.name != user_id {
            return Err(AuthzError::invalid(
                "document.issuer.key_id",
                format!(
                    "the key of `{user_id}` signs only as issuer `{user_id}`, not `{}`",
                    self.document.issuer.name
                ),
            ));
        }
        Ok(TrustedKey {
            key_id: key_id.clone(),
            kind: IssuerKind::SeniorOfficer,
            holder: user.holder.clone(),
            key: user.key,
        })
    }

    /// The digest, when the signature field is well-formed.
    ///
    /// # Errors
    /// [`AuthzError::BadSignature`] when the signature field is not 64 bytes of hex.
    pub fn digest(&self) -> Result<AuthzDigest, AuthzError> {
        let sig = self.signature().map_err(|reason| AuthzError::BadSignature {
            key_id: self.document.issuer.key_id.clone(),
            reason,
        })?;
        let mut h = Sha256::new();
        h.update(canonical_bytes(&self.document));
        h.update(sig.to_bytes());
        Ok(AuthzDigest(h.finalize().into()))
    }
}

/// An authorization whose signature verified against the trust store and
/// whose content passed [`validate`]. The only way to build one is
/// [`authorize`] (or [`VerifiedAuthorization::verify`]), so holding one is proof.
#[derive(Debug, Clone)]
pub struct VerifiedAuthorization {
    signed: SignedAuthorization,
    digest: AuthzDigest,
    signer: TrustedKey,
}

impl VerifiedAuthorization {
    /// Verifies an already parsed file at clock value `now_usec`.
    ///
    /// # Errors
    /// As [`SignedAuthorization::verify_signature`], then as [`validate`].
    pub fn verify(signed: SignedAuthorization, trust: &TrustStore, now_usec: u64) -> Result<Self, AuthzError> {
        // Signature first: the content of an unsigned document is not worth interpreting.
        let signer = signed.verify_signature(trust)?;
        validate(&signed.document, now_usec)?;
        let digest = signed.digest()?;
        Ok(Self { signed, digest, signer })
    }

    /// The document.
    pub fn document(&self) -> &Authorization {
        &self.signed.document
    }

    /// The signed file it came from.
    pub fn signed(&self) -> &SignedAuthorization {
        &self.signed
    }

    /// Its digest.
    pub fn digest(&self) -> AuthzDigest {
        self.digest
    }

    /// The trusted key that signed it.
    pub fn signer(&self) -> &TrustedKey {
        &self.signer
    }
}

/// Parses, verifies and validates an authorization file's bytes at clock value
/// `now_usec` (Unix epoch, UTC, µs). This is what the ground station and the
/// drone call; nothing else yields a [`VerifiedAuthorization`].
///
/// # Errors
/// Any [`AuthzError`]; each names the field.
pub fn authorize(bytes: &[u8], trust: &TrustStore, now_usec: u64) -> Result<VerifiedAuthorization, AuthzError> {
    VerifiedAuthorization::verify(SignedAuthorization::from_json(bytes)?, trust, now_usec)
}

/// [`authorize`] for a file.
///
/// # Errors
/// [`AuthzError::Io`], or as [`authorize`].
pub fn authorize_file(path: &Path, trust: &TrustStore, now_usec: u64) -> Result<VerifiedAuthorization, AuthzError> {
    let bytes = std::fs::read(path).map_err(|source| AuthzError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    authorize(&bytes, trust, now_usec)
}

#[cfg(test)]
pub(crate) mod testkeys {
    //! Keys for tests: a trusted prosecutor, a trusted senior officer, and an outsider.
    use super::*;
    use crate::authz::document::IssuerKind;

    pub fn prosecutor() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }
    pub fn senior() -> SigningKey {
        SigningKey::from_bytes(&[8; 32])
    }
    pub fn outsider() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    pub fn trust() -> TrustStore {
        let mut t = TrustStore::new();
        t.insert(TrustedKey {
            key_id: "test-prosecutor".into(),
            kind: IssuerKind::Prosecutor,
            holder: "Test prosecutor".into(),
            key: prosecutor().verifying_key(),
        })
        .unwrap();
        t.insert(TrustedKey {
            key_id: "test-senior".into(),
            kind: IssuerKind::SeniorOfficer,
            holder: "kalle".into(),
            key: senior().verifying_key(),
        })
        .unwrap();
        t
    }
}

#[cfg(test)]
mod tests {
    use super::super::actor::Role;
    use super::super::document::IssuerKind;
    use super::super::document::sample::{self, FROM_USEC, UNTIL_USEC};
    use super::testkeys::*;
    use super::*;

    fn signed_permit_json() -> String {
        SignedAuthorization::sign(sample::permit(), &prosecutor()).to_json_pretty()
    }

    #[test]
    fn correctly_signed_permit_accepted() {
        let v = authorize(signed_permit_json().as_bytes(), &trust(), FROM_USEC).unwrap();
        assert_eq!(v.document(), &sample::permit());
        assert_eq!(v.signer().key_id, "test-prosecutor");
    }

    #[test]
    fn formatting_does_not_matter_but_content_does() {
        // Compact and pretty files carry the same signature and digest.
        let s = SignedAuthorization::sign(sample::permit(), &prosecutor());
        let compact = serde_json::to_string(&s).unwrap();
        let a = authorize(compact.as_bytes(), &trust(), FROM_USEC).unwrap();
        let b = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap();
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn altered_document_refused() {
        // Widen the area after signing: the signature no longer verifies.
        let mut s = SignedAuthorization::sign(sample::permit(), &prosecutor());
        s.document.area.vertices[2].lat_deg += 0.01;
        let e = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::BadSignature { .. }), "{e}");
        assert_eq!(e.field(), "signature_ed25519_hex");
    }

    #[test]
    fn altered_coordinate_in_last_digit_refused() {
        // The smallest possible change to a float still breaks the signature
        // (float_roundtrip: parsing is exact, so re-encoding differs).
        let s = SignedAuthorization::sign(sample::permit(), &prosecutor());
        let json = serde_json::to_string(&s).unwrap();
        let tampered = json.replacen("59.393", "59.39300000000001", 1);
        assert_ne!(json, tampered);
        let e = authorize(tampered.as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn signed_by_untrusted_key_refused() {
        let mut doc = sample::permit();
        doc.issuer.key_id = "someone".into();
        let s = SignedAuthorization::sign(doc, &outsider());
        let e = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::UntrustedKey { .. }), "{e}");
        assert_eq!(e.field(), "document.issuer.key_id");
    }

    #[test]
    fn forged_with_trusted_key_id_refused() {
        // Claims the trusted prosecutor's key id, signed with another key.
        let s = SignedAuthorization::sign(sample::permit(), &outsider());
        let e = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn unsigned_refused() {
        let mut s = SignedAuthorization::sign(sample::permit(), &prosecutor());
        s.signature_ed25519_hex = String::new();
        let e = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert_eq!(e.field(), "signature_ed25519_hex");
        let mut v: serde_json::Value = serde_json::from_str(&signed_permit_json()).unwrap();
        v.as_object_mut().unwrap().remove("signature_ed25519_hex");
        let e = authorize(v.to_string().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::Parse { .. }), "{e}");
        assert!(e.to_string().contains("signature_ed25519_hex"), "{e}");
    }

    #[test]
    fn senior_officer_key_cannot_sign_a_permit() {
        // The senior officer's key is trusted, but only for urgent use.
        let mut doc = sample::permit();
        doc.issuer.key_id = "test-senior".into();
        let s = SignedAuthorization::sign(doc, &senior());
        let e = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::WrongIssuerKind { .. }), "{e}");
        assert_eq!(e.field(), "document.issuer.kind");
        // And claiming to be a court with a prosecutor's key fails the same way.
        let mut doc = sample::permit();
        doc.issuer.kind = IssuerKind::Court;
        let s = SignedAuthorization::sign(doc, &prosecutor());
        let e = authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::WrongIssuerKind { .. }), "{e}");
    }

    /// The store of [`trust`] plus a crew: `cecilia` (senior officer, key 21) and `anna`
    /// (operator, key 22).
    fn trust_with_crew() -> TrustStore {
        use crate::authz::trust_store::TrustedUser;
        let mut t = trust();
        for (user_id, role, seed) in [("cecilia", Role::SeniorOfficer, 21u8), ("anna", Role::Operator, 22)] {
            t.insert_user(TrustedUser {
                user_id: user_id.into(),
                roles: vec![role],
                holder: user_id.into(),
                key: SigningKey::from_bytes(&[seed; 32]).verifying_key(),
            })
            .unwrap();
        }
        t
    }

    fn urgent_by(user_id: &str) -> Authorization {
        let mut doc = sample::urgent();
        doc.issuer.key_id = format!("{USER_KEY_PREFIX}{user_id}");
        doc.issuer.name = user_id.into();
        doc.urgent.as_mut().unwrap().senior_officer_id = user_id.into();
        doc
    }

    #[test]
    fn a_senior_officer_signs_urgent_use_with_her_own_crew_key_and_nobody_else_can() {
        let t = trust_with_crew();
        let check = |doc: Authorization, seed: u8| {
            let s = SignedAuthorization::sign(doc, &SigningKey::from_bytes(&[seed; 32]));
            authorize(s.to_json_pretty().as_bytes(), &t, FROM_USEC)
        };
        // Control: the senior officer's own key, as herself.
        let v = check(urgent_by("cecilia"), 21).unwrap();
        assert_eq!(v.signer().key_id, "user:cecilia");
        assert_eq!(v.signer().kind, IssuerKind::SeniorOfficer);
        // An operator's crew key is not a senior officer's.
        let e = check(urgent_by("anna"), 22).unwrap_err();
        assert!(e.to_string().contains("not a senior officer"), "{e}");
        // Her key with another key's signature.
        let e = check(urgent_by("cecilia"), 22).unwrap_err();
        assert!(matches!(e, AuthzError::BadSignature { .. }), "{e}");
        // Her key, but claiming someone else as issuer.
        let mut doc = urgent_by("cecilia");
        doc.issuer.name = "kalle".into();
        doc.urgent.as_mut().unwrap().senior_officer_id = "kalle".into();
        let e = check(doc, 21).unwrap_err();
        assert!(e.to_string().contains("signs only as issuer `cecilia`"), "{e}");
        // Her key on a permit (kind prosecutor): refused.
        let mut doc = sample::permit();
        doc.issuer.key_id = "user:cecilia".into();
        doc.issuer.name = "cecilia".into();
        let e = check(doc, 21).unwrap_err();
        assert!(matches!(e, AuthzError::WrongIssuerKind { .. }), "{e}");
        // Someone not in the crew.
        let e = check(urgent_by("mallory"), 23).unwrap_err();
        assert!(matches!(e, AuthzError::UntrustedKey { .. }), "{e}");
    }

    #[test]
    fn urgent_signed_by_senior_officer_accepted() {
        let s = SignedAuthorization::sign(sample::urgent(), &senior());
        authorize(s.to_json_pretty().as_bytes(), &trust(), FROM_USEC).unwrap();
    }

    #[test]
    fn expired_refused_even_when_well_signed() {
        let e = authorize(signed_permit_json().as_bytes(), &trust(), UNTIL_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::Expired { .. }), "{e}");
    }

    #[test]
    fn parse_errors_name_the_field() {
        let mut v: serde_json::Value = serde_json::from_str(&signed_permit_json()).unwrap();
        v["document"]["window"]["until_usec"] = serde_json::Value::String("tomorrow".into());
        let e = authorize(v.to_string().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert_eq!(e.field(), "document.window.until_usec");
        let mut v: serde_json::Value = serde_json::from_str(&signed_permit_json()).unwrap();
        v["document"]["purpose"] = serde_json::Value::String("crowd_scanning".into());
        let e = authorize(v.to_string().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert_eq!(e.field(), "document.purpose");
        let mut v: serde_json::Value = serde_json::from_str(&signed_permit_json()).unwrap();
        v["document"]["designated_persons"][0]
            .as_object_mut()
            .unwrap()
            .remove("subject_id");
        let e = authorize(v.to_string().as_bytes(), &trust(), FROM_USEC).unwrap_err();
        assert_eq!(e.field(), "document.designated_persons[0]");
        assert!(e.to_string().contains("subject_id"), "{e}");
    }

    #[test]
    fn trailing_garbage_refused() {
        let json = format!("{}{{}}", signed_permit_json());
        assert!(authorize(json.as_bytes(), &trust(), FROM_USEC).is_err());
    }

    #[test]
    fn empty_trust_store_trusts_nothing() {
        let e = authorize(signed_permit_json().as_bytes(), &TrustStore::new(), FROM_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::UntrustedKey { .. }), "{e}");
    }

    #[test]
    fn digest_changes_with_any_field_and_round_trips_as_hex() {
        let a = SignedAuthorization::sign(sample::permit(), &prosecutor())
            .digest()
            .unwrap();
        let mut doc = sample::permit();
        doc.decision_id.push('x');
        let b = SignedAuthorization::sign(doc, &prosecutor()).digest().unwrap();
        assert_ne!(a, b);
        let back: AuthzDigest = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        assert_eq!(a.to_hex().len(), 64);
    }

    #[test]
    fn digest_is_sha256_of_canonical_and_signature() {
        // Pins the definition other implementations (the ground, tests) rely on.
        let s = SignedAuthorization::sign(sample::permit(), &prosecutor());
        let mut bytes = canonical_bytes(&s.document);
        bytes.extend(hex::decode(&s.signature_ed25519_hex).unwrap());
        let expect: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(s.digest().unwrap().0, expect);
        assert!(canonical_bytes(&s.document).starts_with(b"utkik-authorization/1\n{\"format\":"));
    }
}
