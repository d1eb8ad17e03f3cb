//! libFuzzer entry point of target `audit_verify`; the body is `utkik_fuzz::audit::verify`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::audit::verify(data));
