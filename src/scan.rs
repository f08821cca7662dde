//! Finding the first one-byte integer outside a range, fast: every
//! quantized weight is checked against its type's range before it is
//! written, and a gigabyte of them should cost no more than reading them.
//! A leaf; the rules and the packer use it.

/// Elements tested together, without a branch: a few vector registers'
/// worth of bytes, small enough that finding the exact element in a lane
/// that has one costs nothing.
const LANE: usize = 256;

/// The index of the first byte of `bytes` whose value (as int8 when
/// `signed`, else uint8) lies outside `lo..=hi`, with that value.
pub fn first_outside(bytes: &[u8], signed: bool, lo: i64, hi: i64) -> Option<(usize, i64)> {
    let value = |b: u8| {
        if signed {
            i64::from(b as i8)
        } else {
            i64::from(b)
        }
    };
    // Work in the bytes' own order: flipping the sign bit maps int8 onto
    // uint8 keeping order, so one unsigned comparison serves both types.
    let (bias, min, max) = if signed {
        (128, -128, 127)
    } else {
        (0, 0, 255)
    };
    let first = || bytes.first().map(|&b| (0, value(b)));
    if lo > hi || lo > max || hi < min {
        return first();
    }
    let to_key = |v: i64| (v.clamp(min, max) + bias) as u8;
    let (lo_key, hi_key) = (to_key(lo), to_key(hi));
    let flip = if signed { 0x80 } else { 0 };
    let outside = move |b: u8| {
        let k = b ^ flip;
        (k < lo_key) | (k > hi_key)
    };
    let i = first_where(bytes, outside)?;
    Some((i, value(bytes[i])))
}

/// The index of the first of `values` outside `lo..=hi`.
pub fn first_outside_i8(values: &[i8], lo: i64, hi: i64) -> Option<usize> {
    if lo > hi || lo > 127 || hi < -128 {
        return (!values.is_empty()).then_some(0);
    }
    let (lo, hi) = (lo.clamp(-128, 127) as i8, hi.clamp(-128, 127) as i8);
    first_where(values, move |v: i8| (v < lo) | (v > hi))
}

/// The first element `test` holds for: lanes are tested whole without a
/// branch (so that the test vectorizes), the exact place only in a lane
/// that has one.
fn first_where<T: Copy>(xs: &[T], test: impl Fn(T) -> bool) -> Option<usize> {
    let lane = xs
        .chunks(LANE)
        .position(|c| c.iter().fold(false, |any, &x| any | test(x)))?;
    let start = lane * LANE;
    Some(start + xs[start..].iter().position(|&x| test(x))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte and a spread of ranges, against the plain definition.
    #[test]
    fn agrees_with_the_definition_for_every_byte() {
        let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for signed in [false, true] {
            for (lo, hi) in [
                (-8, 7),
                (0, 15),
                (-128, 127),
                (0, 255),
                (-300, 300),
                (5, 4),
                (200, 300),
                (-400, -200),
                (-127, 127),
                (1, 254),
            ] {
                let value = |b: u8| {
                    if signed {
                        i64::from(b as i8)
                    } else {
                        i64::from(b)
                    }
                };
                let want = bytes
                    .iter()
                    .position(|&b| !(lo..=hi).contains(&value(b)))
                    .map(|i| (i, value(bytes[i])));
                assert_eq!(
                    first_outside(&bytes, signed, lo, hi),
                    want,
                    "{signed} {lo}..={hi}"
                );
            }
        }
    }

    #[test]
    fn finds_the_first_across_lanes() {
        let mut bytes = vec![3u8; 3 * LANE + 7];
        assert_eq!(first_outside(&bytes, true, -8, 7), None);
        bytes[2 * LANE + 5] = 0xf0; // -16 as int8
        bytes[3 * LANE + 1] = 9;
        assert_eq!(
            first_outside(&bytes, true, -8, 7),
            Some((2 * LANE + 5, -16))
        );
        assert_eq!(
            first_outside(&bytes, false, 0, 15),
            Some((2 * LANE + 5, 240))
        );
        assert_eq!(first_outside(&[], true, 0, 0), None);
        let values: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
        assert_eq!(first_outside_i8(&values, -8, 7), Some(2 * LANE + 5));
        assert_eq!(first_outside_i8(&values, -16, 9), None);
        assert_eq!(first_outside_i8(&values, 4, 3), Some(0));
    }
}
