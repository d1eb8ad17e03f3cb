//! `utkik-sim run`: the simulation loop with SITL-like telemetry over UDP.
//!
//! Telemetry ticks at 20 Hz of sim time: GLOBAL_POSITION_INT, ATTITUDE and
//! GIMBAL_DEVICE_ATTITUDE_STATUS every tick; HEARTBEAT, SYS_STATUS and
//! SYSTEM_TIME once a second. In real-time mode the loop sleeps until each
//! tick's wall-clock deadline (the only place the wall clock is read); in
//! fast mode it runs as fast as it can. Shutdown is an input: the loop
//! stops at the next tick after `shutdown` is set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use utkik_shared::dialect::MavMessage;

use crate::link::{Incoming, LinkError, MavLink};
use crate::scenario::{Scenario, ScenarioError};
use crate::simulation::Simulation;
use crate::telemetry;

/// Telemetry tick, microseconds of sim time (20 Hz).
pub const TELEMETRY_TICK_USEC: u64 = 50_000;
/// Ticks per slow-rate message (HEARTBEAT, SYS_STATUS, SYSTEM_TIME): 1 Hz.
const SLOW_EVERY: u64 = 1_000_000 / TELEMETRY_TICK_USEC;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Local MAVLink UDP address (commands arrive here; port 0 = any).
    pub telemetry_listen: SocketAddr,
    /// Where telemetry is sent (`udpout`), if anywhere besides peers.
    pub telemetry_out: Option<SocketAddr>,
    /// Sim seconds to run; `None` = the scenario's `duration_s`.
    pub duration_s: Option<f64>,
    /// Pace sim time to the wall clock (otherwise as fast as possible).
    pub realtime: bool,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Sim time reached, microseconds.
    pub sim_time_usec: u64,
    /// MAVLink messages sent.
    pub messages_sent: u64,
    /// COMMAND_LONGs answered.
    pub commands: u64,
    /// Stopped by the shutdown flag (rather than the duration).
    pub interrupted: bool,
}

/// A run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad scenario.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Telemetry socket.
    #[error(transparent)]
    Link(#[from] LinkError),
}

fn unix_now_usec() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Load the scenario, bind the socket, then run until the duration or `shutdown`.
pub fn run(config: &RunConfig, shutdown: &AtomicBool) -> Result<RunSummary, RunError> {
    let scenario = Scenario::load(&config.scenario)?;
    let link = MavLink::bind(config.telemetry_listen, config.telemetry_out)?;
    run_with(scenario, link, config, shutdown)
}

/// [`run`] with the scenario loaded and the link bound (tests bind port 0 first).
pub fn run_with(
    scenario: Scenario,
    mut link: MavLink,
    config: &RunConfig,
    shutdown: &AtomicBool,
) -> Result<RunSummary, RunError> {
    let duration_usec = (config.duration_s.unwrap_or(scenario.duration_s).max(0.0) * 1e6) as u64;
    let mut sim = Simulation::new(scenario, unix_now_usec());
    tracing::info!(
        scenario = %sim.scenario().name,
        listen = %link.local_addr(),
        out = ?config.telemetry_out,
        "simulation started"
    );
    let start = Instant::now();
    let mut commands = 0u64;
    let mut tick = 0u64;
    let mut interrupted = false;
    loop {
        let t_usec = tick * TELEMETRY_TICK_USEC;
        if t_usec > duration_usec {
            break;
        }
        if shutdown.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        if config.realtime {
            let deadline = start + Duration::from_micros(t_usec);
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep(deadline - now);
            }
        }
        sim.step_to(t_usec);
        for incoming in link.poll()? {
            match incoming {
                Incoming::Message(h, msg) if matches!(*msg, MavMessage::COMMAND_LONG(_)) => {
                    let MavMessage::COMMAND_LONG(cmd) = *msg else { continue };
                    commands += 1;
                    let clock = sim.clock();
                    let frame = *sim.frame();
                    let out = telemetry::handle_command(
                        &cmd,
                        &clock,
                        &frame,
                        sim.vehicle_mut(),
                        (h.system_id as u8, h.component_id),
                    );
                    tracing::info!(command = ?cmd.command, ack = ?out.ack, "COMMAND_LONG");
                    link.send(&out.ack)?;
                    if let Some(reply) = out.reply {
                        link.send(&reply)?;
                    }
                }
                Incoming::UnknownCommand { command, .. } => {
                    commands += 1;
                    tracing::info!(command, "COMMAND_LONG with an unknown id: UNSUPPORTED");
                }
                Incoming::Message(..) => {}
            }
        }
        let clock = sim.clock();
        if tick.is_multiple_of(SLOW_EVERY) {
            link.send(&telemetry::heartbeat())?;
            link.send(&telemetry::system_time(&clock))?;
            link.send(&telemetry::sys_status(sim.vehicle()))?;
            if tick == 0 {
                link.send(&telemetry::home_position(&clock, sim.frame()))?;
            }
        }
        link.send(&telemetry::global_position(&clock, sim.frame(), sim.vehicle()))?;
        link.send(&telemetry::attitude(&clock, sim.vehicle()))?;
        link.send(&telemetry::gimbal_status(&clock, sim.vehicle()))?;
        tick += 1;
    }
    let summary = RunSummary {
        sim_time_usec: sim.time_usec(),
        messages_sent: link.sent,
        commands,
        interrupted,
    };
    tracing::info!(?summary, "simulation stopped");
    Ok(summary)
}
