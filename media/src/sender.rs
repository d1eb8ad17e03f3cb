//! [`H264RtpSender`]: RGB frames in, RTP/H.264 over UDP out, like a drone camera's stream
//! (x264 zero-latency, baseline, SPS/PPS in band every key frame so a receiver can join at any
//! time), with each frame's capture time in the NTP-64 header extension.
//!
//! ```text
//! appsrc (RGB) ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=N
//!   ! rtph264pay config-interval=1 pt=96 ! RTP_H264_CAPS ! udpsink
//! ```
//!
//! # Capture times
//! Frame PTS = [`PTS_BASE_NS`] + (capture time - the stream's epoch), so PTS differences are
//! capture-time differences and x264enc, which shifts timestamps below 1000 h up, leaves them
//! alone. The epoch is the configured one (the simulator's sim time zero) or the first frame's
//! capture time. A probe before the payloader turns the PTS back into the capture time and puts
//! it on each encoded frame as a `timestamp/x-ntp` reference-timestamp meta (x264enc drops
//! metas); GStreamer's NTP-64 extension (`extmap-1` in [`RTP_H264_CAPS`]) writes it on the first
//! RTP packet of every frame. Stateless: no table of frames in flight. Receivers that ignore the
//! extension still play the stream:
//!
//! ```text
//! gst-launch-1.0 udpsrc port=5600 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" \
//!   ! rtph264depay ! avdec_h264 ! fakesink
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::ntp64::NTP_UNIX_OFFSET_S;

/// Caps of the RTP stream: H.264, payload type 96, NTP-64 capture times as header extension 1
/// ([`crate::NTP64_EXT_ID`]). Senders and the onboard ingest use this one string.
pub const RTP_H264_CAPS: &str = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
     extmap-1=(string)urn:ietf:params:rtp-hdrext:ntp-64";

/// PTS of the stream's epoch: 1000 hours, in nanoseconds (x264enc shifts smaller PTS).
pub const PTS_BASE_NS: u64 = 1000 * 3600 * 1_000_000_000;

/// Stream settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RtpSenderConfig {
    /// Where the packets go, `HOST:PORT` (`[v6]:PORT` for IPv6).
    pub destination: String,
    /// Frame width, pixels.
    pub width_px: u32,
    /// Frame height, pixels.
    pub height_px: u32,
    /// Frames per second announced to the encoder.
    pub fps: f64,
    /// Encoder bit rate, kbit/s.
    pub bitrate_kbps: u32,
    /// Largest distance between key frames, frames.
    pub key_int_max_frames: u32,
    /// Block [`H264RtpSender::push`] while the encoder is 4 frames behind (a simulator that
    /// must not drop frames) instead of queueing (a live pipeline that must not stall).
    pub block_when_behind: bool,
    /// Capture time (Unix µs) of PTS [`PTS_BASE_NS`]; `None`: the first frame's.
    pub epoch_unix_usec: Option<u64>,
    /// Encrypt and authenticate the stream with SRTP under this key ([`crate::srtp`]);
    /// `None`: plain RTP (the simulator's camera cable, or a re-stream without a video key).
    pub srtp_key: Option<crate::srtp::SrtpKey>,
}

/// Why the stream could not be built or fed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// GStreamer did not initialise.
    #[error("GStreamer: {0}")]
    Init(String),
    /// A frame rate that is not a positive number.
    #[error("video frame rate {0} is not a positive number of frames per second")]
    Fps(f64),
    /// A destination that is not `HOST:PORT`.
    #[error("video destination {0:?} is not HOST:PORT")]
    Destination(String),
    /// Building or starting the pipeline failed.
    #[error("video stream pipeline {description:?}: {message}")]
    Build {
        /// Launch description.
        description: String,
        /// GStreamer's message.
        message: String,
    },
    /// The running stream failed (an error on the bus, a refused buffer).
    #[error("video stream ({description}): {message}")]
    Flow {
        /// Launch description.
        description: String,
        /// GStreamer's message.
        message: String,
    },
    /// A frame of another size than the stream's.
    #[error("frame of {got} RGB bytes on a {width_px}x{height_px} stream ({want} bytes)")]
    FrameSize {
        /// Bytes given.
        got: usize,
        /// Bytes of one frame of the stream.
        want: usize,
        /// Stream width.
        width_px: u32,
        /// Stream height.
        height_px: u32,
    },
}

/// A running RTP/H.264 stream.
pub struct H264RtpSender {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    description: String,
    config: RtpSenderConfig,
    /// Capture time of PTS_BASE_NS, Unix µs; 0 until known. Shared with the payloader probe.
    epoch_unix_usec: Arc<AtomicU64>,
    frames_sent: u64,
}

impl std::fmt::Debug for H264RtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264RtpSender")
            .field("description", &self.description)
            .field("frames_sent", &self.frames_sent)
            .finish_non_exhaustive()
    }
}

impl H264RtpSender {
    /// Builds the pipeline and starts it (nothing is sent before the first frame).
    ///
    /// # Errors
    /// [`MediaError`] naming the pipeline and GStreamer's message.
    pub fn start(config: RtpSenderConfig) -> Result<Self, MediaError> {
        gst::init().map_err(|e| MediaError::Init(e.to_string()))?;
        if !(config.fps.is_finite() && config.fps > 0.0) {
            return Err(MediaError::Fps(config.fps));
        }
        let fps = gst::Fraction::approximate_f64(config.fps).ok_or(MediaError::Fps(config.fps))?;
        let (host, port) = config
            .destination
            .rsplit_once(':')
            .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            .ok_or_else(|| MediaError::Destination(config.destination.clone()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let rgb_len = config.width_px as usize * config.height_px as usize * 3;
        let description = format!(
            "appsrc name=src is-live=true format=time do-timestamp=false block={block} max-bytes={max_bytes} \
             ! videoconvert ! video/x-raw,format=I420 \
             ! x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate} key-int-max={key_int} \
             ! video/x-h264,profile=baseline \
             ! rtph264pay name=pay config-interval=1 pt=96 ! {caps}{srtp} \
             ! udpsink host={host} port={port} sync=false async=false",
            block = config.block_when_behind,
            max_bytes = 4 * rgb_len,
            bitrate = config.bitrate_kbps,
            key_int = config.key_int_max_frames.max(1),
            caps = RTP_H264_CAPS,
            // The key is set on the element below, never written into the (logged) description.
            srtp = if config.srtp_key.is_some() {
                " ! srtpenc name=srtp"
            } else {
                ""
            },
        );
        let err = |message: String| MediaError::Build {
            description: description.clone(),
            message,
        };
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| err("not a pipeline".into()))?;
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| err("no appsrc".into()))?;
        if let Some(key) = &config.srtp_key {
            let enc = pipeline.by_name("srtp").ok_or_else(|| err("no srtpenc".into()))?;
            key.configure_encoder(&enc);
        }
        src.set_caps(Some(
            &gst::Caps::builder("video/x-raw")
                .field("format", "RGB")
                .field("width", config.width_px as i32)
                .field("height", config.height_px as i32)
                .field("framerate", fps)
                .build(),
        ));
        let epoch_unix_usec = Arc::new(AtomicU64::new(config.epoch_unix_usec.unwrap_or(0)));
        let pay_sink = pipeline
            .by_name("pay")
            .and_then(|p| p.static_pad("sink"))
            .ok_or_else(|| err("no payloader sink pad".into()))?;
        let epoch = epoch_unix_usec.clone();
        pay_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let epoch = epoch.load(Ordering::Relaxed);
            if let Some(buffer) = info.buffer_mut()
                && epoch > 0
                && let Some(pts) = buffer.pts()
                && pts.nseconds() >= PTS_BASE_NS
            {
                let unix_usec = epoch + (pts.nseconds() - PTS_BASE_NS) / 1000;
                let ntp_ns = (unix_usec + NTP_UNIX_OFFSET_S * 1_000_000) * 1000;
                gst::ReferenceTimestampMeta::add(
                    buffer.make_mut(),
                    &gst::Caps::new_empty_simple("timestamp/x-ntp"),
                    gst::ClockTime::from_nseconds(ntp_ns),
                    None,
                );
            }
            gst::PadProbeReturn::Ok
        });
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            pipeline,
            src,
            description,
            config,
            epoch_unix_usec,
            frames_sent: 0,
        })
    }

    /// The launch description (for logs).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Frame size of the stream, pixels.
    pub fn size_px(&self) -> (u32, u32) {
        (self.config.width_px, self.config.height_px)
    }

    /// Frames pushed.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    fn check_bus(&self) -> Result<(), MediaError> {
        if let Some(bus) = self.pipeline.bus() {
            while let Some(msg) = bus.pop() {
                if let gst::MessageView::Error(e) = msg.view() {
                    return Err(MediaError::Flow {
                        description: self.description.clone(),
                        message: format!("{} ({:?})", e.error(), e.debug()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Encodes and sends one RGB frame captured at `capture_unix_usec`.
    ///
    /// # Errors
    /// A frame of the wrong size, or the stream failed ([`MediaError::Flow`]: rebuild it).
    pub fn push(&mut self, rgb: &[u8], capture_unix_usec: u64) -> Result<(), MediaError> {
        self.check_bus()?;
        let want = self.config.width_px as usize * self.config.height_px as usize * 3;
        if rgb.len() != want {
            return Err(MediaError::FrameSize {
                got: rgb.len(),
                want,
                width_px: self.config.width_px,
                height_px: self.config.height_px,
            });
        }
        let epoch = match self.epoch_unix_usec.load(Ordering::Relaxed) {
            0 => {
                self.epoch_unix_usec.store(capture_unix_usec, Ordering::Relaxed);
                capture_unix_usec
            }
            e => e,
        };
        let mut buffer = gst::Buffer::from_mut_slice(rgb.to_vec());
        {
            let b = buffer.get_mut().expect("a fresh buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(
                PTS_BASE_NS + capture_unix_usec.saturating_sub(epoch) * 1000,
            ));
            b.set_duration(gst::ClockTime::from_nseconds((1e9 / self.config.fps) as u64));
        }
        self.src.push_buffer(buffer).map_err(|e| MediaError::Flow {
            description: self.description.clone(),
            message: format!("push: {e:?}"),
        })?;
        self.frames_sent += 1;
        Ok(())
    }

    /// Sends end-of-stream, waits (up to 5 s) for the last packets to leave, stops.
    ///
    /// # Errors
    /// An error GStreamer reported while draining.
    pub fn finish(self) -> Result<(), MediaError> {
        let _ = self.src.end_of_stream();
        let mut result = Ok(());
        if let Some(bus) = self.pipeline.bus() {
            let until = gst::ClockTime::from_seconds(5);
            if let Some(msg) = bus.timed_pop_filtered(until, &[gst::MessageType::Eos, gst::MessageType::Error])
                && let gst::MessageView::Error(e) = msg.view()
            {
                result = Err(MediaError::Flow {
                    description: self.description.clone(),
                    message: e.error().to_string(),
                });
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}

impl Drop for H264RtpSender {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::time::Duration;

    use super::*;
    use crate::ntp64::{NTP64_EXT_ID, ntp64_unix_usec_from_rtp};

    fn config(port: u16, epoch: Option<u64>) -> RtpSenderConfig {
        RtpSenderConfig {
            destination: format!("127.0.0.1:{port}"),
            width_px: 64,
            height_px: 48,
            fps: 30.0,
            bitrate_kbps: 500,
            key_int_max_frames: 30,
            block_when_behind: true,
            epoch_unix_usec: epoch,
            srtp_key: None,
        }
    }

    /// Pushes 20 frames, reads the RTP packets off a real UDP socket and returns the capture
    /// times found in their NTP-64 extensions.
    fn capture_times_on_the_wire(epoch: Option<u64>, times: &[u64]) -> Vec<u64> {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut tx = H264RtpSender::start(config(rx.local_addr().unwrap().port(), epoch)).unwrap();
        for (i, &t) in times.iter().enumerate() {
            let shade = (i * 11 % 250) as u8;
            tx.push(&vec![shade; 64 * 48 * 3], t).unwrap();
        }
        assert_eq!(tx.frames_sent(), times.len() as u64);
        tx.finish().unwrap();
        let mut found = Vec::new();
        let mut buf = [0u8; 65_536];
        while let Ok(n) = rx.recv(&mut buf) {
            assert_eq!(buf[0] >> 6, 2, "RTP version 2");
            assert_eq!(buf[1] & 0x7F, 96, "payload type 96");
            found.extend(ntp64_unix_usec_from_rtp(&buf[..n], NTP64_EXT_ID));
        }
        found
    }

    #[test]
    fn every_capture_time_on_the_wire_is_one_that_was_pushed() {
        let t0 = 1_763_800_000_000_000u64;
        let times: Vec<u64> = (0..20).map(|i| t0 + 123 + i * 33_333).collect();
        let found = capture_times_on_the_wire(None, &times);
        assert!(found.len() >= 10, "capture times on most frames: {found:?}");
        for t in &found {
            assert!(times.contains(t), "{t} was not a pushed capture time");
        }
        assert_eq!(found.first(), Some(&times[0]), "the first frame's time is the epoch");
    }

    #[test]
    fn a_configured_epoch_is_the_capture_time_of_sim_time_zero() {
        // The simulator's frames: capture time = epoch + sim time, the first at sim time 1 s.
        let epoch = 1_700_000_000_000_000u64;
        let times: Vec<u64> = (0..20).map(|i| epoch + 1_000_000 + i * 33_333).collect();
        let found = capture_times_on_the_wire(Some(epoch), &times);
        assert!(found.len() >= 10, "{found:?}");
        for t in &found {
            assert!(times.contains(t), "{t}");
        }
    }

    #[test]
    fn bad_settings_and_frames_are_named() {
        let mut c = config(5600, None);
        c.fps = 0.0;
        assert!(matches!(H264RtpSender::start(c), Err(MediaError::Fps(_))));
        let mut c = config(5600, None);
        c.destination = "nowhere".into();
        let e = H264RtpSender::start(c).unwrap_err().to_string();
        assert!(e.contains("nowhere"), "{e}");
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut tx = H264RtpSender::start(config(rx.local_addr().unwrap().port(), None)).unwrap();
        let e = tx.push(&[0; 10], 1).unwrap_err().to_string();
        assert!(e.contains("64x48") && e.contains("10"), "{e}");
    }
}
