//! Urgent use started at the ground station (LAW.md 3.4, issue 16 item 2): the senior officer's
//! draft becomes a document signed with her own key, travels to a drone that verifies it the way
//! the onboard gate does (the shared receiver and `authorize` against the DEMO trust store), and
//! URGENT_START signed by her follows only once the drone has stored it. Refusals (wrong role, a
//! use running, a bad draft, the drone refusing) send nothing and are logged.

mod common;

use std::path::Path;

use common::*;
use utkik_ground::console::Console;
use utkik_ground::state::{Origin, UploadEvent, World};
use utkik_ground::urgent::{UPLOAD_COMMAND, after_upload};
use utkik_shared::audit::AuditEvent;
use utkik_shared::authz::command_signature::verify_command;
use utkik_shared::authz::upload::{Received, UploadReceiver};
use utkik_shared::authz::{AuthzDigest, authorize};
use utkik_shared::dialect::{MavMessage, UtkikAuthzCommand};

const DRONE: Origin = Origin {
    system_id: 1,
    component_id: 191,
    sequence: 0,
};

fn draft(dir: &Path) -> std::path::PathBuf {
    image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
        .save(dir.join("suspect.png"))
        .unwrap();
    let p = dir.join("draft.toml");
    std::fs::write(
        &p,
        r#"
case_reference = "K-1-27"
purpose = "prevent_imminent_threat"
purpose_details = "armed person on the square"
justification = "shots fired minutes ago"
proportionality = "one person, 300 m, two hours"
window_h = 2
[area]
centre = [59.3945, 17.901]
radius_m = 300
[[person]]
subject_id = "suspect-1"
[[person.image]]
path = "suspect.png"
"#,
    )
    .unwrap();
    p
}

/// The drone's side, as `onboard::gate::upload` does it: chunks into the receiver; a complete
/// bundle's document verified against the drone's trust store; the acks back into the world.
/// Returns how many chunks went over.
fn drone_takes(world: &mut World, rx: &mut UploadReceiver, now_s: f64) -> usize {
    let trust = demo_trust();
    let mut n = 0;
    for (sys, m) in world.uploads.due(now_s) {
        assert_eq!(sys, 1);
        let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else {
            panic!("{m:?}")
        };
        n += 1;
        let ack = match rx.chunk(255, &c) {
            Received::Ack(a) => a,
            Received::Complete { upload_id, bytes } => {
                let bundle = utkik_shared::authz::upload::UploadBundle::from_bytes(&bytes).unwrap();
                let outcome = authorize(&bundle.authorization, &trust, NOW_USEC)
                    .map(|v| v.digest())
                    .map_err(|e| e.to_string());
                rx.finish(255, upload_id, &outcome)
            }
        };
        world.apply(DRONE, &MavMessage::UTKIK_UPLOAD_ACK(ack), now_s);
    }
    n
}

#[test]
fn the_senior_officers_urgent_use_reaches_the_drone_and_starts_signed_by_her() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut world = World::new();
    let draft = draft(dir.path());
    login(&mut ops, "cecilia");
    let started = ops.start_urgent(&mut world, &draft, 1, dir.path(), NOW_USEC).unwrap();
    assert_eq!(
        ops.console.digest(),
        Some(started.digest),
        "the station's mirror follows it"
    );
    assert!(started.path.starts_with(dir.path().join("urgent")));
    assert!(started.path.parent().unwrap().join("person-1-image-1.jpg").exists());
    // Nothing but chunks goes out until the drone has stored it.
    let mut rx = UploadReceiver::new(utkik_shared::authz::upload::MAX_BUNDLE_BYTES);
    let mut t = NOW_USEC as f64 / 1e6;
    let mut chunks = 0;
    let mut got = Vec::new();
    for _ in 0..50 {
        chunks += drone_takes(&mut world, &mut rx, t);
        got.extend(world.uploads.take_events());
        if !got.is_empty() {
            break;
        }
        t += 0.05;
    }
    assert!(
        chunks >= started.bundle_bytes / 200,
        "{chunks} chunks for {} bytes",
        started.bundle_bytes
    );
    let [UploadEvent::Stored { digest, .. }] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(*digest, started.digest);
    let (text, send) = after_upload(&mut ops, &mut world, got.remove(0), NOW_USEC + 1_000_000).unwrap();
    let Some((1, MavMessage::UTKIK_AUTHZ_COMMAND(cmd))) = send else {
        panic!("{text}: {send:?}")
    };
    assert_eq!(cmd.command, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START);
    assert_eq!(cmd.authorization_digest, started.digest.0);
    let trust = demo_trust();
    let signers = verify_command(&trust, &cmd).unwrap();
    assert_eq!(
        signers[0].user_id, "cecilia",
        "her own signature, checked as the drone does"
    );
    assert!(text.contains("URGENT_START sent"), "{text}");
    let ev = events(dir.path());
    assert!(ev.iter().any(
        |e| matches!(e, AuditEvent::AuthorizationLoaded { issuer_key_id, .. } if issuer_key_id == "user:cecilia")
    ));
    assert!(
        ev.iter().any(
            |e| matches!(e, AuditEvent::AuthzCommand { command, accepted: true, .. } if command == UPLOAD_COMMAND)
        )
    );
    assert!(ev.iter().any(|e| matches!(e, AuditEvent::AuthzCommandSettled { command, outcome, .. } if command == UPLOAD_COMMAND && outcome == "stored")));
    assert!(ev.iter().any(|e| matches!(e, AuditEvent::UrgentStarted { .. })));

    // While it runs, no other document is started over it.
    let e = ops
        .start_urgent(&mut world, &draft, 1, dir.path(), NOW_USEC + 2_000_000)
        .unwrap_err();
    assert!(e.to_string().contains("identification is running"), "{e}");

    // Refused: the station's copy of the enrolment image goes (counted), the signed document stays.
    let image = started.path.parent().unwrap().join("person-1-image-1.jpg");
    assert!(image.exists());
    for action in [
        utkik_ground::authorization::AuthzAction::UrgentApplied,
        utkik_ground::authorization::AuthzAction::UrgentRefused,
    ] {
        ops.authz_command(&mut world, action, 1, NOW_USEC + 3_000_000).unwrap();
    }
    assert!(!image.exists() && started.path.exists());
    let receipt = events(dir.path())
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt { deleted, .. } => Some(deleted),
            _ => None,
        })
        .unwrap();
    assert!(
        receipt
            .iter()
            .any(|c| c.kind == utkik_shared::authz::UseDataKind::EnrolmentImages && c.count == 1),
        "{receipt:?}"
    );
}

#[test]
fn nobody_but_a_signed_in_senior_officer_starts_one_and_a_bad_draft_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut world = World::new();
    let draft = draft(dir.path());
    // Signed out, an operator, a pilot: refused; nothing goes out.
    assert!(ops.start_urgent(&mut world, &draft, 1, dir.path(), NOW_USEC).is_err());
    for user in ["anna", "david"] {
        login(&mut ops, user);
        let e = ops
            .start_urgent(&mut world, &draft, 1, dir.path(), NOW_USEC)
            .unwrap_err();
        assert!(e.to_string().contains("urgent"), "{user}: {e}");
    }
    assert!(world.uploads.due(NOW_USEC as f64 / 1e6).is_empty());
    // The officer with a draft missing its justification: refused naming it, logged, nothing sent.
    login(&mut ops, "cecilia");
    let text = std::fs::read_to_string(&draft)
        .unwrap()
        .replace("justification = \"shots fired minutes ago\"", "justification = \"\"");
    std::fs::write(&draft, text).unwrap();
    let e = ops
        .start_urgent(&mut world, &draft, 1, dir.path(), NOW_USEC)
        .unwrap_err();
    assert!(e.to_string().contains("`justification`"), "{e}");
    assert!(world.uploads.due(NOW_USEC as f64 / 1e6).is_empty());
    assert_eq!(ops.console.digest(), None, "nothing loaded");
    assert!(events(dir.path()).iter().any(|e| matches!(e, AuditEvent::AuthzCommand { command, accepted: false, reason, .. } if command == UPLOAD_COMMAND && reason.contains("justification"))));
}

#[test]
fn a_drone_that_refuses_the_document_gets_no_urgent_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut world = World::new();
    login(&mut ops, "cecilia");
    ops.start_urgent(&mut world, &draft(dir.path()), 1, dir.path(), NOW_USEC)
        .unwrap();
    let mut rx = UploadReceiver::new(utkik_shared::authz::upload::MAX_BUNDLE_BYTES);
    let t = NOW_USEC as f64 / 1e6;
    // The drone's own trust store does not know cecilia (another force's drone): it refuses.
    for _ in 0..50 {
        for (_, m) in world.uploads.due(t) {
            let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else { panic!() };
            let ack = match rx.chunk(255, &c) {
                Received::Ack(a) => a,
                Received::Complete { upload_id, .. } => rx.finish(
                    255,
                    upload_id,
                    &Err("issuer key user:cecilia is not in the trust store".into()),
                ),
            };
            world.apply(DRONE, &MavMessage::UTKIK_UPLOAD_ACK(ack), t);
        }
    }
    let ev = world.uploads.take_events();
    let [UploadEvent::Failed { .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    let (text, send) = after_upload(&mut ops, &mut world, ev[0].clone(), NOW_USEC).unwrap();
    assert!(send.is_none());
    assert!(
        text.contains("NOT on vehicle 1") && text.contains("not in the trust store"),
        "{text}"
    );
    // Control: a drone storing it under another digest gets no URGENT_START either.
    let expected = ops.console.digest().unwrap();
    let (text, send) = after_upload(
        &mut ops,
        &mut world,
        UploadEvent::Stored {
            system_id: 1,
            digest: AuthzDigest([9; 32]),
            expected,
            started_by: "cecilia".into(),
            decision_id: "x".into(),
            took_s: 1.0,
            chunks_sent: 1,
        },
        NOW_USEC,
    )
    .unwrap();
    assert!(send.is_none(), "{text}");
}

#[test]
fn the_console_starts_it_only_when_the_drones_gate_is_heard() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut world = World::new();
    let draft = draft(dir.path());
    let mut console = Console::default();
    let export = dir.path().join("exports");
    console
        .line("login cecilia", &mut ops, &mut world, &export, NOW_USEC)
        .unwrap();
    console
        .line("pw-cecilia", &mut ops, &mut world, &export, NOW_USEC)
        .unwrap();
    let line = format!("urgent {}", draft.display());
    let e = console
        .line(&line, &mut ops, &mut world, &export, NOW_USEC)
        .unwrap_err();
    assert!(e.to_string().contains("no authorization status"), "{e}");
    world.apply(
        DRONE,
        &MavMessage::UTKIK_AUTHZ_STATUS(utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA::default()),
        NOW_USEC as f64 / 1e6,
    );
    let r = console.line(&line, &mut ops, &mut world, &export, NOW_USEC).unwrap();
    assert!(r.text.contains("sending it to vehicle 1"), "{}", r.text);
    let s = console.line("status", &mut ops, &mut world, &export, NOW_USEC).unwrap();
    assert!(s.text.contains("upload of URGENT-cecilia-"), "{}", s.text);
}

#[test]
fn a_restarted_station_takes_its_urgent_use_back_with_start_and_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let draft = draft(dir.path());
    let digest = {
        let mut ops = ops_in(dir.path(), demo_trust());
        let mut world = World::new();
        login(&mut ops, "cecilia");
        let started = ops.start_urgent(&mut world, &draft, 1, dir.path(), NOW_USEC).unwrap();
        ops.authz_command(
            &mut world,
            utkik_ground::authorization::AuthzAction::UrgentStart,
            1,
            NOW_USEC + 1_000_000,
        )
        .unwrap();
        started.digest
        // kill -9: nothing else happens.
    };
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut world = World::new();
    assert_eq!(ops.console.digest(), None, "no --authorization on the command line");
    let summary = utkik_ground::restore::restore(&mut ops, &mut world).unwrap();
    assert!(summary.reloaded.is_some(), "{}", summary.line());
    assert_eq!(ops.console.digest(), Some(digest));
    let l = ops.console.vehicle(1).unwrap();
    assert!(l.state().allows_identification(), "{:?}", l.state());
    assert!(summary.problems.is_empty(), "{}", summary.line());

    // Control: a station restarted with another document named on its command line keeps it.
    drop(ops); // one writer per audit log
    let mut ops = ops_in(dir.path(), demo_trust());
    let permit = repo("assets/authz/person-search.authz.json");
    let d = ops.load_authorization(&permit, NOW_USEC + 5_000_000).unwrap();
    let summary = utkik_ground::restore::restore(&mut ops, &mut World::new()).unwrap();
    assert!(summary.reloaded.is_none());
    assert_eq!(ops.console.digest(), Some(d));
}
