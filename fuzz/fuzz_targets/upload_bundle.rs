//! libFuzzer entry point of target `upload_bundle`; the body is `utkik_fuzz::upload::bundle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::upload::bundle(data));
