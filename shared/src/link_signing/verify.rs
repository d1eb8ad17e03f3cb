//! [`verify_frame`]: is this frame signed with this key, and new? A pure function of its
//! arguments (no clock, no I/O), so it is simple to test and to fuzz: it must never accept a
//! frame that was not signed with the key, and never panic.

use mavlink_core::MAVLinkV2MessageRaw;

use super::key::LinkKey;
use super::time::{clock_is_set, signing_timestamp};
use super::window::{ReplayWindow, StreamId, WindowRefusal};
use crate::mavframe::{MAGIC_V1, MAGIC_V2, RawFrame, SIGNATURE_LEN};

/// Why a frame's signature is refused. The ground counts refused frames by this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    /// A MAVLink 1 frame cannot be signed.
    #[error("MAVLink 1 frame (cannot be signed)")]
    MavlinkV1,
    /// A MAVLink 2 frame without a signature.
    #[error("unsigned MAVLink 2 frame")]
    Unsigned,
    /// Not one whole, CRC-valid frame of our dialect.
    #[error("malformed frame")]
    Malformed,
    /// Signed, but not with this key (or altered after signing).
    #[error("signature does not verify with the link key (wrong key or altered frame)")]
    BadSignature,
    /// Signed with the key, but its timestamp is not above the last one of its stream.
    #[error("replayed frame: signing timestamp {timestamp} is not above {last}, the last accepted on its stream")]
    Replayed {
        /// The frame's timestamp.
        timestamp: u64,
        /// The stream's last accepted timestamp.
        last: u64,
    },
    /// Signed with the key, a new stream, but more than a minute older than the newest time known.
    #[error("old signing timestamp {timestamp} on a new stream (newest known time {newest})")]
    Stale {
        /// The frame's timestamp.
        timestamp: u64,
        /// Newest time known (clock or accepted timestamp).
        newest: u64,
    },
    /// The local clock is not set (before the floor): no replay check is possible.
    #[error("local clock is not set (before {floor_unix_s} Unix s): signed frames cannot be checked for replay")]
    ClockNotSet {
        /// The floor, Unix seconds.
        floor_unix_s: u64,
    },
}

/// A frame that passed: who signed it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Its stream.
    pub stream: StreamId,
    /// Its signing timestamp (now the stream's last accepted one).
    pub timestamp: u64,
}

/// Checks that `frame` (one whole frame as received, signature included) is MAVLink 2, signed
/// with `key`, and newer than anything accepted on its stream; on success records its
/// timestamp in `window`. `now_unix_usec` is the local clock.
///
/// # Errors
/// Why it is refused; the window is left unchanged then.
pub fn verify_frame(
    frame: &[u8],
    key: &LinkKey,
    window: &mut ReplayWindow,
    now_unix_usec: u64,
) -> Result<Verified, SignatureRefused> {
    match frame.first() {
        Some(&MAGIC_V1) => return Err(SignatureRefused::MavlinkV1),
        Some(&MAGIC_V2) => {}
        _ => return Err(SignatureRefused::Malformed),
    }
    let parsed = RawFrame::parse(frame).map_err(|_| SignatureRefused::Malformed)?;
    if !parsed.is_signed() {
        return Err(SignatureRefused::Unsigned);
    }
    // RawFrame::parse allows no incompatibility flag but "signed", so mavlink-core's view of
    // the header size is ours; the length is at most MAX_FRAME_SIZE.
    let mut buf = [0u8; mavlink_core::consts::MAX_FRAME_SIZE];
    let Some(dst) = buf.get_mut(..frame.len()) else {
        return Err(SignatureRefused::Malformed);
    };
    dst.copy_from_slice(frame);
    let raw = MAVLinkV2MessageRaw::from_bytes_unparsed(buf);
    if raw.raw_bytes().len() != frame.len() || frame.len() < SIGNATURE_LEN {
        return Err(SignatureRefused::Malformed);
    }
    let mut expected = [0u8; mavlink_core::consts::v2::SIGNATURE_VALUE_SIZE];
    raw.calculate_signature(&key.secret_key, &mut expected);
    if expected != raw.signature_value() {
        return Err(SignatureRefused::BadSignature);
    }
    if !clock_is_set(now_unix_usec) {
        return Err(SignatureRefused::ClockNotSet {
            floor_unix_s: super::time::CLOCK_FLOOR_UNIX_S,
        });
    }
    let stream = StreamId {
        link_id: raw.signature_link_id(),
        system_id: parsed.sysid(),
        component_id: parsed.compid(),
    };
    let timestamp = raw.signature_timestamp();
    window
        .check(stream, timestamp, signing_timestamp(now_unix_usec))
        .map_err(|r| match r {
            WindowRefusal::Replayed { last } => SignatureRefused::Replayed { timestamp, last },
            WindowRefusal::Stale { newest } => SignatureRefused::Stale { timestamp, newest },
        })?;
    window.accept(stream, timestamp);
    Ok(Verified { stream, timestamp })
}
