//! The ingest thread: builds the GStreamer pipeline, pulls RGB samples from the appsink, stamps
//! them with their capture time, and restarts the pipeline with exponential back-off when the
//! stream errors, ends or stalls. Only a configuration problem (a description GStreamer cannot
//! parse, caps we cannot use) ends it with an error; a lost stream never does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::latest::LatestSender;
use super::source::{SourceError, launch_description};
use super::time::{CaptureTimes, NTP64_EXT_ID, ntp64_unix_usec_from_rtp, reference_unix_usec, unix_now_usec};
use super::{IngestStatus, VideoState};
use crate::frame::RgbFrame;
use crate::shutdown::Shutdown;

/// Ingest settings (the `[video]` table of the config).
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// URI or pipeline string (see [`launch_description`]).
    pub source: String,
    /// First retry delay after a loss.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// No frame for this long while streaming counts as a loss.
    pub stall_timeout: Duration,
}

/// Why ingest stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The source string is wrong.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// GStreamer could not build the pipeline (unknown element, bad property, syntax).
    #[error("video pipeline {description:?} cannot be built: {message}")]
    Build {
        /// The launch description.
        description: String,
        /// GStreamer's message.
        message: String,
    },
    /// The frames are not packed RGB video.
    #[error("unsupported video caps {caps}: the appsink needs video/x-raw,format=RGB")]
    UnsupportedCaps {
        /// The caps that arrived.
        caps: String,
    },
    /// GStreamer itself could not start.
    #[error("GStreamer init failed: {0}")]
    Init(String),
}

/// Builds the pipeline once, to check a source before anything starts.
pub fn check_source(source: &str) -> Result<String, IngestError> {
    gst::init().map_err(|e| IngestError::Init(e.to_string()))?;
    let description = launch_description(source)?;
    let (pipeline, _) = build(&description, &CaptureTimes::default())?;
    let _ = pipeline.set_state(gst::State::Null);
    Ok(description)
}

fn build(description: &str, times: &CaptureTimes) -> Result<(gst::Pipeline, gst_app::AppSink), IngestError> {
    let err = |message: String| IngestError::Build {
        description: description.to_string(),
        message,
    };
    let element = gst::parse::launch(description).map_err(|e| err(e.to_string()))?;
    let pipeline = element
        .downcast::<gst::Pipeline>()
        .map_err(|_| err("not a pipeline".into()))?;
    let sink = pipeline
        .by_name("sink")
        .ok_or_else(|| err("no element named `sink`".into()))?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| err("the element named `sink` is not an appsink".into()))?;
    // Remember each frame's capture time by PTS, from the RTP packets entering the depayloader
    // (see `time` for why not from GStreamer's own extension reader).
    for element in pipeline.iterate_recurse().into_iter().flatten() {
        let is_depay = element.factory().is_some_and(|f| f.name().ends_with("depay"));
        if !is_depay {
            continue;
        }
        if let Some(pad) = element.static_pad("sink") {
            let times = times.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer()
                    && let Some(pts) = buffer.pts()
                    && let Ok(map) = buffer.map_readable()
                    && let Some(t) = ntp64_unix_usec_from_rtp(&map, NTP64_EXT_ID)
                {
                    times.insert(pts.nseconds(), t);
                }
                gst::PadProbeReturn::Ok
            });
        }
    }
    Ok((pipeline, sink))
}

/// Turns an appsink sample into a frame; `Err` for caps we cannot use.
fn to_frame(
    sample: &gst::Sample,
    times: &CaptureTimes,
    status: &IngestStatus,
) -> Result<Option<RgbFrame>, IngestError> {
    let caps = sample
        .caps()
        .ok_or_else(|| IngestError::UnsupportedCaps { caps: "(none)".into() })?;
    let info =
        gst_video::VideoInfo::from_caps(caps).map_err(|_| IngestError::UnsupportedCaps { caps: caps.to_string() })?;
    if info.format() != gst_video::VideoFormat::Rgb {
        return Err(IngestError::UnsupportedCaps { caps: caps.to_string() });
    }
    let Some(buffer) = sample.buffer() else { return Ok(None) };
    let time_usec = match reference_unix_usec(buffer).or_else(|| buffer.pts().and_then(|p| times.lookup(p.nseconds())))
    {
        Some(t) => {
            status.frames_with_capture_time.fetch_add(1, Ordering::Relaxed);
            t
        }
        None => unix_now_usec(),
    };
    let map = buffer
        .map_readable()
        .map_err(|_| IngestError::UnsupportedCaps { caps: caps.to_string() })?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = info.stride()[0] as usize;
    let row = w * 3;
    let mut data = Vec::with_capacity(row * h);
    if stride == row && map.len() >= row * h {
        data.extend_from_slice(&map[..row * h]);
    } else {
        for y in 0..h {
            let start = y * stride;
            let Some(src) = map.get(start..start + row) else {
                return Ok(None);
            };
            data.extend_from_slice(src);
        }
    }
    Ok(Some(RgbFrame {
        width: w as u32,
        height: h as u32,
        data,
        time_usec,
    }))
}

enum Ended {
    Shutdown,
    Lost(String),
}

/// Runs ingest until `shutdown` fires; frames go to `tx`. Returns an error only for a
/// configuration problem (see the module doc).
pub fn run_ingest(
    config: &IngestConfig,
    tx: LatestSender<RgbFrame>,
    status: Arc<IngestStatus>,
    shutdown: &Shutdown,
) -> Result<(), IngestError> {
    gst::init().map_err(|e| IngestError::Init(e.to_string()))?;
    let description = launch_description(&config.source)?;
    let mut backoff = config.retry_initial;
    loop {
        let times = CaptureTimes::default();
        let (pipeline, sink) = build(&description, &times)?;
        let result = stream(&pipeline, &sink, &times, config, &tx, &status, shutdown, &mut backoff);
        let _ = pipeline.set_state(gst::State::Null);
        match result? {
            Ended::Shutdown => {
                status.set_state(VideoState::NoVideo);
                return Ok(());
            }
            Ended::Lost(why) => {
                status.set_state(VideoState::Reconnecting);
                status.restarts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %config.source, retry_in_ms = backoff.as_millis() as u64, "video lost: {why}");
                status.set_error(why);
                if shutdown.sleep(backoff) {
                    status.set_state(VideoState::NoVideo);
                    return Ok(());
                }
                backoff = (backoff * 2).min(config.retry_max);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn stream(
    pipeline: &gst::Pipeline,
    sink: &gst_app::AppSink,
    times: &CaptureTimes,
    config: &IngestConfig,
    tx: &LatestSender<RgbFrame>,
    status: &IngestStatus,
    shutdown: &Shutdown,
    backoff: &mut Duration,
) -> Result<Ended, IngestError> {
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        return Ok(Ended::Lost(format!(
            "cannot start: {e} ({})",
            bus_error(pipeline).unwrap_or_default()
        )));
    }
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let mut last_frame = Instant::now();
    loop {
        if shutdown.is_triggered() {
            return Ok(Ended::Shutdown);
        }
        while let Some(msg) = bus.pop() {
            use gst::MessageView;
            match msg.view() {
                MessageView::Error(e) => {
                    let src = msg.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                    return Ok(Ended::Lost(format!("{src}: {} ({:?})", e.error(), e.debug())));
                }
                MessageView::Eos(_) => return Ok(Ended::Lost("end of stream".into())),
                _ => {}
            }
        }
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
            if let Some(frame) = to_frame(&sample, times, status)? {
                status.frames_in.fetch_add(1, Ordering::Relaxed);
                status.set_state(VideoState::Streaming);
                last_frame = Instant::now();
                *backoff = config.retry_initial;
                if !tx.send(frame) {
                    return Ok(Ended::Shutdown);
                }
            }
        } else if sink.is_eos() {
            return Ok(Ended::Lost("end of stream".into()));
        } else if last_frame.elapsed() > config.stall_timeout {
            return Ok(Ended::Lost(format!(
                "no frame for {} ms",
                config.stall_timeout.as_millis()
            )));
        }
    }
}

fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            return Some(e.error().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::latest::latest;

    fn config(source: &str) -> IngestConfig {
        IngestConfig {
            source: source.into(),
            retry_initial: Duration::from_millis(20),
            retry_max: Duration::from_millis(100),
            stall_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn test_source_delivers_rgb_frames_with_odd_width() {
        // 161 px wide: GStreamer pads RGB rows to 4 bytes, so the stride path is exercised.
        let source = "videotestsrc num-buffers=3 pattern=red ! video/x-raw,width=161,height=9";
        let (tx, rx, _) = latest();
        let status = Arc::new(IngestStatus::default());
        let shutdown = Shutdown::new();
        let (st, sd) = (status.clone(), shutdown.clone());
        let cfg = config(source);
        let h = std::thread::spawn(move || run_ingest(&cfg, tx, st, &sd));
        let frame = rx.recv_timeout(Duration::from_secs(20)).expect("a frame");
        assert_eq!((frame.width, frame.height, frame.data.len()), (161, 9, 161 * 9 * 3));
        assert_eq!(frame.pixel(160, 8), [255, 0, 0]);
        assert!(frame.time_usec > 1_600_000_000_000_000, "arrival time in Unix µs");
        // num-buffers ends the stream: that is a loss, retried, never an error.
        while status.restarts.load(Ordering::Relaxed) < 2 {
            let _ = rx.recv_timeout(Duration::from_millis(50));
        }
        assert!(status.last_error().unwrap().contains("end of stream"));
        shutdown.trigger();
        h.join().unwrap().unwrap();
        assert_eq!(status.state(), VideoState::NoVideo);
    }

    #[test]
    fn unsupported_caps_are_named() {
        let source = "videotestsrc num-buffers=1 ! video/x-raw,format=GRAY8,width=8,height=8 ! appsink name=sink";
        let (tx, _rx, _) = latest();
        let err = run_ingest(&config(source), tx, Arc::default(), &Shutdown::new()).unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedCaps { .. }));
        assert!(err.to_string().contains("GRAY8"), "{err}");
    }

    #[test]
    fn unknown_element_is_a_build_error() {
        let err = check_source("nosuchelement ! videoconvert").unwrap_err();
        assert!(err.to_string().contains("nosuchelement"), "{err}");
    }

    #[test]
    fn silent_udp_stream_is_retried_and_recovers_when_the_camera_comes_back() {
        use crate::privacy::{Restream, RestreamConfig};
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cfg = config(&format!("udp://127.0.0.1:{port}"));
        cfg.stall_timeout = Duration::from_millis(300);
        let (tx, rx, _) = latest();
        let status = Arc::new(IngestStatus::default());
        let shutdown = Shutdown::new();
        let (st, sd) = (status.clone(), shutdown.clone());
        let h = std::thread::spawn(move || run_ingest(&cfg, tx, st, &sd));
        // Nobody sends: the stall is reported and the pipeline restarted, without an error.
        while status.restarts.load(Ordering::Relaxed) < 2 {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(status.last_error().unwrap().contains("no frame"));
        assert!(!h.is_finished());
        // The camera starts: frames flow and the state says so.
        let mut cam = Restream::new(RestreamConfig {
            destination: format!("127.0.0.1:{port}"),
            bitrate_kbps: 500,
            fps: 30,
            srtp_key: None,
        });
        let t0 = crate::ingest::time::unix_now_usec();
        let mut got = None;
        for i in 0..600u64 {
            cam.push(&RgbFrame::filled(64, 48, [0, 0, 255], t0 + i * 33_333))
                .unwrap();
            if let Ok(f) = rx.recv_timeout(Duration::from_millis(30)) {
                got = Some(f);
                break;
            }
        }
        let f = got.expect("frames after the camera came back");
        assert_eq!((f.width, f.height), (64, 48));
        assert_eq!(status.state(), VideoState::Streaming);
        shutdown.trigger();
        h.join().unwrap().unwrap();
    }
}
