//! Per-sample ranges reduced to one range per tensor, as ONE's
//! record-minmax reduces them: by percentile (its default), plain min/max,
//! or a moving average over batches of samples.

/// How per-sample ranges become one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// The smallest minimum and the largest maximum.
    MinMax,
    /// The `lo`th percentile of the minima and the `hi`th of the maxima
    /// (in percent), linearly interpolated between samples.
    Percentile { lo: f64, hi: f64 },
    /// Batches of `batch` samples in order, each giving its smallest
    /// minimum and largest maximum; each batch's value weighs `1 − alpha`
    /// against the average so far.
    MovingAverage { batch: usize, alpha: f64 },
}

/// record-minmax's default percentiles: the extreme percent of samples
/// on either side is treated as outliers.
pub const PERCENTILE: Method = Method::Percentile { lo: 1.0, hi: 99.0 };

/// record-minmax's moving average: batches of 16, the running value kept
/// at 0.1 against each new batch's.
pub const MOVING_AVERAGE: Method = Method::MovingAverage {
    batch: 16,
    alpha: 0.1,
};

impl Default for Method {
    fn default() -> Self {
        PERCENTILE
    }
}

impl Method {
    /// The range of `per_sample` (min, max) pairs, widened to include 0
    /// (a zero must be exact in any quantized range); `None` when empty.
    pub fn range(self, per_sample: &[(f32, f32)]) -> Option<(f64, f64)> {
        if per_sample.is_empty() {
            return None;
        }
        let mins: Vec<f64> = per_sample.iter().map(|r| f64::from(r.0)).collect();
        let maxs: Vec<f64> = per_sample.iter().map(|r| f64::from(r.1)).collect();
        let (lo, hi) = match self {
            Method::MinMax => (
                mins.iter().copied().fold(f64::INFINITY, f64::min),
                maxs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            Method::Percentile { lo, hi } => (percentile(mins, lo), percentile(maxs, hi)),
            Method::MovingAverage { batch, alpha } => (
                moving_average(&mins, batch, alpha, f64::min),
                moving_average(&maxs, batch, alpha, f64::max),
            ),
        };
        Some((lo.min(0.0), hi.max(0.0)))
    }

    /// How the method is named in reports.
    pub fn describe(self) -> String {
        match self {
            Method::MinMax => "min/max".into(),
            Method::Percentile { lo, hi } => format!("percentiles {lo}/{hi}"),
            Method::MovingAverage { batch, alpha } => {
                format!("moving average (batches of {batch}, {alpha})")
            }
        }
    }
}

/// The `p`th percentile of `values` (0 to 100), interpolated linearly
/// between the two nearest ranks.
fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let last = values.len() - 1;
    let position = (last as f64 * p.clamp(0.0, 100.0) / 100.0).max(0.0);
    let below = (position.floor() as usize).min(last);
    let above = (below + 1).min(last);
    let fraction = position - below as f64;
    values[below] + fraction * (values[above] - values[below])
}

/// The moving average of `values` over consecutive batches, each batch
/// reduced by `pick` (min or max).
fn moving_average(values: &[f64], batch: usize, alpha: f64, pick: fn(f64, f64) -> f64) -> f64 {
    let mut batches = values
        .chunks(batch.max(1))
        .map(|c| c.iter().copied().reduce(pick).unwrap_or(0.0));
    let first = batches.next().unwrap_or(0.0);
    batches.fold(first, |avg, b| avg * alpha + b * (1.0 - alpha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(percentile(v.clone(), 50.0), 5.0);
        assert!((percentile(v.clone(), 1.0) - 0.1).abs() < 1e-12);
        assert!((percentile(v, 99.0) - 9.9).abs() < 1e-12);
        assert_eq!(percentile(vec![3.0], 1.0), 3.0);
    }

    #[test]
    fn ranges_include_zero_and_each_method_reduces_its_way() {
        let samples: Vec<(f32, f32)> = (1..=20).map(|i| (i as f32, 10.0 * i as f32)).collect();
        assert_eq!(Method::MinMax.range(&samples), Some((0.0, 200.0)));
        let (lo, hi) = PERCENTILE.range(&samples).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - (190.0 + 0.81 * 10.0)).abs() < 1e-9, "{hi}");
        // Batches 1..=16 and 17..=20: the max is 160 then 200, averaged
        // 0.1 : 0.9.
        let (_, hi) = MOVING_AVERAGE.range(&samples).unwrap();
        assert!((hi - (160.0 * 0.1 + 200.0 * 0.9)).abs() < 1e-9, "{hi}");
        let negative = [(-3.0f32, -1.0f32), (-2.0, -0.5)];
        assert_eq!(Method::MinMax.range(&negative), Some((-3.0, 0.0)));
        assert_eq!(Method::MinMax.range(&[]), None);
    }
}
