//! AVERAGE_POOL_2D, MAX_POOL_2D and MEAN in integers.
//!
//! The pools work on the input's integers and write them as the output's,
//! whatever the two tensors' parameters (the runtimes assume they are
//! equal): the maximum, or the average rounded half away from zero. MEAN
//! (uint8) is onert's: the integer sum, then `sum / n * (s_in / s_out) -
//! z_in * (s_in / s_out) + z_out` in float32, rounded half away from zero.

use super::super::error::KernelError;
use super::super::kernels::{pool, reduce};
use super::output::activation_range;
use super::Call;
use crate::model::fb::BuiltinOperator as Op;

pub fn pool(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let g = pool::geometry(call.ctx, call.inputs)?;
    let x = call.operand(0)?;
    let max = call.ctx.opcode.is(Op::MAX_POOL_2D);
    let (lo, hi) = activation_range(call.ctx.activation, call.out)?;
    let c = g.shape[3];
    let q = x.q()?;
    let mut out = vec![0; call.spec.len()];
    let mut acc = vec![0i32; c];
    pool::windows(&g, |at, cells| {
        acc.fill(if max { i32::MIN } else { 0 });
        for &from in cells {
            let row = &q[from..from + c];
            if max {
                acc.iter_mut().zip(row).for_each(|(a, &v)| *a = (*a).max(v));
            } else {
                acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
        }
        let n = cells.len() as i32;
        for (d, &a) in out[at..at + c].iter_mut().zip(&acc) {
            let v = match (max, n) {
                (true, _) => a,
                (false, 0) => 0,
                (false, n) if a >= 0 => (a + n / 2) / n,
                (false, n) => (a - n / 2) / n,
            };
            *d = v.clamp(lo, hi);
        }
    });
    Ok(out)
}

/// onert's rounding: half away from zero by truncating `v +- 0.5`.
fn round_nearest(v: f32) -> f32 {
    if v < 0.0 {
        ((v - 0.5) as i32) as f32
    } else {
        ((v + 0.5) as i32) as f32
    }
}

pub fn mean(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (reduced, _) = reduce::plan(call.ctx, call.inputs)?;
    let x = call.operand(0)?;
    let count = reduce::reduced_count(x.shape, &reduced);
    let sums = reduce::fold(x.q()?, x.shape, &reduced, call.spec.len(), 0i32, |a, q| {
        a.wrapping_add(q)
    });
    let ((s_in, z_in), (s_out, z_out)) = (x.params.first(), call.out.first());
    let scale = s_in / s_out;
    let bias = -(z_in as f32) * scale;
    let (lo, hi) = (call.out.qmin as f32, call.out.qmax as f32);
    Ok(sums
        .into_iter()
        .map(|sum| {
            let mean = sum as f32 / count as f32;
            let v = round_nearest(mean * scale + bias + z_out as f32);
            v.clamp(lo, hi) as i32
        })
        .collect())
}
