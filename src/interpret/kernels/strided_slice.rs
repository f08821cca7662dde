//! STRIDED_SLICE with TensorFlow's semantics: begin/end masks, an ellipsis,
//! new axes, shrunk axes, negative strides, and TFLite's `offset` (end
//! counted from begin).

use super::super::error::KernelError;
use super::super::value::{map_data, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use super::layout::{signed_strides, strided};

/// Where the slice starts in the input, and each output dimension's size
/// and step (in input elements; 0 for a new axis).
struct Plan {
    start: usize,
    shape: Vec<usize>,
    steps: Vec<isize>,
}

fn invalid(msg: String) -> KernelError {
    KernelError::Invalid(msg)
}

/// One sliced dimension: its first index and its length, for a stride `s`.
fn range(b: i64, e: i64, s: i64, dim: usize, masked: (bool, bool)) -> (i128, usize) {
    let (b, e, s, n) = (i128::from(b), i128::from(e), i128::from(s), dim as i128);
    let norm = |v: i128| if v < 0 { v + n } else { v };
    let (b, e) = if s > 0 {
        (
            if masked.0 { 0 } else { norm(b).clamp(0, n) },
            if masked.1 { n } else { norm(e).clamp(0, n) },
        )
    } else {
        (
            if masked.0 {
                n - 1
            } else {
                norm(b).clamp(-1, n - 1)
            },
            if masked.1 {
                -1
            } else {
                norm(e).clamp(-1, n - 1)
            },
        )
    };
    let len = if s > 0 {
        (e - b + s - 1) / s
    } else {
        (b - e + (-s) - 1) / -s
    };
    (b, len.max(0) as usize)
}

fn plan(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Plan, KernelError> {
    let o = ctx
        .options
        .as_strided_slice_options()
        .ok_or_else(|| ctx.missing_options())?;
    let x = &inputs.get(0)?.shape;
    let (begin, mut end, stride) = (inputs.ints(1)?, inputs.ints(2)?, inputs.ints(3)?);
    let n = begin.len();
    if end.len() != n || stride.len() != n || n > 32 {
        return Err(invalid(format!(
            "begin {begin:?}, end {end:?} and strides {stride:?} must have the same length (at most 32)"
        )));
    }
    if o.offset {
        for (e, b) in end.iter_mut().zip(&begin) {
            *e = e.saturating_add(*b);
        }
    }
    let bit = |mask: i32, i: usize| mask >> i & 1 == 1;
    if (0..n).filter(|&i| bit(o.ellipsis_mask, i)).count() > 1 {
        return Err(invalid("more than one ellipsis".into()));
    }
    let in_st = signed_strides(x);
    let mut p = Plan {
        start: 0,
        shape: Vec::new(),
        steps: Vec::new(),
    };
    let mut start: i128 = 0;
    let mut d = 0usize; // the next input dimension
    for i in 0..n {
        if bit(o.ellipsis_mask, i) {
            let named = (0..n)
                .filter(|&j| j != i && !bit(o.new_axis_mask, j))
                .count();
            let covered = x.len().checked_sub(named).ok_or_else(|| {
                invalid(format!(
                    "{n} slice entries for a tensor of rank {}",
                    x.len()
                ))
            })?;
            for _ in 0..covered {
                p.shape.push(x[d]);
                p.steps.push(in_st[d]);
                d += 1;
            }
            continue;
        }
        if bit(o.new_axis_mask, i) {
            p.shape.push(1);
            p.steps.push(0);
            continue;
        }
        let Some(&size) = x.get(d) else {
            return Err(invalid(format!(
                "{n} slice entries for a tensor of rank {}",
                x.len()
            )));
        };
        if stride[i] == 0 {
            return Err(invalid("a stride of 0".into()));
        }
        if bit(o.shrink_axis_mask, i) {
            let at = if begin[i] < 0 {
                i128::from(begin[i]) + size as i128
            } else {
                i128::from(begin[i])
            };
            if !(0..size as i128).contains(&at) {
                return Err(invalid(format!(
                    "index {} is out of range for dimension {d} of size {size}",
                    begin[i]
                )));
            }
            start += at * in_st[d] as i128;
        } else {
            let masked = (bit(o.begin_mask, i), bit(o.end_mask, i));
            let (b, len) = range(begin[i], end[i], stride[i], size, masked);
            if len > 0 {
                start += b * in_st[d] as i128;
            }
            p.shape.push(len);
            p.steps.push((stride[i] as isize).saturating_mul(in_st[d]));
        }
        d += 1;
    }
    for &size in &x[d.min(x.len())..] {
        p.shape.push(size);
        p.steps.push(in_st[d]);
        d += 1;
    }
    p.start = usize::try_from(start).unwrap_or(0);
    Ok(p)
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let p = plan(ctx, inputs)?;
    Ok(vec![OutSpec::new(p.shape, inputs.get(0)?.kind())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let x = inputs.get(0)?;
    let p = plan(ctx, inputs)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: map_data!(&x.data, v => strided(v, p.start, &p.shape, &p.steps)),
    }])
}
