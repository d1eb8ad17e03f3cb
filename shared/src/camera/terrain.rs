//! [`Terrain`]: the ground a camera ray stops at. [`FlatTerrain`] (one
//! altitude everywhere) is exact; the trait's default ray marching is there
//! for a height grid later.

use glam::DVec3;
use serde::{Deserialize, Serialize};

use crate::geo::wgs84::{ecef_to_geodetic, up_ecef};
use crate::geo::{GeoPoint, LocalFrame};

/// The ground surface, by altitude AMSL at a horizontal position.
pub trait Terrain {
    /// Ground altitude, metres AMSL, at (latitude, longitude) in degrees;
    /// `None` where unknown (a ray reaching there finds no ground point).
    fn ground_alt_m_amsl(&self, lat_deg: f64, lon_deg: f64) -> Option<f64>;

    /// First point where the ray from `frame`'s origin along the unit NED
    /// direction `dir_ned` meets the ground, within `max_range_m` (slant) of
    /// the origin. `None` when the origin is below ground, the ray leaves the
    /// ground behind (above the horizon) or the range runs out.
    ///
    /// The default marches with steps of half the vertical clearance (at least
    /// 0.5 m), then bisects to 1 mm: it can step over terrain steeper than
    /// about 60° that rises within one step. Implementations with a closed
    /// form should override it.
    fn intersect_ray(&self, frame: &LocalFrame, dir_ned: DVec3, max_range_m: f64) -> Option<GeoPoint> {
        march_ray(self, frame, dir_ned, max_range_m)
    }
}

/// Ray marching for any [`Terrain`]: see [`Terrain::intersect_ray`].
fn march_ray<T: Terrain + ?Sized>(
    terrain: &T,
    frame: &LocalFrame,
    dir_ned: DVec3,
    max_range_m: f64,
) -> Option<GeoPoint> {
    let origin = frame.origin_ecef_m();
    let dir = frame.rotation_ned_to_ecef() * dir_ned.normalize();
    let clearance = |t: f64| {
        let p = ecef_to_geodetic(origin + dir * t);
        terrain
            .ground_alt_m_amsl(p.lat_deg, p.lon_deg)
            .map(|g| (p.alt_m_amsl - g, p))
    };
    let (c0, p0) = clearance(0.0)?;
    if c0 < 0.0 {
        return None;
    }
    if c0 == 0.0 {
        return Some(p0);
    }
    let (mut t_prev, mut c) = (0.0, c0);
    loop {
        let t = t_prev + (0.5 * c).max(0.5);
        if t > max_range_m {
            return None;
        }
        let (c_next, p) = clearance(t)?;
        if c_next <= 0.0 {
            // Ground between t_prev (above) and t (at or below): bisect.
            let (mut lo, mut hi, mut hit) = (t_prev, t, p);
            while hi - lo > 1e-3 {
                let mid = 0.5 * (lo + hi);
                let (cm, pm) = clearance(mid)?;
                if cm > 0.0 {
                    lo = mid;
                } else {
                    hi = mid;
                    hit = pm;
                }
            }
            let ground = terrain.ground_alt_m_amsl(hit.lat_deg, hit.lon_deg)?;
            return Some(hit.with_alt(ground));
        }
        t_prev = t;
        c = c_next;
    }
}

/// Level ground at one altitude AMSL (following the ellipsoid's curvature).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct FlatTerrain {
    /// Ground altitude, metres AMSL.
    pub alt_m_amsl: f64,
}

impl Terrain for FlatTerrain {
    fn ground_alt_m_amsl(&self, _lat_deg: f64, _lon_deg: f64) -> Option<f64> {
        Some(self.alt_m_amsl)
    }

    /// Exact intersection with the surface of constant ellipsoidal height.
    ///
    /// Along a straight line, height above the ellipsoid is a convex function
    /// (it is the signed distance to a convex body) whose gradient is the
    /// surface normal. Newton's method started at the camera therefore climbs
    /// monotonically to the *first* crossing without overshooting, and if the
    /// slope becomes non-negative while still above ground the ray never
    /// comes down: above the horizon, no point.
    fn intersect_ray(&self, frame: &LocalFrame, dir_ned: DVec3, max_range_m: f64) -> Option<GeoPoint> {
        let origin = frame.origin_ecef_m();
        let dir = frame.rotation_ned_to_ecef() * dir_ned.normalize();
        let mut t = 0.0;
        for _ in 0..200 {
            let p = ecef_to_geodetic(origin + dir * t);
            let gap = p.alt_m_amsl - self.alt_m_amsl;
            if gap.abs() < 1e-5 {
                return Some(p.with_alt(self.alt_m_amsl));
            }
            if gap < 0.0 && t == 0.0 {
                // The camera is below the ground.
                return None;
            }
            let slope = dir.dot(up_ecef(p.lat_deg, p.lon_deg));
            // Above ground and not descending: the ray never comes down. (Below
            // ground only happens by rounding just past the root; Newton returns.)
            if gap > 0.0 && slope >= -1e-12 {
                return None;
            }
            t -= gap / slope;
            if t > max_range_m {
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terrain that only answers heights, so the default marching is used.
    struct HeightOnly(f64);
    impl Terrain for HeightOnly {
        fn ground_alt_m_amsl(&self, _lat_deg: f64, _lon_deg: f64) -> Option<f64> {
            Some(self.0)
        }
    }

    /// Ground that rises 1 m per 10 m northwards from the origin latitude.
    struct NorthSlope {
        frame: LocalFrame,
    }
    impl Terrain for NorthSlope {
        fn ground_alt_m_amsl(&self, lat_deg: f64, lon_deg: f64) -> Option<f64> {
            let north = self.frame.to_ned(&GeoPoint::new(lat_deg, lon_deg, 0.0)).x;
            Some(0.1 * north)
        }
    }

    const ORIGIN: GeoPoint = GeoPoint::new(59.9, 10.7, 100.0);

    #[test]
    fn straight_down_hits_below() {
        let f = LocalFrame::new(ORIGIN);
        let p = FlatTerrain { alt_m_amsl: 20.0 }
            .intersect_ray(&f, DVec3::Z, 1e5)
            .unwrap();
        assert!(f.to_ned(&p).distance(DVec3::new(0.0, 0.0, 80.0)) < 1e-4);
    }

    #[test]
    fn forty_five_degrees_down_hits_at_the_height_distance() {
        let f = LocalFrame::new(ORIGIN);
        let dir = DVec3::new(1.0, 0.0, 1.0).normalize();
        let p = FlatTerrain { alt_m_amsl: 0.0 }.intersect_ray(&f, dir, 1e5).unwrap();
        let ned = f.to_ned(&p);
        // Curvature lowers the ground by 100²/(2R) ≈ 0.8 mm: the hit is ~0.8 mm farther.
        assert!((ned.x - 100.0).abs() < 2e-3 && ned.y.abs() < 1e-6, "{ned}");
        assert_eq!(p.alt_m_amsl, 0.0);
    }

    #[test]
    fn horizontal_and_upward_rays_never_hit_flat_ground() {
        let f = LocalFrame::new(ORIGIN);
        let flat = FlatTerrain { alt_m_amsl: 0.0 };
        for dir in [
            DVec3::X,
            DVec3::new(1.0, 1.0, -0.1),
            DVec3::new(0.0, 1.0, -1.0),
            -DVec3::Z,
        ] {
            assert_eq!(flat.intersect_ray(&f, dir, f64::INFINITY), None, "{dir}");
        }
        // Just below the horizontal, the earth's curvature still hides the ground:
        // from 100 m the horizon is sqrt(2 R h) ≈ 35.7 km away, sqrt(2 h / R) ≈ 5.6 mrad down.
        assert_eq!(flat.intersect_ray(&f, DVec3::new(1.0, 0.0, 0.005), f64::INFINITY), None);
        // At 7 mrad: h - t z + t² / (2R) = 0 gives t = R (z - sqrt(z² - 2h/R)) ≈ 17.9 km.
        let far = flat
            .intersect_ray(&f, DVec3::new(1.0, 0.0, 0.007), f64::INFINITY)
            .unwrap();
        let d = f.to_ned(&far).x;
        assert!((d - 17_860.0).abs() < 300.0, "{d}");
        // And a range limit stops it.
        assert_eq!(flat.intersect_ray(&f, DVec3::new(1.0, 0.0, 0.007), 10_000.0), None);
    }

    #[test]
    fn camera_below_ground_sees_no_ground_point() {
        let f = LocalFrame::new(ORIGIN);
        assert_eq!(FlatTerrain { alt_m_amsl: 150.0 }.intersect_ray(&f, DVec3::Z, 1e5), None);
        assert_eq!(HeightOnly(150.0).intersect_ray(&f, DVec3::Z, 1e5), None);
    }

    #[test]
    fn marching_agrees_with_the_exact_flat_solution() {
        let f = LocalFrame::new(ORIGIN);
        for dir in [DVec3::Z, DVec3::new(1.0, 0.3, 1.0), DVec3::new(-1.0, 2.0, 0.3)] {
            let exact = FlatTerrain { alt_m_amsl: 10.0 }.intersect_ray(&f, dir, 1e5).unwrap();
            let marched = HeightOnly(10.0).intersect_ray(&f, dir, 1e5).unwrap();
            assert!(f.to_ned(&exact).distance(f.to_ned(&marched)) < 5e-3, "{dir}");
        }
        assert_eq!(
            HeightOnly(10.0).intersect_ray(&f, DVec3::new(1.0, 0.0, -0.1), 1e5),
            None
        );
    }

    #[test]
    fn marching_finds_a_rising_slope() {
        // Looking 45° down towards the north over ground rising 1 in 10:
        // the ray at distance x north is 100 - x high, the ground 0.1 x: x = 100/1.1.
        let f = LocalFrame::new(ORIGIN);
        let t = NorthSlope {
            frame: LocalFrame::new(ORIGIN.with_alt(0.0)),
        };
        let p = t.intersect_ray(&f, DVec3::new(1.0, 0.0, 1.0), 1e5).unwrap();
        let ned = f.to_ned(&p);
        assert!((ned.x - 100.0 / 1.1).abs() < 0.01, "{ned}");
    }
}
