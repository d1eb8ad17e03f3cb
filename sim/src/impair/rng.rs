//! The impairment proxy's random numbers: SplitMix64, written out here so that a seed gives the
//! same losses on every machine and every future build. `rand`'s `StdRng` promises no such thing
//! across versions, and a fault-injection run is only worth something if it can be repeated
//! exactly (a failing end-to-end run names its seed; the same seed must fail the same way).

/// SplitMix64 (Steele, Lea, Flood 2014; the generator Java's `SplittableRandom` and the
/// xoshiro authors' seeding use). Not for secrets.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for `seed`; `stream` picks an independent sequence for the same seed (one per
    /// direction of the proxy, so the loss pattern of one direction does not depend on how much
    /// traffic the other carried).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut mixer = SplitMix64 {
            state: seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
        };
        // One step mixes seed and stream so that neighbouring seeds start far apart.
        let state = mixer.next_u64();
        SplitMix64 { state }
    }

    /// A generator whose state is exactly `state` (for the published test vector).
    pub fn from_state(state: u64) -> Self {
        SplitMix64 { state }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_sequence() {
        // Reference outputs of splitmix64.c (Vigna) from state 0.
        let mut rng = SplitMix64::from_state(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn same_seed_same_sequence_streams_differ() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = SplitMix64::new(7, 0);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = SplitMix64::new(7, 0);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..8)
            .map({
                let mut r = SplitMix64::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn unit_is_in_range_and_roughly_uniform() {
        let mut rng = SplitMix64::new(1, 0);
        let n = 100_000;
        let mut below_half = 0;
        for _ in 0..n {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            if u < 0.5 {
                below_half += 1;
            }
        }
        let frac = below_half as f64 / n as f64;
        assert!((frac - 0.5).abs() < 0.01, "fraction below 0.5 = {frac}");
    }
}
