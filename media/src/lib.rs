//! Video on the wire: the RTP/H.264 stream with capture times that the simulated camera sends
//! to the onboard program and the onboard program re-sends (masked) to the ground, and the
//! ground station's receiver of that re-stream ([`H264RtpReceiver`]: view and recording).
//!
//! One sender ([`H264RtpSender`]) and one definition of the capture-time header extension
//! ([`ntp64`]) instead of one per crate: a camera, the simulator and the re-stream must agree
//! byte for byte with the onboard ingest that reads the time back. GStreamer makes this a crate
//! of its own (`shared` is pure logic).

pub mod ntp64;
pub mod receiver;
pub mod sender;
pub mod srtp;

pub use ntp64::{NTP_UNIX_OFFSET_S, NTP64_EXT_ID, ntp64_of_unix_usec, ntp64_unix_usec_from_rtp};
pub use receiver::{H264RtpReceiver, ReceiverError, ReceiverStats, RtpReceiverConfig, VideoFrame};
pub use sender::{H264RtpSender, MediaError, PTS_BASE_NS, RTP_H264_CAPS, RtpSenderConfig};
pub use srtp::{SRTP_KEY_LEN, SrtpKey, SrtpKeyLength};
