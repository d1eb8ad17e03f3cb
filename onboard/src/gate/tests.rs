//! The LAW.md rules the gate enforces, each as a test that fails when the rule
//! is broken. Real models (MTCNN, the face-template ONNX), the real signed demo
//! authorization and link key, and faces rendered by the simulator from real
//! photographs: the designated person (`astronaut.png`, face index 0) and
//! another real person (sample1.jpg, face index 1).

use std::path::{Path, PathBuf};

use glam::DVec3;
use mavlink_core::MavHeader;
use utkik_shared::audit::record::decode_record;
use utkik_shared::audit::{AuditEvent, VerifyOptions, verify_file};
use utkik_shared::authz::{AuthzState, IssuerKind, IssuerSigningKey, SignedAuthorization, TrustStore, UrgentDecision};
use utkik_shared::dialect::{MavMessage, UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand};
use utkik_shared::geo::GeoPoint;
use utkik_sim::render::{RenderOptions, render};

use super::*;
use crate::detect::faces::{FaceConfig, FaceDetector};
use crate::frame::RgbFrame;
use crate::testing::{close_up_camera, close_up_scene};
use crate::track::BoxPx;

/// 2026-06-01T00:00:00Z, inside the demo authorization's window.
const NOW_USEC: u64 = 1_780_272_000_000_000;
/// End of the demo window (2028-01-01T00:00:00Z).
const DEMO_UNTIL_USEC: u64 = 1_830_297_600_000_000;
const HOUR_USEC: u64 = 3_600_000_000;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/authz")
}

fn inside() -> GeoPoint {
    GeoPoint::new(59.3945, 17.901, 25.0)
}

fn outside() -> GeoPoint {
    GeoPoint::new(59.40, 17.901, 25.0)
}

struct Fixture {
    _dir: tempfile::TempDir,
    setup: GateSetup,
}

/// The DEMO link key as a key file must be: owner-only (the committed asset is 0644).
fn demo_link_key_file(dir: &Path) -> PathBuf {
    let path = dir.join("DEMO-link.key.json");
    utkik_shared::secret_file::write_secret(&path, utkik_shared::demo::LINK_KEY_JSON).unwrap();
    path
}

fn setup_in(dir: &Path, authorization: PathBuf, trust_store: PathBuf) -> GateSetup {
    GateSetup {
        authorization: Some(authorization),
        trust_store,
        link_key: demo_link_key_file(dir),
        audit_dir: dir.join("audit"),
        volatile_dir: dir.join("volatile"),
        // The shipped threshold (what the drone runs with), not dlib's looser 0.6.
        match_distance: utkik_shared::face::template::MATCH_DISTANCE,
        cache: utkik_models::ModelCache::locate().expect("model cache"),
        system_id: 1,
        component_id: 191,
        link_loss_stop_s: utkik_shared::authz::DEFAULT_LINK_LOSS_STOP_S,
    }
}

/// The signed demo permit (person search, Tensta torg).
fn permit() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let setup = setup_in(
        dir.path(),
        assets().join("person-search.authz.json"),
        assets().join("demo-trust-store.json"),
    );
    Fixture { _dir: dir, setup }
}

/// An urgent use of the same search, started by senior officer `kalle`, its
/// window from an hour before [`NOW_USEC`] for three days (so the 24 h deadline
/// is what ends it).
fn urgent() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let demo =
        SignedAuthorization::from_json(&std::fs::read(assets().join("person-search.authz.json")).unwrap()).unwrap();
    let mut doc = demo.document.clone();
    doc.decision_id = "TEST-URGENT-1".into();
    doc.issuer.kind = IssuerKind::SeniorOfficer;
    doc.issuer.name = "kalle".into();
    doc.issuer.key_id = "test-senior".into();
    doc.urgent = Some(UrgentDecision {
        senior_officer_id: "kalle".into(),
        justification: "child missing, last seen on the square ten minutes ago".into(),
    });
    doc.fria_reference = "pending".into();
    doc.eu_database_registration = "pending".into();
    doc.window.from_usec = NOW_USEC - HOUR_USEC;
    doc.window.until_usec = NOW_USEC + 72 * HOUR_USEC;
    doc.issued_usec = NOW_USEC - HOUR_USEC;
    let key = IssuerSigningKey::from_json(
        br#"{"key_id":"test-senior","kind":"senior_officer","holder":"kalle","seed_hex":"0808080808080808080808080808080808080808080808080808080808080808"}"#,
    )
    .unwrap();
    // The DEMO crew's keys (who signs commands) and the test senior officer's issuer key.
    let mut trust = TrustStore::from_json(utkik_shared::demo::TRUST_STORE_JSON).unwrap();
    trust.insert(key.trusted_key()).unwrap();
    let signed = SignedAuthorization::sign(doc, &key.key);
    let authz = dir.path().join("urgent.authz.json");
    let trust_path = dir.path().join("trust.json");
    std::fs::write(&authz, signed.to_json_pretty()).unwrap();
    std::fs::write(&trust_path, trust.to_json_pretty()).unwrap();
    let setup = setup_in(dir.path(), authz, trust_path);
    Fixture { _dir: dir, setup }
}

/// The close-up street scene with the person's face from face imagery index
/// `face_index` (0: astronaut.png, the designated person; 1: a person of
/// sample1.jpg), its faces found by our MTCNN.
fn faces_in_scene(face_index: usize, ground: Option<GeoPoint>) -> (RgbFrame, Vec<GateFace>) {
    let mut scene = close_up_scene();
    scene.people[0].face.index = face_index;
    let f = render(
        &scene,
        &close_up_camera(&scene, DVec3::new(0.0, -6.0, 2.5)),
        &RenderOptions {
            noise_amplitude: 4,
            motion_blur_px: None,
            seed: 1,
        },
    );
    let frame = RgbFrame::new(f.width, f.height, f.rgb, NOW_USEC).unwrap();
    let cache = utkik_models::ModelCache::locate().unwrap();
    let mut det = FaceDetector::new(&cache, FaceConfig::default()).unwrap();
    let faces: Vec<GateFace> = det
        .detect(&frame)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, d)| GateFace {
            track_id: Some(i as u32 + 1),
            bbox: BoxPx {
                x0: d.bbox_px[0] as f64,
                y0: d.bbox_px[1] as f64,
                x1: d.bbox_px[2] as f64,
                y1: d.bbox_px[3] as f64,
            },
            landmarks_px: d.landmarks.map(|p| [p[0] as f64, p[1] as f64]),
            ground,
        })
        .collect();
    assert_eq!(faces.len(), 1, "one face in the scene: {faces:?}");
    (frame, faces)
}

fn with_ground(faces: &[GateFace], ground: Option<GeoPoint>) -> Vec<GateFace> {
    faces.iter().map(|f| GateFace { ground, ..f.clone() }).collect()
}

/// Signs like the ground station: with the real clock, timestamps always growing (several
/// tests share the process, and a receiver refuses a timestamp that does not grow).
pub(crate) fn sign_frame(key: &LinkKey, header: MavHeader, msg: &MavMessage) -> Vec<u8> {
    static LAST: std::sync::Mutex<u64> = std::sync::Mutex::new(0);
    let now = utkik_shared::link_signing::signing_timestamp(crate::ingest::time::unix_now_usec());
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    *last = now.max(*last + 1);
    utkik_shared::link_signing::sign_frame(key, header, msg, *last)
}

fn link_key() -> LinkKey {
    LinkKey::from_json(utkik_shared::demo::LINK_KEY_JSON, Path::new("DEMO")).unwrap()
}

/// A command about the gate's document at [`NOW_USEC`], signed by the DEMO senior officer
/// `cecilia` (LAW.md 4.5: the drone checks the user's key and role in its trust store).
fn command(gate: &Gate, command: UtkikAuthzCommand, request_id: u16) -> MavMessage {
    command_at(gate, command, request_id, NOW_USEC)
}

/// [`command`] given at `time_usec` by the ground's clock.
fn command_at(gate: &Gate, command: UtkikAuthzCommand, request_id: u16, time_usec: u64) -> MavMessage {
    user_signed(
        UTKIK_AUTHZ_COMMAND_DATA {
            time_usec,
            target_system: 1,
            target_component: 191,
            request_id,
            command,
            authorization_digest: *gate.digest().as_bytes(),
            ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
        },
        "cecilia",
    )
}

/// The command with `operator_id` = `user`, signed with that DEMO user's published seed.
pub(crate) fn user_signed(mut cmd: UTKIK_AUTHZ_COMMAND_DATA, user: &str) -> MavMessage {
    let seed = utkik_shared::demo::user_signing_seed(user).expect("a DEMO crew member");
    cmd.operator_id = utkik_shared::authz::command_signature::user_id_bytes(user).into();
    utkik_shared::authz::command_signature::sign_command(
        &mut cmd,
        &utkik_shared::authz::command_signature::SigningKey::from_bytes(&seed),
    );
    MavMessage::UTKIK_AUTHZ_COMMAND(cmd)
}

const GROUND: MavHeader = MavHeader {
    system_id: 255,
    component_id: 190,
    sequence: 0,
};

/// [`command_at`] `now_usec`, link-signed, handled by the gate at `now_usec`.
fn send_signed(gate: &mut Gate, cmd: UtkikAuthzCommand, request_id: u16, now_usec: u64) -> GateOutput {
    let frame = sign_frame(&link_key(), GROUND, &command_at(gate, cmd, request_id, now_usec));
    gate.handle_command_frame(&frame, now_usec)
}

/// The ground's 1 Hz signed HEARTBEAT, signed at `at_usec` and seen then: the ground is heard
/// (LAW.md 2.4; without it identification stops `gate.link_loss_stop_s` after the last frame).
fn hear_ground(gate: &mut Gate, at_usec: u64) -> GateOutput {
    let heartbeat = MavMessage::HEARTBEAT(utkik_shared::dialect::HEARTBEAT_DATA {
        mavtype: utkik_shared::dialect::MavType::MAV_TYPE_GCS,
        ..Default::default()
    });
    let frame = utkik_shared::link_signing::sign_frame(
        &link_key(),
        GROUND,
        &heartbeat,
        utkik_shared::link_signing::signing_timestamp(at_usec),
    );
    gate.handle_ground_frame(&frame, at_usec)
}

fn last_result(out: &GateOutput) -> (u16, utkik_shared::dialect::MavResult) {
    out.messages
        .iter()
        .find_map(|m| match m {
            MavMessage::UTKIK_AUTHZ_STATUS(s) => Some((s.last_request_id, s.last_result)),
            _ => None,
        })
        .expect("a status follows every command")
}

fn audit_events(gate: &Gate) -> Vec<AuditEvent> {
    let bytes = std::fs::read(gate.audit_path()).unwrap();
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(|line| decode_record(line).unwrap().body.event)
        .collect()
}

#[test]
fn no_active_authorization_never_runs_or_loads_the_template_model() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    assert_eq!(gate.state(), Some(AuthzState::Pending));
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    for i in 0..3 {
        let out = gate.process(NOW_USEC + i * 33_333, &frame, &faces);
        assert!(out.alerts.is_empty());
    }
    assert_eq!(
        gate.template_model_calls(),
        0,
        "the designated person in view, no authorization active"
    );
    assert!(!gate.template_model_loaded());
}

#[test]
fn a_match_threshold_looser_than_the_verified_one_stops_start_up() {
    let fx = permit();
    for loose in [0.9, 0.6, 0.0, f32::NAN] {
        let setup = GateSetup {
            match_distance: loose,
            ..fx.setup.clone()
        };
        let e = Gate::open(&setup, NOW_USEC).err().expect("refused");
        assert!(e.to_string().contains("gate.match_distance"), "{e}");
    }
    Gate::open(&fx.setup, NOW_USEC).expect("the shipped threshold");
}

#[test]
fn the_onboard_log_has_signed_checkpoints_a_third_party_can_verify() {
    use utkik_shared::audit::key_file::{keys_from_public_files, public_key_json};
    use utkik_shared::audit::{parse_anchor, parse_signer};
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let signer = parse_signer(
        format!(
            r#"{{"format":"utkik-audit-key/1","key_id":"drone-1-audit","seed_hex":"{}"}}"#,
            "15".repeat(32)
        )
        .as_bytes(),
    )
    .unwrap();
    let public = public_key_json(&signer, "test");
    gate.sign_checkpoints(signer, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + 1, &frame, &faces);
    assert_eq!(out.alerts.len(), 1, "a match was logged");
    gate.shutdown(NOW_USEC + 2);
    // The public key alone verifies every signature, and nothing is left unsigned.
    let keys = keys_from_public_files([public.as_bytes()]).unwrap();
    let options = VerifyOptions {
        keys: Some(&keys),
        anchor: None,
    };
    let r = verify_file(gate.audit_path(), &options).unwrap();
    assert!(r.checkpoints >= 2, "at start and at shutdown: {r:?}");
    assert_eq!(r.unsigned_tail_records, 0, "shutdown vouches for the whole log");
    // A log cut back to the first checkpoint is caught with the last one as anchor.
    let anchor = parse_anchor(&utkik_shared::audit::anchor_text(&r.last_checkpoint.unwrap())).unwrap();
    let bytes = std::fs::read(gate.audit_path()).unwrap();
    let first_cp_end = bytes
        .split_inclusive(|&b| b == b'\n')
        .scan(0, |n, l| {
            *n += l.len();
            Some((*n, l))
        })
        .find(|(_, l)| std::str::from_utf8(l).unwrap().contains("\"kind\":\"checkpoint\""))
        .unwrap()
        .0;
    let cut = utkik_shared::audit::verify_bytes(
        &bytes[..first_cp_end],
        &VerifyOptions {
            keys: Some(&keys),
            anchor: Some(anchor),
        },
    );
    assert!(cut.is_err(), "cut back before the anchor");
}

#[test]
fn evidence_older_than_six_months_is_erased_at_start_up_and_logged() {
    let fx = permit();
    // A crop from a use 185 days ago, in the drone's own log and payload store.
    let crop = {
        let store = utkik_shared::audit::PayloadStore::open(fx.setup.audit_dir.join(PAYLOAD_DIR)).unwrap();
        let (mut w, _) =
            utkik_shared::audit::AuditWriter::open(fx.setup.audit_dir.join(AUDIT_LOG_FILE), None, 0).unwrap();
        let crop = store.put(b"\xff\xd8 old crop \xff\xd9").unwrap();
        w.append(
            NOW_USEC - 185 * 24 * HOUR_USEC,
            AuditEvent::PossibleMatch {
                authorization_digest: utkik_shared::authz::AuthzDigest([9; 32]),
                match_id: 1,
                subject_id: "s".into(),
                frame_time_usec: 0,
                track_id: 1,
                distance: 0.3,
                evidence_crop: Some(crop.clone()),
            },
        )
        .unwrap();
        crop
    };
    let gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let store = utkik_shared::audit::PayloadStore::open(fx.setup.audit_dir.join(PAYLOAD_DIR)).unwrap();
    assert!(!store.contains(&crop), "past six months: gone");
    assert!(
        audit_events(&gate)
            .iter()
            .any(|e| matches!(e, AuditEvent::Erasure { payloads, .. } if payloads == &vec![crop.clone()])),
        "the erasure is in the log"
    );
}

#[test]
fn active_but_face_outside_the_area_or_unlocated_computes_nothing() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let out = send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    assert_eq!(
        last_result(&out).1,
        utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(gate.state(), Some(AuthzState::Active));
    let enrolment_calls = gate.template_model_calls();
    assert_eq!(enrolment_calls, 1, "one designated person, one image");
    let (frame, faces) = faces_in_scene(0, Some(outside()));
    assert!(gate.process(NOW_USEC + 1, &frame, &faces).alerts.is_empty());
    assert!(
        gate.process(NOW_USEC + 2, &frame, &with_ground(&faces, None))
            .alerts
            .is_empty()
    );
    assert_eq!(
        gate.template_model_calls(),
        enrolment_calls,
        "outside the area / position unknown"
    );
    // Back inside: identification runs (so the zero above was the area rule).
    let out = gate.process(NOW_USEC + 3, &frame, &with_ground(&faces, Some(inside())));
    assert_eq!(gate.template_model_calls(), enrolment_calls + 1);
    assert_eq!(out.alerts.len(), 1, "the designated person inside the area");
}

#[test]
fn window_end_stops_identification_on_the_drones_own_clock() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let calls = gate.template_model_calls();
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    // No command: only the clock passes the window's end (the ground is heard, so the link
    // is not what stops it).
    hear_ground(&mut gate, DEMO_UNTIL_USEC);
    let out = gate.process(DEMO_UNTIL_USEC, &frame, &faces);
    assert!(out.alerts.is_empty());
    assert_eq!(gate.template_model_calls(), calls, "after the window");
    assert_eq!(gate.state(), Some(AuthzState::Expired));
    assert_eq!(
        gate.enrolled_persons(),
        0,
        "enrolled templates dropped at the end of the use"
    );
    // A clock that jumps back does not reopen it.
    gate.process(NOW_USEC + 5, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls);
}

#[test]
fn urgent_use_stops_after_24_hours_without_an_application() {
    let fx = urgent();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        1,
        NOW_USEC,
    );
    assert_eq!(
        last_result(&out).1,
        utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    hear_ground(&mut gate, NOW_USEC + 23 * HOUR_USEC);
    gate.process(NOW_USEC + 23 * HOUR_USEC, &frame, &faces);
    let calls = gate.template_model_calls();
    assert!(calls >= 2, "runs before the deadline");
    let other_track = with_ground(&faces, Some(inside()))
        .into_iter()
        .map(|f| GateFace {
            track_id: Some(99),
            ..f
        })
        .collect::<Vec<_>>();
    hear_ground(&mut gate, NOW_USEC + 24 * HOUR_USEC);
    let out = gate.process(NOW_USEC + 24 * HOUR_USEC, &frame, &other_track);
    assert!(out.alerts.is_empty());
    assert_eq!(
        gate.template_model_calls(),
        calls,
        "24 h after the start, no application"
    );
    assert_eq!(gate.state(), Some(AuthzState::UrgentExpired));
}

#[test]
fn urgent_use_with_a_recorded_application_runs_past_24_hours() {
    let fx = urgent();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        1,
        NOW_USEC,
    );
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED,
        2,
        NOW_USEC + HOUR_USEC,
    );
    assert_eq!(
        last_result(&out).1,
        utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED
    );
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let calls = gate.template_model_calls();
    hear_ground(&mut gate, NOW_USEC + 30 * HOUR_USEC);
    gate.process(NOW_USEC + 30 * HOUR_USEC, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls + 1);
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
}

#[test]
fn unsigned_wrongly_signed_or_foreign_digest_commands_are_refused_and_logged() {
    use utkik_shared::dialect::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED};
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let activate = command(&gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1);
    // Unsigned.
    // A frame not signed with the link key is refused (audit record) and answered with the status
    // of the last authenticated command (none yet): its own request id is never echoed, so a
    // forgery cannot settle the station's pending command of that id.
    let out = gate.handle_command_frame(&utkik_shared::mavframe::encode_v2(GROUND, &activate), NOW_USEC);
    assert_eq!(last_result(&out).0, 0, "unsigned: not echoed");
    // Signed with another key.
    let wrong = LinkKey {
        link_id: 1,
        secret_key: [0x5a; 32],
    };
    let mut cmd = command(&gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 2);
    let out = gate.handle_command_frame(&sign_frame(&wrong, GROUND, &cmd), NOW_USEC);
    assert_eq!(last_result(&out).0, 0, "wrongly signed: not echoed");
    // Signed with the link key but about another document.
    if let MavMessage::UTKIK_AUTHZ_COMMAND(c) = &mut cmd {
        c.request_id = 3;
        c.authorization_digest[0] ^= 0xff;
    }
    let out = gate.handle_command_frame(&sign_frame(&link_key(), GROUND, &cmd), NOW_USEC);
    assert_eq!(last_result(&out), (3, MAV_RESULT_DENIED));
    assert_eq!(gate.state(), Some(AuthzState::Pending), "nothing activated");
    assert!(!gate.template_model_loaded());
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    gate.process(NOW_USEC + 1, &frame, &faces);
    assert_eq!(gate.template_model_calls(), 0);
    let refusals: Vec<String> = audit_events(&gate)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::AuthzCommand {
                accepted: false,
                reason,
                ..
            } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    assert!(refusals[0].contains("unsigned"), "{refusals:?}");
    assert!(refusals[1].contains("signature"), "{refusals:?}");
    assert!(refusals[2].contains("authorization_digest"), "{refusals:?}");
    // The same command signed with the link key is carried out.
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        4,
        NOW_USEC + 2,
    );
    assert_eq!(last_result(&out), (4, MAV_RESULT_ACCEPTED));
    assert_eq!(gate.state(), Some(AuthzState::Active));
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const JPEG_SOI: [u8; 3] = [0xff, 0xd8, 0xff];

fn has_jpeg_marker(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == JPEG_SOI)
}

/// Issue 17 items 3-4: with the ground station's public key set, the evidence crop is sealed
/// before it is stored or queued: the payload store, the audit log, the alert outbox and the
/// transfer on the radio hold no JPEG, and the transfer opens with the station's key (and only
/// for this alert) to the JPEG crop.
#[test]
fn a_sealed_crop_in_the_payload_store_and_outbox_is_no_jpeg_and_opens_with_the_ground_key() {
    let fx = permit();
    let station = utkik_shared::seal::SealKeyPair::generate();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    gate.seal_images_to(station.public().clone());
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + 2, &frame, &faces);
    let (alert_id, alert) = out.alerts[0].clone();
    let MavMessage::UTKIK_BIOMETRIC_MATCH(m) = &alert else {
        panic!("{alert:?}")
    };
    assert_eq!(m.image_sealed, 1);
    let (_, transfer) = out.evidence[0].clone();
    let mut sealed = Vec::new();
    for msg in &transfer[1..] {
        let MavMessage::ENCAPSULATED_DATA(d) = msg else {
            panic!("{msg:?}")
        };
        sealed.extend_from_slice(&d.data);
    }
    sealed.truncate(m.evidence_size as usize);
    assert_eq!(m.evidence_crc32, utkik_shared::image_transfer::image_crc32(&sealed));
    assert!(!has_jpeg_marker(&sealed), "the radio carries no JPEG");
    let aad = utkik_shared::seal::ImageAad {
        system_id: fx.setup.system_id,
        alert_id,
        kind: utkik_shared::seal::ImageKind::FaceEvidence,
    };
    let jpeg = utkik_shared::seal::open(&station, &aad, &sealed).unwrap();
    assert_eq!(&jpeg[..3], &JPEG_SOI, "opens to the JPEG crop");
    assert_eq!(jpeg.len() + utkik_shared::seal::SEAL_OVERHEAD, sealed.len());
    let other_alert = utkik_shared::seal::ImageAad {
        alert_id: alert_id + 1,
        ..aad
    };
    assert!(utkik_shared::seal::open(&station, &other_alert, &sealed).is_err());
    assert!(utkik_shared::seal::open(&utkik_shared::seal::SealKeyPair::generate(), &aad, &sealed).is_err());
    // The outbox, as the out thread writes it before the alert is queued.
    let outbox = crate::out::outbox::Outbox::open(&fx.setup.audit_dir.join("outbox")).unwrap();
    outbox
        .put(
            fx.setup.system_id,
            fx.setup.component_id,
            &crate::out::outbox::PendingAlert {
                alert_id,
                message: alert.clone(),
                follow: transfer.clone(),
            },
        )
        .unwrap();
    let (pending, problems) = outbox.pending().unwrap();
    assert!(problems.is_empty() && pending.len() == 1 && pending[0].follow == transfer);
    // Everything the gate wrote under gate.audit_dir: the payload store's crop, the audit log,
    // its state, the outbox.
    let files = files_under(&fx.setup.audit_dir);
    let crops: Vec<_> = files.iter().filter(|p| p.starts_with(gate.payloads().dir())).collect();
    assert_eq!(crops.len(), 1, "the crop is stored: {files:?}");
    assert_eq!(
        std::fs::read(crops[0]).unwrap(),
        sealed,
        "the stored crop is the sealed bytes"
    );
    for f in &files {
        assert!(
            !has_jpeg_marker(&std::fs::read(f).unwrap()),
            "{} holds a JPEG",
            f.display()
        );
    }
    eprintln!(
        "sealed crop: {} bytes (JPEG {} + {}), {} files under the audit dir, none with a JPEG marker",
        sealed.len(),
        jpeg.len(),
        utkik_shared::seal::SEAL_OVERHEAD,
        files.len()
    );
}

#[test]
fn only_the_designated_person_matches_not_another_real_face() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (other, other_faces) = faces_in_scene(1, Some(inside()));
    let out = gate.process(NOW_USEC + 1, &other, &other_faces);
    assert!(out.alerts.is_empty(), "another real person must not match");
    assert_eq!(gate.template_model_calls(), 2, "it was looked at (inside the area)");
    assert_eq!(gate.matches_held(), 0);
    assert!(
        std::fs::read_dir(gate.payloads().dir()).unwrap().next().is_none(),
        "nothing stored of a non-match"
    );
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + 2, &frame, &faces);
    assert_eq!(out.alerts.len(), 1);
    let MavMessage::UTKIK_BIOMETRIC_MATCH(m) = &out.alerts[0].1 else {
        panic!("{:?}", out.alerts)
    };
    let subject: String = m
        .subject_id
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    // char[16] on the wire: longer subject ids arrive cut to 16 bytes (the
    // audit log's PossibleMatch holds the whole id).
    assert_eq!(subject, &"designated-astronaut"[..16]);
    eprintln!("designated person: score {} (1 - distance)", m.score);
    assert_eq!(&m.authorization_digest[..], &gate.digest().as_bytes()[..16]);
    assert!(m.evidence_size > 0 && m.evidence_transfer_id > 0);
    assert_eq!(out.evidence.len(), 1);
    let (evidence_of, transfer) = &out.evidence[0];
    assert_eq!(*evidence_of, m.alert_id);
    let MavMessage::DATA_TRANSMISSION_HANDSHAKE(hs) = &transfer[0] else {
        panic!("evidence handshake: {:?}", transfer.first())
    };
    assert_eq!(hs.size, m.evidence_size);
    assert_eq!(transfer.len(), 1 + hs.packets as usize);
}

#[test]
fn urgent_refusal_deletes_everything_of_the_use_and_writes_a_receipt() {
    let fx = urgent();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        1,
        NOW_USEC,
    );
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + 1, &frame, &faces);
    assert_eq!(out.alerts.len(), 1);
    let alert_id = out.alerts[0].0;
    let crops: Vec<_> = std::fs::read_dir(gate.payloads().dir()).unwrap().collect();
    assert_eq!(crops.len(), 1, "the evidence crop is stored");

    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED,
        2,
        NOW_USEC + 10,
    );
    assert_eq!(gate.state(), Some(AuthzState::Refused));
    assert_eq!(out.cancelled_alerts, vec![alert_id], "the alert is no longer resent");
    assert_eq!(gate.matches_held(), 0);
    assert_eq!(gate.enrolled_persons(), 0);
    // Scan the audit directory: no crop left, and the log holds no image bytes.
    let mut files = Vec::new();
    let mut stack = vec![fx.setup.audit_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name() != Some(std::ffi::OsStr::new(super::identify::LINK_STATE_FILE))
                && p.file_name() != Some(std::ffi::OsStr::new(super::saved_state::GATE_STATE_FILE))
            {
                // The link's replay window is link state, and the gate's saved state holds the
                // lifecycle (REFUSED) and no match any more: neither is data of the use.
                files.push(p);
            }
        }
    }
    assert_eq!(
        files,
        vec![gate.audit_path().to_path_buf()],
        "only the audit log remains"
    );
    let log = std::fs::read(gate.audit_path()).unwrap();
    assert!(!log.windows(2).any(|w| w == [0xFF, 0xD8]), "no JPEG inside the log");
    let receipt = audit_events(&gate)
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt {
                site,
                deleted,
                payloads,
                ..
            } => Some((site, deleted, payloads)),
            _ => None,
        })
        .expect("deletion receipt");
    assert_eq!(receipt.0, "onboard");
    assert_eq!(receipt.2.len(), 1, "the crop's hash is listed");
    let count = |k| receipt.1.iter().find(|d| d.kind == k).map(|d| d.count);
    assert_eq!(count(utkik_shared::authz::UseDataKind::Matches), Some(1));
    assert_eq!(count(utkik_shared::authz::UseDataKind::Templates), Some(1));
    verify_file(gate.audit_path(), &VerifyOptions::default()).expect("the chain stays whole");
    // Identification is over.
    let calls = gate.template_model_calls();
    gate.process(NOW_USEC + 20, &frame, &faces);
    assert_eq!(gate.template_model_calls(), calls);
}

/// The wiring over real sockets: the pipeline reports UTKIK_AUTHZ_STATUS at 1 Hz with the
/// loaded digest; an unsigned ACTIVATE from the ground is denied, the signed one activates.
#[test]
fn pipeline_takes_signed_commands_and_reports_authz_status() {
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use utkik_shared::dialect::{MavResult, UtkikAuthzState};

    use crate::config::Config;
    use crate::shutdown::Shutdown;
    use utkik_shared::mavframe::FrameDecoder;

    let fx = permit();
    let gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let digest = *gate.digest().as_bytes();
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
    let mut wait_status = |want: &dyn Fn(&utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let Ok((n, _)) = ground.recv_from(&mut buf) else {
                continue;
            };
            for d in decoder.push_messages(&buf[..n]) {
                if let MavMessage::UTKIK_AUTHZ_STATUS(s) = d.message
                    && want(&s)
                {
                    return s;
                }
            }
        }
        panic!("no such UTKIK_AUTHZ_STATUS within 20 s");
    };
    let s = wait_status(&|s| s.authorization_digest == digest);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Given now by the ground's clock (the drone checks the command's age on its own clock),
    // by the DEMO senior officer.
    let cmd = |request_id: u16| {
        user_signed(
            UTKIK_AUTHZ_COMMAND_DATA {
                time_usec: crate::ingest::time::unix_now_usec(),
                target_system: 1,
                target_component: 191,
                request_id,
                command: UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
                authorization_digest: digest,
                ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
            },
            "cecilia",
        )
    };
    let sent_usec = crate::ingest::time::unix_now_usec();
    sender
        .send_to(&utkik_shared::mavframe::encode_v2(GROUND, &cmd(11)), drone_port)
        .unwrap();
    // Not carried out, and not echoed either (a forged frame must not settle the station's own
    // pending command of the same id as refused): a status well after it still names none.
    let s = wait_status(&|s| s.time_usec >= sent_usec + 1_500_000);
    assert_ne!(s.last_request_id, 11, "an unsigned command is never echoed: {s:?}");
    assert_eq!(
        s.state,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING,
        "unsigned: not carried out"
    );
    sender
        .send_to(&sign_frame(&link_key(), GROUND, &cmd(12)), drone_port)
        .unwrap();
    let s = wait_status(&|s| s.last_request_id == 12);
    assert_eq!(s.last_result, MavResult::MAV_RESULT_ACCEPTED);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE);
    assert_eq!(s.templates_computed, 1, "enrolment of the one designated person");
    shutdown.trigger();
    handle.join().unwrap().unwrap();
}

#[test]
fn revoking_a_permit_deletes_its_matches_and_crops_and_it_cannot_restart() {
    use utkik_shared::dialect::MavResult::MAV_RESULT_DENIED;
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + 1, &frame, &faces);
    assert_eq!(out.alerts.len(), 1);
    assert_eq!(std::fs::read_dir(gate.payloads().dir()).unwrap().count(), 1);
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
        2,
        NOW_USEC + 2,
    );
    assert_eq!(gate.state(), Some(AuthzState::Revoked));
    assert_eq!(out.cancelled_alerts.len(), 1);
    assert_eq!(
        std::fs::read_dir(gate.payloads().dir()).unwrap().count(),
        0,
        "crop deleted"
    );
    assert!(
        audit_events(&gate)
            .iter()
            .any(|e| matches!(e, AuditEvent::DeletionReceipt { payloads, .. } if payloads.len() == 1))
    );
    let out = send_signed(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        3,
        NOW_USEC + 3,
    );
    assert_eq!(last_result(&out), (3, MAV_RESULT_DENIED), "revoked is final");
    let calls = gate.template_model_calls();
    gate.process(NOW_USEC + 4, &frame, &with_ground(&faces, Some(inside())));
    assert_eq!(gate.template_model_calls(), calls);
}

/// A signed command recorded off the air is refused after the drone reboots: the replay window
/// is saved in the audit directory before the command acts. (Control: a drone that forgot its
/// window would take the same frame again.)
#[test]
fn a_command_replayed_after_a_restart_is_refused() {
    use utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED;
    // (refused, accepted) STOP records in the drone's audit log.
    let stops = |gate: &Gate| {
        audit_events(gate).into_iter().fold((0, 0), |(r, a), e| match e {
            AuditEvent::AuthzCommand {
                command,
                accepted,
                reason,
                ..
            } if command.ends_with("STOP") => {
                if accepted {
                    (r, a + 1)
                } else {
                    assert!(reason.contains("replayed frame"), "{reason}");
                    (r + 1, a)
                }
            }
            _ => (r, a),
        })
    };
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let stop = command(&gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP, 21);
    let recorded = sign_frame(&link_key(), GROUND, &stop);
    let out = gate.handle_command_frame(&recorded, NOW_USEC);
    assert_eq!(last_result(&out), (21, MAV_RESULT_ACCEPTED));
    assert_eq!(stops(&gate), (0, 1));
    // A replay is refused and logged; the status still names the last authenticated command.
    let out = gate.handle_command_frame(&recorded, NOW_USEC + 1);
    assert_eq!(last_result(&out), (21, MAV_RESULT_ACCEPTED));
    assert_eq!(stops(&gate), (1, 1), "replay without a restart refused");
    drop(gate);
    let state = fx.setup.audit_dir.join(super::identify::LINK_STATE_FILE);
    assert!(state.is_file());
    let saved = std::fs::read(&state).unwrap();
    // Reboot: the same frame again is refused, and the audit log says why.
    let mut gate = Gate::open(&fx.setup, NOW_USEC + 10_000_000).unwrap();
    gate.handle_command_frame(&recorded, NOW_USEC + 10_000_000);
    assert_eq!(stops(&gate), (2, 1), "replay after the restart refused");
    drop(gate);
    // Control: without the saved window the replay would be carried out.
    std::fs::remove_file(&state).unwrap();
    let mut forgetful = Gate::open(&fx.setup, NOW_USEC + 20_000_000).unwrap();
    forgetful.handle_command_frame(&recorded, NOW_USEC + 20_000_000);
    assert_eq!(stops(&forgetful), (2, 2), "the control takes the replay");
    assert!(!saved.is_empty());
}

/// A drone whose clock is not set yet (a companion computer boots in 1970 until GPS or NTP
/// sets it) refuses signed commands instead of taking any timestamp as new.
#[test]
fn a_drone_without_a_set_clock_refuses_commands() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let stop = command(&gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP, 22);
    let out = gate.handle_command_frame(&sign_frame(&link_key(), GROUND, &stop), 30_000_000);
    assert_eq!(last_result(&out).0, 0, "refused, and its id not echoed");
    assert_eq!(gate.state(), Some(AuthzState::Pending));
    assert!(
        audit_events(&gate)
            .iter()
            .any(|e| matches!(e, AuditEvent::AuthzCommand { accepted: false, .. })),
        "the refusal is logged"
    );
}

mod roles;

mod link_loss;
mod restart;
mod retention;
mod upload;
