//! Telemetry in: MAVLink from the autopilot (UDP, TCP, serial) into a pose buffer that gives the
//! camera pose at each frame's capture time.

pub mod link;
pub mod pose;

pub use link::{TelemetryEndpoint, TelemetryStatus, bind_udp, run_telemetry};
pub use pose::{FramePose, PoseBuffer, PoseConfig, PoseStale};
