//! The bodies of the fuzz targets, as plain functions from bytes.
//!
//! Why a library: the libFuzzer binaries in `fuzz_targets/` (nightly, `cargo fuzz`) and the
//! stable corpus replay in `tests/replay.rs` call the very same functions, so a crash the fuzzer
//! found once stays a test that CI runs without nightly. Each target takes the raw input and, where
//! structure helps the fuzzer (frames with valid CRCs, signed documents to mutate), reads it through
//! [`arbitrary`]; every target asserts properties (no panic, round trips, never accepting what was
//! not signed), not just "does not crash".
//!
//! [`TARGETS`] names every target; `fuzz/README.md` has the commands and the figures.

pub mod audit;
pub mod authz;
pub mod dialect;
pub mod events;
pub mod files;
pub mod hitlist;
pub mod mavframe;
pub mod nmea;
pub mod plate;
pub mod signing;
pub mod tlog;
pub mod upload;

#[cfg(feature = "apps")]
pub mod apps;

/// A fuzz target: its name (the `cargo fuzz run NAME` and the `corpus/NAME` folder) and body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target whose code lives in `utkik-shared`.
pub const SHARED_TARGETS: &[Target] = &[
    ("mavframe_decoder", mavframe::decoder),
    ("dialect_decode", dialect::decode),
    ("link_signature", signing::link_signature),
    ("tlog_reader", tlog::reader_and_index),
    ("authz_document", authz::document),
    ("trust_store", files::trust_store),
    ("issuer_key", files::issuer_key),
    ("link_key", files::link_key),
    ("hit_list", hitlist::signed),
    ("hit_list_tsv", hitlist::typed),
    ("audit_verify", audit::verify),
    ("plate_grammar", plate::grammar),
    ("upload_bundle", upload::bundle),
    ("station_event", events::station_event),
    ("nmea", nmea::stream),
];

/// Every target whose code lives in the ground, onboard or simulator crate.
#[cfg(feature = "apps")]
pub const APP_TARGETS: &[Target] = &[
    ("users_file", apps::users_file),
    ("onboard_config", apps::onboard_config),
    ("scenario_toml", apps::scenario_toml),
    ("geojson", apps::geojson),
    ("mbtiles", apps::mbtiles),
    ("console_command", apps::console_command),
];

/// Input as UTF-8 text, or `None` (the text parsers are fed text; invalid UTF-8 is rejected by
/// `std::fs::read_to_string` before them).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
