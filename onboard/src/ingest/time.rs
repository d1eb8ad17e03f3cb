//! Capture time of each frame in Unix microseconds.
//!
//! The camera (and the simulator) stamp each frame with its capture time in the RTP header
//! extension of RFC 6051 (`urn:ietf:params:rtp-hdrext:ntp-64`, 64-bit NTP time). GStreamer's
//! depayloader turns it into a `GstReferenceTimestampMeta` with caps `timestamp/x-ntp`. Decoders
//! do not reliably carry metas across, so a probe on the depayloader's output remembers
//! PTS -> capture time and the appsink side looks the frame's PTS up. Sources without the
//! extension (files, v4l2, test patterns) fall back to the arrival time at the appsink.
//!
//! GStreamer's own reader applies the extension of the *last* packet of a frame to the frame, but
//! senders write it only on the *first* packet by default, so the time would be lost. The probe
//! therefore sits on the depayloader's input and parses the extension from every RTP packet
//! itself ([`ntp64_unix_usec_from_rtp`]); all packets of a frame share the PTS the jitter buffer
//! gave them, which the decoded frame keeps.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use gstreamer as gst;

/// Seconds between the NTP epoch (1900-01-01) and the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// How the capture time of a frame was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// From the RTP NTP-64 header extension (or another reference timestamp meta).
    Reference,
    /// Arrival time at the appsink (no timestamp travelled with the frame).
    Arrival,
}

/// Now, in Unix microseconds.
pub fn unix_now_usec() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Unix microseconds from a reference timestamp meta of a buffer, if it has one we understand
/// (`timestamp/x-ntp`: NTP epoch; `timestamp/x-unix`: Unix epoch). An all-zero NTP time
/// (what the sender writes when it had no time) is ignored.
pub fn reference_unix_usec(buffer: &gst::BufferRef) -> Option<u64> {
    for meta in buffer.iter_meta::<gst::ReferenceTimestampMeta>() {
        let Some(s) = meta.reference().structure(0) else {
            continue;
        };
        let ns = meta.timestamp().nseconds();
        match s.name().as_str() {
            "timestamp/x-ntp" => {
                let us = ns / 1000;
                if us > NTP_UNIX_OFFSET_S * 1_000_000 {
                    return Some(us - NTP_UNIX_OFFSET_S * 1_000_000);
                }
            }
            "timestamp/x-unix" => return Some(ns / 1000),
            _ => {}
        }
    }
    None
}

/// Extension id of `urn:ietf:params:rtp-hdrext:ntp-64` in our RTP caps (`extmap-1`).
pub const NTP64_EXT_ID: u8 = 1;

/// Capture time (Unix µs) from the RFC 6051 NTP-64 header extension with id `ext_id` of an RTP
/// packet (RFC 8285 one-byte or two-byte header form); `None` without it or with a zero time.
pub fn ntp64_unix_usec_from_rtp(packet: &[u8], ext_id: u8) -> Option<u64> {
    if packet.len() < 12 || packet[0] >> 6 != 2 || packet[0] & 0x10 == 0 {
        return None;
    }
    let csrc = usize::from(packet[0] & 0x0F);
    let ext = 12 + 4 * csrc;
    let profile = u16::from_be_bytes([*packet.get(ext)?, *packet.get(ext + 1)?]);
    let words = usize::from(u16::from_be_bytes([*packet.get(ext + 2)?, *packet.get(ext + 3)?]));
    let body = packet.get(ext + 4..ext + 4 + 4 * words)?;
    let one_byte = profile == 0xBEDE;
    if !one_byte && profile & 0xFFF0 != 0x1000 {
        return None;
    }
    let mut i = 0;
    while i < body.len() {
        let (id, len, head) = if one_byte {
            let b = body[i];
            if b == 0 {
                i += 1; // padding
                continue;
            }
            (b >> 4, usize::from(b & 0x0F) + 1, 1)
        } else {
            let id = body[i];
            if id == 0 {
                i += 1;
                continue;
            }
            (id, usize::from(*body.get(i + 1)?), 2)
        };
        if one_byte && id == 15 {
            break; // reserved: stop parsing (RFC 8285)
        }
        let data = body.get(i + head..i + head + len)?;
        if id == ext_id && len == 8 {
            let ntp = u64::from_be_bytes(data.try_into().ok()?);
            let secs = ntp >> 32;
            let frac_us = ((ntp & 0xFFFF_FFFF) * 1_000_000) >> 32;
            let us = secs * 1_000_000 + frac_us;
            return us.checked_sub(NTP_UNIX_OFFSET_S * 1_000_000).filter(|&u| u > 0);
        }
        i += head + len;
    }
    None
}

/// PTS -> capture time, filled by the depayloader probe, read at the appsink.
#[derive(Debug, Clone, Default)]
pub struct CaptureTimes {
    inner: Arc<Mutex<VecDeque<(u64, u64)>>>,
}

impl CaptureTimes {
    const KEEP: usize = 256;

    /// Remembers that the buffer with `pts_ns` was captured at `unix_usec`.
    pub fn insert(&self, pts_ns: u64, unix_usec: u64) {
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if q.back().is_some_and(|&(p, _)| p == pts_ns) {
            return;
        }
        if q.len() == Self::KEEP {
            q.pop_front();
        }
        q.push_back((pts_ns, unix_usec));
    }

    /// Capture time of the buffer with `pts_ns`, if the probe saw it.
    pub fn lookup(&self, pts_ns: u64) -> Option<u64> {
        let q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().rev().find(|&&(p, _)| p == pts_ns).map(|&(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_and_unix_reference_metas_are_read() {
        gst::init().unwrap();
        let unix_usec = 1_763_800_000_123_456u64;
        let mut buf = gst::Buffer::new();
        {
            let b = buf.get_mut().unwrap();
            assert_eq!(reference_unix_usec(b), None);
            let ntp_ns = (unix_usec + NTP_UNIX_OFFSET_S * 1_000_000) * 1000;
            gst::ReferenceTimestampMeta::add(
                b,
                &gst::Caps::new_empty_simple("timestamp/x-ntp"),
                gst::ClockTime::from_nseconds(ntp_ns),
                None,
            );
        }
        assert_eq!(reference_unix_usec(&buf), Some(unix_usec));
        let mut buf = gst::Buffer::new();
        gst::ReferenceTimestampMeta::add(
            buf.get_mut().unwrap(),
            &gst::Caps::new_empty_simple("timestamp/x-unix"),
            gst::ClockTime::from_useconds(unix_usec),
            None,
        );
        assert_eq!(reference_unix_usec(&buf), Some(unix_usec));
        // A zero NTP time means "sender had no time": not a 1900 capture time.
        let mut buf = gst::Buffer::new();
        gst::ReferenceTimestampMeta::add(
            buf.get_mut().unwrap(),
            &gst::Caps::new_empty_simple("timestamp/x-ntp"),
            gst::ClockTime::ZERO,
            None,
        );
        assert_eq!(reference_unix_usec(&buf), None);
    }

    #[test]
    fn ntp64_extension_is_read_from_rtp_packets() {
        // Captured from GStreamer's rtph264pay with rtphdrextntp64 (id 1, one-byte form):
        // RTP header, then BEDE 0003, element 0x17 (id 1, 8 bytes) = NTP 0xeccbf240.00000000.
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
        // Zero time (sender had none): no capture time.
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

    #[test]
    fn capture_times_remember_recent_pts() {
        let t = CaptureTimes::default();
        for i in 0..300u64 {
            t.insert(i * 33_000_000, 1_000 + i);
        }
        assert_eq!(t.lookup(299 * 33_000_000), Some(1_299));
        assert_eq!(t.lookup(100 * 33_000_000), Some(1_100));
        assert_eq!(t.lookup(10 * 33_000_000), None, "old entries are forgotten");
    }
}
