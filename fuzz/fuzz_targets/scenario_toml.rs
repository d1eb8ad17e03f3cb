//! libFuzzer entry point of target `scenario_toml`; the body is `utkik_fuzz::apps::scenario_toml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::apps::scenario_toml(data));
