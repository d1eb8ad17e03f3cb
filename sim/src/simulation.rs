//! [`Simulation`]: the world clock, the vehicle and the scenario's actors,
//! advanced in fixed physics steps of sim time. Nothing here reads the wall
//! clock: the same scenario, seed and step sequence give the same state, so
//! tests can recompute what any telemetry message should have said.

use utkik_shared::geo::LocalFrame;

use crate::scenario::Scenario;
use crate::telemetry::TelemetryClock;
use crate::vehicle::Multirotor;

/// Physics step, microseconds (100 Hz).
pub const PHYSICS_STEP_USEC: u64 = 10_000;

/// Simulated world at one sim time.
#[derive(Debug, Clone)]
pub struct Simulation {
    scenario: Scenario,
    frame: LocalFrame,
    vehicle: Multirotor,
    sim_time_usec: u64,
    epoch_unix_usec: u64,
}

impl Simulation {
    /// Start a scenario at sim time 0, which is Unix time `epoch_unix_usec`
    /// (the telemetry and video time base).
    pub fn new(scenario: Scenario, epoch_unix_usec: u64) -> Self {
        let frame = LocalFrame::new(scenario.origin.geo());
        let vehicle = Multirotor::new(&scenario);
        Self {
            scenario,
            frame,
            vehicle,
            sim_time_usec: 0,
            epoch_unix_usec,
        }
    }

    /// Advance to `time_usec` (sim time since start) in whole physics steps;
    /// earlier times are ignored.
    pub fn step_to(&mut self, time_usec: u64) {
        while self.sim_time_usec + PHYSICS_STEP_USEC <= time_usec {
            self.vehicle.step(PHYSICS_STEP_USEC as f64 * 1e-6);
            self.sim_time_usec += PHYSICS_STEP_USEC;
        }
    }

    /// Sim time since start, microseconds.
    pub fn time_usec(&self) -> u64 {
        self.sim_time_usec
    }

    /// Unix time of sim time zero, microseconds.
    pub fn epoch_unix_usec(&self) -> u64 {
        self.epoch_unix_usec
    }

    /// Clock for telemetry messages at the current sim time.
    pub fn clock(&self) -> TelemetryClock {
        TelemetryClock {
            sim_time_usec: self.sim_time_usec,
            epoch_unix_usec: self.epoch_unix_usec,
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Local frame at the scenario origin.
    pub fn frame(&self) -> &LocalFrame {
        &self.frame
    }

    /// The multirotor.
    pub fn vehicle(&self) -> &Multirotor {
        &self.vehicle
    }

    /// The multirotor at `time_usec`, which may fall between physics steps:
    /// a copy advanced from the current state by the remainder (the
    /// simulation itself is untouched, so stepping stays on the fixed grid and
    /// deterministic). Camera frames use it so that a frame at 33.3 ms shows
    /// the pose at 33.3 ms, which is what the onboard interpolates from the
    /// telemetry for that capture time. Times before the current one give the
    /// current state.
    pub fn vehicle_at(&self, time_usec: u64) -> Multirotor {
        let mut v = self.vehicle.clone();
        let dt_usec = time_usec.saturating_sub(self.sim_time_usec);
        if dt_usec > 0 {
            v.step(dt_usec as f64 * 1e-6);
        }
        v
    }

    /// The multirotor, for commands.
    pub fn vehicle_mut(&mut self) -> &mut Multirotor {
        &mut self.vehicle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

    #[test]
    fn stepping_in_pieces_equals_stepping_at_once() {
        let s = Scenario::load(&scenarios_dir().join("person-search.toml")).unwrap();
        let mut a = Simulation::new(s.clone(), 0);
        let mut b = Simulation::new(s, 0);
        for t in (0..=5_000_000u64).step_by(33_333) {
            a.step_to(t);
        }
        b.step_to(5_000_000);
        a.step_to(5_000_000);
        assert_eq!(a.time_usec(), 5_000_000);
        assert_eq!(a.vehicle().state.position_enu_m, b.vehicle().state.position_enu_m);
        assert_ne!(
            a.vehicle().state.position_enu_m,
            Simulation::new(a.scenario().clone(), 0).vehicle().state.position_enu_m
        );
    }

    #[test]
    fn vehicle_between_steps_lies_between_the_steps() {
        let s = Scenario::load(&scenarios_dir().join("urban-street.toml")).unwrap();
        let mut sim = Simulation::new(s, 0);
        sim.step_to(2_000_000);
        let before = sim.vehicle().state.position_enu_m;
        let mid = sim.vehicle_at(2_005_000).state.position_enu_m;
        assert_eq!(sim.time_usec(), 2_000_000, "the simulation itself does not move");
        sim.step_to(2_010_000);
        let after = sim.vehicle().state.position_enu_m;
        let step = (after - before).length();
        assert!(step > 0.001, "the vehicle moves ({step} m per step)");
        assert!((mid - before).length() < step && (after - mid).length() < step);
        assert_eq!(
            sim.vehicle_at(0).state.position_enu_m,
            after,
            "past times give the current state"
        );
    }
}
