//! Raw MAVLink frames as they travel on the wire, and the decoder that cuts
//! them out of an unreliable byte stream.
//!
//! The ground link, the onboard telemetry and out links, tlog replay, the
//! simulator and the benches all need the same thing (and use only this
//! module for it): whole v1/v2 frames with their exact bytes (to record them), checked
//! against our dialect's CRC_EXTRA, with garbage skipped and counted rather
//! than fatal. [`RawFrame`] is the wire type and owns its parsing;
//! [`FrameDecoder`] owns the buffer.

mod crc;
mod decoder;
mod frame;

pub use crc::{crc_extra, x25_crc};
pub use decoder::{Decoded, DecoderStats, FrameDecoder};
pub use frame::{
    FrameError, MAGIC_V1, MAGIC_V2, MAX_FRAME_LEN_V1, MAX_FRAME_LEN_V2, MavVersion, RawFrame, SIGNATURE_LEN,
};
pub(crate) use frame::{Scan, scan};

/// Serialises `msg` as one unsigned MAVLink 2 frame (signed frames: [`crate::link_signing`]).
pub fn encode_v2<M: mavlink_core::Message>(header: mavlink_core::MavHeader, msg: &M) -> Vec<u8> {
    RawFrame::encode(MavVersion::V2, header, msg).into_bytes()
}

#[cfg(test)]
mod tests;
