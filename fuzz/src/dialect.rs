//! Target `dialect_decode`: every message of our dialect (common.xml + utkik.xml) parsed from an
//! arbitrary payload, as `RawFrame::decode` does for each frame off the link.
//!
//! The input picks a known message id, a protocol version and payload bytes. Properties: no
//! panic; a payload that parses re-serializes to bytes that parse to the same message (compared
//! through their serialization, so NaN fields compare equal); the message keeps its id; and a
//! MAVLink 2 payload with its trailing zeros trimmed (as senders do) parses to the same message as
//! the untrimmed one.

use arbitrary::{Arbitrary, Unstructured};
use mavlink_core::{MavlinkVersion, Message};
use utkik_shared::dialect::MavMessage;

use crate::mavframe::known_ids;

#[derive(Debug, Arbitrary)]
struct Input {
    id_index: u16,
    v1: bool,
    payload: Vec<u8>,
}

fn ser(m: &MavMessage, version: MavlinkVersion) -> Vec<u8> {
    let mut buf = [0u8; 255];
    let n = m.ser(version, &mut buf);
    buf[..n].to_vec()
}

/// The target.
pub fn decode(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let ids = known_ids();
    let id = ids[input.id_index as usize % ids.len()];
    let version = if input.v1 && id <= 255 {
        MavlinkVersion::V1
    } else {
        MavlinkVersion::V2
    };
    let payload = &input.payload[..input.payload.len().min(255)];
    let Ok(msg) = MavMessage::parse(version, id, payload) else {
        return;
    };
    assert_eq!(msg.message_id(), id, "parsed message keeps its id");
    let bytes = ser(&msg, version);
    let again = MavMessage::parse(version, id, &bytes).expect("a serialized message parses");
    assert_eq!(ser(&again, version), bytes, "parse(ser(m)) serializes like m");
    if version == MavlinkVersion::V2 {
        let trimmed_len = payload.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let trimmed = MavMessage::parse(version, id, &payload[..trimmed_len]).expect("trimmed payload parses");
        assert_eq!(ser(&trimmed, version), bytes, "trailing zeros do not matter");
    }
}
