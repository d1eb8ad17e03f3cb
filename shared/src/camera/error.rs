//! [`CameraError`]: why camera parameters or a gimbal report were rejected.

/// Invalid camera parameters or gimbal report; each variant carries the values at fault.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum CameraError {
    /// Width or height is zero.
    #[error("image size {width_px}x{height_px} px: both must be > 0")]
    InvalidImageSize {
        /// Image width, pixels.
        width_px: u32,
        /// Image height, pixels.
        height_px: u32,
    },
    /// Horizontal field of view not in (0, π).
    #[error("horizontal field of view {hfov_rad} rad must be finite and in (0, pi)")]
    InvalidFieldOfView {
        /// The rejected value.
        hfov_rad: f64,
    },
    /// A focal length is not finite and positive.
    #[error("focal lengths fx {fx_px} px, fy {fy_px} px must be finite and > 0")]
    InvalidFocalLength {
        /// Horizontal focal length, pixels.
        fx_px: f64,
        /// Vertical focal length, pixels.
        fy_px: f64,
    },
    /// The principal point is not finite.
    #[error("principal point ({cx_px}, {cy_px}) px must be finite")]
    InvalidPrincipalPoint {
        /// Principal point x, pixels.
        cx_px: f64,
        /// Principal point y, pixels.
        cy_px: f64,
    },
    /// A distortion coefficient is not finite.
    #[error("distortion coefficients k1 {k1}, k2 {k2} must be finite")]
    InvalidDistortion {
        /// Second-order radial coefficient.
        k1: f64,
        /// Fourth-order radial coefficient.
        k2: f64,
    },
    /// The distortion model folds back (stops being monotonic) inside the image,
    /// so some pixels would have two rays.
    #[error(
        "distortion k1 {k1}, k2 {k2} folds back at normalized radius {max_radius:.4}, inside the image (corner at {corner_radius:.4})"
    )]
    DistortionFoldsInsideImage {
        /// Second-order radial coefficient.
        k1: f64,
        /// Fourth-order radial coefficient.
        k2: f64,
        /// Undistorted normalized radius where the model stops being monotonic.
        max_radius: f64,
        /// Undistorted normalized radius of the farthest image corner.
        corner_radius: f64,
    },
    /// The gimbal quaternion is not finite or far from unit length (MAVLink
    /// sends NaN when the attitude is unknown).
    #[error("gimbal quaternion {q_wxyz:?} (w, x, y, z) is not finite or not of unit length")]
    InvalidGimbalQuaternion {
        /// The rejected quaternion, w x y z.
        q_wxyz: [f32; 4],
    },
    /// Both GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME and _YAW_IN_EARTH_FRAME are set,
    /// which MAVLink forbids.
    #[error("gimbal flags {flags:#06x} set both YAW_IN_VEHICLE_FRAME and YAW_IN_EARTH_FRAME")]
    ConflictingGimbalYawFlags {
        /// The raw GIMBAL_DEVICE_FLAGS value.
        flags: u16,
    },
}
