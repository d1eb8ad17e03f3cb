//! Link byte budget: a token bucket refilled at the radio's payload rate, charged with the real
//! size of every MAVLink frame sent. 57,600 baud with 8N1 framing moves 5,760 bytes/s; the
//! default budget keeps a margin below that for the autopilot's own traffic.

/// Token bucket over bytes, driven by an explicit clock.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_bytes_per_s: f64,
    burst_bytes: f64,
    tokens: f64,
    last_usec: Option<u64>,
    used_window: Vec<(u64, usize)>,
}

impl TokenBucket {
    /// A full bucket of `burst_bytes`, refilled at `rate_bytes_per_s`.
    pub fn new(rate_bytes_per_s: f64, burst_bytes: f64) -> Self {
        Self {
            rate_bytes_per_s,
            burst_bytes,
            tokens: burst_bytes,
            last_usec: None,
            used_window: Vec::new(),
        }
    }

    /// Bytes per second (`baud / 10` for 8N1 serial) times `share`.
    pub fn from_baud(baud: u32, share: f64) -> Self {
        let rate = f64::from(baud) / 10.0 * share;
        Self::new(rate, (rate * 0.25).max(300.0))
    }

    /// Refill rate.
    pub fn rate_bytes_per_s(&self) -> f64 {
        self.rate_bytes_per_s
    }

    fn refill(&mut self, now_usec: u64) {
        if let Some(last) = self.last_usec {
            let dt = now_usec.saturating_sub(last) as f64 * 1e-6;
            self.tokens = (self.tokens + dt * self.rate_bytes_per_s).min(self.burst_bytes);
        }
        self.last_usec = Some(self.last_usec.map_or(now_usec, |l| l.max(now_usec)));
    }

    /// Takes `bytes` if available now.
    pub fn try_take(&mut self, bytes: usize, now_usec: u64) -> bool {
        self.refill(now_usec);
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            self.used_window.push((now_usec, bytes));
            true
        } else {
            false
        }
    }

    /// Share of the budget used over the last second, 0..1 (can exceed 1 briefly by the burst).
    pub fn used_last_second(&mut self, now_usec: u64) -> f64 {
        self.used_window.retain(|&(t, _)| t + 1_000_000 > now_usec);
        let used: usize = self.used_window.iter().map(|&(_, b)| b).sum();
        used as f64 / self.rate_bytes_per_s.max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_rate_times_time_plus_burst() {
        let mut b = TokenBucket::from_baud(57_600, 1.0);
        assert_eq!(b.rate_bytes_per_s(), 5_760.0);
        let mut sent = 0usize;
        let mut t = 0u64;
        while t <= 10_000_000 {
            while b.try_take(60, t) {
                sent += 60;
            }
            t += 7_000;
        }
        let limit = 5_760.0 * 10.0 + 5_760.0 * 0.25;
        assert!(sent as f64 <= limit, "{sent}");
        assert!(sent as f64 >= 5_760.0 * 10.0 - 60.0, "budget is used, {sent}");
        assert!(b.used_last_second(t) <= 1.01);
    }

    #[test]
    fn time_going_backwards_does_not_mint_tokens() {
        let mut b = TokenBucket::new(100.0, 100.0);
        assert!(b.try_take(100, 1_000_000));
        assert!(!b.try_take(1, 500_000));
        assert!(!b.try_take(50, 1_000_000));
        assert!(b.try_take(50, 1_500_000));
    }
}
