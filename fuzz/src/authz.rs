//! Target `authz_document`: [`authorize`] (file bytes -> verified authorization: JSON shape,
//! signature against the trust store, content rules) on the DEMO authorization as committed in
//! `assets/authz/`, mutated.
//!
//! Three modes, chosen by the input:
//! - raw bytes: no panic;
//! - the signed DEMO file with byte edits (XOR, insert, delete): whatever is accepted must be the
//!   very document that was signed (same canonical bytes, same signature) -- an edit may only
//!   change what the canonical encoding ignores (white space, field order, escapes);
//! - the edited file re-signed with the DEMO prosecutor key (so the content rules, not the
//!   signature, decide): accepted exactly when [`validate`] accepts the document.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use utkik_shared::authz::validate::validate;
use utkik_shared::authz::{IssuerSigningKey, SignedAuthorization, TrustStore, authorize, canonical_bytes};

/// The committed DEMO authorization (signed by the DEMO prosecutor key).
pub const DEMO_AUTHZ: &[u8] = include_bytes!("../../assets/authz/person-search.authz.json");
/// The trust store holding the DEMO prosecutor's public key.
pub const DEMO_TRUST: &[u8] = include_bytes!("../../assets/authz/demo-trust-store.json");
/// The DEMO prosecutor's key file (public seed).
pub const DEMO_ISSUER_KEY: &[u8] = include_bytes!("../../assets/authz/DEMO-prosecutor.key.NOT-SECRET.json");
/// Start of the DEMO authorization's window (2026-01-01 UTC).
const WINDOW_FROM_USEC: u64 = 1_767_225_600_000_000;

fn trust() -> &'static TrustStore {
    static T: OnceLock<TrustStore> = OnceLock::new();
    T.get_or_init(|| TrustStore::from_json(DEMO_TRUST).expect("the DEMO trust store parses"))
}

fn issuer() -> &'static IssuerSigningKey {
    static K: OnceLock<IssuerSigningKey> = OnceLock::new();
    K.get_or_init(|| IssuerSigningKey::from_json(DEMO_ISSUER_KEY).expect("the DEMO key file parses"))
}

enum Input {
    Raw(Vec<u8>),
    Edited(Vec<Edit>),
    Resigned(Vec<Edit>),
}

struct Case {
    now_s: u32,
    input: Input,
}

/// One byte edit.
#[derive(Debug, Arbitrary)]
pub enum Edit {
    /// XOR the byte at (position modulo length).
    Xor(u16, u8),
    /// Insert bytes at a position.
    Insert(u16, Vec<u8>),
    /// Delete up to `n` bytes at a position.
    Delete(u16, u8),
}

/// Applies `edits` to a copy of `base`.
pub fn apply_edits(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let at = |p: u16, len: usize| if len == 0 { 0 } else { p as usize % (len + 1) };
        match e {
            Edit::Xor(p, m) if !b.is_empty() => {
                let i = *p as usize % b.len();
                b[i] ^= m;
            }
            Edit::Xor(..) => {}
            Edit::Insert(p, bytes) => {
                let i = at(*p, b.len());
                b.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(p, n) => {
                let i = at(*p, b.len());
                let end = (i + *n as usize).min(b.len());
                b.drain(i..end);
            }
        }
    }
    b
}

/// The target. Byte 0 picks the mode (0: raw bytes, 1: edited, 2: edited and re-signed), bytes
/// 1..5 the clock (seconds into the DEMO window), the rest is the file (raw) or the edits.
pub fn document(data: &[u8]) {
    let (Some(&mode), Some(now)) = (data.first(), data.get(1..5)) else {
        return;
    };
    let rest = &data[5..];
    let now_s = u32::from_le_bytes(now.try_into().expect("4 bytes"));
    let edits = || Vec::<Edit>::arbitrary_take_rest(Unstructured::new(rest)).unwrap_or_default();
    let input = match mode % 3 {
        0 => Input::Raw(rest.to_vec()),
        1 => Input::Edited(edits()),
        _ => Input::Resigned(edits()),
    };
    let case = Case { now_s, input };
    let now_usec = WINDOW_FROM_USEC + u64::from(case.now_s) * 1_000_000;
    match case.input {
        Input::Raw(bytes) => {
            let _ = authorize(&bytes, trust(), now_usec);
        }
        Input::Edited(edits) => {
            let bytes = apply_edits(DEMO_AUTHZ, &edits);
            if let Ok(v) = authorize(&bytes, trust(), now_usec) {
                let original = SignedAuthorization::from_json(DEMO_AUTHZ).expect("DEMO file parses");
                assert_eq!(
                    canonical_bytes(v.document()),
                    canonical_bytes(&original.document),
                    "an edited document was accepted with the original signature"
                );
                let sig = |s: &str| hex::decode(s.trim()).expect("accepted signature is hex");
                assert_eq!(
                    sig(&v.signed().signature_ed25519_hex),
                    sig(&original.signature_ed25519_hex),
                    "another signature accepted"
                );
                assert_eq!(
                    v.digest(),
                    original.digest().expect("digest"),
                    "same document, same digest"
                );
            }
        }
        Input::Resigned(edits) => {
            let bytes = apply_edits(DEMO_AUTHZ, &edits);
            let Ok(parsed) = SignedAuthorization::from_json(&bytes) else {
                return;
            };
            let resigned = SignedAuthorization::sign(parsed.document, &issuer().key);
            let json = resigned.to_json_pretty();
            let rules = validate(&resigned.document, now_usec);
            let accepted = authorize(json.as_bytes(), trust(), now_usec);
            let signer_ok = resigned.verify_signature(trust()).is_ok();
            match (&accepted, rules.is_ok() && signer_ok) {
                (Ok(v), true) => {
                    assert_eq!(
                        canonical_bytes(v.document()),
                        canonical_bytes(&resigned.document),
                        "the file written is the file read"
                    );
                }
                (Err(_), false) => {}
                (a, _) => panic!(
                    "authorize ({:?}) disagrees with validate ({rules:?}) and the signature check ({signer_ok})",
                    a.as_ref().map(|_| "accepted")
                ),
            }
        }
    }
}
