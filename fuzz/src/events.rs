//! Target `station_event`: a signed station event as a centre receives it from the bus (issue 19;
//! `shared::events`: size limit, JSON shape, trusted station, Ed25519 signature, sequence).
//!
//! Byte 0 picks the mode, like `hit_list`:
//! - 0, raw: the rest is split at NUL bytes into several events, verified in order by one
//!   [`EventVerifier`] trusting two stations with fixed seeds. Whatever is accepted must carry a
//!   signature that verifies (checked again here with `ed25519_dalek` directly) with the trusted
//!   key of the station it names, over the canonical bytes; its `seq` must be above every
//!   earlier accepted one of that station; its content must pass `StationEvent::check`;
//! - 1, edited: a genuine signed event ([`seed_event`]) with byte edits: whatever is accepted
//!   must be the very event that was signed (same canonical bytes, same signature);
//! - 2, edited and re-signed with the trusted key: the content rules decide; an accepted plate
//!   hit has an entry number above 0 and a printable plate, and its positions are finite.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use ed25519_dalek::{Signature, Verifier};
use utkik_shared::events::{
    EventBody, EventPosition, EventSource, EventVerifier, LegalBasis, PlateHitEvent, SignedStationEvent, SourceKind,
    StationEvent, StationKey, TrustedStations, canonical_bytes,
};

use crate::authz::{Edit, apply_edits};

fn key(seed: u8) -> StationKey {
    StationKey::from_seed(&format!("stn-{seed}"), [seed; 32]).expect("a fixed station id")
}

fn trusted() -> &'static TrustedStations {
    static T: OnceLock<TrustedStations> = OnceLock::new();
    T.get_or_init(|| {
        TrustedStations::new(vec![key(1).trusted_entry(Some("north")), key(2).trusted_entry(None)])
            .expect("two distinct stations")
    })
}

/// A plate hit signed by trusted station `stn-1`, seq 1000: the edit modes' base and a seed.
pub fn seed_event() -> &'static [u8] {
    static E: OnceLock<Vec<u8>> = OnceLock::new();
    E.get_or_init(|| {
        let event = StationEvent::new(
            "stn-1",
            1000,
            1_765_000_000_000_000,
            EventSource {
                system_id: 1,
                kind: SourceKind::Drone,
                legal_basis: LegalBasis::Own,
            },
            EventBody::PlateHit(PlateHitEvent {
                alert_id: 7,
                plate: "ABC123".into(),
                hit_entry_id: NonZeroU32::new(2).expect("2"),
                position: Some(EventPosition {
                    lat_deg: 59.329_323,
                    lon_deg: 18.068_581,
                }),
                capture_time_usec: 1_764_999_999_900_000,
                image_sha256_hex: Some("ab".repeat(32)),
            }),
        );
        SignedStationEvent::sign(event, &key(1).key)
            .expect("a valid event")
            .to_bytes()
    })
}

/// What every accepted event must satisfy.
fn check_accepted(signed: &SignedStationEvent) {
    let station = trusted()
        .get(&signed.event.station_id)
        .expect("accepted from a station of the trusted list");
    let sig: [u8; 64] = hex::decode(&signed.signature_ed25519_hex)
        .expect("an accepted signature is hex")
        .try_into()
        .expect("an accepted signature is 64 bytes");
    station
        .public_key
        .verify(&canonical_bytes(&signed.event), &Signature::from_bytes(&sig))
        .expect("accepted without a valid signature of the trusted key");
    signed.event.check().expect("accepted with content that fails check");
    if let EventBody::PlateHit(h) = &signed.event.body {
        assert!(h.hit_entry_id.get() > 0, "a plate hit without an entry");
        assert!(
            !h.plate.is_empty() && h.plate.bytes().all(|b| b.is_ascii_graphic()),
            "plate text"
        );
        if let Some(p) = h.position {
            assert!(p.lat_deg.is_finite() && p.lon_deg.is_finite(), "a non-finite position");
        }
    }
}

/// Target `station_event` (see the module doc).
pub fn station_event(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut verifier = EventVerifier::new(trusted().clone());
    let edits = || Vec::<Edit>::arbitrary_take_rest(Unstructured::new(rest)).unwrap_or_default();
    match mode % 3 {
        0 => {
            let mut highest: HashMap<String, u64> = HashMap::new();
            for part in rest.split(|&b| b == 0) {
                if let Ok(v) = verifier.verify(part) {
                    let signed = SignedStationEvent::from_bytes(part).expect("an accepted event parses");
                    assert_eq!(v.event, signed.event, "the accepted event is the one parsed");
                    check_accepted(&signed);
                    let last = highest.insert(v.event.station_id.clone(), v.event.seq);
                    assert!(
                        last.is_none_or(|l| l < v.event.seq),
                        "a seq not above the last accepted"
                    );
                    assert_eq!(verifier.highest_seq(&v.event.station_id), Some(v.event.seq));
                }
            }
        }
        1 => {
            let bytes = apply_edits(seed_event(), &edits());
            if verifier.verify(&bytes).is_ok() {
                let original = SignedStationEvent::from_bytes(seed_event()).expect("the seed parses");
                let edited = SignedStationEvent::from_bytes(&bytes).expect("an accepted event parses");
                assert_eq!(
                    canonical_bytes(&edited.event),
                    canonical_bytes(&original.event),
                    "an edited event was accepted with the original signature"
                );
                check_accepted(&edited);
            }
        }
        _ => {
            let bytes = apply_edits(seed_event(), &edits());
            // Re-sign whatever still parses, with the key of the station it names if trusted.
            let Ok(parsed) = SignedStationEvent::from_bytes(&bytes) else {
                return;
            };
            let signer = match parsed.event.station_id.as_str() {
                "stn-1" => key(1),
                "stn-2" => key(2),
                _ => return,
            };
            let Ok(resigned) = SignedStationEvent::sign(parsed.event, &signer.key) else {
                return;
            };
            if verifier.verify(&resigned.to_bytes()).is_ok() {
                check_accepted(&resigned);
            }
        }
    }
}
