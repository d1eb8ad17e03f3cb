//! MAVLink 2 frames out of an unreliable byte stream (UDP datagrams, a TCP stream or a serial
//! port): resynchronises on the start byte, checks the CRC with our dialect's CRC_EXTRA, and
//! counts every byte it had to skip so garbage on the port shows up in the status instead of
//! stopping telemetry. Kept small and local until `utkik_shared::mavframe` lands.

use mavlink_core::{MAVLinkV2MessageRaw, MavHeader, MavlinkVersion, Message};
use utkik_shared::dialect::MavMessage;

const STX_V2: u8 = 0xFD;
const HEADER_LEN: usize = 10; // STX + 9 header bytes
const SIGNATURE_LEN: usize = 13;
const MAX_FRAME: usize = HEADER_LEN + 255 + 2 + SIGNATURE_LEN;

/// Counters of what the decoder saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames decoded into messages.
    pub messages: u64,
    /// Bytes skipped while looking for a frame start, or dropped with a bad frame.
    pub garbage_bytes: u64,
    /// Frames with a wrong checksum (or an id not in our dialect).
    pub bad_frames: u64,
}

/// Incremental MAVLink 2 decoder.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    stats: DecoderStats,
}

impl StreamDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was seen so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Feeds bytes; returns the messages completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<(MavHeader, MavMessage)> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            // Skip to the next start byte.
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
            let msgid = raw.message_id();
            let parsed = if raw.has_valid_crc::<MavMessage>() {
                MavMessage::parse(MavlinkVersion::V2, msgid, raw.payload()).ok()
            } else {
                None
            };
            match parsed {
                Some(msg) => {
                    let header = MavHeader {
                        system_id: raw.system_id(),
                        component_id: raw.component_id(),
                        sequence: raw.sequence(),
                    };
                    self.stats.messages += 1;
                    out.push((header, msg));
                    start += len;
                }
                None => {
                    // Not a frame after all: drop the start byte and resynchronise.
                    self.stats.bad_frames += 1;
                    self.stats.garbage_bytes += 1;
                    start += 1;
                }
            }
        }
        self.buf.drain(..start);
        if self.buf.len() > 4 * MAX_FRAME {
            // Cannot happen with the logic above (an incomplete frame is < MAX_FRAME), but a bound
            // on memory is cheap.
            self.stats.garbage_bytes += self.buf.len() as u64;
            self.buf.clear();
        }
        out
    }
}

/// Serialises `msg` as one MAVLink 2 frame (used by the outbound link and by tests).
pub fn encode_v2(header: MavHeader, msg: &MavMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    mavlink_core::write_v2_msg(&mut out, header, msg).expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::{ATTITUDE_DATA, SYSTEM_TIME_DATA};

    fn frames() -> Vec<u8> {
        let h = MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: 0,
        };
        let mut v = encode_v2(
            h,
            &MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                time_unix_usec: 42,
                time_boot_ms: 7,
            }),
        );
        v.extend(encode_v2(
            h,
            &MavMessage::ATTITUDE(ATTITUDE_DATA {
                roll: 0.5,
                ..Default::default()
            }),
        ));
        v
    }

    #[test]
    fn byte_at_a_time_equals_all_at_once() {
        let bytes = frames();
        let mut a = StreamDecoder::new();
        let all = a.push(&bytes);
        let mut b = StreamDecoder::new();
        let mut one = Vec::new();
        for x in &bytes {
            one.extend(b.push(std::slice::from_ref(x)));
        }
        assert_eq!(all.len(), 2);
        assert_eq!(all, one);
        assert_eq!(
            a.stats(),
            DecoderStats {
                messages: 2,
                garbage_bytes: 0,
                bad_frames: 0
            }
        );
    }

    #[test]
    fn garbage_is_counted_and_skipped_without_losing_good_frames() {
        let good = frames();
        let mut bytes = b"hello\xFD\x05garbage".to_vec();
        bytes.extend(&good);
        let mut corrupted = good.clone();
        corrupted[12] ^= 0xFF; // payload byte of the first frame: CRC fails
        bytes.extend(&corrupted);
        let mut d = StreamDecoder::new();
        let msgs = d.push(&bytes);
        // The two good frames, then the second frame of the corrupted copy.
        assert_eq!(msgs.len(), 3);
        assert!(matches!(
            msgs[0].1,
            MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA { time_unix_usec: 42, .. })
        ));
        assert!(matches!(msgs[2].1, MavMessage::ATTITUDE(_)));
        let s = d.stats();
        assert!(s.bad_frames >= 1 && s.garbage_bytes >= 5 + 2 + 7, "{s:?}");
    }
}
