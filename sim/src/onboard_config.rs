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

/// The scenario's ANPR hit list (cars with `hit_list = true`) in the onboard's hit-list format
/// (`utkik_shared::hitlist`: plate, expiry, reason, tab-separated). `utkik-sim hitlist
/// --scenario FILE --out FILE` writes it; the onboard reads it with `detect.plate_hit_list`.
///
/// The entries expire at the start of [`DEMO_HIT_EXPIRY`], a fixed far date rather than "a year
/// from now", so the same scenario always gives the same file and recorded demo runs replay
/// alike. Each reason says the entry is a DEMO and names the scenario and the vehicle (its
/// 1-based place among the scenario's `[[vehicles]]`), so nobody takes it for a real one.
pub fn scenario_hit_list(scenario: &Scenario) -> String {
    let mut text = format!(
        "# DEMO hit list of scenario `{}` (utkik-sim hitlist): plate<TAB>expires (UTC)<TAB>reason\n",
        scenario.name
    );
    for (i, v) in scenario.vehicles.iter().enumerate().filter(|(_, v)| v.hit_list) {
        text.push_str(&format!(
            "{}\t{DEMO_HIT_EXPIRY}\tDEMO: scenario {} vehicle {} (not a real vehicle of interest)\n",
            v.plate,
            scenario.name,
            i + 1
        ));
    }
    text
}

/// Expiry date of every DEMO hit-list entry (UTC; the entry stops hitting at the start of it).
pub const DEMO_HIT_EXPIRY: &str = "2099-12-31";

/// Writes [`scenario_hit_list`] to `path`; returns the number of entries.
///
/// # Errors
/// The file cannot be written.
pub fn write_scenario_hit_list(scenario: &Scenario, path: &std::path::Path) -> std::io::Result<usize> {
    std::fs::write(path, scenario_hit_list(scenario))?;
    Ok(scenario.vehicles.iter().filter(|v| v.hit_list).count())
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
    fn the_written_hit_list_loads_and_holds_exactly_the_listed_cars() {
        use utkik_shared::hitlist::HitList;
        use utkik_shared::plate::PlateGrammar;
        let s = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hitlist.tsv");
        assert_eq!(
            write_scenario_hit_list(&s, &path).unwrap(),
            2,
            "the scenario lists two cars"
        );
        // The onboard's loader and grammar (`detect.plate_countries` defaults to SE).
        let list = HitList::load(&path, &PlateGrammar::for_countries(&["SE"]).unwrap()).unwrap();
        assert_eq!(list.len(), 2);
        // 2030-01-01T00:00:00Z: well inside the DEMO validity.
        let now_usec = 1_893_456_000_000_000;
        for v in &s.vehicles {
            assert_eq!(list.is_hit(&v.plate, now_usec), v.hit_list, "{}", v.plate);
        }
        let hits = list.lookup("ABC 123", now_usec);
        assert!(
            hits[0].reason.starts_with("DEMO: scenario anpr-road vehicle 1"),
            "{}",
            hits[0].reason
        );
        let expiry_usec = utkik_shared::utc::parse_utc_usec(DEMO_HIT_EXPIRY).unwrap();
        assert!(!list.is_hit("ABC 123", expiry_usec), "DEMO entries expire too");
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
