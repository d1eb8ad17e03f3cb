//! libFuzzer entry point of target `mavframe_decoder`; the body is `utkik_fuzz::mavframe::decoder`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::mavframe::decoder(data));
