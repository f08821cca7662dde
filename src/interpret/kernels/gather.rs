//! GATHER: slices of `params` along `axis` picked by int32 or int64
//! indices, with `batch_dims` leading dimensions shared by both; on any
//! element type.

use super::super::error::KernelError;
use super::super::value::{map_data, Tensor};
use super::context::{axis_index, Inputs, OpContext, OutSpec};

struct Plan {
    batch: usize,
    outer: usize,
    axis_size: usize,
    inner: usize,
    coords: usize,
    shape: Vec<usize>,
}

fn plan(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Plan, KernelError> {
    let (axis, batch_dims) = ctx
        .options
        .as_gather_options()
        .map_or((0, 0), |o| (o.axis, o.batch_dims));
    let p = &inputs.get(0)?.shape;
    let ix = inputs.get(1)?;
    if ix.data.to_i64().is_none() {
        return Err(KernelError::Invalid(format!(
            "indices hold {} values, not integers",
            ix.kind()
        )));
    }
    let axis = axis_index(i64::from(axis), p.len())?;
    let bd = if batch_dims < 0 {
        i64::from(batch_dims) + ix.shape.len() as i64
    } else {
        i64::from(batch_dims)
    };
    let bd = usize::try_from(bd)
        .ok()
        .filter(|&b| b <= axis && b <= ix.shape.len());
    let Some(bd) = bd.filter(|&b| p[..b] == ix.shape[..b]) else {
        return Err(KernelError::Invalid(format!(
            "batch_dims {batch_dims} does not fit params {p:?}, indices {:?} and axis {axis}",
            ix.shape
        )));
    };
    let mut shape = p[..axis].to_vec();
    shape.extend_from_slice(&ix.shape[bd..]);
    shape.extend_from_slice(&p[axis + 1..]);
    Ok(Plan {
        batch: p[..bd].iter().product(),
        outer: p[bd..axis].iter().product(),
        axis_size: p[axis],
        inner: p[axis + 1..].iter().product(),
        coords: ix.shape[bd..].iter().product(),
        shape,
    })
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
    let p = plan(ctx, inputs)?;
    let params = inputs.get(0)?;
    let indices = inputs.ints(1)?;
    // Every index is checked before any copy, so the copy cannot go astray.
    if let Some(&bad) = indices
        .iter()
        .find(|&&i| usize::try_from(i).map_or(true, |i| i >= p.axis_size))
    {
        return Err(KernelError::Values(format!(
            "index {bad} is out of range for a dimension of size {}",
            p.axis_size
        )));
    }
    let total = specs[0].len();
    let data = map_data!(&params.data, v => take(v, &p, &indices, total));
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data,
    }])
}

fn take<T: Copy>(v: &[T], p: &Plan, indices: &[i64], total: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    for b in 0..p.batch {
        for o in 0..p.outer {
            for c in 0..p.coords {
                let i = indices[b * p.coords + c] as usize;
                let at = ((b * p.outer + o) * p.axis_size + i) * p.inner;
                out.extend_from_slice(&v[at..at + p.inner]);
            }
        }
    }
    out
}
