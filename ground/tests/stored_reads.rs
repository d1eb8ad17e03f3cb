//! Non-hit plate reads at the ground (LAW.md section 7, issue 17 item 1): without a retention
//! period their text is dropped on arrival (not shown, not stored); with one they go to the
//! store, which deletes them when they expire; a search needs sign-in and a reason, and is an
//! audit record naming the user, the query and the reason.

mod common;

use common::{NOW_USEC, demo_trust, events, login, ops_in};
use utkik_ground::ops::OpsError;
use utkik_ground::state::{Origin, TrackClass, TrackKey, World};
use utkik_ground::stored_reads::{STORE_FILE, StoredReads};
use utkik_shared::audit::AuditEvent;
use utkik_shared::dialect::{
    MavMessage, UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA, UtkikObjectClass, UtkikPlateStatus, UtkikTrackFlags,
};

const DRONE: Origin = Origin {
    system_id: 1,
    component_id: 191,
    sequence: 0,
};
const DAY_USEC: u64 = 86_400_000_000;

fn plate_track(track_id: u32) -> MavMessage {
    MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
        time_usec: NOW_USEC,
        track_id,
        object_class: UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE,
        flags: UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
        lat: 593_300_000,
        lon: 180_600_000,
        confidence: 90,
        ..Default::default()
    })
}

fn read(track_id: u32, plate: &str, status: UtkikPlateStatus) -> UTKIK_PLATE_READ_DATA {
    UTKIK_PLATE_READ_DATA {
        time_usec: NOW_USEC,
        track_id,
        plate: plate.into(),
        confidence: 88,
        status,
        reads: 3,
        ..Default::default()
    }
}

fn plate_of(w: &World, track_id: u32) -> Option<String> {
    w.tracks
        .get(&TrackKey {
            system_id: 1,
            class: TrackClass::Plate,
            track_id,
        })
        .and_then(|t| t.plate.clone())
}

#[test]
fn without_retention_non_hit_text_is_dropped_on_arrival_and_a_hit_is_kept() {
    let mut w = World::new();
    assert!(!w.keep_non_hit_text, "the default keeps no non-hit text");
    w.apply(DRONE, &plate_track(3), 1.0);
    w.apply(DRONE, &plate_track(4), 1.0);
    // A drone wrongly configured to send the text of a non-hit: dropped.
    let non_hit = read(3, "KLM45A", UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT);
    w.apply(DRONE, &MavMessage::UTKIK_PLATE_READ(non_hit.clone()), 1.1);
    assert_eq!(plate_of(&w, 3).as_deref(), Some(""), "read, not on the list, text gone");
    assert_eq!(w.non_hit_text_dropped, 1);
    // The default drone sends none: nothing to drop.
    let bare = read(4, "", UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT);
    w.apply(DRONE, &MavMessage::UTKIK_PLATE_READ(bare.clone()), 1.2);
    assert_eq!(plate_of(&w, 4).as_deref(), Some(""));
    assert_eq!(w.non_hit_text_dropped, 1);
    // A hit keeps its text, and a later read without text does not hide it.
    let mut hit = read(4, "ABC123", UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT);
    hit.alert_id = 1;
    w.apply(DRONE, &MavMessage::UTKIK_PLATE_READ(hit.clone()), 1.3);
    assert_eq!(plate_of(&w, 4).as_deref(), Some("ABC123"));
    w.apply(DRONE, &MavMessage::UTKIK_PLATE_READ(bare.clone()), 1.4);
    assert_eq!(plate_of(&w, 4).as_deref(), Some("ABC123"));
    // Nor does the station keep anything without a store.
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    assert!(!ops.keeps_non_hit_reads());
    assert!(!ops.store_non_hit_read(&w, 1, &non_hit, NOW_USEC).unwrap());
    assert!(!dir.path().join(STORE_FILE).exists());
}

#[test]
fn with_retention_reads_are_stored_expire_and_are_searched_signed_in_with_a_reason_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let (store, _) = StoredReads::open(&dir.path().join(STORE_FILE), 1, NOW_USEC).unwrap();
    ops.set_stored_reads(store);
    assert!(ops.keeps_non_hit_reads());
    let mut w = World::new();
    w.keep_non_hit_text = ops.keeps_non_hit_reads();
    w.apply(DRONE, &plate_track(3), 1.0);
    let non_hit = read(3, "KLM45A", UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT);
    w.apply(DRONE, &MavMessage::UTKIK_PLATE_READ(non_hit.clone()), 1.1);
    assert_eq!(plate_of(&w, 3).as_deref(), Some("KLM45A"));
    assert!(ops.store_non_hit_read(&w, 1, &non_hit, NOW_USEC).unwrap());
    // A hit is an alert, not a stored read; a read without text has nothing to store.
    let hit = read(4, "ABC123", UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT);
    assert!(!ops.store_non_hit_read(&w, 1, &hit, NOW_USEC).unwrap());
    let bare = read(5, "", UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT);
    assert!(!ops.store_non_hit_read(&w, 1, &bare, NOW_USEC).unwrap());

    let searches = |dir: &std::path::Path| {
        events(dir)
            .into_iter()
            .filter(|e| matches!(e, AuditEvent::StoredReadSearch { .. }))
            .collect::<Vec<_>>()
    };
    // Not signed in: refused, and nothing is returned.
    let e = ops.search_reads(&w, "KLM", "case K-1234-26", NOW_USEC).unwrap_err();
    assert!(matches!(e, OpsError::Session(_)), "{e}");
    // An auditor reads logs, never searches reads.
    login(&mut ops, "eva");
    assert!(matches!(
        ops.search_reads(&w, "KLM", "case K-1234-26", NOW_USEC),
        Err(OpsError::Session(_))
    ));
    // An operator without a reason: refused.
    login(&mut ops, "anna");
    for reason in ["", "  ", "because"] {
        let e = ops.search_reads(&w, "KLM", reason, NOW_USEC).unwrap_err();
        assert!(matches!(e, OpsError::SearchReason), "{reason:?}: {e}");
    }
    assert!(searches(dir.path()).is_empty(), "refused searches returned nothing");
    // With a reason: found, and logged with who, what and why.
    let found = ops
        .search_reads(&w, "klm 45", "case K-1234-26 witness", NOW_USEC)
        .unwrap();
    assert_eq!(found.stored.len(), 1);
    assert_eq!(found.stored[0].plate, "KLM45A");
    assert_eq!(found.stored[0].lat_lon_deg, Some((59.33, 18.06)));
    assert_eq!(found.live.len(), 1, "the track on the map");
    let text = utkik_ground::console::search_text("klm 45", &found);
    assert!(text.contains("KLM45A") && text.contains("search logged"), "{text}");
    assert_eq!(
        searches(dir.path()),
        [AuditEvent::StoredReadSearch {
            user_id: "anna".into(),
            query: "klm 45".into(),
            results: 2,
            reason: "case K-1234-26 witness".into(),
        }]
    );
    // A day later the read has expired: deleted, never returned again.
    let later = NOW_USEC + DAY_USEC;
    let found = ops
        .search_reads(&World::new(), "KLM", "case K-1234-26 again", later)
        .unwrap();
    assert!(found.stored.is_empty() && found.store_open);
    assert_eq!(
        searches(dir.path()).len(),
        2,
        "a search that finds nothing is logged too"
    );
    drop(ops);
    let bytes = std::fs::read(dir.path().join(STORE_FILE)).unwrap();
    assert!(
        !bytes.windows(6).any(|w| w == b"KLM45A"),
        "expired text left in the store file"
    );
}
