//! The impairment model of one direction: for each datagram (or serial chunk) arriving at time
//! `now` (since the proxy started; the caller's clock, so tests drive time by hand) it decides
//! whether the datagram is lost (i.i.d., Gilbert-Elliott burst, a timed cut, a full queue) and
//! otherwise when it is delivered, whether a second copy follows and whether it was held back so
//! that later ones overtake it. Pure: no sockets, no clock of its own.
//!
//! Every datagram draws the same number of random values whatever happens to it, so which
//! datagrams are lost, duplicated or reordered depends only on the seed and the datagram's
//! position in the stream, not on timing: a test can predict them exactly by running the model.

use std::time::Duration;

use super::rng::SplitMix64;
use super::spec::{Cut, DirectionConfig};

/// Why a datagram was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Independent random loss (`loss`).
    Loss,
    /// Gilbert-Elliott burst loss (`burst`).
    Burst,
    /// It arrived, or would have been delivered, inside a timed cut.
    Cut,
    /// The rate-limited queue was full.
    Queue,
}

/// What happens to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not delivered.
    Drop(DropReason),
    /// Delivered at `at` (time since the proxy started), maybe twice.
    Deliver {
        /// When to send it on.
        at: Duration,
        /// When to send the duplicate, if any.
        duplicate_at: Option<Duration>,
        /// It was held back so that later datagrams overtake it.
        reordered: bool,
    },
}

/// What one direction did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams (or chunks) that arrived.
    pub received: u64,
    /// Their bytes.
    pub received_bytes: u64,
    /// Lost to independent loss.
    pub lost_random: u64,
    /// Lost to burst loss.
    pub lost_burst: u64,
    /// Lost to timed cuts.
    pub lost_cut: u64,
    /// Lost because the rate-limited queue was full.
    pub lost_queue: u64,
    /// Datagrams sent twice.
    pub duplicated: u64,
    /// Datagrams held back and overtaken.
    pub reordered: u64,
}

impl Counters {
    /// All losses.
    pub fn lost(&self) -> u64 {
        self.lost_random + self.lost_burst + self.lost_cut + self.lost_queue
    }
}

/// One direction's impairment state.
#[derive(Debug, Clone)]
pub struct Impairment {
    config: DirectionConfig,
    cuts: Vec<Cut>,
    rng: SplitMix64,
    /// Gilbert-Elliott state.
    bad: bool,
    /// When the rate-limited link finishes sending what it has queued.
    link_free_at: Duration,
    /// Delivery time of the last datagram that was not reordered (order is kept among those).
    last_in_order_at: Duration,
    counters: Counters,
}

impl Impairment {
    /// A direction with `config`, the link's `cuts`, and random stream `stream` of `seed`.
    pub fn new(config: DirectionConfig, cuts: Vec<Cut>, seed: u64, stream: u64) -> Self {
        Impairment {
            config,
            cuts,
            rng: SplitMix64::new(seed, stream),
            bad: false,
            link_free_at: Duration::ZERO,
            last_in_order_at: Duration::ZERO,
            counters: Counters::default(),
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether `t` is inside one of the cuts.
    pub fn in_cut(&self, t: Duration) -> bool {
        self.cuts.iter().any(|c| c.contains(t))
    }

    /// Decides the fate of a datagram of `len` bytes arriving at `now`.
    pub fn decide(&mut self, now: Duration, len: usize) -> Verdict {
        let c = &self.config;
        // Fixed draws per datagram (see the module doc).
        let u_state = self.rng.unit();
        let u_burst = self.rng.unit();
        let u_loss = self.rng.unit();
        let u_dup = self.rng.unit();
        let u_reorder = self.rng.unit();
        let u_jitter = self.rng.unit();

        self.counters.received += 1;
        self.counters.received_bytes += len as u64;

        let mut burst_lost = false;
        if let Some(ge) = c.burst {
            self.bad = if self.bad {
                u_state >= ge.p_leave_bad
            } else {
                u_state < ge.p_enter_bad
            };
            let p = if self.bad { ge.loss_bad } else { ge.loss_good };
            burst_lost = u_burst < p;
        }
        if self.in_cut(now) {
            self.counters.lost_cut += 1;
            return Verdict::Drop(DropReason::Cut);
        }
        if burst_lost {
            self.counters.lost_burst += 1;
            return Verdict::Drop(DropReason::Burst);
        }
        if u_loss < c.loss {
            self.counters.lost_random += 1;
            return Verdict::Drop(DropReason::Loss);
        }

        // Serialisation behind what is already queued on a rate-limited link.
        let mut sent_at = now;
        if let Some(rate) = c.rate_bytes_per_s {
            let start = self.link_free_at.max(now);
            let queued_bytes = (start - now).as_secs_f64() * rate;
            if queued_bytes + len as f64 > c.queue_limit_bytes as f64 {
                self.counters.lost_queue += 1;
                return Verdict::Drop(DropReason::Queue);
            }
            self.link_free_at = start + Duration::from_secs_f64(len as f64 / rate);
            sent_at = self.link_free_at;
        }
        let jitter = c.jitter.mul_f64(u_jitter);
        let mut at = sent_at + c.delay + jitter;
        let reordered = u_reorder < c.reorder;
        if reordered {
            at += c.reorder_delay;
            self.counters.reordered += 1;
        } else {
            at = at.max(self.last_in_order_at);
            self.last_in_order_at = at;
        }
        if self.in_cut(at) {
            // Sent into an outage: lost like the datagrams that arrived in it.
            self.counters.lost_cut += 1;
            return Verdict::Drop(DropReason::Cut);
        }
        let duplicate_at = (u_dup < c.duplicate).then_some(at);
        if duplicate_at.is_some() {
            self.counters.duplicated += 1;
        }
        Verdict::Deliver {
            at,
            duplicate_at,
            reordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::spec::GilbertElliott;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn direction(spec: &str) -> DirectionConfig {
        let mut d = DirectionConfig::clean();
        d.apply_spec(spec).unwrap();
        d
    }

    #[test]
    fn clean_link_delivers_everything_at_once_in_order() {
        let mut m = Impairment::new(DirectionConfig::clean(), vec![], 7, 0);
        for i in 0..1000 {
            let v = m.decide(ms(i), 100);
            assert_eq!(
                v,
                Verdict::Deliver {
                    at: ms(i),
                    duplicate_at: None,
                    reordered: false
                }
            );
        }
        assert_eq!(m.counters().lost(), 0);
        assert_eq!(m.counters().received_bytes, 100_000);
    }

    #[test]
    fn iid_loss_rate_matches_and_depends_only_on_the_seed() {
        let n = 20_000;
        let run = |seed: u64, step: u64| -> Vec<bool> {
            let mut m = Impairment::new(direction("loss=0.3"), vec![], seed, 0);
            (0..n)
                .map(|i| matches!(m.decide(ms(i * step), 60), Verdict::Drop(_)))
                .collect()
        };
        let a = run(7, 1);
        let lost = a.iter().filter(|l| **l).count() as f64 / n as f64;
        assert!((lost - 0.3).abs() < 0.015, "loss {lost}");
        // Same seed, other timing: the same datagrams are lost.
        assert_eq!(a, run(7, 37));
        assert_ne!(a, run(8, 1));
    }

    #[test]
    fn burst_loss_comes_in_runs_of_the_configured_mean_length() {
        let ge: GilbertElliott = "0.05:0.25".parse().unwrap();
        let mut d = DirectionConfig::clean();
        d.burst = Some(ge);
        let mut m = Impairment::new(d, vec![], 3, 0);
        let lost: Vec<bool> = (0..100_000)
            .map(|i| matches!(m.decide(ms(i), 60), Verdict::Drop(DropReason::Burst)))
            .collect();
        let rate = lost.iter().filter(|l| **l).count() as f64 / lost.len() as f64;
        assert!(
            (rate - ge.mean_loss()).abs() < 0.02,
            "burst loss {rate} vs {}",
            ge.mean_loss()
        );
        let mut runs = vec![];
        let mut current = 0;
        for l in &lost {
            if *l {
                current += 1;
            } else if current > 0 {
                runs.push(current);
                current = 0;
            }
        }
        let mean_run = runs.iter().sum::<u32>() as f64 / runs.len() as f64;
        // Mean burst length 1 / p_leave_bad = 4 (i.i.d. loss at the same rate would give ~1.2).
        assert!((mean_run - 4.0).abs() < 0.3, "mean burst {mean_run}");
    }

    #[test]
    fn cuts_drop_what_arrives_or_would_be_delivered_inside_them() {
        let cuts = vec!["1s+500ms".parse().unwrap()];
        let mut m = Impairment::new(direction("delay=100ms"), cuts, 1, 0);
        assert!(matches!(m.decide(ms(800), 10), Verdict::Deliver { at, .. } if at == ms(900)));
        // Would arrive at 1.0 s: inside the cut.
        assert_eq!(m.decide(ms(900), 10), Verdict::Drop(DropReason::Cut));
        assert_eq!(m.decide(ms(1000), 10), Verdict::Drop(DropReason::Cut));
        assert_eq!(m.decide(ms(1499), 10), Verdict::Drop(DropReason::Cut));
        assert!(matches!(m.decide(ms(1500), 10), Verdict::Deliver { at, .. } if at == ms(1600)));
        assert_eq!(m.counters().lost_cut, 3);
    }

    #[test]
    fn duplicates_and_reordering_at_their_rates() {
        let mut m = Impairment::new(direction("dup=0.1,reorder=0.05,reorder-delay=30ms"), vec![], 11, 0);
        let n = 20_000u64;
        let mut dups = 0;
        let mut reorders = 0;
        for i in 0..n {
            match m.decide(ms(i * 10), 50) {
                Verdict::Deliver {
                    at,
                    duplicate_at,
                    reordered,
                } => {
                    if duplicate_at.is_some() {
                        dups += 1;
                    }
                    if reordered {
                        reorders += 1;
                        assert_eq!(at, ms(i * 10 + 30));
                    } else {
                        assert_eq!(at, ms(i * 10));
                    }
                }
                Verdict::Drop(r) => panic!("nothing is lost here, got {r:?}"),
            }
        }
        assert!((dups as f64 / n as f64 - 0.1).abs() < 0.01);
        assert!((reorders as f64 / n as f64 - 0.05).abs() < 0.008);
        assert_eq!(m.counters().duplicated, dups);
        assert_eq!(m.counters().reordered, reorders);
    }

    #[test]
    fn jitter_delays_but_keeps_order() {
        let mut m = Impairment::new(direction("delay=20ms,jitter=40ms"), vec![], 5, 0);
        let mut last = Duration::ZERO;
        let mut spread = vec![];
        for i in 0..2000u64 {
            let now = ms(i * 5);
            let Verdict::Deliver { at, .. } = m.decide(now, 50) else {
                panic!("no loss configured")
            };
            assert!(at >= now + ms(20));
            assert!(at >= last, "datagram {i} overtook its predecessor");
            last = at;
            spread.push(at - now);
        }
        let max = spread.iter().max().unwrap();
        assert!(*max > ms(55) && *max <= ms(60 + 40), "max one-way delay {max:?}");
    }

    #[test]
    fn rate_limit_paces_bytes_and_drops_on_a_full_queue() {
        // 57,600 baud: 5760 B/s; a 1 KiB queue.
        let mut m = Impairment::new(direction("rate=5760,queue=1024"), vec![], 1, 0);
        // 10 datagrams of 288 bytes at once: 50 ms each on the wire.
        let mut delivered = vec![];
        for _ in 0..10 {
            match m.decide(Duration::ZERO, 288) {
                Verdict::Deliver { at, .. } => delivered.push(at),
                Verdict::Drop(r) => assert_eq!(r, DropReason::Queue),
            }
        }
        assert_eq!(delivered.len(), 3, "1024 bytes of queue hold three 288-byte datagrams");
        for (i, at) in delivered.iter().enumerate() {
            let expect = Duration::from_secs_f64(288.0 * (i + 1) as f64 / 5760.0);
            assert!((at.as_secs_f64() - expect.as_secs_f64()).abs() < 1e-6);
        }
        assert_eq!(m.counters().lost_queue, 7);
        // Once the queue drained, datagrams pass again.
        assert!(matches!(m.decide(ms(1000), 288), Verdict::Deliver { .. }));
    }

    #[test]
    fn directions_are_independent_streams() {
        let run = |stream| -> Vec<bool> {
            let mut m = Impairment::new(direction("loss=0.5"), vec![], 7, stream);
            (0..200)
                .map(|i| matches!(m.decide(ms(i), 10), Verdict::Drop(_)))
                .collect()
        };
        assert_ne!(run(0), run(1));
    }
}
