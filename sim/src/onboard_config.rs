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

/// The overrides as `KEY=VALUE` lines (each ending in a newline).
pub fn format_overrides(overrides: &[(&str, String)]) -> String {
    overrides.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

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
