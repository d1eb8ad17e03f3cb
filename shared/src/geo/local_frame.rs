//! [`LocalFrame`]: a local tangent plane (NED or ENU, metres) around a
//! reference point, converting exactly through ECEF. The simulator moves the
//! drone in it, the camera intersects rays in it.

use glam::{DMat3, DVec3};

use super::GeoPoint;
use super::wgs84::{ecef_to_geodetic, ecef_to_ned_rotation, geodetic_to_ecef};

/// A tangent plane at `origin`: x north, y east, z down (NED), or x east,
/// y north, z up (ENU). Exact: points are converted through ECEF, so a point
/// 10 km away at the origin's altitude correctly sits ~7.8 m "below" the plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    origin: GeoPoint,
    origin_ecef_m: DVec3,
    ecef_to_ned: DMat3,
}

impl LocalFrame {
    /// The tangent frame at `origin`.
    pub fn new(origin: GeoPoint) -> Self {
        Self {
            origin,
            origin_ecef_m: geodetic_to_ecef(&origin),
            ecef_to_ned: ecef_to_ned_rotation(origin.lat_deg, origin.lon_deg),
        }
    }

    /// The reference point.
    pub fn origin(&self) -> GeoPoint {
        self.origin
    }

    /// The reference point in ECEF, metres.
    pub fn origin_ecef_m(&self) -> DVec3 {
        self.origin_ecef_m
    }

    /// Rotation taking NED vectors of this frame to ECEF vectors.
    pub fn rotation_ned_to_ecef(&self) -> DMat3 {
        self.ecef_to_ned.transpose()
    }

    /// Position of `p` in metres: x north, y east, z down.
    pub fn to_ned(&self, p: &GeoPoint) -> DVec3 {
        self.ecef_to_ned * (geodetic_to_ecef(p) - self.origin_ecef_m)
    }

    /// The geodetic point at NED offset `ned_m` (metres).
    pub fn from_ned(&self, ned_m: DVec3) -> GeoPoint {
        ecef_to_geodetic(self.origin_ecef_m + self.ecef_to_ned.transpose() * ned_m)
    }

    /// Position of `p` in metres: x east, y north, z up.
    pub fn to_enu(&self, p: &GeoPoint) -> DVec3 {
        ned_to_enu(self.to_ned(p))
    }

    /// The geodetic point at ENU offset `enu_m` (metres).
    pub fn from_enu(&self, enu_m: DVec3) -> GeoPoint {
        self.from_ned(ned_to_enu(enu_m))
    }
}

/// Swaps NED and ENU (the map is its own inverse).
pub(crate) fn ned_to_enu(v: DVec3) -> DVec3 {
    DVec3::new(v.y, v.x, -v.z)
}

#[cfg(test)]
mod tests {
    use super::super::wgs84::{A_M, E2};
    use super::*;
    use proptest::prelude::*;

    const OSLO: GeoPoint = GeoPoint::new(59.9139, 10.7522, 50.0);

    #[test]
    fn origin_is_zero_and_up_is_minus_z() {
        let f = LocalFrame::new(OSLO);
        assert!(f.to_ned(&OSLO).length() < 1e-9);
        let above = f.to_ned(&OSLO.with_alt(150.0));
        assert!((above - DVec3::new(0.0, 0.0, -100.0)).length() < 1e-9, "{above}");
        let enu = f.to_enu(&OSLO.with_alt(150.0));
        assert!((enu - DVec3::new(0.0, 0.0, 100.0)).length() < 1e-9, "{enu}");
    }

    #[test]
    fn north_and_east_have_the_right_signs_and_scale() {
        let f = LocalFrame::new(OSLO);
        // Meridian radius of curvature M and prime-vertical N at the origin latitude.
        let s = OSLO.lat_deg.to_radians().sin();
        let w = (1.0 - E2 * s * s).sqrt();
        let m = A_M * (1.0 - E2) / (w * w * w);
        let n = A_M / w;
        let dlat = 1e-4_f64;
        let v = f.to_ned(&GeoPoint::new(OSLO.lat_deg + dlat, OSLO.lon_deg, OSLO.alt_m_amsl));
        assert!((v.x - (m + 50.0) * dlat.to_radians()).abs() < 1e-3, "{v}");
        assert!(v.y.abs() < 1e-6);
        let v = f.to_ned(&GeoPoint::new(OSLO.lat_deg, OSLO.lon_deg + dlat, OSLO.alt_m_amsl));
        let r_parallel = (n + 50.0) * OSLO.lat_deg.to_radians().cos();
        assert!((v.y - r_parallel * dlat.to_radians()).abs() < 1e-3, "{v}");
        assert!(v.x.abs() < 1e-3);
    }

    #[test]
    fn earth_curves_away_below_the_tangent_plane() {
        // A point 10 km north along the ellipsoid at the same altitude lies
        // d² / (2 R) below the tangent plane, R the meridian radius.
        let f = LocalFrame::new(OSLO);
        let s = OSLO.lat_deg.to_radians().sin();
        let m = A_M * (1.0 - E2) / (1.0 - E2 * s * s).powf(1.5) + OSLO.alt_m_amsl;
        let dlat_rad = 10_000.0 / m;
        let p = GeoPoint::new(OSLO.lat_deg + dlat_rad.to_degrees(), OSLO.lon_deg, OSLO.alt_m_amsl);
        let v = f.to_ned(&p);
        let drop = 10_000.0_f64.powi(2) / (2.0 * m);
        assert!((v.z - drop).abs() < 0.01, "z {} expected {drop}", v.z);
        // (M grows ~90 m over the arc, so the arc is ~6 cm longer than 10 km at the origin's M.)
        assert!((v.x - 10_000.0).abs() < 0.1, "{v}");
    }

    #[test]
    fn ten_km_round_trip_within_a_millimetre() {
        let f = LocalFrame::new(OSLO);
        for ned in [
            DVec3::new(10_000.0, 0.0, 0.0),
            DVec3::new(0.0, -10_000.0, -500.0),
            DVec3::new(-7071.0, 7071.0, 120.0),
        ] {
            let back = f.to_ned(&f.from_ned(ned));
            assert!((back - ned).length() < 1e-3, "{ned} -> {back}");
        }
        let p = GeoPoint::new(59.95, 10.6, 300.0);
        let back = f.from_enu(f.to_enu(&p));
        assert!(f.to_ned(&back).distance(f.to_ned(&p)) < 1e-3);
    }

    proptest! {
        #[test]
        fn ned_round_trip_within_a_millimetre(
            lat in -85.0f64..85.0, lon in -180.0f64..180.0, alt in -400.0f64..3000.0,
            n in -10_000.0f64..10_000.0, e in -10_000.0f64..10_000.0, d in -2000.0f64..500.0,
        ) {
            let f = LocalFrame::new(GeoPoint::new(lat, lon, alt));
            let ned = DVec3::new(n, e, d);
            let p = f.from_ned(ned);
            prop_assert!((f.to_ned(&p) - ned).length() < 1e-3);
            // And the other way round, starting from a geodetic point.
            let q = f.from_ned(f.to_ned(&p));
            prop_assert!((q.lat_deg - p.lat_deg).abs() < 1e-10);
            prop_assert!((q.alt_m_amsl - p.alt_m_amsl).abs() < 1e-3);
        }
    }
}
