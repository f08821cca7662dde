//! INSTANCE_NORM, circle's own operator: each channel of each sample is
//! normalized over the dimensions between the first and the last (NHWC's
//! H and W), then scaled by gamma and shifted by beta (one value each, or
//! one per channel), then the fused activation.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::activation;
use super::context::{Inputs, OpContext, OutSpec};

fn per_channel(inputs: &Inputs<'_>, i: usize, channels: usize) -> Result<Vec<f32>, KernelError> {
    let (_, v) = inputs.f32(i)?;
    match v.len() {
        1 => Ok(vec![v[0]; channels]),
        n if n == channels => Ok(v.to_vec()),
        n => Err(KernelError::Invalid(format!(
            "input {i} has {n} values for {channels} channels"
        ))),
    }
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    activation::check(ctx.activation)?;
    let (s, _) = inputs.f32(0)?;
    if s.len() < 2 {
        return Err(KernelError::Invalid(format!(
            "the input needs a batch and a channel dimension, found shape {s:?}"
        )));
    }
    let c = s[s.len() - 1];
    per_channel(inputs, 1, c)?;
    per_channel(inputs, 2, c)?;
    Ok(vec![OutSpec::f32(s.to_vec())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let (s, x) = inputs.f32(0)?;
    let eps = ctx
        .options
        .as_instance_norm_options()
        .map_or(1e-5, |o| o.epsilon);
    let c = s[s.len() - 1];
    let n = s[0];
    let gamma = per_channel(inputs, 1, c)?;
    let beta = per_channel(inputs, 2, c)?;
    let mut out = vec![0.0; x.len()];
    let spatial = x.len().checked_div(n * c).unwrap_or(0);
    for b in 0..n {
        let base = b * spatial * c;
        for ch in 0..c {
            let at = |i: usize| base + i * c + ch;
            let mean = (0..spatial).map(|i| f64::from(x[at(i)])).sum::<f64>() / spatial as f64;
            let var = (0..spatial)
                .map(|i| (f64::from(x[at(i)]) - mean).powi(2))
                .sum::<f64>()
                / spatial as f64;
            let k = f64::from(gamma[ch]) / (var + f64::from(eps)).sqrt();
            for i in 0..spatial {
                out[at(i)] = ((f64::from(x[at(i)]) - mean) * k + f64::from(beta[ch])) as f32;
            }
        }
    }
    activation::apply(ctx.activation, &mut out)?;
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}
