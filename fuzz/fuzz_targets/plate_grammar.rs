//! libFuzzer entry point of target `plate_grammar`; the body is `utkik_fuzz::plate::grammar`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::plate::grammar(data));
