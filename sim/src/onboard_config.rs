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
/// (`utkik_shared::hitlist`: plate, expiry, reason, tab-separated). The entries expire at the
/// start of 2099-12-31 so the demo keeps working; the reason says they are DEMO entries.
/// `utkik-sim hitlist --scenario FILE --out FILE` writes it; the onboard reads it with
/// `detect.plate_hit_list`.
pub fn scenario_hit_list(scenario: &Scenario) -> String {
    let mut text = format!(
        "# DEMO hit list of scenario `{}` (utkik-sim hitlist): plate<TAB>expires (UTC)<TAB>reason\n",
        scenario.name
    );
    for v in scenario.vehicles.iter().filter(|v| v.hit_list) {
        text.push_str(&format!(
            "{}\t2099-12-31\tDEMO: vehicle of interest in scenario {}\n",
            v.plate, scenario.name
        ));
    }
    text
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
    fn the_hit_list_holds_exactly_the_scenarios_listed_cars_and_loads() {
        use utkik_shared::hitlist::HitList;
        use utkik_shared::plate::{PlateGrammar, normalize};
        let s = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
        let text = scenario_hit_list(&s);
        let list = HitList::parse(&text, &PlateGrammar::for_countries(&["SE"]).unwrap()).unwrap();
        let want: Vec<&str> = s
            .vehicles
            .iter()
            .filter(|v| v.hit_list)
            .map(|v| v.plate.as_str())
            .collect();
        assert_eq!(want.len(), 2, "the scenario lists two cars");
        assert_eq!(list.len(), want.len());
        let now = 1_800_000_000_000_000;
        for v in &s.vehicles {
            assert_eq!(list.is_hit(&normalize(&v.plate), now), v.hit_list, "{}", v.plate);
        }
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
