//! LOGISTIC, TANH and SOFTMAX as onert computes them on 8-bit values:
//! from float32 lookup tables.
//!
//! LOGISTIC and TANH (uint8) map each of the 256 input integers through
//! the function in float32 (the input dequantized in float64, the output
//! scaled by the float32 reciprocal of its scale) and round half away from
//! zero. SOFTMAX keeps `exp(-s_in * beta * d)` for each distance `d` of an
//! integer below its row's maximum, sums a row's entries in order in
//! float32, and rounds each entry times `1 / (sum * s_out)`. The tables
//! come from the C library's `expf` and `tanhf`, which Rust's `f32::exp`
//! and `f32::tanh` call on the platforms the runtime runs on.

use super::super::error::KernelError;
use super::Call;
use crate::model::fb::BuiltinOperator as Op;

/// The 256 integers of uint8.
const LEVELS: usize = 256;

pub fn activation(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let x = call.operand(0)?;
    let tanh = call.ctx.opcode.is(Op::TANH);
    let (s_in, z_in) = x.params.first();
    let (s_out, z_out) = call.out.first();
    let inverse = (1.0 / f64::from(s_out)) as f32;
    let table: Vec<i32> = (0..LEVELS as i32)
        .map(|q| {
            let real = (f64::from(s_in) * f64::from(q - z_in as i32)) as f32;
            let y = if tanh {
                real.tanh()
            } else {
                1.0 / (1.0 + (-real).exp())
            };
            let rescaled = (y * inverse).round();
            ((rescaled + z_out as f32) as i32).clamp(0, LEVELS as i32 - 1)
        })
        .collect();
    x.q()?
        .iter()
        .map(|&q| {
            usize::try_from(q)
                .ok()
                .and_then(|i| table.get(i).copied())
                .ok_or_else(|| KernelError::Invalid(format!("{q} is not a uint8 value")))
        })
        .collect()
}

pub fn softmax(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let x = call.operand(0)?;
    let beta = call
        .ctx
        .options
        .as_softmax_options()
        .map_or(1.0, |o| o.beta);
    let scale = -x.params.first().0 * beta;
    // table[d]: the weight of an integer d below the row's maximum.
    let table: Vec<f32> = (0..LEVELS).map(|d| (scale * d as f32).exp()).collect();
    let (s_out, z_out) = call.out.first();
    let (lo, hi) = (call.out.qmin as i32, call.out.qmax as i32);
    let depth = x.shape.last().copied().unwrap_or(1).max(1);
    let q = x.q()?;
    let mut out = Vec::with_capacity(q.len());
    for row in q.chunks(depth) {
        let max = row.iter().copied().max().unwrap_or(0);
        let weight = |q: i32| {
            usize::try_from(max - q)
                .ok()
                .and_then(|d| table.get(d).copied())
                .unwrap_or(0.0)
        };
        let sum = row.iter().fold(0.0f32, |s, &q| s + weight(q));
        let inverse = 1.0 / (sum * s_out);
        out.extend(row.iter().map(|&q| {
            let p = (weight(q) * inverse).round() as i32;
            p.wrapping_add(z_out as i32).clamp(lo, hi)
        }));
    }
    Ok(out)
}
