//! libFuzzer entry point of target `issuer_key`; the body is `utkik_fuzz::files::issuer_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::files::issuer_key(data));
