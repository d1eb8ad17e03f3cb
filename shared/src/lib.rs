//! What the drone and the ground speak.
//!
//! Pure logic, no I/O runtime: the MAVLink dialect ([`dialect`]), and (added
//! module by module) domain types, camera/geo math, the authorization policy,
//! the audit and tlog formats. Adapters (sockets, GStreamer, tract, Bevy) live
//! in `onboard`, `ground` and `sim`.

pub mod atomic_file;
pub mod audit;
pub mod authz;
pub mod camera;
pub mod demo;
pub mod dialect;
pub mod events;
pub mod face;
pub mod geo;
pub mod hitlist;
pub mod image_transfer;
pub mod link_signing;
pub mod mavframe;
pub mod nmea;
pub mod plate;
pub mod seal;
pub mod secret_file;
pub mod tlog;
pub mod utc;
pub mod video_key;

// The generated dialect refers to `crate::utils` for serde defaults.
#[doc(hidden)]
pub use mavlink_core::utils;
