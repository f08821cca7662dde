//! PRELU: `x` where positive, `alpha * x` elsewhere, alpha broadcast.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::broadcast;
use super::context::{Inputs, OpContext, OutSpec};

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (x, _) = inputs.f32(0)?;
    let (a, _) = inputs.f32(1)?;
    let s = broadcast::shape(x, a).ok_or_else(|| {
        KernelError::Invalid(format!("alpha of shape {a:?} does not broadcast to {x:?}"))
    })?;
    Ok(vec![OutSpec::f32(s)?])
}

pub fn eval(
    _ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let (sx, x) = inputs.f32(0)?;
    let (sa, a) = inputs.f32(1)?;
    let shape = &specs[0].shape;
    let v = broadcast::zip(x, sx, a, sa, shape, |x, a| if x >= 0.0 { x } else { x * a });
    Ok(vec![Tensor {
        shape: shape.clone(),
        data: Data::F32(v),
    }])
}
