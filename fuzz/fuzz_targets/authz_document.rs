//! libFuzzer entry point of target `authz_document`; the body is `utkik_fuzz::authz::document`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::authz::document(data));
