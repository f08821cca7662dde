//! TRANSPOSE: dimensions permuted by the second input.

use super::super::error::KernelError;
use super::super::value::{map_data, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use super::layout::{signed_strides, strided};

/// The permutation, checked.
fn permutation(inputs: &Inputs<'_>) -> Result<Vec<usize>, KernelError> {
    let rank = inputs.get(0)?.shape.len();
    let perm = inputs.ints(1)?;
    let mut seen = vec![false; rank];
    let ok = perm.len() == rank
        && perm.iter().all(|&p| {
            usize::try_from(p)
                .ok()
                .filter(|&p| p < rank && !seen[p])
                .map(|p| seen[p] = true)
                .is_some()
        });
    if !ok {
        return Err(KernelError::Invalid(format!(
            "{perm:?} is not a permutation of {rank} dimensions"
        )));
    }
    Ok(perm.into_iter().map(|p| p as usize).collect())
}

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let x = inputs.get(0)?;
    let perm = permutation(inputs)?;
    let s = perm.iter().map(|&p| x.shape[p]).collect();
    Ok(vec![OutSpec::new(s, x.kind())?])
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let x = inputs.get(0)?;
    let perm = permutation(inputs)?;
    let st = signed_strides(&x.shape);
    let steps: Vec<isize> = perm.iter().map(|&p| st[p]).collect();
    let shape = &specs[0].shape;
    Ok(vec![Tensor {
        shape: shape.clone(),
        data: map_data!(&x.data, v => strided(v, 0, shape, &steps)),
    }])
}
