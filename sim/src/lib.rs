//! Simulator: vehicle, autopilot telemetry, world, camera video, ground truth, evaluation.

pub mod actors;
pub mod camera;
pub mod evaluate;
pub mod geojson;
pub mod impair;
pub mod link;
pub mod nmea_out;
pub mod onboard_config;
pub mod render;
pub mod run;
pub mod scenario;
pub mod simulation;
pub mod telemetry;
pub mod tiles;
pub mod truth;
pub mod vehicle;
pub mod video;
pub mod world;
