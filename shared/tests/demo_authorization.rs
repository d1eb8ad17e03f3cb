//! The committed demo authorization (assets/authz) verifies with the committed
//! DEMO trust store and fits the scenario it is for. Fails when someone edits
//! the document without re-signing it, or changes the scenario without the
//! authorization.

use std::path::PathBuf;

use utkik_shared::authz::{AuthzError, IssuerSigningKey, TrustStore, authorize_file};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// 2026-11-22T00:00:00Z, inside the demo window.
const NOW_USEC: u64 = 1_795_305_600_000_000;

fn scenario_value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.trim().strip_prefix('='))
        .unwrap_or_else(|| panic!("scenario has no `{key}`"))
        .trim()
        .trim_matches('"')
        .to_string()
}

#[test]
fn demo_authorization_verifies_and_fits_the_scenario() {
    let trust = TrustStore::load(&assets().join("authz/demo-trust-store.json")).unwrap();
    let v = authorize_file(&assets().join("authz/person-search.authz.json"), &trust, NOW_USEC).unwrap();
    let doc = v.document();

    let scenario = std::fs::read_to_string(assets().join("scenarios/person-search.toml")).unwrap();
    assert_eq!(doc.decision_id, scenario_value(&scenario, "reference"));
    assert_eq!(
        doc.designated_subject_ids(),
        vec![scenario_value(&scenario, "designated_identity").as_str()]
    );
    let lat: f64 = scenario_value(&scenario, "lat_deg").parse().unwrap();
    let lon: f64 = scenario_value(&scenario, "lon_deg").parse().unwrap();
    assert!(
        doc.area.contains_lat_lon_deg(lat, lon),
        "scenario origin outside the area"
    );
    // The whole 35 m orbit is inside too (35 m is about 0.0003 deg of latitude, 0.0006 of longitude).
    for (dlat, dlon) in [(0.0004, 0.0), (-0.0004, 0.0), (0.0, 0.0008), (0.0, -0.0008)] {
        assert!(doc.area.contains_lat_lon_deg(lat + dlat, lon + dlon));
    }
}

#[test]
fn demo_key_file_matches_the_trust_store() {
    let key = IssuerSigningKey::load(&assets().join("authz/DEMO-prosecutor.key.NOT-SECRET.json")).unwrap();
    let trust = TrustStore::load(&assets().join("authz/demo-trust-store.json")).unwrap();
    let trusted = trust.get(&key.key_id).expect("the DEMO key is in the DEMO trust store");
    assert_eq!(trusted.key, key.key.verifying_key());
    assert_eq!(trusted.kind, key.kind);
    assert!(
        trusted.holder.contains("DEMO"),
        "the trust store must say it is a DEMO key"
    );
}

#[test]
fn demo_authorization_is_refused_after_its_window() {
    let trust = TrustStore::load(&assets().join("authz/demo-trust-store.json")).unwrap();
    // 2028-01-01T00:00:00Z: the end of the demo window.
    let e = authorize_file(
        &assets().join("authz/person-search.authz.json"),
        &trust,
        1_830_297_600_000_000,
    )
    .unwrap_err();
    assert!(matches!(e, AuthzError::Expired { .. }), "{e}");
}
