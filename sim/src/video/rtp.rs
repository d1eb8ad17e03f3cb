//! [`RtpSender`]: the simulated camera's stream, like a drone camera's:
//! RTP/H.264 over UDP (x264 zero-latency, baseline, SPS/PPS in band every
//! second so a receiver can join at any time).
//!
//! ```text
//! appsrc (RGB) ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=FPS
//!   ! rtph264pay config-interval=1 pt=96 ! RTP_H264_CAPS ! udpsink
//! ```
//!
//! # Capture times
//! Each frame's buffer PTS is [`PTS_BASE_NS`] + its sim time (so PTS
//! differences are sim-time differences, and x264enc, which shifts
//! timestamps below 1000 h, leaves them alone). The RTP timestamp is the
//! payloader's 90 kHz copy of the PTS plus a random offset, so on its own it
//! gives only relative times. The absolute capture time travels in the RFC
//! 6051 RTP header extension `urn:ietf:params:rtp-hdrext:ntp-64` (id 1,
//! announced as `extmap-1` in [`RTP_H264_CAPS`]): a 64-bit NTP time equal to
//! `epoch_unix_usec + sim time`, i.e. the Unix time base of the telemetry's
//! SYSTEM_TIME.time_unix_usec (and `time_boot_ms` is sim time in ms). A probe
//! before the payloader puts it on each encoded frame as a `timestamp/x-ntp`
//! reference-timestamp meta (x264enc drops metas), and GStreamer's NTP-64
//! extension writes it on the first RTP packet of every frame.
//!
//! A receiver recovers it by parsing the extension from the RTP packets of a
//! frame ([`ntp64_unix_usec_from_rtp`]; the onboard ingest does this in a probe
//! on its depayloader's input and maps the jitter buffer's PTS to it), then
//! interpolates the autopilot pose at that time from the telemetry. Receivers
//! that ignore the extension still play the stream:
//!
//! ```text
//! gst-launch-1.0 udpsrc port=5600 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" \
//!   ! rtph264depay ! avdec_h264 ! fakesink
//! ```

use std::net::SocketAddr;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::{VideoError, VideoFrame};
use crate::camera::VideoSize;

/// Caps of the RTP stream: H.264, payload type 96, NTP-64 capture times as
/// header extension 1 (the onboard ingest's `RTP_H264_CAPS` is the same string).
pub const RTP_H264_CAPS: &str = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
     extmap-1=(string)urn:ietf:params:rtp-hdrext:ntp-64";

/// Header-extension id of the NTP-64 capture time.
pub const NTP64_EXT_ID: u8 = 1;

/// PTS of sim time zero: 1000 hours, in nanoseconds.
pub const PTS_BASE_NS: u64 = 1000 * 3600 * 1_000_000_000;

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// Stream settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtpConfig {
    /// Where the packets go.
    pub destination: SocketAddr,
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second (sets the key-frame interval: one per second).
    pub fps: f64,
    /// Encoder bit rate, kbit/s.
    pub bitrate_kbps: u32,
    /// Unix time of sim time zero, microseconds.
    pub epoch_unix_usec: u64,
}

/// A running RTP/H.264 stream.
pub struct RtpSender {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    description: String,
    config: RtpConfig,
    /// Frames pushed.
    pub frames_sent: u64,
}

impl std::fmt::Debug for RtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpSender")
            .field("description", &self.description)
            .field("frames_sent", &self.frames_sent)
            .finish_non_exhaustive()
    }
}

/// NTP-64 time (32.32 fixed point seconds since 1900) of a Unix time in µs.
pub fn ntp64_of_unix_usec(unix_usec: u64) -> u64 {
    let secs = unix_usec / 1_000_000 + NTP_UNIX_OFFSET_S;
    let frac = ((unix_usec % 1_000_000) << 32).div_ceil(1_000_000);
    (secs << 32) | frac
}

/// Capture time (Unix µs) from the RFC 6051 NTP-64 header extension with id
/// `ext_id` of an RTP packet (RFC 8285 one-byte or two-byte form); `None`
/// without it or with a zero time. Rounds to the nearest microsecond.
pub fn ntp64_unix_usec_from_rtp(packet: &[u8], ext_id: u8) -> Option<u64> {
    if packet.len() < 12 || packet[0] >> 6 != 2 || packet[0] & 0x10 == 0 {
        return None;
    }
    let ext = 12 + 4 * usize::from(packet[0] & 0x0F);
    let profile = u16::from_be_bytes([*packet.get(ext)?, *packet.get(ext + 1)?]);
    let words = usize::from(u16::from_be_bytes([*packet.get(ext + 2)?, *packet.get(ext + 3)?]));
    let body = packet.get(ext + 4..ext + 4 + 4 * words)?;
    let one_byte = profile == 0xBEDE;
    if !one_byte && profile & 0xFFF0 != 0x1000 {
        return None;
    }
    let mut i = 0;
    while i < body.len() {
        if body[i] == 0 {
            i += 1; // padding
            continue;
        }
        let (id, len, head) = if one_byte {
            (body[i] >> 4, usize::from(body[i] & 0x0F) + 1, 1)
        } else {
            (body[i], usize::from(*body.get(i + 1)?), 2)
        };
        if one_byte && id == 15 {
            return None; // reserved: stop (RFC 8285)
        }
        let data = body.get(i + head..i + head + len)?;
        if id == ext_id && len == 8 {
            let ntp = u64::from_be_bytes(data.try_into().ok()?);
            let us = (ntp >> 32) * 1_000_000 + (((ntp & 0xFFFF_FFFF) * 1_000_000 + (1 << 31)) >> 32);
            return us.checked_sub(NTP_UNIX_OFFSET_S * 1_000_000).filter(|&u| u > 0);
        }
        i += head + len;
    }
    None
}

fn stream_err(pipeline: &str, message: impl ToString) -> VideoError {
    VideoError::Stream {
        pipeline: pipeline.to_owned(),
        message: message.to_string(),
    }
}

impl RtpSender {
    /// Build the pipeline and start it (nothing is sent before the first frame).
    pub fn start(config: RtpConfig) -> Result<Self, VideoError> {
        gst::init().map_err(|e| stream_err("gst::init", e))?;
        let fps = gst::Fraction::approximate_f64(config.fps).ok_or(VideoError::Fps(config.fps))?;
        let key_int = config.fps.round().max(1.0) as u32;
        let description = format!(
            "appsrc name=src is-live=true format=time do-timestamp=false block=true max-bytes={max_bytes} \
             ! videoconvert ! video/x-raw,format=I420 \
             ! x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate} key-int-max={key_int} \
             ! video/x-h264,profile=baseline \
             ! rtph264pay name=pay config-interval=1 pt=96 ! {caps} \
             ! udpsink host={host} port={port} sync=false async=false",
            max_bytes = 4 * config.size.rgb_len(),
            bitrate = config.bitrate_kbps,
            caps = RTP_H264_CAPS,
            host = config.destination.ip(),
            port = config.destination.port(),
        );
        let err = |m: String| stream_err(&description, m);
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| err("not a pipeline".into()))?;
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| err("no appsrc".into()))?;
        src.set_caps(Some(
            &gst::Caps::builder("video/x-raw")
                .field("format", "RGB")
                .field("width", config.size.width_px as i32)
                .field("height", config.size.height_px as i32)
                .field("framerate", fps)
                .build(),
        ));
        // The capture time follows from the PTS alone (stateless: no table of
        // frames in flight), and goes on the encoded frame as the meta the
        // payloader's NTP-64 extension writes.
        let pay_sink = pipeline
            .by_name("pay")
            .and_then(|p| p.static_pad("sink"))
            .ok_or_else(|| err("no payloader sink pad".into()))?;
        let epoch = config.epoch_unix_usec;
        pay_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer_mut()
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
            frames_sent: 0,
        })
    }

    /// The launch description (for logs).
    pub fn description(&self) -> &str {
        &self.description
    }

    fn check_bus(&self) -> Result<(), VideoError> {
        if let Some(bus) = self.pipeline.bus() {
            while let Some(msg) = bus.pop() {
                if let gst::MessageView::Error(e) = msg.view() {
                    return Err(stream_err(
                        &self.description,
                        format!("{} ({:?})", e.error(), e.debug()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Encode and send one frame (blocks while the encoder is 4 frames behind).
    pub fn push(&mut self, frame: &VideoFrame) -> Result<(), VideoError> {
        self.check_bus()?;
        if frame.size != self.config.size {
            return Err(stream_err(
                &self.description,
                format!("frame of {} on a {} stream", frame.size, self.config.size),
            ));
        }
        let mut buffer = gst::Buffer::from_mut_slice(frame.rgb.clone());
        {
            let b = buffer.get_mut().expect("a fresh buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(PTS_BASE_NS + frame.sim_time_usec * 1000));
            b.set_duration(gst::ClockTime::from_nseconds((1e9 / self.config.fps) as u64));
        }
        self.src
            .push_buffer(buffer)
            .map_err(|e| stream_err(&self.description, format!("push: {e:?}")))?;
        self.frames_sent += 1;
        Ok(())
    }

    /// Send end-of-stream, wait (up to 5 s) for the last packets to leave, stop.
    pub fn finish(self) -> Result<(), VideoError> {
        let _ = self.src.end_of_stream();
        let mut result = Ok(());
        if let Some(bus) = self.pipeline.bus() {
            let until = gst::ClockTime::from_seconds(5);
            if let Some(msg) = bus.timed_pop_filtered(until, &[gst::MessageType::Eos, gst::MessageType::Error])
                && let gst::MessageView::Error(e) = msg.view()
            {
                result = Err(stream_err(&self.description, e.error()));
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}

impl Drop for RtpSender {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp64_round_trips_at_microsecond_resolution() {
        for us in [1_763_800_000_000_000u64, 1_763_800_000_123_456, 1_700_000_000_999_999] {
            let ntp = ntp64_of_unix_usec(us);
            assert_eq!(ntp >> 32, us / 1_000_000 + NTP_UNIX_OFFSET_S);
            let mut pkt = vec![0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x03, 0x17];
            pkt.extend(ntp.to_be_bytes());
            pkt.extend([0, 0, 0, 0x67]);
            assert_eq!(ntp64_unix_usec_from_rtp(&pkt, 1), Some(us));
        }
    }

    #[test]
    fn ntp64_extension_parsing_rejects_what_is_not_there() {
        let ntp = ntp64_of_unix_usec(1_763_800_000_500_000);
        // One-byte form, after a padding byte and another element (id 2, 2 bytes).
        let mut pkt = vec![
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x04, 0x00, 0x21, 0xAA, 0xBB, 0x17,
        ];
        pkt.extend(ntp.to_be_bytes());
        pkt.extend([0, 0, 0, 0x67]);
        assert_eq!(ntp64_unix_usec_from_rtp(&pkt, 1), Some(1_763_800_000_500_000));
        assert_eq!(ntp64_unix_usec_from_rtp(&pkt, 3), None, "other id");
        let mut no_x = pkt.clone();
        no_x[0] = 0x80;
        assert_eq!(ntp64_unix_usec_from_rtp(&no_x, 1), None, "no extension bit");
        assert_eq!(ntp64_unix_usec_from_rtp(&pkt[..22], 1), None, "truncated");
        // Two-byte form (0x100X profile): id, length, data.
        let mut two = vec![
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x03, 0x01, 0x08,
        ];
        two.extend(ntp.to_be_bytes());
        two.extend([0, 0]);
        assert_eq!(ntp64_unix_usec_from_rtp(&two, 1), Some(1_763_800_000_500_000));
        // A zero time means "sender had none".
        let mut zero = pkt.clone();
        zero[21..29].fill(0);
        assert_eq!(ntp64_unix_usec_from_rtp(&zero, 1), None);
    }
}
