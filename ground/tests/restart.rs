//! A ground station killed mid-mission and started again (issue 14 item 4) takes back from its
//! audit log and payload store what it had: the alerts with their images (a possible match and
//! a plate hit the drone will not resend, since they were acknowledged), the confirmations (a
//! half-confirmed match still needs a second, different user), who had looked at which evidence,
//! the pending STOP (resent as it was, alarmed), request ids that do not restart at 1, and the
//! authorization's mirrored lifecycle. The "kill" drops the station's state without any shutdown
//! step: everything used here was on disk (fsynced) when the action returned.

mod common;

use common::*;
use utkik_ground::authorization::AuthzAction;
use utkik_ground::ops::OpsError;
use utkik_ground::restore::restore;
use utkik_ground::state::{AlertError, AlertState, CommandEvent, Origin, World};
use utkik_shared::audit::AuditEvent;
use utkik_shared::authz::AuthzState;
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, MavResult, UTKIK_AUTHZ_STATUS_DATA,
    UTKIK_PLATE_READ_DATA, UtkikAuthzCommand, UtkikPlateStatus,
};

const DRONE: Origin = Origin {
    system_id: 1,
    component_id: 191,
    sequence: 0,
};
const PLATE_IMAGE: &[u8] = b"\xff\xd8 plate ABC123 and the car around it \xff\xd9";

/// An alert message followed by its image, as the drone sends them.
fn send_with_image(w: &mut World, alert: MavMessage, image: &[u8]) {
    w.apply(DRONE, &alert, 2.0);
    w.apply(
        DRONE,
        &MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
            size: image.len() as u32,
            packets: 1,
            ..Default::default()
        }),
        2.0,
    );
    let mut data = [0u8; 253];
    data[..image.len()].copy_from_slice(image);
    w.apply(
        DRONE,
        &MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr: 0, data }),
        2.0,
    );
}

/// A station world (alerts acknowledged only once stored) with the common possible match 1/5
/// and its crop.
fn station_with_match(digest: [u8; 32]) -> World {
    let template = world_with_match(digest);
    let mut w = World::new();
    w.alerts.set_require_store(true);
    send_with_image(&mut w, template.alerts.get(1, 5).unwrap().message.clone(), CROP);
    assert_eq!(w.alerts.get(1, 5).unwrap().evidence_jpeg.as_deref(), Some(CROP));
    w
}

fn plate_hit(w: &mut World) {
    let hit = UTKIK_PLATE_READ_DATA {
        alert_id: 1,
        track_id: 41,
        hit_entry_id: 2,
        plate: "ABC123".into(),
        confidence: 93,
        status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
        image_transfer_id: 0x8000,
        image_size: PLATE_IMAGE.len() as u32,
        ..Default::default()
    };
    send_with_image(w, MavMessage::UTKIK_PLATE_READ(hit), PLATE_IMAGE);
    assert_eq!(w.alerts.get(1, 1).unwrap().evidence_jpeg.as_deref(), Some(PLATE_IMAGE));
}

fn status(request_id: u16) -> UTKIK_AUTHZ_STATUS_DATA {
    UTKIK_AUTHZ_STATUS_DATA {
        last_request_id: request_id,
        last_result: MavResult::MAV_RESULT_ACCEPTED,
        ..Default::default()
    }
}

fn count(dir: &std::path::Path, f: impl Fn(&AuditEvent) -> bool) -> usize {
    events(dir).iter().filter(|e| f(e)).count()
}

#[test]
fn a_killed_station_restarts_with_its_alerts_verdicts_evidence_views_and_pending_stop() {
    let dir = tempfile::tempdir().unwrap();
    let authz = repo("assets/authz/person-search.authz.json");
    let (stop_request_id, stop_message) = {
        let mut ops = ops_in(dir.path(), demo_trust());
        let digest = ops.load_authorization(&authz, NOW_USEC).unwrap();
        let mut w = station_with_match(digest.0);
        plate_hit(&mut w);
        assert_eq!(ops.store_new_alerts(&mut w, NOW_USEC).unwrap(), 2);

        // A senior officer activates; the drone confirms (its status echoes the request id).
        login(&mut ops, "cecilia");
        let activate = match ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC).unwrap() {
            MavMessage::UTKIK_AUTHZ_COMMAND(c) => c,
            other => panic!("{other:?}"),
        };
        w.commands
            .apply_status(1, &status(activate.request_id), NOW_USEC as f64 / 1e6);
        for e in w.commands.take_events() {
            if let CommandEvent::Settled(c) = e {
                ops.record_command_settled(&c, NOW_USEC).unwrap();
            }
        }
        // One confirmation of the match; the plate hit checked.
        login(&mut ops, "anna");
        ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
        ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap();
        ops.view_evidence(&w, 1, 1, NOW_USEC).unwrap();
        ops.confirm(&mut w, 1, 1, NOW_USEC).unwrap();
        // STOP goes out; the drone never confirms it before the station dies.
        login(&mut ops, "cecilia");
        let stop = match ops
            .authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 1_000_000)
            .unwrap()
        {
            MavMessage::UTKIK_AUTHZ_COMMAND(c) => c,
            other => panic!("{other:?}"),
        };
        assert!(stop.request_id > activate.request_id);
        (stop.request_id, stop)
        // kill -9: ops and w dropped here with no sign-out, no flush, no final record.
    };

    // Restart: a new process opens the same log, loads the same authorization, restores.
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&authz, NOW_USEC + 60_000_000).unwrap();
    let mut w = World::new();
    let summary = restore(&mut ops, &mut w).unwrap();
    assert!(summary.problems.is_empty(), "{}", summary.line());
    assert_eq!(summary.damage, None);
    assert_eq!(
        (summary.alerts, summary.alerts_without_image),
        (2, 0),
        "{}",
        summary.line()
    );
    assert_eq!(summary.verdicts, 2);
    assert_eq!(summary.evidence_seen, 2);
    assert_eq!(summary.pending_commands, 1);
    assert_eq!(summary.lifecycle_steps, 2, "ACTIVATE then STOP");

    // The alerts, with their images and review state.
    let m = w.alerts.get(1, 5).expect("the possible match is back");
    assert_eq!(m.evidence_jpeg.as_deref(), Some(CROP));
    assert_eq!(
        m.state,
        AlertState::PossibleMatch {
            confirmed_by: vec!["anna".into()]
        }
    );
    assert!(m.stored);
    let p = w.alerts.get(1, 1).expect("the plate hit is back");
    assert_eq!(p.evidence_jpeg.as_deref(), Some(PLATE_IMAGE));
    assert_eq!(p.state, AlertState::Checked { by: "anna".into() });

    // The mirrored lifecycle: activated, then stopped.
    assert_eq!(ops.console.state_of(1).unwrap(), AuthzState::Stopped);

    // The pending STOP is resent at once, as it was sent, and alarms (older than the alarm time).
    let now_s = (NOW_USEC + 60_000_000) as f64 / 1e6;
    let due = w.commands.due(now_s);
    assert_eq!(due, vec![(1, MavMessage::UTKIK_AUTHZ_COMMAND(stop_message.clone()))]);
    assert!(
        w.commands
            .take_events()
            .iter()
            .any(|e| matches!(e, CommandEvent::StopAlarm(c) if c.message.request_id == stop_request_id)),
        "an unconfirmed STOP from before the restart alarms"
    );
    assert_eq!(stop_message.command, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP);

    // Anna cannot give the second confirmation; Bertil must look at the evidence first.
    login(&mut ops, "anna");
    assert!(ops.has_seen_evidence(1, 5), "anna's view of the evidence is remembered");
    assert!(matches!(
        ops.confirm(&mut w, 1, 5, NOW_USEC + 61_000_000),
        Err(OpsError::Alert(AlertError::SameUser { .. }))
    ));
    login(&mut ops, "bertil");
    assert!(matches!(
        ops.confirm(&mut w, 1, 5, NOW_USEC + 61_000_000),
        Err(OpsError::EvidenceNotSeen { .. })
    ));
    ops.view_evidence(&w, 1, 5, NOW_USEC + 61_000_000).unwrap();
    assert_eq!(
        ops.confirm(&mut w, 1, 5, NOW_USEC + 61_000_000).unwrap(),
        AlertState::Confirmed {
            by: ["anna".into(), "bertil".into()]
        }
    );

    // The drone resends the match (its ack was lost): acknowledged at once, logged only once.
    let resend = world_with_match(ops.console.digest().unwrap().0);
    let msg = resend.alerts.get(1, 5).unwrap().message.clone();
    let acks = w.apply(DRONE, &msg, now_s);
    assert!(
        acks.iter()
            .any(|o| matches!(&o.message, MavMessage::UTKIK_ALERT_ACK(a) if a.alert_id == 5)),
        "a stored alert is acknowledged at once: {acks:?}"
    );
    ops.store_new_alerts(&mut w, NOW_USEC + 62_000_000).unwrap();
    assert_eq!(count(dir.path(), |e| matches!(e, AuditEvent::PossibleMatch { .. })), 1);
    assert_eq!(count(dir.path(), |e| matches!(e, AuditEvent::AlertStored { .. })), 2);

    // A new command does not reuse a request id the drone has seen.
    login(&mut ops, "cecilia");
    let next = match ops
        .authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 63_000_000)
        .unwrap()
    {
        MavMessage::UTKIK_AUTHZ_COMMAND(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(
        next.request_id > stop_request_id,
        "{} after {stop_request_id}",
        next.request_id
    );
}

/// Control: without the restore, the restarted station has nothing, which is what the rule
/// prevents (a half-confirmed match could be confirmed by anna alone, the STOP is forgotten).
#[test]
fn without_restore_the_station_would_forget() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ops = ops_in(dir.path(), demo_trust());
        let digest = ops
            .load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
            .unwrap();
        let mut w = station_with_match(digest.0);
        assert_eq!(ops.store_new_alerts(&mut w, NOW_USEC).unwrap(), 1);
    }
    let w = World::new();
    assert!(w.alerts.get(1, 5).is_none());
    assert_eq!(w.commands.pending().count(), 0);
    // ... and restoring brings the stored match back.
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut w = World::new();
    restore(&mut ops, &mut w).unwrap();
    assert!(w.alerts.get(1, 5).is_some());
}

/// The drone refuses an ACTIVATE the station's mirror had already carried out (its own rules, a
/// missing signature): the mirror stops again, so the crew can activate once more, the use the
/// station logged as started is logged as ended, and a restarted station agrees.
#[test]
fn a_start_the_drone_refused_stops_the_mirror_before_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let authz = repo("assets/authz/person-search.authz.json");
    {
        let mut ops = ops_in(dir.path(), demo_trust());
        ops.load_authorization(&authz, NOW_USEC).unwrap();
        let mut w = World::new();
        login(&mut ops, "cecilia");
        let activate = match ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC).unwrap() {
            MavMessage::UTKIK_AUTHZ_COMMAND(c) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(ops.console.state_of(1).unwrap(), AuthzState::Active);
        let mut refused = status(activate.request_id);
        refused.last_result = MavResult::MAV_RESULT_DENIED;
        w.commands.apply_status(1, &refused, NOW_USEC as f64 / 1e6 + 1.0);
        for e in w.commands.take_events() {
            if let CommandEvent::Settled(c) = e {
                ops.record_command_settled(&c, NOW_USEC + 1_000_000).unwrap();
            }
        }
        assert_eq!(ops.console.state_of(1).unwrap(), AuthzState::Stopped);
        assert!(
            events(dir.path())
                .iter()
                .any(|e| matches!(e, AuditEvent::UseEnded { .. })),
            "the use the station logged as started is logged as ended"
        );
    }
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&authz, NOW_USEC + 2_000_000).unwrap();
    let mut w = World::new();
    let summary = restore(&mut ops, &mut w).unwrap();
    assert!(summary.problems.is_empty(), "{}", summary.line());
    assert_eq!(ops.console.state_of(1).unwrap(), AuthzState::Stopped);
    // ... and the crew can activate again.
    login(&mut ops, "cecilia");
    ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC + 3_000_000)
        .unwrap();
    assert_eq!(ops.console.state_of(1).unwrap(), AuthzState::Active);
}

/// A station commanding two drones (issue 19): each has its own use, and a restart gives each
/// back its own state and the start time its use is ended with.
#[test]
fn each_vehicles_use_comes_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let authz = repo("assets/authz/person-search.authz.json");
    {
        let mut ops = ops_in(dir.path(), demo_trust());
        ops.load_authorization(&authz, NOW_USEC).unwrap();
        let mut w = World::new();
        login(&mut ops, "cecilia");
        ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC).unwrap();
        ops.authz_command(&mut w, AuthzAction::Activate, 2, NOW_USEC + 1_000_000)
            .unwrap();
        ops.authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 2_000_000)
            .unwrap();
        assert_eq!(ops.console.state_of(1), Some(AuthzState::Stopped));
        assert_eq!(
            ops.console.state_of(2),
            Some(AuthzState::Active),
            "stopping 1 left 2 running"
        );
        // kill -9.
    }
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&authz, NOW_USEC + 3_000_000).unwrap();
    let mut w = World::new();
    let summary = restore(&mut ops, &mut w).unwrap();
    assert!(summary.problems.is_empty(), "{}", summary.line());
    assert_eq!(summary.lifecycle_steps, 3);
    assert_eq!(ops.console.state_of(1), Some(AuthzState::Stopped));
    assert_eq!(ops.console.state_of(2), Some(AuthzState::Active));
    assert_eq!(ops.console.state_of(3), None, "never commanded");
    // Drone 2's use ends with the start it had before the restart.
    login(&mut ops, "cecilia");
    ops.authz_command(&mut w, AuthzAction::Stop, 2, NOW_USEC + 4_000_000)
        .unwrap();
    let ended: Vec<(u64, u64)> = events(dir.path())
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::UseEnded {
                started_usec,
                ended_usec,
                ..
            } => Some((started_usec, ended_usec)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        [
            (NOW_USEC, NOW_USEC + 2_000_000),
            (NOW_USEC + 1_000_000, NOW_USEC + 4_000_000)
        ]
    );
}

/// A log written before stations named the vehicle in `AuthzCommand` records (a single-drone
/// station's): the `AuthzCommandSent` record after each names it, and the restart uses that.
#[test]
fn an_older_log_without_vehicles_in_its_command_records_restores_by_the_sent_frames() {
    let dir = tempfile::tempdir().unwrap();
    let authz = repo("assets/authz/person-search.authz.json");
    {
        let mut ops = ops_in(dir.path(), demo_trust());
        let digest = ops.load_authorization(&authz, NOW_USEC).unwrap();
        let senior = utkik_shared::authz::Actor::new("cecilia", [utkik_shared::authz::Role::SeniorOfficer]);
        let out = ops
            .console
            .command(&senior, AuthzAction::Activate, 2, NOW_USEC)
            .unwrap();
        // The records as the station wrote them then: no `system_id` in the command record.
        ops.audit
            .record(
                NOW_USEC,
                AuditEvent::AuthzCommand {
                    command: "ACTIVATE".into(),
                    operator_id: "cecilia".into(),
                    authorization_digest: Some(digest),
                    accepted: true,
                    reason: String::new(),
                    system_id: None,
                },
            )
            .unwrap();
        let header = mavlink_core::MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 0,
        };
        let frame = utkik_shared::mavframe::encode_v2(header, &MavMessage::UTKIK_AUTHZ_COMMAND(out.message.clone()));
        ops.audit
            .record(
                NOW_USEC,
                AuditEvent::AuthzCommandSent {
                    system_id: 2,
                    request_id: out.message.request_id,
                    command: "ACTIVATE".into(),
                    frame_hex: hex::encode(frame),
                },
            )
            .unwrap();
        let line = std::fs::read_to_string(dir.path().join(utkik_ground::audit_log::AUDIT_FILE)).unwrap();
        let command_line = line.lines().find(|l| l.contains(r#""kind":"authz_command""#)).unwrap();
        assert!(
            !command_line.contains("system_id"),
            "written as an older station did: {command_line}"
        );
    }
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&authz, NOW_USEC + 1_000_000).unwrap();
    let summary = restore(&mut ops, &mut World::new()).unwrap();
    assert!(summary.problems.is_empty(), "{}", summary.line());
    assert_eq!(ops.console.state_of(2), Some(AuthzState::Active));
    assert_eq!(ops.console.state_of(1), None);
}
