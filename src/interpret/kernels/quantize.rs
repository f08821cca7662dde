//! QUANTIZE and DEQUANTIZE: values are held as real numbers, so both are
//! the identity here; the session moves a QUANTIZE's output onto its
//! parameters' grid, as it does for every quantized output.

use super::super::error::KernelError;
use super::super::value::Tensor;
use super::context::{Inputs, OpContext, OutSpec};

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (s, _) = inputs.f32(0)?;
    Ok(vec![OutSpec::f32(s.to_vec())?])
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    _specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    inputs.f32(0)?;
    Ok(vec![inputs.get(0)?.clone()])
}
