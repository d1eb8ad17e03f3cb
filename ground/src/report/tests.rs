//! Report tests: a synthetic mission through the real replay index and collector.

use utkik_shared::dialect::UtkikAuthzState;

use super::*;
use crate::synth;

fn replay_of(duration_s: u32) -> Replay {
    let mut data = Vec::new();
    for (t, f) in synth::mission(duration_s, 4).frames {
        data.extend_from_slice(&(1_790_000_000_000_000 + t).to_be_bytes());
        data.extend_from_slice(&f);
    }
    Replay::from_bytes(data, 5.0, |_, _| {}).unwrap()
}

#[test]
fn report_has_map_plots_alerts_and_redacts_unauthorized_biometrics() {
    let replay = replay_of(20);
    let opts = ReportOptions {
        title: "synth <test>".into(),
        overlays: crate::map::parse_geojson(&synth::geojson(), "synth").unwrap().0,
        audit: AuditStatus::NotGiven,
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let mut last = (0, 0);
    let data = write(&replay, &opts, &out, |a, b| last = (a, b)).unwrap();
    assert_eq!(last.0, last.1);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("synth &lt;test&gt;"));
    assert!(html.contains("flight path"));
    assert!(data.flight_path[&1].len() >= 19, "{}", data.flight_path[&1].len());
    assert!(!data.track_points.is_empty());
    assert!(data.seconds.iter().any(|s| s.fps.is_some()));
    assert!(html.contains("Plate hit"), "plate alert listed");
    // The synthetic match carries an all-zero digest: never an authorization.
    assert!(html.contains("Possible match"));
    assert!(html.contains("BIOMETRIC EVIDENCE REDACTED"));
    assert!(html.contains("No audit log given"));
    assert!(!html.contains("src=\"http"), "self-contained");
}

#[test]
fn biometric_evidence_needs_the_matching_active_authorization() {
    let d = |b: u8| {
        let mut x = [0u8; 32];
        x[0] = b;
        x
    };
    let ch = |t, state, digest| collect::AuthzChange {
        time_usec: t,
        system_id: 1,
        state,
        digest,
    };
    let hist = vec![
        ch(10, UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING, d(7)),
        ch(20, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE, d(7)),
        ch(40, UtkikAuthzState::UTKIK_AUTHZ_STATE_EXPIRED, d(7)),
    ];
    let mut dig = [0u8; 16];
    dig[0] = 7;
    assert!(biometric_use_authorized(&hist, 1, &dig, 25));
    assert!(!biometric_use_authorized(&hist, 1, &dig, 15), "pending is not active");
    assert!(!biometric_use_authorized(&hist, 1, &dig, 45), "expired");
    assert!(!biometric_use_authorized(&hist, 2, &dig, 25), "other vehicle");
    let mut other = dig;
    other[0] = 8;
    assert!(!biometric_use_authorized(&hist, 1, &other, 25), "other authorization");
    let mut revoked = hist.clone();
    revoked.push(ch(30, UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED, d(7)));
    assert!(!biometric_use_authorized(&revoked, 1, &dig, 25), "withdrawn later");
}

#[test]
fn base64_matches_known_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}
