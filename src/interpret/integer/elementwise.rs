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
use super::{Call, Operand};
use crate::model::fb::BuiltinOperator as Op;

/// The bits ADD and SUB shift their operands left by before rescaling
/// them: room for the fractions of the common scale.
const LEFT_SHIFT: u32 = 20;

/// `f(a, b)` over the broadcast of the two operands' integers.
fn zip(call: &Call<'_>, f: impl Fn(i32, i32) -> i32) -> Result<Vec<i32>, KernelError> {
    let (a, b) = (call.operand(0)?, call.operand(1)?);
    let out = &call.spec.shape;
    if broadcast::shape(a.shape, b.shape).as_ref() != Some(out) {
        return Err(KernelError::Invalid(format!(
            "shapes {:?} and {:?} do not broadcast to {out:?}",
            a.shape, b.shape
        )));
    }
    Ok(broadcast::zip(a.q()?, a.shape, b.q()?, b.shape, out, f))
}

/// An operand's integer `q` rescaled by `m` after the left shift, for
/// every `q` of its type (indexed by `q - qmin`): 256 multiplies instead
/// of one per element.
fn rescaled(x: &Operand<'_>, m: Multiplier) -> Vec<i32> {
    let z = x.params.first().1 as i32;
    (x.params.qmin as i32..=x.params.qmax as i32)
        .map(|q| m.apply((q - z).wrapping_shl(LEFT_SHIFT)))
        .collect()
}

pub fn add(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (a, b) = (call.operand(0)?, call.operand(1)?);
    let (s1, s2) = (a.params.first().0, b.params.first().0);
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
    let (t1, t2) = (rescaled(a, m1), rescaled(b, m2));
    let (min1, min2) = (a.params.qmin as i32, b.params.qmin as i32);
    let at = |t: &[i32], i: i32| t.get(i as usize).copied().unwrap_or(0);
    zip(call, |q1, q2| {
        let sum = at(&t1, q1 - min1).wrapping_add(at(&t2, q2 - min2));
        m_out.apply(sum).wrapping_add(z_out).clamp(lo, hi)
    })
}

pub fn mul(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let (a, b) = (call.operand(0)?, call.operand(1)?);
    let ((s1, z1), (s2, z2)) = (a.params.first(), b.params.first());
    let (s_out, z_out) = call.out.first();
    let m = Multiplier::new(f64::from(s1 * s2 / s_out));
    let (lo, hi) = activation_range(call.ctx.activation, call.out)?;
    let (z1, z2, z_out) = (z1 as i32, z2 as i32, z_out as i32);
    zip(call, |q1, q2| {
        m.apply((q1 - z1).wrapping_mul(q2 - z2))
            .wrapping_add(z_out)
            .clamp(lo, hi)
    })
}
