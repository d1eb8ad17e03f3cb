//! Signing timestamps: MAVLink 2 signing counts in units of 10 µs since 2015-01-01 00:00:00 UTC
//! (48 bits on the wire, enough until 2104). And the floor below which a local clock is taken
//! as not set: a companion computer without a real-time clock boots in 1970 until GPS or NTP
//! sets it, and a window started from such a clock would take any old frame for a new one.

/// Unix time of the signing epoch (2015-01-01 00:00:00 UTC), seconds.
pub const SIGNING_EPOCH_UNIX_S: u64 = 1_420_070_400;

/// A clock before this Unix time (2025-01-01 00:00:00 UTC, before this code was written) is
/// not set: frames that need a replay check are refused rather than all accepted.
pub const CLOCK_FLOOR_UNIX_S: u64 = 1_735_689_600;

/// The signing timestamp (10 µs units since 2015) of a Unix time in µs (0 before 2015).
pub fn signing_timestamp(unix_usec: u64) -> u64 {
    unix_usec.saturating_sub(SIGNING_EPOCH_UNIX_S * 1_000_000) / 10
}

/// Whether a clock reading (Unix µs) is past [`CLOCK_FLOOR_UNIX_S`].
pub fn clock_is_set(unix_usec: u64) -> bool {
    unix_usec >= CLOCK_FLOOR_UNIX_S * 1_000_000
}
