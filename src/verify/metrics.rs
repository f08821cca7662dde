//! What quantization costs a tensor, measured by comparing its values in
//! the float run (the reference) with its values in the quantized run
//! (dequantized), accumulated over samples:
//!
//! - SQNR: 10·log10(Σ f² / Σ (f − q)²), in dB; undefined (null) when the
//!   two runs agree exactly, or when the reference is all zeros.
//! - largest error in steps: max |f − q| / s, s the tensor's scale (its
//!   channel's, per channel); only for a tensor with parameters.
//! - clipped: the share of reference values outside [s·(qmin − z),
//!   s·(qmax − z)], the range the parameters represent.
//! - MPEIR, as ONE's `visq` defines it: per sample, max |f − q| divided by
//!   the reference's interval max(f) − min(f) (1 when that is 0), then the
//!   mean over samples.
//! - For graph outputs: MAE, largest absolute error, PSNR (10·log10 of the
//!   reference's squared peak-to-peak range over the mean squared error)
//!   and, for a [batch, classes] output, top-1 and top-5 agreement.
//!
//! Values that are not finite in either run are counted and left out of
//! the sums (a NaN would make every figure NaN).

use crate::interpret::Params;

/// Accumulates one tensor's comparison over samples.
#[derive(Clone, Debug, Default)]
pub struct TensorError {
    signal: f64,
    noise: f64,
    count: u64,
    clipped: u64,
    max_steps: f64,
    max_abs: f64,
    abs_sum: f64,
    mpeir_sum: f64,
    samples: u64,
    /// Elements left out because a run gave a value that is not finite.
    pub not_finite: u64,
    /// The reference's smallest and largest values, over every sample.
    lo: f64,
    hi: f64,
}

impl TensorError {
    /// Adds one sample: `reference` and `quantized` hold the same tensor's
    /// values (same length, row-major `shape`).
    pub fn add(
        &mut self,
        reference: &[f32],
        quantized: &[f32],
        shape: &[usize],
        grid: Option<&Params>,
    ) {
        if self.samples == 0 {
            (self.lo, self.hi) = (f64::INFINITY, f64::NEG_INFINITY);
        }
        let (mut lo, mut hi, mut peak) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for (i, (&f, &q)) in reference.iter().zip(quantized).enumerate() {
            let (f, q) = (f64::from(f), f64::from(q));
            if !f.is_finite() || !q.is_finite() {
                self.not_finite += 1;
                continue;
            }
            let e = (f - q).abs();
            self.signal += f * f;
            self.noise += e * e;
            self.abs_sum += e;
            self.max_abs = self.max_abs.max(e);
            self.count += 1;
            (lo, hi, peak) = (lo.min(f), hi.max(f), peak.max(e));
            if let Some(g) = grid {
                let (s, min, max) = g.represented(g.channel_of(shape, i));
                if s > 0.0 {
                    self.max_steps = self.max_steps.max(e / s);
                }
                if f < min || f > max {
                    self.clipped += 1;
                }
            }
        }
        if lo <= hi {
            let interval = if hi > lo { hi - lo } else { 1.0 };
            self.mpeir_sum += peak / interval;
            self.lo = self.lo.min(lo);
            self.hi = self.hi.max(hi);
        }
        self.samples += 1;
    }

    /// SQNR in dB; `None` when undefined (no error at all, or no signal).
    pub fn sqnr_db(&self) -> Option<f64> {
        (self.noise > 0.0 && self.signal > 0.0).then(|| 10.0 * (self.signal / self.noise).log10())
    }

    pub fn max_error_steps(&self, has_grid: bool) -> Option<f64> {
        has_grid.then_some(self.max_steps)
    }

    /// The share of reference values outside the represented range.
    pub fn clipped(&self, has_grid: bool) -> Option<f64> {
        (has_grid && self.count > 0).then(|| self.clipped as f64 / self.count as f64)
    }

    pub fn mpeir(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.mpeir_sum / self.samples as f64)
    }

    pub fn mae(&self) -> Option<f64> {
        (self.count > 0).then(|| self.abs_sum / self.count as f64)
    }

    pub fn max_abs_error(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max_abs)
    }

    /// PSNR in dB against the reference's peak-to-peak range; `None` when
    /// there is no error or no range.
    pub fn psnr_db(&self) -> Option<f64> {
        let range = self.hi - self.lo;
        let mse = self.noise / self.count.max(1) as f64;
        (self.count > 0 && mse > 0.0 && range > 0.0).then(|| 10.0 * (range * range / mse).log10())
    }
}

/// Agreement of a [batch, classes] output's rankings.
#[derive(Clone, Debug, Default)]
pub struct TopK {
    rows: u64,
    top1: u64,
    top5: u64,
}

/// How many classes top-5 agreement looks at.
const TOP: usize = 5;

impl TopK {
    /// Adds one sample of a [batch, classes] output.
    pub fn add(&mut self, reference: &[f32], quantized: &[f32], classes: usize) {
        if classes == 0 {
            return;
        }
        for (f, q) in reference
            .chunks_exact(classes)
            .zip(quantized.chunks_exact(classes))
        {
            let best = argmax(f);
            let ranked = ranking(q);
            self.rows += 1;
            self.top1 += u64::from(ranked.first() == Some(&best));
            self.top5 += u64::from(ranked.iter().take(TOP).any(|&c| c == best));
        }
    }

    /// The share of rows whose best class is the same in both runs.
    pub fn top1(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.top1 as f64 / self.rows as f64)
    }

    /// The share of rows whose best class in the float run is among the
    /// quantized run's best five.
    pub fn top5(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.top5 as f64 / self.rows as f64)
    }
}

fn argmax(v: &[f32]) -> usize {
    ranking(v).first().copied().unwrap_or(0)
}

/// Class indices, best first (NaN last; ties by index).
fn ranking(v: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| {
        let key = |x: f32| if x.is_nan() { f32::NEG_INFINITY } else { x };
        key(v[b]).total_cmp(&key(v[a])).then(a.cmp(&b))
    });
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint8(scale: f32, zero_point: i64) -> Params {
        Params {
            scale: vec![scale],
            zero_point: vec![zero_point],
            axis: 0,
            qmin: 0,
            qmax: 255,
        }
    }

    #[test]
    fn sqnr_steps_and_clipping_by_hand() {
        let mut e = TensorError::default();
        // Range [-1.28, 1.27] at 0.01 a step.
        let g = uint8(0.01, 128);
        e.add(
            &[1.0, -1.0, 2.0, 0.0],
            &[1.01, -1.0, 1.27, 0.0],
            &[4],
            Some(&g),
        );
        let signal = 1.0 + 1.0 + 4.0;
        let noise = 0.01f64.powi(2) + 0.73f64.powi(2);
        let sqnr = e.sqnr_db().unwrap();
        assert!(
            (sqnr - 10.0 * (signal / noise).log10()).abs() < 1e-3,
            "{sqnr}"
        );
        assert!((e.max_error_steps(true).unwrap() - 73.0).abs() < 1e-3);
        assert_eq!(e.clipped(true), Some(0.25));
        // MPEIR: 0.73 over the interval [-1, 2].
        assert!((e.mpeir().unwrap() - 0.73 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn exact_and_empty_tensors_have_no_sqnr() {
        let mut e = TensorError::default();
        e.add(&[1.0, 2.0], &[1.0, 2.0], &[2], None);
        assert_eq!(e.sqnr_db(), None);
        assert_eq!(e.max_error_steps(false), None);
        let mut z = TensorError::default();
        z.add(&[0.0, 0.0], &[0.1, 0.0], &[2], None);
        assert_eq!(z.sqnr_db(), None);
        // A constant reference: the interval is taken as 1.
        assert!((z.mpeir().unwrap() - 0.1).abs() < 1e-6);
    }

    #[test]
    fn per_channel_steps_use_each_channels_scale() {
        let g = Params {
            scale: vec![0.1, 1.0],
            zero_point: vec![0, 0],
            axis: 1,
            qmin: -128,
            qmax: 127,
        };
        let mut e = TensorError::default();
        // Shape [2, 2]: elements 0 and 2 are channel 0.
        e.add(
            &[0.0, 0.0, 0.0, 0.0],
            &[0.0, 0.5, 0.2, 0.0],
            &[2, 2],
            Some(&g),
        );
        assert!((e.max_error_steps(true).unwrap() - 2.0).abs() < 1e-6);
    }

    #[test]
    fn not_finite_values_are_counted_and_left_out() {
        let mut e = TensorError::default();
        e.add(&[1.0, f32::NAN], &[1.5, 0.0], &[2], None);
        assert_eq!(e.not_finite, 1);
        assert!(e.sqnr_db().unwrap().is_finite());
    }

    #[test]
    fn top_k_agreement() {
        let mut t = TopK::default();
        // Two rows of 6 classes: the first agrees, the second has the
        // float run's best class third in the quantized run.
        let f = [0., 1., 5., 2., 0., 0., 9., 1., 0., 0., 0., 0.];
        let q = [0., 1., 4., 2., 0., 0., 1., 3., 0., 2., 0., 0.];
        t.add(&f, &q, 6);
        assert_eq!(t.top1(), Some(0.5));
        assert_eq!(t.top5(), Some(1.0));
    }
}
