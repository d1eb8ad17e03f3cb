//! What the impairment proxy is told to do, as parsed from its command line: the impairments of
//! one direction (`loss=0.3,burst=0.05:0.3,dup=0.01,...`), timed cuts (`20s+5s`) and durations.
//! Parsing lives here, beside the types, so a typo is reported with the key and the value.

use std::time::Duration;

/// A value on the command line that does not parse; names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A duration such as `5s`, `250ms` or `1.5` (seconds).
    #[error("'{text}' is not a duration (examples: 5s, 250ms, 1.5)")]
    Duration {
        /// The text given.
        text: String,
    },
    /// A cut must be `START+LENGTH`.
    #[error("'{text}' is not a cut START+LENGTH (example: 20s+5s)")]
    Cut {
        /// The text given.
        text: String,
    },
    /// A probability outside 0..=1 or not a number.
    #[error("{key}={text}: not a probability between 0 and 1")]
    Probability {
        /// Which setting.
        key: String,
        /// The text given.
        text: String,
    },
    /// A positive number was expected.
    #[error("{key}={text}: not a positive number")]
    Number {
        /// Which setting.
        key: String,
        /// The text given.
        text: String,
    },
    /// Gilbert-Elliott parameters are `P_ENTER_BAD:P_LEAVE_BAD[:LOSS_BAD[:LOSS_GOOD]]`.
    #[error("burst={text}: expected P_ENTER_BAD:P_LEAVE_BAD[:LOSS_IN_BAD[:LOSS_IN_GOOD]], each 0..1, P_LEAVE_BAD > 0")]
    Burst {
        /// The text given.
        text: String,
    },
    /// A key of a direction spec that does not exist.
    #[error("unknown impairment '{key}' (known: loss, burst, dup, reorder, reorder-delay, delay, jitter, rate, queue)")]
    UnknownKey {
        /// The key given.
        key: String,
    },
    /// An item of a direction spec without `=`.
    #[error("'{text}' is not KEY=VALUE")]
    Item {
        /// The text given.
        text: String,
    },
}

/// Parses `5s`, `250ms`, `2m`, `1.5` (seconds).
pub fn parse_duration(text: &str) -> Result<Duration, SpecError> {
    let t = text.trim();
    let err = || SpecError::Duration { text: text.to_string() };
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| err())?;
    if !value.is_finite() || value < 0.0 {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// A timed outage of the link (both directions): nothing gets through from `start` (time since
/// the proxy started) for `length`, like a drone behind a building or a radio resetting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Time since the proxy started.
    pub start: Duration,
    /// How long nothing passes.
    pub length: Duration,
}

impl Cut {
    /// Whether `t` (since the proxy started) is inside the cut.
    pub fn contains(&self, t: Duration) -> bool {
        t >= self.start && t < self.start + self.length
    }
}

impl std::str::FromStr for Cut {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (start, length) = text
            .split_once('+')
            .ok_or_else(|| SpecError::Cut { text: text.to_string() })?;
        let start = parse_duration(start).map_err(|_| SpecError::Cut { text: text.to_string() })?;
        let length = parse_duration(length).map_err(|_| SpecError::Cut { text: text.to_string() })?;
        Ok(Cut { start, length })
    }
}

/// Gilbert-Elliott burst loss: a two-state Markov chain stepped once per datagram. In the bad
/// state datagrams are lost with `loss_bad` (typically 1), in the good one with `loss_good`
/// (typically 0). Mean burst length is `1 / p_leave_bad` datagrams; the long-run share of time in
/// the bad state is `p_enter_bad / (p_enter_bad + p_leave_bad)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability per datagram of going from good to bad.
    pub p_enter_bad: f64,
    /// Probability per datagram of going from bad to good.
    pub p_leave_bad: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
}

impl GilbertElliott {
    /// Long-run loss rate of the chain alone.
    pub fn mean_loss(&self) -> f64 {
        let pi_bad = self.p_enter_bad / (self.p_enter_bad + self.p_leave_bad);
        pi_bad * self.loss_bad + (1.0 - pi_bad) * self.loss_good
    }
}

impl std::str::FromStr for GilbertElliott {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || SpecError::Burst { text: text.to_string() };
        let parts: Vec<f64> = text
            .split(':')
            .map(|p| p.trim().parse::<f64>().map_err(|_| err()))
            .collect::<Result<_, _>>()?;
        if !(2..=4).contains(&parts.len()) || parts.iter().any(|p| !(0.0..=1.0).contains(p)) || parts[1] <= 0.0 {
            return Err(err());
        }
        Ok(GilbertElliott {
            p_enter_bad: parts[0],
            p_leave_bad: parts[1],
            loss_bad: parts.get(2).copied().unwrap_or(1.0),
            loss_good: parts.get(3).copied().unwrap_or(0.0),
        })
    }
}

/// The impairments of one direction of the link.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DirectionConfig {
    /// Independent loss probability per datagram (`loss`).
    pub loss: f64,
    /// Burst loss on top of `loss` (`burst=P_ENTER:P_LEAVE[:LOSS_BAD[:LOSS_GOOD]]`).
    pub burst: Option<GilbertElliott>,
    /// Probability that a delivered datagram is delivered twice (`dup`).
    pub duplicate: f64,
    /// Probability that a datagram is held back by `reorder_delay` so later ones overtake it
    /// (`reorder`).
    pub reorder: f64,
    /// How long a reordered datagram is held back (`reorder-delay`, default 50 ms when `reorder`
    /// is set without it).
    pub reorder_delay: Duration,
    /// Fixed one-way delay (`delay`).
    pub delay: Duration,
    /// Extra delay uniform in [0, jitter] (`jitter`); does not reorder by itself (order changes
    /// only through `reorder`, so the two can be measured apart).
    pub jitter: Duration,
    /// Link rate in bytes per second (`rate`; 57,600 baud 8N1 = 5760): datagrams queue behind each
    /// other like on a telemetry radio.
    pub rate_bytes_per_s: Option<f64>,
    /// With `rate`: bytes that may wait in the queue before new datagrams are dropped (`queue`,
    /// default 16384, about a SiK radio's buffer).
    pub queue_limit_bytes: usize,
}

/// Default reorder hold-back.
pub const DEFAULT_REORDER_DELAY: Duration = Duration::from_millis(50);
/// Default queue limit behind a rate-limited link.
pub const DEFAULT_QUEUE_LIMIT_BYTES: usize = 16 * 1024;

impl DirectionConfig {
    /// No impairment at all.
    pub fn clean() -> Self {
        DirectionConfig {
            reorder_delay: DEFAULT_REORDER_DELAY,
            queue_limit_bytes: DEFAULT_QUEUE_LIMIT_BYTES,
            ..Default::default()
        }
    }

    /// Sets one impairment from `key` and its text.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SpecError> {
        let probability = || -> Result<f64, SpecError> {
            match value.trim().parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(SpecError::Probability {
                    key: key.to_string(),
                    text: value.to_string(),
                }),
            }
        };
        match key.trim() {
            "loss" => self.loss = probability()?,
            "burst" => self.burst = Some(value.parse()?),
            "dup" | "duplicate" => self.duplicate = probability()?,
            "reorder" => self.reorder = probability()?,
            "reorder-delay" | "reorder_delay" => self.reorder_delay = parse_duration(value)?,
            "delay" => self.delay = parse_duration(value)?,
            "jitter" => self.jitter = parse_duration(value)?,
            "rate" => match value.trim().parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => self.rate_bytes_per_s = Some(r),
                _ => {
                    return Err(SpecError::Number {
                        key: key.to_string(),
                        text: value.to_string(),
                    });
                }
            },
            "queue" => {
                self.queue_limit_bytes = value.trim().parse().map_err(|_| SpecError::Number {
                    key: key.to_string(),
                    text: value.to_string(),
                })?
            }
            other => return Err(SpecError::UnknownKey { key: other.to_string() }),
        }
        Ok(())
    }

    /// Applies a spec `loss=0.3,delay=20ms,...` on top of this configuration.
    pub fn apply_spec(&mut self, spec: &str) -> Result<(), SpecError> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| SpecError::Item { text: item.to_string() })?;
            self.set(key, value)?;
        }
        Ok(())
    }
}

/// Everything the proxy does to both directions.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpairConfig {
    /// Seed of both directions' random streams.
    pub seed: u64,
    /// From the listening (drone) side to the forward (ground) side.
    pub forward: DirectionConfig,
    /// From the forward (ground) side back to the drone.
    pub back: DirectionConfig,
    /// Outages of both directions.
    pub cuts: Vec<Cut>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_and_without_units() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(matches!(parse_duration("-1s"), Err(SpecError::Duration { .. })));
        assert!(matches!(parse_duration("fast"), Err(SpecError::Duration { .. })));
    }

    #[test]
    fn cuts_parse_and_contain() {
        let cut: Cut = "20s+5s".parse().unwrap();
        assert_eq!(
            cut,
            Cut {
                start: Duration::from_secs(20),
                length: Duration::from_secs(5)
            }
        );
        assert!(!cut.contains(Duration::from_millis(19_999)));
        assert!(cut.contains(Duration::from_secs(20)));
        assert!(cut.contains(Duration::from_millis(24_999)));
        assert!(!cut.contains(Duration::from_secs(25)));
        assert!(matches!("20s".parse::<Cut>(), Err(SpecError::Cut { .. })));
        assert!(matches!("20s+x".parse::<Cut>(), Err(SpecError::Cut { .. })));
    }

    #[test]
    fn burst_parameters_and_their_mean_loss() {
        let ge: GilbertElliott = "0.1:0.4".parse().unwrap();
        assert_eq!(ge.loss_bad, 1.0);
        assert_eq!(ge.loss_good, 0.0);
        assert!((ge.mean_loss() - 0.2).abs() < 1e-12);
        let ge: GilbertElliott = "0.1:0.4:0.5:0.01".parse().unwrap();
        assert_eq!((ge.loss_bad, ge.loss_good), (0.5, 0.01));
        assert!("0.1".parse::<GilbertElliott>().is_err());
        assert!("0.1:0".parse::<GilbertElliott>().is_err());
        assert!("0.1:1.5".parse::<GilbertElliott>().is_err());
    }

    #[test]
    fn direction_spec_sets_each_key_and_names_bad_ones() {
        let mut d = DirectionConfig::clean();
        d.apply_spec("loss=0.3, dup=0.01,reorder=0.02,reorder-delay=80ms,delay=20ms,jitter=5ms,rate=5760,queue=4096")
            .unwrap();
        assert_eq!(d.loss, 0.3);
        assert_eq!(d.duplicate, 0.01);
        assert_eq!(d.reorder, 0.02);
        assert_eq!(d.reorder_delay, Duration::from_millis(80));
        assert_eq!(d.delay, Duration::from_millis(20));
        assert_eq!(d.jitter, Duration::from_millis(5));
        assert_eq!(d.rate_bytes_per_s, Some(5760.0));
        assert_eq!(d.queue_limit_bytes, 4096);
        assert_eq!(
            d.apply_spec("loss=1.3").unwrap_err().to_string(),
            "loss=1.3: not a probability between 0 and 1"
        );
        assert!(matches!(d.apply_spec("lose=0.3"), Err(SpecError::UnknownKey { key }) if key == "lose"));
        assert!(matches!(d.apply_spec("loss"), Err(SpecError::Item { .. })));
        assert!(matches!(d.apply_spec("rate=0"), Err(SpecError::Number { .. })));
    }
}
