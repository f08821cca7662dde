//! The samples a verification runs on, as the interpreter takes them: read
//! from the user's files, or drawn at random over the range each input
//! represents. Both models get the same real values.

use std::path::PathBuf;

use crate::graph::{Graph, Subgraph, Tensor as GraphTensor};
use crate::interpret::quant::Params;
use crate::interpret::value::{Data, Tensor};
use crate::model::fb::{BuiltinOperator as Op, TensorType};
use crate::samples::{
    self, Array, ArrayData, Distribution, InputKind, InputSpec, IntegerType, MemorySample, Rng,
    SampleError,
};

/// Where the samples come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// `--input`: files (`.npy`, `.npz`) or directories of them.
    Files(Vec<PathBuf>),
    /// `--samples N --seed S`.
    Random { samples: usize, seed: u64 },
    /// Arrays held in memory (the Python module's).
    Memory(Vec<MemorySample>),
}

/// The samples, ready to feed, and how they were made.
pub struct Samples {
    /// `values[sample][input]`, real values for real inputs.
    pub values: Vec<Vec<Tensor>>,
    pub random: bool,
    /// Each sample as a message names it: its file, or its place among
    /// the random draws.
    pub names: Vec<String>,
}

/// What each graph input of `sg` takes. A real input's integer type is its
/// quantized type in `quantized` (the model verified), when it has one.
pub fn specs(reference: &Subgraph<'_>, quantized: &Subgraph<'_>) -> Vec<InputSpec> {
    reference
        .inputs
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let r = &reference.tensors[t];
            let q = quantized.inputs.get(i).map(|&t| &quantized.tensors[t]);
            let shape = r.shape.iter().map(|&d| d.max(0) as usize).collect();
            InputSpec {
                name: r.name.to_string(),
                shape,
                kind: kind(r, q),
            }
        })
        .collect()
}

fn integer(dtype: TensorType) -> Option<IntegerType> {
    Some(match dtype {
        TensorType::UINT8 => IntegerType::U8,
        TensorType::INT8 => IntegerType::I8,
        TensorType::INT16 => IntegerType::I16,
        TensorType::INT32 => IntegerType::I32,
        TensorType::INT64 => IntegerType::I64,
        _ => return None,
    })
}

fn kind(reference: &GraphTensor<'_>, quantized: Option<&GraphTensor<'_>>) -> InputKind {
    match reference.dtype {
        TensorType::FLOAT32 => InputKind::Real {
            integer: quantized
                .filter(|q| Params::of(q).is_some())
                .and_then(|q| integer(q.dtype)),
        },
        TensorType::BOOL => InputKind::Bool,
        other => InputKind::Integer(integer(other).unwrap_or(IntegerType::I32)),
    }
}

/// The source with its directories listed (the files in name order), and
/// how many samples it gives: known before a single one is read or drawn.
pub fn resolve(source: &Source) -> Result<(Source, usize), SampleError> {
    Ok(match source {
        Source::Files(paths) => {
            let files = samples::sample_files(paths)?;
            let count = files.len();
            (Source::Files(files), count)
        }
        Source::Random { samples, .. } => (source.clone(), *samples),
        Source::Memory(given) => (source.clone(), given.len()),
    })
}

/// Reads or draws the samples for subgraph 0 of both models.
pub fn make(
    source: &Source,
    reference: &Graph<'_>,
    quantized: &Graph<'_>,
) -> Result<Samples, SampleError> {
    let (r, q) = (&reference.subgraphs[0], &quantized.subgraphs[0]);
    let specs = specs(r, q);
    match source {
        Source::Files(paths) => {
            let files = samples::sample_files(paths)?;
            let values = files
                .iter()
                .map(|path| samples::read_sample(path, &specs).map(|s| tensors(s, q)))
                .collect::<Result<_, SampleError>>()?;
            Ok(Samples {
                values,
                random: false,
                names: files.iter().map(|f| format!("`{}`", f.display())).collect(),
            })
        }
        Source::Memory(given) => {
            let values = given
                .iter()
                .enumerate()
                .map(|(i, sample)| samples::read_memory(i, sample, &specs).map(|s| tensors(s, q)))
                .collect::<Result<_, SampleError>>()?;
            Ok(Samples {
                values,
                random: false,
                names: (0..given.len())
                    .map(|i| format!("sample {i} given in memory"))
                    .collect(),
            })
        }
        Source::Random { samples, seed } => {
            let mut rng = Rng::new(*seed);
            let distributions = specs
                .iter()
                .enumerate()
                .map(|(i, spec)| distribution(r, q, i, spec))
                .collect::<Result<Vec<_>, _>>()?;
            let values = (0..*samples)
                .map(|_| {
                    specs
                        .iter()
                        .zip(&distributions)
                        .map(|(spec, d)| draw(spec, *d, &mut rng))
                        .collect()
                })
                .collect();
            Ok(Samples {
                values,
                random: true,
                names: (0..*samples)
                    .map(|i| format!("random sample {i} (seed {seed})"))
                    .collect(),
            })
        }
    }
}

/// A sample's arrays as the interpreter takes them, input by input.
fn tensors(sample: samples::Sample, q: &Subgraph<'_>) -> Vec<Tensor> {
    sample
        .into_iter()
        .enumerate()
        .map(|(i, a)| to_tensor(a, q.inputs.get(i).map(|&t| &q.tensors[t])))
        .collect()
}

/// An array as the interpreter takes it: integers of a quantized input
/// dequantized with the quantized model's parameters.
fn to_tensor(array: Array, quantized: Option<&GraphTensor<'_>>) -> Tensor {
    let shape = array.shape;
    let ints = |v: Vec<i64>| match quantized.and_then(Params::of) {
        Some(p) => p
            .dequantize(&shape, &v)
            .map(Data::F32)
            .unwrap_or(Data::I64(v)),
        None => Data::I64(v),
    };
    let data = match array.data {
        ArrayData::F32(v) => Data::F32(v),
        ArrayData::I32(v) => match quantized.and_then(Params::of) {
            Some(_) => ints(v.into_iter().map(i64::from).collect()),
            None => Data::I32(v),
        },
        ArrayData::I64(v) => ints(v),
        ArrayData::U8(v) => ints(v.into_iter().map(i64::from).collect()),
        ArrayData::I8(v) => ints(v.into_iter().map(i64::from).collect()),
        ArrayData::I16(v) => ints(v.into_iter().map(i64::from).collect()),
        ArrayData::Bool(v) => Data::Bool(v),
    };
    Tensor { shape, data }
}

/// The distribution of input `i`: uniform over the range its parameters
/// represent (its own, or those of the QUANTIZE that reads it when it stays
/// float), the standard normal for a float input without any, and for an
/// integer input the rows of the table it indexes.
fn distribution(
    reference: &Subgraph<'_>,
    quantized: &Subgraph<'_>,
    i: usize,
    spec: &InputSpec,
) -> Result<Distribution, SampleError> {
    let q = quantized.inputs.get(i).map(|&t| &quantized.tensors[t]);
    match spec.kind {
        InputKind::Real { .. } => {
            let params = q.and_then(|t| Params::of(t).or_else(|| quantized_by(quantized, t)));
            Ok(match params {
                Some(p) => {
                    let (lo, hi) = represented(&p);
                    Distribution::Uniform { lo, hi }
                }
                None => Distribution::Normal,
            })
        }
        InputKind::Bool => Ok(Distribution::Integers { lo: 0, hi: 1 }),
        InputKind::Integer(_) => {
            let t = reference.inputs[i];
            indexed_rows(reference, t)
                .map(|rows| Distribution::Integers {
                    lo: 0,
                    hi: rows - 1,
                })
                .ok_or_else(|| SampleError::RandomRange {
                    input: spec.name.clone(),
                    kind: reference.tensors[t].dtype_name().to_lowercase(),
                })
        }
    }
}

/// The parameters of the QUANTIZE that reads float tensor `t`, if one does
/// (a `--float-io` model's input).
fn quantized_by(sg: &Subgraph<'_>, t: &GraphTensor<'_>) -> Option<Params> {
    t.consumers.iter().find_map(|&op| {
        let op = &sg.operators[op];
        if !op.opcode.is(Op::QUANTIZE) {
            return None;
        }
        Params::of(&sg.tensors[*op.outputs.first()?])
    })
}

/// The real range parameters represent (the narrowest over channels).
fn represented(p: &Params) -> (f32, f32) {
    let mut lo = f32::NEG_INFINITY;
    let mut hi = f32::INFINITY;
    for (c, &s) in p.scale.iter().enumerate() {
        let z = p
            .zero_point
            .get(c)
            .or(p.zero_point.first())
            .copied()
            .unwrap_or(0);
        lo = lo.max(s * (p.qmin - z) as f32);
        hi = hi.min(s * (p.qmax - z) as f32);
    }
    if lo.is_finite() && hi.is_finite() && lo < hi {
        (lo, hi)
    } else {
        (-1.0, 1.0)
    }
}

/// How many rows the table has that integer tensor `t` indexes (as GATHER's
/// indices), when it does.
fn indexed_rows(sg: &Subgraph<'_>, t: usize) -> Option<i64> {
    sg.tensors[t].consumers.iter().find_map(|&op| {
        let op = &sg.operators[op];
        if !op.opcode.is(Op::GATHER) || op.input(1) != Some(t) {
            return None;
        }
        let table = &sg.tensors[op.input(0)?];
        let rows = *table.shape.first()?;
        (rows > 0).then_some(i64::from(rows))
    })
}

fn draw(spec: &InputSpec, d: Distribution, rng: &mut Rng) -> Tensor {
    let n: usize = spec.shape.iter().product();
    let data = match spec.kind {
        InputKind::Real { .. } => Data::F32(d.floats(rng, n)),
        InputKind::Bool => Data::Bool(d.integers(rng, n).into_iter().map(|v| v != 0).collect()),
        InputKind::Integer(IntegerType::I64) => Data::I64(d.integers(rng, n)),
        InputKind::Integer(_) => {
            Data::I32(d.integers(rng, n).into_iter().map(|v| v as i32).collect())
        }
    };
    Tensor {
        shape: spec.shape.clone(),
        data,
    }
}

/// The largest number of elements a random input may have: past it, the
/// declared shape is a mistake (or hostile), not a sample to draw.
pub const MAX_RANDOM_ELEMENTS: usize = 1 << 28;

/// Refuses random samples for an input whose shape is unknown or huge.
pub fn check_random_shapes(reference: &Subgraph<'_>) -> Result<(), SampleError> {
    for &t in &reference.inputs {
        let tensor = &reference.tensors[t];
        let known = tensor.shape.iter().all(|&d| d >= 0);
        let count = tensor.element_count();
        if !known || count.is_none_or(|c| c > MAX_RANDOM_ELEMENTS as u64) {
            return Err(SampleError::RandomShape {
                input: tensor.name.to_string(),
                shape: tensor.shape.clone(),
            });
        }
    }
    Ok(())
}
