//! Ground station (Bevy): map, vehicle, tracks, alerts, authorization, recording, replay.
//!
//! - [`state`]: the world model (plain Rust, tested without Bevy);
//! - [`link`]: the live message source (UDP/TCP/serial thread, decoder, tlog recording);
//! - [`map`]: projection and GeoJSON overlays;
//! - [`plugins`]: the Bevy plugins that feed and draw the world.

pub mod audit_log;
pub mod auth;
pub mod authorization;
pub mod centre;
pub mod console;
pub mod derived_files;
pub mod hit_history;
pub mod hitlist_cli;
pub mod link;
pub mod map;
pub mod ops;
pub mod plugins;
pub mod replay;
pub mod report;
pub mod restore;
pub mod state;
pub mod stored_reads;
pub mod synth;
pub mod urgent;
