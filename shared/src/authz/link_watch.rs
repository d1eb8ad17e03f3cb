//! The link-loss stop (LAW.md 2.4): identification stops by itself when the ground station is
//! no longer heard, so nobody identifies faces while the people who oversee the use (and who
//! alone can stop it) cannot see or reach the drone.
//!
//! "Heard" means a frame that passed the link-signature check with the drone's own key:
//! commands, alert acks and the ground's 1 Hz signed HEARTBEAT. Anything unsigned or signed
//! with another key does not count, so nobody in radio range can keep identification running.
//!
//! The time a frame vouches for is its *signing* time (clamped to the drone's clock), not its
//! arrival: a frame held back by someone in range and delivered late (or a recording replayed)
//! proves only that the ground was there when it signed it. Frames need no replay window here:
//! a replayed frame carries its old signing time and so keeps nothing alive. The price is that
//! the two clocks must agree to within a few seconds (GPS or NTP time on both, as the signing
//! spec already expects); a ground clock far behind shows as a lost link (the safe side).
//!
//! Pure logic: time comes in as arguments (Unix µs); the gate feeds it and asks it.

use std::ops::RangeInclusive;

/// Accepted values of `gate.link_loss_stop_s`, seconds: below 2 s one lost heartbeat (sent at
/// 1 Hz) would stop identification; above a minute the rule means little.
pub const LINK_LOSS_STOP_S_RANGE: RangeInclusive<u64> = 2..=60;

/// The default of `gate.link_loss_stop_s`, seconds.
pub const DEFAULT_LINK_LOSS_STOP_S: u64 = 10;

/// The link changed between heard and lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkTransition {
    /// Nothing valid for the stop time: identification stops.
    Lost {
        /// Signing time (clamped) of the last valid frame, Unix µs.
        last_heard_usec: u64,
    },
    /// A valid frame again after a loss (or for the first time since start).
    Restored {
        /// When the link was lost (or the watch started), Unix µs.
        lost_since_usec: u64,
    },
}

/// Whether the ground has been heard recently enough for identification to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkWatch {
    stop_after_usec: u64,
    last_heard_usec: Option<u64>,
    /// The state last reported by [`LinkWatch::update`]: starts lost (never heard).
    reported_alive: bool,
    /// A valid frame arrived since the last [`LinkWatch::update`] (so a loss is reported even
    /// if the link came and went between two updates).
    heard_since_update: bool,
    lost_since_usec: u64,
    losses: u32,
}

impl LinkWatch {
    /// A watch that says "lost" `stop_after_usec` after the last valid frame, started at
    /// `now_usec` with nothing heard yet (so lost until the first valid frame).
    pub fn new(stop_after_usec: u64, now_usec: u64) -> Self {
        Self {
            stop_after_usec,
            last_heard_usec: None,
            reported_alive: false,
            heard_since_update: false,
            lost_since_usec: now_usec,
            losses: 0,
        }
    }

    /// A frame that passed the signature check, signed at `signed_at_usec` (Unix µs), seen at
    /// `now_usec`. A signing time ahead of our clock counts as now.
    pub fn heard(&mut self, signed_at_usec: u64, now_usec: u64) {
        let t = signed_at_usec.min(now_usec);
        self.last_heard_usec = Some(self.last_heard_usec.map_or(t, |l| l.max(t)));
        // Only a frame that makes the link alive at the time it is seen can end in a loss.
        self.heard_since_update |= self.alive(now_usec);
    }

    /// Whether identification may run at `now_usec` as far as the link goes.
    pub fn alive(&self, now_usec: u64) -> bool {
        self.last_heard_usec
            .is_some_and(|t| now_usec < t.saturating_add(self.stop_after_usec))
    }

    /// Reports a change since the last call (call it at least once a second).
    pub fn update(&mut self, now_usec: u64) -> Option<LinkTransition> {
        let alive = self.alive(now_usec);
        let heard = std::mem::take(&mut self.heard_since_update);
        // Heard and lost again between two updates: still a loss to report.
        let came_and_went = heard && !alive;
        if alive == self.reported_alive && !came_and_went {
            return None;
        }
        self.reported_alive = alive;
        if alive {
            Some(LinkTransition::Restored {
                lost_since_usec: self.lost_since_usec,
            })
        } else {
            let last = self.last_heard_usec.unwrap_or(0);
            self.lost_since_usec = last.saturating_add(self.stop_after_usec).min(now_usec.max(last));
            self.losses = self.losses.saturating_add(1);
            Some(LinkTransition::Lost { last_heard_usec: last })
        }
    }

    /// Microseconds since the last valid frame (`None`: none since start).
    pub fn silent_usec(&self, now_usec: u64) -> Option<u64> {
        self.last_heard_usec.map(|t| now_usec.saturating_sub(t))
    }

    /// How many times the link was lost (after having been heard) since start.
    pub fn losses(&self) -> u32 {
        self.losses
    }

    /// The stop time, µs.
    pub fn stop_after_usec(&self) -> u64 {
        self.stop_after_usec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_780_272_000_000_000;
    const S: u64 = 1_000_000;

    #[test]
    fn lost_at_the_stop_time_after_the_last_valid_frame_not_before() {
        let mut w = LinkWatch::new(10 * S, T0);
        assert!(!w.alive(T0), "nothing heard yet");
        assert_eq!(w.update(T0), None, "starts lost, no transition");
        w.heard(T0 + S, T0 + S);
        assert!(w.alive(T0 + S));
        assert_eq!(w.update(T0 + S), Some(LinkTransition::Restored { lost_since_usec: T0 }));
        assert!(w.alive(T0 + 11 * S - 1));
        assert_eq!(w.update(T0 + 11 * S - 1), None);
        assert!(!w.alive(T0 + 11 * S));
        assert_eq!(
            w.update(T0 + 11 * S),
            Some(LinkTransition::Lost {
                last_heard_usec: T0 + S
            })
        );
        assert_eq!(w.losses(), 1);
        w.heard(T0 + 20 * S, T0 + 20 * S);
        assert_eq!(
            w.update(T0 + 20 * S),
            Some(LinkTransition::Restored {
                lost_since_usec: T0 + 11 * S
            })
        );
    }

    #[test]
    fn a_loss_is_reported_even_when_no_update_saw_the_link_alive() {
        let mut w = LinkWatch::new(10 * S, T0);
        w.heard(T0, T0);
        assert_eq!(
            w.update(T0 + 20 * S),
            Some(LinkTransition::Lost { last_heard_usec: T0 })
        );
        assert_eq!(w.update(T0 + 21 * S), None);
        // A frame too old to count changes nothing.
        w.heard(T0 + S, T0 + 22 * S);
        assert_eq!(w.update(T0 + 22 * S), None);
        assert_eq!(w.losses(), 1);
    }

    #[test]
    fn a_frame_counts_from_when_it_was_signed_not_when_it_arrived() {
        let mut w = LinkWatch::new(10 * S, T0);
        // Signed at T0, held back and delivered 30 s later: proves nothing about now.
        w.heard(T0, T0 + 30 * S);
        assert!(!w.alive(T0 + 30 * S));
        // A signing time ahead of our clock counts as now, not as the future.
        w.heard(T0 + 3_600 * S, T0 + 31 * S);
        assert!(w.alive(T0 + 40 * S));
        assert!(!w.alive(T0 + 41 * S));
        // An older frame never moves the last-heard time back.
        w.heard(T0 + 20 * S, T0 + 36 * S);
        assert_eq!(w.silent_usec(T0 + 41 * S), Some(10 * S));
    }

    #[test]
    fn the_bound_is_sane() {
        assert!(LINK_LOSS_STOP_S_RANGE.contains(&DEFAULT_LINK_LOSS_STOP_S));
        assert!(!LINK_LOSS_STOP_S_RANGE.contains(&1));
        assert!(!LINK_LOSS_STOP_S_RANGE.contains(&61));
    }
}
