//! SLICE: a box given by its start and size (-1 to the end).

use super::super::error::KernelError;
use super::super::value::{map_data, Tensor};
use super::context::{dim, Inputs, OpContext, OutSpec};
use super::layout::{signed_strides, strided};

/// The start offset (in elements) and the output shape.
fn plan(inputs: &Inputs<'_>) -> Result<(usize, Vec<usize>), KernelError> {
    let x = inputs.get(0)?;
    let begin = inputs.ints(1)?;
    let size = inputs.ints(2)?;
    let r = x.shape.len();
    if begin.len() != r || size.len() != r {
        return Err(KernelError::Invalid(format!(
            "begin {begin:?} and size {size:?} must have one value per dimension of {:?}",
            x.shape
        )));
    }
    let st = super::super::value::strides(&x.shape);
    let mut start = 0usize;
    let mut shape = Vec::with_capacity(r);
    for d in 0..r {
        let b = dim(begin[d], "a start")?;
        let n = if size[d] == -1 {
            x.shape[d].checked_sub(b)
        } else {
            Some(dim(size[d], "a size")?)
                .filter(|n| b.checked_add(*n).is_some_and(|e| e <= x.shape[d]))
        };
        let n = n.ok_or_else(|| {
            KernelError::Invalid(format!(
                "begin {begin:?} and size {size:?} reach outside shape {:?}",
                x.shape
            ))
        })?;
        start += b.min(x.shape[d].saturating_sub(1)) * st[d];
        shape.push(n);
    }
    Ok((start, shape))
}

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (_, s) = plan(inputs)?;
    Ok(vec![OutSpec::new(s, inputs.get(0)?.kind())?])
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let x = inputs.get(0)?;
    let (start, shape) = plan(inputs)?;
    let st = signed_strides(&x.shape);
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: map_data!(&x.data, v => strided(v, start, &shape, &st)),
    }])
}
