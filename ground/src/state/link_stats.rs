//! Link quality from MAVLink sequence numbers: each (system, component) numbers its packets
//! 0..=255; a jump means packets were lost on the way.

/// Counters for one (system id, component id) stream.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LinkStats {
    /// Packets received.
    pub received: u64,
    /// Packets missing according to sequence gaps.
    pub lost: u64,
    /// Sequence number of the last packet.
    pub last_seq: Option<u8>,
    /// Source time of the last packet, seconds.
    pub last_rx_s: f64,
    /// Source time of the first packet, seconds.
    pub first_rx_s: f64,
    /// Packets that were not verified as signed (standard autopilot telemetry is allowed to be
    /// unsigned; the health panel marks such a link).
    pub unsigned: u64,
}

impl LinkStats {
    /// Records one packet with `seq` arriving at `time_s`.
    pub fn record(&mut self, seq: u8, time_s: f64) {
        if let Some(last) = self.last_seq {
            let gap = seq.wrapping_sub(last).wrapping_sub(1);
            // A gap of 255 is a duplicate or reordering, not 255 lost packets.
            if gap < 128 {
                self.lost += gap as u64;
            }
        } else {
            self.first_rx_s = time_s;
        }
        self.last_seq = Some(seq);
        self.received += 1;
        self.last_rx_s = time_s;
    }

    /// Share of packets that arrived, 0..1 (1 before any loss).
    pub fn quality(&self) -> f64 {
        let total = self.received + self.lost;
        if total == 0 {
            1.0
        } else {
            self.received as f64 / total as f64
        }
    }

    /// Seconds since the last packet at `now_s`.
    pub fn silence_s(&self, now_s: f64) -> f64 {
        (now_s - self.last_rx_s).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_as_lost_across_wraparound() {
        let mut s = LinkStats::default();
        for seq in [250u8, 251, 253, 254, 255, 0, 3] {
            s.record(seq, 1.0);
        }
        // Missing: 252, 1, 2.
        assert_eq!(s.lost, 3);
        assert_eq!(s.received, 7);
        assert!((s.quality() - 0.7).abs() < 1e-9);
    }

    #[test]
    fn duplicates_are_not_losses() {
        let mut s = LinkStats::default();
        s.record(5, 0.0);
        s.record(5, 0.1);
        assert_eq!(s.lost, 0);
    }
}
