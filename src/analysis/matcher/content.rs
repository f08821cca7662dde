//! Content: whether an entry's `value`, dequantized with its scales and
//! zero points, is a tensor's float data.
//!
//! Matching is in two steps so that keys × candidates never multiplies
//! whole-tensor work: a fingerprint (the same fixed sample of positions of
//! every tensor of a shape, read once per tensor and compared with the
//! value's elements at the positions a layout maps them to) rules out
//! nearly every wrong candidate after an element or two; the full
//! comparison, streamed in bounded memory, confirms the candidates left.

use std::collections::HashMap;
use std::io;

use super::layout::{IndexMap, LayoutChange};
use crate::graph::{Graph, Tensor, TensorId};
use crate::model::fb::TensorType;
use crate::qparam::{Entry, NpyArray};

/// Half a step is what rounding to the nearest quantized value costs; the
/// slack absorbs the exporter's own float arithmetic on small values.
const STEP_SLACK: f64 = 0.02;

/// An exporter computing `round(x / scale)` in float32 is off by up to a
/// few units in the last place of `x / scale`: four float32 ulps, relative.
/// (int32 biases rounded in float32 were seen 0.512 steps off.)
const RELATIVE_SLACK: f64 = 4.0 * f32::EPSILON as f64 / 2.0;

/// Positions a fingerprint samples.
const SAMPLES: usize = 64;

/// Arrays up to this size are read whole rather than element by element.
const READ_WHOLE: u64 = 256 * 1024;

/// Elements compared per piece when streaming.
const PIECE: usize = 1 << 16;

/// A permuted full comparison reads the value whole; above this size it
/// confirms with a larger sample instead, to keep memory bounded.
const PERMUTED_WHOLE_LIMIT: u64 = 64 << 20;

/// Positions sampled when a full comparison is out of reach.
const LARGE_SAMPLES: usize = 1 << 16;

/// The result of a comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Steps {
    /// The largest difference found, in quantization steps.
    pub max: f64,
    /// Whether every compared element was within rounding's tolerance.
    pub within: bool,
    /// Whether every compared element was within a step (what an exporter
    /// that truncates instead of rounding gives).
    pub near: bool,
}

impl Steps {
    /// The state before any element is compared: nothing disagrees yet.
    fn none_compared() -> Self {
        Steps {
            max: 0.0,
            within: true,
            near: true,
        }
    }

    pub fn within_tolerance(&self) -> bool {
        self.within
    }

    fn fold(&mut self, real: f64, scale: f64, t: f64) {
        let (steps, within, near) = compare(real, scale, t);
        self.max = self.max.max(steps);
        self.within &= within;
        self.near &= near;
    }

    /// [`Steps::fold`] over a run of quantized values `q` with one scale
    /// and zero point against float data `t`.
    fn fold_run(&mut self, q: &[f64], t: &[f64], scale: f64, zero: f64) {
        let inv = 1.0 / scale;
        let (mut max, mut over_half, mut over_one) = (0f64, 0f64, 0f64);
        for (&q, &t) in q.iter().zip(t) {
            let steps = ((q - zero) * scale - t).abs() * inv;
            let slack = STEP_SLACK + (t * inv).abs() * RELATIVE_SLACK;
            max = max.max(steps);
            // How far past each tolerance the worst element goes.
            over_half = over_half.max(steps - (0.5 + slack));
            over_one = over_one.max(steps - (1.0 + slack));
        }
        self.max = self.max.max(max);
        self.within &= over_half <= 0.0;
        self.near &= over_one <= 0.0;
    }
}

/// How an entry's value is read as real numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Quantized numbers: `(v − zero point) · scale`, per channel where the
    /// entry is. Integer arrays are read only so; a float array may be too
    /// (an exporter that re-encodes a bias as `b / s + zp` and saves it
    /// unrounded).
    Dequantized,
    /// A float array taken as the real values themselves (never quantized).
    AsIs,
}

/// An entry's value with what it takes to dequantize it.
pub struct Quantized<'e> {
    pub npy: &'e NpyArray,
    scales: &'e [f64],
    zero_points: Vec<i64>,
    /// The value's axis the scales run along (per-channel), and its stride
    /// and size there.
    channel: Option<(usize, usize)>,
    /// For block-wise parameters, the values per block: element `i` has
    /// scale `i / block` (blocks run along the last axis, row-major).
    block: Option<usize>,
    reading: Reading,
}

impl<'e> Quantized<'e> {
    /// `None` when the entry's value cannot be compared (no usable scales,
    /// a per-channel count that does not fit, an unreadable type).
    pub fn of(entry: &'e Entry) -> Option<Quantized<'e>> {
        let npy = &entry.value.as_ref()?.value;
        let header = &npy.header;
        if header.fortran_order || header.dtype.size().is_none() {
            return None;
        }
        let scales = entry.scales()?;
        if scales.is_empty() || scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return None;
        }
        let zero_points = entry
            .zero_points()
            .map_or_else(|| vec![0; scales.len()], <[i64]>::to_vec);
        if zero_points.len() != scales.len() {
            return None;
        }
        let block = entry.blocks();
        if let Some(b) = block {
            let count = header.element_count()?;
            if b == 0 || !count.is_multiple_of(b) || count / b != scales.len() {
                return None;
            }
        }
        let channel = if scales.len() > 1 && block.is_none() {
            let axis = entry
                .quantized_dimension
                .as_ref()
                .map_or(0, |q| q.value as usize);
            let dim = *header.shape.get(axis)?;
            if dim != scales.len() {
                return None;
            }
            let stride: usize = header.shape[axis + 1..].iter().product();
            Some((stride, dim))
        } else {
            None
        };
        Some(Quantized {
            npy,
            scales,
            zero_points,
            channel,
            block,
            reading: if header.dtype.is_float() {
                Reading::AsIs
            } else {
                Reading::Dequantized
            },
        })
    }

    /// Every way the entry's value may be read, the likelier first: an
    /// integer array as quantized numbers; a float array as real values,
    /// then as quantized numbers stored unrounded.
    pub fn readings(entry: &'e Entry) -> Vec<Quantized<'e>> {
        let Some(first) = Quantized::of(entry) else {
            return Vec::new();
        };
        match first.reading {
            Reading::Dequantized => vec![first],
            Reading::AsIs => {
                let second = Quantized::of(entry).map(|q| q.read_as(Reading::Dequantized));
                std::iter::once(first).chain(second).collect()
            }
        }
    }

    /// The same value read another way.
    pub fn read_as(mut self, reading: Reading) -> Self {
        self.reading = reading;
        self
    }

    pub fn reading(&self) -> Reading {
        self.reading
    }

    /// Whether the value is a float array read as quantized numbers.
    pub fn float_read_as_quantized(&self) -> bool {
        self.reading == Reading::Dequantized && self.npy.header.dtype.is_float()
    }

    /// A real value quantized with the parameters of value element
    /// `value_index`, clipped to `dtype`'s range.
    pub fn quantize(&self, real: f64, value_index: usize, dtype: crate::qparam::QDType) -> i64 {
        let (s, z) = self.params(value_index);
        let (lo, hi) = dtype.range();
        ((real / s).round() + z).clamp(lo as f64, hi as f64) as i64
    }

    fn params(&self, value_index: usize) -> (f64, f64) {
        let c = match (self.block, self.channel) {
            (Some(b), _) => value_index / b,
            (None, Some((stride, dim))) => (value_index / stride) % dim,
            (None, None) => 0,
        };
        (self.scales[c], self.zero_points[c] as f64)
    }

    fn real(&self, q: f64, value_index: usize) -> (f64, f64) {
        let (s, z) = self.params(value_index);
        match self.reading {
            Reading::AsIs => (q, s),
            Reading::Dequantized => ((q - z) * s, s),
        }
    }
}

/// Compares one element: the difference in steps, and whether it is within
/// rounding's tolerance of float data `t`, and within a step of it.
fn compare(real: f64, scale: f64, t: f64) -> (f64, bool, bool) {
    let diff = (real - t).abs();
    let steps = diff / scale;
    let slack = STEP_SLACK + (t / scale).abs() * RELATIVE_SLACK;
    (steps, steps <= 0.5 + slack, steps <= 1.0 + slack)
}

/// Sample positions, as flat indices of a tensor of `count` elements:
/// spread over the whole tensor with a fixed pseudo-random jitter, the
/// same for every tensor of that size.
pub fn sample_positions(count: usize, samples: usize) -> Vec<usize> {
    if count <= samples {
        return (0..count).collect();
    }
    let span = count / samples;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..samples)
        .map(|j| {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            j * span + (z % span as u64) as usize
        })
        .collect()
}

/// Float32 elements of a tensor at the given flat positions.
fn tensor_floats_at(
    graph: &Graph<'_>,
    t: &Tensor<'_>,
    positions: &[usize],
) -> io::Result<Vec<f64>> {
    let data = t.data.ok_or_else(|| io::Error::other("not a constant"))?;
    let file = graph.file();
    if data.len <= READ_WHOLE {
        let bytes = file.read_payload(data)?;
        return positions
            .iter()
            .map(|&p| {
                bytes
                    .get(p * 4..p * 4 + 4)
                    .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .ok_or_else(|| io::Error::other("past the tensor's data"))
            })
            .collect();
    }
    positions
        .iter()
        .map(|&p| {
            let mut b = [0u8; 4];
            let at = (p as u64) * 4;
            if at + 4 > data.len {
                return Err(io::Error::other("past the tensor's data"));
            }
            file.read_at(data.offset + at, &mut b)?;
            Ok(f64::from(f32::from_le_bytes(b)))
        })
        .collect()
}

/// Elements of an npy value at the given flat positions, as floats.
fn value_at(npy: &NpyArray, positions: &[usize]) -> io::Result<Vec<f64>> {
    let size = npy.header.dtype.size().unwrap_or(1);
    if (npy.header.data_len().unwrap_or(0) as u64) <= READ_WHOLE {
        let bytes = npy.read_data()?;
        return positions
            .iter()
            .map(|&p| {
                bytes
                    .get(p * size..(p + 1) * size)
                    .and_then(|b| npy.header.dtype.element_f64(b))
                    .ok_or_else(|| io::Error::other("past the value's data"))
            })
            .collect();
    }
    let elements = npy.elements()?;
    positions.iter().map(|&p| elements.f64_at(p)).collect()
}

/// The fixed sample of each float constant's data, read once per tensor.
#[derive(Default)]
pub struct Fingerprints {
    samples: HashMap<TensorId, Option<Vec<f64>>>,
}

/// A key's value sampled at the positions of one layout.
pub struct ValueSample {
    /// Real (dequantized) values, and the scale that applies, per sample.
    reals: Vec<(f64, f64)>,
}

impl ValueSample {
    /// Samples `q` at the positions a tensor of `tensor_count` elements is
    /// fingerprinted at, mapped through `map`.
    pub fn new(q: &Quantized<'_>, map: &IndexMap, tensor_count: usize) -> Option<ValueSample> {
        let positions = sample_positions(tensor_count, SAMPLES);
        let value_positions: Vec<usize> = positions.iter().map(|&p| map.value_index(p)).collect();
        let raw = value_at(q.npy, &value_positions).ok()?;
        Some(ValueSample {
            reals: raw
                .iter()
                .zip(&value_positions)
                .map(|(&v, &i)| q.real(v, i))
                .collect(),
        })
    }
}

impl Fingerprints {
    fn of(&mut self, graph: &Graph<'_>, t: &Tensor<'_>) -> Option<&[f64]> {
        self.samples
            .entry(t.id)
            .or_insert_with(|| {
                let count = t.element_count()? as usize;
                if t.dtype != TensorType::FLOAT32 || t.byte_size()? != count as u64 * 4 {
                    return None;
                }
                tensor_floats_at(graph, t, &sample_positions(count, SAMPLES)).ok()
            })
            .as_deref()
    }

    /// Whether the sample agrees with `t`'s fingerprint, element by element
    /// until the first disagreement.
    pub fn agrees(
        &mut self,
        graph: &Graph<'_>,
        t: &Tensor<'_>,
        sample: &ValueSample,
    ) -> Option<bool> {
        let floats = self.of(graph, t)?;
        if floats.len() != sample.reals.len() {
            return None;
        }
        Some(
            floats
                .iter()
                .zip(&sample.reals)
                .all(|(&t, &(real, s))| compare(real, s, t).2),
        )
    }
}

impl ValueSample {
    /// The interval of float data whose element `k` may agree with the
    /// sample's (wider than [`Fingerprints::agrees`] accepts, never
    /// narrower); `None` when no interval says it (no such element, a
    /// scale that is not a positive number, a value that is not finite).
    fn window(&self, k: usize) -> Option<(f64, f64)> {
        let &(real, scale) = self.reals.get(k)?;
        if !(real.is_finite() && scale.is_finite() && scale > 0.0) {
            return None;
        }
        // |real − t| ≤ scale (1 + slack) + |t| · relative slack, with
        // |t| ≤ |real| + |real − t|; widened past the arithmetic's rounding.
        let half = (scale * (1.0 + STEP_SLACK) + RELATIVE_SLACK * real.abs())
            / (1.0 - RELATIVE_SLACK)
            * WINDOW_WIDENING;
        Some((real - half, real + half))
    }
}

/// How much a window is widened past what the tolerance gives, so that
/// rounding in computing it never drops a constant the element-by-element
/// comparison would accept.
const WINDOW_WIDENING: f64 = 1.0 + 1e-6;

/// Fingerprint elements kept beside the first for sifting by bisection:
/// one element's window holds a few percent of a thousand random
/// constants; three more leave about none but the match, without reading
/// a fingerprint per candidate.
const LEADING: usize = 4;

/// A group of same-shape constants ordered by the first element of their
/// fingerprints: a value's candidates are found by bisection, then sifted
/// by the next few elements, so keys × same-shape constants are never
/// compared pair by pair.
pub struct FirstElements {
    /// (first element, position in the group) of finite first elements,
    /// in order.
    sorted: Vec<(f64, usize)>,
    /// Per position: the fingerprint's next elements (NaN where it has
    /// none).
    next: Vec<[f64; LEADING - 1]>,
    /// Positions without a finite first element (no fingerprint, or one
    /// an element-by-element comparison must judge): always candidates.
    always: Vec<usize>,
}

impl FirstElements {
    /// Orders `group`'s constants by their fingerprints' first elements.
    pub fn new(graph: &Graph<'_>, fingerprints: &mut Fingerprints, group: &[TensorId]) -> Self {
        let mut sorted = Vec::new();
        let mut always = Vec::new();
        let mut next = Vec::with_capacity(group.len());
        for (pos, &id) in group.iter().enumerate() {
            let print = fingerprints.of(graph, graph.tensor(id)).unwrap_or(&[]);
            next.push(std::array::from_fn(|k| {
                print.get(k + 1).copied().unwrap_or(f64::NAN)
            }));
            match print.first() {
                Some(&first) if first.is_finite() => sorted.push((first, pos)),
                _ => always.push(pos),
            }
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        FirstElements {
            sorted,
            next,
            always,
        }
    }

    /// Positions whose fingerprint may agree with `sample` (every one
    /// that does, and a few more); `None` when the sample cannot tell.
    pub fn near(&self, sample: &ValueSample) -> Option<Vec<usize>> {
        let (lo, hi) = sample.window(0)?;
        let windows: [Option<(f64, f64)>; LEADING - 1] =
            std::array::from_fn(|k| sample.window(k + 1));
        let from = self.sorted.partition_point(|&(v, _)| v < lo);
        let to = self.sorted.partition_point(|&(v, _)| v <= hi);
        // An element the window rules out differs under the comparison's
        // own tolerance; NaN (no element) and no window rule nothing out.
        let fits = |p: usize| {
            self.next[p]
                .iter()
                .zip(&windows)
                .all(|(&v, w)| w.is_none_or(|(lo, hi)| !(v < lo || v > hi)))
        };
        let mut out = self.always.clone();
        out.extend(
            self.sorted[from..to.max(from)]
                .iter()
                .map(|&(_, p)| p)
                .filter(|&p| fits(p)),
        );
        Some(out)
    }
}

/// The comparison at the fingerprint's sample positions only: cheap, and
/// enough to tell that a value does not match.
pub fn sampled_steps(
    graph: &Graph<'_>,
    entry: &Entry,
    t: &Tensor<'_>,
    change: Option<&LayoutChange>,
) -> Option<Steps> {
    sampled(graph, &Quantized::of(entry)?, t, change)
}

/// [`sampled_steps`] for a value read as `q` says.
pub fn sampled(
    graph: &Graph<'_>,
    q: &Quantized<'_>,
    t: &Tensor<'_>,
    change: Option<&LayoutChange>,
) -> Option<Steps> {
    let count = t.element_count()? as usize;
    if q.npy.header.element_count() != Some(count) {
        return None;
    }
    let map = IndexMap::new(&q.npy.header.shape, change);
    compare_at(graph, q, t, &map, SAMPLES).ok()
}

/// Compares `samples` positions of `t` (spread as fingerprints are) with
/// the value's elements `map` puts there.
fn compare_at(
    graph: &Graph<'_>,
    q: &Quantized<'_>,
    t: &Tensor<'_>,
    map: &IndexMap,
    samples: usize,
) -> io::Result<Steps> {
    let count = t.element_count().unwrap_or(0) as usize;
    let positions = sample_positions(count, samples);
    let value_positions: Vec<usize> = positions.iter().map(|&p| map.value_index(p)).collect();
    let values = value_at(q.npy, &value_positions)?;
    let floats = tensor_floats_at(graph, t, &positions)?;
    let mut result = Steps::none_compared();
    for ((&v, &i), &f) in values.iter().zip(&value_positions).zip(&floats) {
        let (real, s) = q.real(v, i);
        result.fold(real, s, f);
    }
    Ok(result)
}

/// The full comparison of `entry`'s value with `t`'s data under `change`,
/// streamed in pieces. `None` when they cannot be compared.
pub fn steps(
    graph: &Graph<'_>,
    entry: &Entry,
    t: &Tensor<'_>,
    change: Option<&LayoutChange>,
) -> Option<Steps> {
    let q = Quantized::of(entry)?;
    full(graph, &q, t, change).ok().flatten()
}

/// See [`steps`].
pub fn full(
    graph: &Graph<'_>,
    q: &Quantized<'_>,
    t: &Tensor<'_>,
    change: Option<&LayoutChange>,
) -> io::Result<Option<Steps>> {
    let Some(data) = t.data else { return Ok(None) };
    let Some(count) = t.element_count() else {
        return Ok(None);
    };
    let count = count as usize;
    if t.dtype != TensorType::FLOAT32
        || data.len != count as u64 * 4
        || q.npy.header.element_count() != Some(count)
    {
        return Ok(None);
    }
    let map = IndexMap::new(&q.npy.header.shape, change);
    let file = graph.file();
    let mut result = Steps::none_compared();
    if map.is_identity() {
        let elements = q.npy.elements()?;
        let n = PIECE.min(count);
        let (mut values, mut floats) = (vec![0f64; n], vec![0f64; n]);
        let (mut raw, mut bytes) = (Vec::new(), vec![0u8; n * 4]);
        let mut at = 0usize;
        while at < count {
            let n = PIECE.min(count - at);
            elements.f64_range(at, &mut values[..n], &mut raw)?;
            file.read_at(data.offset + at as u64 * 4, &mut bytes[..n * 4])?;
            crate::qparam::npy::decode_f64(
                &crate::qparam::npy::NpyType::F32,
                &bytes[..n * 4],
                &mut floats[..n],
            );
            match (q.channel, q.block) {
                // One scale: the loop the compiler vectorizes.
                (None, None) if q.reading == Reading::Dequantized => {
                    let (s, z) = (q.scales[0], q.zero_points[0] as f64);
                    result.fold_run(&values[..n], &floats[..n], s, z);
                }
                _ => {
                    for i in 0..n {
                        let (real, s) = q.real(values[i], at + i);
                        result.fold(real, s, floats[i]);
                    }
                }
            }
            at += n;
        }
        return Ok(Some(result));
    }
    if (q.npy.header.data_len().unwrap_or(usize::MAX) as u64) > PERMUTED_WHOLE_LIMIT {
        return compare_at(graph, q, t, &map, LARGE_SAMPLES).map(Some);
    }
    let raw = q.npy.read_data()?;
    let size = q.npy.header.dtype.size().unwrap_or(1);
    let mut bytes = vec![0u8; PIECE.min(count) * 4];
    let mut at = 0usize;
    while at < count {
        let n = PIECE.min(count - at);
        file.read_at(data.offset + at as u64 * 4, &mut bytes[..n * 4])?;
        for (i, b) in bytes[..n * 4].chunks_exact(4).enumerate() {
            let vi = map.value_index(at + i);
            let Some(v) = raw
                .get(vi * size..(vi + 1) * size)
                .and_then(|e| q.npy.header.dtype.element_f64(e))
            else {
                return Ok(None);
            };
            let (real, s) = q.real(v, vi);
            result.fold(
                real,
                s,
                f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        at += n;
    }
    Ok(Some(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_spread_distinct_and_stable() {
        let p = sample_positions(1_000_000, 64);
        assert_eq!(p.len(), 64);
        assert!(p.windows(2).all(|w| w[0] < w[1]));
        assert!(*p.last().unwrap() < 1_000_000);
        assert_eq!(p, sample_positions(1_000_000, 64));
        assert_eq!(sample_positions(5, 64), vec![0, 1, 2, 3, 4]);
    }

    /// A set of one entry whose npy files live in memory.
    fn one_entry(value: (&str, usize, &[u8]), scale: f32, zero: i64) -> crate::qparam::QParamFile {
        use crate::analysis::test_sets::{in_memory, npy_1d};
        let (descr, size, bytes) = value;
        let text = r#"{"b": {"dtype": "uint8", "scale": "s.npy", "zerop": "z.npy", "quantized_dimension": 0, "value": "v.npy"}}"#;
        in_memory(
            text,
            vec![
                ("v.npy", npy_1d(descr, size, bytes)),
                ("s.npy", npy_1d("<f4", 4, &scale.to_le_bytes())),
                ("z.npy", npy_1d("<i8", 8, &zero.to_le_bytes())),
            ],
        )
    }

    #[test]
    fn a_float_value_is_read_as_it_is_then_as_quantized_numbers() {
        let floats: Vec<u8> = [10.5f32, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let set = one_entry(("<f4", 4, &floats), 0.5, 3);
        let readings = Quantized::readings(&set.entries[0]);
        let reals: Vec<(f64, f64)> = readings.iter().map(|q| q.real(10.5, 0)).collect();
        assert_eq!(reals, [(10.5, 0.5), ((10.5 - 3.0) * 0.5, 0.5)]);
        assert!(!readings[0].float_read_as_quantized());
        assert!(readings[1].float_read_as_quantized());
        // An integer value has one reading: quantized numbers.
        let set = one_entry(("|u1", 1, &[7, 9]), 0.5, 3);
        let readings = Quantized::readings(&set.entries[0]);
        assert_eq!(readings.len(), 1);
        assert_eq!(readings[0].reading(), Reading::Dequantized);
        assert_eq!(readings[0].real(7.0, 0), (2.0, 0.5));
    }

    #[test]
    fn tolerance_grows_with_the_value_in_steps() {
        assert!(compare(0.5, 1.0, 0.0).1);
        assert!(compare(0.512, 1.0, 0.0).1);
        assert!(!compare(0.6, 1.0, 0.0).1);
        assert!(compare(0.9, 1.0, 0.0).2, "truncation is within a step");
        assert!(!compare(1.2, 1.0, 0.0).2);
        // A value 1e6 steps large, rounded in float32, may be a little further off.
        assert!(compare(1e6 + 0.6, 1.0, 1e6).1);
        assert!(!compare(1e6 + 2.0, 1.0, 1e6).1);
    }
}
