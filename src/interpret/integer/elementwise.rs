//! ADD, SUB and MUL in integers, with numpy broadcasting.
//!
//! ADD and SUB bring both operands to a common scale first: each `q - z`
//! is shifted left by 20 bits and multiplied by `s_i / (2 max(s1, s2))`;
//! the sum is multiplied by `2 max(s1, s2) / (2^20 s_out)`. SUB negates
//! the second operand's multiplier, as onert does. MUL multiplies `(q1 -
//! z1)(q2 - z2)` by `s1 s2 / s_out`, computed in float32 as onert computes
//! it. Both read an operand's first scale and zero point only, as the
//! runtimes' per-tensor kernels do.

use super::super::error::KernelError;
use super::super::kernels::broadcast;
use super::fixed_point::Multiplier;
use super::output::activation_range;
use super::Call;
use crate::model::fb::BuiltinOperator as Op;

/// The bits ADD and SUB shift their operands left by before rescaling
/// them: room for the fractions of the common scale.
const LEFT_SHIFT: u32 = 20;

fn zip(call: &Call<'_>, f: impl Fn(i32, i32) -> i32) -> Result<Vec<i32>, KernelError> {
    let (a, b) = (call.operand(0)?, call.operand(1)?);
    let out = &call.spec.shape;
    if broadcast::shape(a.shape, b.shape).as_ref() != Some(out) {
        return Err(KernelError::Invalid(format!(
            "shapes {:?} and {:?} do not broadcast to {out:?}",
            a.shape, b.shape
        )));
    }
    Ok(broadcast::zip(
        &a.levels(),
        a.shape,
        &b.levels(),
        b.shape,
        out,
        f,
    ))
}

pub fn add(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (s1, s2) = (
        call.operand(0)?.params.first().0,
        call.operand(1)?.params.first().0,
    );
    let (s_out, z_out) = call.out.first();
    // 2 max(s1, s2) is exact in float32; the ratios are taken in float64.
    let norm = f64::from(2.0 * s1.max(s2));
    let m1 = Multiplier::new(f64::from(s1) / norm);
    let mut m2 = Multiplier::new(f64::from(s2) / norm);
    if call.ctx.opcode.is(Op::SUB) {
        m2.significand = -m2.significand;
    }
    let scaled_out = s_out * (1u32 << LEFT_SHIFT) as f32;
    let m_out = Multiplier::new(norm / f64::from(scaled_out));
    let (lo, hi) = activation_range(call.ctx.activation, call.out)?;
    let z_out = z_out as i32;
    zip(call, |l1, l2| {
        let a = m1.apply(l1.wrapping_shl(LEFT_SHIFT));
        let b = m2.apply(l2.wrapping_shl(LEFT_SHIFT));
        m_out
            .apply(a.wrapping_add(b))
            .wrapping_add(z_out)
            .clamp(lo, hi)
    })
}

pub fn mul(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (s1, s2) = (
        call.operand(0)?.params.first().0,
        call.operand(1)?.params.first().0,
    );
    let (s_out, z_out) = call.out.first();
    let m = Multiplier::new(f64::from(s1 * s2 / s_out));
    let (lo, hi) = activation_range(call.ctx.activation, call.out)?;
    let z_out = z_out as i32;
    zip(call, |l1, l2| {
        m.apply(l1.wrapping_mul(l2))
            .wrapping_add(z_out)
            .clamp(lo, hi)
    })
}
