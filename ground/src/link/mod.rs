//! The live message source: a background thread owns the socket (UDP listen, TCP client with
//! reconnect, or serial), records every received frame to a rotating tlog, decodes frames and
//! hands them to the world over a crossbeam channel. Outgoing messages (alert acks, authorization
//! commands) go to every UDP peer the target system was heard from ([`routes`]), or over the
//! TCP/serial stream. Binding happens before the thread starts, so a port in use is a clear
//! start-up error, never a crash.
//!
//! Like any GCS (QGroundControl, Mission Planner) it sends a HEARTBEAT (MAV_TYPE_GCS) every
//! second, here signed with each drone's key and to every drone it has a route to: the onboard
//! gate stops identification when it hears no valid signed frame from us for
//! `gate.link_loss_stop_s` (LAW.md 2.4), and commands and acks alone are too rare to say the
//! ground is still there.
//!
//! The thread also redacts its recordings on request ([`LinkRedactor`], [`redact`]): it closes
//! the file it is appending to and rewrites the files itself, so no write races the rewrite,
//! and keeps the refused use out of everything it records afterwards.

pub mod auth;
pub mod redact;
pub mod routes;
pub mod tlog;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use mavlink_core::MavHeader;
use thiserror::Error;
use utkik_shared::dialect::{MavMessage, UtkikPlateStatus};

pub use auth::{Authenticity, FrameAuth, RefusedCounts, SIGNING_STATE_FILE};
pub use redact::{RecordingRedactor, RedactError, RedactReport, RedactRequest, RedactRule, UseFilter};
pub use tlog::{TlogRecorder, read_tlog};
pub use utkik_shared::link_signing::{LinkKey, LinkKeys, Signer};
pub use utkik_shared::mavframe::{Decoded, DecoderStats, FrameDecoder, encode_v2};

use crate::state::Origin;

/// Our MAVLink identity on the link (a GCS).
pub const GCS_SYSTEM_ID: u8 = 255;
/// Our component id (MAV_COMP_ID_MISSIONPLANNER).
pub const GCS_COMPONENT_ID: u8 = 190;
/// Interval of the GCS HEARTBEAT to every drone with a route, seconds (1 Hz, as QGroundControl).
pub const GCS_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// Capacity of the link -> world channel; beyond it, messages are dropped and counted.
pub const CHANNEL_CAPACITY: usize = 65_536;
/// How long [`LinkRedactor::redact`] waits for the link thread, seconds. Generous: the thread
/// reads every recording of the session (hundreds of MiB on a long mission) twice.
pub const REDACT_TIMEOUT_S: u64 = 120;

/// A redaction request and where to send its report.
type RedactJob = (RedactRequest, Sender<RedactReport>);

/// Where the link connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSource {
    /// Listen for UDP datagrams on this address (replies go to the last sender).
    UdpListen(SocketAddr),
    /// Connect to a TCP server, reconnecting when it drops.
    TcpClient(SocketAddr),
    /// A serial port at a baud rate.
    Serial(String, u32),
}

impl std::str::FromStr for LinkSource {
    type Err = LinkError;
    /// `udp:0.0.0.0:14550`, `tcp:127.0.0.1:5760`, `serial:/dev/ttyUSB0:57600`, or a bare address
    /// (UDP listen).
    fn from_str(s: &str) -> Result<Self, LinkError> {
        let bad = |why: &str| LinkError::BadSource {
            source_text: s.to_string(),
            why: why.to_string(),
        };
        if let Some(rest) = s.strip_prefix("serial:") {
            let (path, baud) = rest.rsplit_once(':').ok_or_else(|| bad("expected serial:PATH:BAUD"))?;
            let baud = baud.parse().map_err(|_| bad("baud is not a number"))?;
            return Ok(Self::Serial(path.to_string(), baud));
        }
        let (kind, addr) = match s.split_once(':') {
            Some(("udp", a)) => ("udp", a),
            Some(("tcp", a)) => ("tcp", a),
            _ => ("udp", s),
        };
        let addr: SocketAddr = addr.parse().map_err(|_| bad("expected HOST:PORT with a numeric IP"))?;
        Ok(if kind == "tcp" {
            Self::TcpClient(addr)
        } else {
            Self::UdpListen(addr)
        })
    }
}

/// Link configuration.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Where to connect.
    pub source: LinkSource,
    /// Folder for tlog recordings (None: no recording).
    pub record_dir: Option<PathBuf>,
    /// Start a new tlog file past this size, bytes.
    pub rotate_bytes: u64,
    /// The drones' link keys, one per system id (or one for all): what we send to a drone is
    /// signed with its key, and its UTKIK_* and image-transfer frames count only when signed with
    /// it ([`auth`]). None: nothing signed or checked (tests and tools; the onboard side refuses
    /// unsigned authorization commands).
    pub signing: Option<LinkKeys>,
    /// Where the replay window and the last signing timestamp are saved across restarts
    /// ([`SIGNING_STATE_FILE`] in the station's state folder); None: not saved.
    pub state_file: Option<PathBuf>,
}

/// A link start-up problem.
#[derive(Debug, Error)]
pub enum LinkError {
    /// The listen address could not be bound (typically: port in use).
    #[error("cannot listen on UDP {addr}: {source} (is another ground station or tool using the port?)")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// A source string that does not parse.
    #[error("bad link source {source_text:?}: {why}")]
    BadSource {
        /// The text.
        source_text: String,
        /// What is wrong.
        why: String,
    },
    /// The tlog folder could not be created.
    #[error("tlog recording: {0}")]
    Record(std::io::Error),
    /// The saved signing state could not be read.
    #[error(transparent)]
    SigningState(#[from] utkik_shared::link_signing::LinkStateError),
    /// The serial port could not be opened.
    #[error("cannot open serial port {path}: {message}")]
    Serial {
        /// Device path.
        path: String,
        /// Error text.
        message: String,
    },
}

/// What the link thread reports.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    /// A decoded message.
    Message {
        /// Header fields.
        origin: Origin,
        /// The message.
        message: MavMessage,
        /// Reception time, Unix seconds.
        time_s: f64,
        /// Whether the frame was verified as signed with its system's key (or, in replay,
        /// carried a signature when it was recorded); unsigned telemetry is shown marked.
        signed: bool,
    },
    /// Connection state changed (text for the UI).
    Status(String),
}

/// Counters shared with the UI.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkCounters {
    /// Decoder counters.
    pub decode: DecoderStats,
    /// Bytes received.
    pub bytes_in: u64,
    /// Messages dropped because the world fell behind.
    pub dropped: u64,
    /// Messages sent.
    pub sent: u64,
    /// GCS HEARTBEATs sent (one per drone per second; each also counts in `sent`).
    pub heartbeats_sent: u64,
    /// Reconnects (TCP/serial).
    pub reconnects: u64,
    /// Frames refused by the signature check, by reason.
    pub refused: RefusedCounts,
    /// Non-hit plate reads that arrived with their text and were not recorded
    /// ([`recorder_keeps`]).
    pub non_hit_text_not_recorded: u64,
}

/// Whether the tlog recorder keeps `msg`. A plate read that is not a hit is never recorded with
/// its text (LAW.md section 7: reads that are not hits are not kept, or kept only for a limited
/// time in `crate::stored_reads`, while recordings are kept for months): a drone configured to
/// send that text (`detect.send_non_hit_text`) reaches the station's store, not its tlogs. The
/// frame is signed, so it cannot be recorded with the text cut out; it is left out whole. A read
/// without text (the default) is recorded like any message.
pub fn recorder_keeps(msg: &MavMessage) -> bool {
    match msg {
        MavMessage::UTKIK_PLATE_READ(p) => {
            p.status == UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT || p.plate.iter().all(|&b| b == 0)
        }
        _ => true,
    }
}

/// A running link.
#[derive(Debug)]
pub struct LinkHandle {
    /// Events from the link thread.
    pub events: Receiver<LinkEvent>,
    outgoing: Sender<(u8, MavMessage)>,
    counters: Arc<std::sync::Mutex<LinkCounters>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The bound local address (UDP listen), useful with port 0.
    pub local_addr: Option<SocketAddr>,
    /// Tlog files written (updated by the thread).
    pub tlog_files: Arc<std::sync::Mutex<Vec<PathBuf>>>,
    redact_requests: Sender<RedactJob>,
}

/// Asks the link thread to redact its recordings (for [`crate::ops::GroundOps`], which must not
/// own the link). Cheap to clone; fails cleanly once the link has stopped.
#[derive(Debug, Clone)]
pub struct LinkRedactor {
    requests: Sender<RedactJob>,
    timeout: Duration,
}

impl LinkRedactor {
    /// Waits at most `timeout` for the report instead of [`REDACT_TIMEOUT_S`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl RecordingRedactor for LinkRedactor {
    /// Blocks until the link thread has closed its current file, rewritten every file that may
    /// hold the use's records and started keeping them out of the live recording.
    fn redact(&self, request: RedactRequest) -> Result<RedactReport, RedactError> {
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        self.requests
            .send((request, reply_tx))
            .map_err(|_| RedactError::LinkStopped)?;
        match reply_rx.recv_timeout(self.timeout) {
            Ok(report) => Ok(report),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(RedactError::Timeout {
                waited_s: self.timeout.as_secs_f64(),
            }),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(RedactError::LinkStopped),
        }
    }
}

impl LinkHandle {
    /// Queues a message for vehicle `system_id`.
    pub fn send(&self, system_id: u8, message: MavMessage) {
        let _ = self.outgoing.send((system_id, message));
    }

    /// A handle that asks this link's thread to redact its recordings.
    pub fn redactor(&self) -> LinkRedactor {
        LinkRedactor {
            requests: self.redact_requests.clone(),
            timeout: Duration::from_secs(REDACT_TIMEOUT_S),
        }
    }

    /// Current counters.
    pub fn counters(&self) -> LinkCounters {
        *self.counters.lock().expect("counters lock")
    }

    /// Stops the thread and waits for it (flushing the tlog).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LinkHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

fn now_usec() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

enum Port {
    Udp(UdpSocket),
    Stream(Option<Box<dyn Stream>>),
}

struct Worker {
    source: LinkSource,
    port: Port,
    /// The sender of the datagram being handled.
    peer: Option<SocketAddr>,
    /// The last UDP peer a verified frame came from (where a message for a system never heard
    /// goes); with no keys configured, the last peer.
    trusted_peer: Option<SocketAddr>,
    routes: routes::Routes,
    decoder: FrameDecoder,
    recorder: Option<TlogRecorder>,
    events: Sender<LinkEvent>,
    outgoing: Receiver<(u8, MavMessage)>,
    counters: Arc<std::sync::Mutex<LinkCounters>>,
    tlog_files: Arc<std::sync::Mutex<Vec<PathBuf>>>,
    stop: Arc<AtomicBool>,
    out_seq: u8,
    auth: FrameAuth,
    record_dir: Option<PathBuf>,
    redact_requests: Receiver<RedactJob>,
    /// Refused uses kept out of the recording from their redaction on (their packets may still
    /// be in flight; a transfer may be half way).
    live_filters: Vec<UseFilter>,
    /// Systems heard over a TCP or serial stream (verified frames; all without keys): the
    /// HEARTBEAT goes to them (over UDP the routes say it).
    stream_systems: std::collections::BTreeSet<u8>,
    next_heartbeat: std::time::Instant,
}

/// Starts the link: binds (or opens) now, then runs the thread.
pub fn start(config: LinkConfig) -> Result<LinkHandle, LinkError> {
    let (port, local_addr) = match &config.source {
        LinkSource::UdpListen(addr) => {
            let s = UdpSocket::bind(addr).map_err(|source| LinkError::Bind { addr: *addr, source })?;
            s.set_read_timeout(Some(Duration::from_millis(50))).ok();
            let local = s.local_addr().ok();
            (Port::Udp(s), local)
        }
        LinkSource::TcpClient(_) => (Port::Stream(None), None),
        LinkSource::Serial(path, baud) => {
            let p = serialport::new(path, *baud)
                .timeout(Duration::from_millis(50))
                .open()
                .map_err(|e| LinkError::Serial {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            (Port::Stream(Some(Box::new(p))), None)
        }
    };
    let recorder = match &config.record_dir {
        Some(dir) => {
            let stem = format!("utkik-{}", now_usec() / 1_000_000);
            Some(TlogRecorder::new(dir, &stem, config.rotate_bytes).map_err(LinkError::Record)?)
        }
        None => None,
    };
    let auth = FrameAuth::new(config.signing.clone(), config.state_file.clone())?;
    if !auth.has_keys() {
        tracing::warn!("link without keys: frames from the drones are not authenticated");
    }
    let (ev_tx, ev_rx) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let (redact_tx, redact_rx) = crossbeam_channel::unbounded();
    let counters = Arc::new(std::sync::Mutex::new(LinkCounters::default()));
    let tlog_files = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = Worker {
        source: config.source.clone(),
        port,
        peer: None,
        trusted_peer: None,
        routes: routes::Routes::default(),
        decoder: FrameDecoder::new(),
        recorder,
        events: ev_tx,
        outgoing: out_rx,
        counters: counters.clone(),
        tlog_files: tlog_files.clone(),
        stop: stop.clone(),
        out_seq: 0,
        auth,
        record_dir: config.record_dir.clone(),
        redact_requests: redact_rx,
        live_filters: Vec::new(),
        stream_systems: std::collections::BTreeSet::new(),
        next_heartbeat: std::time::Instant::now(),
    };
    let thread = std::thread::Builder::new()
        .name("utkik-link".into())
        .spawn(move || worker.run())
        .expect("spawning the link thread");
    Ok(LinkHandle {
        events: ev_rx,
        outgoing: out_tx,
        counters,
        stop,
        thread: Some(thread),
        local_addr,
        tlog_files,
        redact_requests: redact_tx,
    })
}

impl Worker {
    fn run(&mut self) {
        let mut buf = vec![0u8; 65_536];
        let mut last_connect_try = std::time::Instant::now() - Duration::from_secs(10);
        while !self.stop.load(Ordering::SeqCst) {
            let n = match &mut self.port {
                Port::Udp(s) => match s.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        self.peer = Some(from);
                        n
                    }
                    Err(_) => 0,
                },
                Port::Stream(stream) => {
                    if stream.is_none() {
                        if let LinkSource::TcpClient(addr) = self.source {
                            if last_connect_try.elapsed() >= Duration::from_secs(1) {
                                last_connect_try = std::time::Instant::now();
                                if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                                    s.set_read_timeout(Some(Duration::from_millis(50))).ok();
                                    s.set_nodelay(true).ok();
                                    *stream = Some(Box::new(s));
                                    self.counters.lock().expect("lock").reconnects += 1;
                                    let _ = self.events.try_send(LinkEvent::Status(format!("connected to {addr}")));
                                }
                            }
                        }
                        if stream.is_none() {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        0
                    } else {
                        let s = stream.as_mut().expect("checked");
                        match s.read(&mut buf) {
                            Ok(0) => {
                                *stream = None;
                                let _ = self
                                    .events
                                    .try_send(LinkEvent::Status("link closed; reconnecting".into()));
                                0
                            }
                            Ok(n) => n,
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) =>
                            {
                                0
                            }
                            Err(e) => {
                                *stream = None;
                                let _ = self
                                    .events
                                    .try_send(LinkEvent::Status(format!("link error {e}; reconnecting")));
                                0
                            }
                        }
                    }
                }
            };
            if n > 0 {
                self.ingest(&buf[..n].to_vec());
            }
            self.send_heartbeats();
            self.send_outgoing();
            self.serve_redactions();
            if let Err(e) = self.auth.save_if_due(false) {
                tracing::error!("{e}");
            }
        }
        if let Some(r) = self.recorder.as_mut() {
            let _ = r.flush();
        }
        if let Err(e) = self.auth.save_if_due(true) {
            tracing::error!("{e}");
        }
    }

    fn ingest(&mut self, bytes: &[u8]) {
        let t_us = now_usec();
        let time_s = t_us as f64 / 1e6;
        let mut dropped = 0;
        let recorder = &mut self.recorder;
        let filters = &mut self.live_filters;
        let events = &self.events;
        let auth = &mut self.auth;
        let mut systems: Vec<u8> = Vec::new();
        let mut verified_any = false;
        let mut non_hit_text_not_recorded = 0u64;
        for d in self.decoder.push_messages(bytes) {
            let signed = match auth.check(&d.frame, t_us) {
                Ok(a) => a == Authenticity::Verified,
                Err(why) => {
                    // Not acted on, not recorded as genuine, no route: counted and logged.
                    tracing::warn!(
                        system = d.frame.sysid(),
                        msg_id = d.frame.msg_id(),
                        from = ?self.peer,
                        "frame refused: {why}"
                    );
                    continue;
                }
            };
            // Every filter sees every frame (its transfer state must follow the stream).
            let sys = d.frame.sysid();
            let mut keep = recorder_keeps(&d.message);
            non_hit_text_not_recorded += u64::from(!keep);
            for f in filters.iter_mut() {
                keep &= f.keep(sys, &d.message);
            }
            // An alert's record is synced before the station can acknowledge it (tlog.rs).
            let is_alert = match &d.message {
                MavMessage::UTKIK_BIOMETRIC_MATCH(_) => true,
                MavMessage::UTKIK_PLATE_READ(p) => p.status == UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
                _ => false,
            };
            if keep && let Some(r) = recorder.as_mut() {
                let written = if is_alert {
                    r.write_synced(t_us, d.frame.as_bytes())
                } else {
                    r.write(t_us, d.frame.as_bytes())
                };
                if let Err(e) = written {
                    tracing::warn!("tlog write failed: {e}");
                }
            }
            let origin = origin_of(&d.frame);
            // Routes only from verified frames: a spoofed peer cannot displace the drone. (With no
            // keys at all nothing is verified: every frame counts, as before signing.)
            if (signed || !auth.has_keys()) && !systems.contains(&origin.system_id) {
                systems.push(origin.system_id);
            }
            verified_any |= signed;
            if let Err(TrySendError::Full(_)) = events.try_send(LinkEvent::Message {
                origin,
                message: d.message,
                time_s,
                signed,
            }) {
                dropped += 1;
            }
        }
        if matches!(self.port, Port::Stream(_)) {
            self.stream_systems.extend(systems.iter().copied());
        }
        if let (Port::Udp(_), Some(from)) = (&self.port, self.peer) {
            for sys in systems {
                self.routes.seen(sys, from);
            }
            if verified_any || !self.auth.has_keys() {
                self.trusted_peer = Some(from);
            }
        }
        let mut c = self.counters.lock().expect("lock");
        c.non_hit_text_not_recorded += non_hit_text_not_recorded;
        c.bytes_in += bytes.len() as u64;
        c.dropped += dropped;
        c.decode = self.decoder.stats();
        c.refused = self.auth.refused;
        if let Some(r) = &self.recorder {
            let mut files = self.tlog_files.lock().expect("lock");
            if files.len() != r.files.len() {
                *files = r.files.clone();
            }
        }
    }

    /// Handles redaction requests between two reads, so the recorder is idle meanwhile.
    fn serve_redactions(&mut self) {
        while let Ok((request, reply)) = self.redact_requests.try_recv() {
            let report = self.redact(request);
            tracing::info!(
                "tlog redaction: {} records dropped from {} files, {} problems",
                report.dropped.total(),
                report.files_rewritten(),
                report.failures.len()
            );
            let _ = reply.send(report);
        }
    }

    /// Closes the current file, redacts every file this run wrote (and, with `since_usec`,
    /// older recordings in the folder written since then), then filters the live recording.
    fn redact(&mut self, request: RedactRequest) -> RedactReport {
        let mut failures = Vec::new();
        let mut own = Vec::new();
        if let Some(r) = self.recorder.as_mut() {
            if let Err(source) = r.finish_file() {
                failures.push(RedactError::Io {
                    step: "closing the current recording",
                    path: r.files.last().cloned().unwrap_or_default(),
                    source,
                });
            }
            own = r.files.clone();
        }
        let mut paths = Vec::new();
        if let (Some(dir), Some(since)) = (&self.record_dir, request.since_usec) {
            match redact::recordings_modified_since(dir, since) {
                Ok(found) => paths.extend(found.into_iter().filter(|p| !own.contains(p))),
                Err(e) => failures.push(e),
            }
        }
        paths.extend(own);
        let mut filter = UseFilter::new(request.rule);
        let mut report = redact::redact_files(&paths, &mut filter);
        failures.append(&mut report.failures);
        report.failures = failures;
        self.live_filters.push(filter);
        report
    }

    /// The 1 Hz GCS HEARTBEAT, signed with each drone's key, to every drone we have a route to
    /// (it keeps the onboard link-loss stop from firing while the ground is there).
    fn send_heartbeats(&mut self) {
        let now = std::time::Instant::now();
        if now < self.next_heartbeat {
            return;
        }
        self.next_heartbeat = now + GCS_HEARTBEAT_INTERVAL;
        let systems: Vec<u8> = match self.port {
            Port::Udp(_) => self.routes.systems().collect(),
            Port::Stream(_) => self.stream_systems.iter().copied().collect(),
        };
        let heartbeat = gcs_heartbeat();
        for sysid in systems {
            if self.send_to_system(sysid, &heartbeat) {
                let mut c = self.counters.lock().expect("lock");
                c.sent += 1;
                c.heartbeats_sent += 1;
            }
        }
    }

    /// Encodes (signed with the system's key) and sends one message; whether it went out.
    fn send_to_system(&mut self, sysid: u8, msg: &MavMessage) -> bool {
        let header = MavHeader {
            system_id: GCS_SYSTEM_ID.into(),
            component_id: GCS_COMPONENT_ID,
            sequence: self.out_seq,
        };
        self.out_seq = self.out_seq.wrapping_add(1);
        let frame = self.auth.encode(sysid, header, msg, now_usec());
        match &mut self.port {
            // Every peer of the target system (autopilot and companion computer differ).
            Port::Udp(s) => {
                let mut sent = false;
                for p in self.routes.targets(sysid, self.trusted_peer) {
                    sent |= s.send_to(&frame, p).is_ok();
                }
                sent
            }
            Port::Stream(Some(s)) => s.write_all(&frame).is_ok(),
            Port::Stream(None) => false,
        }
    }

    fn send_outgoing(&mut self) {
        while let Ok((sysid, msg)) = self.outgoing.try_recv() {
            if self.send_to_system(sysid, &msg) {
                self.counters.lock().expect("lock").sent += 1;
            }
        }
    }
}

/// Decodes recorded (time µs, frame) records through the real decoder into link events, for
/// replaying a tlog or a synthetic mission into the same world code. Returns the events and the
/// decoder counters (bad records are counted, not fatal).
pub fn events_from_records(records: &[(u64, Vec<u8>)]) -> (Vec<LinkEvent>, DecoderStats) {
    let mut dec = FrameDecoder::new();
    let mut out = Vec::with_capacity(records.len());
    for (t_us, frame) in records {
        let time_s = *t_us as f64 / 1e6;
        for d in dec.push_messages(frame) {
            out.push(LinkEvent::Message {
                origin: origin_of(&d.frame),
                signed: d.frame.is_signed(),
                message: d.message,
                time_s,
            });
        }
    }
    (out, dec.stats())
}

/// What a GCS says every second: MAV_TYPE_GCS, no autopilot.
pub fn gcs_heartbeat() -> MavMessage {
    use utkik_shared::dialect::{HEARTBEAT_DATA, MavAutopilot, MavModeFlag, MavState, MavType};
    MavMessage::HEARTBEAT(HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: MavType::MAV_TYPE_GCS,
        autopilot: MavAutopilot::MAV_AUTOPILOT_INVALID,
        base_mode: MavModeFlag::empty(),
        system_status: MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    })
}

/// Header fields of a frame as the world keys them.
fn origin_of(frame: &utkik_shared::mavframe::RawFrame) -> Origin {
    Origin {
        system_id: frame.sysid(),
        component_id: frame.compid(),
        sequence: frame.seq(),
    }
}
