//! The value signal: a key without a value carries the range its exporter
//! saw on its tensor (its scale and zero point represent
//! [s·(qmin − z), s·(qmax − z)]), and running the float model shows the
//! range each tensor takes. Random inputs are not the exporter's data, so
//! ranges are compared in ways that survive that:
//!
//! - the sign structure: a zero point at the bottom of the type's range
//!   (nothing below zero was seen) against a tensor that never goes
//!   negative (a ReLU's output, a sigmoid's), and the share of the range
//!   below zero (a Hardswish's small negative part);
//! - the width on a log scale, after the offset the nearest certain keys
//!   show between their ranges and their tensors' (inputs wider or
//!   narrower than the exporter's widen or narrow everything near them
//!   alike).
//!
//! An agreement is a number in [0, 1]: 1 when width and sign structure
//! agree, falling off as a Gaussian in the log of the width ratio and in
//! the below-zero share, and near 0 when the sign structure contradicts.

use crate::calibrate::Observed;
use crate::qparam::{Entry, QDType};

/// The log-width ratio, after the offset, at which agreement falls to
/// e^(−1/2): ranges from random inputs that match the exporter's within
/// about a third. Measured on the thirteen family fixtures: the right
/// tensor's ratio is within 0.25 of the offset for 90% of keys, a
/// neighbour's (a module's inner step, the next module) mostly beyond 0.7.
const WIDTH_SIGMA: f64 = 0.3;

/// The difference in below-zero share at which agreement falls to
/// e^(−1/2).
const SHARE_SIGMA: f64 = 0.06;

/// Quantization steps below zero from which a range certainly holds
/// negative values (rounding puts a zero point up to half a step off).
pub const NEGATIVE_STEPS: f64 = 2.0;

/// What a contradiction of the sign structure leaves of an agreement: a
/// ReLU's output is never a range that goes below zero.
const SIGN_CONFLICT: f64 = 0.02;

/// The range a key's parameters represent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyRange {
    pub lo: f64,
    pub hi: f64,
    /// Steps of the integer type (255 for 8 bits).
    pub steps: f64,
    /// Steps between the type's lowest value and the zero point.
    pub below_zero: f64,
    /// Symmetric (zero point 0 of a signed type): the sign structure says
    /// nothing.
    pub symmetric: bool,
}

impl KeyRange {
    /// The range of a key's per-tensor 8- or 16-bit parameters.
    pub fn of(entry: &Entry) -> Option<KeyRange> {
        let dtype = entry.dtype.as_ref()?.value;
        if !matches!(dtype, QDType::U8 | QDType::I8 | QDType::I16) {
            return None;
        }
        let ([s], [z]) = (entry.scales()?, entry.zero_points()?) else {
            return None;
        };
        let (qmin, qmax) = dtype.range();
        if !(s.is_finite() && *s > 0.0) || *z < qmin || *z > qmax {
            return None;
        }
        Some(KeyRange {
            lo: (qmin - z) as f64 * s,
            hi: (qmax - z) as f64 * s,
            steps: (qmax - qmin) as f64,
            below_zero: (z - qmin) as f64,
            symmetric: *z == 0 && qmin < 0,
        })
    }

    fn width(&self) -> f64 {
        self.hi - self.lo
    }

    fn share_below(&self) -> f64 {
        self.below_zero / self.steps
    }
}

/// How a key's range and a tensor's observed range agree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// In [0, 1].
    pub score: f64,
    /// The key's width over the tensor's, after the offset (1: equal).
    pub ratio: f64,
    /// The sign structure contradicts.
    pub sign_conflict: bool,
}

impl Agreement {
    /// How it reads in a reason.
    pub fn describe(&self) -> String {
        if self.sign_conflict {
            "the key's range and the tensor's values disagree on sign (one never goes below zero)"
                .into()
        } else {
            format!(
                "the key's range is {:.2}× the tensor's observed range (after the inputs' scale)",
                self.ratio
            )
        }
    }
}

/// Observed ranges of one subgraph's tensors, the keys' ranges, and the
/// offsets certain keys show.
pub struct Values {
    /// Per tensor: the observed extent, zero included.
    extents: Vec<Option<(f64, f64)>>,
    /// Per entry: its range, if a per-tensor activation range.
    keys: Vec<Option<KeyRange>>,
    /// (operator position, log-width ratio) of certain keys, by position.
    offsets: Vec<(f64, f64)>,
    pub samples: usize,
    pub random: bool,
}

impl Values {
    pub fn new(observed: &Observed, entries: &[Entry]) -> Values {
        let extents = (0..observed.ranges.len())
            .map(|t| {
                observed
                    .extent(t)
                    .map(|(lo, hi)| (f64::from(lo).min(0.0), f64::from(hi).max(0.0)))
            })
            .collect();
        Values {
            extents,
            keys: entries
                .iter()
                .map(|e| (!e.has_value_field).then(|| KeyRange::of(e)).flatten())
                .collect(),
            offsets: Vec::new(),
            samples: observed.samples,
            random: observed.random,
        }
    }

    /// Learns the offsets from keys whose tensors are certain: `(entry,
    /// tensor, position)` with the position of its producer (−1 for a graph
    /// input). A key holding a layer's output before the ReLU fused into it
    /// (its range goes below zero, the tensor never does) teaches by its
    /// maximum, which the ReLU keeps.
    pub fn learn_offsets(&mut self, certain: impl IntoIterator<Item = (usize, usize, f64)>) {
        let mut offsets: Vec<(f64, f64)> = certain
            .into_iter()
            .filter_map(|(entry, tensor, at)| {
                let key = (*self.keys.get(entry)?)?;
                let extent = (*self.extents.get(tensor)?)?;
                let raw = compare(&key, extent, 0.0)?;
                if !raw.sign_conflict {
                    return Some((at, raw.ratio.ln()));
                }
                let before_relu = extent.0 >= 0.0 && key.hi > 0.0 && extent.1 > 0.0;
                before_relu.then(|| (at, (key.hi / extent.1).ln()))
            })
            .collect();
        offsets.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.offsets = offsets;
    }

    /// The log-width offset at operator position `at`: interpolated
    /// between the certain keys on either side, the nearest one's beyond
    /// them, 0 without any.
    fn offset_at(&self, at: f64) -> f64 {
        let after = self.offsets.partition_point(|o| o.0 < at);
        match (
            after.checked_sub(1).map(|i| self.offsets[i]),
            self.offsets.get(after).copied(),
        ) {
            (Some((a, ra)), Some((b, rb))) if b > a => ra + (rb - ra) * (at - a) / (b - a),
            (Some((_, r)), _) | (None, Some((_, r))) => r,
            (None, None) => 0.0,
        }
    }

    /// How entry `entry`'s range agrees with tensor `tensor`'s, produced
    /// at operator position `at`; `None` when either is unknown.
    pub fn agreement(&self, entry: usize, tensor: usize, at: f64) -> Option<Agreement> {
        let key = (*self.keys.get(entry)?)?;
        let extent = (*self.extents.get(tensor)?)?;
        compare(&key, extent, self.offset_at(at))
    }

    /// The keys' ranges, per entry.
    pub fn ranges(&self) -> &[Option<KeyRange>] {
        &self.keys
    }
}

/// The agreement of `key` with an observed extent (zero included), the
/// widths compared after `offset` (a log ratio).
fn compare(key: &KeyRange, (lo, hi): (f64, f64), offset: f64) -> Option<Agreement> {
    let width = hi - lo;
    if !(width > 0.0 && width.is_finite()) {
        return None;
    }
    if key.symmetric {
        let ratio = (key.hi / lo.abs().max(hi)).ln() - offset;
        return Some(Agreement {
            score: gauss(ratio, WIDTH_SIGMA),
            ratio: ratio.exp(),
            sign_conflict: false,
        });
    }
    let log_ratio = (key.width() / width).ln() - offset;
    let tensor_below = -lo / width;
    let key_negative = key.below_zero >= NEGATIVE_STEPS;
    let key_never = key.below_zero < 0.5;
    let tensor_negative = tensor_below * key.steps >= NEGATIVE_STEPS;
    let tensor_never = lo >= 0.0;
    let sign_conflict = (key_negative && tensor_never) || (key_never && tensor_negative);
    let shape = if sign_conflict {
        SIGN_CONFLICT
    } else {
        gauss(key.share_below() - tensor_below, SHARE_SIGMA)
    };
    Some(Agreement {
        score: gauss(log_ratio, WIDTH_SIGMA) * shape,
        ratio: log_ratio.exp(),
        sign_conflict,
    })
}

fn gauss(x: f64, sigma: f64) -> f64 {
    (-0.5 * (x / sigma).powi(2)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(lo: f64, hi: f64) -> KeyRange {
        let s = (hi - lo) / 255.0;
        let z = (-lo / s).round();
        KeyRange {
            lo: -z * s,
            hi: (255.0 - z) * s,
            steps: 255.0,
            below_zero: z,
            symmetric: false,
        }
    }

    #[test]
    fn sign_structure_and_width_decide() {
        // A ReLU's range against a non-negative tensor of about its width.
        let relu = key(0.0, 4.0);
        assert!(compare(&relu, (0.0, 4.4), 0.0).unwrap().score > 0.8);
        // ... against one going below zero (the value before the ReLU).
        let before = compare(&relu, (-3.0, 4.0), 0.0).unwrap();
        assert!(before.sign_conflict && before.score < 0.05);
        // A Hardswish's small negative part against the ReLU6-clamped
        // step inside it, and against its own output.
        let hardswish = key(-0.375, 5.9);
        assert!(compare(&hardswish, (0.0, 6.0), 0.0).unwrap().sign_conflict);
        assert!(compare(&hardswish, (-0.375, 5.7), 0.0).unwrap().score > 0.8);
        // Six times as wide: the product before Hardswish's division.
        assert!(compare(&hardswish, (-2.25, 34.0), 0.0).unwrap().score < 0.01);
        // The inputs' scale is taken out by the offset.
        let wide = compare(&relu, (0.0, 9.0), (4.0f64 / 9.0).ln()).unwrap();
        assert!(wide.score > 0.95, "{wide:?}");
    }
}
