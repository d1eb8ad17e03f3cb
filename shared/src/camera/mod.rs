//! Camera geometry for georeferencing: where a pixel lands on the ground,
//! where a ground point appears in the image, what the camera covers and how
//! sure we are.
//!
//! Frames, once and for all:
//! - **Camera frame** (OpenCV): x right, y down, z forward along the optical axis.
//!   Pixels: the image spans `[0, width_px] × [0, height_px]`, pixel `(i, j)`
//!   covers `[i, i+1] × [j, j+1]`, its centre is `(i + 0.5, j + 0.5)`.
//! - **Gimbal frame** (MAVLink): x forward (optical axis), y right, z down
//!   (FRD). Camera `(x, y, z)` = gimbal `(y, z, x)`; see [`FRD_FROM_CAM`].
//! - **Body frame**: the vehicle's FRD; [`VehicleAttitude`] rotates it into NED.
//! - **NED**: the [`crate::geo::LocalFrame`] at the camera position.
//!
//! The gimbal attitude follows GIMBAL_DEVICE_ATTITUDE_STATUS: roll and pitch are
//! relative to the horizon, yaw to the vehicle heading or to north
//! ([`YawFrame`]); pitch -90° is nadir.

mod accuracy;
mod attitude;
mod error;
mod footprint;
mod intrinsics;
mod mount;
mod pose;
mod projection;
mod terrain;

pub use accuracy::PoseUncertainty;
pub use attitude::{GimbalAttitude, VehicleAttitude, YawFrame};
pub use error::CameraError;
pub use footprint::{FOOTPRINT_FAR_LIMIT_M, FOOTPRINT_SAMPLES_PER_EDGE};
pub use intrinsics::{Intrinsics, RadialDistortion};
pub use mount::CameraMount;
pub use pose::{CameraPose, FRD_FROM_CAM};
pub use projection::{Camera, MAX_GROUND_RANGE_M};
pub use terrain::{FlatTerrain, Terrain};
