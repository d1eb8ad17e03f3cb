//! Constant-velocity Kalman filter on one axis (position and velocity, white-noise acceleration).
//! Tracks use four of them in image space (box centre x, y, width, height; like SORT/ByteTrack
//! with a diagonal covariance, where the axes decouple exactly) and two on the ground (north,
//! east). Time steps are real seconds, so an uneven frame rate does not bend the model.

/// One-axis constant-velocity Kalman filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cv1 {
    /// Position estimate.
    pub x: f64,
    /// Velocity estimate (per second).
    pub v: f64,
    /// Covariance [[pp, pv], [pv, vv]].
    p: [f64; 3],
}

impl Cv1 {
    /// Starts at `x` with zero velocity; `pos_var` and `vel_var` are the initial variances.
    pub fn new(x: f64, pos_var: f64, vel_var: f64) -> Self {
        Self {
            x,
            v: 0.0,
            p: [pos_var, 0.0, vel_var],
        }
    }

    /// Position variance.
    pub fn pos_var(&self) -> f64 {
        self.p[0]
    }

    /// Velocity variance.
    pub fn vel_var(&self) -> f64 {
        self.p[2]
    }

    /// Predicts `dt_s` ahead with acceleration noise of standard deviation `accel_sigma`.
    pub fn predict(&mut self, dt_s: f64, accel_sigma: f64) {
        let [pp, pv, vv] = self.p;
        let q = accel_sigma * accel_sigma;
        let (dt2, dt3, dt4) = (dt_s * dt_s, dt_s.powi(3), dt_s.powi(4));
        self.x += self.v * dt_s;
        self.p = [
            pp + 2.0 * dt_s * pv + dt2 * vv + q * dt4 / 4.0,
            pv + dt_s * vv + q * dt3 / 2.0,
            vv + q * dt2,
        ];
    }

    /// Takes a position measurement `z` with variance `r`.
    pub fn update(&mut self, z: f64, r: f64) {
        let [pp, pv, vv] = self.p;
        let s = pp + r;
        let (k0, k1) = (pp / s, pv / s);
        let y = z - self.x;
        self.x += k0 * y;
        self.v += k1 * y;
        self.p = [(1.0 - k0) * pp, (1.0 - k0) * pv, vv - k1 * pv];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_constant_velocity_and_shrinks_uncertainty() {
        let mut f = Cv1::new(0.0, 100.0, 100.0);
        for i in 1..=50 {
            f.predict(0.1, 0.1);
            f.update(2.0 * i as f64 * 0.1, 0.01);
        }
        assert!((f.v - 2.0).abs() < 0.05, "{}", f.v);
        assert!((f.x - 10.0).abs() < 0.05, "{}", f.x);
        assert!(f.pos_var() < 0.01 && f.vel_var() < 1.0);
        let before = f.pos_var();
        f.predict(1.0, 0.1);
        assert!(f.pos_var() > before, "prediction grows the variance");
        assert!((f.x - 12.0).abs() < 0.1);
    }
}
