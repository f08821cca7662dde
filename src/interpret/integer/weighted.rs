//! CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED in integers:
//! `acc = bias + sum((x - zx) * (w - zw))` exactly in int32, then each
//! output channel's multiplier `s_in * s_w / s_out`, the output zero point
//! and the fused activation's clamp. The float kernels' geometry and loops
//! serve here too, on integer-valued arrays.
//!
//! As onert's kernels: int8 weights are read without their zero point
//! (TFLite requires it to be 0), and FULLY_CONNECTED, a per-tensor kernel,
//! reads channel 0's parameters of per-channel weights.

use super::super::error::KernelError;
use super::super::gemm::Mat;
use super::super::kernels::{conv, depthwise, fully_connected};
use super::fixed_point::Multiplier;
use super::matmul::{accumulate_product, max_abs};
use super::output::{activation_range, requantize, weighted_multipliers};
use super::{Call, Operand};

/// How the kernel reads per-channel weight parameters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Channels {
    /// Each output channel along this axis has its own.
    Along(usize),
    /// Channel 0's serve every channel.
    First,
}

/// The weights' `q - zw`: per channel along the axis, or channel 0's zero
/// point; int8 weights as they are (their zero point is not read).
fn weight_levels(w: &Operand<'_>, channels: Channels, unsigned: bool) -> Vec<i32> {
    if !unsigned {
        return w.q.to_vec();
    }
    let zeros = &w.params.zero_point;
    match channels {
        Channels::Along(axis) if zeros.len() > 1 => {
            let inner: usize = w.shape.get(axis + 1..).map_or(1, |d| d.iter().product());
            let n = zeros.len();
            w.q.iter()
                .enumerate()
                .map(|(i, &q)| q - zeros[(i / inner.max(1)) % n] as i32)
                .collect()
        }
        _ => w.levels(),
    }
}

/// `len` accumulators holding the bias repeated per position (or zeros).
fn prefill(call: &Call<'_>, len: usize, channels: usize) -> Result<Vec<i32>, KernelError> {
    Ok(match call.operands.get(2).and_then(Option::as_ref) {
        Some(b) if channels > 0 => b.q.iter().copied().cycle().take(len).collect(),
        _ => vec![0; len],
    })
}

/// The multipliers and the clamp, applied to the accumulators.
fn finish(
    call: &Call<'_>,
    acc: &[i32],
    channels: usize,
    per_channel: bool,
) -> Result<Vec<i32>, KernelError> {
    let (x, w) = (call.operand(0)?, call.operand(1)?);
    let range = activation_range(call.ctx.activation, call.out)?;
    let multipliers: Vec<Multiplier> = if per_channel {
        weighted_multipliers(x.params, &w.params.scale, call.out, channels)
    } else {
        weighted_multipliers(x.params, &w.params.scale[..1], call.out, channels)
    };
    Ok(requantize(
        acc,
        &multipliers,
        call.out.first().1 as i32,
        range,
    ))
}

fn floats(v: &[i32]) -> Vec<f32> {
    v.iter().map(|&q| q as f32).collect()
}

pub fn conv(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let g = conv::geometry(call.ctx, call.inputs)?;
    let (x, w) = (call.operand(0)?, call.operand(1)?);
    let depth = w.shape.get(3).copied().unwrap_or(1).max(1);
    let xl = floats(&x.levels());
    let wl = floats(&weight_levels(w, Channels::Along(0), call.unsigned()));
    let bounds = (max_abs(&xl), max_abs(&wl));
    let mut acc = prefill(call, call.spec.len(), g.out_c)?;
    let mut scratch = Vec::new();
    conv::convolve(
        &g,
        g.in_c / depth,
        &xl,
        &wl,
        &mut acc,
        &mut |a, b, c, ldc| accumulate_product(a, b, bounds, c, ldc, &mut scratch),
    );
    finish(call, &acc, g.out_c, w.params.scale.len() > 1)
}

pub fn depthwise(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (g, mult) = depthwise::geometry(call.ctx, call.inputs)?;
    let (x, w) = (call.operand(0)?, call.operand(1)?);
    let xl = x.levels();
    let wl = weight_levels(w, Channels::Along(3), call.unsigned());
    let mut acc = prefill(call, call.spec.len(), g.out_c)?;
    depthwise::convolve(&g, mult, &xl, &wl, &mut acc);
    finish(call, &acc, g.out_c, w.params.scale.len() > 1)
}

pub fn fully_connected(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let ((rows, k, n), _) = fully_connected::geometry(call.ctx, call.inputs)?;
    let (x, w) = (call.operand(0)?, call.operand(1)?);
    let xl = floats(&x.levels());
    let wl = floats(&weight_levels(w, Channels::First, call.unsigned()));
    let bounds = (max_abs(&xl), max_abs(&wl));
    let mut acc = prefill(call, rows * n, n)?;
    accumulate_product(
        Mat::rows(&xl, rows, k),
        Mat::rows(&wl, n, k).t(),
        bounds,
        &mut acc,
        n,
        &mut Vec::new(),
    );
    finish(call, &acc, n, false)
}
