//! IEEE half precision, the type GGML blocks keep their scale in: exact
//! widening, and narrowing rounded to nearest, ties to even (what a C
//! cast and numpy's `astype(np.float16)` do).

/// The largest finite half-precision value.
pub const MAX: f32 = 65504.0;

/// The relative error of rounding a normal value to half precision is at
/// most this (half a unit in the last of its 11 significant bits); a
/// subnormal result can lose more.
pub const RELATIVE_PRECISION: f64 = 1.0 / 2048.0;

/// Half precision to single precision, exactly.
pub fn to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: f * 2^-24, exact in single precision.
            let v = f as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7fc0_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// Single precision to half precision, rounded to nearest with ties to
/// even; values past [`MAX`] become infinite, NaN stays NaN.
pub fn from_f32(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let frac = bits & 0x7f_ffff;
    if exp == 0xff {
        let nan = if frac != 0 { 0x200 } else { 0 };
        return sign | 0x7c00 | nan;
    }
    // The exponent the value would have in half precision.
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal (or zero): the significand with its implicit bit,
        // shifted into place and rounded.
        if e < -10 {
            return sign;
        }
        let m = frac | 0x80_0000;
        let shift = (14 - e) as u32;
        return sign | round_shift(m, shift) as u16;
    }
    // A carry out of the significand rounds into the exponent, and past
    // the largest exponent into infinity, as it should.
    let rounded = ((e as u32) << 10 | frac >> 13) + round_bit(frac, 13);
    sign | rounded as u16
}

/// `m >> shift`, rounded to nearest with ties to even.
fn round_shift(m: u32, shift: u32) -> u32 {
    (m >> shift) + round_bit(m, shift)
}

/// 1 when dropping the low `shift` bits of `m` rounds up.
fn round_bit(m: u32, shift: u32) -> u32 {
    let half = 1u32 << (shift - 1);
    let rest = m & ((1u32 << shift) - 1);
    let odd = (m >> shift) & 1;
    u32::from(rest > half || (rest == half && odd == 1))
}

/// `v` rounded to half precision and widened again.
pub fn round(v: f32) -> f32 {
    to_f32(from_f32(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_exact() {
        assert_eq!(to_f32(0x3c00), 1.0);
        assert_eq!(to_f32(0xc000), -2.0);
        assert_eq!(to_f32(0x7bff), MAX);
        assert_eq!(to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(to_f32(0x7c00), f32::INFINITY);
        assert!(to_f32(0x7e00).is_nan());
        assert_eq!(to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn every_half_survives_a_round_trip() {
        for h in 0..=u16::MAX {
            let v = to_f32(h);
            if v.is_nan() {
                assert!(to_f32(from_f32(v)).is_nan());
            } else {
                assert_eq!(from_f32(v), h, "{h:#06x} ({v})");
            }
        }
    }

    #[test]
    fn narrowing_rounds_to_nearest_even() {
        // Between 1 and the next half (1 + 2^-10): the midpoint is a tie
        // and goes to the even 1; past it, up.
        let ulp = 2f32.powi(-10);
        assert_eq!(from_f32(1.0 + ulp / 2.0), 0x3c00);
        assert_eq!(from_f32(1.0 + ulp * 1.5), 0x3c02);
        assert_eq!(from_f32(1.0 + ulp * 0.51), 0x3c01);
        assert_eq!(from_f32(65520.0), 0x7c00, "a tie past MAX is infinite");
        assert_eq!(from_f32(65519.0), 0x7bff);
        assert_eq!(from_f32(2f32.powi(-25)), 0, "a tie with 0 goes to 0");
        assert_eq!(from_f32(2f32.powi(-25) * 1.01), 1);
        assert_eq!(from_f32(1e-9), 0);
        assert_eq!(from_f32(-3.0), 0xc200);
        // Subnormal ties: 1.5 and 2.5 units go to 2.
        assert_eq!(from_f32(1.5 * 2f32.powi(-24)), 2);
        assert_eq!(from_f32(2.5 * 2f32.powi(-24)), 2);
    }

    #[test]
    fn narrowing_agrees_with_the_nearest_half_on_a_sweep() {
        // Each value narrows to a half at least as near as its neighbours.
        let mut v = 1e-8f32;
        while v < 70000.0 {
            let h = from_f32(v);
            let near = (to_f32(h) - v).abs();
            for other in [h.wrapping_sub(1), h.wrapping_add(1)] {
                let o = to_f32(other);
                if o.is_finite() && h != 0x7c00 {
                    assert!(near <= (o - v).abs(), "{v}: {h:#06x} vs {other:#06x}");
                }
            }
            v *= 1.0137;
        }
    }
}
