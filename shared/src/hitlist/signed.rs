//! The signed hit list (issue 17 item 1, LAW.md section 7): who added which
//! entry, why, until when, signed by the senior officer who answers for the
//! list, and verified by the drone against its trust store.
//!
//! File: `{"document": {..}, "signature_ed25519_hex": "<128 hex>"}`, where the document is
//! ```json
//! { "format": "utkik-hit-list/1", "list_id": "K-1234-26/3",
//!   "issued_at": "2026-12-07T08:00:00Z", "valid_until": "2026-12-08T08:00:00Z",
//!   "signer": "cecilia",
//!   "entries": [ { "plate": "ABC 123", "reason": "Stolen vehicle, report K-1234-26",
//!                  "added_by": "anna", "added_at": "2026-12-07T07:50:00Z",
//!                  "expires": "2026-12-31T23:59:59Z" } ] }
//! ```
//! Times are UTC (`YYYY-MM-DDTHH:MM:SSZ` or a bare date, [`crate::utc`]).
//!
//! **Who signs.** The signer is a crew member of the trust store (`users`) holding the role
//! `senior_officer`, signing with her own crew key (the key the ground station opens at her
//! sign-in, as for an urgent use). A hit list directs the drone to alert on people's cars, so
//! the person responsible for the operation answers for the whole list: she is the one who
//! decides that each entry is lawful (reason, expiry) and that the list applies to this
//! operation for this long. An operator may *propose* entries: `added_by` may be any crew user
//! of the trust store (it is checked to exist there), so the record says who asked for each
//! entry and who approved it. No issuer key (prosecutor, court) signs a hit list: those keys
//! sign biometric authorizations only.
//!
//! **Canonical encoding.** As for the authorization (`authz::signed`): the document is parsed
//! and re-encoded as compact JSON with fields in declaration order, prefixed by the domain tag
//! [`SIGNING_CONTEXT`], and that is what is signed (ed25519, strict verification). The file may
//! be pretty-printed and its object keys reordered without breaking the signature; unknown
//! fields are refused, so nothing unsigned can ride along. The order of `entries` *is* signed:
//! an entry's 1-based place is its `hit_entry_id` on the wire, the number the ground shows the
//! operator. The domain tag keeps a hit-list signature from being taken for an authorization,
//! an urgent use or a command signed with the same crew key.
//!
//! **Verification** ([`SignedHitList::verify`]): the signer is a trust-store user with the
//! senior-officer role; the signature verifies with that user's key; `issued_at` is not later
//! than now + [`CLOCK_SKEW_USEC`]; `valid_until` is after `issued_at` and after now; every
//! entry's plate fits the drone's plate grammar, has a reason, an `added_by` of the trust
//! store, an `added_at` not after `issued_at`, and an `expires` that parses. An entry may
//! expire after the list does: it simply stops with the list (lookups check `valid_until`
//! with each read's time, [`super::HitList::lookup`]).

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{HitList, HitListEntry, HitListError};
use crate::authz::{Role, TrustStore};
use crate::plate::PlateGrammar;
use crate::utc::{format_utc_usec, parse_utc_usec};

/// The value of the document's `format` field.
pub const HIT_LIST_FORMAT: &str = "utkik-hit-list/1";

/// Prefix of the signed bytes (domain separation).
pub const SIGNING_CONTEXT: &[u8] = b"utkik-hit-list/1\n";

/// How far `issued_at` may lie ahead of the verifier's clock (5 min): the ground station's and
/// the drone's clocks differ a little; more than that is a wrong clock or a wrong date.
pub const CLOCK_SKEW_USEC: u64 = 5 * 60 * 1_000_000;

/// The signed content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitListDocument {
    /// Always [`HIT_LIST_FORMAT`].
    pub format: String,
    /// Names this list (operation, version), for logs and the audit trail.
    pub list_id: String,
    /// When the senior officer signed it (UTC).
    pub issued_at: String,
    /// From this instant on the list makes no hits (UTC).
    pub valid_until: String,
    /// The signing senior officer's user id in the trust store.
    pub signer: String,
    /// The vehicles of interest; the 1-based place of each is its `hit_entry_id`.
    pub entries: Vec<HitListDocumentEntry>,
}

/// One entry as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitListDocumentEntry {
    /// The plate (any spelling the grammar reads; normalized for lookups).
    pub plate: String,
    /// Why the vehicle is of interest.
    pub reason: String,
    /// The crew member who proposed the entry (a user of the trust store).
    pub added_by: String,
    /// When it was added (UTC).
    pub added_at: String,
    /// From this instant on the entry no longer hits (UTC).
    pub expires: String,
}

/// The canonical bytes that are signed: [`SIGNING_CONTEXT`] + compact JSON of `doc`.
pub fn canonical_bytes(doc: &HitListDocument) -> Vec<u8> {
    let mut out = SIGNING_CONTEXT.to_vec();
    serde_json::to_writer(&mut out, doc).expect("a hit list always serializes");
    out
}

/// The signed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHitList {
    /// The list.
    pub document: HitListDocument,
    /// ed25519 signature over [`canonical_bytes`] of `document`, 64 bytes as hex.
    pub signature_ed25519_hex: String,
}

fn parse_error(e: serde_path_to_error::Error<serde_json::Error>) -> HitListError {
    let field = e.path().to_string();
    let inner = e.into_inner();
    HitListError::Parse {
        field,
        message: crate::authz::error::strip_position(&inner.to_string()),
        line: inner.line(),
        column: inner.column(),
    }
}

impl SignedHitList {
    /// Signs `document` with the senior officer's crew key.
    pub fn sign(document: HitListDocument, key: &SigningKey) -> Self {
        let sig = key.sign(&canonical_bytes(&document));
        Self {
            document,
            signature_ed25519_hex: hex::encode(sig.to_bytes()),
        }
    }

    /// Parses the file. Nothing is checked beyond its shape.
    ///
    /// # Errors
    /// [`HitListError::Invalid`] on `.` for a file that is not JSON (such as the unsigned
    /// tab-separated list of earlier versions), [`HitListError::Parse`] naming the field path.
    pub fn from_json(bytes: &[u8]) -> Result<Self, HitListError> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(HitListError::invalid(
                ".",
                format!(
                    "not a signed hit list ({HIT_LIST_FORMAT} JSON): an unsigned list (plate<TAB>expires<TAB>reason \
                     text) is refused; a senior officer signs it with `utkik-ground hitlist sign`"
                ),
            ));
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let signed: SignedHitList = serde_path_to_error::deserialize(&mut *de).map_err(parse_error)?;
        de.end().map_err(|e| HitListError::Parse {
            field: ".".into(),
            message: crate::authz::error::strip_position(&e.to_string()),
            line: e.line(),
            column: e.column(),
        })?;
        Ok(signed)
    }

    /// The file as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a hit list always serializes");
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

    /// SHA-256 over the canonical document followed by the 64 signature bytes, hex.
    ///
    /// # Errors
    /// [`HitListError::BadSignature`] when the signature field is not 64 bytes of hex.
    pub fn digest_hex(&self) -> Result<String, HitListError> {
        let sig = self.signature().map_err(|reason| HitListError::BadSignature {
            user_id: self.document.signer.clone(),
            reason,
        })?;
        let mut h = Sha256::new();
        h.update(canonical_bytes(&self.document));
        h.update(sig.to_bytes());
        Ok(hex::encode(h.finalize()))
    }

    /// Verifies the list at clock value `now_usec` (Unix epoch, UTC, µs) against `trust`, with
    /// the plates read by `grammar` (see the module doc for every check).
    ///
    /// # Errors
    /// The first check that fails, naming the field.
    pub fn verify(&self, trust: &TrustStore, grammar: &PlateGrammar, now_usec: u64) -> Result<HitList, HitListError> {
        let doc = &self.document;
        if doc.format != HIT_LIST_FORMAT {
            return Err(HitListError::invalid(
                "document.format",
                format!("`{}` is not `{HIT_LIST_FORMAT}`", doc.format),
            ));
        }
        // Signature first: the content of an unsigned list is not worth interpreting.
        let user = trust.user(&doc.signer).ok_or_else(|| HitListError::UnknownSigner {
            user_id: doc.signer.clone(),
        })?;
        if !user.roles.contains(&Role::SeniorOfficer) {
            return Err(HitListError::NotSeniorOfficer {
                user_id: doc.signer.clone(),
            });
        }
        let bad_sig = |reason: String| HitListError::BadSignature {
            user_id: doc.signer.clone(),
            reason,
        };
        let sig = self.signature().map_err(bad_sig)?;
        user.key.verify_strict(&canonical_bytes(doc), &sig).map_err(|_| {
            bad_sig(
                "does not verify over the document: forged, altered after signing, or signed with another key".into(),
            )
        })?;
        // Content.
        if doc.list_id.trim().is_empty() {
            return Err(HitListError::invalid("document.list_id", "must not be empty"));
        }
        let time = |field: &str, text: &str| {
            parse_utc_usec(text).map_err(|reason| HitListError::invalid(field.to_string(), reason))
        };
        let issued_at_usec = time("document.issued_at", &doc.issued_at)?;
        let valid_until_usec = time("document.valid_until", &doc.valid_until)?;
        if valid_until_usec <= issued_at_usec {
            return Err(HitListError::invalid(
                "document.valid_until",
                format!("{} is not after issued_at {}", doc.valid_until, doc.issued_at),
            ));
        }
        if issued_at_usec > now_usec.saturating_add(CLOCK_SKEW_USEC) {
            return Err(HitListError::NotYetValid {
                issued_at: doc.issued_at.clone(),
                now: format_utc_usec(now_usec),
            });
        }
        if now_usec >= valid_until_usec {
            return Err(HitListError::Expired {
                valid_until: doc.valid_until.clone(),
                now: format_utc_usec(now_usec),
            });
        }
        let mut entries = Vec::with_capacity(doc.entries.len());
        for (i, e) in doc.entries.iter().enumerate() {
            let field = |name: &str| format!("document.entries[{i}].{name}");
            let Some(plate) = grammar.parse(e.plate.trim()) else {
                return Err(HitListError::invalid(
                    field("plate"),
                    format!(
                        "`{}` is not a plate the drone's grammar reads, so it could never hit",
                        e.plate
                    ),
                ));
            };
            if e.reason.trim().is_empty() {
                return Err(HitListError::invalid(field("reason"), "every entry needs a reason"));
            }
            if trust.user(&e.added_by).is_none() {
                return Err(HitListError::invalid(
                    field("added_by"),
                    format!("`{}` is not a user of the trust store", e.added_by),
                ));
            }
            let added_at_usec = time(&field("added_at"), &e.added_at)?;
            if added_at_usec > issued_at_usec {
                return Err(HitListError::invalid(
                    field("added_at"),
                    format!("{} is after the list's issued_at {}", e.added_at, doc.issued_at),
                ));
            }
            let expires_usec = time(&field("expires"), &e.expires)?;
            entries.push(HitListEntry {
                entry_id: u32::try_from(i + 1)
                    .map_err(|_| HitListError::invalid("document.entries", "more than 4294967295 entries"))?,
                plate: plate.normalized,
                display: plate.display,
                reason: e.reason.trim().to_string(),
                added_by: e.added_by.clone(),
                added_at_usec,
                expires_usec,
            });
        }
        Ok(HitList::from_verified(
            doc.list_id.clone(),
            doc.signer.clone(),
            issued_at_usec,
            valid_until_usec,
            self.digest_hex()?,
            entries,
        ))
    }
}

/// Parses and verifies a signed hit list's bytes at clock value `now_usec`.
///
/// # Errors
/// As [`SignedHitList::from_json`] and [`SignedHitList::verify`].
pub fn verify_hit_list(
    bytes: &[u8],
    trust: &TrustStore,
    grammar: &PlateGrammar,
    now_usec: u64,
) -> Result<HitList, HitListError> {
    SignedHitList::from_json(bytes)?.verify(trust, grammar, now_usec)
}

/// [`verify_hit_list`] for a file; every error names the file.
///
/// # Errors
/// [`HitListError::Io`], or [`HitListError::File`] around the reason.
pub fn load_hit_list(
    path: &Path,
    trust: &TrustStore,
    grammar: &PlateGrammar,
    now_usec: u64,
) -> Result<HitList, HitListError> {
    let bytes = std::fs::read(path).map_err(|source| HitListError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_hit_list(&bytes, trust, grammar, now_usec).map_err(|e| HitListError::File {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::TrustedUser;

    /// 2027-01-01T00:00:00Z.
    const NOW_USEC: u64 = 1_798_761_600_000_000;
    const HOUR_USEC: u64 = 3_600_000_000;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// cecilia: senior officer (key 21); anna: operator (key 22).
    fn trust() -> TrustStore {
        let mut t = TrustStore::new();
        for (user_id, role, seed) in [("cecilia", Role::SeniorOfficer, 21u8), ("anna", Role::Operator, 22)] {
            t.insert_user(TrustedUser {
                user_id: user_id.into(),
                roles: vec![role],
                holder: user_id.into(),
                key: key(seed).verifying_key(),
            })
            .unwrap();
        }
        t
    }

    fn grammar() -> PlateGrammar {
        PlateGrammar::sweden()
    }

    fn entry(plate: &str, expires: &str, added_by: &str) -> HitListDocumentEntry {
        HitListDocumentEntry {
            plate: plate.into(),
            reason: format!("test reason for {plate}"),
            added_by: added_by.into(),
            added_at: "2026-12-31T20:00:00Z".into(),
            expires: expires.into(),
        }
    }

    /// Issued at NOW - 1 h, valid 24 h.
    fn doc() -> HitListDocument {
        HitListDocument {
            format: HIT_LIST_FORMAT.into(),
            list_id: "TEST-1".into(),
            issued_at: format_utc_usec(NOW_USEC - HOUR_USEC),
            valid_until: format_utc_usec(NOW_USEC + 23 * HOUR_USEC),
            signer: "cecilia".into(),
            entries: vec![
                entry("ABC 123", "2027-06-01", "anna"),
                entry("xyz-12a", "2026-12-01", "cecilia"),
                entry("DEF 45G", "2099-01-01", "cecilia"),
            ],
        }
    }

    fn signed_json(doc: HitListDocument, seed: u8) -> String {
        SignedHitList::sign(doc, &key(seed)).to_json_pretty()
    }

    fn verify(json: &str, now_usec: u64) -> Result<HitList, HitListError> {
        verify_hit_list(json.as_bytes(), &trust(), &grammar(), now_usec)
    }

    #[test]
    fn round_trip_signed_list_verifies_and_hits() {
        let l = verify(&signed_json(doc(), 21), NOW_USEC).unwrap();
        assert_eq!((l.list_id(), l.signer(), l.len()), ("TEST-1", "cecilia", 3));
        assert_eq!(l.valid_until_usec(), NOW_USEC + 23 * HOUR_USEC);
        assert_eq!(l.digest_hex().len(), 64);
        let hits = l.lookup("abc123", NOW_USEC);
        assert_eq!(hits.len(), 1);
        let e = hits[0];
        assert_eq!(
            (e.entry_id, e.display.as_str(), e.added_by.as_str()),
            (1, "ABC 123", "anna")
        );
        assert_eq!(e.reason, "test reason for ABC 123");
        // An expired entry in a valid list does not hit; the third entry is entry 3.
        assert!(!l.is_hit("XYZ 12A", NOW_USEC));
        assert_eq!(l.lookup("DEF45G", NOW_USEC)[0].entry_id, 3);
        assert!(!l.is_hit("KLM 45A", NOW_USEC));
        let back = SignedHitList::from_json(signed_json(doc(), 21).as_bytes()).unwrap();
        assert_eq!(back.document, doc());
    }

    #[test]
    fn tampered_entry_refused() {
        let s = SignedHitList::sign(doc(), &key(21));
        for edit in [
            (|d: &mut HitListDocument| d.entries[0].plate = "ABC 124".into()) as fn(&mut HitListDocument),
            |d| d.entries[1].expires = "2099-01-01".into(),
            |d| d.entries[0].reason.push('!'),
            |d| d.entries[0].added_by = "cecilia".into(),
            |d| d.valid_until = "2099-01-01".into(),
            |d| d.entries.push(entry("KLM 45A", "2099-01-01", "anna")),
            |d| d.entries.swap(0, 2),
        ] {
            let mut t = s.clone();
            edit(&mut t.document);
            let e = verify(&t.to_json_pretty(), NOW_USEC).unwrap_err();
            assert!(matches!(e, HitListError::BadSignature { .. }), "{e}");
            assert_eq!(e.field(), "signature_ed25519_hex");
        }
    }

    #[test]
    fn wrong_signer_role_refused() {
        // anna is an operator: her own key, herself as signer, still refused.
        let mut d = doc();
        d.signer = "anna".into();
        let e = verify(&signed_json(d, 22), NOW_USEC).unwrap_err();
        assert!(matches!(e, HitListError::NotSeniorOfficer { .. }), "{e}");
        assert!(e.to_string().contains("not a senior officer"), "{e}");
        // anna's key claiming cecilia as signer: the signature fails.
        let e = verify(&signed_json(doc(), 22), NOW_USEC).unwrap_err();
        assert!(matches!(e, HitListError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn unknown_signer_refused() {
        let mut d = doc();
        d.signer = "mallory".into();
        let e = verify(&signed_json(d, 23), NOW_USEC).unwrap_err();
        assert!(matches!(e, HitListError::UnknownSigner { .. }), "{e}");
        assert_eq!(e.field(), "document.signer");
        // And an entry added by someone outside the crew.
        let mut d = doc();
        d.entries[1].added_by = "mallory".into();
        let e = verify(&signed_json(d, 21), NOW_USEC).unwrap_err();
        assert_eq!(e.field(), "document.entries[1].added_by");
    }

    #[test]
    fn expired_list_refused_at_load() {
        let json = signed_json(doc(), 21);
        let until = NOW_USEC + 23 * HOUR_USEC;
        assert!(verify(&json, until - 1).is_ok());
        let e = verify(&json, until).unwrap_err();
        assert!(matches!(e, HitListError::Expired { .. }), "{e}");
        assert_eq!(e.field(), "document.valid_until");
        // Issued in the future beyond the clock skew: refused; within it: accepted.
        let issued = NOW_USEC - HOUR_USEC;
        assert!(verify(&json, issued - CLOCK_SKEW_USEC).is_ok());
        let e = verify(&json, issued - CLOCK_SKEW_USEC - 1).unwrap_err();
        assert!(matches!(e, HitListError::NotYetValid { .. }), "{e}");
    }

    #[test]
    fn list_expiring_mid_flight_stops_hits() {
        let mut l = verify(&signed_json(doc(), 21), NOW_USEC).unwrap();
        let until = l.valid_until_usec();
        // DEF 45G's own entry runs to 2099, past the list's end: it stops with the list.
        assert!(l.is_hit("DEF 45G", until - 1));
        assert!(!l.expired_news(until - 1));
        assert!(!l.is_hit("DEF 45G", until));
        assert!(l.lookup("ABC 123", until + HOUR_USEC).is_empty());
        assert!(l.expired_news(until), "reported once...");
        assert!(!l.expired_news(until + 1), "...and only once");
    }

    #[test]
    fn unknown_field_refused() {
        let mut v: serde_json::Value = serde_json::from_str(&signed_json(doc(), 21)).unwrap();
        v["document"]["entries"][0]["priority"] = serde_json::Value::from(1);
        let e = verify(&v.to_string(), NOW_USEC).unwrap_err();
        assert!(matches!(e, HitListError::Parse { .. }), "{e}");
        assert_eq!(e.field(), "document.entries[0].priority");
        assert!(e.to_string().contains("priority"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(&signed_json(doc(), 21)).unwrap();
        v["comment"] = serde_json::Value::from("x");
        assert!(verify(&v.to_string(), NOW_USEC).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&signed_json(doc(), 21)).unwrap();
        v["document"].as_object_mut().unwrap().remove("valid_until");
        let e = verify(&v.to_string(), NOW_USEC).unwrap_err();
        assert!(e.to_string().contains("valid_until"), "{e}");
    }

    #[test]
    fn key_order_and_pretty_print_do_not_break_the_signature() {
        let s = SignedHitList::sign(doc(), &key(21));
        let compact = serde_json::to_string(&s).unwrap();
        let a = verify(&compact, NOW_USEC).unwrap();
        let b = verify(&s.to_json_pretty(), NOW_USEC).unwrap();
        assert_eq!(a.digest_hex(), b.digest_hex());
        // Keys in another order inside every object, other whitespace.
        let e0 = &s.document.entries[0];
        let mut entries = Vec::new();
        for e in &s.document.entries {
            entries.push(format!(
                r#"{{ "expires": {:?}, "added_at": {:?}, "added_by": {:?}, "reason": {:?}, "plate": {:?} }}"#,
                e.expires, e.added_at, e.added_by, e.reason, e.plate
            ));
        }
        let d = &s.document;
        let reordered = format!(
            "{{\"signature_ed25519_hex\": {:?},\n\n  \"document\": {{ \"entries\": [{}], \"signer\": {:?}, \"valid_until\": {:?}, \"issued_at\": {:?}, \"list_id\": {:?}, \"format\": {:?} }} }}",
            s.signature_ed25519_hex,
            entries.join(",\n"),
            d.signer,
            d.valid_until,
            d.issued_at,
            d.list_id,
            d.format
        );
        assert!(reordered.contains(&e0.reason));
        let c = verify(&reordered, NOW_USEC).unwrap();
        assert_eq!(c.digest_hex(), a.digest_hex());
        // The order of the entries is signed (their place is the hit_entry_id on the wire).
        let mut swapped = s.clone();
        swapped.document.entries.swap(0, 1);
        assert!(verify(&swapped.to_json_pretty(), NOW_USEC).is_err());
    }

    #[test]
    fn unsigned_tsv_and_bad_signature_field_refused() {
        let e = verify("ABC 123\t2099-01-01\tstolen\n", NOW_USEC).unwrap_err();
        assert_eq!(e.field(), ".");
        assert!(e.to_string().contains("unsigned"), "{e}");
        let mut s = SignedHitList::sign(doc(), &key(21));
        s.signature_ed25519_hex = "abcd".into();
        let e = verify(&s.to_json_pretty(), NOW_USEC).unwrap_err();
        assert!(e.to_string().contains("64 bytes"), "{e}");
        assert!(verify(&format!("{}{{}}", signed_json(doc(), 21)), NOW_USEC).is_err());
    }

    #[test]
    fn content_errors_name_the_field() {
        type Edit = fn(&mut HitListDocument);
        let cases: [(Edit, &str); 7] = [
            (|d| d.entries[2].plate = "QBC 123".into(), "document.entries[2].plate"),
            (|d| d.entries[0].reason = " ".into(), "document.entries[0].reason"),
            (|d| d.entries[0].expires = "soon".into(), "document.entries[0].expires"),
            (
                |d| d.entries[1].added_at = "2027-01-02".into(),
                "document.entries[1].added_at",
            ),
            (|d| d.valid_until = d.issued_at.clone(), "document.valid_until"),
            (|d| d.list_id = String::new(), "document.list_id"),
            (|d| d.format = "utkik-hit-list/0".into(), "document.format"),
        ];
        for (edit, field) in cases {
            let mut d = doc();
            edit(&mut d);
            let e = verify(&signed_json(d, 21), NOW_USEC).unwrap_err();
            assert_eq!(e.field(), field, "{e}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.json");
        std::fs::write(&path, signed_json(doc(), 21)).unwrap();
        assert!(load_hit_list(&path, &trust(), &grammar(), NOW_USEC).is_ok());
        let e = load_hit_list(&path, &trust(), &grammar(), NOW_USEC + 24 * HOUR_USEC).unwrap_err();
        assert!(
            e.to_string().contains("list.json") && e.to_string().contains("expired"),
            "{e}"
        );
        assert_eq!(e.field(), "document.valid_until");
        assert!(load_hit_list(&dir.path().join("none.json"), &trust(), &grammar(), NOW_USEC).is_err());
    }

    #[test]
    fn canonical_bytes_carry_the_domain_tag() {
        assert!(canonical_bytes(&doc()).starts_with(b"utkik-hit-list/1\n{\"format\":\"utkik-hit-list/1\""));
    }
}
