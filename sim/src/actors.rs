//! Where the scenario's people and cars are at a given simulated time.
//!
//! Positions are pure functions of time (no integration state), so any frame
//! can be reproduced on its own and the ground truth never drifts from what
//! the renderer drew. Pedestrians walk their path back and forth; cars drive
//! their road and wrap around to its start.

use glam::DVec2;

use crate::scenario::{EnPoint, PedestrianSpec, RoadSpec, VehicleActorSpec};

/// Position and heading of an actor at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActorPose {
    /// Metres east/north of the origin.
    pub position_enu_m: DVec2,
    /// Heading, radians clockwise from north.
    pub heading_rad: f64,
}

fn v(p: EnPoint) -> DVec2 {
    DVec2::new(p[0], p[1])
}

/// Length of a polyline, metres.
pub fn polyline_length_m(points: &[EnPoint]) -> f64 {
    points.windows(2).map(|w| v(w[0]).distance(v(w[1]))).sum()
}

/// Point and heading at distance `s_m` along a polyline (clamped to its ends).
pub fn along(points: &[EnPoint], s_m: f64) -> ActorPose {
    let mut left = s_m.max(0.0);
    for w in points.windows(2) {
        let (a, b) = (v(w[0]), v(w[1]));
        let len = a.distance(b);
        let d = b - a;
        let heading_rad = d.x.atan2(d.y);
        if left <= len || len == 0.0 && left == 0.0 {
            let t = if len > 0.0 { left / len } else { 0.0 };
            return ActorPose {
                position_enu_m: a + d * t,
                heading_rad,
            };
        }
        left -= len;
    }
    let n = points.len();
    let heading_rad = if n >= 2 {
        let d = v(points[n - 1]) - v(points[n - 2]);
        d.x.atan2(d.y)
    } else {
        0.0
    };
    ActorPose {
        position_enu_m: v(points[n - 1]),
        heading_rad,
    }
}

/// A pedestrian at `time_s` after the scenario start: walks the path, turns, walks back.
pub fn pedestrian_at(p: &PedestrianSpec, time_s: f64) -> ActorPose {
    let len = polyline_length_m(&p.path);
    if len <= 0.0 || p.speed_m_s <= 0.0 {
        return along(&p.path, 0.0);
    }
    let s = (p.speed_m_s * time_s).rem_euclid(2.0 * len);
    if s <= len {
        along(&p.path, s)
    } else {
        let mut pose = along(&p.path, 2.0 * len - s);
        pose.heading_rad = (pose.heading_rad + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU);
        pose
    }
}

/// A car at `time_s`: drives its road (keeping right of the centreline on a
/// multi-lane road) and starts over at the road's beginning when it reaches the end.
pub fn car_at(car: &VehicleActorSpec, road: &RoadSpec, time_s: f64) -> ActorPose {
    let len = polyline_length_m(&road.points);
    if len <= 0.0 {
        return along(&road.points, 0.0);
    }
    let s = (car.start_m + car.speed_m_s * time_s).rem_euclid(len);
    let mut pose = if car.reverse {
        let mut p = along(&road.points, len - s);
        p.heading_rad = (p.heading_rad + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU);
        p
    } else {
        along(&road.points, s)
    };
    if road.lanes >= 2 {
        // Right-hand traffic: offset a quarter of the width to the right of travel.
        let (sin, cos) = pose.heading_rad.sin_cos();
        let right = DVec2::new(cos, -sin);
        pose.position_enu_m += right * (road.width_m / 4.0);
    }
    pose
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, scenarios_dir};

    #[test]
    fn pedestrian_walks_there_and_back() {
        let s = Scenario::load(&scenarios_dir().join("urban-street.toml")).unwrap();
        let p = &s.pedestrians[0];
        let len = polyline_length_m(&p.path);
        let t_end = len / p.speed_m_s;
        let start = pedestrian_at(p, 0.0);
        let end = pedestrian_at(p, t_end);
        assert!((start.position_enu_m - v(p.path[0])).length() < 1e-9);
        assert!((end.position_enu_m - v(*p.path.last().unwrap())).length() < 1e-9);
        let back = pedestrian_at(p, 2.0 * t_end);
        assert!((back.position_enu_m - start.position_enu_m).length() < 1e-9);
        let out = pedestrian_at(p, 0.25 * t_end).heading_rad;
        let home = pedestrian_at(p, 1.25 * t_end).heading_rad;
        assert!(((out - home).abs() - std::f64::consts::PI).abs() < 1e-9);
    }

    #[test]
    fn cars_keep_right_and_move_at_their_speed() {
        let s = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
        let road = s.road("Hjulstavägen").unwrap();
        for car in &s.vehicles {
            let a = car_at(car, road, 1.0);
            let b = car_at(car, road, 2.0);
            let moved = (b.position_enu_m - a.position_enu_m).length();
            assert!((moved - car.speed_m_s).abs() < 1e-9, "{} moved {moved}", car.plate);
            // The road runs east-west along north = 0: eastbound cars south of it, westbound north.
            let north = a.position_enu_m.y;
            if car.reverse {
                assert!((north - road.width_m / 4.0).abs() < 1e-9);
            } else {
                assert!((north + road.width_m / 4.0).abs() < 1e-9);
            }
        }
    }
}
