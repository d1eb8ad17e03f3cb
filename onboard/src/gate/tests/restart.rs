//! Issue 14 item 4, onboard side: the gate comes back from a restart (here: the `Gate` dropped
//! without `shutdown`, as `kill -9` leaves it) in the lifecycle state it had, still holding its
//! matches and crops, and a running use waits for the ground before it identifies again.
//! The real binary killed with SIGKILL is in `onboard/tests/gate_restart.rs`.

use super::*;
use crate::gate::saved_state::GATE_STATE_FILE;

const S: u64 = 1_000_000;

fn restored(gate: &Gate) -> Option<(AuthzState, Option<u64>, u64)> {
    audit_events(gate).into_iter().rev().find_map(|e| match e {
        AuditEvent::GateRestored {
            state,
            urgent_deadline_usec,
            matches_held,
            ..
        } => Some((state, urgent_deadline_usec, matches_held)),
        _ => None,
    })
}

#[test]
fn a_restarted_gate_keeps_its_matches_waits_for_the_ground_and_a_revocation_sticks() {
    use utkik_shared::dialect::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED};
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + S, &frame, &faces);
    assert_eq!(out.alerts.len(), 1, "a possible match with its crop");
    drop(gate); // kill -9: no shutdown, no UseEnded

    let mut gate = Gate::open(&fx.setup, NOW_USEC + 30 * S).unwrap();
    assert_eq!(gate.state(), Some(AuthzState::Active), "the use goes on");
    assert_eq!(gate.matches_held(), 1, "the match and its crop are still known");
    assert_eq!(restored(&gate), Some((AuthzState::Active, None, 1)));
    assert!(gate.enrolled_persons() > 0, "re-enrolled at start-up");
    // Not heard since the restart: nothing is identified.
    let moved = |gate: &mut Gate, t: u64, track: u32| {
        let calls = gate.template_model_calls();
        let faces: Vec<GateFace> = faces
            .iter()
            .map(|f| GateFace {
                track_id: Some(track),
                ..f.clone()
            })
            .collect();
        gate.process(t, &frame, &faces);
        gate.template_model_calls() - calls
    };
    assert_eq!(
        moved(&mut gate, NOW_USEC + 31 * S, 10),
        0,
        "restart: waits for the ground"
    );
    hear_ground(&mut gate, NOW_USEC + 32 * S);
    assert_eq!(moved(&mut gate, NOW_USEC + 32 * S, 11), 1, "ground heard: resumes");
    let events = audit_events(&gate);
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AuditEvent::GateRestored { .. } => Some("restored"),
            AuditEvent::IdentificationSuspended { .. } => Some("suspended"),
            AuditEvent::IdentificationResumed { .. } => Some("resumed"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["restored", "suspended", "resumed"]);
    assert_eq!(gate.matches_held(), 2, "the match after the restart (another track)");

    // REVOKE after the restart deletes the crops of both runs, and the receipt counts them.
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
        2,
        NOW_USEC + 40 * S,
    );
    assert_eq!(last_result(&out), (2, MAV_RESULT_ACCEPTED));
    assert_eq!(out.cancelled_alerts.len(), 2);
    assert!(
        std::fs::read_dir(gate.payloads().dir()).unwrap().next().is_none(),
        "no crop left"
    );
    let receipt = audit_events(&gate)
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt { deleted, payloads, .. } => Some((deleted, payloads)),
            _ => None,
        })
        .expect("receipt");
    let count = |k| receipt.0.iter().find(|d| d.kind == k).map(|d| d.count);
    assert_eq!(count(utkik_shared::authz::UseDataKind::Matches), Some(2));
    assert_eq!(count(utkik_shared::authz::UseDataKind::EvidenceCrops), Some(2));
    assert_eq!(receipt.1.len(), 2);
    drop(gate);

    // Revoked stays revoked: an ACTIVATE after the restart is refused.
    let mut gate = Gate::open(&fx.setup, NOW_USEC + 50 * S).unwrap();
    assert_eq!(gate.state(), Some(AuthzState::Revoked));
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        3,
        NOW_USEC + 51 * S,
    );
    assert_eq!(last_result(&out), (3, MAV_RESULT_DENIED));
    assert_eq!(gate.state(), Some(AuthzState::Revoked));
    assert!(!gate.template_model_loaded(), "never loaded after the restart");
    verify_file(gate.audit_path(), &VerifyOptions::default()).expect("one chain across the restarts");

    // Control: a gate that forgot its state would activate again.
    drop(gate);
    std::fs::remove_file(fx.setup.audit_dir.join(GATE_STATE_FILE)).unwrap();
    let mut forgetful = Gate::open(&fx.setup, NOW_USEC + 60 * S).unwrap();
    let out = send_signed(
        &mut forgetful,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        4,
        NOW_USEC + 61 * S,
    );
    assert_eq!(last_result(&out), (4, MAV_RESULT_ACCEPTED));
}

#[test]
fn an_urgent_use_keeps_its_start_and_deadline_and_a_refusal_stays() {
    use utkik_shared::dialect::MavResult::MAV_RESULT_DENIED;
    let fx = urgent();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        1,
        NOW_USEC,
    );
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    drop(gate);

    // Back 20 hours later: the deadline is still start + 24 h, not restart + 24 h.
    let mut gate = Gate::open(&fx.setup, NOW_USEC + 20 * HOUR_USEC).unwrap();
    let deadline = NOW_USEC + 24 * HOUR_USEC;
    assert_eq!(restored(&gate), Some((AuthzState::Urgent, Some(deadline), 0)));
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    hear_ground(&mut gate, deadline - S);
    let calls = gate.template_model_calls();
    gate.process(deadline - S, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1, "before the original deadline");
    hear_ground(&mut gate, deadline);
    let faces2: Vec<GateFace> = faces
        .iter()
        .map(|f| GateFace {
            track_id: Some(50),
            ..f.clone()
        })
        .collect();
    gate.process(deadline, &frame, &faces2);
    assert_eq!(
        gate.template_model_calls(),
        calls + 1,
        "the 24 h ran from the first start"
    );
    assert_eq!(gate.state(), Some(AuthzState::UrgentExpired));

    // Refused: the refusal survives the next restart, and so does the deletion.
    send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED,
        2,
        deadline + S,
    );
    assert_eq!(gate.state(), Some(AuthzState::Refused));
    drop(gate);
    let saved = std::fs::read_to_string(fx.setup.audit_dir.join(GATE_STATE_FILE)).unwrap();
    assert!(saved.contains(r#""state": "refused""#), "{saved}");
    assert!(
        saved.contains(r#""matches": []"#),
        "no match of a refused use is kept: {saved}"
    );
    let mut gate = Gate::open(&fx.setup, deadline + 2 * S).unwrap();
    assert_eq!(gate.state(), Some(AuthzState::Refused));
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        3,
        deadline + 3 * S,
    );
    assert_eq!(last_result(&out), (3, MAV_RESULT_DENIED));
}

#[test]
fn a_resent_command_after_a_restart_is_answered_not_applied_twice() {
    use utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED;
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
        2,
        NOW_USEC + S,
    );
    drop(gate);
    // The status confirming REVOKE was lost with the crash; the ground resends it (re-signed).
    let mut gate = Gate::open(&fx.setup, NOW_USEC + 10 * S).unwrap();
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
        2,
        NOW_USEC + 11 * S,
    );
    assert_eq!(
        last_result(&out),
        (2, MAV_RESULT_ACCEPTED),
        "not 'cannot revoke in state Revoked'"
    );
}

#[test]
fn a_damaged_state_file_stops_start_up_naming_the_file() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE, 1, NOW_USEC);
    drop(gate);
    let path = fx.setup.audit_dir.join(GATE_STATE_FILE);
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 5]).unwrap();
    let e = Gate::open(&fx.setup, NOW_USEC + S).err().expect("refused").to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
}

/// A frame not signed with the link key is refused and answered, but it does not become "the
/// command handled last" (in memory or in the saved state): the genuine command with the same
/// request id is applied, not answered as a resend of the forgery.
#[test]
fn a_forged_frame_with_the_next_request_id_does_not_block_the_genuine_command() {
    use utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED;
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let wrong = LinkKey {
        link_id: 1,
        secret_key: [0x5a; 32],
    };
    let revoke = command_at(&gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE, 2, NOW_USEC + S);
    let out = gate.handle_command_frame(&sign_frame(&wrong, GROUND, &revoke), NOW_USEC + S);
    assert_eq!(
        last_result(&out),
        (1, MAV_RESULT_ACCEPTED),
        "the forgery is answered with the last authenticated command's status, never its own id: \
         a station waiting for request 2 is not told the drone refused it"
    );
    drop(gate); // also across a restart
    let mut gate = Gate::open(&fx.setup, NOW_USEC + 2 * S).unwrap();
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
        2,
        NOW_USEC + 3 * S,
    );
    assert_eq!(last_result(&out), (2, MAV_RESULT_ACCEPTED));
    assert_eq!(
        gate.state(),
        Some(AuthzState::Revoked),
        "applied, not taken for a resend"
    );
}
