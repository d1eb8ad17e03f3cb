//! The camera footprint: the ground the image covers, as a lon/lat polygon
//! for the map (and, later, for geofence checks with `geo`'s predicates).

use ::geo::{Coord, LineString, Polygon};
use glam::DVec3;

use super::{Camera, Terrain};

/// Horizontal distance from the camera beyond which the footprint is cut,
/// metres. Border rays that reach the ground farther away, or never (above
/// the horizon), are replaced by the point at this distance in their
/// azimuth, so an oblique view becomes a near edge plus an arc. 2 km is well
/// past where a person or a plate is more than a few pixels on our cameras.
pub const FOOTPRINT_FAR_LIMIT_M: f64 = 2_000.0;

/// Border samples per image edge (the corners included once), so distortion
/// and the horizon cut are followed closely enough for a map overlay.
pub const FOOTPRINT_SAMPLES_PER_EDGE: usize = 16;

impl Camera {
    /// Ground covered by the image, cut at [`FOOTPRINT_FAR_LIMIT_M`]: see
    /// [`Self::footprint_within`].
    pub fn footprint(&self, terrain: &dyn Terrain) -> Option<Polygon<f64>> {
        self.footprint_within(terrain, FOOTPRINT_FAR_LIMIT_M)
    }

    /// Ground covered by the image as a polygon of (longitude, latitude)
    /// degrees, image border sampled [`FOOTPRINT_SAMPLES_PER_EDGE`] times per
    /// edge, clockwise in the image (top edge left to right first). Border rays
    /// that miss the ground within `far_limit_m` horizontally are replaced by
    /// the point at `far_limit_m` in their azimuth (rays pointing straight up
    /// are dropped). `None` when no border ray reaches the ground within the
    /// limit: the camera sees only sky, or only ground beyond the limit, or
    /// it is below the terrain.
    pub fn footprint_within(&self, terrain: &dyn Terrain, far_limit_m: f64) -> Option<Polygon<f64>> {
        let placed = self.placed();
        let (w, h) = (
            f64::from(self.intrinsics.width_px),
            f64::from(self.intrinsics.height_px),
        );
        let n = FOOTPRINT_SAMPLES_PER_EDGE;
        let step = |i: usize| i as f64 / n as f64;
        let border = (0..n)
            .map(|i| [w * step(i), 0.0])
            .chain((0..n).map(|i| [w, h * step(i)]))
            .chain((0..n).map(|i| [w * (1.0 - step(i)), h]))
            .chain((0..n).map(|i| [0.0, h * (1.0 - step(i))]));
        let mut any_hit = false;
        let mut coords = Vec::with_capacity(4 * n + 1);
        for px in border {
            let ray_cam = self.intrinsics.pixel_to_ray_cam(px);
            let ray_ned = placed.cam_to_ned * ray_cam;
            // Slant range is at most the horizontal limit over the ray's horizontal share.
            let horizontal = ray_ned.truncate().length();
            let slant_limit = if horizontal > 1e-9 {
                far_limit_m / horizontal
            } else {
                f64::INFINITY
            };
            let hit = placed
                .ray_to_ground(ray_cam, terrain, slant_limit.min(super::MAX_GROUND_RANGE_M))
                .filter(|p| placed.frame.to_ned(p).truncate().length() <= far_limit_m);
            let point = match hit {
                Some(p) => {
                    any_hit = true;
                    p
                }
                None if horizontal > 1e-9 => {
                    let dir = ray_ned.truncate() / horizontal * far_limit_m;
                    placed.frame.from_ned(DVec3::new(dir.x, dir.y, 0.0))
                }
                None => continue,
            };
            coords.push(Coord {
                x: point.lon_deg,
                y: point.lat_deg,
            });
        }
        if !any_hit || coords.len() < 3 {
            return None;
        }
        Some(Polygon::new(LineString::new(coords), vec![]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CameraPose, FlatTerrain, GimbalAttitude, Intrinsics, YawFrame};
    use super::*;
    use crate::geo::{GeoPoint, LocalFrame};
    use ::geo::{Area, BoundingRect, Contains, Point};
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

    const HOME: GeoPoint = GeoPoint::new(59.9139, 10.7522, 100.0);
    const GROUND: FlatTerrain = FlatTerrain { alt_m_amsl: 0.0 };

    fn camera(pitch_rad: f64, yaw_rad: f64) -> Camera {
        Camera::new(
            Intrinsics::from_hfov(1000, 800, FRAC_PI_2).unwrap(),
            CameraPose {
                position: HOME,
                gimbal: GimbalAttitude::from_euler(0.0, pitch_rad, yaw_rad, YawFrame::North),
                ..Default::default()
            },
        )
    }

    /// Polygon vertices in metres (north, east) around HOME.
    fn local(poly: &Polygon<f64>) -> Vec<(f64, f64)> {
        let f = LocalFrame::new(HOME);
        poly.exterior()
            .coords()
            .map(|c| {
                let v = f.to_ned(&GeoPoint::new(c.y, c.x, 0.0));
                (v.x, v.y)
            })
            .collect()
    }

    #[test]
    fn nadir_footprint_is_200_by_160_m() {
        let poly = camera(-FRAC_PI_2, 0.0).footprint(&GROUND).unwrap();
        let pts = local(&poly);
        assert_eq!(pts.len(), 4 * FOOTPRINT_SAMPLES_PER_EDGE + 1); // closed ring
        let max_n = pts.iter().map(|p| p.0).fold(f64::MIN, f64::max);
        let min_n = pts.iter().map(|p| p.0).fold(f64::MAX, f64::min);
        let max_e = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min_e = pts.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert!(
            (max_n - 80.0).abs() < 0.01 && (min_n + 80.0).abs() < 0.01,
            "{min_n} {max_n}"
        );
        assert!(
            (max_e - 100.0).abs() < 0.01 && (min_e + 100.0).abs() < 0.01,
            "{min_e} {max_e}"
        );
        // In degrees, the area of a 200 m x 160 m rectangle.
        let deg_n = 160.0 / (max_n - min_n) * (poly.bounding_rect().unwrap().height());
        let deg_e = 200.0 / (max_e - min_e) * (poly.bounding_rect().unwrap().width());
        assert!((poly.unsigned_area() - deg_n * deg_e).abs() / (deg_n * deg_e) < 1e-3);
        assert!(poly.contains(&Point::new(HOME.lon_deg, HOME.lat_deg)));
    }

    #[test]
    fn horizon_view_is_cut_at_the_far_limit() {
        // Pitch -20° with a 90° x 77° view: the top of the image is sky.
        let poly = camera(-20f64.to_radians(), FRAC_PI_4).footprint(&GROUND).unwrap();
        let pts = local(&poly);
        let ranges: Vec<f64> = pts.iter().map(|(n, e)| n.hypot(*e)).collect();
        let far = ranges
            .iter()
            .filter(|r| (**r - FOOTPRINT_FAR_LIMIT_M).abs() < 1.0)
            .count();
        assert!(far >= FOOTPRINT_SAMPLES_PER_EDGE, "{far} far points");
        assert!(ranges.iter().all(|r| *r <= FOOTPRINT_FAR_LIMIT_M + 1.0));
        // Near edge: bottom centre looks 20 + atan(0.8) degrees down, towards north-east.
        let near = 100.0 / (20f64.to_radians() + 0.8f64.atan()).tan();
        let min = ranges.iter().cloned().fold(f64::MAX, f64::min);
        assert!((min - near).abs() < 0.5, "{min} vs {near}");
        // The view axis (north-east) at 500 m is inside, the opposite direction is not.
        let f = LocalFrame::new(HOME);
        let ahead = f.from_ned(DVec3::new(353.6, 353.6, 100.0));
        let behind = f.from_ned(DVec3::new(-353.6, -353.6, 100.0));
        assert!(poly.contains(&ahead.to_point()));
        assert!(!poly.contains(&behind.to_point()));
    }

    #[test]
    fn sky_only_or_underground_has_no_footprint() {
        assert_eq!(camera(0.9, 0.0).footprint(&GROUND), None);
        assert_eq!(
            camera(-FRAC_PI_2, 0.0).footprint(&FlatTerrain { alt_m_amsl: 200.0 }),
            None
        );
        // All the ground in view (from 100 / tan(10° + 38.7°) = 88 m out) is beyond a 50 m limit.
        assert_eq!(camera(-10f64.to_radians(), 0.0).footprint_within(&GROUND, 50.0), None);
        assert!(
            camera(-10f64.to_radians(), 0.0)
                .footprint_within(&GROUND, 100.0)
                .is_some()
        );
    }
}
