//! [`RtpSender`]: the simulated camera's stream, like a drone camera's: RTP/H.264 over UDP with
//! each frame's capture time in the RFC 6051 NTP-64 header extension. The sender itself is
//! `utkik_media::H264RtpSender` (the one the onboard re-stream uses too; its docs describe the
//! pipeline and the time base); this adapter feeds it the simulator's frames.
//!
//! Capture time of a frame = `epoch_unix_usec + sim time`, i.e. the Unix time base of the
//! telemetry's SYSTEM_TIME.time_unix_usec (and `time_boot_ms` is sim time in ms). A receiver
//! recovers it with [`ntp64_unix_usec_from_rtp`] (the onboard ingest does this in a probe on
//! its depayloader's input) and interpolates the autopilot pose at that time.

use std::net::SocketAddr;

use utkik_media::{H264RtpSender, MediaError, RtpSenderConfig};
pub use utkik_media::{NTP_UNIX_OFFSET_S, NTP64_EXT_ID, PTS_BASE_NS, RTP_H264_CAPS, ntp64_unix_usec_from_rtp};

use super::{VideoError, VideoFrame};
use crate::camera::VideoSize;

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

/// A running RTP/H.264 stream of simulated frames.
#[derive(Debug)]
pub struct RtpSender {
    inner: H264RtpSender,
    config: RtpConfig,
    /// Frames pushed.
    pub frames_sent: u64,
}

fn video_err(e: MediaError) -> VideoError {
    match e {
        MediaError::Fps(f) => VideoError::Fps(f),
        MediaError::Build { description, message } | MediaError::Flow { description, message } => VideoError::Stream {
            pipeline: description,
            message,
        },
        other => VideoError::Stream {
            pipeline: "RTP/H.264 sender".into(),
            message: other.to_string(),
        },
    }
}

impl RtpSender {
    /// Build the pipeline and start it (nothing is sent before the first frame).
    pub fn start(config: RtpConfig) -> Result<Self, VideoError> {
        let inner = H264RtpSender::start(RtpSenderConfig {
            destination: config.destination.to_string(),
            width_px: config.size.width_px,
            height_px: config.size.height_px,
            fps: config.fps,
            bitrate_kbps: config.bitrate_kbps,
            key_int_max_frames: config.fps.round().max(1.0) as u32,
            // The simulator drops no frame: it waits for the encoder.
            block_when_behind: true,
            epoch_unix_usec: Some(config.epoch_unix_usec),
            srtp_key: None,
        })
        .map_err(video_err)?;
        Ok(Self {
            inner,
            config,
            frames_sent: 0,
        })
    }

    /// The launch description (for logs).
    pub fn description(&self) -> &str {
        self.inner.description()
    }

    /// Encode and send one frame (blocks while the encoder is 4 frames behind).
    pub fn push(&mut self, frame: &VideoFrame) -> Result<(), VideoError> {
        if frame.size != self.config.size {
            return Err(VideoError::Stream {
                pipeline: self.inner.description().to_owned(),
                message: format!("frame of {} on a {} stream", frame.size, self.config.size),
            });
        }
        self.inner
            .push(&frame.rgb, self.config.epoch_unix_usec + frame.sim_time_usec)
            .map_err(video_err)?;
        self.frames_sent += 1;
        Ok(())
    }

    /// Send end-of-stream, wait (up to 5 s) for the last packets to leave, stop.
    pub fn finish(self) -> Result<(), VideoError> {
        self.inner.finish().map_err(video_err)
    }
}
