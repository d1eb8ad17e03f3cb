//! The capture time of a video frame on the wire: RFC 6051's 64-bit NTP timestamp RTP header
//! extension (`urn:ietf:params:rtp-hdrext:ntp-64`), in RFC 8285's one-byte or two-byte form.
//!
//! GStreamer's own reader applies the extension of the *last* packet of a frame to the frame,
//! but senders write it only on the *first* packet by default, so receivers parse it from every
//! packet themselves with [`ntp64_unix_usec_from_rtp`].

/// Seconds between the NTP epoch (1900-01-01) and the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// Extension id of `urn:ietf:params:rtp-hdrext:ntp-64` in our RTP caps (`extmap-1`).
pub const NTP64_EXT_ID: u8 = 1;

/// NTP-64 time (32.32 fixed point seconds since 1900) of a Unix time in µs.
pub fn ntp64_of_unix_usec(unix_usec: u64) -> u64 {
    let secs = unix_usec / 1_000_000 + NTP_UNIX_OFFSET_S;
    let frac = ((unix_usec % 1_000_000) << 32).div_ceil(1_000_000);
    (secs << 32) | frac
}

/// Capture time (Unix µs) from the NTP-64 header extension with id `ext_id` of an RTP packet
/// (RFC 8285 one-byte or two-byte form); `None` without it or with a zero time (what a sender
/// writes when it had none). Rounds to the nearest microsecond.
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

    #[test]
    fn ntp64_extension_is_read_from_a_captured_gstreamer_packet() {
        // Captured from GStreamer's rtph264pay with rtphdrextntp64 (id 1, one-byte form):
        // RTP header, then BEDE 0003, element 0x17 (id 1, 8 bytes) = NTP 0xeccbf240.80000000.
        let mut pkt = vec![0x90, 0x60, 0x00, 0x01, 0x14, 0x22, 0x58, 0x47, 0xde, 0xad, 0xbe, 0xef];
        pkt.extend([
            0xBE, 0xDE, 0x00, 0x03, 0x17, 0xec, 0xcb, 0xf2, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]);
        pkt.extend([0x67, 0x42]); // payload
        let secs = 0xeccb_f240u64 - NTP_UNIX_OFFSET_S;
        assert_eq!(ntp64_unix_usec_from_rtp(&pkt, 1), Some(secs * 1_000_000 + 500_000));
        assert_eq!(ntp64_unix_usec_from_rtp(&pkt, 2), None, "other id");
        let mut no_x = pkt.clone();
        no_x[0] = 0x80;
        assert_eq!(ntp64_unix_usec_from_rtp(&no_x, 1), None);
        assert_eq!(ntp64_unix_usec_from_rtp(&pkt[..20], 1), None, "truncated");
        let mut zero = pkt.clone();
        zero[17..25].fill(0);
        assert_eq!(ntp64_unix_usec_from_rtp(&zero, 1), None);
        // Two-byte form: 0x1000, id 1, len 8.
        let mut two = vec![
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x03, 0x01, 0x08,
        ];
        two.extend(&pkt[17..25]);
        two.extend([0, 0]);
        assert_eq!(ntp64_unix_usec_from_rtp(&two, 1), Some(secs * 1_000_000 + 500_000));
    }
}
