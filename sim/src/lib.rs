//! Simulator: vehicle, autopilot telemetry, world, camera video, ground truth, evaluation.
