//! A restarted drone's new alert is never taken by the ground for a resend of an old one (issue
//! 14 item 3). Two onboard starts read and bump the same boot-epoch state file
//! (`utkik_onboard::out::boot_epoch`, the code `pipeline::run` calls at start-up); the first
//! plate hit of each run reaches the ground's world: both are alerts of their own, each
//! acknowledged. The control shows the failure the epoch prevents: with the same epoch (ids
//! restarting at 1, as before) the second run's hit is counted as a resend of the first and lost.

use utkik_ground::state::{Origin, World};
use utkik_onboard::out::boot_epoch::{first_match_alert_id, first_plate_alert_id, next_boot_epoch};
use utkik_shared::dialect::{MavMessage, UTKIK_PLATE_READ_DATA, UtkikPlateStatus};

fn hit(alert_id: u32, plate: &str) -> MavMessage {
    MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
        alert_id,
        status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
        plate: plate.into(),
        ..Default::default()
    })
}

const DRONE: Origin = Origin {
    system_id: 1,
    component_id: 191,
    sequence: 0,
};

#[test]
fn first_alert_after_a_restart_is_a_new_alert_at_the_ground() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("utkik-state").join("boot-epoch");
    let run1 = next_boot_epoch(&state).unwrap();
    let run2 = next_boot_epoch(&state).unwrap();
    assert_ne!(run1, run2);
    let (id1, id2) = (first_plate_alert_id(run1), first_plate_alert_id(run2));
    assert_ne!(id1, id2);
    assert_ne!(first_match_alert_id(run1), first_match_alert_id(run2));

    let mut world = World::new();
    let acks1 = world.apply(DRONE, &hit(id1, "ABC123"), 10.0);
    // The drone restarts; its first hit is another car.
    let acks2 = world.apply(DRONE, &hit(id2, "XYZ789"), 20.0);
    assert_eq!(world.alerts.len(), 2, "two alerts, the second not taken for a resend");
    for (id, plate) in [(id1, "ABC123"), (id2, "XYZ789")] {
        let a = world.alerts.get(1, id).unwrap();
        assert_eq!(a.receptions, 1);
        assert!(a.label().contains(plate), "{}", a.label());
    }
    assert!(matches!(&acks1[..], [o] if matches!(&o.message, MavMessage::UTKIK_ALERT_ACK(k) if k.alert_id == id1)));
    assert!(matches!(&acks2[..], [o] if matches!(&o.message, MavMessage::UTKIK_ALERT_ACK(k) if k.alert_id == id2)));

    // Control: ids that restart (same epoch) make the second run's hit a "resend": lost.
    let mut old_world = World::new();
    old_world.apply(DRONE, &hit(first_plate_alert_id(run1), "ABC123"), 10.0);
    old_world.apply(DRONE, &hit(first_plate_alert_id(run1), "XYZ789"), 20.0);
    assert_eq!(old_world.alerts.len(), 1);
    assert!(!old_world.alerts.iter().any(|a| a.label().contains("XYZ789")));
}
