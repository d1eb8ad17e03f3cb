//! Raw MAVLink frames as they travel on the wire, and the decoder that cuts
//! them out of an unreliable byte stream.
//!
//! The ground link, the onboard telemetry and tlog replay all need the same
//! thing: whole v1/v2 frames with their exact bytes (to record them), checked
//! against our dialect's CRC_EXTRA, with garbage skipped and counted rather
//! than fatal. [`RawFrame`] is the wire type and owns its parsing;
//! [`FrameDecoder`] owns the buffer.

mod crc;
mod decoder;
mod frame;

pub use crc::{crc_extra, x25_crc};
pub use decoder::{DecoderStats, FrameDecoder};
pub use frame::{
    FrameError, MAGIC_V1, MAGIC_V2, MAX_FRAME_LEN_V1, MAX_FRAME_LEN_V2, MavVersion, RawFrame, SIGNATURE_LEN,
};
pub(crate) use frame::{Scan, scan};

#[cfg(test)]
mod tests;
