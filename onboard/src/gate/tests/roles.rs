//! LAW.md 4.5 on the drone: a command starts identification only with the signature of a user
//! whose key and role the drone's own trust store holds; the link signature alone (the ground
//! station software) is not enough, and the drone adds no role itself. STOP always stops.
//! Each test fails when the rule is broken: the template model's call counter and the lifecycle
//! state show whether identification started.

use utkik_shared::authz::command_signature::{SigningKey, cosign_command, sign_command, user_id_bytes};
use utkik_shared::dialect::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED};

use super::*;

/// The bare command (no user signature) at `time_usec` from `operator`.
fn bare(
    gate: &Gate,
    command: UtkikAuthzCommand,
    request_id: u16,
    time_usec: u64,
    operator: &str,
) -> UTKIK_AUTHZ_COMMAND_DATA {
    UTKIK_AUTHZ_COMMAND_DATA {
        time_usec,
        target_system: 1,
        target_component: 191,
        request_id,
        command,
        authorization_digest: *gate.digest().as_bytes(),
        operator_id: user_id_bytes(operator).into(),
        ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
    }
}

fn demo_key(user: &str) -> SigningKey {
    SigningKey::from_bytes(&utkik_shared::demo::user_signing_seed(user).unwrap())
}

fn send(gate: &mut Gate, cmd: UTKIK_AUTHZ_COMMAND_DATA, now_usec: u64) -> GateOutput {
    let frame = sign_frame(&link_key(), GROUND, &MavMessage::UTKIK_AUTHZ_COMMAND(cmd));
    gate.handle_command_frame(&frame, now_usec)
}

/// Reasons of the refused commands in the onboard audit log.
fn refusals(gate: &Gate) -> Vec<String> {
    audit_events(gate)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::AuthzCommand {
                accepted: false,
                reason,
                ..
            } => Some(reason),
            _ => None,
        })
        .collect()
}

fn nothing_runs(gate: &mut Gate) {
    assert_eq!(gate.state(), Some(AuthzState::Pending), "nothing activated");
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    gate.process(NOW_USEC + 1, &frame, &faces);
    assert_eq!(gate.template_model_calls(), 0, "no template computed");
}

#[test]
fn an_operator_signed_activate_is_refused_by_the_drone() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let mut cmd = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        1,
        NOW_USEC,
        "anna",
    );
    sign_command(&mut cmd, &demo_key("anna"));
    let out = send(&mut gate, cmd, NOW_USEC);
    assert_eq!(last_result(&out), (1, MAV_RESULT_DENIED));
    nothing_runs(&mut gate);
    let r = refusals(&gate);
    assert!(
        r[0].contains("senior officer or two different operators") && r[0].contains("`anna` (Operator)"),
        "{r:?}"
    );
}

#[test]
fn link_signed_commands_without_a_valid_user_signature_or_with_the_wrong_role_are_refused() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    // Link-signed, no user signature (what the ground sent before, or an attacker with the link
    // key alone), naming a senior officer.
    let no_sig = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        1,
        NOW_USEC,
        "cecilia",
    );
    assert_eq!(last_result(&send(&mut gate, no_sig, NOW_USEC)), (1, MAV_RESULT_DENIED));
    // Forged: signed with operator anna's key, naming senior officer cecilia.
    let mut forged = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        2,
        NOW_USEC,
        "cecilia",
    );
    sign_command(&mut forged, &demo_key("anna"));
    assert_eq!(last_result(&send(&mut gate, forged, NOW_USEC)), (2, MAV_RESULT_DENIED));
    // A key the drone's trust store does not hold (a user added at the ground only).
    let mut unknown = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        3,
        NOW_USEC,
        "mallory",
    );
    sign_command(&mut unknown, &SigningKey::from_bytes(&[7; 32]));
    assert_eq!(last_result(&send(&mut gate, unknown, NOW_USEC)), (3, MAV_RESULT_DENIED));
    // Wrong role: the pilot (a known crew member) activating.
    let mut pilot = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        4,
        NOW_USEC,
        "david",
    );
    sign_command(&mut pilot, &demo_key("david"));
    assert_eq!(last_result(&send(&mut gate, pilot, NOW_USEC)), (4, MAV_RESULT_DENIED));
    nothing_runs(&mut gate);
    let r = refusals(&gate);
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(r[0].contains("no user signature"), "{r:?}");
    assert!(r[1].contains("not a valid signature of user `cecilia`"), "{r:?}");
    assert!(
        r[2].contains("`mallory` has no key in the drone's trust store"),
        "{r:?}"
    );
    assert!(r[3].contains("`david` (Pilot)"), "{r:?}");
    // Control: the senior officer's own signature activates.
    let mut good = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        5,
        NOW_USEC + 2,
        "cecilia",
    );
    sign_command(&mut good, &demo_key("cecilia"));
    assert_eq!(
        last_result(&send(&mut gate, good, NOW_USEC + 2)),
        (5, MAV_RESULT_ACCEPTED)
    );
    assert_eq!(gate.state(), Some(AuthzState::Active));
    assert_eq!(gate.template_model_calls(), 1, "enrolment of the designated person");
}

/// URGENT_START by an operator: the drone used to add the senior-officer role itself.
#[test]
fn urgent_start_needs_a_senior_officers_signature() {
    let fx = urgent();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    for (request_id, user) in [(1, "anna"), (2, "david")] {
        let mut cmd = bare(
            &gate,
            UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
            request_id,
            NOW_USEC,
            user,
        );
        sign_command(&mut cmd, &demo_key(user));
        assert_eq!(
            last_result(&send(&mut gate, cmd, NOW_USEC)),
            (request_id, MAV_RESULT_DENIED)
        );
    }
    nothing_runs(&mut gate);
    assert!(
        refusals(&gate)
            .iter()
            .all(|r| r.contains("URGENT_START needs a senior officer"))
    );
    let mut cmd = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        3,
        NOW_USEC + 1,
        "cecilia",
    );
    sign_command(&mut cmd, &demo_key("cecilia"));
    assert_eq!(
        last_result(&send(&mut gate, cmd, NOW_USEC + 1)),
        (3, MAV_RESULT_ACCEPTED)
    );
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    // The record names the senior officer the trust store vouches for.
    assert!(
        audit_events(&gate).iter().any(
            |e| matches!(e, AuditEvent::UrgentStarted { senior_officer_id, .. } if senior_officer_id == "cecilia")
        )
    );
}

#[test]
fn two_operators_activate_one_operator_twice_does_not() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    // Anna co-signing her own proposal.
    let mut twice = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        1,
        NOW_USEC,
        "anna",
    );
    sign_command(&mut twice, &demo_key("anna"));
    cosign_command(&mut twice, "anna", &demo_key("anna"));
    assert_eq!(last_result(&send(&mut gate, twice, NOW_USEC)), (1, MAV_RESULT_DENIED));
    // Anna's key posing as bertil's co-signature.
    let mut posing = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        2,
        NOW_USEC,
        "anna",
    );
    sign_command(&mut posing, &demo_key("anna"));
    cosign_command(&mut posing, "bertil", &demo_key("anna"));
    assert_eq!(last_result(&send(&mut gate, posing, NOW_USEC)), (2, MAV_RESULT_DENIED));
    nothing_runs(&mut gate);
    let r = refusals(&gate);
    assert!(r[0].contains("cannot co-sign their own command"), "{r:?}");
    assert!(r[1].contains("`second_signature`"), "{r:?}");
    // Anna proposes, bertil co-signs (some minutes later, after signing in at the station).
    let mut two = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        3,
        NOW_USEC + 1,
        "anna",
    );
    sign_command(&mut two, &demo_key("anna"));
    cosign_command(&mut two, "bertil", &demo_key("bertil"));
    let at = NOW_USEC + 3 * 60 * 1_000_000;
    assert_eq!(last_result(&send(&mut gate, two, at)), (3, MAV_RESULT_ACCEPTED));
    assert_eq!(gate.state(), Some(AuthzState::Active));
    assert!(
        audit_events(&gate)
            .iter()
            .any(|e| matches!(e, AuditEvent::UseStarted { started_by, .. } if started_by == "anna + bertil"))
    );
}

#[test]
fn stop_always_stops_whatever_the_user_signature() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let mut t = NOW_USEC;
    let mut request_id = 0;
    let stops: [(&str, Option<SigningKey>); 4] = [
        // No user signature: only the link vouches for it.
        ("cecilia", None),
        // An auditor (no crew role), a stranger, a forged signature.
        ("eva", Some(SigningKey::from_bytes(&[5; 32]))),
        ("mallory", Some(SigningKey::from_bytes(&[6; 32]))),
        ("bertil", Some(demo_key("anna"))),
    ];
    for (user, key) in stops {
        request_id += 1;
        t += 10_000_000;
        let out = send_signed(
            &mut gate,
            UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
            request_id,
            t,
        );
        assert_eq!(last_result(&out), (request_id, MAV_RESULT_ACCEPTED));
        assert_eq!(gate.state(), Some(AuthzState::Active));
        request_id += 1;
        t += 10_000_000;
        let mut stop = bare(&gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP, request_id, t, user);
        if let Some(k) = key {
            sign_command(&mut stop, &k);
        }
        let out = send(&mut gate, stop, t);
        assert_eq!(last_result(&out), (request_id, MAV_RESULT_ACCEPTED), "{user}");
        assert_eq!(gate.state(), Some(AuthzState::Stopped), "{user}");
        let calls = gate.template_model_calls();
        let (frame, faces) = faces_in_scene(0, Some(inside()));
        gate.process(t + 1, &frame, &faces);
        assert_eq!(gate.template_model_calls(), calls, "{user}: stopped means no template");
    }
    // Each such STOP is recorded with why its user signature did not count.
    let stopped_by: Vec<String> = audit_events(&gate)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::AuthzCommand {
                command,
                operator_id,
                accepted: true,
                ..
            } if command.contains("STOP") => Some(operator_id),
            _ => None,
        })
        .collect();
    assert_eq!(stopped_by.len(), 4, "{stopped_by:?}");
    assert!(stopped_by[0].contains("no user signature"), "{stopped_by:?}");
    assert!(
        stopped_by[1].contains("no key in the drone's trust store"),
        "{stopped_by:?}"
    );
    assert!(stopped_by[3].contains("not a valid signature"), "{stopped_by:?}");
}

/// Someone holding the link key wraps the senior officer's earlier ACTIVATE in a new frame
/// after a STOP: the link's replay window does not see a replay (new frame), the user signature
/// is genuine, but the command is older than the last accepted one, or too old.
#[test]
fn an_old_signed_activate_in_a_new_frame_does_not_restart_the_use() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let mut activate = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        1,
        NOW_USEC,
        "cecilia",
    );
    sign_command(&mut activate, &demo_key("cecilia"));
    assert_eq!(
        last_result(&send(&mut gate, activate.clone(), NOW_USEC)),
        (1, MAV_RESULT_ACCEPTED)
    );
    let mut stop_time = NOW_USEC + 5_000_000;
    let mut stop = bare(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP,
        2,
        stop_time,
        "cecilia",
    );
    sign_command(&mut stop, &demo_key("cecilia"));
    assert_eq!(last_result(&send(&mut gate, stop, stop_time)), (2, MAV_RESULT_ACCEPTED));
    assert_eq!(gate.state(), Some(AuthzState::Stopped));
    // The same signed ACTIVATE under another request id would not verify; under its own id it
    // follows the STOP (the drone's last request), so it is not a resend: it is refused as old.
    stop_time += 1_000_000;
    assert_eq!(
        last_result(&send(&mut gate, activate.clone(), stop_time)),
        (1, MAV_RESULT_DENIED)
    );
    assert_eq!(gate.state(), Some(AuthzState::Stopped));
    // Eleven minutes later on a fresh drone (the in-memory order forgotten): too old. The first
    // gate is gone (its audit log has one writer at a time).
    drop(gate);
    let mut fresh = Gate::open(&fx.setup, NOW_USEC + 11 * 60 * 1_000_000).unwrap();
    assert_eq!(
        last_result(&send(&mut fresh, activate, NOW_USEC + 11 * 60 * 1_000_000)),
        (1, MAV_RESULT_DENIED)
    );
    let r = refusals(&fresh);
    assert!(r.last().unwrap().contains("field `time_usec`"), "{r:?}");
}
