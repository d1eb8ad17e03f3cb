//! Playback clock of a replay: position on the recording's time axis, play/pause and speed
//! (0.25x to 16x). Advanced by wall-clock steps; pure, so it is tested without Bevy.

/// Slowest playback speed.
pub const MIN_SPEED: f64 = 0.25;
/// Fastest playback speed.
pub const MAX_SPEED: f64 = 16.0;
/// The speeds offered in the UI.
pub const SPEEDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// Where playback is and how fast it moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaybackClock {
    start_usec: u64,
    end_usec: u64,
    position_usec: u64,
    /// Sub-microsecond remainder of wall steps, so slow speeds do not lose time.
    frac_usec: f64,
    playing: bool,
    speed: f64,
}

impl PlaybackClock {
    /// A paused clock at `start_usec` over `[start_usec, end_usec]`, speed 1x.
    pub fn new(start_usec: u64, end_usec: u64) -> Self {
        Self {
            start_usec,
            end_usec: end_usec.max(start_usec),
            position_usec: start_usec,
            frac_usec: 0.0,
            playing: false,
            speed: 1.0,
        }
    }

    /// Current position, µs since the Unix epoch.
    pub fn position_usec(&self) -> u64 {
        self.position_usec
    }

    /// Start and end of the recording.
    pub fn range_usec(&self) -> (u64, u64) {
        (self.start_usec, self.end_usec)
    }

    /// Whether the clock runs.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Playback speed (multiple of real time).
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Starts playing (from the start again when at the end).
    pub fn play(&mut self) {
        if self.position_usec >= self.end_usec {
            self.position_usec = self.start_usec;
        }
        self.playing = true;
    }

    /// Pauses.
    pub fn pause(&mut self) {
        self.playing = false;
    }

    /// Play <-> pause.
    pub fn toggle(&mut self) {
        if self.playing { self.pause() } else { self.play() }
    }

    /// Sets the speed, clamped to [`MIN_SPEED`]..=[`MAX_SPEED`] (NaN gives 1x).
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = if speed.is_nan() {
            1.0
        } else {
            speed.clamp(MIN_SPEED, MAX_SPEED)
        };
    }

    /// Jumps to `time_usec` (clamped to the recording).
    pub fn seek(&mut self, time_usec: u64) {
        self.position_usec = time_usec.clamp(self.start_usec, self.end_usec);
        self.frac_usec = 0.0;
    }

    /// Advances by `wall_s` seconds of wall-clock time at the current speed when playing;
    /// stops at the end. Returns the new position.
    pub fn advance(&mut self, wall_s: f64) -> u64 {
        if self.playing && wall_s > 0.0 {
            let step = wall_s * self.speed * 1e6 + self.frac_usec;
            let whole = step.floor();
            self.frac_usec = step - whole;
            self.position_usec = self.position_usec.saturating_add(whole as u64).min(self.end_usec);
            if self.position_usec >= self.end_usec {
                self.playing = false;
            }
        }
        self.position_usec
    }

    /// Position as a fraction 0..=1 of the recording.
    pub fn fraction(&self) -> f64 {
        let span = (self.end_usec - self.start_usec) as f64;
        if span <= 0.0 {
            1.0
        } else {
            (self.position_usec - self.start_usec) as f64 / span
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_clamped_and_time_scales_with_it() {
        let mut c = PlaybackClock::new(1_000_000, 101_000_000);
        c.set_speed(100.0);
        assert_eq!(c.speed(), MAX_SPEED);
        c.set_speed(0.01);
        assert_eq!(c.speed(), MIN_SPEED);
        // Paused: no movement.
        assert_eq!(c.advance(1.0), 1_000_000);
        c.play();
        // 0.25x for 4 s of wall time in 1/60 s steps = 1 s of recording, no rounding loss.
        for _ in 0..240 {
            c.advance(1.0 / 60.0);
        }
        assert!(
            (c.position_usec() as i64 - 2_000_000).abs() <= 1,
            "{}",
            c.position_usec()
        );
        c.set_speed(16.0);
        c.advance(2.0);
        assert!((c.position_usec() as i64 - 34_000_000).abs() <= 1);
    }

    #[test]
    fn stops_at_the_end_and_restarts_from_the_start() {
        let mut c = PlaybackClock::new(0, 10_000_000);
        c.play();
        c.set_speed(8.0);
        assert_eq!(c.advance(5.0), 10_000_000);
        assert!(!c.is_playing());
        assert_eq!(c.fraction(), 1.0);
        c.play();
        assert_eq!(c.position_usec(), 0);
        c.seek(99_000_000);
        assert_eq!(c.position_usec(), 10_000_000);
    }
}
