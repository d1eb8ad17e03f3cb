//! Signing and verification both ways (ours against mavlink-core's `SigningData`), every
//! refusal reason, the replay window across a saved state, and the key file. Merged from the
//! ground's and the onboard's former copies so nothing either checked is lost.

use std::path::Path;

use mavlink_core::{MAVLinkV2MessageRaw, MavHeader, SigningConfig, SigningData};

use super::*;
use crate::dialect::{MavMessage, UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand};
use crate::mavframe::{FrameDecoder, encode_v2};

/// 2026-06-01 00:00:00 UTC: a set clock.
const NOW_USEC: u64 = 1_780_272_000_000_000;

fn key(byte: u8) -> LinkKey {
    LinkKey {
        link_id: 1,
        secret_key: [byte; 32],
    }
}

fn demo_key() -> LinkKey {
    LinkKey::from_json(crate::demo::LINK_KEY_JSON, Path::new("DEMO")).unwrap()
}

fn command() -> MavMessage {
    MavMessage::UTKIK_AUTHZ_COMMAND(UTKIK_AUTHZ_COMMAND_DATA {
        time_usec: 1,
        target_system: 1,
        target_component: 191,
        request_id: 7,
        command: UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
        authorization_digest: [0xab; 32],
        operator_id: [b'a'; 16].into(),
        ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
    })
}

fn header() -> MavHeader {
    MavHeader {
        system_id: 255,
        component_id: 190,
        sequence: 3,
    }
}

fn raw(frame: &[u8]) -> MAVLinkV2MessageRaw {
    let mut bytes = [0u8; mavlink_core::consts::MAX_FRAME_SIZE];
    bytes[..frame.len()].copy_from_slice(frame);
    MAVLinkV2MessageRaw::from_bytes_unparsed(bytes)
}

fn ts(unix_usec: u64) -> u64 {
    signing_timestamp(unix_usec)
}

#[test]
fn signed_frames_have_the_signature_layout_and_still_decode() {
    let plain = encode_v2(header(), &command());
    assert_eq!(plain[2] & 0x01, 0, "encode_v2 sends unsigned frames");
    let signed = sign_frame(&key(1), header(), &command(), ts(NOW_USEC));
    assert_eq!(signed[2] & 0x01, 0x01, "incompatibility flag: signed");
    assert_eq!(signed.len(), plain.len() + 13, "13 signature bytes appended");
    assert_eq!(signed[signed.len() - 13], 1, "link id");
    let mut ts_bytes = [0u8; 8];
    ts_bytes[..6].copy_from_slice(&signed[signed.len() - 12..signed.len() - 6]);
    assert_eq!(u64::from_le_bytes(ts_bytes), ts(NOW_USEC));
    let got = FrameDecoder::new().push_messages(&signed);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, command());
    assert!(got[0].frame.is_signed());
}

#[test]
fn ours_and_mavlink_cores_signing_agree_both_ways() {
    // Ours signs, mavlink-core verifies (with the real clock: it reads it itself).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let k = key(5);
    let signed = sign_frame(&k, header(), &command(), ts(now));
    let core_verifier = SigningData::from_config(SigningConfig::new(k.secret_key, k.link_id, false, false));
    assert!(core_verifier.verify_signature(&raw(&signed)));
    assert!(!SigningData::from_config(SigningConfig::new([6; 32], 1, false, false)).verify_signature(&raw(&signed)));
    // mavlink-core signs (with the real clock), ours verifies.
    let core_signer = SigningData::from_config(SigningConfig::new(k.secret_key, k.link_id, true, false));
    let mut r = MAVLinkV2MessageRaw::new();
    r.serialize_message_for_signing(header(), &command());
    core_signer.sign_message(&mut r);
    let mut w = ReplayWindow::new();
    let v = verify_frame(r.raw_bytes(), &k, &mut w, now).unwrap();
    assert_eq!(
        v.stream,
        StreamId {
            link_id: 1,
            system_id: 255,
            component_id: 190
        }
    );
}

#[test]
fn signed_with_the_key_passes_anything_else_is_refused() {
    let k = demo_key();
    let mut w = ReplayWindow::new();
    let good = sign_frame(&k, header(), &command(), ts(NOW_USEC));
    assert!(verify_frame(&good, &k, &mut w, NOW_USEC).is_ok());
    assert!(
        matches!(
            verify_frame(&good, &k, &mut w, NOW_USEC),
            Err(SignatureRefused::Replayed { .. })
        ),
        "the same frame again is a replay"
    );
    assert_eq!(
        verify_frame(&encode_v2(header(), &command()), &k, &mut w, NOW_USEC),
        Err(SignatureRefused::Unsigned)
    );
    let wrong = sign_frame(&key(9), header(), &command(), ts(NOW_USEC) + 10);
    assert_eq!(
        verify_frame(&wrong, &k, &mut w, NOW_USEC),
        Err(SignatureRefused::BadSignature)
    );
    // An altered payload byte with the CRC fixed up: only the signature can tell.
    let mut altered = sign_frame(&k, header(), &command(), ts(NOW_USEC) + 20);
    altered[12] ^= 1;
    let len = altered[1] as usize;
    let extra = crate::mavframe::crc_extra(UTKIK_AUTHZ_COMMAND_DATA_ID).unwrap();
    let crc = crate::mavframe::x25_crc(crate::mavframe::x25_crc(0xFFFF, &altered[1..10 + len]), &[extra]);
    altered[10 + len..12 + len].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        verify_frame(&altered, &k, &mut w, NOW_USEC),
        Err(SignatureRefused::BadSignature)
    );
    // A CRC-broken frame is not even looked at.
    let mut broken = sign_frame(&k, header(), &command(), ts(NOW_USEC) + 30);
    broken[12] ^= 1;
    assert_eq!(
        verify_frame(&broken, &k, &mut w, NOW_USEC),
        Err(SignatureRefused::Malformed)
    );
    let v1 = crate::mavframe::RawFrame::encode(crate::mavframe::MavVersion::V1, header(), &heartbeat()).into_bytes();
    assert_eq!(
        verify_frame(&v1, &k, &mut w, NOW_USEC),
        Err(SignatureRefused::MavlinkV1)
    );
    assert_eq!(
        verify_frame(&[], &k, &mut w, NOW_USEC),
        Err(SignatureRefused::Malformed)
    );
    assert_eq!(
        verify_frame(&good[..good.len() - 1], &k, &mut w, NOW_USEC),
        Err(SignatureRefused::Malformed)
    );
    // Nothing refused moved the window.
    assert_eq!(w.highest(), ts(NOW_USEC));
}

const UTKIK_AUTHZ_COMMAND_DATA_ID: u32 = <UTKIK_AUTHZ_COMMAND_DATA as mavlink_core::MessageData>::ID;

fn heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(crate::dialect::HEARTBEAT_DATA::default())
}

#[test]
fn the_window_is_per_stream_and_refuses_old_new_streams() {
    let k = key(3);
    let mut w = ReplayWindow::new();
    let t = ts(NOW_USEC);
    let at = |sys: u8, comp: u8, stamp: u64| {
        sign_frame(
            &k,
            MavHeader {
                system_id: sys.into(),
                component_id: comp,
                sequence: 0,
            },
            &heartbeat(),
            stamp,
        )
    };
    verify_frame(&at(1, 1, t), &k, &mut w, NOW_USEC).unwrap();
    // Another component of the same system is another stream: its own counter.
    verify_frame(&at(1, 191, t - 5), &k, &mut w, NOW_USEC).unwrap();
    assert!(matches!(
        verify_frame(&at(1, 1, t - 1), &k, &mut w, NOW_USEC),
        Err(SignatureRefused::Replayed { last, .. }) if last == t
    ));
    verify_frame(&at(1, 1, t + 1), &k, &mut w, NOW_USEC).unwrap();
    // A new stream up to a minute behind is fine; more is a replayed old recording.
    verify_frame(&at(2, 1, t + 1 - NEW_STREAM_TOLERANCE), &k, &mut w, NOW_USEC).unwrap();
    assert!(matches!(
        verify_frame(&at(3, 1, t - NEW_STREAM_TOLERANCE - 2), &k, &mut w, NOW_USEC),
        Err(SignatureRefused::Stale { .. })
    ));
}

#[test]
fn a_clock_that_is_not_set_refuses_signed_frames_rather_than_accepting_all() {
    let k = key(4);
    let mut w = ReplayWindow::new();
    let frame = sign_frame(&k, header(), &command(), 1_000);
    let boot_1970 = 42_000_000;
    assert!(matches!(
        verify_frame(&frame, &k, &mut w, boot_1970),
        Err(SignatureRefused::ClockNotSet { .. })
    ));
    assert!(!clock_is_set(boot_1970));
    assert!(clock_is_set(NOW_USEC));
    assert_eq!(w, ReplayWindow::new());
}

#[test]
fn the_signer_never_goes_backwards_and_resumes_after_a_restart() {
    let k = key(8);
    let mut s = Signer::new(k.clone());
    let mut w = ReplayWindow::new();
    let a = s.sign(header(), &heartbeat(), NOW_USEC);
    // Same instant and a clock step backwards: timestamps still grow, the receiver accepts.
    let b = s.sign(header(), &heartbeat(), NOW_USEC);
    let c = s.sign(header(), &heartbeat(), NOW_USEC - 5_000_000);
    for f in [&a, &b, &c] {
        verify_frame(f, &k, &mut w, NOW_USEC).unwrap();
    }
    assert_eq!(s.last_timestamp(), ts(NOW_USEC) + 2);
    // A restart with a clock far behind: resumed from the saved timestamp, still accepted.
    let mut again = Signer::resume(k.clone(), s.last_timestamp());
    let d = again.sign(header(), &heartbeat(), 0);
    verify_frame(&d, &k, &mut w, NOW_USEC).unwrap();
}

#[test]
fn a_frame_accepted_before_a_restart_is_refused_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link-state.json");
    let k = key(2);
    let frame = sign_frame(&k, header(), &command(), ts(NOW_USEC));
    let mut state = LinkState::load(&path).unwrap();
    assert_eq!(state, LinkState::default(), "no file: first start");
    verify_frame(&frame, &k, &mut state.window, NOW_USEC).unwrap();
    state.sent_timestamp = 77;
    assert!(state.window.take_changed());
    state.save(&path).unwrap();
    // Without the saved state the replay (10 s later) would pass: the rule is the state file.
    let later = NOW_USEC + 10_000_000;
    assert!(verify_frame(&frame, &k, &mut ReplayWindow::new(), later).is_ok());
    let mut restored = LinkState::load(&path).unwrap();
    assert_eq!(restored.sent_timestamp, 77);
    assert!(matches!(
        verify_frame(&frame, &k, &mut restored.window, later),
        Err(SignatureRefused::Replayed { .. })
    ));
    // The file was replaced, not left half-written beside a temporary.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("link-state.json")]);
    let bad = LinkState::from_json(br#"{"format":"x","sent_timestamp":0,"streams":[]}"#, &path).unwrap_err();
    assert!(bad.to_string().contains("`format`"), "{bad}");
    let bad = LinkState::from_json(
        br#"{"format":"utkik-link-state/1","sent_timestamp":"a","streams":[]}"#,
        &path,
    )
    .unwrap_err();
    assert!(bad.to_string().contains("sent_timestamp"), "{bad}");
}

#[test]
fn key_file_is_parsed_checked_and_never_printed() {
    let p = Path::new("k.json");
    let k = LinkKey::from_json(
        br#"{"format":"utkik-link-key/1","link_id":3,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
        p,
    )
    .unwrap();
    assert_eq!(
        k,
        LinkKey {
            link_id: 3,
            secret_key: [1; 32]
        }
    );
    let e = LinkKey::from_json(br#"{"format":"x","link_id":1,"secret_key_hex":"00"}"#, p).unwrap_err();
    assert!(e.reason.contains("`format`") && e.to_string().contains("k.json"), "{e}");
    for hex in ["01", "zz", &"00".repeat(32)] {
        let text = format!(r#"{{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"{hex}"}}"#);
        let e = LinkKey::from_json(text.as_bytes(), p).unwrap_err();
        assert!(e.reason.contains("secret_key_hex"), "{e}");
    }
    let e = LinkKey::from_json(
        br#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"01","x":1}"#,
        p,
    )
    .unwrap_err();
    assert!(e.reason.contains("unknown field"), "{e}");
    assert!(!format!("{:?}", demo_key()).contains("dfb4"));
}

#[cfg(unix)]
#[test]
fn key_files_others_may_read_are_refused_and_owner_only_ones_load() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("link.key.json");
    std::fs::write(&p, crate::demo::LINK_KEY_JSON).unwrap();
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = LinkKey::load(&p).unwrap_err().to_string();
        assert!(e.contains("chmod 600") && e.contains("link.key.json"), "{e}");
        assert!(LinkKeys::load(&p).is_err());
    }
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(LinkKey::load(&p).unwrap(), demo_key());
    assert!(LinkKeys::load(&p).unwrap().is_one_for_all());
}

#[test]
fn a_keys_file_gives_each_drone_its_own_key_and_names_bad_fields() {
    let p = Path::new("keys.json");
    let hex = |b: u8| format!("{b:02x}").repeat(32);
    let text = format!(
        r#"{{"format":"utkik-link-keys/1","keys":[
            {{"system_id":1,"link_id":1,"secret_key_hex":"{}","note":"drone 1"}},
            {{"system_id":2,"link_id":1,"secret_key_hex":"{}"}}]}}"#,
        hex(1),
        hex(2)
    );
    let keys = LinkKeys::from_json(text.as_bytes(), p).unwrap();
    assert_eq!(keys.for_system(1).unwrap().secret_key, [1; 32]);
    assert_eq!(keys.for_system(2).unwrap().secret_key, [2; 32]);
    assert!(keys.for_system(3).is_none(), "no key: its frames are refused");
    assert_eq!(keys.systems().collect::<Vec<_>>(), vec![1, 2]);
    assert!(!keys.is_one_for_all());
    let one = LinkKeys::from_json(crate::demo::LINK_KEY_JSON, p).unwrap();
    assert_eq!(one.for_system(7), Some(&demo_key()));
    for (bad, field) in [
        (
            format!(
                r#"{{"format":"utkik-link-keys/1","keys":[{{"system_id":1,"link_id":1,"secret_key_hex":"{0}"}},{{"system_id":1,"link_id":1,"secret_key_hex":"{0}"}}]}}"#,
                hex(3)
            ),
            "keys[1].system_id",
        ),
        (
            format!(
                r#"{{"format":"utkik-link-keys/1","keys":[{{"system_id":0,"link_id":1,"secret_key_hex":"{}"}}]}}"#,
                hex(3)
            ),
            "keys[0].system_id",
        ),
        (
            r#"{"format":"utkik-link-keys/1","keys":[{"system_id":4,"link_id":1,"secret_key_hex":"00"}]}"#.to_string(),
            "keys[0].secret_key_hex",
        ),
        (
            r#"{"format":"utkik-link-keys/1","keys":[{"system_id":"x","link_id":1,"secret_key_hex":"00"}]}"#
                .to_string(),
            "keys[0].system_id",
        ),
        (r#"{"format":"utkik-link-keys/1","keys":[]}"#.to_string(), "keys"),
        (r#"{"format":"other","keys":[]}"#.to_string(), "format"),
    ] {
        let e = LinkKeys::from_json(bad.as_bytes(), p).unwrap_err().to_string();
        assert!(e.contains(field) && e.contains("keys.json"), "{field}: {e}");
    }
}
