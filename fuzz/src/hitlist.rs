//! Targets `hit_list` (the signed hit list the drone loads: JSON shape, signer and role in the
//! trust store, signature, validity, plate grammar; [`verify_hit_list`]) and `hit_list_tsv` (the
//! typed entries a senior officer signs, [`tsv::parse_entries`]).
//!
//! `hit_list` has three modes, chosen by the input, like `authz_document`:
//! - raw bytes, verified against the DEMO trust store: whatever is accepted was signed by a
//!   senior officer of that store, and behaves as a list (each entry found by lookup before its
//!   expiry and the list's end, with its 1-based place as id, never after);
//! - the DEMO list ([`demo_list_json`]) with byte edits: whatever is accepted must be the very
//!   document that was signed (same canonical bytes, same signature);
//! - the edited list re-signed with the DEMO senior officer's key (so the content rules, not
//!   the signature, decide): whatever is accepted behaves as a list, as above.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use utkik_shared::authz::{Role, TrustStore};
use utkik_shared::hitlist::signed::canonical_bytes;
use utkik_shared::hitlist::{
    HitList, HitListDocument, HitListDocumentEntry, SignedHitList, demo, tsv, verify_hit_list,
};
use utkik_shared::plate::PlateGrammar;
use utkik_shared::utc::parse_utc_usec;

use crate::authz::{Edit, apply_edits};
use crate::text;

/// When the DEMO list is issued (2026-12-01T00:00:00Z); the target's clock counts from here.
pub const DEMO_ISSUED_AT: &str = "2026-12-01T00:00:00Z";

fn trust() -> &'static TrustStore {
    static T: OnceLock<TrustStore> = OnceLock::new();
    T.get_or_init(demo::trust_store)
}

fn issued_usec() -> u64 {
    parse_utc_usec(DEMO_ISSUED_AT).expect("DEMO_ISSUED_AT parses")
}

/// The DEMO list the edit modes start from: three entries (one proposed by an operator), signed
/// by the DEMO senior officer, valid from [`DEMO_ISSUED_AT`] for one year. Deterministic
/// (ed25519 signatures are), so it is also the committed raw seed.
pub fn demo_list_json() -> &'static [u8] {
    static J: OnceLock<Vec<u8>> = OnceLock::new();
    J.get_or_init(|| {
        let entry = |plate: &str, by: &str, expires: &str| HitListDocumentEntry {
            plate: plate.into(),
            reason: format!("DEMO fuzz seed: {plate}"),
            added_by: by.into(),
            added_at: "2026-11-30T12:00:00Z".into(),
            expires: expires.into(),
        };
        let doc = HitListDocument {
            format: utkik_shared::hitlist::HIT_LIST_FORMAT.into(),
            list_id: "DEMO-fuzz".into(),
            issued_at: DEMO_ISSUED_AT.into(),
            valid_until: "2027-12-01T00:00:00Z".into(),
            signer: demo::DEMO_SIGNER.into(),
            entries: vec![
                entry("ABC 123", "anna", "2027-06-01"),
                entry("XYZ 12A", "cecilia", "2026-12-15T08:30:00Z"),
                entry("ABC123", "cecilia", "2099-01-01"),
            ],
        };
        demo::sign(doc).to_json_pretty().into_bytes()
    })
}

/// What an accepted list must satisfy at `now_usec`.
fn check_accepted(list: &HitList, signed: &SignedHitList, now_usec: u64) {
    let grammar = PlateGrammar::sweden();
    let signer = trust().user(list.signer()).expect("the signer is in the trust store");
    assert!(
        signer.roles.contains(&Role::SeniorOfficer),
        "signed by a non-senior officer"
    );
    assert!(now_usec < list.valid_until_usec(), "an expired list accepted");
    assert_eq!(
        list.len(),
        signed.document.entries.len(),
        "one entry per document entry"
    );
    for (i, e) in list.entries().iter().enumerate() {
        assert_eq!(e.entry_id as usize, i + 1, "entry id is the 1-based place");
        let m = grammar.parse(&e.display).expect("an accepted plate fits the grammar");
        assert_eq!(m.normalized, e.plate, "plate");
        assert!(!e.reason.trim().is_empty(), "an entry without a reason");
        assert!(trust().user(&e.added_by).is_some(), "added_by outside the crew");
        let end = e.expires_usec.min(list.valid_until_usec());
        if end > 0 {
            assert!(
                list.lookup(&e.display, end - 1)
                    .iter()
                    .any(|h| h.entry_id == e.entry_id),
                "an entry does not hit just before its end"
            );
        }
        assert!(
            !list.lookup(&e.display, end).iter().any(|h| h.entry_id == e.entry_id),
            "an entry hits at its expiry or after the list's end"
        );
    }
}

/// Target `hit_list`. Byte 0 picks the mode (0: raw, 1: edited, 2: edited and re-signed), bytes
/// 1..5 the clock (seconds after [`DEMO_ISSUED_AT`]), the rest is the file (raw) or the edits.
pub fn signed(data: &[u8]) {
    let (Some(&mode), Some(now)) = (data.first(), data.get(1..5)) else {
        return;
    };
    let rest = &data[5..];
    let now_usec = issued_usec() + u64::from(u32::from_le_bytes(now.try_into().expect("4 bytes"))) * 1_000_000;
    let grammar = PlateGrammar::sweden();
    let edits = || Vec::<Edit>::arbitrary_take_rest(Unstructured::new(rest)).unwrap_or_default();
    match mode % 3 {
        0 => {
            if let Ok(list) = verify_hit_list(rest, trust(), &grammar, now_usec) {
                let signed = SignedHitList::from_json(rest).expect("an accepted list parses");
                check_accepted(&list, &signed, now_usec);
            }
        }
        1 => {
            let bytes = apply_edits(demo_list_json(), &edits());
            if let Ok(list) = verify_hit_list(&bytes, trust(), &grammar, now_usec) {
                let original = SignedHitList::from_json(demo_list_json()).expect("the DEMO list parses");
                let edited = SignedHitList::from_json(&bytes).expect("an accepted list parses");
                assert_eq!(
                    canonical_bytes(&edited.document),
                    canonical_bytes(&original.document),
                    "an edited list was accepted with the original signature"
                );
                let sig = |s: &str| hex::decode(s.trim()).expect("accepted signature is hex");
                assert_eq!(
                    sig(&edited.signature_ed25519_hex),
                    sig(&original.signature_ed25519_hex),
                    "another signature accepted"
                );
                assert_eq!(
                    list.digest_hex(),
                    original.digest_hex().expect("digest"),
                    "same list, same digest"
                );
                check_accepted(&list, &edited, now_usec);
            }
        }
        _ => {
            let bytes = apply_edits(demo_list_json(), &edits());
            let Ok(parsed) = SignedHitList::from_json(&bytes) else {
                return;
            };
            let resigned = demo::sign(parsed.document);
            let json = resigned.to_json_pretty();
            if let Ok(list) = verify_hit_list(json.as_bytes(), trust(), &grammar, now_usec) {
                check_accepted(&list, &resigned, now_usec);
            }
        }
    }
}

/// Target `hit_list_tsv`: the typed entries. Every accepted entry is a plate the grammar reads,
/// with a reason and an expiry that parse, one entry per non-comment line, and the document
/// built from them carries them in order.
pub fn typed(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let grammar = PlateGrammar::sweden();
    let Ok(entries) = tsv::parse_entries(text, &grammar) else {
        return;
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .collect();
    assert_eq!(entries.len(), lines.len(), "one entry per non-comment line");
    for (e, (i, line)) in entries.iter().zip(&lines) {
        assert_eq!(e.line, i + 1, "line number");
        let fields: Vec<&str> = line.split('\t').collect();
        let m = grammar
            .parse(fields[0].trim())
            .expect("an accepted entry's plate fits the grammar");
        assert_eq!(e.plate, m.display, "plate");
        assert_eq!(
            e.expires_usec,
            parse_utc_usec(fields[1]).expect("an accepted expiry parses"),
            "expires"
        );
        assert_eq!(e.reason, fields[2].trim(), "reason");
        assert!(!e.reason.is_empty(), "an entry without a reason");
    }
    let doc = tsv::document_from_entries(&entries, "fuzz", "cecilia", 0, 1_000_000);
    assert_eq!(doc.entries.len(), entries.len());
    for (d, e) in doc.entries.iter().zip(&entries) {
        assert_eq!(d.plate, e.plate);
        assert_eq!(
            parse_utc_usec(&d.expires).expect("formatted expiry parses"),
            e.expires_usec - e.expires_usec % 1_000_000,
            "expiry survives formatting"
        );
    }
}
