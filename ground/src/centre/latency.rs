//! Delivery-latency histogram of a centre: how long an event took from its station's signature
//! (`time_usec`) to the centre's verification, kept in constant memory for a centre that runs
//! for weeks (log-spaced buckets, 2 % wide: the percentiles are within 2 % of the exact ones).

use serde::Serialize;

/// Relative width of a bucket.
const STEP: f64 = 1.02;
/// Buckets: 1 µs .. about 1,000 s (ln(1e9) / ln(1.02) = 1047).
const BUCKETS: usize = 1048;

/// Latencies in µs, bucketed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    /// Events whose station clock was ahead of the centre's (negative latency): counted apart,
    /// since a percentile over them would be meaningless; a sign of unsynchronised clocks.
    ahead: u64,
    max_usec: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            ahead: 0,
            max_usec: 0,
        }
    }
}

fn bucket_of(usec: u64) -> usize {
    if usec <= 1 {
        return 0;
    }
    (((usec as f64).ln() / STEP.ln()).ceil() as usize).min(BUCKETS - 1)
}

/// Upper bound of a bucket, µs.
fn bucket_upper_usec(b: usize) -> f64 {
    STEP.powi(b as i32)
}

/// Percentiles as a centre reports them, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Events measured.
    pub count: u64,
    /// Events whose station clock was ahead of the centre's.
    pub clock_ahead: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
}

impl LatencyHistogram {
    /// Records one event: signed at `sent_usec`, verified at `received_usec` (both UTC µs).
    pub fn record(&mut self, sent_usec: u64, received_usec: u64) {
        let Some(lat) = received_usec.checked_sub(sent_usec) else {
            self.ahead += 1;
            return;
        };
        self.counts[bucket_of(lat)] += 1;
        self.total += 1;
        self.max_usec = self.max_usec.max(lat);
    }

    /// The `q`-quantile (0..=1) in µs: the upper bound of the bucket it falls in, never above
    /// the largest latency seen. `None` when nothing was recorded.
    pub fn quantile_usec(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_upper_usec(b).min(self.max_usec as f64));
            }
        }
        Some(self.max_usec as f64)
    }

    /// Count and percentiles.
    pub fn summary(&self) -> LatencySummary {
        let ms = |q| self.quantile_usec(q).unwrap_or(0.0) / 1000.0;
        LatencySummary {
            count: self.total,
            clock_ahead: self.ahead,
            p50_ms: ms(0.5),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
            max_ms: self.max_usec as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_two_percent_of_the_exact_ones() {
        let mut h = LatencyHistogram::default();
        // 1..=10_000 ms in µs: p50 = 5000 ms, p95 = 9500 ms exactly.
        for ms in 1..=10_000u64 {
            h.record(1_000_000_000, 1_000_000_000 + ms * 1000);
        }
        let s = h.summary();
        assert_eq!(s.count, 10_000);
        for (got, want) in [(s.p50_ms, 5000.0), (s.p95_ms, 9500.0), (s.p99_ms, 9900.0)] {
            assert!((got - want).abs() / want <= 0.02, "got {got} want {want}");
            assert!(got >= want, "a bucket's upper bound never understates: {got} < {want}");
        }
        assert_eq!(s.max_ms, 10_000.0);
    }

    #[test]
    fn a_station_clock_ahead_is_counted_apart_and_empty_is_zero() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.quantile_usec(0.5), None);
        assert_eq!(h.summary().p95_ms, 0.0);
        h.record(2_000, 1_000);
        h.record(1_000, 1_000);
        h.record(1_000, 1_250);
        let s = h.summary();
        assert_eq!((s.count, s.clock_ahead), (2, 1));
        assert!(s.max_ms == 0.25 && s.p95_ms <= 0.25, "{s:?}");
        // Huge latencies land in the last bucket, not out of bounds.
        h.record(0, u64::MAX);
        assert_eq!(h.summary().count, 3);
    }
}
