//! libFuzzer entry point of target `link_signature`; the body is `utkik_fuzz::signing::link_signature`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::signing::link_signature(data));
