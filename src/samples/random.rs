//! Random samples, the same for the same seed on every machine and every
//! version: a generator of our own (xoshiro256**, seeded through
//! splitmix64) rather than a library's, whose streams may change.

/// A seeded pseudo-random generator.
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            state: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal value (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit(); // (0, 1]: the logarithm stays finite
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Uniform over the integers lo..=hi.
    pub fn integer(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next_u64() as u128 % span) as i128) as i64
    }
}

/// What a random sample of an input is drawn from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Uniform over [lo, hi] (the range a quantized input represents).
    Uniform { lo: f32, hi: f32 },
    /// The standard normal, for a float input with no known range.
    Normal,
    /// Uniform integers over lo..=hi (indices into a table, say).
    Integers { lo: i64, hi: i64 },
}

impl Distribution {
    /// `n` values drawn from it, as floats.
    pub fn floats(self, rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| match self {
                Distribution::Uniform { lo, hi } => lo + (hi - lo) * rng.unit() as f32,
                Distribution::Normal => rng.normal() as f32,
                Distribution::Integers { lo, hi } => rng.integer(lo, hi) as f32,
            })
            .collect()
    }

    /// `n` values drawn from it, as integers (a uniform range is rounded).
    pub fn integers(self, rng: &mut Rng, n: usize) -> Vec<i64> {
        (0..n)
            .map(|_| match self {
                Distribution::Integers { lo, hi } => rng.integer(lo, hi),
                other => other.floats(rng, 1)[0].round() as i64,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::new(7);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(a[0], Rng::new(8).next_u64());
    }

    #[test]
    fn draws_stay_in_range_and_look_like_their_distribution() {
        let mut r = Rng::new(1);
        let u = Distribution::Uniform { lo: -2.0, hi: 3.0 }.floats(&mut r, 10_000);
        assert!(u.iter().all(|&x| (-2.0..=3.0).contains(&x)));
        let n = Distribution::Normal.floats(&mut r, 20_000);
        let mean = n.iter().map(|&x| x as f64).sum::<f64>() / n.len() as f64;
        let var = n.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n.len() as f64;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
        let i = Distribution::Integers { lo: 0, hi: 9 }.integers(&mut r, 1000);
        assert!(i.iter().all(|&x| (0..=9).contains(&x)));
        assert!((0..=9).all(|v| i.contains(&v)));
    }
}
