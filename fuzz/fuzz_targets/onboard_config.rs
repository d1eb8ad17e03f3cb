//! libFuzzer entry point of target `onboard_config`; the body is `utkik_fuzz::apps::onboard_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::apps::onboard_config(data));
