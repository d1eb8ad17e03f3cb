//! Onboard pipeline: GStreamer ingest, tract detection, tracking, georeferencing, gating, budgeted MAVLink out.

pub mod config;
pub mod detect;
pub mod frame;
pub mod gate;
pub mod ingest;
pub mod keys;
pub mod out;
pub mod pipeline;
pub mod privacy;
pub mod shutdown;
pub mod telemetry;
pub mod track;
pub mod volatile;

#[cfg(test)]
pub(crate) mod testing;
