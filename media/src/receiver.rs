//! [`H264RtpReceiver`]: the ground station's end of the masked re-stream. RTP/H.264 over UDP in
//! (what [`crate::H264RtpSender`] sends), the newest decoded frame as RGBA out, each with its
//! capture time from the RFC 6051 NTP-64 header extension, and optionally the H.264 as received
//! written to a Matroska file:
//!
//! ```text
//! udpsrc address=HOST port=PORT reuse=false caps=RTP_H264_CAPS ! rtpjitterbuffer latency=50 ! rtph264depay
//!   ! h264parse ! tee name=t
//!   t. ! queue ! avdec_h264 ! videoconvert ! video/x-raw,format=RGBA
//!        ! appsink name=sink max-buffers=1 drop=true sync=false   (newest frame wins)
//!   t. ! queue ! matroskamux ! filesink location=FILE            (only when recording)
//! ```
//!
//! The recording is the H.264 the drone sent, not re-encoded: what the drone masked is exactly
//! what is kept, and nothing unmasked can appear in it that was not on the wire.
//!
//! # Capture times
//! As in the onboard ingest: a probe on the depayloader's input parses the extension from every
//! RTP packet ([`ntp64_unix_usec_from_rtp`]; GStreamer's own reader takes the last packet of a
//! frame, senders write the first) and remembers PTS -> capture time; the decoded frame keeps
//! its PTS and is looked up at the appsink.
//!
//! # Losses
//! A GStreamer error restarts the pipeline after a back-off (doubling up to
//! [`RtpReceiverConfig::retry_max`]); so does a stream that stops sending frames for
//! [`RtpReceiverConfig::stall_timeout`] after it had sent some (a restarted drone comes back
//! with a new SSRC and sequence numbers). Nothing here panics the caller's thread: the station
//! keeps running without video. Each restart finishes the recording file (end-of-stream, so it
//! is playable) and starts the next one, `NAME-2.mkv`, `NAME-3.mkv`, ...; a segment that got no
//! frame is deleted.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::ntp64::{NTP64_EXT_ID, ntp64_unix_usec_from_rtp};
use crate::sender::RTP_H264_CAPS;

/// Receiver settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RtpReceiverConfig {
    /// Where to listen, `HOST:PORT` (`0.0.0.0:PORT` for every interface, `[v6]:PORT`).
    pub address: String,
    /// Write the received H.264 to this Matroska file (later segments after a restart get
    /// `-2`, `-3`, ... before the extension). `None`: no recording.
    pub record_path: Option<PathBuf>,
    /// No frame for this long, after frames came, counts as a stall: the pipeline restarts.
    pub stall_timeout: Duration,
    /// First delay before a restart.
    pub retry_initial: Duration,
    /// Longest delay before a restart.
    pub retry_max: Duration,
    /// The stream is SRTP under this key ([`crate::srtp`]): packets that do not authenticate
    /// under it are dropped by `srtpdec` and never decoded. `None`: plain RTP.
    pub srtp_key: Option<crate::srtp::SrtpKey>,
}

impl RtpReceiverConfig {
    /// Listening on `address`, recording to `record_path`, with the station's defaults: a stall
    /// after 2 s without a frame, restarts after 250 ms doubling up to 5 s.
    pub fn new(address: impl Into<String>, record_path: Option<PathBuf>) -> Self {
        Self {
            address: address.into(),
            record_path,
            stall_timeout: Duration::from_secs(2),
            retry_initial: Duration::from_millis(250),
            retry_max: Duration::from_secs(5),
            srtp_key: None,
        }
    }

    /// The same, for an SRTP stream under `key`.
    pub fn with_srtp_key(mut self, key: crate::srtp::SrtpKey) -> Self {
        self.srtp_key = Some(key);
        self
    }
}

/// Why the receiver could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// GStreamer did not initialise.
    #[error("GStreamer: {0}")]
    Init(String),
    /// An address that is not `HOST:PORT` with an IP host.
    #[error("video receive address {0:?} is not IP:PORT (e.g. 0.0.0.0:5700)")]
    Address(String),
    /// A recording path whose folder does not exist or that is not a file name.
    #[error("video recording {path}: {message}")]
    RecordPath {
        /// The path given.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Building or starting the pipeline failed (a missing element, a port in use).
    #[error("video receiver on {address} ({description:?}): {message}")]
    Build {
        /// Listening address.
        address: String,
        /// Launch description.
        description: String,
        /// GStreamer's message, naming the element.
        message: String,
    },
    /// The recording could not be finished (no end-of-stream within the time allowed).
    #[error("video recording {path}: {message}")]
    Finish {
        /// The file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Packed RGBA, `width * height * 4` bytes, rows top to bottom.
    pub rgba: Vec<u8>,
    /// Capture time on the drone (Unix µs) from the NTP-64 extension; `None` when the sender
    /// wrote none.
    pub capture_unix_usec: Option<u64>,
    /// When the decoded frame reached the appsink here (Unix µs).
    pub received_unix_usec: u64,
}

impl VideoFrame {
    /// Received minus captured, µs (negative when the clocks disagree); `None` without a
    /// capture time.
    pub fn latency_usec(&self) -> Option<i64> {
        self.capture_unix_usec
            .map(|c| self.received_unix_usec as i64 - c as i64)
    }
}

/// Counters of a running receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Decoded frames.
    pub frames: u64,
    /// Decoded frames that carried a capture time.
    pub frames_with_capture_time: u64,
    /// RTP bytes received (headers included).
    pub bytes: u64,
    /// Stalls: a stream that stopped sending frames.
    pub stalls: u64,
    /// Pipeline restarts (after a stall or an error).
    pub restarts: u64,
    /// When the last frame arrived (Unix µs); `None` before the first.
    pub last_frame_unix_usec: Option<u64>,
    /// The last error or stall, in words.
    pub last_error: Option<String>,
    /// Recording files written so far (the last one may be in progress).
    pub recordings: Vec<PathBuf>,
}

#[derive(Default)]
struct Shared {
    frames: AtomicU64,
    frames_with_capture_time: AtomicU64,
    bytes: AtomicU64,
    stalls: AtomicU64,
    restarts: AtomicU64,
    last_frame_unix_usec: AtomicU64,
    stop: AtomicBool,
    latest: Mutex<Option<VideoFrame>>,
    last_error: Mutex<Option<String>>,
    recordings: Mutex<Vec<PathBuf>>,
    /// Why the thread ended with an error (a recording it could not finish).
    finish_error: Mutex<Option<ReceiverError>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running receiver (a thread of its own); [`H264RtpReceiver::stop`] finishes the recording.
pub struct H264RtpReceiver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    address: String,
}

impl std::fmt::Debug for H264RtpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264RtpReceiver")
            .field("address", &self.address)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Now, Unix µs.
fn unix_now_usec() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `HOST:PORT` -> (host, port), the host an IP address.
fn parse_address(address: &str) -> Result<(String, u16), ReceiverError> {
    let bad = || ReceiverError::Address(address.to_string());
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>().map_err(|_| bad())?;
    Ok((host.to_string(), port))
}

/// The file of recording segment `n` (1: the path itself; n: `STEM-n.EXT`).
fn segment_path(base: &Path, n: u32) -> PathBuf {
    if n <= 1 {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    base.with_file_name(name)
}

/// PTS -> capture time, filled from the RTP packets, read at the appsink.
#[derive(Default)]
struct CaptureTimes(Mutex<VecDeque<(u64, u64)>>);

impl CaptureTimes {
    const KEEP: usize = 256;

    fn insert(&self, pts_ns: u64, unix_usec: u64) {
        let mut q = lock(&self.0);
        if q.back().is_some_and(|&(p, _)| p == pts_ns) {
            return;
        }
        if q.len() == Self::KEEP {
            q.pop_front();
        }
        q.push_back((pts_ns, unix_usec));
    }

    fn lookup(&self, pts_ns: u64) -> Option<u64> {
        lock(&self.0).iter().rev().find(|&&(p, _)| p == pts_ns).map(|&(_, t)| t)
    }
}

/// One built pipeline (one recording segment).
struct Running {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    times: Arc<CaptureTimes>,
    description: String,
    record: Option<PathBuf>,
    frames: u64,
}

fn launch_description(host: &str, port: u16, record: Option<&Path>, srtp: bool) -> String {
    // With SRTP the source's caps carry the key: they are set on the element after parsing,
    // never written into this (logged) description.
    let source = if srtp {
        format!("udpsrc name=src address={host} port={port} reuse=false ! srtpdec name=srtp")
    } else {
        format!("udpsrc name=src address={host} port={port} reuse=false caps=\"{RTP_H264_CAPS}\"")
    };
    let mut d = format!(
        "{source} \
         ! rtpjitterbuffer latency=50 ! rtph264depay name=depay ! h264parse ! tee name=t \
         t. ! queue ! avdec_h264 ! videoconvert ! video/x-raw,format=RGBA \
         ! appsink name=sink max-buffers=1 drop=true sync=false"
    );
    if let Some(p) = record {
        // GStreamer's parser takes a quoted string; a quote in the path would end it.
        d.push_str(&format!(
            " t. ! queue ! matroskamux ! filesink location=\"{}\"",
            p.display().to_string().replace('"', "\\\"")
        ));
    }
    d
}

fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            let src = msg.src().map(|s| s.path_string().to_string()).unwrap_or_default();
            return Some(format!("{src}: {} ({:?})", e.error(), e.debug()));
        }
    }
    None
}

fn build(
    address: &str,
    host: &str,
    port: u16,
    record: Option<PathBuf>,
    srtp_key: Option<&crate::srtp::SrtpKey>,
    shared: &Arc<Shared>,
) -> Result<Running, ReceiverError> {
    let description = launch_description(host, port, record.as_deref(), srtp_key.is_some());
    let err = |message: String| ReceiverError::Build {
        address: address.to_string(),
        description: description.clone(),
        message,
    };
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| err(e.to_string()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| err("not a pipeline".into()))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| err("no appsink".into()))?;
    if let Some(key) = srtp_key {
        let caps = key.decoder_caps(RTP_H264_CAPS).map_err(err)?;
        let src = pipeline.by_name("src").ok_or_else(|| err("no udpsrc".into()))?;
        src.set_property("caps", &caps);
        // A new SSRC (the drone's sender restarted) asks for its key again: the same one.
        let dec = pipeline.by_name("srtp").ok_or_else(|| err("no srtpdec".into()))?;
        dec.connect("request-key", false, move |_| Some(caps.to_value()));
    }
    let depay_sink = pipeline
        .by_name("depay")
        .and_then(|d| d.static_pad("sink"))
        .ok_or_else(|| err("no depayloader sink pad".into()))?;
    let times = Arc::new(CaptureTimes::default());
    let (t, s) = (times.clone(), shared.clone());
    depay_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer()
            && let Ok(map) = buffer.map_readable()
        {
            s.bytes.fetch_add(map.len() as u64, Ordering::Relaxed);
            if let Some(pts) = buffer.pts()
                && let Some(c) = ntp64_unix_usec_from_rtp(&map, NTP64_EXT_ID)
            {
                t.insert(pts.nseconds(), c);
            }
        }
        gst::PadProbeReturn::Ok
    });
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        let why = bus_error(&pipeline).unwrap_or_default();
        let _ = pipeline.set_state(gst::State::Null);
        if let Some(p) = &record {
            // Callers pass a new name (never an existing file): an empty file left by the
            // failed start is ours.
            let _ = std::fs::remove_file(p);
        }
        return Err(err(format!("cannot start: {e}: {why}")));
    }
    if let Some(p) = &record {
        lock(&shared.recordings).push(p.clone());
    }
    Ok(Running {
        pipeline,
        sink,
        times,
        description,
        record,
        frames: 0,
    })
}

/// Packed RGBA of a sample; `None` for caps that are not RGBA video.
fn to_frame(sample: &gst::Sample, times: &CaptureTimes) -> Option<VideoFrame> {
    let s = sample.caps()?.structure(0)?;
    if s.get::<&str>("format").ok()? != "RGBA" {
        return None;
    }
    let (w, h) = (
        s.get::<i32>("width").ok()? as usize,
        s.get::<i32>("height").ok()? as usize,
    );
    let buffer = sample.buffer()?;
    let map = buffer.map_readable().ok()?;
    let row = w * 4;
    if h == 0 || map.len() < row * h {
        return None;
    }
    // RGBA rows are 4-byte aligned already, but a decoder may pad them further.
    let stride = map.len() / h;
    let mut rgba = Vec::with_capacity(row * h);
    for y in 0..h {
        rgba.extend_from_slice(map.get(y * stride..y * stride + row)?);
    }
    Some(VideoFrame {
        width: w as u32,
        height: h as u32,
        rgba,
        capture_unix_usec: buffer.pts().and_then(|p| times.lookup(p.nseconds())),
        received_unix_usec: unix_now_usec(),
    })
}

/// Sends end-of-stream and waits for it (the Matroska file gets its index and is playable),
/// then stops the pipeline; deletes a recording segment that got no frame.
fn finish(run: Running, shared: &Shared) -> Result<(), ReceiverError> {
    let mut result = Ok(());
    if let Some(path) = &run.record
        && run.frames > 0
    {
        run.pipeline.send_event(gst::event::Eos::new());
        let bus = run.pipeline.bus().expect("a pipeline has a bus");
        match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(3),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => {
                if let gst::MessageView::Error(e) = msg.view() {
                    result = Err(ReceiverError::Finish {
                        path: path.clone(),
                        message: format!("{} ({})", e.error(), run.description),
                    });
                }
            }
            None => {
                result = Err(ReceiverError::Finish {
                    path: path.clone(),
                    message: "no end-of-stream within 3 s: the file may have no index".into(),
                })
            }
        }
    }
    let _ = run.pipeline.set_state(gst::State::Null);
    if let Some(path) = &run.record
        && run.frames == 0
    {
        let _ = std::fs::remove_file(path);
        lock(&shared.recordings).retain(|p| p != path);
        return Ok(());
    }
    result
}

enum Ended {
    Stop,
    Lost(String),
}

/// Pulls frames until a stop, an error or a stall.
fn pump(
    run: &mut Running,
    shared: &Shared,
    stall_timeout: Duration,
    backoff: &mut Duration,
    initial: Duration,
) -> Ended {
    let bus = run.pipeline.bus().expect("a pipeline has a bus");
    let mut last_frame = Instant::now();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return Ended::Stop;
        }
        while let Some(msg) = bus.pop() {
            match msg.view() {
                gst::MessageView::Error(e) => {
                    let src = msg.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                    return Ended::Lost(format!("{src}: {} ({:?})", e.error(), e.debug()));
                }
                gst::MessageView::Eos(_) => return Ended::Lost("end of stream".into()),
                _ => {}
            }
        }
        if let Some(sample) = run.sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
            if let Some(frame) = to_frame(&sample, &run.times) {
                shared.frames.fetch_add(1, Ordering::Relaxed);
                if frame.capture_unix_usec.is_some() {
                    shared.frames_with_capture_time.fetch_add(1, Ordering::Relaxed);
                }
                shared
                    .last_frame_unix_usec
                    .store(frame.received_unix_usec, Ordering::Relaxed);
                *lock(&shared.latest) = Some(frame);
                run.frames += 1;
                last_frame = Instant::now();
                *backoff = initial;
            }
        } else if run.frames > 0 && last_frame.elapsed() > stall_timeout {
            shared.stalls.fetch_add(1, Ordering::Relaxed);
            return Ended::Lost(format!("stalled: no frame for {} ms", stall_timeout.as_millis()));
        }
    }
}

/// Sleeps `d` unless a stop comes first; true when stopped.
fn sleep_unless_stopped(shared: &Shared, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if shared.stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
    shared.stop.load(Ordering::Relaxed)
}

impl H264RtpReceiver {
    /// Checks the settings, builds and starts the first pipeline (so a missing element or a
    /// port in use is an error here), then receives on a thread of its own.
    ///
    /// # Errors
    /// [`ReceiverError`] naming the address, the element or the recording path.
    pub fn start(config: RtpReceiverConfig) -> Result<Self, ReceiverError> {
        gst::init().map_err(|e| ReceiverError::Init(e.to_string()))?;
        let (host, port) = parse_address(&config.address)?;
        if let Some(p) = &config.record_path {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Err(ReceiverError::RecordPath {
                    path: p.clone(),
                    message: format!("folder {} does not exist", dir.display()),
                });
            }
            if p.file_name().is_none() || p.exists() {
                return Err(ReceiverError::RecordPath {
                    path: p.clone(),
                    message: "not a new file name (a recording is never overwritten)".into(),
                });
            }
        }
        let shared = Arc::new(Shared::default());
        let first = build(
            &config.address,
            &host,
            port,
            config.record_path.clone(),
            config.srtp_key.as_ref(),
            &shared,
        )?;
        let s = shared.clone();
        let address = config.address.clone();
        let thread = std::thread::Builder::new()
            .name("video-receiver".into())
            .spawn(move || run_thread(config, host, port, first, &s))
            .map_err(|e| ReceiverError::Init(format!("video receiver thread: {e}")))?;
        Ok(Self {
            shared,
            thread: Some(thread),
            address,
        })
    }

    /// The newest frame since the last call (`None`: no new frame). Frames in between are
    /// dropped: the newest wins.
    pub fn latest(&self) -> Option<VideoFrame> {
        lock(&self.shared.latest).take()
    }

    /// Where it listens.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Counters so far.
    pub fn stats(&self) -> ReceiverStats {
        let s = &self.shared;
        ReceiverStats {
            frames: s.frames.load(Ordering::Relaxed),
            frames_with_capture_time: s.frames_with_capture_time.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            stalls: s.stalls.load(Ordering::Relaxed),
            restarts: s.restarts.load(Ordering::Relaxed),
            last_frame_unix_usec: Some(s.last_frame_unix_usec.load(Ordering::Relaxed)).filter(|&t| t > 0),
            last_error: lock(&s.last_error).clone(),
            recordings: lock(&s.recordings).clone(),
        }
    }

    /// Stops receiving and finishes the recording (end-of-stream: the file is playable).
    ///
    /// # Errors
    /// The recording could not be finished.
    pub fn stop(mut self) -> Result<ReceiverStats, ReceiverError> {
        self.shutdown();
        let stats = self.stats();
        match lock(&self.shared.finish_error).take() {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for H264RtpReceiver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_thread(config: RtpReceiverConfig, host: String, port: u16, first: Running, shared: &Arc<Shared>) {
    let mut run = Some(first);
    let mut segment = 1u32;
    let mut backoff = config.retry_initial;
    loop {
        let Some(mut r) = run.take() else { break };
        let ended = pump(&mut r, shared, config.stall_timeout, &mut backoff, config.retry_initial);
        let finished = finish(r, shared);
        let why = match (ended, finished) {
            (Ended::Stop, Ok(())) => return,
            // What `stop` reports: the file the caller is left with.
            (Ended::Stop, Err(e)) => {
                *lock(&shared.last_error) = Some(e.to_string());
                *lock(&shared.finish_error) = Some(e);
                return;
            }
            (Ended::Lost(why), Ok(())) => why,
            // A segment cut short by an error may lack its index; the stream goes on.
            (Ended::Lost(why), Err(e)) => format!("{why}; {e}"),
        };
        // Restart until it builds again or we are stopped (the port may be busy for a while).
        loop {
            *lock(&shared.last_error) = Some(why.clone());
            if sleep_unless_stopped(shared, backoff) {
                return;
            }
            backoff = (backoff * 2).min(config.retry_max);
            shared.restarts.fetch_add(1, Ordering::Relaxed);
            let record = config.record_path.as_ref().map(|base| {
                // Never overwrite: skip names a restart before us (or anyone) already used.
                loop {
                    segment += 1;
                    let p = segment_path(base, segment);
                    if !p.exists() {
                        break p;
                    }
                }
            });
            match build(&config.address, &host, port, record, config.srtp_key.as_ref(), shared) {
                Ok(r) => {
                    run = Some(r);
                    break;
                }
                Err(e) => *lock(&shared.last_error) = Some(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use super::*;
    use crate::sender::{H264RtpSender, RtpSenderConfig};

    fn free_port() -> u16 {
        UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    fn sender(port: u16) -> H264RtpSender {
        sender_with(port, None)
    }

    fn sender_with(port: u16, srtp_key: Option<crate::srtp::SrtpKey>) -> H264RtpSender {
        H264RtpSender::start(RtpSenderConfig {
            destination: format!("127.0.0.1:{port}"),
            width_px: 160,
            height_px: 120,
            fps: 30.0,
            bitrate_kbps: 500,
            key_int_max_frames: 15,
            block_when_behind: true,
            epoch_unix_usec: None,
            srtp_key,
        })
        .unwrap()
    }

    /// A frame whose left half is red and right half blue, a shade changing with `i`.
    fn rgb_frame(i: u64) -> Vec<u8> {
        let mut f = Vec::with_capacity(160 * 120 * 3);
        for _y in 0..120 {
            for x in 0..160 {
                let g = (i * 7 % 200) as u8;
                f.extend(if x < 80 { [220, g, 20] } else { [20, g, 220] });
            }
        }
        f
    }

    /// Frames decoded by GStreamer from a Matroska file.
    fn frames_in_mkv(path: &Path) -> u64 {
        let d = format!(
            "filesrc location=\"{}\" ! matroskademux ! h264parse ! avdec_h264 ! fakesink name=out signal-handoffs=true",
            path.display()
        );
        let pipeline = gst::parse::launch(&d).unwrap().downcast::<gst::Pipeline>().unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        pipeline.by_name("out").unwrap().connect("handoff", false, move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            None
        });
        pipeline.set_state(gst::State::Playing).unwrap();
        let msg = pipeline
            .bus()
            .unwrap()
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("the recording plays to its end");
        if let gst::MessageView::Error(e) = msg.view() {
            panic!("{}: {} ({:?})", path.display(), e.error(), e.debug());
        }
        pipeline.set_state(gst::State::Null).unwrap();
        count.load(Ordering::Relaxed)
    }

    #[test]
    fn video_from_the_sender_arrives_with_its_capture_time_and_is_recorded_playable() {
        let dir = tempfile_dir("recv");
        let port = free_port();
        let record = dir.join("video-test.mkv");
        let rx = H264RtpReceiver::start(RtpReceiverConfig::new(
            format!("127.0.0.1:{port}"),
            Some(record.clone()),
        ))
        .unwrap();
        let mut tx = sender(port);
        let mut sent = Vec::new();
        let mut got = Vec::new();
        for i in 0..90u64 {
            let t = unix_now_usec();
            sent.push(t);
            tx.push(&rgb_frame(i), t).unwrap();
            std::thread::sleep(Duration::from_millis(33));
            got.extend(rx.latest());
        }
        tx.finish().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        got.extend(rx.latest());
        assert!(got.len() >= 20, "{} frames seen of 90 sent", got.len());
        let f = got.last().unwrap();
        assert_eq!((f.width, f.height, f.rgba.len()), (160, 120, 160 * 120 * 4));
        // Left red, right blue (H.264 is lossy: near, not equal), opaque.
        let px = |x: usize, y: usize| &f.rgba[(y * 160 + x) * 4..(y * 160 + x) * 4 + 4];
        assert!(
            px(20, 60)[0] > 180 && px(20, 60)[2] < 60 && px(20, 60)[3] == 255,
            "{:?}",
            px(20, 60)
        );
        assert!(px(140, 60)[2] > 180 && px(140, 60)[0] < 60, "{:?}", px(140, 60));
        // Every capture time is one that was sent (µs rounding of NTP-64: within 2 µs), and
        // the latency on loopback is small and positive.
        for f in &got {
            let c = f.capture_unix_usec.expect("capture time on every frame");
            let nearest = sent.iter().map(|&s| s.abs_diff(c)).min().unwrap();
            assert!(nearest <= 2, "capture time {c} is {nearest} µs from any sent");
            let l = f.latency_usec().unwrap();
            assert!((0..1_000_000).contains(&l), "latency {l} µs");
        }
        let stats = rx.stop().unwrap();
        assert!(stats.frames >= got.len() as u64 && stats.bytes > 10_000, "{stats:?}");
        assert_eq!(stats.frames_with_capture_time, stats.frames, "{stats:?}");
        assert_eq!(stats.recordings, vec![record.clone()]);
        let n = frames_in_mkv(&record);
        assert!(n >= 60, "{n} frames in the recording of 90 sent");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Frames a receiver decodes from 60 frames of an SRTP stream sent under `sent_with`.
    fn frames_received(sent_with: &crate::srtp::SrtpKey, receiver_key: Option<crate::srtp::SrtpKey>) -> ReceiverStats {
        let port = free_port();
        let mut config = RtpReceiverConfig::new(format!("127.0.0.1:{port}"), None);
        config.srtp_key = receiver_key;
        let rx = H264RtpReceiver::start(config).unwrap();
        let mut tx = sender_with(port, Some(sent_with.clone()));
        for i in 0..60u64 {
            tx.push(&rgb_frame(i), unix_now_usec()).unwrap();
            std::thread::sleep(Duration::from_millis(33));
        }
        tx.finish().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        rx.stop().unwrap()
    }

    /// Issue 17 item 4: the re-stream under SRTP (AES-256-GCM) plays only with its key: the
    /// same key decodes the frames with their capture times; a receiver without SRTP or with
    /// another key decodes none, and the bytes on the wire are no plain H.264.
    #[test]
    fn an_srtp_stream_plays_only_with_its_key() {
        let key = crate::srtp::SrtpKey::from_bytes(&[0x42; crate::srtp::SRTP_KEY_LEN]).unwrap();
        let other = crate::srtp::SrtpKey::from_bytes(&[0x17; crate::srtp::SRTP_KEY_LEN]).unwrap();
        let with_key = frames_received(&key, Some(key.clone()));
        assert!(with_key.frames >= 20, "{with_key:?}");
        assert_eq!(with_key.frames_with_capture_time, with_key.frames, "{with_key:?}");
        let plain = frames_received(&key, None);
        assert_eq!(plain.frames, 0, "a plain RTP receiver decoded SRTP: {plain:?}");
        let wrong = frames_received(&key, Some(other));
        assert_eq!(wrong.frames, 0, "another key decoded it: {wrong:?}");
        assert_eq!(
            wrong.bytes, 0,
            "packets that do not authenticate reach no depayloader: {wrong:?}"
        );
        // On the wire: the SPS a plain stream repeats before every key frame (8 bytes from its
        // NAL header 0x67, profile baseline 0x42) is in the plain capture and nowhere in the
        // SRTP one.
        let plain_packets = capture(None);
        let sps: Vec<u8> = plain_packets
            .iter()
            .find_map(|p| p.windows(8).find(|w| w[0] == 0x67 && w[1] == 0x42).map(<[u8]>::to_vec))
            .expect("the plain stream carries its SPS (control)");
        let srtp_packets = capture(Some(key));
        assert!(srtp_packets.len() >= 20, "{} packets", srtp_packets.len());
        assert!(
            !srtp_packets.iter().any(|p| p.windows(8).any(|w| w == sps.as_slice())),
            "the SRTP stream shows the SPS {sps:02x?} in clear"
        );
    }

    /// The UDP datagrams of 20 frames sent with `key` (or plain).
    fn capture(key: Option<crate::srtp::SrtpKey>) -> Vec<Vec<u8>> {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut tx = sender_with(sock.local_addr().unwrap().port(), key);
        let mut packets = Vec::new();
        let mut buf = [0u8; 2048];
        for i in 0..20u64 {
            tx.push(&rgb_frame(i), unix_now_usec()).unwrap();
            while let Ok(n) = sock.recv(&mut buf) {
                packets.push(buf[..n].to_vec());
            }
        }
        tx.finish().unwrap();
        packets
    }

    #[test]
    fn a_stalled_stream_restarts_into_a_new_recording_segment_and_recovers() {
        let dir = tempfile_dir("stall");
        let port = free_port();
        let record = dir.join("v.mkv");
        let mut config = RtpReceiverConfig::new(format!("127.0.0.1:{port}"), Some(record.clone()));
        config.stall_timeout = Duration::from_millis(400);
        config.retry_initial = Duration::from_millis(50);
        let rx = H264RtpReceiver::start(config).unwrap();
        for round in 0..2 {
            // A new sender each round: new SSRC and sequence numbers, like a rebooted drone.
            let mut tx = sender(port);
            let before = rx.stats().frames;
            for i in 0..45u64 {
                tx.push(&rgb_frame(i), unix_now_usec()).unwrap();
                std::thread::sleep(Duration::from_millis(33));
            }
            tx.finish().unwrap();
            assert!(rx.stats().frames > before + 10, "round {round}: {:?}", rx.stats());
            // Silence: a stall, a restart.
            let t0 = Instant::now();
            while rx.stats().restarts <= round && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let stats = rx.stop().unwrap();
        assert!(stats.stalls >= 2 && stats.restarts >= 2, "{stats:?}");
        assert!(stats.last_error.as_deref().unwrap().contains("stalled"), "{stats:?}");
        // Two segments with frames; the empty one after the last stall was deleted.
        assert_eq!(stats.recordings, vec![record.clone(), dir.join("v-2.mkv")], "{stats:?}");
        for p in &stats.recordings {
            assert!(frames_in_mkv(p) > 10, "{}", p.display());
        }
        assert!(!dir.join("v-3.mkv").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_settings_are_named() {
        let e = H264RtpReceiver::start(RtpReceiverConfig::new("nowhere", None)).unwrap_err();
        assert!(e.to_string().contains("nowhere"), "{e}");
        let e = H264RtpReceiver::start(RtpReceiverConfig::new("example.org:5700", None)).unwrap_err();
        assert!(matches!(e, ReceiverError::Address(_)), "{e}");
        let e = H264RtpReceiver::start(RtpReceiverConfig::new(
            "127.0.0.1:5799",
            Some("/no/such/folder/v.mkv".into()),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("/no/such/folder"), "{e}");
        // A port someone else holds: the error names the address and udpsrc.
        let held = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap().to_string();
        let e = H264RtpReceiver::start(RtpReceiverConfig::new(addr.clone(), None)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&addr) && text.contains("src"), "{text}");
    }

    #[test]
    fn segment_names_count_up_before_the_extension() {
        assert_eq!(
            segment_path(Path::new("/r/video-x.mkv"), 1),
            Path::new("/r/video-x.mkv")
        );
        assert_eq!(
            segment_path(Path::new("/r/video-x.mkv"), 3),
            Path::new("/r/video-x-3.mkv")
        );
        assert_eq!(segment_path(Path::new("v"), 2), Path::new("v-2"));
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("utkik-media-{tag}-{}-{}", std::process::id(), unix_now_usec()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
