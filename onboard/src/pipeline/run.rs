//! [`run`]: validates the configuration, opens every endpoint, then starts the ingest,
//! telemetry, re-stream, inference and out threads and waits for them until the shutdown signal.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::unbounded;

use super::inference::Inference;
use super::out_thread::{SourceStatus, run_out};
use super::setup::{gate_from_config, hit_list_from_config, link_key_from_config, open_endpoints};
use super::{ObjectDetector, OutItem, PipelineError, PipelineState, RunSummary, tract};
use crate::config::{Config, SourceKind};
use crate::frame::RgbFrame;
use crate::ingest::{IngestConfig, latest, run_ingest};
use crate::out::{OutLink, OutLinkConfig, ResendPolicy, SystemClock};
use crate::privacy::{MaskConfig, Restream, RestreamConfig, mask_boxes};
use crate::shutdown::Shutdown;
use crate::telemetry::{
    FixedSite, NmeaEndpoint, NmeaFeed, PoseBuffer, PoseConfig, VehicleCamera, run_nmea, run_telemetry,
};
use crate::track::BoxPx;

/// Where the camera pose comes from, by `source.kind`.
enum PoseSource {
    /// A drone's autopilot over MAVLink.
    Autopilot,
    /// A fixed site's configured pose.
    Site(FixedSite),
    /// A car's GNSS receiver.
    Gnss(NmeaEndpoint, VehicleCamera),
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
    // Whose camera and what kind: the legal basis of using the feed depends on it, so it is in
    // the log of every run and in every status.
    tracing::info!(
        source_kind = %config.source.kind,
        legal_basis = %config.source.legal_basis,
        "video source: {} camera, {}",
        config.source.kind,
        match config.source.legal_basis {
            crate::config::LegalBasis::Own => "our own",
            crate::config::LegalBasis::OtherOperator => "another operator's (other_operator)",
        }
    );
    crate::ingest::runner::check_source(&config.video.source)?;
    // Where the pose comes from (validated with the config: a fixed site has its [site], a car
    // its NMEA endpoint and [vehicle_camera]).
    let pose_source = match config.source.kind {
        SourceKind::Drone => PoseSource::Autopilot,
        SourceKind::Fixed => {
            let site = FixedSite::from_config(config.site.as_ref())?;
            tracing::info!(?site, "fixed site: every frame georeferenced from the configured pose");
            PoseSource::Site(site)
        }
        SourceKind::Vehicle => {
            let endpoint =
                NmeaEndpoint::parse(&config.telemetry.endpoint).map_err(|e| crate::config::ConfigError::Invalid {
                    key: "telemetry.endpoint".into(),
                    message: e.to_string(),
                })?;
            PoseSource::Gnss(endpoint, VehicleCamera::from_config(config.vehicle_camera.as_ref())?)
        }
    };
    let hit_list = hit_list_from_config(config)?;
    // Evidence crops and plate images are sealed to the ground station's public key before they
    // are stored or sent (crate::keys: required with the gate or a hit list).
    let seal_public = crate::keys::ground_seal_public(config)?;
    let gate = gate.map(|mut g| {
        if let Some(pk) = &seal_public {
            g.seal_images_to(pk.clone());
        }
        g
    });
    // Before anything is sent: this run's alert ids must differ from every earlier run's.
    let boot_epoch = crate::out::boot_epoch::next_boot_epoch(std::path::Path::new(&config.link.boot_epoch_file))?;
    tracing::info!(boot_epoch, file = %config.link.boot_epoch_file, "alert ids of this run carry boot epoch {boot_epoch}");
    let endpoints = open_endpoints(config)?;
    // Only masked video leaves the drone (LAW.md 8.1): without a running detector for faces or
    // for plates the re-stream does not start, and says why; the rest of the pipeline runs.
    let running: Vec<super::ObjectClass> = detectors.iter().map(|d| d.class()).collect();
    let restream_refused = config
        .privacy
        .restream
        .then(|| crate::privacy::refusal(&running))
        .flatten();
    if let Some(why) = &restream_refused {
        tracing::error!("{why}");
    }
    // The status says whether the re-stream runs and why not (UTKIK_PIPELINE_STATUS.restream_state).
    state.counters.restream_state.store(
        crate::privacy::restream_state(config.privacy.restream, &running) as u8,
        Ordering::Relaxed,
    );

    let (frame_tx, frame_rx, frame_counters) = latest::<RgbFrame>();
    let state = Arc::new(PipelineState {
        ingest: state.ingest.clone(),
        frames: frame_counters,
        telemetry: state.telemetry.clone(),
        counters: state.counters.clone(),
    });
    let pose_config = PoseConfig {
        max_age_usec: config.telemetry.pose_max_age_ms * 1000,
        fixed_pitch_rad: (config.camera.mount == "fixed").then(|| config.camera.fixed_pitch_deg.to_radians()),
    };
    let poses = Arc::new(Mutex::new(match &pose_source {
        PoseSource::Autopilot => PoseBuffer::new(pose_config),
        PoseSource::Site(site) => site.pose_buffer(pose_config),
        PoseSource::Gnss(_, camera) => {
            PoseBuffer::new(pose_config).with_camera_yaw_offset(camera.yaw_offset_deg.to_radians())
        }
    }));
    // A camera without an autopilot reports its own pose to the ground (out thread).
    let own_pose = (!matches!(pose_source, PoseSource::Autopilot)).then(|| poses.clone());
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
    // Telemetry: the autopilot's MAVLink or the GNSS receiver's NMEA; a fixed site has none.
    {
        let (p, s, sd) = (poses.clone(), state.telemetry.clone(), shutdown.clone());
        match (pose_source, endpoints.telemetry) {
            (PoseSource::Autopilot, Some(ep)) => {
                let udp = endpoints.telemetry_udp;
                threads.push(
                    std::thread::Builder::new()
                        .name("telemetry".into())
                        .spawn(move || run_telemetry(&ep, udp, p, s, &sd)),
                );
            }
            (PoseSource::Gnss(ep, camera), _) => {
                tracing::info!(endpoint = ?ep, ?camera, "vehicle: pose from the GNSS receiver's NMEA");
                let feed = NmeaFeed::new(camera.height_m_agl);
                threads.push(
                    std::thread::Builder::new()
                        .name("gnss".into())
                        .spawn(move || run_nmea(&ep, feed, p, s, &sd)),
                );
            }
            (PoseSource::Site(_), _) => {}
            (PoseSource::Autopilot, None) => unreachable!("open_endpoints opens the autopilot link of a drone"),
        }
    }
    // Re-stream.
    let restream_tx = if config.privacy.restream && restream_refused.is_none() {
        let (tx, rx, _) = latest::<(RgbFrame, Vec<BoxPx>)>();
        let rs_cfg = RestreamConfig {
            destination: config.privacy.destination.clone(),
            bitrate_kbps: config.privacy.bitrate_kbps,
            fps: config.privacy.fps,
            srtp_key: super::setup::srtp_key(config)?,
        };
        let mask = MaskConfig {
            mode: config.privacy.mode,
            blocks: config.privacy.blocks,
            margin: config.privacy.margin,
        };
        let (sd, counters) = (shutdown.clone(), state.counters.clone());
        threads.push(std::thread::Builder::new().name("restream".into()).spawn(move || {
            use utkik_shared::dialect::UtkikRestreamState as S;
            let mut rs = Restream::new(rs_cfg);
            let mut errors = 0u64;
            while !sd.is_triggered() {
                let Ok((mut frame, boxes)) = rx.recv_timeout(Duration::from_millis(100)) else {
                    continue;
                };
                mask_boxes(&mut frame, &boxes, &mask);
                let sent = rs.push(&frame);
                let now = if sent.is_ok() {
                    S::UTKIK_RESTREAM_STATE_STREAMING
                } else {
                    S::UTKIK_RESTREAM_STATE_ERROR
                };
                counters.restream_state.store(now as u8, Ordering::Relaxed);
                if let Err(e) = sent {
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
        inf.seal_plate_images(seal_public, config.link.system_id);
        inf.set_boot_epoch(boot_epoch);
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
    // Alerts stay on disk until acknowledged, beside the boot epoch: a restarted drone resends
    // what the ground had not acknowledged (out/outbox.rs).
    let outbox_dir = std::path::Path::new(&config.link.boot_epoch_file)
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("outbox");
    let outbox = crate::out::Outbox::open(&outbox_dir).map_err(|e| PipelineError::Io {
        what: "alert outbox",
        address: outbox_dir.display().to_string(),
        message: e.to_string(),
    })?;
    match link.attach_outbox(outbox) {
        Ok((resent, bad)) => {
            if resent > 0 {
                tracing::info!(alerts = resent, dir = %outbox_dir.display(), "unacknowledged alerts of an earlier run queued again");
            }
            for e in bad {
                tracing::error!("{e} (left in place)");
            }
        }
        Err(e) => {
            return Err(PipelineError::Io {
                what: "alert outbox",
                address: outbox_dir.display().to_string(),
                message: e.to_string(),
            });
        }
    }
    let status_period_usec = config.link.status_period_ms * 1000;
    let source_status = SourceStatus {
        kind: config.source.kind.to_mavlink(),
        legal_basis: config.source.legal_basis.to_mavlink(),
        own_pose,
    };
    let out_state = state.clone();
    let sd = shutdown.clone();
    let out = std::thread::Builder::new()
        .name("out".into())
        .spawn(move || run_out(link, msg_rx, cmd_tx, out_state, status_period_usec, source_status, &sd))
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
#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use utkik_shared::dialect::MavMessage;

    use super::*;
    use utkik_shared::mavframe::FrameDecoder;

    /// What the pipeline logs on the thread that runs it.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A pipeline on `test://ball` over real sockets with the real detectors `config` asks for:
    /// the ground's MAVLink socket, the re-stream's destination, the run and what it logged.
    struct Running {
        ground: UdpSocket,
        video_sink: UdpSocket,
        shutdown: Shutdown,
        handle: std::thread::JoinHandle<Result<RunSummary, PipelineError>>,
        log: Log,
    }

    fn start(mut config: Config) -> Running {
        let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
        ground.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let video_sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        config.video.source = "test://ball".into();
        config.telemetry.endpoint = "udp://127.0.0.1:0".into();
        config.link.bind = "127.0.0.1:0".into();
        config.link.ground = ground.local_addr().unwrap().to_string();
        config.link.status_period_ms = 100;
        let state_dir = tempfile::tempdir().unwrap();
        config.link.boot_epoch_file = state_dir.path().join("boot-epoch").display().to_string();
        config.privacy.destination = video_sink.local_addr().unwrap().to_string();
        let detectors = tract::detectors_from_config(&config).expect("models (scripts/fetch-models.sh)");
        let shutdown = Shutdown::new();
        let (sd, log) = (shutdown.clone(), Log::default());
        let writer = log.clone();
        let handle = std::thread::spawn(move || {
            let _dir = state_dir;
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            let _guard = tracing::subscriber::set_default(subscriber);
            run_with_detectors(&config, detectors, sd, Arc::default())
        });
        Running {
            ground,
            video_sink,
            shutdown,
            handle,
            log,
        }
    }

    /// The first UTKIK_PIPELINE_STATUS with at least `frames` frames processed.
    fn status_after(ground: &UdpSocket, frames: u32) -> utkik_shared::dialect::UTKIK_PIPELINE_STATUS_DATA {
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 2048];
        loop {
            let (n, _) = ground.recv_from(&mut buf).expect("status arrives");
            let found = decoder
                .push_messages(&buf[..n])
                .into_iter()
                .find_map(|d| match d.message {
                    MavMessage::UTKIK_PIPELINE_STATUS(s) if s.frames_processed >= frames => Some(s),
                    _ => None,
                });
            if let Some(s) = found {
                return s;
            }
        }
    }

    /// The ANPR profile (`detect.faces = false`, the re-stream on as by default): plates are
    /// read and status reported over real sockets, but no video packet leaves the drone, and
    /// the log says why, naming `detect.faces` and `privacy.restream`.
    #[test]
    fn restream_does_not_start_without_a_face_detector_and_says_why() {
        let mut config = Config::default();
        config.detect.faces = false;
        config.detect.plate_every_n_frames = 1;
        assert!(config.privacy.restream, "on by default");
        let run = start(config);
        let s = status_after(&run.ground, 3);
        assert_eq!(s.video_state, 1, "streaming");
        assert_eq!(s.face_detector_model, 0, "no face detector");
        assert_eq!(
            s.restream_state,
            utkik_shared::dialect::UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR
        );
        assert_ne!(s.plate_reader_model, 0, "plates are read");
        // Frames went through detection: a running re-stream would have sent them by now.
        run.video_sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 2048];
        let got = run.video_sink.recv_from(&mut buf);
        assert!(got.is_err(), "video left the drone without a face detector: {got:?}");
        run.shutdown.trigger();
        let summary = run.handle.join().unwrap().unwrap();
        assert!(
            summary.frames_processed >= 3 && summary.messages_sent > 0,
            "{summary:?}"
        );
        let log = String::from_utf8_lossy(&run.log.0.lock().unwrap()).into_owned();
        assert!(
            log.contains("ERROR")
                && log.contains("re-stream NOT started")
                && log.contains("detect.faces = true")
                && log.contains("privacy.restream = false"),
            "{log}"
        );
    }

    /// The control: with faces and plates both detected (the default) the same run sends the
    /// masked re-stream as RTP, and logs no refusal.
    #[test]
    fn restream_starts_with_faces_and_plates_detected() {
        let run = start(Config::default());
        run.video_sink.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 2048];
        let (n, _) = run.video_sink.recv_from(&mut buf).expect("re-stream packets");
        assert!(n > 12 && buf[0] >> 6 == 2, "RTP version 2");
        let s = status_after(&run.ground, 1);
        assert_eq!(
            (s.source_kind, s.legal_basis),
            (
                utkik_shared::dialect::UtkikSourceKind::UTKIK_SOURCE_KIND_DRONE,
                utkik_shared::dialect::UtkikLegalBasis::UTKIK_LEGAL_BASIS_OWN
            ),
            "the defaults"
        );
        assert_ne!(s.face_detector_model, 0);
        assert_eq!(
            s.restream_state,
            utkik_shared::dialect::UtkikRestreamState::UTKIK_RESTREAM_STATE_STREAMING
        );
        run.shutdown.trigger();
        run.handle.join().unwrap().unwrap();
        let log = String::from_utf8_lossy(&run.log.0.lock().unwrap()).into_owned();
        assert!(!log.contains("re-stream NOT started"), "{log}");
    }

    /// A traffic camera of another operator at a fixed site: no telemetry is opened (the
    /// endpoint here could not even be bound), and every status says what the source is.
    #[test]
    fn a_fixed_site_runs_without_telemetry_and_its_status_says_what_it_is() {
        use utkik_shared::dialect::{UtkikLegalBasis, UtkikSourceKind};
        let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
        ground.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut config = Config::default();
        config.source.kind = SourceKind::Fixed;
        config.source.legal_basis = crate::config::LegalBasis::OtherOperator;
        config.site = Some(crate::config::SiteConfig {
            lat_deg: Some(59.3293),
            lon_deg: Some(18.0686),
            ground_alt_m_amsl: Some(25.0),
            height_m_agl: Some(8.0),
            heading_deg: Some(135.0),
            pitch_deg: Some(-30.0),
            roll_deg: None,
        });
        config.video.source = "test://ball".into();
        // TEST-NET-1: not an address of this machine, so binding it fails if anything tries.
        config.telemetry.endpoint = "udp://192.0.2.1:14540".into();
        config.link.bind = "127.0.0.1:0".into();
        config.link.ground = ground.local_addr().unwrap().to_string();
        config.link.status_period_ms = 100;
        config.privacy.restream = false;
        let state_dir = tempfile::tempdir().unwrap();
        config.link.boot_epoch_file = state_dir.path().join("boot-epoch").display().to_string();
        let shutdown = Shutdown::new();
        let (sd, log) = (shutdown.clone(), Log::default());
        let writer = log.clone();
        let handle = std::thread::spawn(move || {
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            let _guard = tracing::subscriber::set_default(subscriber);
            run_with_detectors(&config, Vec::new(), sd, Arc::default())
        });
        let s = status_after(&ground, 0);
        assert_eq!(s.source_kind, UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED);
        assert_eq!(s.legal_basis, UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR);
        shutdown.trigger();
        handle.join().unwrap().unwrap();
        let log = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
        assert!(
            log.contains("source_kind=fixed") && log.contains("legal_basis=other_operator"),
            "{log}"
        );
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
