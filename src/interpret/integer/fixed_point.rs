//! The fixed-point arithmetic of TFLite's integer kernels (gemmlowp's
//! primitives, which onert's kernels share): a real multiplier held as a
//! 31-bit significand and a power of two, applied to an int32 accumulator
//! by a rounding doubling high multiply and a rounding right shift.

/// A real multiplier as an integer runtime holds it: `significand / 2^31 *
/// 2^shift`, the significand in `[2^30, 2^31)` (or 0 for a zero
/// multiplier). A positive `shift` shifts left before the multiply, a
/// negative one right after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    pub significand: i32,
    pub shift: i32,
}

/// Below 2^-31 every product rounds to zero; TFLite stores such a
/// multiplier as zero rather than shift by more than 31 bits.
const SMALLEST_SHIFT: i32 = -31;

impl Multiplier {
    /// TFLite's `QuantizeMultiplier`: the significand of `real` rounded to
    /// 31 bits, half away from zero. Non-finite or negative multipliers do
    /// not come from positive scales; they give zero.
    pub fn new(real: f64) -> Multiplier {
        if !(real.is_finite() && real > 0.0) {
            return Multiplier {
                significand: 0,
                shift: 0,
            };
        }
        let (fraction, mut shift) = frexp(real);
        let mut q = (fraction * (1u64 << 31) as f64).round() as i64;
        if q == 1 << 31 {
            q /= 2;
            shift += 1;
        }
        if shift < SMALLEST_SHIFT {
            return Multiplier {
                significand: 0,
                shift: 0,
            };
        }
        Multiplier {
            significand: q as i32,
            shift,
        }
    }

    /// TFLite's `MultiplyByQuantizedMultiplier`: `x * 2^shift` (left shifts
    /// wrap as int32 arithmetic does in practice), multiplied by the
    /// significand with rounding, then divided by `2^-shift` with rounding.
    pub fn apply(self, x: i32) -> i32 {
        let left = self.shift.max(0);
        let right = (-self.shift).max(0);
        let shifted = x.wrapping_mul(1i32.wrapping_shl(left as u32));
        rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(shifted, self.significand),
            right,
        )
    }

    /// The real number this multiplier stands for.
    pub fn real(self) -> f64 {
        f64::from(self.significand) / (1u64 << 31) as f64 * 2f64.powi(self.shift)
    }
}

/// `x = fraction * 2^exponent` with `fraction` in `[0.5, 1)`, for finite
/// positive `x` (C's `frexp`).
fn frexp(x: f64) -> (f64, i32) {
    // Subnormals are scaled into the normal range first.
    let (x, bias) = if x < f64::MIN_POSITIVE {
        (x * 2f64.powi(64), -64)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1022;
    let fraction = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (fraction, exponent + bias)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of
/// `2 * a * b`, rounded to nearest with ties upward (its nudge is not
/// symmetric: -1.5 becomes -1); the one product that does not fit
/// (`i32::MIN * i32::MIN`) saturates.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero, as in C.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest,
/// ties away from zero. `exponent` is clamped to `0..=31`.
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_splits_like_c() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(0.1), (0.8, -3));
        // A subnormal: 2^-1024 = 0.5 * 2^-1023.
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
    }

    #[test]
    fn multipliers_are_normalized_31_bit_significands() {
        // 0.5 = 2^30 / 2^31 * 2^0.
        assert_eq!(
            Multiplier::new(0.5),
            Multiplier {
                significand: 1 << 30,
                shift: 0
            }
        );
        // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4 rounds down.
        assert_eq!(
            Multiplier::new(0.1),
            Multiplier {
                significand: 1_717_986_918,
                shift: -3
            }
        );
        // 3.0 = 0.75 * 2^2: a left shift.
        assert_eq!(
            Multiplier::new(3.0),
            Multiplier {
                significand: 1_610_612_736,
                shift: 2
            }
        );
        // A fraction that rounds up to 2^31 moves to the next power.
        let just_below_one = 1.0 - 2f64.powi(-40);
        assert_eq!(
            Multiplier::new(just_below_one),
            Multiplier {
                significand: 1 << 30,
                shift: 1
            }
        );
        assert_eq!(Multiplier::new(0.0).significand, 0);
        assert_eq!(Multiplier::new(2f64.powi(-40)).significand, 0);
        assert_eq!(Multiplier::new(f64::NAN).significand, 0);
    }

    #[test]
    fn the_high_multiply_rounds_ties_upward_and_saturates() {
        // 2 * 3 * 2^30 / 2^32 = 1.5 rounds to 2; -1.5 to -1.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // 2.5 rounds to 3, -2.5 to -2.
        assert_eq!(saturating_rounding_doubling_high_mul(5, 1 << 30), 3);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2);
        // 0.5 rounds to 1, -0.5 to 0.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        // Off the ties, to nearest: 2 * 7 * 3 * 2^28 / 2^32 = 2.625 -> 3,
        // and -2.625 -> -3.
        assert_eq!(saturating_rounding_doubling_high_mul(7, 3 << 28), 3);
        assert_eq!(saturating_rounding_doubling_high_mul(-7, 3 << 28), -3);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // i32::MIN * i32::MAX: 2 * -2^31 * (2^31 - 1) / 2^32 = -(2^31 - 1).
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
    }

    #[test]
    fn the_shift_rounds_to_nearest_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5
        assert_eq!(rounding_divide_by_pot(9, 2), 2); // 2.25
        assert_eq!(rounding_divide_by_pot(-9, 2), -2); // -2.25
        assert_eq!(rounding_divide_by_pot(11, 2), 3); // 2.75
        assert_eq!(rounding_divide_by_pot(-11, 2), -3); // -2.75
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(-1, 31), 0);
    }

    #[test]
    fn applying_a_multiplier_matches_hand_computed_values() {
        // 1000 * 0.1 = 100 exactly.
        assert_eq!(Multiplier::new(0.1).apply(1000), 100);
        // 25 * 0.1 = 2.5 rounds away from zero, both signs.
        assert_eq!(Multiplier::new(0.1).apply(25), 3);
        assert_eq!(Multiplier::new(0.1).apply(-25), -3);
        // 7 * 3 = 21 through a left shift.
        assert_eq!(Multiplier::new(3.0).apply(7), 21);
        assert_eq!(Multiplier::new(3.0).apply(-7), -21);
        // A left shift that overflows int32 wraps, as the runtime's does.
        let big = Multiplier::new(4.0);
        assert_eq!(big.apply(1 << 30), 0);
        // The two roundings of the runtime: 0.0001 * 12345 = 1.2345 -> 1.
        assert_eq!(Multiplier::new(1e-4).apply(12345), 1);
        assert!((Multiplier::new(0.3).real() - 0.3).abs() < 1e-9);
    }
}
