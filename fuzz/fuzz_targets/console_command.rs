//! libFuzzer entry point of target `console_command`; the body is `utkik_fuzz::apps::console_command`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::apps::console_command(data));
