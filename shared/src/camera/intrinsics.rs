//! [`Intrinsics`]: the pinhole model with optional radial (Brown k1, k2)
//! distortion, mapping pixels to camera-frame rays and back.

use glam::{DVec2, DVec3};
use serde::{Deserialize, Serialize};

use super::CameraError;

/// Radial lens distortion on normalized coordinates:
/// `x_d = x (1 + k1 r² + k2 r⁴)` with `r² = x² + y²` (OpenCV's k1, k2).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RadialDistortion {
    /// Second-order coefficient (negative: barrel).
    pub k1: f64,
    /// Fourth-order coefficient.
    pub k2: f64,
}

impl RadialDistortion {
    /// No distortion.
    pub const NONE: Self = Self { k1: 0.0, k2: 0.0 };

    /// Whether both coefficients are zero.
    pub fn is_none(&self) -> bool {
        self.k1 == 0.0 && self.k2 == 0.0
    }

    /// Distorted radius for undistorted radius `r`.
    fn radius(&self, r: f64) -> f64 {
        let r2 = r * r;
        r * (1.0 + self.k1 * r2 + self.k2 * r2 * r2)
    }

    /// Largest undistorted normalized radius up to which the model is monotonic
    /// (infinite when it always is). Beyond it the polynomial folds back and a
    /// distorted radius has two preimages, so we refuse to use it there.
    pub fn max_undistorted_radius(&self) -> f64 {
        // d(radius)/dr = 1 + 3 k1 s + 5 k2 s², s = r²: smallest positive root.
        let (a, b) = (5.0 * self.k2, 3.0 * self.k1);
        let s = if a == 0.0 {
            if b < 0.0 { -1.0 / b } else { f64::INFINITY }
        } else {
            let disc = b * b - 4.0 * a;
            if disc < 0.0 {
                f64::INFINITY
            } else {
                let q = disc.sqrt();
                [(-b - q) / (2.0 * a), (-b + q) / (2.0 * a)]
                    .into_iter()
                    .filter(|s| *s > 0.0)
                    .fold(f64::INFINITY, f64::min)
            }
        };
        s.sqrt()
    }

    /// Distorts normalized coordinates; `None` beyond [`Self::max_undistorted_radius`].
    pub fn distort(&self, xy: DVec2) -> Option<DVec2> {
        let r = xy.length();
        if r >= self.max_undistorted_radius() {
            return None;
        }
        if r == 0.0 {
            return Some(xy);
        }
        Some(xy * (self.radius(r) / r))
    }

    /// Undistorts normalized coordinates (safeguarded Newton on the radius, to
    /// 1e-14); `None` when the distorted radius is beyond what the monotonic
    /// part of the model can produce.
    pub fn undistort(&self, xy_d: DVec2) -> Option<DVec2> {
        let rd = xy_d.length();
        if rd == 0.0 || self.is_none() {
            return Some(xy_d);
        }
        let r_max = self.max_undistorted_radius();
        // Bracket [lo, hi] with radius(lo) <= rd <= radius(hi), radius increasing on it.
        let mut lo = 0.0;
        let mut hi = if r_max.is_finite() {
            if self.radius(r_max) <= rd {
                return None;
            }
            r_max
        } else {
            let mut h = rd.max(1e-6);
            while self.radius(h) < rd {
                h *= 2.0;
                if !h.is_finite() {
                    return None;
                }
            }
            h
        };
        let mut r = rd.clamp(lo, hi);
        for _ in 0..100 {
            let f = self.radius(r) - rd;
            if f.abs() <= 1e-15 * rd.max(1.0) {
                break;
            }
            if f < 0.0 {
                lo = r;
            } else {
                hi = r;
            }
            let r2 = r * r;
            let df = 1.0 + 3.0 * self.k1 * r2 + 5.0 * self.k2 * r2 * r2;
            let next = r - f / df;
            r = if df > 0.0 && next > lo && next < hi {
                next
            } else {
                0.5 * (lo + hi)
            };
            if hi - lo < 1e-15 * rd.max(1.0) {
                break;
            }
        }
        Some(xy_d * (r / rd))
    }
}

/// Pinhole intrinsics in pixels plus radial distortion.
///
/// The image spans `[0, width_px] × [0, height_px]` in continuous pixel
/// coordinates (pixel `(i, j)` is centred on `(i + 0.5, j + 0.5)`), so a
/// centred principal point is `(width_px / 2, height_px / 2)` and normalized
/// boxes map to pixels by multiplying with the image size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Intrinsics {
    /// Image width, pixels.
    pub width_px: u32,
    /// Image height, pixels.
    pub height_px: u32,
    /// Horizontal focal length, pixels.
    pub fx_px: f64,
    /// Vertical focal length, pixels.
    pub fy_px: f64,
    /// Principal point x, pixels from the left image edge.
    pub cx_px: f64,
    /// Principal point y, pixels from the top image edge.
    pub cy_px: f64,
    /// Radial distortion (none by default).
    #[serde(default)]
    pub distortion: RadialDistortion,
}

impl Intrinsics {
    /// From calibrated focal lengths and principal point (pixels), no
    /// distortion; checked with [`Self::validate`].
    pub fn new(
        width_px: u32,
        height_px: u32,
        fx_px: f64,
        fy_px: f64,
        cx_px: f64,
        cy_px: f64,
    ) -> Result<Self, CameraError> {
        let k = Self {
            width_px,
            height_px,
            fx_px,
            fy_px,
            cx_px,
            cy_px,
            distortion: RadialDistortion::NONE,
        };
        k.validate()?;
        Ok(k)
    }

    /// Square pixels, centred principal point, no distortion, and the given
    /// horizontal field of view (edge to edge of the image).
    pub fn from_hfov(width_px: u32, height_px: u32, hfov_rad: f64) -> Result<Self, CameraError> {
        if !(hfov_rad.is_finite() && hfov_rad > 0.0 && hfov_rad < std::f64::consts::PI) {
            return Err(CameraError::InvalidFieldOfView { hfov_rad });
        }
        let f = 0.5 * f64::from(width_px) / (0.5 * hfov_rad).tan();
        let k = Self {
            width_px,
            height_px,
            fx_px: f,
            fy_px: f,
            cx_px: 0.5 * f64::from(width_px),
            cy_px: 0.5 * f64::from(height_px),
            distortion: RadialDistortion::NONE,
        };
        k.validate()?;
        Ok(k)
    }

    /// The same intrinsics with distortion `d`, checked with [`Self::validate`].
    pub fn with_distortion(self, d: RadialDistortion) -> Result<Self, CameraError> {
        let k = Self { distortion: d, ..self };
        k.validate()?;
        Ok(k)
    }

    /// Checks sizes, focal lengths and that the distortion stays monotonic over
    /// the whole image (so every pixel has exactly one ray).
    pub fn validate(&self) -> Result<(), CameraError> {
        if self.width_px == 0 || self.height_px == 0 {
            return Err(CameraError::InvalidImageSize {
                width_px: self.width_px,
                height_px: self.height_px,
            });
        }
        if !(self.fx_px.is_finite() && self.fx_px > 0.0 && self.fy_px.is_finite() && self.fy_px > 0.0) {
            return Err(CameraError::InvalidFocalLength {
                fx_px: self.fx_px,
                fy_px: self.fy_px,
            });
        }
        if !(self.cx_px.is_finite() && self.cy_px.is_finite()) {
            return Err(CameraError::InvalidPrincipalPoint {
                cx_px: self.cx_px,
                cy_px: self.cy_px,
            });
        }
        let RadialDistortion { k1, k2 } = self.distortion;
        if !(k1.is_finite() && k2.is_finite()) {
            return Err(CameraError::InvalidDistortion { k1, k2 });
        }
        let max_radius = self.distortion.max_undistorted_radius();
        if max_radius.is_finite() {
            // The farthest corner must be reachable from the monotonic part.
            let (w, h) = (f64::from(self.width_px), f64::from(self.height_px));
            let corner_rd = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)]
                .into_iter()
                .map(|(u, v)| ((u - self.cx_px) / self.fx_px).hypot((v - self.cy_px) / self.fy_px))
                .fold(0.0, f64::max);
            if self.distortion.radius(max_radius) <= corner_rd {
                return Err(CameraError::DistortionFoldsInsideImage {
                    k1,
                    k2,
                    max_radius,
                    corner_radius: corner_rd,
                });
            }
        }
        Ok(())
    }

    /// Horizontal field of view, radians, ignoring distortion.
    pub fn hfov_rad(&self) -> f64 {
        (self.cx_px / self.fx_px).atan() + ((f64::from(self.width_px) - self.cx_px) / self.fx_px).atan()
    }

    /// Vertical field of view, radians, ignoring distortion.
    pub fn vfov_rad(&self) -> f64 {
        (self.cy_px / self.fy_px).atan() + ((f64::from(self.height_px) - self.cy_px) / self.fy_px).atan()
    }

    /// Pixel of normalized image coordinates (0..1 across, 0..1 down), as in
    /// detection boxes.
    pub fn pixel_from_normalized(&self, xy: [f64; 2]) -> [f64; 2] {
        [xy[0] * f64::from(self.width_px), xy[1] * f64::from(self.height_px)]
    }

    /// Normalized image coordinates (0..1 across, 0..1 down) of a pixel.
    pub fn normalized_from_pixel(&self, px: [f64; 2]) -> [f64; 2] {
        [px[0] / f64::from(self.width_px), px[1] / f64::from(self.height_px)]
    }

    /// Whether `px` lies in the image `[0, width] × [0, height]`.
    pub fn contains(&self, px: [f64; 2]) -> bool {
        (0.0..=f64::from(self.width_px)).contains(&px[0]) && (0.0..=f64::from(self.height_px)).contains(&px[1])
    }

    /// Unit ray in the camera frame (x right, y down, z forward) through pixel
    /// `[u, v]`, or `None` when the pixel lies beyond the range the distortion
    /// model can invert (never inside an image that passed [`Self::validate`]).
    pub fn try_pixel_to_ray_cam(&self, px: [f64; 2]) -> Option<DVec3> {
        let xy_d = DVec2::new((px[0] - self.cx_px) / self.fx_px, (px[1] - self.cy_px) / self.fy_px);
        let xy = self.distortion.undistort(xy_d)?;
        Some(DVec3::new(xy.x, xy.y, 1.0).normalize())
    }

    /// Unit ray in the camera frame (x right, y down, z forward) through pixel
    /// `[u, v]`. Distortion is inverted iteratively. For a pixel beyond the
    /// invertible range (far outside a validated image) the ray at the edge of
    /// that range, in the pixel's direction, is returned; use
    /// [`Self::try_pixel_to_ray_cam`] to be told instead.
    pub fn pixel_to_ray_cam(&self, px: [f64; 2]) -> DVec3 {
        self.try_pixel_to_ray_cam(px).unwrap_or_else(|| {
            let dir = DVec2::new((px[0] - self.cx_px) / self.fx_px, (px[1] - self.cy_px) / self.fy_px).normalize();
            let xy = dir * self.distortion.max_undistorted_radius();
            DVec3::new(xy.x, xy.y, 1.0).normalize()
        })
    }

    /// Pixel `[u, v]` where a camera-frame ray (any length) appears; `None` when
    /// the ray points sideways or backwards (z <= 0) or beyond the range where
    /// the distortion model is monotonic. The result may lie outside the image;
    /// check with [`Self::contains`].
    pub fn ray_cam_to_pixel(&self, ray_cam: DVec3) -> Option<[f64; 2]> {
        let len = ray_cam.length();
        if !len.is_finite() || ray_cam.z.is_nan() || ray_cam.z <= 1e-12 * len {
            return None;
        }
        let xy = DVec2::new(ray_cam.x / ray_cam.z, ray_cam.y / ray_cam.z);
        let d = self.distortion.distort(xy)?;
        Some([self.fx_px * d.x + self.cx_px, self.fy_px * d.y + self.cy_px])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn ninety_degrees_hfov_puts_the_edges_at_45_degrees() {
        let k = Intrinsics::from_hfov(1000, 600, FRAC_PI_2).unwrap();
        assert!((k.fx_px - 500.0).abs() < 1e-9 && (k.fy_px - 500.0).abs() < 1e-9);
        assert_eq!((k.cx_px, k.cy_px), (500.0, 300.0));
        let left = k.pixel_to_ray_cam([0.0, 300.0]);
        assert!(
            (left - DVec3::new(-1.0, 0.0, 1.0).normalize()).length() < 1e-12,
            "{left}"
        );
        let right = k.pixel_to_ray_cam([1000.0, 300.0]);
        assert!((right - DVec3::new(1.0, 0.0, 1.0).normalize()).length() < 1e-12);
        let top = k.pixel_to_ray_cam([500.0, 0.0]);
        assert!((top - DVec3::new(0.0, -0.6, 1.0).normalize()).length() < 1e-12, "{top}");
        assert!((k.hfov_rad() - FRAC_PI_2).abs() < 1e-12);
        assert!((k.vfov_rad() - 2.0 * 0.6f64.atan()).abs() < 1e-12);
    }

    #[test]
    fn calibrated_constructor_checks_its_input() {
        let k = Intrinsics::new(640, 480, 600.0, 610.0, 330.0, 235.0).unwrap();
        let px = k.ray_cam_to_pixel(DVec3::new(0.1, -0.2, 1.0)).unwrap();
        assert!((px[0] - 390.0).abs() < 1e-9 && (px[1] - 113.0).abs() < 1e-9, "{px:?}");
        assert!(matches!(
            Intrinsics::new(640, 480, 0.0, 610.0, 330.0, 235.0),
            Err(CameraError::InvalidFocalLength { .. })
        ));
    }

    #[test]
    fn normalized_coordinates_span_the_image() {
        let k = Intrinsics::from_hfov(640, 480, 1.0).unwrap();
        assert_eq!(k.pixel_from_normalized([0.5, 0.5]), [320.0, 240.0]);
        assert_eq!(k.pixel_from_normalized([1.0, 0.0]), [640.0, 0.0]);
        assert_eq!(k.normalized_from_pixel([160.0, 480.0]), [0.25, 1.0]);
    }

    #[test]
    fn pixels_beyond_the_invertible_range_clamp_or_report() {
        // k1 = -0.3 folds at r = 1.054 (distorted 0.703); this image reaches 0.7 at the corners.
        let k = Intrinsics {
            width_px: 1000,
            height_px: 1000,
            fx_px: 1010.0,
            fy_px: 1010.0,
            cx_px: 500.0,
            cy_px: 500.0,
            distortion: RadialDistortion { k1: -0.3, k2: 0.0 },
        };
        k.validate().unwrap();
        assert!(k.try_pixel_to_ray_cam([1000.0, 1000.0]).is_some());
        let far = [500.0 + 1010.0 * 0.8, 500.0];
        assert_eq!(k.try_pixel_to_ray_cam(far), None);
        let clamped = k.pixel_to_ray_cam(far);
        let r_max = k.distortion.max_undistorted_radius();
        assert!(
            (clamped - DVec3::new(r_max, 0.0, 1.0).normalize()).length() < 1e-12,
            "{clamped}"
        );
    }

    #[test]
    fn rays_behind_or_sideways_have_no_pixel() {
        let k = Intrinsics::from_hfov(640, 480, 1.0).unwrap();
        assert_eq!(k.ray_cam_to_pixel(DVec3::new(0.0, 0.0, -1.0)), None);
        assert_eq!(k.ray_cam_to_pixel(DVec3::new(1.0, 0.0, 0.0)), None);
        assert_eq!(k.ray_cam_to_pixel(DVec3::ZERO), None);
        assert_eq!(k.ray_cam_to_pixel(DVec3::new(0.0, 0.0, 2.0)), Some([320.0, 240.0]));
    }

    #[test]
    fn distortion_moves_pixels_radially_by_hand_computed_amount() {
        let k = Intrinsics::from_hfov(1000, 1000, FRAC_PI_2)
            .unwrap()
            .with_distortion(RadialDistortion { k1: -0.1, k2: 0.01 })
            .unwrap();
        // Undistorted normalized (0.5, 0): r² = 0.25, factor 1 - 0.025 + 0.000625.
        let px = k.ray_cam_to_pixel(DVec3::new(0.5, 0.0, 1.0)).unwrap();
        assert!((px[0] - (500.0 + 500.0 * 0.5 * 0.975625)).abs() < 1e-9, "{px:?}");
        assert!((px[1] - 500.0).abs() < 1e-12);
        let ray = k.pixel_to_ray_cam(px);
        assert!((ray - DVec3::new(0.5, 0.0, 1.0).normalize()).length() < 1e-12);
    }

    #[test]
    fn monotonic_limit_is_where_the_derivative_vanishes() {
        let d = RadialDistortion { k1: -0.3, k2: 0.0 };
        let r = d.max_undistorted_radius();
        assert!((r - (1.0f64 / 0.9).sqrt()).abs() < 1e-12);
        assert!(
            RadialDistortion { k1: 0.2, k2: 0.1 }
                .max_undistorted_radius()
                .is_infinite()
        );
        assert_eq!(d.distort(DVec2::new(r * 1.01, 0.0)), None);
        // Beyond the largest distorted radius nothing undistorts.
        assert_eq!(d.undistort(DVec2::new(d.radius(r) * 1.01, 0.0)), None);
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(
            Intrinsics::from_hfov(640, 480, 0.0),
            Err(CameraError::InvalidFieldOfView { hfov_rad: 0.0 })
        );
        assert!(matches!(
            Intrinsics::from_hfov(640, 480, 3.2),
            Err(CameraError::InvalidFieldOfView { .. })
        ));
        assert_eq!(
            Intrinsics::from_hfov(0, 480, 1.0),
            Err(CameraError::InvalidImageSize {
                width_px: 0,
                height_px: 480
            })
        );
        let k = Intrinsics::from_hfov(640, 480, 1.0).unwrap();
        let bad = Intrinsics { fx_px: -1.0, ..k };
        assert!(matches!(bad.validate(), Err(CameraError::InvalidFocalLength { fx_px, .. }) if fx_px == -1.0));
        let bad = Intrinsics { cy_px: f64::NAN, ..k };
        assert!(matches!(bad.validate(), Err(CameraError::InvalidPrincipalPoint { .. })));
        assert!(matches!(
            k.with_distortion(RadialDistortion {
                k1: f64::INFINITY,
                k2: 0.0
            }),
            Err(CameraError::InvalidDistortion { .. })
        ));
        // A strong barrel on a 120° lens folds back before the corners.
        let wide = Intrinsics::from_hfov(1000, 1000, 120f64.to_radians()).unwrap();
        let err = wide
            .with_distortion(RadialDistortion { k1: -0.4, k2: 0.0 })
            .unwrap_err();
        assert!(matches!(err, CameraError::DistortionFoldsInsideImage { .. }), "{err}");
        assert!(err.to_string().contains("folds back"));
    }

    proptest! {
        #[test]
        fn pixel_ray_pixel_round_trip(
            u in 0.0f64..=1920.0, v in 0.0f64..=1080.0,
            k1 in -0.25f64..0.25, k2 in -0.05f64..0.05, hfov_deg in 30.0f64..100.0,
        ) {
            let k = Intrinsics::from_hfov(1920, 1080, hfov_deg.to_radians()).unwrap();
            let Ok(k) = k.with_distortion(RadialDistortion { k1, k2 }) else { return Ok(()) };
            let ray = k.try_pixel_to_ray_cam([u, v]).unwrap();
            prop_assert!((ray.length() - 1.0).abs() < 1e-12);
            let back = k.ray_cam_to_pixel(ray).unwrap();
            prop_assert!((back[0] - u).abs() < 1e-6 && (back[1] - v).abs() < 1e-6, "{:?} vs {:?}", back, [u, v]);
        }
    }
}
