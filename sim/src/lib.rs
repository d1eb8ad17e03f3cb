//! Simulator: vehicle, autopilot telemetry, world, camera video, ground truth, evaluation.

pub mod actors;
pub mod link;
pub mod scenario;
pub mod telemetry;
pub mod vehicle;
