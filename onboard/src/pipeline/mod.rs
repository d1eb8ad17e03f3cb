//! The onboard pipeline: ingest thread -> inference thread (detect -> track -> georeference) ->
//! out thread (budgeted MAVLink), with the telemetry thread feeding the pose buffer and an
//! optional re-stream thread sending the masked video. [`run`] validates everything and binds
//! every socket before any thread starts, then runs until the shutdown signal.

pub mod detector;
pub mod georef;
pub mod hits;
pub mod messages;
pub mod plates;
pub mod tract;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender, unbounded};
use utkik_shared::camera::PoseUncertainty;
use utkik_shared::dialect::{MavMessage, UTKIK_PIPELINE_STATUS_DATA};

pub use detector::{Detected, ModelIds, ObjectClass, ObjectDetector};
use georef::{FrameGeoref, GeorefConfig};
use plates::PlateVotes;

use crate::config::Config;
use crate::frame::RgbFrame;
use crate::ingest::{IngestConfig, IngestStatus, LatestCounters, latest, run_ingest};
use crate::out::{
    Clock, CpuLoad, OutLink, OutLinkConfig, OutTransport, PipelineCounters, ResendPolicy, SystemClock, rss_kib,
};
use crate::privacy::{MaskConfig, Restream, RestreamConfig, mask_boxes};
use crate::shutdown::Shutdown;
use crate::telemetry::{PoseBuffer, PoseConfig, TelemetryEndpoint, TelemetryStatus, bind_udp, run_telemetry};
use crate::track::{BoxPx, Detection, Tracker, TrackerConfig};

/// Why the pipeline could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The video source cannot work.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// A socket or port could not be opened.
    #[error("{what} {address}: {message}")]
    Io {
        /// Which endpoint.
        what: &'static str,
        /// Its address or device.
        address: String,
        /// OS message.
        message: String,
    },
    /// A detector could not be loaded.
    #[error(transparent)]
    Detector(#[from] tract::DetectorError),
    /// The ANPR hit list could not be loaded (the error names the file, line and field).
    #[error("hit list (detect.plate_hit_list): {0}")]
    HitList(#[from] utkik_shared::hitlist::HitListError),
    /// The biometric gate could not be set up (authorization, trust store, link key, audit log).
    #[error(transparent)]
    Gate(#[from] crate::gate::GateError),
}

/// What the inference thread hands the out thread.
#[derive(Debug)]
enum OutItem {
    /// Send once (priorities by kind).
    Message(MavMessage),
    /// Resend until UTKIK_ALERT_ACK, each time followed by the evidence messages.
    Alert(u32, MavMessage, Vec<MavMessage>),
    /// Stop resending (its data was deleted).
    Cancel(u32),
}

/// The gate of `config`, or `None` when biometric identification is not configured.
pub fn gate_from_config(config: &Config) -> Result<Option<crate::gate::Gate>, PipelineError> {
    if !config.gate_enabled() {
        return Ok(None);
    }
    let g = &config.gate;
    let cache = utkik_models::ModelCache::locate().map_err(|e| crate::config::ConfigError::Invalid {
        key: "gate".into(),
        message: format!("model cache: {e}"),
    })?;
    let setup = crate::gate::GateSetup {
        authorization: g.authorization.clone().into(),
        trust_store: g.trust_store.clone().into(),
        link_key: g.link_key.clone().into(),
        audit_dir: g.audit_dir.clone().into(),
        match_distance: g.match_distance as f32,
        cache,
        system_id: config.link.system_id,
        component_id: config.link.component_id,
    };
    let gate = crate::gate::Gate::open(&setup, SystemClock.now_usec())?;
    tracing::info!(
        authorization = %g.authorization,
        digest = %gate.digest().to_hex(),
        "biometric gate loaded: pending until a signed activation from the ground"
    );
    Ok(Some(gate))
}

/// Everything shared between the threads, for status and for tests.
#[derive(Debug, Default)]
pub struct PipelineState {
    /// Ingest health.
    pub ingest: Arc<IngestStatus>,
    /// Newest-frame-wins counters.
    pub frames: Arc<LatestCounters>,
    /// Telemetry counters.
    pub telemetry: Arc<TelemetryStatus>,
    /// Inference counters.
    pub counters: Arc<PipelineCounters>,
}

/// What a run did, returned when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Frames from the camera.
    pub frames_in: u64,
    /// Frames through detection.
    pub frames_processed: u64,
    /// Frames replaced before inference took them.
    pub frames_dropped: u64,
    /// MAVLink frames sent to the ground.
    pub messages_sent: u64,
    /// Bytes sent to the ground.
    pub bytes_sent: u64,
}

/// Bound sockets and opened ports, acquired before any thread starts.
struct Endpoints {
    telemetry: TelemetryEndpoint,
    telemetry_udp: Option<UdpSocket>,
    out: OutTransport,
}

fn io_err<'a>(what: &'static str, address: &'a str) -> impl Fn(std::io::Error) -> PipelineError + 'a {
    move |e| PipelineError::Io {
        what,
        address: address.to_string(),
        message: e.to_string(),
    }
}

fn open_endpoints(config: &Config) -> Result<Endpoints, PipelineError> {
    let telemetry =
        TelemetryEndpoint::parse(&config.telemetry.endpoint).map_err(|e| crate::config::ConfigError::Invalid {
            key: "telemetry.endpoint".into(),
            message: e.to_string(),
        })?;
    let telemetry_udp = match &telemetry {
        TelemetryEndpoint::Udp(a) => Some(bind_udp(a).map_err(io_err("telemetry UDP port", a))?),
        _ => None,
    };
    let out = match config.link.transport.as_str() {
        "serial" => {
            let dev = &config.link.serial_device;
            let port = serialport::new(dev, config.link.baud)
                .timeout(Duration::from_millis(10))
                .open()
                .map_err(|e| PipelineError::Io {
                    what: "link serial port",
                    address: dev.clone(),
                    message: e.to_string(),
                })?;
            OutTransport::Serial(port)
        }
        _ => {
            let socket = UdpSocket::bind(&config.link.bind).map_err(io_err("link UDP port", &config.link.bind))?;
            let peer = config
                .link
                .ground
                .parse()
                .map_err(|_| crate::config::ConfigError::Invalid {
                    key: "link.ground".into(),
                    message: "must be IP:PORT".into(),
                })?;
            OutTransport::Udp { socket, peer }
        }
    };
    Ok(Endpoints {
        telemetry,
        telemetry_udp,
        out,
    })
}

/// The hit list `detect.plate_hit_list` names (None for ""), in the plate grammar of
/// `detect.plate_countries`. A bad file stops start-up naming the file, line and field.
pub fn hit_list_from_config(config: &Config) -> Result<Option<utkik_shared::hitlist::HitList>, PipelineError> {
    let path = config.detect.plate_hit_list.trim();
    if path.is_empty() {
        return Ok(None);
    }
    let countries: Vec<&str> = config.detect.plate_countries.iter().map(String::as_str).collect();
    let grammar = utkik_shared::plate::PlateGrammar::for_countries(&countries).map_err(|e| {
        crate::config::ConfigError::Invalid {
            key: "detect.plate_countries".into(),
            message: e.to_string(),
        }
    })?;
    let list = utkik_shared::hitlist::HitList::load(std::path::Path::new(path), &grammar)?;
    tracing::info!(file = path, entries = list.len(), "ANPR hit list loaded");
    Ok(Some(list))
}

/// The ground -> drone link key (`gate.link_key`), when configured: authorization commands and
/// alert acks count only when signed with it.
///
/// # Errors
/// The file cannot be read or is not a link key (the error names `gate.link_key` and the file).
pub fn link_key_from_config(config: &Config) -> Result<Option<crate::gate::LinkKey>, PipelineError> {
    let path = config.gate.link_key.trim();
    if path.is_empty() {
        return Ok(None);
    }
    crate::gate::LinkKey::load(std::path::Path::new(path))
        .map(Some)
        .map_err(|e| {
            crate::config::ConfigError::Invalid {
                key: "gate.link_key".into(),
                message: e.to_string(),
            }
            .into()
        })
}

/// Runs the pipeline with the detectors the config asks for, until `shutdown` fires.
pub fn run(config: &Config, shutdown: Shutdown) -> Result<RunSummary, PipelineError> {
    config.validate()?;
    // Checked before anything starts (the out thread loads it again).
    link_key_from_config(config)?;
    let detectors = tract::detectors_from_config(config)?;
    let gate = gate_from_config(config)?;
    run_with_gate(config, detectors, gate, shutdown, Arc::new(PipelineState::default()))
}

/// Runs the pipeline with the given detectors; `state` is filled as it runs.
pub fn run_with_detectors(
    config: &Config,
    detectors: Vec<Box<dyn ObjectDetector>>,
    shutdown: Shutdown,
    state: Arc<PipelineState>,
) -> Result<RunSummary, PipelineError> {
    run_with_gate(config, detectors, None, shutdown, state)
}

/// Runs the pipeline with the given detectors and biometric gate (`None`: identification off).
pub fn run_with_gate(
    config: &Config,
    detectors: Vec<Box<dyn ObjectDetector>>,
    gate: Option<crate::gate::Gate>,
    shutdown: Shutdown,
    state: Arc<PipelineState>,
) -> Result<RunSummary, PipelineError> {
    config.validate()?;
    crate::ingest::runner::check_source(&config.video.source)?;
    let hit_list = hit_list_from_config(config)?;
    let endpoints = open_endpoints(config)?;

    let (frame_tx, frame_rx, frame_counters) = latest::<RgbFrame>();
    let state = Arc::new(PipelineState {
        ingest: state.ingest.clone(),
        frames: frame_counters,
        telemetry: state.telemetry.clone(),
        counters: state.counters.clone(),
    });
    let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
        max_age_usec: config.telemetry.pose_max_age_ms * 1000,
        fixed_pitch_rad: (config.camera.mount == "fixed").then(|| config.camera.fixed_pitch_deg.to_radians()),
    })));
    let (msg_tx, msg_rx) = unbounded::<OutItem>();
    let (cmd_tx, cmd_rx) = unbounded::<Vec<u8>>();
    let mut threads = Vec::new();

    // Ingest.
    let ingest_cfg = IngestConfig {
        source: config.video.source.clone(),
        retry_initial: Duration::from_millis(config.video.retry_initial_ms),
        retry_max: Duration::from_millis(config.video.retry_max_ms),
        stall_timeout: Duration::from_millis(config.video.stall_timeout_ms),
    };
    let fatal: Arc<Mutex<Option<PipelineError>>> = Arc::default();
    {
        let (status, sd, fatal) = (state.ingest.clone(), shutdown.clone(), fatal.clone());
        threads.push(std::thread::Builder::new().name("ingest".into()).spawn(move || {
            if let Err(e) = run_ingest(&ingest_cfg, frame_tx, status, &sd) {
                tracing::error!("ingest stopped: {e}");
                *fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.into());
                sd.trigger();
            }
        }));
    }
    // Telemetry.
    {
        let (p, s, sd) = (poses.clone(), state.telemetry.clone(), shutdown.clone());
        let (ep, udp) = (endpoints.telemetry, endpoints.telemetry_udp);
        threads.push(
            std::thread::Builder::new()
                .name("telemetry".into())
                .spawn(move || run_telemetry(&ep, udp, p, s, &sd)),
        );
    }
    // Re-stream.
    let restream_tx = if config.privacy.restream {
        let (tx, rx, _) = latest::<(RgbFrame, Vec<BoxPx>)>();
        let rs_cfg = RestreamConfig {
            destination: config.privacy.destination.clone(),
            bitrate_kbps: config.privacy.bitrate_kbps,
            fps: config.privacy.fps,
        };
        let mask = MaskConfig {
            mode: config.privacy.mode,
            blocks: config.privacy.blocks,
            margin: config.privacy.margin,
        };
        let sd = shutdown.clone();
        threads.push(std::thread::Builder::new().name("restream".into()).spawn(move || {
            let mut rs = Restream::new(rs_cfg);
            let mut errors = 0u64;
            while !sd.is_triggered() {
                let Ok((mut frame, boxes)) = rx.recv_timeout(Duration::from_millis(100)) else {
                    continue;
                };
                mask_boxes(&mut frame, &boxes, &mask);
                if let Err(e) = rs.push(&frame) {
                    errors += 1;
                    if errors.is_power_of_two() {
                        tracing::warn!(errors, "privacy re-stream: {e}");
                    }
                }
            }
        }));
        Some(tx)
    } else {
        None
    };
    // Inference.
    {
        let mut inf = Inference::new(config, detectors, poses, state.counters.clone());
        if let Some(g) = gate {
            inf.set_gate(g);
        }
        if let Some(h) = hit_list {
            inf.set_hit_list(h);
        }
        let sd = shutdown.clone();
        threads.push(std::thread::Builder::new().name("inference".into()).spawn(move || {
            inf.run(frame_rx, msg_tx, cmd_rx, restream_tx, &sd);
        }));
    }
    // Out.
    let out_cfg = OutLinkConfig {
        system_id: config.link.system_id,
        component_id: config.link.component_id,
        budget_bytes_per_s: config.link.budget_bytes_per_s,
        burst_bytes: config.link.burst_bytes,
        resend: ResendPolicy {
            initial_usec: config.link.alert_resend_initial_ms * 1000,
            max_usec: config.link.alert_resend_max_ms * 1000,
        },
    };
    let mut link = OutLink::new(endpoints.out, out_cfg, SystemClock).map_err(|e| PipelineError::Io {
        what: "link",
        address: config.link.bind.clone(),
        message: e.to_string(),
    })?;
    // With the link key, alert acks must be signed like commands: a forged ack would end the
    // resends of an alert the ground never received.
    match link_key_from_config(config)? {
        Some(key) => link.require_signed_acks(&key),
        None => tracing::warn!("no gate.link_key: alert acks from the ground are not authenticated"),
    }
    let status_period_usec = config.link.status_period_ms * 1000;
    let out_state = state.clone();
    let sd = shutdown.clone();
    let out = std::thread::Builder::new()
        .name("out".into())
        .spawn(move || run_out(link, msg_rx, cmd_tx, out_state, status_period_usec, &sd))
        .map_err(|e| PipelineError::Io {
            what: "thread",
            address: "out".into(),
            message: e.to_string(),
        })?;

    for t in threads.into_iter().flatten() {
        let _ = t.join();
    }
    let (messages_sent, bytes_sent) = out.join().unwrap_or_default();
    if let Some(e) = fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    Ok(RunSummary {
        frames_in: state.ingest.frames_in.load(Ordering::Relaxed),
        frames_processed: state.counters.frames_processed.load(Ordering::Relaxed),
        frames_dropped: state.frames.dropped.load(Ordering::Relaxed),
        messages_sent,
        bytes_sent,
    })
}

/// The out thread: queue, budget, status at the configured period. Returns (messages, bytes).
fn run_out(
    mut link: OutLink<SystemClock>,
    rx: crossbeam_channel::Receiver<OutItem>,
    commands: Sender<Vec<u8>>,
    state: Arc<PipelineState>,
    status_period_usec: u64,
    shutdown: &Shutdown,
) -> (u64, u64) {
    let clock = SystemClock;
    let mut cpu = CpuLoad::default();
    cpu.sample();
    let mut next_status = clock.now_usec() + status_period_usec;
    let mut last_processed = 0u64;
    let mut last_status_usec = clock.now_usec();
    while !shutdown.is_triggered() {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(m) => {
                let mut item = Some(m);
                while let Some(m) = item.take().or_else(|| rx.try_recv().ok()) {
                    match m {
                        OutItem::Message(m) => link.push(m),
                        OutItem::Alert(id, m, follow) => link.push_alert_with(id, m, follow),
                        OutItem::Cancel(id) => {
                            link.cancel_alert(id);
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if shutdown.sleep(Duration::from_millis(5)) {
                    break;
                }
            }
        }
        let now = clock.now_usec();
        if now >= next_status {
            let processed = state.counters.frames_processed.load(Ordering::Relaxed);
            let dt_s = (now - last_status_usec) as f64 * 1e-6;
            let fps = (processed - last_processed) as f64 / dt_s.max(1e-3);
            last_processed = processed;
            last_status_usec = now;
            next_status = now + status_period_usec;
            let (p50, p95) = link.latency_ms().unwrap_or((0, 0));
            let c = &state.counters;
            let status = UTKIK_PIPELINE_STATUS_DATA {
                time_usec: now,
                frames_in: state.ingest.frames_in.load(Ordering::Relaxed) as u32,
                frames_processed: processed as u32,
                frames_dropped: state.frames.dropped.load(Ordering::Relaxed) as u32,
                fps: (fps * 100.0).round().min(65535.0) as u16,
                latency_p50: p50.min(65535) as u16,
                latency_p95: p95.min(65535) as u16,
                cpu_load: cpu.sample(),
                tracks_active: c.tracks_active.load(Ordering::Relaxed).min(65535) as u16,
                link_budget_used: link.budget_used_pct(),
                queue_depth: link.queue_depth().min(65535) as u16,
                face_detector_model: c.face_detector_model.load(Ordering::Relaxed),
                plate_detector_model: c.plate_detector_model.load(Ordering::Relaxed),
                plate_reader_model: c.plate_reader_model.load(Ordering::Relaxed),
                face_template_model: c.face_template_model.load(Ordering::Relaxed),
                mem_rss: rss_kib(),
                video_state: state.ingest.state() as u8,
            };
            link.push(MavMessage::UTKIK_PIPELINE_STATUS(status));
        }
        link.step();
        // Authorization commands go to the gate whole (it checks their signature).
        for frame in link.take_command_frames() {
            let _ = commands.send(frame);
        }
        let incoming = link.take_incoming();
        if !incoming.is_empty() {
            tracing::debug!(
                count = incoming.len(),
                "messages from the ground (authorization commands go to the gate)"
            );
        }
    }
    let s = link.stats();
    (s.messages_sent, s.bytes_sent)
}

/// Pairs each alert with its evidence transfer (none when the crop could not be made).
fn alerts_with_evidence(
    alerts: Vec<(u32, MavMessage)>,
    mut evidence: Vec<(u32, Vec<MavMessage>)>,
) -> Vec<(u32, MavMessage, Vec<MavMessage>)> {
    alerts
        .into_iter()
        .map(|(id, m)| {
            let follow = evidence
                .iter()
                .position(|(e, _)| *e == id)
                .map(|i| evidence.swap_remove(i).1)
                .unwrap_or_default();
            (id, m, follow)
        })
        .collect()
}

fn send_gate_output(o: crate::gate::GateOutput, out: &Sender<OutItem>) {
    for id in o.cancelled_alerts {
        let _ = out.send(OutItem::Cancel(id));
    }
    for (id, m, follow) in alerts_with_evidence(o.alerts, o.evidence) {
        let _ = out.send(OutItem::Alert(id, m, follow));
    }
    for m in o.messages {
        let _ = out.send(OutItem::Message(m));
    }
}

/// Time spent in each stage of one frame, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Pose lookup and camera placement.
    pub pose_usec: u64,
    /// Face detector.
    pub faces_usec: u64,
    /// Plate detector and reader (0 on frames it skips).
    pub plates_usec: u64,
    /// Tracking, georeferencing, votes and message building.
    pub track_usec: u64,
}

impl StageTimes {
    /// Sum of the stages.
    pub fn total_usec(&self) -> u64 {
        self.pose_usec + self.faces_usec + self.plates_usec + self.track_usec
    }
}

/// One detection of a frame and the track it went to.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameDetection {
    /// Its class.
    pub class: ObjectClass,
    /// The confirmed track it was associated with (`None`: tentative or unmatched).
    pub track_id: Option<u32>,
    /// Box, score, plate text or face landmarks.
    pub detected: Detected,
}

/// What one frame produced.
#[derive(Debug, Clone, Default)]
pub struct FrameOutput {
    /// Messages for the ground.
    pub messages: Vec<MavMessage>,
    /// Every box to mask in the re-stream.
    pub boxes: Vec<BoxPx>,
    /// Every detection of this frame (faces with their landmarks, for the gate's alignment).
    pub detections: Vec<FrameDetection>,
    /// Possible matches from the gate: (alert id, UTKIK_BIOMETRIC_MATCH, its evidence transfer),
    /// resent until acknowledged.
    pub alerts: Vec<(u32, MavMessage, Vec<MavMessage>)>,
    /// Stage timings.
    pub times: StageTimes,
}

/// The inference stage: detectors, per-class trackers, georeferencing, plate votes. Public so
/// the benchmark can time it on in-process frames.
pub struct Inference {
    detectors: Vec<Box<dyn ObjectDetector>>,
    trackers: HashMap<ObjectClass, Tracker>,
    /// Votes of the plate tracks, by plate track id (ids are per class).
    votes: HashMap<u32, PlateVotes>,
    poses: Arc<Mutex<PoseBuffer>>,
    georef: GeorefConfig,
    face_height_m: f64,
    plate_height_m: f64,
    counters: Arc<PipelineCounters>,
    gate: Option<crate::gate::Gate>,
    /// ANPR hit-list check of voted reads (no list: every read is a no-hit).
    plate_hits: hits::PlateHits,
}

impl Inference {
    /// An inference stage for `config` with `detectors`, reading poses from `poses`.
    pub fn new(
        config: &Config,
        detectors: Vec<Box<dyn ObjectDetector>>,
        poses: Arc<Mutex<PoseBuffer>>,
        counters: Arc<PipelineCounters>,
    ) -> Self {
        let t = &config.track;
        let tc = TrackerConfig {
            high_score: t.high_score,
            low_score: t.low_score,
            new_track_score: t.new_track_score,
            match_iou: t.match_iou,
            low_match_iou: t.low_match_iou,
            min_hits: t.min_hits,
            max_age_usec: t.max_age_ms * 1000,
            ..TrackerConfig::default()
        };
        let mut ids = ModelIds::default();
        for d in &detectors {
            let m = d.model_ids();
            ids.face_detector |= m.face_detector;
            ids.plate_detector |= m.plate_detector;
            ids.plate_reader |= m.plate_reader;
        }
        counters.face_detector_model.store(ids.face_detector, Ordering::Relaxed);
        counters
            .plate_detector_model
            .store(ids.plate_detector, Ordering::Relaxed);
        counters.plate_reader_model.store(ids.plate_reader, Ordering::Relaxed);
        let trackers = detectors.iter().map(|d| (d.class(), Tracker::new(tc))).collect();
        Self {
            detectors,
            trackers,
            votes: HashMap::new(),
            poses,
            georef: GeorefConfig {
                hfov_rad: config.camera.hfov_deg.to_radians(),
                uncertainty: PoseUncertainty {
                    attitude_sigma_rad: config.camera.attitude_sigma_deg.to_radians(),
                    altitude_sigma_m: config.camera.altitude_sigma_m,
                    position_sigma_m: config.camera.position_sigma_m,
                },
            },
            face_height_m: config.camera.face_height_m,
            plate_height_m: config.camera.plate_height_m,
            counters,
            gate: None,
            plate_hits: hits::PlateHits::new(None),
        }
    }

    /// Checks voted plate reads against `hit_list` (LAW.md section 7).
    pub fn set_hit_list(&mut self, hit_list: utkik_shared::hitlist::HitList) {
        self.plate_hits = hits::PlateHits::new(Some(hit_list));
    }

    /// Puts the biometric gate behind the face detector: faces go to it with their ground
    /// points; it alone decides whether a template is computed.
    pub fn set_gate(&mut self, gate: crate::gate::Gate) {
        self.gate = Some(gate);
    }

    /// The gate, if any (tests read its counters).
    pub fn gate(&self) -> Option<&crate::gate::Gate> {
        self.gate.as_ref()
    }

    /// Gate housekeeping on the drone's clock: signed commands from the ground, window and
    /// deadline, UTKIK_AUTHZ_STATUS at 1 Hz (also while no frame arrives).
    fn gate_step(
        &mut self,
        commands: &crossbeam_channel::Receiver<Vec<u8>>,
        out: &Sender<OutItem>,
        next_status_usec: &mut u64,
    ) {
        let Some(gate) = &mut self.gate else { return };
        let now = SystemClock.now_usec();
        let mut outputs = Vec::new();
        while let Ok(frame) = commands.try_recv() {
            outputs.push(gate.handle_command_frame(&frame, now));
        }
        outputs.push(gate.tick(now));
        if now >= *next_status_usec {
            *next_status_usec = now + 1_000_000;
            let _ = out.send(OutItem::Message(gate.status_message(now, None)));
        }
        for o in outputs {
            send_gate_output(o, out);
        }
    }

    fn run(
        mut self,
        frames: crossbeam_channel::Receiver<RgbFrame>,
        out: Sender<OutItem>,
        commands: crossbeam_channel::Receiver<Vec<u8>>,
        restream: Option<crate::ingest::LatestSender<(RgbFrame, Vec<BoxPx>)>>,
        shutdown: &Shutdown,
    ) {
        let mut index = 0u64;
        let mut next_status_usec = 0u64;
        while !shutdown.is_triggered() {
            self.gate_step(&commands, &out, &mut next_status_usec);
            let frame = match frames.recv_timeout(Duration::from_millis(100)) {
                Ok(f) => f,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let output = self.process(&frame, index);
            index += 1;
            for m in output.messages {
                let _ = out.send(OutItem::Message(m));
            }
            for (id, m, follow) in output.alerts {
                let _ = out.send(OutItem::Alert(id, m, follow));
            }
            if let Some(tx) = &restream {
                tx.send((frame, output.boxes));
            }
        }
        if let Some(gate) = &mut self.gate {
            gate.shutdown(SystemClock.now_usec());
        }
    }

    /// One frame: the messages to send, every box to mask, and the stage times.
    pub fn process(&mut self, frame: &RgbFrame, index: u64) -> FrameOutput {
        let mut times = StageTimes::default();
        let t0 = std::time::Instant::now();
        let pose = self
            .poses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pose_at(frame.time_usec);
        let georef = match &pose {
            Ok(p) => FrameGeoref::new(&self.georef, frame.width, frame.height, p),
            Err(why) => {
                self.counters.frames_pose_stale.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(time_usec = frame.time_usec, "pose stale: {why}");
                None
            }
        };
        let stale = georef.is_none();
        times.pose_usec = t0.elapsed().as_micros() as u64;
        let mut messages = Vec::new();
        let mut boxes = Vec::new();
        let mut detections = Vec::new();
        let mut plate_alerts: Vec<(u32, MavMessage, Vec<MavMessage>)> = Vec::new();
        for d in &mut self.detectors {
            let class = d.class();
            let td = std::time::Instant::now();
            let result = d.detect(frame, index);
            let dt = td.elapsed().as_micros() as u64;
            match class {
                ObjectClass::Face => times.faces_usec += dt,
                ObjectClass::Plate => times.plates_usec += dt,
            }
            let tt = std::time::Instant::now();
            let found = match result {
                Ok(Some(found)) => found,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(?class, "detector failed on frame {}: {e}", frame.time_usec);
                    continue;
                }
            };
            boxes.extend(found.iter().map(|f| f.bbox));
            let dets: Vec<Detection> = found
                .iter()
                .map(|f| Detection {
                    bbox: f.bbox,
                    score: f.score,
                    // A read plate's text is its identity for the tracker.
                    key: f.text.as_ref().map(|(t, _)| t.clone()),
                })
                .collect();
            let height = if class == ObjectClass::Face {
                self.face_height_m
            } else {
                self.plate_height_m
            };
            let locate = |px: [f64; 2]| georef.as_ref().and_then(|g| g.locate(px, height));
            let tracker = self.trackers.get_mut(&class).expect("one tracker per detector class");
            let reports = tracker.update(frame.time_usec, &dets, &locate);
            let mut track_of = vec![None; found.len()];
            for r in &reports {
                if let Some(i) = r.detection.filter(|&i| i < found.len()) {
                    track_of[i] = Some(r.id);
                }
            }
            for r in &reports {
                messages.push(messages::track_message(
                    class,
                    r,
                    frame.time_usec,
                    frame.width,
                    frame.height,
                    stale,
                ));
                if class != ObjectClass::Plate {
                    continue;
                }
                // The track carries its plate between plate frames: each read adds a vote, and
                // the voted text is reported when it first wins (or when another takes over).
                let read = r.detection.and_then(|i| found.get(i));
                if let Some((text, conf)) = read.and_then(|f| f.text.clone()) {
                    let votes = self.votes.entry(r.id).or_default();
                    if let Some(voted) = votes.add(&text, conf, frame.time_usec, 2) {
                        // A hit's image is cut from this frame, where the plate was just read.
                        let image = || read.and_then(|f| hits::plate_image(frame, &f.bbox));
                        match self.plate_hits.report(r.id, &voted, image) {
                            hits::PlateReport::Read(m) => messages.push(m),
                            hits::PlateReport::Alert(id, m, follow) => plate_alerts.push((id, m, follow)),
                            hits::PlateReport::AlreadyAlerted => {}
                        }
                    }
                }
                if r.lost {
                    self.votes.remove(&r.id);
                    self.plate_hits.track_lost(r.id);
                }
            }
            detections.extend(
                found
                    .into_iter()
                    .zip(track_of)
                    .map(|(detected, track_id)| FrameDetection {
                        class,
                        track_id,
                        detected,
                    }),
            );
            times.track_usec += tt.elapsed().as_micros() as u64;
        }
        // Mask also what trackers still hold (a face the detector missed this frame), where it
        // is now: a plate track is only updated on plate frames and moves on in between.
        for t in self.trackers.values() {
            boxes.extend(t.boxes_at(frame.time_usec));
        }
        let mut alerts = Vec::new();
        if let Some(gate) = &mut self.gate {
            // The face's ground point (flat ground raised by the face height) decides the area.
            let faces: Vec<crate::gate::GateFace> = detections
                .iter()
                .filter(|d| d.class == ObjectClass::Face)
                .filter_map(|d| {
                    let lm = d.detected.landmarks_px?;
                    let b = d.detected.bbox;
                    let centre = [(b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0];
                    Some(crate::gate::GateFace {
                        track_id: d.track_id,
                        bbox: b,
                        landmarks_px: lm,
                        ground: georef
                            .as_ref()
                            .and_then(|g| g.locate(centre, self.face_height_m))
                            .map(|f| f.point),
                    })
                })
                .collect();
            let o = gate.process(SystemClock.now_usec(), frame, &faces);
            alerts = alerts_with_evidence(o.alerts, o.evidence);
            messages.extend(o.messages);
        }
        alerts.extend(plate_alerts);
        let active: usize = self.trackers.values().map(Tracker::confirmed).sum();
        self.counters.tracks_active.store(active as u64, Ordering::Relaxed);
        self.counters.frames_processed.fetch_add(1, Ordering::Relaxed);
        FrameOutput {
            messages,
            boxes,
            detections,
            alerts,
            times,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::StreamDecoder;

    /// Detection off (a real configuration: video relay with status only): ingest, status at the
    /// configured period, re-stream and shutdown all work over real sockets.
    #[test]
    fn detection_off_still_streams_and_reports_status() {
        let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
        ground.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let video_sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        video_sink.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut config = Config::default();
        config.video.source = "test://ball".into();
        config.telemetry.endpoint = "udp://127.0.0.1:0".into();
        config.link.bind = "127.0.0.1:0".into();
        config.link.ground = ground.local_addr().unwrap().to_string();
        config.link.status_period_ms = 100;
        config.privacy.destination = video_sink.local_addr().unwrap().to_string();
        config.detect.faces = false;
        config.detect.plates = false;
        let shutdown = Shutdown::new();
        let sd = shutdown.clone();
        let handle = std::thread::spawn(move || run_with_detectors(&config, Vec::new(), sd, Arc::default()));

        let mut decoder = StreamDecoder::new();
        let mut buf = [0u8; 2048];
        let status = loop {
            let (n, _) = ground.recv_from(&mut buf).expect("status arrives");
            let found = decoder.push(&buf[..n]).into_iter().find_map(|(h, m)| match m {
                MavMessage::UTKIK_PIPELINE_STATUS(s) if s.frames_processed > 0 => Some((h, s)),
                _ => None,
            });
            if let Some(s) = found {
                break s;
            }
        };
        let (header, s) = status;
        assert_eq!((header.system_id, header.component_id), (1, 191));
        assert!(s.frames_in >= s.frames_processed);
        assert_eq!(s.video_state, 1, "streaming");
        assert!(s.mem_rss > 0);
        assert_eq!(s.face_detector_model, 0, "no detector loaded");
        // The masked re-stream reaches its destination as RTP.
        let (n, _) = video_sink.recv_from(&mut buf).expect("re-stream packets");
        assert!(n > 12 && buf[0] >> 6 == 2, "RTP version 2");
        shutdown.trigger();
        let summary = handle.join().unwrap().unwrap();
        assert!(summary.frames_processed > 0 && summary.messages_sent > 0, "{summary:?}");
    }

    /// A plate detector that reads `texts[frame]` at a box moving 150 px a frame (no overlap).
    struct ScriptedPlates(Vec<Vec<&'static str>>);

    impl ObjectDetector for ScriptedPlates {
        fn class(&self) -> ObjectClass {
            ObjectClass::Plate
        }
        fn detect(&mut self, _: &RgbFrame, i: u64) -> Result<Option<Vec<Detected>>, String> {
            let texts = self.0.get(i as usize).cloned().unwrap_or_default();
            Ok(Some(
                texts
                    .iter()
                    .enumerate()
                    .map(|(k, t)| Detected {
                        bbox: BoxPx::from_xywh(20.0 + 150.0 * i as f64, 40.0 + 100.0 * k as f64, 90.0, 28.0),
                        score: 0.95,
                        text: Some(((*t).to_string(), 0.9)),
                        landmarks_px: None,
                    })
                    .collect(),
            ))
        }
    }

    /// LAW.md section 7: a voted read of a listed plate is a HIT alert (entry line, alert id,
    /// queued as an alert so it is resent until acknowledged), once per track and text; a read
    /// not on the list, or on an expired entry, is a plain no-hit read.
    #[test]
    fn a_listed_plate_is_one_hit_alert_and_others_are_plain_reads() {
        let grammar = utkik_shared::plate::PlateGrammar::for_countries(&["SE"]).unwrap();
        let list = utkik_shared::hitlist::HitList::parse(
            "# plate\texpires\treason\nABC 123\t2099-01-01\tDEMO stolen\nXYZ 12A\t2001-01-01\tDEMO expired\n",
            &grammar,
        )
        .unwrap();
        let script = vec![vec!["ABC123", "XYZ12A", "KLM45A"]; 6];
        let config = Config::default();
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 1,
            fixed_pitch_rad: None,
        })));
        let mut inf = Inference::new(&config, vec![Box::new(ScriptedPlates(script))], poses, Arc::default());
        inf.set_hit_list(list);
        let frame = RgbFrame::new(64, 64, vec![0; 64 * 64 * 3], 0).unwrap();
        let (mut alerts, mut reads) = (Vec::new(), Vec::new());
        for i in 0..6u64 {
            let f = RgbFrame::new(64, 64, frame.data.clone(), 1_800_000_000_000_000 + i * 100_000).unwrap();
            let out = inf.process(&f, i);
            alerts.extend(out.alerts);
            reads.extend(out.messages.into_iter().filter_map(|m| match m {
                MavMessage::UTKIK_PLATE_READ(r) => Some(r),
                _ => None,
            }));
        }
        let text = |r: &utkik_shared::dialect::UTKIK_PLATE_READ_DATA| -> String {
            r.plate.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect()
        };
        assert_eq!(alerts.len(), 1, "one alert for the listed plate: {alerts:?}");
        let (id, MavMessage::UTKIK_PLATE_READ(hit), follow) = &alerts[0] else {
            panic!("{alerts:?}")
        };
        assert_eq!(text(hit), "ABC123");
        assert_eq!(
            hit.status,
            utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT
        );
        assert_eq!(
            (hit.alert_id, *id, hit.hit_entry_id),
            (1, 1, 2),
            "alert id and the entry's line"
        );
        assert!(follow.is_empty());
        let mut plain: Vec<String> = reads.iter().map(text).collect();
        plain.sort();
        assert_eq!(
            plain,
            vec!["KLM45A", "XYZ12A"],
            "expired entry and unlisted plate are no-hits"
        );
        assert!(
            reads
                .iter()
                .all(|r| r.status == utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT)
        );
    }

    /// A bad hit-list file stops start-up naming the line.
    #[test]
    fn a_bad_hit_list_is_a_start_up_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hits.tsv");
        std::fs::write(&path, "ABC 123\t2099-01-01\tok\nnot a plate\t2099-01-01\tbad\n").unwrap();
        let mut config = Config::default();
        config.detect.plate_hit_list = path.display().to_string();
        let e = hit_list_from_config(&config).unwrap_err().to_string();
        assert!(
            e.contains("hits.tsv") && e.contains("line 2") && e.contains("`plate`"),
            "{e}"
        );
        config.detect.plate_hit_list = String::new();
        assert!(hit_list_from_config(&config).unwrap().is_none());
    }

    /// A link key that cannot be loaded stops start-up naming the setting and the file; a
    /// good one is loaded; none configured is none.
    #[test]
    fn a_bad_link_key_is_a_start_up_error_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        std::fs::write(&path, "{\"not\": \"a key\"}").unwrap();
        let mut config = Config::default();
        config.gate.link_key = path.display().to_string();
        let e = link_key_from_config(&config).unwrap_err().to_string();
        assert!(e.contains("gate.link_key") && e.contains("k.json"), "{e}");
        config.gate.link_key = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/authz/DEMO-link.key.NOT-SECRET.json"
        )
        .into();
        assert!(link_key_from_config(&config).unwrap().is_some());
        config.gate.link_key = String::new();
        assert!(link_key_from_config(&config).unwrap().is_none());
    }

    /// The real detectors on rendered frames of a slowly moving camera: the face track is
    /// confirmed with landmarks on every frame; the plate reader looks on every 3rd frame only,
    /// its track carries the plate in between (its mask box moves on), and two reads of the
    /// same text are voted into one UTKIK_PLATE_READ.
    #[test]
    fn tracks_carry_plates_between_plate_frames_and_vote_their_reads() {
        use glam::DVec3;
        use utkik_sim::render::TruthClass;

        use crate::testing::{CLOSE_UP_PLATE, close_up, coverage, truth_of};

        let config = Config::default();
        let cache = utkik_models::ModelCache::locate().unwrap();
        let detectors = tract::detectors_with_cache(&config, &cache).unwrap();
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 250_000,
            fixed_pitch_rad: None,
        })));
        let mut inf = Inference::new(&config, detectors, poses, Arc::default());
        let corners = |b: &BoxPx| [b.x0, b.y0, b.x1, b.y1];
        let mut plate_reads = Vec::new();
        let mut face_tracks = std::collections::HashSet::new();
        for i in 0..16u64 {
            // 3 cm a frame to the right at 30 frames/s: the scene slides ~12 px a frame.
            let (frame, rendered) = close_up(DVec3::new(0.03 * i as f64, -9.0, 3.0), i, 1_000_000 + i * 33_333);
            let out = inf.process(&frame, i);
            let faces: Vec<&FrameDetection> = out.detections.iter().filter(|d| d.class == ObjectClass::Face).collect();
            let plates: Vec<&FrameDetection> = out
                .detections
                .iter()
                .filter(|d| d.class == ObjectClass::Plate)
                .collect();
            let truth_plate = truth_of(&rendered, TruthClass::Plate)[0].1;
            assert_eq!(faces.len(), 1, "frame {i}: {faces:?}");
            assert!(faces[0].detected.landmarks_px.is_some());
            if i > 0 {
                face_tracks.insert(faces[0].track_id.expect("confirmed from the second frame"));
            }
            if i % 3 != 0 {
                assert!(plates.is_empty(), "frame {i} is not a plate frame");
                assert!(out.times.plates_usec < 1000, "frame {i}: {:?}", out.times);
            }
            if i >= 9 {
                // Found by frame 6 (third scan strip) and followed since: the plate is masked on
                // every frame, where it is now.
                assert!(
                    out.boxes.iter().any(|b| coverage(corners(b), truth_plate) > 0.6),
                    "frame {i}: plate {truth_plate:?} not masked: {:?}",
                    out.boxes
                );
            }
            for m in &out.messages {
                if let MavMessage::UTKIK_PLATE_READ(r) = m {
                    plate_reads.push((i, r.clone()));
                }
            }
        }
        assert_eq!(face_tracks.len(), 1, "one face track all along");
        assert_eq!(plate_reads.len(), 1, "reported once: {plate_reads:?}");
        let (at, r) = &plate_reads[0];
        let text: String = r.plate.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
        assert_eq!(text, utkik_shared::plate::normalize(CLOSE_UP_PLATE));
        assert!(r.reads >= 2 && r.confidence > 50, "{r:?}");
        assert!(*at <= 12 && at % 3 == 0, "voted on plate frame {at}");
    }

    #[test]
    fn busy_port_and_bad_source_are_start_up_errors() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut config = Config::default();
        config.video.source = "test://".into();
        config.telemetry.endpoint = format!("udp://{}", taken.local_addr().unwrap());
        let e = run_with_detectors(&config, Vec::new(), Shutdown::new(), Arc::default()).unwrap_err();
        assert!(e.to_string().contains("telemetry UDP port"), "{e}");
        config.video.source = "nosuchelement ! videoconvert".into();
        let e = run_with_detectors(&config, Vec::new(), Shutdown::new(), Arc::default()).unwrap_err();
        assert!(e.to_string().contains("nosuchelement"), "{e}");
    }
}
