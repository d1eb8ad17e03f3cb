//! Simulator: vehicle, autopilot telemetry, world, camera video, ground truth, evaluation.

pub mod render;
pub mod actors;
pub mod geojson;
pub mod link;
pub mod run;
pub mod scenario;
pub mod simulation;
pub mod telemetry;
pub mod vehicle;
