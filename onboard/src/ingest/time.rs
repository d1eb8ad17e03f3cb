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
//! itself ([`ntp64_unix_usec_from_rtp`], from `utkik_media`, where the senders live); all packets of a frame share the PTS the jitter buffer
//! gave them, which the decoded frame keeps.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use gstreamer as gst;

pub use utkik_media::{NTP_UNIX_OFFSET_S, NTP64_EXT_ID, ntp64_unix_usec_from_rtp};

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
