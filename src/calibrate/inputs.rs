//! The samples a run is fed: each graph input's spec, sample files read
//! against them, or random samples drawn with a seed, as the interpreter's
//! tensors.

use std::path::PathBuf;

use crate::graph::Subgraph;
use crate::interpret::{Data, Tensor};
use crate::model::fb::TensorType;
use crate::samples::{
    self, Array, ArrayData, Distribution, InputKind, InputSpec, IntegerType, Rng, SampleError,
};

/// The largest input a random sample is drawn for, in elements: far past
/// any real model's input, and small enough to hold.
const MAX_RANDOM_ELEMENTS: u64 = 1 << 28;

/// What each input of subgraph `sg` takes: its declared shape (every
/// dimension known) and its element type.
pub fn input_specs(sg: &Subgraph<'_>) -> Result<Vec<InputSpec>, SampleError> {
    sg.inputs
        .iter()
        .map(|&i| {
            let t = &sg.tensors[i];
            let shape: Option<Vec<usize>> = t
                .shape
                .iter()
                .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
                .collect();
            let too_large = t.element_count().is_none_or(|n| n > MAX_RANDOM_ELEMENTS);
            let shape = shape
                .filter(|_| !too_large)
                .ok_or_else(|| SampleError::RandomShape {
                    input: t.name.to_string(),
                    shape: t.shape.clone(),
                })?;
            Ok(InputSpec {
                name: t.name.to_string(),
                shape,
                kind: input_kind(t.dtype),
            })
        })
        .collect()
}

fn input_kind(dtype: TensorType) -> InputKind {
    use TensorType as T;
    match dtype {
        T::INT32 => InputKind::Integer(IntegerType::I32),
        T::INT64 => InputKind::Integer(IntegerType::I64),
        T::INT16 => InputKind::Integer(IntegerType::I16),
        T::INT8 => InputKind::Integer(IntegerType::I8),
        T::UINT8 => InputKind::Integer(IntegerType::U8),
        T::BOOL => InputKind::Bool,
        _ => InputKind::Real { integer: None },
    }
}

/// Samples read from `paths` (files, or directories of them) for `specs`.
pub fn read(paths: &[PathBuf], specs: &[InputSpec]) -> Result<Vec<Vec<Tensor>>, SampleError> {
    samples::sample_files(paths)?
        .iter()
        .map(|file| {
            let sample = samples::read_sample(file, specs)?;
            Ok(sample.into_iter().map(tensor).collect())
        })
        .collect()
}

/// How one input's random values are drawn: from a distribution, then
/// scaled, shifted and clipped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    pub distribution: Distribution,
    pub scale: f32,
    pub shift: f32,
    pub clip: Option<(f32, f32)>,
}

impl Draw {
    /// Values from `distribution` as they come.
    pub fn plain(distribution: Distribution) -> Draw {
        Draw {
            distribution,
            scale: 1.0,
            shift: 0.0,
            clip: None,
        }
    }

    /// A normal distribution centred on `[lo, hi]` whose expected extremes
    /// over `count` values are its ends, clipped to it: how real data
    /// (bell-shaped, calibrated by its extremes) would give that range.
    pub fn normal_over(lo: f32, hi: f32, count: usize) -> Draw {
        // The expected largest of n standard normal values (Gumbel's
        // approximation, good from a few hundred values on).
        let n = (count.max(2)) as f64;
        let l = (2.0 * n.ln()).sqrt();
        let extreme =
            (l - ((n.ln()).ln() + (4.0 * std::f64::consts::PI).ln()) / (2.0 * l)).max(1.0);
        Draw {
            distribution: Distribution::Normal,
            scale: ((hi - lo) as f64 / 2.0 / extreme) as f32,
            shift: (lo + hi) / 2.0,
            clip: Some((lo, hi)),
        }
    }

    fn floats(&self, rng: &mut Rng, n: usize) -> Vec<f32> {
        let mut v = self.distribution.floats(rng, n);
        for x in &mut v {
            *x = *x * self.scale + self.shift;
            if let Some((lo, hi)) = self.clip {
                *x = x.clamp(lo, hi);
            }
        }
        v
    }
}

/// `count` random samples for `specs`, input `i` drawn as `draws[i]`
/// says, the same for the same seed.
pub fn random(specs: &[InputSpec], draws: &[Draw], count: usize, seed: u64) -> Vec<Vec<Tensor>> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            specs
                .iter()
                .zip(draws)
                .map(|(spec, d)| {
                    let n: usize = spec.shape.iter().product();
                    let ints = |rng: &mut Rng| d.distribution.integers(rng, n);
                    let data = match spec.kind {
                        InputKind::Real { .. } => Data::F32(d.floats(&mut rng, n)),
                        InputKind::Integer(IntegerType::I64) => Data::I64(ints(&mut rng)),
                        InputKind::Integer(_) => {
                            Data::I32(ints(&mut rng).into_iter().map(|v| v as i32).collect())
                        }
                        InputKind::Bool => {
                            Data::Bool(ints(&mut rng).into_iter().map(|v| v != 0).collect())
                        }
                    };
                    Tensor {
                        shape: spec.shape.clone(),
                        data,
                    }
                })
                .collect()
        })
        .collect()
}

/// How each input of `sg` is drawn for `count` random samples: over the
/// range `range_of(input tensor)` gives ([`Draw::normal_over`]), the
/// default without one; empty when an input's shape is unknown.
pub fn draws(
    sg: &Subgraph<'_>,
    count: usize,
    range_of: &dyn Fn(usize) -> Option<(f64, f64)>,
) -> Vec<Draw> {
    let Ok(specs) = input_specs(sg) else {
        return Vec::new();
    };
    specs
        .iter()
        .zip(&sg.inputs)
        .map(|(spec, &x)| {
            let n = spec.shape.iter().product::<usize>().saturating_mul(count);
            range_of(x).map_or_else(
                || default_draw(spec),
                |(lo, hi)| Draw::normal_over(lo as f32, hi as f32, n),
            )
        })
        .collect()
}

/// How a random sample of an input without a known range is drawn: the
/// standard normal for real values, 0 and 1 for the rest (an index or a
/// flag that is always valid).
pub fn default_draw(spec: &InputSpec) -> Draw {
    Draw::plain(match spec.kind {
        InputKind::Real { .. } => Distribution::Normal,
        _ => Distribution::Integers { lo: 0, hi: 1 },
    })
}

/// An array read from a file as the interpreter holds it (small integer
/// types as int32, which is how it computes with them).
fn tensor(array: Array) -> Tensor {
    let data = match array.data {
        ArrayData::F32(v) => Data::F32(v),
        ArrayData::I32(v) => Data::I32(v),
        ArrayData::I64(v) => Data::I64(v),
        ArrayData::U8(v) => Data::I32(v.into_iter().map(i32::from).collect()),
        ArrayData::I8(v) => Data::I32(v.into_iter().map(i32::from).collect()),
        ArrayData::I16(v) => Data::I32(v.into_iter().map(i32::from).collect()),
        ArrayData::Bool(v) => Data::Bool(v),
    };
    Tensor {
        shape: array.shape,
        data,
    }
}
