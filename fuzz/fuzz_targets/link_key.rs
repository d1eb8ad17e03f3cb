//! libFuzzer entry point of target `link_key`; the body is `utkik_fuzz::files::link_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::files::link_key(data));
