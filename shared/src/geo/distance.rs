//! Distances and bearings between [`GeoPoint`]s on the WGS84 ellipsoid
//! (Karney's geodesics via the `geo` crate), plus the cheaper haversine.

use ::geo::{Bearing, Distance, Geodesic, Haversine};

use super::GeoPoint;

/// Geodesic distance in metres on the WGS84 ellipsoid between the horizontal
/// positions of `a` and `b` (altitudes ignored). Accurate to nanometres.
pub fn distance_m(a: &GeoPoint, b: &GeoPoint) -> f64 {
    Geodesic.distance(a.to_point(), b.to_point())
}

/// Great-circle distance in metres on a sphere of the GRS80 mean radius
/// (6 371 008.8 m), altitudes ignored. Up to ~0.5 % off the geodesic; cheaper.
pub fn haversine_distance_m(a: &GeoPoint, b: &GeoPoint) -> f64 {
    Haversine.distance(a.to_point(), b.to_point())
}

/// Initial geodesic bearing from `a` to `b`, degrees clockwise from north in [0, 360).
pub fn bearing_deg(a: &GeoPoint, b: &GeoPoint) -> f64 {
    Geodesic.bearing(a.to_point(), b.to_point()).rem_euclid(360.0)
}

#[cfg(test)]
mod tests {
    use super::super::wgs84::{A_M, E2};
    use super::*;

    #[test]
    fn one_degree_along_the_equator_is_a_times_pi_over_180() {
        let d = distance_m(&GeoPoint::new(0.0, 0.0, 0.0), &GeoPoint::new(0.0, 1.0, 100.0));
        assert!((d - A_M * 1f64.to_radians()).abs() < 1e-6, "{d}");
        assert!((d - 111_319.490_793).abs() < 1e-3);
    }

    #[test]
    fn quarter_meridian_is_the_published_value() {
        let d = distance_m(&GeoPoint::new(0.0, 0.0, 0.0), &GeoPoint::new(90.0, 0.0, 0.0));
        assert!((d - 10_001_965.729).abs() < 1e-3, "{d}");
    }

    #[test]
    fn short_meridian_arc_matches_integrated_radius() {
        // Integrate the meridian radius M(φ) = a(1-e²)/(1-e² sin²φ)^1.5 from 59° to 60° (Simpson).
        let m = |phi: f64| A_M * (1.0 - E2) / (1.0 - E2 * phi.sin().powi(2)).powf(1.5);
        let (a, b) = (59f64.to_radians(), 60f64.to_radians());
        let n = 1000;
        let h = (b - a) / n as f64;
        let mut s = m(a) + m(b);
        for i in 1..n {
            s += m(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        let arc = s * h / 3.0;
        let d = distance_m(&GeoPoint::new(59.0, 10.0, 0.0), &GeoPoint::new(60.0, 10.0, 0.0));
        assert!((d - arc).abs() < 1e-4, "{d} vs {arc}");
    }

    #[test]
    fn haversine_is_close_and_bearing_points_the_right_way() {
        let a = GeoPoint::new(59.9, 10.7, 0.0);
        let b = GeoPoint::new(59.91, 10.72, 0.0);
        let g = distance_m(&a, &b);
        let h = haversine_distance_m(&a, &b);
        assert!((g - h).abs() / g < 0.005, "{g} {h}");
        let quarter = haversine_distance_m(&GeoPoint::new(0.0, 0.0, 0.0), &GeoPoint::new(90.0, 0.0, 0.0));
        assert!((quarter - 6_371_008.8 * std::f64::consts::FRAC_PI_2).abs() < 1.0);
        assert!((bearing_deg(&a, &GeoPoint::new(60.0, 10.7, 0.0)) - 0.0).abs() < 1e-9);
        assert!((bearing_deg(&a, &GeoPoint::new(59.8, 10.7, 0.0)) - 180.0).abs() < 1e-9);
        let east = bearing_deg(&GeoPoint::new(0.0, 0.0, 0.0), &GeoPoint::new(0.0, 0.1, 0.0));
        assert!((east - 90.0).abs() < 1e-9);
        let west = bearing_deg(&GeoPoint::new(0.0, 0.0, 0.0), &GeoPoint::new(0.0, -0.1, 0.0));
        assert!((west - 270.0).abs() < 1e-9, "{west}");
    }
}
