//! Multirotor and gimbal model: point-mass kinematics with the limits of a
//! real quadcopter (horizontal speed, climb rate, yaw rate, acceleration),
//! seeded wind gusts, battery drain, route following (waypoints, orbit,
//! hover) and a gimbal with pitch/yaw limits, a point-of-interest mode and a
//! mode that follows one of the scenario's pedestrians.
//!
//! Stepped by the simulation clock only (no wall clock): the same scenario
//! and seed give the same trajectory bit for bit.

use glam::DVec3;

use crate::actors::pedestrian_at;
use crate::scenario::{GimbalSpec, PedestrianSpec, Route, Scenario, VehicleSpec};

/// Gimbal pitch limits, radians (down is negative).
pub const GIMBAL_PITCH_RANGE_RAD: (f64, f64) = (-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_6);
/// Gimbal yaw limits relative to the nose, radians.
pub const GIMBAL_YAW_RANGE_RAD: (f64, f64) = (-2.7925, 2.7925);
/// Largest bank angle the model shows when accelerating, radians.
const MAX_TILT_RAD: f64 = 0.6;

/// SplitMix64: small, seedable, identical on every platform.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// Generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Where the gimbal is told to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GimbalTarget {
    /// Angles relative to the vehicle: pitch (negative down) and yaw from the nose, radians.
    Angles {
        /// Pitch, radians.
        pitch_rad: f64,
        /// Yaw relative to the nose, radians.
        yaw_rad: f64,
    },
    /// Keep this local point (metres east, north, up of the origin) in the image centre.
    PointOfInterest {
        /// ENU point, metres.
        enu_m: DVec3,
    },
    /// Keep the scenario's pedestrian `pedestrian` (index) in the image centre;
    /// `enu_m` is where the aim point was at the last step.
    FollowPedestrian {
        /// Index into the scenario's pedestrians.
        pedestrian: usize,
        /// Aim point (upper body) at the last step, metres ENU.
        enu_m: DVec3,
    },
}

/// Height of the follow-mode aim point as a fraction of the person's height:
/// the upper chest, so that the face and most of the body stay in a narrow view.
pub const FOLLOW_AIM_HEIGHT_FRACTION: f64 = 0.8;

/// Aim point of the follow mode at `time_s`: the pedestrian's upper chest.
pub fn follow_aim_enu_m(p: &PedestrianSpec, time_s: f64) -> DVec3 {
    pedestrian_at(p, time_s)
        .position_enu_m
        .extend(p.height_m * FOLLOW_AIM_HEIGHT_FRACTION)
}

/// Gimbal state (angles relative to the vehicle nose, NED-like: yaw clockwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gimbal {
    /// What it is commanded to do.
    pub target: GimbalTarget,
    /// Current pitch, radians (negative down).
    pub pitch_rad: f64,
    /// Current yaw relative to the nose, radians (clockwise positive).
    pub yaw_rad: f64,
    /// Slew rate limit, radians per second.
    pub rate_rad_s: f64,
}

/// State of the simulated multirotor.
#[derive(Debug, Clone)]
pub struct VehicleState {
    /// Position, metres east/north/up of the scenario origin.
    pub position_enu_m: DVec3,
    /// Velocity over ground, m/s, east/north/up.
    pub velocity_enu_m_s: DVec3,
    /// Heading, radians clockwise from north, in [0, 2pi).
    pub yaw_rad: f64,
    /// Roll (right wing down positive), radians.
    pub roll_rad: f64,
    /// Pitch (nose up positive), radians.
    pub pitch_rad: f64,
    /// Yaw rate, rad/s.
    pub yaw_rate_rad_s: f64,
    /// Battery energy left, watt-hours.
    pub battery_wh: f64,
    /// Gimbal.
    pub gimbal: Gimbal,
    /// Current wind (mean + gust), m/s east/north.
    pub wind_enu_m_s: DVec3,
}

/// The vehicle model: state, limits, route, wind process.
#[derive(Debug, Clone)]
pub struct Multirotor {
    /// Current state.
    pub state: VehicleState,
    limits: VehicleSpec,
    route: Route,
    waypoint_index: usize,
    orbit_angle_rad: f64,
    gust_enu_m_s: DVec3,
    rng: SimRng,
    /// Sim time flown, seconds (where followed pedestrians are).
    elapsed_s: f64,
    pedestrians: Vec<PedestrianSpec>,
}

fn wrap_pi(a: f64) -> f64 {
    let t = (a + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU);
    t - std::f64::consts::PI
}

fn limit(v: DVec3, max: f64) -> DVec3 {
    let n = v.length();
    if n > max && n > 0.0 { v * (max / n) } else { v }
}

impl Multirotor {
    /// Vehicle at the start of the scenario's route, flying.
    pub fn new(scenario: &Scenario) -> Self {
        let (position_enu_m, yaw_rad, orbit_angle_rad) = match &scenario.route {
            Route::Waypoints { points, .. } => {
                let p = points[0];
                let yaw = points
                    .get(1)
                    .map_or(0.0, |q| (q.east_m - p.east_m).atan2(q.north_m - p.north_m));
                (DVec3::new(p.east_m, p.north_m, p.alt_m_agl), yaw, 0.0)
            }
            Route::Orbit {
                centre,
                radius_m,
                alt_m_agl,
                speed_m_s,
            } => {
                // Start south of the centre; heading along the circle.
                let a = -std::f64::consts::FRAC_PI_2;
                let pos = DVec3::new(
                    centre[0] + radius_m * a.cos(),
                    centre[1] + radius_m * a.sin(),
                    *alt_m_agl,
                );
                let yaw = if *speed_m_s >= 0.0 {
                    -std::f64::consts::FRAC_PI_2
                } else {
                    std::f64::consts::FRAC_PI_2
                };
                (pos, yaw.rem_euclid(std::f64::consts::TAU), a)
            }
            Route::Hover { at, yaw_deg } => (
                DVec3::new(at.east_m, at.north_m, at.alt_m_agl),
                yaw_deg.to_radians().rem_euclid(std::f64::consts::TAU),
                0.0,
            ),
        };
        let target = match &scenario.gimbal {
            GimbalSpec::Fixed { pitch_deg, yaw_deg } => GimbalTarget::Angles {
                pitch_rad: pitch_deg.to_radians(),
                yaw_rad: yaw_deg.to_radians(),
            },
            GimbalSpec::PointOfInterest { at } => GimbalTarget::PointOfInterest {
                enu_m: DVec3::new(at[0], at[1], 0.0),
            },
            // Validation guarantees the identity names one pedestrian; should a
            // hand-built scenario not, the gimbal looks straight ahead instead.
            GimbalSpec::FollowEntity { entity } => match scenario.pedestrian_index(entity) {
                Some(i) => GimbalTarget::FollowPedestrian {
                    pedestrian: i,
                    enu_m: follow_aim_enu_m(&scenario.pedestrians[i], 0.0),
                },
                None => GimbalTarget::Angles {
                    pitch_rad: -std::f64::consts::FRAC_PI_4,
                    yaw_rad: 0.0,
                },
            },
        };
        let mut gimbal = Gimbal {
            target,
            pitch_rad: -std::f64::consts::FRAC_PI_4,
            yaw_rad: 0.0,
            rate_rad_s: 1.5,
        };
        let (p, y) = gimbal_setpoint(&gimbal.target, position_enu_m, yaw_rad);
        gimbal.pitch_rad = p;
        gimbal.yaw_rad = y;
        let wind = scenario.vehicle.wind_m_s;
        Self {
            state: VehicleState {
                position_enu_m,
                velocity_enu_m_s: DVec3::ZERO,
                yaw_rad,
                roll_rad: 0.0,
                pitch_rad: 0.0,
                yaw_rate_rad_s: 0.0,
                battery_wh: scenario.vehicle.battery_wh,
                gimbal,
                wind_enu_m_s: DVec3::new(wind[0], wind[1], 0.0),
            },
            limits: scenario.vehicle,
            route: scenario.route.clone(),
            waypoint_index: 1,
            orbit_angle_rad,
            gust_enu_m_s: DVec3::ZERO,
            rng: SimRng::new(scenario.seed ^ 0x005E_ED0F_817D),
            elapsed_s: 0.0,
            pedestrians: scenario.pedestrians.clone(),
        }
    }

    /// Point the gimbal (a MAVLink command did).
    pub fn set_gimbal_target(&mut self, target: GimbalTarget) {
        self.state.gimbal.target = target;
    }

    /// Battery left, percent.
    pub fn battery_percent(&self) -> f64 {
        (100.0 * self.state.battery_wh / self.limits.battery_wh).clamp(0.0, 100.0)
    }

    /// Advance by `dt_s` seconds of simulated time.
    pub fn step(&mut self, dt_s: f64) {
        if dt_s <= 0.0 {
            return;
        }
        let lim = self.limits;
        self.elapsed_s += dt_s;
        if let GimbalTarget::FollowPedestrian { pedestrian, enu_m } = &mut self.state.gimbal.target
            && let Some(p) = self.pedestrians.get(*pedestrian)
        {
            *enu_m = follow_aim_enu_m(p, self.elapsed_s);
        }
        let s = &mut self.state;

        // Wind: mean + first-order Gauss-Markov gusts (time constant 3 s).
        let tau = 3.0;
        let a = (-dt_s / tau).exp();
        let sigma = lim.gust_m_s * (1.0 - a * a).sqrt();
        self.gust_enu_m_s = self.gust_enu_m_s * a
            + DVec3::new(
                self.rng.normal() * sigma,
                self.rng.normal() * sigma,
                self.rng.normal() * sigma * 0.3,
            );
        s.wind_enu_m_s = DVec3::new(lim.wind_m_s[0], lim.wind_m_s[1], 0.0) + self.gust_enu_m_s;

        // Route: desired velocity and heading.
        let (desired_v, desired_yaw) = match &self.route {
            Route::Waypoints {
                points,
                speed_m_s,
                looped,
            } => {
                let n = points.len();
                let idx = self.waypoint_index.min(n - 1);
                let wp = points[idx];
                let target = DVec3::new(wp.east_m, wp.north_m, wp.alt_m_agl);
                let to = target - s.position_enu_m;
                if to.length() < 1.5 && n > 1 {
                    if idx + 1 < n {
                        self.waypoint_index = idx + 1;
                    } else if *looped {
                        self.waypoint_index = 0;
                    }
                }
                // Slow down near the last waypoint when not looping (v^2 = 2 a d).
                let stop = !*looped && idx + 1 == n;
                let mut speed = speed_m_s.min(lim.max_speed_m_s);
                if stop {
                    speed = speed.min((2.0 * lim.max_accel_m_s2 * 0.5 * to.length()).sqrt());
                }
                let horiz = DVec3::new(to.x, to.y, 0.0);
                let v = limit(horiz, speed) + DVec3::Z * (to.z * 0.8).clamp(-lim.max_climb_m_s, lim.max_climb_m_s);
                let yaw = if horiz.length() > 2.0 {
                    horiz.x.atan2(horiz.y)
                } else {
                    s.yaw_rad
                };
                (v, yaw)
            }
            Route::Orbit {
                centre,
                radius_m,
                alt_m_agl,
                speed_m_s,
            } => {
                let speed = speed_m_s.clamp(-lim.max_speed_m_s, lim.max_speed_m_s);
                // Angle measured counter-clockwise from east; clockwise flight = decreasing angle.
                self.orbit_angle_rad -= speed / radius_m * dt_s;
                let ang = self.orbit_angle_rad;
                let c = DVec3::new(centre[0], centre[1], *alt_m_agl);
                let on = c + DVec3::new(radius_m * ang.cos(), radius_m * ang.sin(), 0.0);
                let tangent = DVec3::new(ang.sin(), -ang.cos(), 0.0) * speed;
                let err = on - s.position_enu_m;
                let mut v = tangent + DVec3::new(err.x, err.y, 0.0) * 0.8;
                v = limit(v, lim.max_speed_m_s);
                v.z = (err.z * 0.8).clamp(-lim.max_climb_m_s, lim.max_climb_m_s);
                (v, tangent.x.atan2(tangent.y))
            }
            Route::Hover { at, yaw_deg } => {
                let err = DVec3::new(at.east_m, at.north_m, at.alt_m_agl) - s.position_enu_m;
                let mut v = limit(DVec3::new(err.x, err.y, 0.0) * 0.8, lim.max_speed_m_s);
                v.z = (err.z * 0.8).clamp(-lim.max_climb_m_s, lim.max_climb_m_s);
                (v, yaw_deg.to_radians())
            }
        };

        // The position controller fights the wind: the air disturbs the
        // velocity, the controller corrects with limited acceleration.
        let disturbance = (s.wind_enu_m_s - DVec3::new(lim.wind_m_s[0], lim.wind_m_s[1], 0.0)) * 0.15;
        let dv = desired_v - s.velocity_enu_m_s;
        let accel_h = limit(DVec3::new(dv.x, dv.y, 0.0) / dt_s.max(0.05), lim.max_accel_m_s2);
        let accel_z = (dv.z / dt_s.max(0.05)).clamp(-lim.max_accel_m_s2, lim.max_accel_m_s2);
        let accel = accel_h + DVec3::Z * accel_z;
        s.velocity_enu_m_s += accel * dt_s + disturbance * dt_s;
        let hv = limit(
            DVec3::new(s.velocity_enu_m_s.x, s.velocity_enu_m_s.y, 0.0),
            lim.max_speed_m_s,
        );
        s.velocity_enu_m_s = DVec3::new(
            hv.x,
            hv.y,
            s.velocity_enu_m_s.z.clamp(-lim.max_climb_m_s, lim.max_climb_m_s),
        );
        s.position_enu_m += s.velocity_enu_m_s * dt_s;

        // Yaw with rate limit.
        let max_rate = lim.max_yaw_rate_deg_s.to_radians();
        let yaw_err = wrap_pi(desired_yaw - s.yaw_rad);
        s.yaw_rate_rad_s = (yaw_err / dt_s.max(0.05)).clamp(-max_rate, max_rate) * 0.5;
        s.yaw_rad = (s.yaw_rad + s.yaw_rate_rad_s * dt_s).rem_euclid(std::f64::consts::TAU);

        // Tilt: a multirotor leans into its acceleration and into the wind.
        let g = 9.81;
        let lean = accel_h + (s.wind_enu_m_s * DVec3::new(1.0, 1.0, 0.0)) * 0.05;
        let (sy, cy) = s.yaw_rad.sin_cos();
        let forward = lean.x * sy + lean.y * cy;
        let right = lean.x * cy - lean.y * sy;
        s.pitch_rad = (-(forward / g).atan()).clamp(-MAX_TILT_RAD, MAX_TILT_RAD);
        s.roll_rad = (right / g).atan().clamp(-MAX_TILT_RAD, MAX_TILT_RAD);

        // Battery: hover power plus induced/parasitic share of speed and climb.
        let speed = s.velocity_enu_m_s.length();
        let power_w = lim.hover_power_w * (1.0 + 0.01 * speed * speed + 0.08 * s.velocity_enu_m_s.z.max(0.0));
        s.battery_wh = (s.battery_wh - power_w * dt_s / 3600.0).max(0.0);

        // Gimbal slews toward its setpoint within limits.
        let (tp, ty) = gimbal_setpoint(&s.gimbal.target, s.position_enu_m, s.yaw_rad);
        let step = s.gimbal.rate_rad_s * dt_s;
        s.gimbal.pitch_rad += (tp - s.gimbal.pitch_rad).clamp(-step, step);
        s.gimbal.yaw_rad += wrap_pi(ty - s.gimbal.yaw_rad).clamp(-step, step);
        s.gimbal.yaw_rad = s.gimbal.yaw_rad.clamp(GIMBAL_YAW_RANGE_RAD.0, GIMBAL_YAW_RANGE_RAD.1);
    }
}

/// Gimbal pitch and relative yaw that satisfy `target` from a vehicle at
/// `position_enu_m` with heading `vehicle_yaw_rad`, clamped to the limits.
pub fn gimbal_setpoint(target: &GimbalTarget, position_enu_m: DVec3, vehicle_yaw_rad: f64) -> (f64, f64) {
    let (p, y) = match *target {
        GimbalTarget::Angles { pitch_rad, yaw_rad } => (pitch_rad, yaw_rad),
        GimbalTarget::PointOfInterest { enu_m } | GimbalTarget::FollowPedestrian { enu_m, .. } => {
            let d = enu_m - position_enu_m;
            let horiz = (d.x * d.x + d.y * d.y).sqrt();
            let pitch = d.z.atan2(horiz);
            let bearing = d.x.atan2(d.y);
            let yaw = if horiz < 0.5 {
                0.0
            } else {
                wrap_pi(bearing - vehicle_yaw_rad)
            };
            (pitch, yaw)
        }
    };
    (
        p.clamp(GIMBAL_PITCH_RANGE_RAD.0, GIMBAL_PITCH_RANGE_RAD.1),
        y.clamp(GIMBAL_YAW_RANGE_RAD.0, GIMBAL_YAW_RANGE_RAD.1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

    fn scenario(name: &str) -> Scenario {
        Scenario::load(&scenarios_dir().join(name)).unwrap()
    }

    #[test]
    fn same_seed_same_trajectory_and_limits_hold() {
        let s = scenario("urban-street.toml");
        let mut a = Multirotor::new(&s);
        let mut b = Multirotor::new(&s);
        let lim = s.vehicle;
        let mut prev_v = a.state.velocity_enu_m_s;
        let mut prev_yaw = a.state.yaw_rad;
        let dt = 0.01;
        for _ in 0..6000 {
            a.step(dt);
            b.step(dt);
            let st = &a.state;
            let hv = DVec3::new(st.velocity_enu_m_s.x, st.velocity_enu_m_s.y, 0.0);
            assert!(hv.length() <= lim.max_speed_m_s + 1e-9);
            assert!(st.velocity_enu_m_s.z.abs() <= lim.max_climb_m_s + 1e-9);
            let yaw_rate = wrap_pi(st.yaw_rad - prev_yaw).abs() / dt;
            assert!(yaw_rate <= lim.max_yaw_rate_deg_s.to_radians() + 1e-6, "{yaw_rate}");
            // Controller acceleration plus the wind disturbance.
            let acc = (hv - DVec3::new(prev_v.x, prev_v.y, 0.0)).length() / dt;
            assert!(acc <= lim.max_accel_m_s2 + 0.15 * 10.0, "{acc}");
            prev_v = st.velocity_enu_m_s;
            prev_yaw = st.yaw_rad;
        }
        assert_eq!(a.state.position_enu_m, b.state.position_enu_m);
        assert_eq!(a.state.wind_enu_m_s, b.state.wind_enu_m_s);
        // The route was flown: the vehicle went east along the street.
        assert!(a.state.battery_wh < lim.battery_wh);
        assert!(a.battery_percent() > 50.0);
    }

    #[test]
    fn different_seed_different_gusts() {
        let s = scenario("urban-street.toml");
        let mut t = s.clone();
        t.seed += 1;
        let mut a = Multirotor::new(&s);
        let mut b = Multirotor::new(&t);
        for _ in 0..100 {
            a.step(0.05);
            b.step(0.05);
        }
        assert_ne!(a.state.wind_enu_m_s, b.state.wind_enu_m_s);
    }

    #[test]
    fn orbit_stays_on_circle_and_gimbal_follows_the_designated_person() {
        // person-search (gimbal following the designated person) flown as an orbit.
        let mut s = scenario("person-search.toml");
        let (centre, radius_m, alt_m_agl) = ([5.0, -5.0], 40.0, 35.0);
        s.route = Route::Orbit {
            centre,
            radius_m,
            alt_m_agl,
            speed_m_s: 4.0,
        };
        let GimbalSpec::FollowEntity { entity } = &s.gimbal else {
            panic!("{:?}", s.gimbal)
        };
        let person = &s.pedestrians[s.pedestrian_index(entity).unwrap()];
        let mut m = Multirotor::new(&s);
        let mut aims = Vec::new();
        for step in 1..=(60 * 50) {
            m.step(0.02);
            if step % 500 != 0 {
                continue;
            }
            let t = f64::from(step) * 0.02;
            let p = m.state.position_enu_m;
            let r = (p.x - centre[0]).hypot(p.y - centre[1]);
            assert!((r - radius_m).abs() < 3.0, "radius {r} at {t} s");
            assert!((p.z - alt_m_agl).abs() < 1.0, "alt {} at {t} s", p.z);
            // The gimbal points at the walking person: bearing and depression agree.
            let aim = follow_aim_enu_m(person, t);
            let d = aim - p;
            let g = m.state.gimbal;
            let bearing = d.x.atan2(d.y);
            assert!(
                wrap_pi(m.state.yaw_rad + g.yaw_rad - bearing).abs() < 0.01,
                "yaw at {t} s"
            );
            assert!((g.pitch_rad - d.z.atan2(d.x.hypot(d.y))).abs() < 0.01, "pitch at {t} s");
            aims.push(aim);
        }
        // The person walked, so the aim point moved (back and forth along the path).
        let spread = aims
            .iter()
            .flat_map(|a| aims.iter().map(move |b| (*a - *b).length()))
            .fold(0.0, f64::max);
        assert!(spread > 10.0, "{aims:?}");
        // A MAVLink command takes over from the follow mode.
        m.set_gimbal_target(GimbalTarget::Angles {
            pitch_rad: -1.0,
            yaw_rad: 0.0,
        });
        for _ in 0..100 {
            m.step(0.02);
        }
        assert!((m.state.gimbal.pitch_rad + 1.0).abs() < 1e-9);
    }

    #[test]
    fn gimbal_limits_clamp_commands() {
        let (p, y) = gimbal_setpoint(
            &GimbalTarget::Angles {
                pitch_rad: -3.0,
                yaw_rad: 3.1,
            },
            DVec3::ZERO,
            0.0,
        );
        assert_eq!(p, GIMBAL_PITCH_RANGE_RAD.0);
        assert_eq!(y, GIMBAL_YAW_RANGE_RAD.1);
    }

    #[test]
    fn hover_holds_position_in_gusts() {
        let s = scenario("anpr-road.toml");
        let Route::Hover { at, .. } = s.route else { panic!() };
        let mut m = Multirotor::new(&s);
        for _ in 0..3000 {
            m.step(0.02);
        }
        let d = m.state.position_enu_m - DVec3::new(at.east_m, at.north_m, at.alt_m_agl);
        assert!(d.length() < 2.0, "{d}");
    }
}
