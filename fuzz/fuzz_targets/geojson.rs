//! libFuzzer entry point of target `geojson`; the body is `utkik_fuzz::apps::geojson`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::apps::geojson(data));
