//! SPLIT (inputs: axis, value; `num_splits` equal parts) and SPLIT_V
//! (inputs: value, sizes with at most one -1, axis).

use super::super::error::KernelError;
use super::super::value::{map_data, Tensor};
use super::context::{axis_index, dim, Inputs, OpContext, OutSpec};
use super::layout::{signed_strides, strided};
use crate::model::fb::BuiltinOperator as Op;

/// The input, the axis and the size of each part along it.
fn plan<'a>(
    ctx: &OpContext,
    inputs: &Inputs<'a>,
) -> Result<(&'a Tensor, usize, Vec<usize>), KernelError> {
    if ctx.opcode.is(Op::SPLIT) {
        let x = inputs.get(1)?;
        let axis = one(inputs.ints(0)?, x.shape.len())?;
        let n = ctx.options.as_split_options().map_or(0, |o| o.num_splits);
        let n = usize::try_from(n).unwrap_or(0);
        if n != ctx.outputs.len() {
            return Err(KernelError::Invalid(format!(
                "num_splits is {n}, but the operator has {} outputs",
                ctx.outputs.len()
            )));
        }
        if n == 0 || x.shape[axis] % n != 0 {
            return Err(KernelError::Invalid(format!(
                "dimension {axis} of shape {:?} does not split into {n} equal parts",
                x.shape
            )));
        }
        return Ok((x, axis, vec![x.shape[axis] / n; n]));
    }
    let x = inputs.get(0)?;
    let axis = one(inputs.ints(2)?, x.shape.len())?;
    let sizes = inputs.ints(1)?;
    let full = x.shape[axis];
    let mut out = Vec::with_capacity(sizes.len());
    let mut unknown = None;
    let mut known = 0usize;
    for (i, &s) in sizes.iter().enumerate() {
        if s == -1 && unknown.is_none() {
            unknown = Some(i);
            out.push(0);
        } else {
            let s = dim(s, "a split size")?;
            known = known.saturating_add(s);
            out.push(s);
        }
    }
    match unknown {
        Some(i) if known <= full => out[i] = full - known,
        _ if known == full => {}
        _ => {
            return Err(KernelError::Invalid(format!(
                "sizes {sizes:?} do not add up to dimension {axis} of shape {:?}",
                x.shape
            )))
        }
    }
    Ok((x, axis, out))
}

fn one(axis: Vec<i64>, rank: usize) -> Result<usize, KernelError> {
    match axis[..] {
        [a] => axis_index(a, rank),
        _ => Err(KernelError::Invalid(format!(
            "the axis must be one value, found {axis:?}"
        ))),
    }
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (x, axis, sizes) = plan(ctx, inputs)?;
    sizes
        .iter()
        .map(|&s| {
            let mut shape = x.shape.clone();
            shape[axis] = s;
            OutSpec::new(shape, x.kind())
        })
        .collect()
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let (x, axis, sizes) = plan(ctx, inputs)?;
    let st = signed_strides(&x.shape);
    let mut start = 0usize;
    let mut out = Vec::with_capacity(sizes.len());
    for (s, spec) in sizes.iter().zip(specs) {
        let offset = start * st[axis] as usize;
        out.push(Tensor {
            shape: spec.shape.clone(),
            data: map_data!(&x.data, v => strided(v, offset, &spec.shape, &st)),
        });
        start += s;
    }
    Ok(out)
}
