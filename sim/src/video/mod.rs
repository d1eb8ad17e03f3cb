//! Camera video: frames rendered from the simulated drone's pose, in process
//! ([`FrameSource`], for tests and benchmarks) or streamed like a real drone
//! camera ([`RtpSender`]: RTP/H.264 over UDP).
//!
//! Time base: frame `i` is captured at sim time `round(i * 1e6 / fps)` µs;
//! its capture time is `epoch_unix_usec + sim time`, the same Unix base as
//! the telemetry's SYSTEM_TIME and the ground truth's `time_usec`. How that
//! time travels in the stream is described in [`rtp`].

mod frames;
pub mod rtp;

pub use frames::{FrameRenderer, FrameSource, VideoFrame, frame_seed, frame_time_usec};
pub use rtp::{RTP_H264_CAPS, RtpConfig, RtpSender, ntp64_unix_usec_from_rtp};

use std::net::{SocketAddr, ToSocketAddrs};

use crate::camera::VideoSize;
use crate::render::RenderOptions;

/// What the camera produces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoSettings {
    /// Image size.
    pub size: VideoSize,
    /// Frames per second (sim time).
    pub fps: f64,
    /// Noise and blur; `seed` is the base of every frame's noise seed
    /// ([`frame_seed`]).
    pub render: RenderOptions,
}

/// Video could not be produced or sent.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The camera model rejected the size or field of view.
    #[error("camera {size}: {source}")]
    Camera {
        /// The size asked for.
        size: VideoSize,
        /// Why.
        source: utkik_shared::camera::CameraError,
    },
    /// A frame rate that is not a positive number.
    #[error("video frame rate {0} is not a positive number of frames per second")]
    Fps(f64),
    /// A destination that is not `udp://HOST:PORT` or `HOST:PORT`.
    #[error("video destination {text:?}: {message}")]
    Destination {
        /// What was given.
        text: String,
        /// Why it was refused.
        message: String,
    },
    /// GStreamer could not build or run the stream.
    #[error("video stream ({pipeline}): {message}")]
    Stream {
        /// The pipeline description or the step that failed.
        pipeline: String,
        /// GStreamer's message.
        message: String,
    },
}

/// Parse a video destination: `udp://HOST:PORT` (the only transport) or a
/// bare `HOST:PORT`.
pub fn parse_destination(text: &str) -> Result<SocketAddr, VideoError> {
    let err = |message: String| VideoError::Destination {
        text: text.to_owned(),
        message,
    };
    let rest = match text.split_once("://") {
        Some(("udp", rest)) => rest,
        Some((scheme, _)) => return Err(err(format!("unsupported scheme {scheme:?} (use udp://HOST:PORT)"))),
        None => text,
    };
    rest.to_socket_addrs()
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("resolves to no address".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        let a: SocketAddr = "127.0.0.1:5600".parse().unwrap();
        assert_eq!(parse_destination("udp://127.0.0.1:5600").unwrap(), a);
        assert_eq!(parse_destination("127.0.0.1:5600").unwrap(), a);
        let e = parse_destination("rtsp://127.0.0.1:5600").unwrap_err().to_string();
        assert!(e.contains("rtsp"), "{e}");
        assert!(parse_destination("udp://127.0.0.1").is_err());
    }
}
