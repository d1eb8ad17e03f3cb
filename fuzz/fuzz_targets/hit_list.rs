//! libFuzzer entry point of target `hit_list`; the body is `utkik_fuzz::files::hit_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::files::hit_list(data));
