//! libFuzzer entry point of target `hit_list`; the body is `utkik_fuzz::hitlist::signed`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::hitlist::signed(data));
