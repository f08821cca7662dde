//! Key by key, what differs between two sides: a key on one side only, the
//! type, the axis, the scales (their largest ratio over the channels), the
//! zero points (their largest shift) and the data (how many elements, and
//! the largest change in quantization steps, that is in stored units).
//! Scales are compared as float32, as a model stores them.

use serde::Serialize;

use super::side::{Side, SideEntry, Values};
use crate::qparam::QDType;

/// Elements compared per read: the data is streamed, never held whole.
const CHUNK: usize = 1 << 16;

/// What a key's difference is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OnlyInA,
    OnlyInB,
    Dtype,
    QuantizedDimension,
    Scale,
    ZeroPoint,
    Values,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::OnlyInA,
        Kind::OnlyInB,
        Kind::Dtype,
        Kind::QuantizedDimension,
        Kind::Scale,
        Kind::ZeroPoint,
        Kind::Values,
    ];

    /// The name the JSON contract and `--stat` use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::OnlyInA => "only_in_a",
            Kind::OnlyInB => "only_in_b",
            Kind::Dtype => "dtype",
            Kind::QuantizedDimension => "quantized_dimension",
            Kind::Scale => "scale",
            Kind::ZeroPoint => "zero_point",
            Kind::Values => "values",
        }
    }
}

/// When two scales count as equal.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tolerance {
    /// Relative: `|a - b| <= rtol * max(|a|, |b|)`; 0 is exact.
    pub rtol: f64,
}

impl Tolerance {
    fn same(self, a: f32, b: f32) -> bool {
        let (a, b) = (f64::from(a), f64::from(b));
        a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= self.rtol * a.abs().max(b.abs())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pair<T> {
    pub a: T,
    pub b: T,
}

/// How the scales differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleChange {
    pub channels: Pair<usize>,
    /// The largest `max(a/b, b/a)` over the channels; `None` when the
    /// channel counts differ or a scale is not positive and finite.
    pub max_ratio: Option<f64>,
    /// The channel where it is.
    pub channel: Option<usize>,
}

/// How the zero points differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZeroPointChange {
    pub channels: Pair<usize>,
    /// The largest `|a - b|` over the channels (`None`: counts differ).
    pub max_shift: Option<u64>,
    pub channel: Option<usize>,
}

/// How the data differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValuesChange {
    /// Each side's shape; `None` for a side without data.
    pub shape: Pair<Option<Vec<usize>>>,
    /// Compared elements, changed ones and the largest change in steps
    /// (stored units), when both sides have data of one shape.
    pub elements: Option<u64>,
    pub changed: Option<u64>,
    pub max_steps: Option<f64>,
    /// The first element (in C order) with the largest change.
    pub at: Option<u64>,
}

/// One key that differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    pub key: String,
    pub kinds: Vec<Kind>,
    pub dtype: Option<Pair<&'static str>>,
    pub quantized_dimension: Option<Pair<Option<u32>>>,
    pub scale: Option<ScaleChange>,
    pub zero_point: Option<ZeroPointChange>,
    pub values: Option<ValuesChange>,
}

/// Every difference, worst first, and how many keys are the same.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub differences: Vec<Difference>,
    pub same: usize,
}

/// Compares two sides key by key.
pub fn compare(a: &Side, b: &Side, tolerance: Tolerance) -> std::io::Result<Comparison> {
    let mut out = Comparison::default();
    let only = |e: &SideEntry, kind| Difference {
        key: e.key.clone(),
        kinds: vec![kind],
        dtype: None,
        quantized_dimension: None,
        scale: None,
        zero_point: None,
        values: None,
    };
    let in_b: std::collections::HashMap<&str, &SideEntry> =
        b.entries.iter().map(|e| (e.key.as_str(), e)).collect();
    for ea in &a.entries {
        match in_b.get(ea.key.as_str()) {
            None => out.differences.push(only(ea, Kind::OnlyInA)),
            Some(eb) => match entry(a, ea, b, eb, tolerance)? {
                Some(d) => out.differences.push(d),
                None => out.same += 1,
            },
        }
    }
    let in_a: std::collections::HashSet<&str> = a.entries.iter().map(|e| e.key.as_str()).collect();
    for eb in b.entries.iter().filter(|e| !in_a.contains(e.key.as_str())) {
        out.differences.push(only(eb, Kind::OnlyInB));
    }
    out.differences.sort_by(|x, y| {
        let (rx, mx) = severity(x);
        let (ry, my) = severity(y);
        rx.cmp(&ry)
            .then(my.total_cmp(&mx))
            .then_with(|| x.key.cmp(&y.key))
    });
    Ok(out)
}

/// How bad a difference is: its worst kind, then its size (larger first).
fn severity(d: &Difference) -> (Kind, f64) {
    let worst = d.kinds.iter().copied().min().unwrap_or(Kind::Values);
    let size = match worst {
        Kind::Scale => d
            .scale
            .as_ref()
            .map_or(f64::INFINITY, |s| s.max_ratio.unwrap_or(f64::INFINITY)),
        Kind::ZeroPoint => d.zero_point.as_ref().map_or(f64::INFINITY, |z| {
            z.max_shift.map_or(f64::INFINITY, |s| s as f64)
        }),
        Kind::Values => d
            .values
            .as_ref()
            .map_or(f64::INFINITY, |v| v.max_steps.unwrap_or(f64::INFINITY)),
        _ => 0.0,
    };
    (worst, size)
}

fn entry(
    sa: &Side,
    a: &SideEntry,
    sb: &Side,
    b: &SideEntry,
    tolerance: Tolerance,
) -> std::io::Result<Option<Difference>> {
    let mut d = Difference {
        key: a.key.clone(),
        kinds: Vec::new(),
        dtype: None,
        quantized_dimension: None,
        scale: None,
        zero_point: None,
        values: None,
    };
    if a.dtype != b.dtype {
        d.kinds.push(Kind::Dtype);
        d.dtype = Some(Pair {
            a: QDType::name(a.dtype),
            b: QDType::name(b.dtype),
        });
    }
    if a.quantized_dimension != b.quantized_dimension {
        d.kinds.push(Kind::QuantizedDimension);
        d.quantized_dimension = Some(Pair {
            a: a.quantized_dimension,
            b: b.quantized_dimension,
        });
    }
    if let Some(s) = scales(&a.scale, &b.scale, tolerance) {
        d.kinds.push(Kind::Scale);
        d.scale = Some(s);
    }
    if let Some(z) = zero_points(&a.zero_point, &b.zero_point) {
        d.kinds.push(Kind::ZeroPoint);
        d.zero_point = Some(z);
    }
    if let Some(v) = values(sa, a.value.as_ref(), sb, b.value.as_ref())? {
        d.kinds.push(Kind::Values);
        d.values = Some(v);
    }
    Ok((!d.kinds.is_empty()).then_some(d))
}

fn scales(a: &[f32], b: &[f32], tolerance: Tolerance) -> Option<ScaleChange> {
    let channels = Pair {
        a: a.len(),
        b: b.len(),
    };
    if a.len() != b.len() {
        return Some(ScaleChange {
            channels,
            max_ratio: None,
            channel: None,
        });
    }
    let differ = a.iter().zip(b).any(|(&x, &y)| !tolerance.same(x, y));
    if !differ {
        return None;
    }
    let mut worst: Option<(f64, usize)> = None;
    let mut defined = true;
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let (x, y) = (f64::from(x), f64::from(y));
        if !(x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()) {
            if x != y {
                defined = false;
            }
            continue;
        }
        let ratio = (x / y).max(y / x);
        if worst.is_none_or(|(r, _)| ratio > r) {
            worst = Some((ratio, i));
        }
    }
    Some(ScaleChange {
        channels,
        max_ratio: worst.filter(|_| defined).map(|w| w.0),
        channel: worst.filter(|_| defined).map(|w| w.1),
    })
}

fn zero_points(a: &[i64], b: &[i64]) -> Option<ZeroPointChange> {
    let channels = Pair {
        a: a.len(),
        b: b.len(),
    };
    if a.len() != b.len() {
        return Some(ZeroPointChange {
            channels,
            max_shift: None,
            channel: None,
        });
    }
    let (shift, channel) = a
        .iter()
        .zip(b)
        .enumerate()
        .map(|(i, (&x, &y))| (x.abs_diff(y), i))
        .max_by_key(|&(s, i)| (s, std::cmp::Reverse(i)))?;
    (shift > 0).then_some(ZeroPointChange {
        channels,
        max_shift: Some(shift),
        channel: Some(channel),
    })
}

fn values(
    sa: &Side,
    a: Option<&Values>,
    sb: &Side,
    b: Option<&Values>,
) -> std::io::Result<Option<ValuesChange>> {
    let shape = Pair {
        a: a.map(|v| v.shape.clone()),
        b: b.map(|v| v.shape.clone()),
    };
    let (a, b) = match (a, b) {
        (None, None) => return Ok(None),
        (Some(a), Some(b)) if a.shape == b.shape => (a, b),
        _ => {
            return Ok(Some(ValuesChange {
                shape,
                elements: None,
                changed: None,
                max_steps: None,
                at: None,
            }))
        }
    };
    let n = a.element_count();
    let (mut changed, mut max_steps, mut at) = (0u64, 0f64, 0u64);
    let (mut xa, mut xb) = (vec![0f64; CHUNK.min(n)], vec![0f64; CHUNK.min(n)]);
    let (mut scratch_a, mut scratch_b) = (Vec::new(), Vec::new());
    let mut first = 0;
    while first < n {
        let len = CHUNK.min(n - first);
        sa.read_values(a, first, &mut xa[..len], &mut scratch_a)?;
        sb.read_values(b, first, &mut xb[..len], &mut scratch_b)?;
        for (i, (x, y)) in xa[..len].iter().zip(&xb[..len]).enumerate() {
            if x == y || (x.is_nan() && y.is_nan()) {
                continue;
            }
            changed += 1;
            let steps = (x - y).abs();
            if steps > max_steps || steps.is_nan() && !max_steps.is_nan() {
                max_steps = steps;
                at = (first + i) as u64;
            }
        }
        first += len;
    }
    Ok((changed > 0).then_some(ValuesChange {
        shape,
        elements: Some(n as u64),
        changed: Some(changed),
        max_steps: Some(max_steps).filter(|s| s.is_finite()),
        at: Some(at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_scale_ratio_counts_either_way() {
        let s = scales(&[1.0, 4.0], &[2.0, 1.0], Tolerance::default()).unwrap();
        assert_eq!((s.max_ratio, s.channel), (Some(4.0), Some(1)));
        assert!(scales(&[1.0], &[1.0], Tolerance::default()).is_none());
        assert!(scales(&[1.0], &[1.0001], Tolerance { rtol: 1e-3 }).is_none());
        assert!(scales(&[1.0], &[1.01], Tolerance { rtol: 1e-3 }).is_some());
        let counts = scales(&[1.0], &[1.0, 1.0], Tolerance::default()).unwrap();
        assert_eq!(counts.max_ratio, None);
    }

    #[test]
    fn zero_points_shift_by_their_largest_difference() {
        let z = zero_points(&[0, 128, 3], &[0, 120, 10]).unwrap();
        assert_eq!((z.max_shift, z.channel), (Some(8), Some(1)));
        assert!(zero_points(&[5], &[5]).is_none());
        assert!(zero_points(&[i64::MIN], &[i64::MAX]).is_some());
    }
}
