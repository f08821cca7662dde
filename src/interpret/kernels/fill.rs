//! FILL: a tensor of the shape the first input gives, every element the
//! scalar second input.

use super::super::error::KernelError;
use super::super::value::{map_data, Tensor};
use super::context::{dim, Inputs, OpContext, OutSpec};

fn dims(inputs: &Inputs<'_>) -> Result<Vec<usize>, KernelError> {
    inputs
        .ints(0)?
        .into_iter()
        .map(|d| dim(d, "a dimension"))
        .collect()
}

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let v = inputs.get(1)?;
    if v.len() != 1 {
        return Err(KernelError::Invalid(format!(
            "the fill value must be a scalar, found shape {:?}",
            v.shape
        )));
    }
    Ok(vec![OutSpec::new(dims(inputs)?, v.kind())?])
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let n = specs[0].len();
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: map_data!(&inputs.get(1)?.data, v => vec![v[0]; n]),
    }])
}
