//! libFuzzer entry point of target `hit_list_tsv`; the body is `utkik_fuzz::hitlist::typed`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::hitlist::typed(data));
