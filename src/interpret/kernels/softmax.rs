//! SOFTMAX (with beta) and LOG_SOFTMAX along the last dimension.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use crate::model::fb::BuiltinOperator as Op;

pub fn shape(_ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let (s, _) = inputs.f32(0)?;
    Ok(vec![OutSpec::f32(s.to_vec())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let (s, x) = inputs.f32(0)?;
    let log = ctx.opcode.is(Op::LOG_SOFTMAX);
    let beta = if log {
        1.0
    } else {
        ctx.options.as_softmax_options().map_or(1.0, |o| o.beta)
    };
    let depth = s.last().copied().unwrap_or(1);
    let mut out = x.to_vec();
    if depth > 0 {
        for row in out.chunks_exact_mut(depth) {
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0f64;
            for v in row.iter_mut() {
                *v = (*v - max) * beta;
                sum += f64::from(v.exp());
            }
            if log {
                let ls = sum.ln() as f32;
                row.iter_mut().for_each(|v| *v -= ls);
            } else {
                let inv = (1.0 / sum) as f32;
                row.iter_mut().for_each(|v| *v = v.exp() * inv);
            }
        }
    }
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data: Data::F32(out),
    }])
}
