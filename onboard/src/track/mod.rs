//! Tracking: per-class trackers (Kalman + two-stage association by score) carrying each
//! object's georeferenced ground position and velocity.

pub mod geometry;
pub mod kalman;
pub mod tracker;

pub use geometry::BoxPx;
pub use tracker::{Detection, GroundFix, GroundTrack, TrackReport, Tracker, TrackerConfig};
