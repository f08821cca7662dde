//! CONCATENATION and QUANTIZE between 8-bit types: integers carried to
//! other parameters.
//!
//! CONCATENATION copies the inputs whose parameters are the output's and
//! rescales the others as onert does, in float32: `round(q * (s_i /
//! s_out) - z_i * (s_i / s_out)) + z_out`, clamped to uint8. QUANTIZE from
//! one 8-bit type to another is TFLite's requantization: `q - z_in` times
//! the fixed-point multiplier `s_in / s_out`, plus `z_out`, clamped.

use super::super::error::KernelError;
use super::super::kernels::concat;
use super::fixed_point::Multiplier;
use super::{Call, Operand};

/// One input's integers carried to the output's parameters.
fn carried(x: &Operand<'_>, call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let ((s_in, z_in), (s_out, z_out)) = (x.params.first(), call.out.first());
    if (s_in, z_in) == (s_out, z_out) {
        return Ok(x.q()?.to_vec());
    }
    let scale = s_in * (1.0 / s_out);
    let bias = -(z_in as f32) * scale;
    let (lo, hi) = (call.out.qmin as i32, call.out.qmax as i32);
    Ok(x.q()?
        .iter()
        .map(|&q| (((q as f32) * scale + bias).round() as i32 + z_out as i32).clamp(lo, hi))
        .collect())
}

pub fn concat(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (axis, shape) = concat::plan(call.ctx, call.inputs)?;
    let parts: Vec<(Vec<i32>, usize)> = (0..call.inputs.len())
        .map(|i| {
            let x = call.operand(i)?;
            Ok((carried(x, call)?, x.shape[axis]))
        })
        .collect::<Result<_, KernelError>>()?;
    let slices: Vec<(&[i32], usize)> = parts.iter().map(|(v, d)| (v.as_slice(), *d)).collect();
    Ok(concat::join(&slices, axis, &shape))
}

pub fn requantize(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let x = call.operand(0)?;
    let ((s_in, _), (s_out, z_out)) = (x.params.first(), call.out.first());
    let m = Multiplier::new(f64::from(s_in) / f64::from(s_out));
    let (lo, hi) = (call.out.qmin as i32, call.out.qmax as i32);
    Ok(x.levels()?
        .into_iter()
        .map(|l| m.apply(l).wrapping_add(z_out as i32).clamp(lo, hi))
        .collect())
}
