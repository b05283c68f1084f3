//! A small deterministic random generator (splitmix64), so that sample points are
//! reproducible from a seed without any extra dependency.

/// splitmix64: tiny, fast, and good enough for choosing test points.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// A generator for one labelled stream, e.g. one (n, point, attempt) triple.
    pub fn for_stream(seed: u64, labels: &[u64]) -> SplitMix64 {
        let mut state = seed;
        for &label in labels {
            state = SplitMix64::new(state ^ label.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64();
        }
        SplitMix64::new(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `lo..=hi` (`lo` when the range is empty).
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
        let offset = u128::from(self.next_u64()) % span;
        (i128::from(lo) + offset as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_ranges_respected() {
        let mut a = SplitMix64::for_stream(7, &[1, 2]);
        let mut b = SplitMix64::for_stream(7, &[1, 2]);
        let mut c = SplitMix64::for_stream(7, &[2, 1]);
        let xs: Vec<i64> = (0..50).map(|_| a.int_in(-3, 3)).collect();
        let ys: Vec<i64> = (0..50).map(|_| b.int_in(-3, 3)).collect();
        let zs: Vec<i64> = (0..50).map(|_| c.int_in(-3, 3)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!(xs.iter().all(|x| (-3..=3).contains(x)));
        assert!((-3..=3).all(|v| xs.contains(&v)), "every value in range is drawn: {xs:?}");
        assert_eq!(a.int_in(5, 5), 5);
        // The widest range must not overflow.
        let _ = a.int_in(i64::MIN, i64::MAX);
    }
}
