//! From an int32 accumulator to the output's integers: the fused
//! activation's range, and the multipliers of the weighted operators.

use super::super::error::KernelError;
use super::super::quant::Params;
use super::fixed_point::Multiplier;
use crate::model::fb::ActivationFunctionType as Act;

/// The output integers a fused activation keeps, as the runtimes compute
/// them: the dtype's range narrowed to `z + round(bound / s)` for each
/// bound of the activation (the division and rounding in float32).
pub fn activation_range(act: Act, out: &Params) -> Result<(i32, i32), KernelError> {
    let (s, z) = out.first();
    let (lo, hi) = (out.qmin as i32, out.qmax as i32);
    let q = |bound: f32| (z as i32).saturating_add((bound / s).round() as i32);
    let (lo, hi) = match act {
        Act::NONE => (lo, hi),
        Act::RELU => (lo.max(q(0.0)), hi),
        Act::RELU6 => (lo.max(q(0.0)), hi.min(q(6.0))),
        Act::RELU_N1_TO_1 => (lo.max(q(-1.0)), hi.min(q(1.0))),
        other => {
            return Err(KernelError::Unsupported(format!(
                "fused activation {} has no integer kernel",
                other.variant_name().unwrap_or("(unknown)")
            )))
        }
    };
    // A zero point outside the type leaves the range empty; the runtimes
    // clamp with max then min, so every value becomes the upper bound.
    Ok((lo.min(hi), hi))
}

/// Each accumulator scaled by its channel's multiplier (channels along
/// the last dimension; one multiplier serves all), plus the zero point,
/// clamped to `range`.
pub fn requantize(
    acc: &[i32],
    multipliers: &[Multiplier],
    zero: i32,
    (lo, hi): (i32, i32),
) -> Vec<i32> {
    if let [k] = multipliers {
        return acc
            .iter()
            .map(|&a| k.apply(a).wrapping_add(zero).clamp(lo, hi))
            .collect();
    }
    let m = multipliers.len().max(1);
    let mut out = Vec::with_capacity(acc.len());
    for row in acc.chunks(m) {
        out.extend(
            row.iter()
                .zip(multipliers.iter().cycle())
                .map(|(&a, k)| k.apply(a).wrapping_add(zero).clamp(lo, hi)),
        );
    }
    out
}

/// The multipliers `s_in * s_w / s_out` of a weighted operator, one per
/// output channel (or one), from the weights' scales (one, or one per
/// channel). uint8 with one weight scale takes the product of the two
/// scales in float32, as onert's per-tensor kernels do; the per-channel
/// and int8 kernels take it in float64.
pub fn weighted_multipliers(
    input: &Params,
    weight_scales: &[f32],
    out: &Params,
    channels: usize,
) -> Vec<Multiplier> {
    let s_in = input.first().0;
    let s_out = f64::from(out.first().0);
    let first = weight_scales.first().copied().unwrap_or(0.0);
    if weight_scales.len() <= 1 && input.qmin == 0 {
        return vec![Multiplier::new(f64::from(s_in * first) / s_out)];
    }
    (0..channels)
        .map(|c| {
            let s_w = weight_scales.get(c).copied().unwrap_or(first);
            Multiplier::new(f64::from(s_in) * f64::from(s_w) / s_out)
        })
        .collect()
}
