//! MAVLink 2 frames out of datagrams or a byte stream, keeping each frame's raw bytes for the
//! tlog. Resynchronises on the start byte, checks the CRC with our dialect, and counts skipped
//! bytes, bad frames and frames with ids not in our dialect. Local until
//! `utkik_shared::mavframe` lands (same logic as the onboard telemetry decoder).

use mavlink_core::{MAVLinkV2MessageRaw, MavHeader, MavlinkVersion, Message};
use utkik_shared::dialect::MavMessage;

const STX_V2: u8 = 0xFD;
const HEADER_LEN: usize = 10;
const SIGNATURE_LEN: usize = 13;

/// Counters of what the decoder saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames decoded into messages.
    pub messages: u64,
    /// Bytes skipped while looking for a frame start, or dropped with a bad frame.
    pub garbage_bytes: u64,
    /// Frames whose checksum failed.
    pub bad_frames: u64,
}

/// One decoded frame.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Header (system, component, sequence).
    pub header: MavHeader,
    /// The message.
    pub message: MavMessage,
    /// The frame exactly as received (for the tlog).
    pub raw: Vec<u8>,
}

/// Incremental MAVLink 2 decoder.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    stats: DecodeStats,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was seen so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Feeds bytes; calls `out` for every frame they complete.
    pub fn push(&mut self, bytes: &[u8], mut out: impl FnMut(Decoded)) {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            match self.buf[start..].iter().position(|&b| b == STX_V2) {
                Some(skip) => {
                    self.stats.garbage_bytes += skip as u64;
                    start += skip;
                }
                None => {
                    self.stats.garbage_bytes += (self.buf.len() - start) as u64;
                    start = self.buf.len();
                    break;
                }
            }
            let rest = &self.buf[start..];
            if rest.len() < HEADER_LEN {
                break;
            }
            let signed = rest[2] & 0x01 != 0;
            let len = HEADER_LEN + rest[1] as usize + 2 + if signed { SIGNATURE_LEN } else { 0 };
            if rest.len() < len {
                break;
            }
            let mut bytes = [0u8; mavlink_core::consts::MAX_FRAME_SIZE];
            bytes[..len].copy_from_slice(&rest[..len]);
            let raw = MAVLinkV2MessageRaw::from_bytes_unparsed(bytes);
            let parsed = if raw.has_valid_crc::<MavMessage>() {
                MavMessage::parse(MavlinkVersion::V2, raw.message_id(), raw.payload()).ok()
            } else {
                None
            };
            match parsed {
                Some(message) => {
                    let header = MavHeader {
                        system_id: raw.system_id(),
                        component_id: raw.component_id(),
                        sequence: raw.sequence(),
                    };
                    self.stats.messages += 1;
                    out(Decoded {
                        header,
                        message,
                        raw: rest[..len].to_vec(),
                    });
                    start += len;
                }
                None => {
                    self.stats.bad_frames += 1;
                    self.stats.garbage_bytes += 1;
                    start += 1;
                }
            }
        }
        self.buf.drain(..start);
    }
}

/// Serialises `msg` as one MAVLink 2 frame.
pub fn encode_v2(header: MavHeader, msg: &MavMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    mavlink_core::write_v2_msg(&mut out, header, msg).expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::HEARTBEAT_DATA;

    #[test]
    fn garbage_and_split_frames() {
        let h = MavHeader {
            system_id: 3,
            component_id: 1,
            sequence: 9,
        };
        let frame = encode_v2(h, &MavMessage::HEARTBEAT(HEARTBEAT_DATA::default()));
        let mut stream = vec![1u8, 2, 3, STX_V2, 0];
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&frame);
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(7) {
            d.push(chunk, |f| got.push(f));
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].header.system_id, 3);
        assert_eq!(got[0].raw, frame);
        assert_eq!(d.stats().messages, 2);
        assert!(d.stats().garbage_bytes >= 5, "{:?}", d.stats());
    }
}
