//! What the live ground station writes to its audit log when operators review alerts is what
//! mission replay reads back: verdicts given through `GroundOps` (two users confirm a possible
//! match, one checks a plate hit, one dismisses another) and re-applied from the log to the
//! same alerts give the same states. Guards the plate-check text that ops.rs writes and
//! replay parses.

use utkik_ground::audit_log::AUDIT_FILE;
use utkik_ground::replay::{AuditTrail, VerdictOutcome, apply_verdicts};
use utkik_ground::state::{AlertState, Origin, World};
use utkik_shared::dialect::{MavMessage, UTKIK_PLATE_READ_DATA, UtkikPlateStatus};

mod common;

use common::*;

/// The possible match of `common` plus two plate hits (alerts 3 and 4).
fn world(digest: [u8; 32]) -> World {
    let mut w = world_with_match(digest);
    for alert_id in [3, 4] {
        let p = UTKIK_PLATE_READ_DATA {
            alert_id,
            track_id: 100 + alert_id,
            hit_entry_id: 1,
            plate: "ABC123".into(),
            confidence: 90,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            ..Default::default()
        };
        let origin = Origin {
            system_id: 1,
            component_id: 191,
            sequence: 9,
        };
        w.apply(origin, &MavMessage::UTKIK_PLATE_READ(p), 2.0);
    }
    w
}

#[test]
fn verdicts_written_live_replay_to_the_same_alert_states() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let digest = ops
        .load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    let mut live = world(digest.0);
    for (i, user) in ["anna", "bertil"].into_iter().enumerate() {
        login(&mut ops, user);
        let t = NOW_USEC + 1_000_000 * (i as u64 + 1);
        ops.view_evidence(&live, 1, 5, t).unwrap();
        ops.confirm(&mut live, 1, 5, t).unwrap();
    }
    ops.confirm(&mut live, 1, 3, NOW_USEC + 3_000_000).unwrap();
    ops.dismiss(&mut live, 1, 4, NOW_USEC + 4_000_000).unwrap();
    assert_eq!(
        live.alerts.get(1, 5).unwrap().state,
        AlertState::Confirmed {
            by: ["anna".into(), "bertil".into()]
        }
    );

    let trail = AuditTrail::read(&dir.path().join(AUDIT_FILE)).unwrap();
    assert_eq!(trail.damage, None);
    assert_eq!(
        trail.unparsed_plate_checks, 0,
        "ops.rs plate-check text is still parsed"
    );
    assert_eq!(trail.verdicts.len(), 4);
    let mut replayed = world(digest.0);
    let outcomes = apply_verdicts(&mut replayed.alerts, &trail.verdicts);
    assert!(
        outcomes.iter().all(|o| matches!(o, VerdictOutcome::Applied { .. })),
        "{outcomes:?}"
    );
    for id in [3, 4, 5] {
        assert_eq!(
            replayed.alerts.get(1, id).unwrap().state,
            live.alerts.get(1, id).unwrap().state,
            "alert {id}"
        );
    }
    assert_eq!(
        replayed.alerts.get(1, 4).unwrap().state,
        AlertState::Dismissed { by: "bertil".into() }
    );
}
