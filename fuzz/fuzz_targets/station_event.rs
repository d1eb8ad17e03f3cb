//! libFuzzer entry point of target `station_event`; the body is `utkik_fuzz::events::station_event`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::events::station_event(data));
