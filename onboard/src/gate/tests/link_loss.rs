//! LAW.md 2.4, the link-loss stop: with no valid signed frame from the ground for
//! `gate.link_loss_stop_s`, no face template is computed (the template model's call counter
//! does not move), UTKIK_AUTHZ_STATUS says LINK_LOST and the audit log records it; only a
//! valid signed frame, inside the window, resumes identification. Time is injected.

use utkik_shared::dialect::{UtkikAuthzState, UtkikAuthzSuspension};

use super::*;

const S: u64 = 1_000_000;
const LINK_LOST: u8 = UtkikAuthzSuspension::UTKIK_AUTHZ_SUSPENSION_LINK_LOST.bits() as u8;

/// The designated person's face with no track, so every call looks at it afresh (a track
/// that matched once is not looked at again).
fn untracked(faces: &[GateFace]) -> Vec<GateFace> {
    faces
        .iter()
        .map(|f| GateFace {
            track_id: None,
            ..f.clone()
        })
        .collect()
}

fn status(gate: &mut Gate, now_usec: u64) -> utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA {
    match gate.status_message(now_usec, None) {
        MavMessage::UTKIK_AUTHZ_STATUS(s) => s,
        other => panic!("{other:?}"),
    }
}

fn heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(utkik_shared::dialect::HEARTBEAT_DATA {
        mavtype: utkik_shared::dialect::MavType::MAV_TYPE_GCS,
        ..Default::default()
    })
}

fn suspensions(gate: &Gate) -> (usize, usize) {
    let events = audit_events(gate);
    (
        events
            .iter()
            .filter(|e| matches!(e, AuditEvent::IdentificationSuspended { site, .. } if site == "onboard"))
            .count(),
        events
            .iter()
            .filter(|e| matches!(e, AuditEvent::IdentificationResumed { site, .. } if site == "onboard"))
            .count(),
    )
}

#[test]
fn link_cut_during_an_active_use_stops_template_computation_within_the_bound() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let faces = untracked(&faces);
    // The ground is heard every second for a while: identification runs.
    for t in 1..=3 {
        hear_ground(&mut gate, NOW_USEC + t * S);
        let calls = gate.template_model_calls();
        gate.process(NOW_USEC + t * S, &frame, &faces);
        assert_eq!(gate.template_model_calls(), calls + 1, "link alive at {t} s");
    }
    assert_eq!(status(&mut gate, NOW_USEC + 3 * S).suspended, 0);
    // The link is cut after the frame of 3 s: up to 13 s it still runs, from 13 s it stops.
    let calls = gate.template_model_calls();
    gate.process(NOW_USEC + 13 * S - 1, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1, "inside the bound");
    let calls = gate.template_model_calls();
    for t in [13 * S, 14 * S, 60 * S] {
        let out = gate.process(NOW_USEC + t, &frame, &faces);
        assert!(out.alerts.is_empty());
        assert_eq!(
            gate.template_model_calls(),
            calls,
            "no template {} s after the cut",
            t / S - 3
        );
    }
    let s = status(&mut gate, NOW_USEC + 60 * S);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE, "the use goes on");
    assert_eq!(s.suspended, LINK_LOST);
    assert_eq!(s.link_silent, 57);
    assert_eq!(s.link_losses, 1);
    assert_eq!(suspensions(&gate), (1, 0), "the suspension is logged once");

    // Frames that are not the ground do not resume it: unsigned, another key, or an old
    // recording of the ground's own heartbeat replayed now.
    let unsigned = utkik_shared::mavframe::encode_v2(GROUND, &heartbeat());
    let wrong = LinkKey {
        link_id: 1,
        secret_key: [0x5a; 32],
    };
    let other_key = utkik_shared::link_signing::sign_frame(
        &wrong,
        GROUND,
        &heartbeat(),
        utkik_shared::link_signing::signing_timestamp(NOW_USEC + 61 * S),
    );
    let recorded = utkik_shared::link_signing::sign_frame(
        &link_key(),
        GROUND,
        &heartbeat(),
        utkik_shared::link_signing::signing_timestamp(NOW_USEC + 2 * S),
    );
    for f in [unsigned, other_key, recorded] {
        gate.handle_ground_frame(&f, NOW_USEC + 61 * S);
        gate.process(NOW_USEC + 61 * S, &frame, &faces);
        assert_eq!(gate.template_model_calls(), calls);
    }
    assert_eq!(status(&mut gate, NOW_USEC + 61 * S).suspended, LINK_LOST);

    // The ground again: it resumes by itself, logged, and the status says so at once.
    let out = hear_ground(&mut gate, NOW_USEC + 62 * S);
    assert!(
        out.messages
            .iter()
            .any(|m| matches!(m, MavMessage::UTKIK_AUTHZ_STATUS(s) if s.suspended == 0)),
        "status sent on the change"
    );
    gate.process(NOW_USEC + 62 * S, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1, "resumed");
    assert_eq!(suspensions(&gate), (1, 1));
    assert_eq!(status(&mut gate, NOW_USEC + 62 * S).suspended, 0);
    verify_file(gate.audit_path(), &VerifyOptions::default()).unwrap();
}

#[test]
fn an_alert_ack_or_a_command_keeps_the_link_alive_too() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let faces = untracked(&faces);
    let ack = MavMessage::UTKIK_ALERT_ACK(utkik_shared::dialect::UTKIK_ALERT_ACK_DATA {
        target_system: 1,
        target_component: 191,
        alert_id: 7,
        kind: utkik_shared::dialect::UtkikAlertKind::UTKIK_ALERT_KIND_BIOMETRIC_MATCH,
    });
    let signed_ack = utkik_shared::link_signing::sign_frame(
        &link_key(),
        GROUND,
        &ack,
        utkik_shared::link_signing::signing_timestamp(NOW_USEC + 9 * S),
    );
    gate.handle_ground_frame(&signed_ack, NOW_USEC + 9 * S);
    let calls = gate.template_model_calls();
    gate.process(NOW_USEC + 18 * S, &frame, &faces);
    assert_eq!(
        gate.template_model_calls(),
        calls + 1,
        "the ack of 9 s keeps it alive until 19 s"
    );
    gate.process(NOW_USEC + 19 * S, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1, "and not longer");
}

#[test]
fn resuming_needs_the_link_and_the_window() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let faces = untracked(&faces);
    gate.tick(NOW_USEC + 20 * S);
    assert_eq!(suspensions(&gate), (1, 0));
    // The link comes back, but the face is outside the area: nothing is computed there.
    hear_ground(&mut gate, NOW_USEC + 21 * S);
    let calls = gate.template_model_calls();
    gate.process(NOW_USEC + 21 * S, &frame, &with_ground(&faces, Some(outside())));
    assert_eq!(gate.template_model_calls(), calls, "outside the area");
    gate.process(NOW_USEC + 22 * S, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1, "inside, link back");
    // Lost again, and the window ends while it is lost: the ground's return resumes nothing.
    gate.tick(NOW_USEC + 40 * S);
    assert_eq!(suspensions(&gate), (2, 1));
    gate.tick(DEMO_UNTIL_USEC);
    assert_eq!(gate.state(), Some(AuthzState::Expired));
    hear_ground(&mut gate, DEMO_UNTIL_USEC + S);
    let calls = gate.template_model_calls();
    gate.process(DEMO_UNTIL_USEC + S, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls);
    assert_eq!(suspensions(&gate), (2, 1), "no resumption after the window");
    let ended = audit_events(&gate).into_iter().any(|e| {
        matches!(
            e,
            AuditEvent::UseEnded {
                reason: utkik_shared::audit::UseEndReason::WindowEnded,
                ..
            }
        )
    });
    assert!(ended, "the use ended with the window");
}

#[test]
fn a_link_loss_stop_outside_its_bound_stops_start_up() {
    let fx = permit();
    for bad in [0, 1, 61, 3_600] {
        let setup = GateSetup {
            link_loss_stop_s: bad,
            ..fx.setup.clone()
        };
        let e = Gate::open(&setup, NOW_USEC).err().expect("refused").to_string();
        assert!(e.contains("gate.link_loss_stop_s") && e.contains("2..=60"), "{e}");
    }
    // The bound is what the rule runs with: at 2 s a use stops 2 s after the last frame.
    let setup = GateSetup {
        link_loss_stop_s: 2,
        ..fx.setup.clone()
    };
    let mut gate = Gate::open(&setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let faces = untracked(&faces);
    let calls = gate.template_model_calls();
    gate.process(NOW_USEC + 2 * S - 1, &frame, &faces);
    gate.process(NOW_USEC + 2 * S, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1);
}

/// The wiring on real sockets: the pipeline's out link hands every signed frame to the gate;
/// the status says LINK_LOST a bound after the last frame and clears when a signed HEARTBEAT
/// comes in (the real clock here, a 2 s bound).
#[test]
fn pipeline_reports_link_lost_and_resumes_on_a_signed_heartbeat() {
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::config::Config;
    use crate::shutdown::Shutdown;
    use utkik_shared::mavframe::FrameDecoder;

    let fx = permit();
    let setup = GateSetup {
        link_loss_stop_s: 2,
        ..fx.setup.clone()
    };
    let gate = Gate::open(&setup, crate::ingest::time::unix_now_usec()).unwrap();
    let digest = *gate.digest().as_bytes();
    // Given now by the ground's clock: the drone refuses a user-signed command older than 10 min.
    let activate = command_at(
        &gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        31,
        crate::ingest::time::unix_now_usec(),
    );
    let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
    ground.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let drone_port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut config = Config::default();
    config.video.source = "test://ball".into();
    config.telemetry.endpoint = "udp://127.0.0.1:0".into();
    config.link.bind = drone_port.to_string();
    config.link.ground = ground.local_addr().unwrap().to_string();
    config.privacy.restream = false;
    config.detect.faces = false;
    config.detect.plates = false;
    let shutdown = Shutdown::new();
    let sd = shutdown.clone();
    let handle =
        std::thread::spawn(move || crate::pipeline::run_with_gate(&config, Vec::new(), Some(gate), sd, Arc::default()));
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 2048];
    let mut wait_status = |what: &str, want: &dyn Fn(&utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let Ok((n, _)) = ground.recv_from(&mut buf) else {
                continue;
            };
            for d in decoder.push_messages(&buf[..n]) {
                if let MavMessage::UTKIK_AUTHZ_STATUS(s) = d.message
                    && want(&s)
                {
                    return (s, Instant::now());
                }
            }
        }
        panic!("no UTKIK_AUTHZ_STATUS with {what} within 20 s");
    };
    wait_status("the digest", &|s| s.authorization_digest == digest);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(&sign_frame(&link_key(), GROUND, &activate), drone_port)
        .unwrap();
    let sent = Instant::now();
    let (s, _) = wait_status("ACTIVE", &|s| s.last_request_id == 31);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE);
    assert_eq!(s.suspended, 0, "just heard");
    let (_, lost_at) = wait_status("LINK_LOST", &|s| s.suspended == LINK_LOST);
    let after = lost_at - sent;
    eprintln!("LINK_LOST reported {after:?} after the last frame (bound 2 s)");
    assert!(after >= Duration::from_millis(1900), "not before the bound: {after:?}");
    // Exact at the bound with an injected clock (above); here real threads on a loaded machine.
    assert!(after < Duration::from_millis(6000), "promptly after it: {after:?}");
    sender
        .send_to(&sign_frame(&link_key(), GROUND, &heartbeat()), drone_port)
        .unwrap();
    let (s, _) = wait_status("resumed", &|s| s.suspended == 0);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE);
    assert_eq!(s.link_losses, 1);
    shutdown.trigger();
    handle.join().unwrap().unwrap();
}
