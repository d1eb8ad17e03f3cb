//! libFuzzer entry point of target `mbtiles`; the body is `utkik_fuzz::apps::mbtiles`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::apps::mbtiles(data));
