//! libFuzzer entry point of target `nmea`; the body is `utkik_fuzz::nmea::stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::nmea::stream(data));
