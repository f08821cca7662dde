//! Reductions over axes: MEAN, SUM, REDUCE_MAX (negative axes, repeated
//! axes, keep_dims). Float sums accumulate in float64.

use super::super::error::KernelError;
use super::super::value::{strides, Data, Tensor};
use super::context::{axis_index, Inputs, OpContext, OutSpec};
use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduce {
    Mean,
    Sum,
    Max,
}

fn which(code: &OpCode) -> Result<Reduce, KernelError> {
    Ok(match code {
        OpCode::Builtin(Op::MEAN) => Reduce::Mean,
        OpCode::Builtin(Op::SUM) => Reduce::Sum,
        OpCode::Builtin(Op::REDUCE_MAX) => Reduce::Max,
        other => {
            return Err(KernelError::Unsupported(format!(
                "{other} is not a reduction"
            )))
        }
    })
}

/// Which dimensions are reduced, and the output shape.
pub(crate) fn plan(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
) -> Result<(Vec<bool>, Vec<usize>), KernelError> {
    which(&ctx.opcode)?;
    let x = &inputs.get(0)?.shape;
    let keep = ctx
        .options
        .as_reducer_options()
        .is_some_and(|o| o.keep_dims);
    let mut reduced = vec![false; x.len()];
    for a in inputs.ints(1)? {
        reduced[axis_index(a, x.len())?] = true;
    }
    let shape = x
        .iter()
        .zip(&reduced)
        .filter_map(|(&d, &r)| match (r, keep) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    Ok((reduced, shape))
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (_, s) = plan(ctx, inputs)?;
    Ok(vec![OutSpec::new(s, inputs.get(0)?.kind())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let op = which(&ctx.opcode)?;
    let (reduced, _) = plan(ctx, inputs)?;
    let x = inputs.get(0)?;
    let out_len = specs[0].len();
    let count = reduced_count(&x.shape, &reduced);
    let data = match &x.data {
        Data::F32(v) => {
            let init = if op == Reduce::Max {
                f64::NEG_INFINITY
            } else {
                0.0
            };
            let acc = fold(v, &x.shape, &reduced, out_len, init, |a, b| match op {
                Reduce::Max => a.max(f64::from(b)),
                _ => a + f64::from(b),
            });
            let scale = if op == Reduce::Mean {
                1.0 / count as f64
            } else {
                1.0
            };
            Data::F32(acc.into_iter().map(|a| (a * scale) as f32).collect())
        }
        Data::I32(v) => {
            let acc = int_fold(
                op,
                v.iter().map(|&x| i64::from(x)),
                x,
                &reduced,
                out_len,
                count,
            );
            Data::I32(acc.into_iter().map(|a| a as i32).collect())
        }
        Data::I64(v) => Data::I64(int_fold(op, v.iter().copied(), x, &reduced, out_len, count)),
        Data::Bool(_) => {
            return Err(KernelError::Unsupported(format!(
                "{} on bool values is not supported",
                ctx.opcode
            )))
        }
    };
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data,
    }])
}

fn int_fold(
    op: Reduce,
    v: impl Iterator<Item = i64>,
    x: &Tensor,
    reduced: &[bool],
    out_len: usize,
    count: usize,
) -> Vec<i64> {
    let v: Vec<i64> = v.collect();
    let init = if op == Reduce::Max { i64::MIN } else { 0 };
    let acc = fold(&v, &x.shape, reduced, out_len, init, |a, b| match op {
        Reduce::Max => a.max(b),
        _ => a.wrapping_add(b),
    });
    if op == Reduce::Mean && count > 0 {
        acc.into_iter().map(|a| a / count as i64).collect()
    } else {
        acc
    }
}

/// How many elements of `shape` each output element reduces.
pub(crate) fn reduced_count(shape: &[usize], reduced: &[bool]) -> usize {
    shape
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| r)
        .map(|(&d, _)| d)
        .product()
}

/// Folds every element of `x` (of `shape`) into the output element it
/// reduces to.
pub(crate) fn fold<T: Copy, A: Copy>(
    x: &[T],
    shape: &[usize],
    reduced: &[bool],
    out_len: usize,
    init: A,
    f: impl Fn(A, T) -> A,
) -> Vec<A> {
    let mut acc = vec![init; out_len];
    if x.is_empty() {
        return acc;
    }
    // Output strides over the input's dimensions: 0 along reduced ones.
    let kept: Vec<usize> = shape
        .iter()
        .zip(reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let st: Vec<usize> = strides(&kept)
        .into_iter()
        .zip(reduced)
        .map(|(s, &r)| if r { 0 } else { s })
        .collect();
    let r = shape.len();
    if r == 0 {
        acc[0] = f(acc[0], x[0]);
        return acc;
    }
    let inner = shape[r - 1];
    let inner_stride = st[r - 1];
    let mut idx = vec![0usize; r - 1];
    let mut at = 0usize;
    for row in x.chunks_exact(inner) {
        if inner_stride == 0 {
            acc[at] = row.iter().fold(acc[at], |a, &b| f(a, b));
        } else {
            for (a, &b) in acc[at..at + inner].iter_mut().zip(row) {
                *a = f(*a, b);
            }
        }
        let mut d = r - 1;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            at += st[d];
            if idx[d] < shape[d] {
                break;
            }
            at -= st[d] * shape[d];
            idx[d] = 0;
        }
    }
    acc
}
