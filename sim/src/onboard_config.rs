//! A scenario's camera as configuration overrides for the onboard program
//! (`utkik-onboard --set KEY=VALUE`), so that the onboard geolocates with the
//! field of view the simulator renders with instead of its default camera.
//! `utkik-sim camera --scenario FILE` prints them, one `KEY=VALUE` a line;
//! `scripts/demo.sh` passes each line to the onboard as `--set`.
//!
//! The keys are the onboard's (`onboard/config/default.toml`); the simulator
//! does not depend on the onboard crate, so a test reads that file as text.

use crate::scenario::Scenario;

/// The onboard overrides describing `scenario`'s camera, in print order:
/// `camera.hfov_deg` (the scenario's horizontal field of view, degrees, a
/// TOML float) and `camera.mount` (`gimbal`: the simulated camera is on a
/// gimbal whose attitude the telemetry reports).
pub fn onboard_camera_overrides(scenario: &Scenario) -> Vec<(&'static str, String)> {
    vec![
        // `{:?}` keeps the decimal point, so the value parses as a TOML float.
        ("camera.hfov_deg", format!("{:?}", scenario.camera.hfov_deg)),
        ("camera.mount", "gimbal".to_owned()),
    ]
}

/// The scenario's DEMO ANPR hit list (cars with `hit_list = true`) as a signed list
/// (`utkik_shared::hitlist::signed`), signed by the DEMO senior officer `cecilia` with her
/// published DEMO key, so it verifies only against the DEMO trust store (`utkik-onboard --demo`).
/// `utkik-sim hitlist --scenario FILE --out FILE.json` writes it; the onboard reads it with
/// `detect.plate_hit_list`.
///
/// The list is issued at `issued_at_usec` and valid until `valid_until_usec`; its `list_id`
/// starts with `DEMO-`. Each entry is added by `cecilia` and expires at the start of
/// [`DEMO_HIT_EXPIRY`] (it stops earlier with the list); each reason says the entry is a DEMO and
/// names the scenario and the vehicle (its 1-based place among the scenario's `[[vehicles]]`),
/// so nobody takes it for a real one.
///
/// `every_vehicle` (`utkik-sim hitlist --every-vehicle`, the ANPR field test, which wants many
/// alerts) lists every car of the scenario, not only those with `hit_list = true`; each plate once.
pub fn scenario_hit_list(
    scenario: &Scenario,
    issued_at_usec: u64,
    valid_until_usec: u64,
    every_vehicle: bool,
) -> utkik_shared::hitlist::SignedHitList {
    use utkik_shared::hitlist::{demo, tsv};
    let expires_usec = utkik_shared::utc::parse_utc_usec(DEMO_HIT_EXPIRY).expect("DEMO_HIT_EXPIRY is a date");
    let mut listed = std::collections::HashSet::new();
    let entries: Vec<tsv::TypedEntry> = scenario
        .vehicles
        .iter()
        .enumerate()
        .filter(|(_, v)| v.hit_list || every_vehicle)
        .filter(|(_, v)| listed.insert(utkik_shared::plate::normalize(&v.plate)))
        .map(|(i, v)| tsv::TypedEntry {
            line: 0,
            plate: v.plate.clone(),
            expires_usec,
            reason: if v.hit_list {
                format!(
                    "DEMO: scenario {} vehicle {} (not a real vehicle of interest)",
                    scenario.name,
                    i + 1
                )
            } else {
                format!(
                    "DEMO: field test, every car of scenario {} (vehicle {}; not a real vehicle of interest)",
                    scenario.name,
                    i + 1
                )
            },
            added_by: None,
        })
        .collect();
    let list_id = format!(
        "DEMO-{}-{}",
        scenario.name,
        utkik_shared::utc::format_utc_usec(issued_at_usec)
    );
    demo::sign(tsv::document_from_entries(
        &entries,
        &list_id,
        demo::DEMO_SIGNER,
        issued_at_usec,
        valid_until_usec,
    ))
}

/// Expiry date of every DEMO hit-list entry (UTC; the entry stops hitting at the start of it).
pub const DEMO_HIT_EXPIRY: &str = "2099-12-31";

/// Default validity of a DEMO list written by `utkik-sim hitlist`, hours.
pub const DEMO_LIST_VALID_HOURS: u64 = 24;

/// Writes [`scenario_hit_list`] issued at `issued_at_usec`, valid until `valid_until_usec`, to
/// `path` (all cars when `every_vehicle`); returns the number of entries.
///
/// # Errors
/// The file cannot be written.
pub fn write_scenario_hit_list(
    scenario: &Scenario,
    path: &std::path::Path,
    issued_at_usec: u64,
    valid_until_usec: u64,
    every_vehicle: bool,
) -> std::io::Result<usize> {
    let signed = scenario_hit_list(scenario, issued_at_usec, valid_until_usec, every_vehicle);
    std::fs::write(path, signed.to_json_pretty())?;
    Ok(signed.document.entries.len())
}

/// The end of a list issued at `now_usec` and valid `valid_hours` (`utkik-sim hitlist
/// --valid-hours`).
///
/// # Errors
/// A message when `valid_hours` is 0 or too large.
pub fn valid_until_usec(now_usec: u64, valid_hours: u64) -> Result<u64, String> {
    if valid_hours == 0 {
        return Err("--valid-hours must be at least 1".into());
    }
    valid_hours
        .checked_mul(3_600_000_000)
        .and_then(|d| now_usec.checked_add(d))
        .ok_or_else(|| format!("--valid-hours {valid_hours} is too far in the future"))
}

/// The onboard settings of one source of a multi-source scenario (`utkik-sim camera --source
/// NAME`): its camera, system id, source kind and legal basis, and for a fixed camera its site
/// (position from the scenario's origin and the mast's local position, ground level the origin's
/// altitude, heading the mast's yaw plus the gimbal's, pitch the gimbal's), so the onboard
/// georeferences from the configured site exactly as the simulator placed the camera.
///
/// A car (`kind = "vehicle"`) gets what the onboard's vehicle mode needs: `camera.mount =
/// "fixed"` with `camera.fixed_pitch_deg` the gimbal's pitch (the camera is fixed to the car),
/// `[vehicle_camera]` (`height_m_agl` the route's height above the road, where the simulator
/// puts camera and antenna; `yaw_offset_deg` the gimbal's yaw from the nose) and
/// `telemetry.endpoint = "nmea+tcp://NMEA_LISTEN"`, the server of `utkik-sim run --source NAME
/// --nmea-listen NMEA_LISTEN`.
///
/// # Errors
/// No such source (the message lists the scenario's).
pub fn onboard_source_overrides(
    scenario: &Scenario,
    source: &str,
    nmea_listen: std::net::SocketAddr,
) -> Result<Vec<(&'static str, String)>, String> {
    use utkik_shared::events::SourceKind;
    let (s, src) = scenario.for_source(source)?;
    let mut out = vec![
        ("camera.hfov_deg", format!("{:?}", s.camera.hfov_deg)),
        ("link.system_id", src.system_id.to_string()),
        ("source.kind", format!("\"{}\"", src.kind.name())),
        (
            "source.legal_basis",
            match src.legal_basis {
                utkik_shared::events::LegalBasis::Own => "\"own\"".to_owned(),
                utkik_shared::events::LegalBasis::OtherOperator => "\"other_operator\"".to_owned(),
            },
        ),
    ];
    match src.kind {
        SourceKind::Fixed => {
            let (
                crate::scenario::Route::Hover { at, yaw_deg },
                crate::scenario::GimbalSpec::Fixed {
                    pitch_deg,
                    yaw_deg: gimbal_yaw_deg,
                },
            ) = (&s.route, &s.gimbal)
            else {
                return Err(format!(
                    "source {source}: a fixed camera needs a hover route and a fixed gimbal"
                ));
            };
            let frame = utkik_shared::geo::LocalFrame::new(s.origin.geo());
            let g = frame.from_enu(glam::DVec3::new(at.east_m, at.north_m, 0.0));
            out.extend([
                ("site.lat_deg", format!("{:?}", g.lat_deg)),
                ("site.lon_deg", format!("{:?}", g.lon_deg)),
                ("site.ground_alt_m_amsl", format!("{:?}", s.origin.alt_m_amsl)),
                ("site.height_m_agl", format!("{:?}", at.alt_m_agl)),
                (
                    "site.heading_deg",
                    format!("{:?}", (yaw_deg + gimbal_yaw_deg).rem_euclid(360.0)),
                ),
                ("site.pitch_deg", format!("{:?}", pitch_deg)),
            ]);
        }
        SourceKind::Vehicle => {
            let (
                crate::scenario::Route::Waypoints { points, .. },
                crate::scenario::GimbalSpec::Fixed { pitch_deg, yaw_deg },
            ) = (&s.route, &s.gimbal)
            else {
                return Err(format!(
                    "source {source}: a car needs a waypoint route and a fixed gimbal"
                ));
            };
            let height_m_agl = points.first().map_or(0.0, |p| p.alt_m_agl);
            out.extend([
                ("camera.mount", "\"fixed\"".to_owned()),
                ("camera.fixed_pitch_deg", format!("{:?}", pitch_deg)),
                ("vehicle_camera.height_m_agl", format!("{:?}", height_m_agl)),
                ("vehicle_camera.yaw_offset_deg", format!("{:?}", yaw_deg)),
                ("telemetry.endpoint", format!("\"nmea+tcp://{nmea_listen}\"")),
            ]);
        }
        SourceKind::Drone => out.push(("camera.mount", "gimbal".to_owned())),
    }
    Ok(out)
}

/// The overrides as `KEY=VALUE` lines (each ending in a newline).
pub fn format_overrides(overrides: &[(&str, String)]) -> String {
    overrides.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

    #[test]
    fn a_fixed_source_gets_its_site_and_a_drone_its_system_id() {
        let s = Scenario::load(&scenarios_dir().join("centre-road.toml")).unwrap();
        let fixed = onboard_source_overrides(&s, "fixed-west", nmea()).unwrap();
        let get = |o: &[(&str, String)], k: &str| o.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(get(&fixed, "source.kind").as_deref(), Some("\"fixed\""));
        assert_eq!(get(&fixed, "source.legal_basis").as_deref(), Some("\"other_operator\""));
        assert_eq!(get(&fixed, "link.system_id").as_deref(), Some("11"));
        assert_eq!(get(&fixed, "site.height_m_agl").as_deref(), Some("6.0"));
        assert_eq!(get(&fixed, "site.heading_deg").as_deref(), Some("85.0"));
        assert_eq!(get(&fixed, "site.pitch_deg").as_deref(), Some("-12.0"));
        // 150 m west of the origin: the longitude is smaller, the latitude ~6 m south.
        let lon: f64 = get(&fixed, "site.lon_deg").unwrap().parse().unwrap();
        let lat: f64 = get(&fixed, "site.lat_deg").unwrap().parse().unwrap();
        assert!(
            (lon - (17.889 - 150.0 / (111_320.0 * 59.3979_f64.to_radians().cos()))).abs() < 1e-5,
            "{lon}"
        );
        assert!((lat - (59.3979 - 6.0 / 111_200.0)).abs() < 1e-5, "{lat}");
        assert_eq!(get(&fixed, "camera.mount"), None);
        let drone = onboard_source_overrides(&s, "drone-3", nmea()).unwrap();
        assert_eq!(get(&drone, "link.system_id").as_deref(), Some("3"));
        assert_eq!(get(&drone, "camera.mount").as_deref(), Some("gimbal"));
        assert_eq!(get(&drone, "site.lat_deg"), None);
        assert_eq!(get(&drone, "telemetry.endpoint"), None);
        let e = onboard_source_overrides(&s, "drone-9", nmea()).unwrap_err();
        assert!(
            e.contains("fixed-west, fixed-east, drone-1, drone-2, drone-3, car-1"),
            "{e}"
        );
    }

    fn nmea() -> std::net::SocketAddr {
        "127.0.0.1:10110".parse().unwrap()
    }

    #[test]
    fn a_car_gets_its_fixed_camera_its_height_and_its_nmea_endpoint() {
        let s = Scenario::load(&scenarios_dir().join("centre-road.toml")).unwrap();
        let car = onboard_source_overrides(&s, "car-1", "127.0.0.1:41234".parse().unwrap()).unwrap();
        let get = |k: &str| car.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(get("source.kind").as_deref(), Some("\"vehicle\""));
        assert_eq!(get("source.legal_basis").as_deref(), Some("\"own\""));
        assert_eq!(get("link.system_id").as_deref(), Some("21"));
        assert_eq!(get("camera.hfov_deg").as_deref(), Some("30.0"));
        assert_eq!(get("camera.mount").as_deref(), Some("\"fixed\""));
        assert_eq!(get("camera.fixed_pitch_deg").as_deref(), Some("-3.0"));
        assert_eq!(get("vehicle_camera.height_m_agl").as_deref(), Some("1.6"));
        assert_eq!(get("vehicle_camera.yaw_offset_deg").as_deref(), Some("0.0"));
        assert_eq!(
            get("telemetry.endpoint").as_deref(),
            Some("\"nmea+tcp://127.0.0.1:41234\"")
        );
        assert_eq!(get("site.lat_deg"), None);
    }

    #[test]
    fn the_written_hit_list_is_signed_and_holds_exactly_the_listed_cars() {
        use utkik_shared::hitlist::{demo, load_hit_list};
        use utkik_shared::plate::PlateGrammar;
        let s = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hitlist.json");
        // 2030-01-01T00:00:00Z.
        let now_usec = 1_893_456_000_000_000;
        assert_eq!(
            write_scenario_hit_list(&s, &path, now_usec, valid_until_usec(now_usec, 24).unwrap(), false).unwrap(),
            2,
            "the scenario lists two cars"
        );
        // The onboard's loader, the DEMO trust store (`--demo`) and grammar (`detect.plate_countries`
        // defaults to SE).
        let grammar = PlateGrammar::for_countries(&["SE"]).unwrap();
        let list = load_hit_list(&path, &demo::trust_store(), &grammar, now_usec).unwrap();
        assert_eq!((list.len(), list.signer()), (2, "cecilia"));
        assert!(list.list_id().starts_with("DEMO-anpr-road-"), "{}", list.list_id());
        for v in &s.vehicles {
            assert_eq!(list.is_hit(&v.plate, now_usec), v.hit_list, "{}", v.plate);
        }
        let hits = list.lookup("ABC 123", now_usec);
        assert!(
            hits[0].reason.starts_with("DEMO: scenario anpr-road vehicle 1"),
            "{}",
            hits[0].reason
        );
        assert_eq!(hits[0].added_by, "cecilia");
        // The list stops after 24 h, and is refused then.
        let until = now_usec + 24 * 3_600_000_000;
        assert!(!list.is_hit("ABC 123", until));
        assert!(load_hit_list(&path, &demo::trust_store(), &grammar, until).is_err());
        // Without the DEMO crew in the trust store it is refused.
        let e = load_hit_list(&path, &utkik_shared::authz::TrustStore::new(), &grammar, now_usec).unwrap_err();
        assert_eq!(e.field(), "document.signer");
        assert!(valid_until_usec(now_usec, 0).is_err());
        // The field test's list: every car, each plate once, the listed ones with their reason.
        let all = scenario_hit_list(&s, now_usec, until, true);
        let mut plates: Vec<String> = s
            .vehicles
            .iter()
            .map(|v| utkik_shared::plate::normalize(&v.plate))
            .collect();
        plates.sort();
        plates.dedup();
        assert_eq!(all.document.entries.len(), plates.len());
        let all = all.verify(&demo::trust_store(), &grammar, now_usec).unwrap();
        for v in &s.vehicles {
            assert!(all.is_hit(&v.plate, now_usec), "{}", v.plate);
        }
        assert!(
            all.lookup("ABC 123", now_usec)[0]
                .reason
                .contains("vehicle 1 (not a real")
        );
    }

    #[test]
    fn overrides_carry_the_scenario_field_of_view() {
        let s = Scenario::load(&scenarios_dir().join("person-search.toml")).unwrap();
        let o = onboard_camera_overrides(&s);
        assert_eq!(o[0].0, "camera.hfov_deg");
        assert_eq!(o[0].1.parse::<f64>().unwrap(), s.camera.hfov_deg);
        assert!(o[0].1.contains('.'), "a TOML float: {}", o[0].1);
        let text = format_overrides(&o);
        assert!(
            text.starts_with(&format!("camera.hfov_deg={:?}\n", s.camera.hfov_deg)),
            "{text}"
        );
        assert_eq!(text.lines().count(), o.len());
    }
}
