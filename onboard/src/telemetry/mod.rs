//! Telemetry in: the camera pose at each frame's capture time, from one of three sources by
//! `source.kind`: MAVLink from a drone's autopilot (UDP, TCP, serial), NMEA from the GNSS
//! receiver of a camera in a car, or the configured place of a camera at a fixed site. All three
//! fill the same pose buffer, so georeferencing is one code path.

pub mod link;
pub mod nmea;
pub mod pose;
pub mod site;

pub use link::{TelemetryEndpoint, TelemetryStatus, bind_udp, run_telemetry};
pub use nmea::{NmeaEndpoint, NmeaFeed, VehicleCamera, run_nmea};
pub use pose::{FramePose, PoseBuffer, PoseConfig, PoseFix, PoseStale};
pub use site::FixedSite;
