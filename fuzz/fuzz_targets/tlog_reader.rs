//! libFuzzer entry point of target `tlog_reader`; the body is `utkik_fuzz::tlog::reader_and_index`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| utkik_fuzz::tlog::reader_and_index(data));
