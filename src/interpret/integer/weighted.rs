//! CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED in integers:
//! `acc = bias + sum((x - zx) * (w - zw))` exactly in int32, then each
//! output channel's multiplier `s_in * s_w / s_out`, the output zero point
//! and the fused activation's clamp. The float kernels' geometry and loops
//! serve here too, on integer-valued arrays.
//!
//! As onert's kernels: int8 weights are read without their zero point
//! (TFLite requires it to be 0), and FULLY_CONNECTED, a per-tensor kernel,
//! reads channel 0's parameters of per-channel weights. Constant weights'
//! levels are worked out once for all samples ([`super::Plan::constant`]).

use super::super::error::KernelError;
use super::super::gemm::Mat;
use super::super::kernels::{conv, depthwise, fully_connected};
use super::fixed_point::Multiplier;
use std::borrow::Cow;

use super::super::quant::Params;
use super::matmul::accumulate_product;
use super::output::{activation_range, requantize, weighted_multipliers};
use super::{Call, Levels, Operand};

/// The weights' `q - zw`: per channel along `axis` when the kernel reads
/// them per channel, or with channel 0's zero point; int8 weights as they
/// are (their zero point is not read). `out` tells the 8-bit type.
pub fn weight_levels(
    w: &Operand<'_>,
    axis: usize,
    per_channel: bool,
    out: &Params,
) -> Result<Vec<i32>, KernelError> {
    if out.qmin != 0 {
        return Ok(w.q()?.to_vec());
    }
    let zeros = &w.params.zero_point;
    if !per_channel || zeros.len() <= 1 {
        return w.levels();
    }
    let inner: usize = w.shape.get(axis + 1..).map_or(1, |d| d.iter().product());
    let n = zeros.len();
    Ok(w.q()?
        .iter()
        .enumerate()
        .map(|(i, &q)| q - zeros[(i / inner.max(1)) % n] as i32)
        .collect())
}

/// The weights' levels: worked out once for constant weights, here for
/// the others.
fn levels<'a>(
    call: &Call<'a>,
    axis: usize,
    per_channel: bool,
) -> Result<Cow<'a, Levels>, KernelError> {
    let w = call.operand(1)?;
    Ok(match w.weight_levels() {
        Some(l) => Cow::Borrowed(l),
        None => Cow::Owned(Levels::new(weight_levels(w, axis, per_channel, call.out)?)),
    })
}

/// `len` accumulators holding the bias repeated per position (or zeros).
fn prefill(call: &Call<'_>, len: usize, channels: usize) -> Result<Vec<i32>, KernelError> {
    Ok(match call.operands.get(2).and_then(Option::as_ref) {
        Some(b) if channels > 0 => b.q()?.iter().copied().cycle().take(len).collect(),
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

pub fn conv(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let g = conv::geometry(call.ctx, call.inputs)?;
    let (x, w) = (call.operand(0)?, call.operand(1)?);
    let depth = w.shape.get(3).copied().unwrap_or(1).max(1);
    let (xl, x_max) = x.float_levels()?;
    let wl = levels(call, 0, true)?;
    let mut acc = prefill(call, call.spec.len(), g.out_c)?;
    let mut scratch = Vec::new();
    conv::convolve(
        &g,
        g.in_c / depth,
        &xl,
        &wl.floats,
        &mut acc,
        &mut |a, b, c, ldc| accumulate_product(a, b, (x_max, wl.max), c, ldc, &mut scratch),
    );
    finish(call, &acc, g.out_c, w.params.scale.len() > 1)
}

pub fn depthwise(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (g, mult) = depthwise::geometry(call.ctx, call.inputs)?;
    let (x, w) = (call.operand(0)?, call.operand(1)?);
    let xl = x.levels()?;
    let wl = levels(call, 3, true)?;
    let mut acc = prefill(call, call.spec.len(), g.out_c)?;
    depthwise::convolve(&g, mult, &xl, &wl.ints, &mut acc);
    finish(call, &acc, g.out_c, w.params.scale.len() > 1)
}

pub fn fully_connected(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let ((rows, k, n), _) = fully_connected::geometry(call.ctx, call.inputs)?;
    let x = call.operand(0)?;
    let (xl, x_max) = x.float_levels()?;
    let wl = levels(call, 0, false)?;
    let mut acc = prefill(call, rows * n, n)?;
    accumulate_product(
        Mat::rows(&xl, rows, k),
        Mat::rows(&wl.floats, n, k).t(),
        (x_max, wl.max),
        &mut acc,
        n,
        &mut Vec::new(),
    );
    finish(call, &acc, n, false)
}
