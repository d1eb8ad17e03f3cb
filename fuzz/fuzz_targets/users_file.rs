//! libFuzzer entry point of target `users_file`; the body is `utkik_fuzz::apps::users_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::apps::users_file(data));
