//! `utkik-sim camera --scenario FILE` prints the scenario's camera as onboard overrides whose
//! keys and value types are those of the onboard's checked-in configuration
//! (`onboard/config/default.toml`, read as a TOML file: the simulator does not depend on the
//! onboard crate).

use std::path::Path;
use std::process::Command;

use utkik_sim::scenario::{Scenario, scenarios_dir};

fn onboard_default_config() -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../onboard/config/default.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value at dotted `key` in `table`.
fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let (first, rest) = key.split_once('.').unwrap_or((key, ""));
    let v = table.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        lookup(v.as_table()?, rest)
    }
}

#[test]
fn printed_overrides_are_onboard_keys_with_the_scenario_values() {
    let defaults = onboard_default_config();
    for name in ["urban-street", "anpr-road", "person-search"] {
        let path = scenarios_dir().join(format!("{name}.toml"));
        let out = Command::new(env!("CARGO_BIN_EXE_utkik-sim"))
            .args(["camera", "--scenario"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut hfov = None;
        for line in text.lines() {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}: not KEY=VALUE: {line:?}"));
            let default = lookup(&defaults, key).unwrap_or_else(|| panic!("{name}: onboard has no key {key}"));
            // The onboard parses VALUE as TOML (a bare word as a string): same type as its default.
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .map(|t| t["v"].clone())
                .unwrap_or_else(|_| toml::Value::String(value.to_owned()));
            assert_eq!(parsed.type_str(), default.type_str(), "{name}: {line}");
            if key == "camera.hfov_deg" {
                hfov = parsed.as_float();
            }
        }
        let scenario = Scenario::load(&path).unwrap();
        assert_eq!(hfov, Some(scenario.camera.hfov_deg), "{name}: {text}");
    }
}

#[test]
fn a_missing_scenario_is_an_error_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_utkik-sim"))
        .args(["camera", "--scenario", "no/such.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such.toml"));
}
