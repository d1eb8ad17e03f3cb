//! `utkik-sim run`: the simulation loop with SITL-like telemetry over UDP,
//! camera video and ground truth.
//!
//! Telemetry ticks at 20 Hz of sim time: GLOBAL_POSITION_INT, ATTITUDE and
//! GIMBAL_DEVICE_ATTITUDE_STATUS every tick; HEARTBEAT, SYS_STATUS and
//! SYSTEM_TIME once a second. Camera frames fall at their own times
//! (`i / fps`) between the ticks. In real-time mode the loop sleeps until
//! each event's wall-clock deadline (the only place the wall clock is read);
//! in fast mode it runs as fast as it can. Shutdown is an input: the loop
//! stops at the next event after `shutdown` is set.
//!
//! A car source (`kind = "vehicle"`) has no autopilot: it sends no MAVLink at all (no socket is
//! bound, `--telemetry-out` is refused) and its pose goes out as NMEA RMC + GGA from a TCP
//! server (`--nmea-listen`, [`crate::nmea_out`]) at epochs `i / nmea_rate_hz` of sim time.
//!
//! Frames are rendered, written to the truth file and streamed on a second
//! thread, so a slow frame never delays telemetry: the loop hands over the
//! frame's number, sim time and camera pose (taken at the frame's exact
//! time). In real time a frame that finds the renderer still busy with two
//! others is dropped (counted; it has no truth line either); in fast mode
//! the loop waits for the renderer instead, so every frame is produced.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use utkik_shared::camera::CameraPose;
use utkik_shared::dialect::MavMessage;
use utkik_shared::events::SourceKind;

use crate::camera::{VideoSize, camera_pose};
use crate::link::{Incoming, LinkError, MavLink};
use crate::nmea_out::{NmeaServer, NmeaServerError, fix_report};
use crate::render::{AssetError, Assets, RenderOptions};
use crate::scenario::{Scenario, ScenarioError};
use crate::simulation::Simulation;
use crate::telemetry;
use crate::truth::{TruthError, TruthWriter};
use crate::video::{FrameRenderer, RtpConfig, RtpSender, VideoError, VideoSettings, frame_time_usec};

/// Telemetry tick, microseconds of sim time (20 Hz).
pub const TELEMETRY_TICK_USEC: u64 = 50_000;
/// Ticks per slow-rate message (HEARTBEAT, SYS_STATUS, SYSTEM_TIME): 1 Hz.
const SLOW_EVERY: u64 = 1_000_000 / TELEMETRY_TICK_USEC;

/// Default encoder bit rate of the video stream, kbit/s (plates stay legible
/// at 1280x720 on loopback; a real radio link would use less).
pub const DEFAULT_VIDEO_BITRATE_KBPS: u32 = 6000;

/// Frames waiting for the renderer before real-time mode drops new ones.
const FRAME_QUEUE: usize = 2;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Local MAVLink UDP address (commands arrive here; port 0 = any).
    pub telemetry_listen: SocketAddr,
    /// Where telemetry is sent (`udpout`), besides peers that talk to us;
    /// several targets each get every message (onboard and ground).
    pub telemetry_out: Vec<SocketAddr>,
    /// Sim seconds to run; `None` = the scenario's `duration_s`.
    pub duration_s: Option<f64>,
    /// Pace sim time to the wall clock (otherwise as fast as possible).
    pub realtime: bool,
    /// Stream the camera as RTP/H.264 to this UDP address.
    pub video_out: Option<SocketAddr>,
    /// Write the ground truth of every rendered frame to this JSON-lines file.
    pub truth: Option<PathBuf>,
    /// Camera settings (used when `video_out` or `truth` is set).
    pub video: VideoOptions,
    /// MAVLink system id of the simulated autopilot (1 unless several vehicles fly); a
    /// `source` brings its own.
    pub system_id: u8,
    /// The camera of a multi-source scenario to run (`[[sources]]`); `None`: the scenario's
    /// own route and gimbal.
    pub source: Option<String>,
    /// A car source only: serve its GNSS fixes as NMEA over TCP on this address.
    pub nmea_listen: Option<SocketAddr>,
    /// NMEA epochs (RMC + GGA) per second of sim time.
    pub nmea_rate_hz: f64,
}

/// Camera settings of a run; `None` fields come from the scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoOptions {
    /// Frame size (default: the scenario's camera).
    pub size: Option<VideoSize>,
    /// Frames per second (default: the scenario's camera).
    pub fps: Option<f64>,
    /// Encoder bit rate, kbit/s.
    pub bitrate_kbps: u32,
    /// Sensor noise amplitude (see [`RenderOptions::noise_amplitude`]).
    pub noise_amplitude: u8,
}

impl Default for VideoOptions {
    fn default() -> Self {
        Self {
            size: None,
            fps: None,
            bitrate_kbps: DEFAULT_VIDEO_BITRATE_KBPS,
            noise_amplitude: RenderOptions::default().noise_amplitude,
        }
    }
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
    /// Camera frames rendered (streamed and/or written to the truth file).
    pub frames_rendered: u64,
    /// Camera frames skipped because the renderer was behind (real time only).
    pub frames_dropped: u64,
    /// NMEA epochs sent (a car source with `nmea_listen`).
    pub nmea_epochs: u64,
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
    /// Plate font or face imagery for the camera.
    #[error("camera assets: {0}")]
    Assets(#[from] AssetError),
    /// Camera settings or the video stream.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The ground-truth file.
    #[error(transparent)]
    Truth(#[from] TruthError),
    /// The render thread panicked.
    #[error("render thread panicked: {0}")]
    RenderPanic(String),
    /// `--source` names no source of the scenario.
    #[error("--source: {0}")]
    Source(String),
    /// Options that do not fit the source's kind (MAVLink for a car, NMEA for a drone, a bad rate).
    #[error("{0}")]
    Options(String),
    /// The NMEA server of a car source.
    #[error(transparent)]
    Nmea(#[from] NmeaServerError),
}

fn unix_now_usec() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The camera settings of a run: the scenario's camera overridden by
/// `video`, the scenario's seed as the noise seed. With the truth file's
/// poses and times this reproduces every frame of a run exactly.
pub fn video_settings(scenario: &Scenario, video: &VideoOptions) -> VideoSettings {
    VideoSettings {
        size: video.size.unwrap_or_else(|| VideoSize::of(&scenario.camera)),
        fps: video.fps.unwrap_or(scenario.camera.fps),
        render: RenderOptions {
            noise_amplitude: video.noise_amplitude,
            motion_blur_px: None,
            seed: scenario.seed,
        },
    }
}

/// The camera of a run, validated and loaded before any socket is opened.
#[derive(Debug)]
pub struct CameraPlan {
    renderer: FrameRenderer,
}

impl CameraPlan {
    /// `None` when the run neither streams video nor writes truth; otherwise
    /// the renderer with the scenario's camera overridden by `config.video`
    /// and the assets loaded (missing face imagery is an error: detectors
    /// need real faces).
    pub fn prepare(scenario: &Scenario, config: &RunConfig) -> Result<Option<Self>, RunError> {
        if config.video_out.is_none() && config.truth.is_none() {
            return Ok(None);
        }
        let settings = video_settings(scenario, &config.video);
        let assets = Arc::new(Assets::load_default()?);
        Ok(Some(Self {
            renderer: FrameRenderer::new(scenario, assets, settings)?,
        }))
    }
}

/// Load the scenario and the camera, bind the socket, then run until the
/// duration or `shutdown`.
pub fn run(config: &RunConfig, shutdown: &AtomicBool) -> Result<RunSummary, RunError> {
    let scenario = Scenario::load(&config.scenario)?;
    let (scenario, system_id, car) = match &config.source {
        Some(name) => {
            let (s, src) = scenario.for_source(name).map_err(RunError::Source)?;
            (s, src.system_id, src.kind == SourceKind::Vehicle)
        }
        None => (scenario, config.system_id, false),
    };
    let name = config.source.as_deref().unwrap_or_default();
    if car && !config.telemetry_out.is_empty() {
        return Err(RunError::Options(format!(
            "--telemetry-out: source {name} is a car (kind = \"vehicle\"): it has no autopilot and sends no MAVLink; its pose goes out as NMEA with --nmea-listen"
        )));
    }
    if !car && let Some(addr) = config.nmea_listen {
        return Err(RunError::Options(format!(
            "--nmea-listen {addr}: only a car source (kind = \"vehicle\") has a GNSS receiver; a drone's pose is its MAVLink telemetry"
        )));
    }
    if !(config.nmea_rate_hz > 0.0 && config.nmea_rate_hz <= 100.0) {
        return Err(RunError::Options(format!(
            "--nmea-rate-hz {}: must be in (0, 100]",
            config.nmea_rate_hz
        )));
    }
    let camera = CameraPlan::prepare(&scenario, config)?;
    if car {
        let nmea = config.nmea_listen.map(NmeaServer::bind).transpose()?;
        if let Some(n) = &nmea {
            tracing::info!(source = name, listen = %n.local_addr(), rate_hz = config.nmea_rate_hz, "NMEA server listening");
        } else {
            tracing::warn!(
                source = name,
                "a car source without --nmea-listen: its pose goes nowhere"
            );
        }
        return run_prepared(scenario, camera, None, nmea, config, shutdown);
    }
    let mut link = MavLink::bind(config.telemetry_listen, config.telemetry_out.iter().copied())?;
    link.set_system_id(system_id);
    run_prepared(scenario, camera, Some(link), None, config, shutdown)
}

/// [`run`] with the scenario loaded and the link bound (tests bind port 0 first).
pub fn run_with(
    scenario: Scenario,
    link: MavLink,
    config: &RunConfig,
    shutdown: &AtomicBool,
) -> Result<RunSummary, RunError> {
    let camera = CameraPlan::prepare(&scenario, config)?;
    run_prepared(scenario, camera, Some(link), None, config, shutdown)
}

/// A frame for the render thread: everything it needs besides the scenario.
struct FrameJob {
    index: u64,
    sim_time_usec: u64,
    pose: CameraPose,
}

/// The render thread: render, write truth, stream; returns frames rendered.
fn render_loop(
    renderer: FrameRenderer,
    jobs: Receiver<FrameJob>,
    epoch_unix_usec: u64,
    mut truth: Option<TruthWriter>,
    mut stream: Option<RtpSender>,
) -> Result<u64, RunError> {
    let mut rendered = 0u64;
    for job in jobs {
        let frame = renderer.render(job.index, job.sim_time_usec, epoch_unix_usec, job.pose);
        if let Some(t) = truth.as_mut() {
            t.write(&frame.truth_frame())?;
        }
        if let Some(s) = stream.as_mut() {
            s.push(&frame)?;
        }
        rendered += 1;
    }
    if let Some(t) = truth.as_mut() {
        t.flush()?;
    }
    if let Some(s) = stream {
        s.finish()?;
    }
    Ok(rendered)
}

/// The render thread and the channel to it.
struct CameraWorker {
    jobs: SyncSender<FrameJob>,
    thread: std::thread::JoinHandle<Result<u64, RunError>>,
    fps: f64,
    dropped: u64,
}

impl CameraWorker {
    fn start(plan: CameraPlan, config: &RunConfig, epoch_unix_usec: u64) -> Result<Self, RunError> {
        let settings = *plan.renderer.settings();
        let truth = config.truth.as_deref().map(TruthWriter::create).transpose()?;
        let stream = match config.video_out {
            Some(destination) => {
                let s = RtpSender::start(RtpConfig {
                    destination,
                    size: settings.size,
                    fps: settings.fps,
                    bitrate_kbps: config.video.bitrate_kbps,
                    epoch_unix_usec,
                })?;
                tracing::info!(%destination, size = %settings.size, fps = settings.fps, "video stream started");
                Some(s)
            }
            None => None,
        };
        let (jobs, rx) = sync_channel(FRAME_QUEUE);
        let renderer = plan.renderer;
        let thread = std::thread::Builder::new()
            .name("render".into())
            .spawn(move || render_loop(renderer, rx, epoch_unix_usec, truth, stream))
            .map_err(|e| {
                RunError::Video(VideoError::Stream {
                    pipeline: "render thread".into(),
                    message: e.to_string(),
                })
            })?;
        Ok(Self {
            jobs,
            thread,
            fps: settings.fps,
            dropped: 0,
        })
    }

    /// Hand a frame over; `false` when the render thread has stopped (its
    /// error comes from [`Self::finish`]).
    fn submit(&mut self, job: FrameJob, realtime: bool) -> bool {
        if realtime {
            match self.jobs.try_send(job) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    self.dropped += 1;
                    tracing::debug!(dropped = self.dropped, "renderer behind: frame dropped");
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        } else {
            self.jobs.send(job).is_ok()
        }
    }

    /// Close the channel, wait for the last frames; frames rendered and dropped.
    fn finish(self) -> Result<(u64, u64), RunError> {
        drop(self.jobs);
        let rendered = self.thread.join().map_err(|p| {
            RunError::RenderPanic(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
            )
        })??;
        Ok((rendered, self.dropped))
    }
}

/// The loop of [`run`] once everything is validated and bound: MAVLink telemetry on `link` (a
/// drone or a fixed camera), NMEA epochs on `nmea` (a car; `config.nmea_rate_hz`).
pub fn run_prepared(
    scenario: Scenario,
    camera: Option<CameraPlan>,
    mut link: Option<MavLink>,
    mut nmea: Option<NmeaServer>,
    config: &RunConfig,
    shutdown: &AtomicBool,
) -> Result<RunSummary, RunError> {
    let nmea_period_usec = ((1e6 / config.nmea_rate_hz).round() as u64).max(1);
    let mut nmea_index = 0u64;
    let duration_usec = (config.duration_s.unwrap_or(scenario.duration_s).max(0.0) * 1e6) as u64;
    let mut sim = Simulation::new(scenario, unix_now_usec());
    let mut worker = camera
        .map(|plan| CameraWorker::start(plan, config, sim.epoch_unix_usec()))
        .transpose()?;
    tracing::info!(
        scenario = %sim.scenario().name,
        listen = ?link.as_ref().map(MavLink::local_addr),
        out = ?config.telemetry_out,
        "simulation started"
    );
    let start = Instant::now();
    let mut commands = 0u64;
    let mut tick = 0u64;
    let mut frame_index = 0u64;
    let mut interrupted = false;
    loop {
        let t_tick = tick * TELEMETRY_TICK_USEC;
        let t_frame = worker
            .as_ref()
            .map_or(u64::MAX, |w| frame_time_usec(frame_index, w.fps));
        let t_nmea = if nmea.is_some() {
            nmea_index * nmea_period_usec
        } else {
            u64::MAX
        };
        let t_usec = t_tick.min(t_frame).min(t_nmea);
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
        if t_usec == t_frame
            && let Some(w) = worker.as_mut()
        {
            let job = FrameJob {
                index: frame_index,
                sim_time_usec: t_usec,
                pose: camera_pose(sim.frame(), &sim.vehicle_at(t_usec)),
            };
            frame_index += 1;
            if !w.submit(job, config.realtime) {
                break; // the render thread failed: its error is reported below
            }
        }
        if t_usec == t_nmea
            && let Some(server) = nmea.as_mut()
        {
            let clock = sim.clock();
            let fix = fix_report(sim.frame(), &sim.vehicle_at(t_usec), clock.epoch_unix_usec + t_usec);
            server.broadcast(&fix)?;
            nmea_index += 1;
        }
        if t_usec != t_tick {
            continue;
        }
        let Some(link) = link.as_mut() else {
            // A car: no autopilot, no MAVLink; the tick only paces the loop.
            tick += 1;
            continue;
        };
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
    let (frames_rendered, frames_dropped) = match worker {
        Some(w) => w.finish()?,
        None => (0, 0),
    };
    let summary = RunSummary {
        sim_time_usec: sim.time_usec(),
        messages_sent: link.as_ref().map_or(0, |l| l.sent),
        commands,
        interrupted,
        frames_rendered,
        frames_dropped,
        nmea_epochs: nmea.as_ref().map_or(0, |n| n.epochs_sent),
    };
    tracing::info!(?summary, "simulation stopped");
    Ok(summary)
}
