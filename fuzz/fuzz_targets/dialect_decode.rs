//! libFuzzer entry point of target `dialect_decode`; the body is `utkik_fuzz::dialect::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::dialect::decode(data));
