//! libFuzzer entry point of target `trust_store`; the body is `utkik_fuzz::files::trust_store`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::files::trust_store(data));
