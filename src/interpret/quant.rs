//! Fake quantization: a real value moved to the nearest value an integer
//! runtime can hold, `s * (clamp(round(x / s) + z, qmin, qmax) - z)`, with
//! rounding half away from zero as TFLite rounds.

use crate::graph::{self, Quantization};
use crate::model::fb;

/// The parameters a value is quantized with: one scale and zero point, or
/// one per slice along `axis`.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub axis: usize,
    pub qmin: i64,
    pub qmax: i64,
}

/// Why parameters cannot be applied to a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("{scales} scales and {zero_points} zero points do not pair up")]
    Unpaired { scales: usize, zero_points: usize },
    #[error("{count} scales along dimension {axis}, but the tensor has shape {shape:?}")]
    Channels {
        count: usize,
        axis: usize,
        shape: Vec<usize>,
    },
    #[error("there are no scales")]
    Empty,
}

/// The integer range of a quantized type, if it is one.
pub fn range_of(dtype: fb::TensorType) -> Option<(i64, i64)> {
    use fb::TensorType as T;
    Some(match dtype {
        T::UINT8 => (0, 255),
        T::INT8 => (-128, 127),
        T::INT16 => (-32768, 32767),
        T::UINT16 => (0, 65535),
        T::INT32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        T::INT64 => (i64::MIN, i64::MAX),
        T::INT4 => (-8, 7),
        T::UINT4 => (0, 15),
        _ => return None,
    })
}

impl Params {
    /// The parameters a model gives tensor `t`: for an integer type with
    /// quantization parameters. Float tensors carrying parameters are not
    /// quantized values, so they get none.
    pub fn of(t: &graph::Tensor<'_>) -> Option<Params> {
        let q = t.quantization.as_ref()?;
        Params::from_quantization(q, t.dtype)
    }

    /// Parameters from a quantization record and the type it quantizes to.
    pub fn from_quantization(q: &Quantization, dtype: fb::TensorType) -> Option<Params> {
        let (qmin, qmax) = range_of(dtype)?;
        if q.scale.is_empty() {
            return None;
        }
        Some(Params {
            scale: q.scale.clone(),
            zero_point: if q.zero_point.is_empty() {
                vec![0; q.scale.len()]
            } else {
                q.zero_point.clone()
            },
            axis: usize::try_from(q.quantized_dimension).unwrap_or(0),
            qmin,
            qmax,
        })
    }

    /// Checks that the parameters fit a value of `shape`; returns how many
    /// elements each (scale, zero point) pair covers in a row and how many
    /// channels there are.
    fn layout(&self, shape: &[usize]) -> Result<(usize, usize), ParamsError> {
        let n = self.scale.len();
        if n == 0 {
            return Err(ParamsError::Empty);
        }
        if self.zero_point.len() != n && self.zero_point.len() != 1 {
            return Err(ParamsError::Unpaired {
                scales: n,
                zero_points: self.zero_point.len(),
            });
        }
        if n == 1 {
            return Ok((shape.iter().product(), 1));
        }
        match shape.get(self.axis) {
            Some(&d) if d == n => Ok((shape[self.axis + 1..].iter().product(), n)),
            _ => Err(ParamsError::Channels {
                count: n,
                axis: self.axis,
                shape: shape.to_vec(),
            }),
        }
    }

    /// The channel of flat element `i` of a value of `shape` (0 for
    /// per-tensor parameters, or when they do not fit the shape).
    pub fn channel_of(&self, shape: &[usize], i: usize) -> usize {
        match self.layout(shape) {
            Ok((inner, channels)) if channels > 1 && inner > 0 => (i / inner) % channels,
            _ => 0,
        }
    }

    /// Channel `c`'s scale, and the real range its parameters represent,
    /// `[s·(qmin − z), s·(qmax − z)]`.
    pub fn represented(&self, c: usize) -> (f64, f64, f64) {
        let Some(&s) = self.scale.get(c).or(self.scale.first()) else {
            return (0.0, f64::NEG_INFINITY, f64::INFINITY);
        };
        // Unpaired parameters (refused where they are applied) read the
        // first zero point rather than fail here.
        let z = self
            .zero_point
            .get(c)
            .or(self.zero_point.first())
            .copied()
            .unwrap_or(0);
        let s = f64::from(s);
        (s, s * (self.qmin - z) as f64, s * (self.qmax - z) as f64)
    }

    fn pair(&self, c: usize) -> (f32, i64) {
        let z = if self.zero_point.len() == 1 {
            self.zero_point[0]
        } else {
            self.zero_point[c]
        };
        (self.scale[c], z)
    }

    /// Moves every value of `data` (of `shape`) to its nearest quantized
    /// value.
    pub fn fake_quantize(&self, shape: &[usize], data: &mut [f32]) -> Result<(), ParamsError> {
        let (inner, channels) = self.layout(shape)?;
        if inner == 0 {
            return Ok(());
        }
        for (i, chunk) in data.chunks_mut(inner).enumerate() {
            let (s, z) = self.pair(i % channels);
            let step = Step::new(s, z, self.qmin, self.qmax);
            if step.narrow {
                step.apply_narrow(chunk);
                continue;
            }
            for x in chunk {
                *x = step.apply(*x);
            }
        }
        Ok(())
    }

    /// The integers behind real values on this grid, `round(x / scale) +
    /// zero_point` clamped to the range: exactly the `q` that
    /// [`Params::dequantize`] or [`Params::fake_quantize`] gave `x` from,
    /// for integers below 2^23 in magnitude (float32's exact range, with
    /// room for the division's rounding). NaN gives the lowest integer.
    pub fn integers(&self, shape: &[usize], data: &[f32]) -> Result<Vec<i32>, ParamsError> {
        let (inner, channels) = self.layout(shape)?;
        let mut out = Vec::with_capacity(data.len());
        if inner == 0 {
            return Ok(out);
        }
        let narrow = [self.qmin, self.qmax]
            .iter()
            .all(|v| (-NARROW_LEVELS..=NARROW_LEVELS).contains(v));
        let (lo, hi) = (self.qmin as f64, self.qmax as f64);
        for (i, chunk) in data.chunks(inner).enumerate() {
            let (s, z) = self.pair(i % channels);
            if narrow {
                let (z, lo, hi) = (z as f32, self.qmin as f32, self.qmax as f32);
                out.extend(chunk.iter().map(|&x| {
                    // `max` and `min` turn NaN into a bound.
                    let q = (round_half_away(x / s) + z).max(lo).min(hi);
                    // SAFETY: `q` is finite and within the narrow range,
                    // which int32 holds. (A checked conversion here keeps the
                    // loop from vectorizing, and this is the interpreter's
                    // hottest loop after the GEMM.)
                    unsafe { q.to_int_unchecked::<i32>() }
                }));
                continue;
            }
            let (s, z) = (f64::from(s), z as f64);
            out.extend(chunk.iter().map(|&x| {
                let q = (f64::from(x) / s).round() + z;
                if q.is_nan() {
                    z as i32
                } else {
                    q.clamp(lo, hi) as i32
                }
            }));
        }
        Ok(out)
    }

    /// The first scale and zero point: the only ones a per-tensor kernel
    /// reads, whatever the granularity.
    pub fn first(&self) -> (f32, i64) {
        (
            self.scale.first().copied().unwrap_or(0.0),
            self.zero_point.first().copied().unwrap_or(0),
        )
    }

    /// Real values of integer data: `scale * (q - zero_point)`; `q` in any
    /// integer type (a model's uint8 weights are read as they are stored,
    /// not widened first).
    pub fn dequantize<T: Copy + Into<i64>>(
        &self,
        shape: &[usize],
        q: &[T],
    ) -> Result<Vec<f32>, ParamsError> {
        let (inner, channels) = self.layout(shape)?;
        let mut out = Vec::with_capacity(q.len());
        if inner == 0 {
            return Ok(out);
        }
        for (i, chunk) in q.chunks(inner).enumerate() {
            let (s, z) = self.pair(i % channels);
            out.extend(
                chunk
                    .iter()
                    .map(|&v| (f64::from(s) * (v.into().wrapping_sub(z)) as f64) as f32),
            );
        }
        Ok(out)
    }
}

/// Added and subtracted, it rounds a float32 below 2^22 in magnitude to
/// the nearest integer, ties to even (from 2^23 on, float32 has no
/// fraction bits).
const ROUNDER: f32 = 12_582_912.0;

/// `v` rounded half away from zero, as `f32::round`, for `|v| < 2^22`;
/// beyond, within one of `v` (every clamp to a narrow integer range makes
/// that exact). Float arithmetic and comparisons only, so that loops over
/// it vectorize: `f32::round` is a library call on x86-64's baseline.
pub fn round_half_away(v: f32) -> f32 {
    let r = (v + ROUNDER) - ROUNDER;
    let d = v - r;
    // A tie went to the even neighbour: where that is toward zero, move
    // it away.
    let up = f32::from(u8::from(d == 0.5 && v > 0.0));
    let down = f32::from(u8::from(d == -0.5 && v < 0.0));
    r + up - down
}

/// Types whose integers (and zero points) lie within this magnitude, the
/// 4-, 8- and 16-bit ones, are quantized and recovered in float32: every
/// integer involved, and every difference of two, is exact, and anything
/// that [`round_half_away`] rounds only to within one (beyond 2^22) is far
/// outside the range and clamped.
const NARROW_LEVELS: i64 = 1 << 16;

/// One scale and zero point, with the clamp bounds worked out once.
struct Step {
    scale: f32,
    zero: f64,
    lo: f64,
    hi: f64,
    /// The integers involved are narrow enough for float32 (see
    /// [`NARROW_LEVELS`]): every one, and every difference of two, is
    /// exact, and the final product of two floats is correctly rounded
    /// either way.
    narrow: bool,
}

impl Step {
    fn new(scale: f32, zero: i64, qmin: i64, qmax: i64) -> Step {
        let narrow = [qmin, qmax, zero]
            .iter()
            .all(|v| (-NARROW_LEVELS..=NARROW_LEVELS).contains(v));
        Step {
            scale,
            zero: zero as f64,
            lo: qmin as f64,
            hi: qmax as f64,
            narrow,
        }
    }

    /// A zero or non-finite scale quantizes nothing.
    fn quantizes(&self) -> bool {
        self.scale != 0.0 && self.scale.is_finite()
    }

    fn apply(&self, x: f32) -> f32 {
        // NaN stays NaN.
        if !self.quantizes() || x.is_nan() {
            return x;
        }
        if self.narrow {
            let mut v = [x];
            self.apply_narrow(&mut v);
            return v[0];
        }
        let q = (f64::from(x / self.scale)).round() + self.zero;
        let q = q.clamp(self.lo, self.hi);
        (f64::from(self.scale) * (q - self.zero)) as f32
    }

    /// [`Step::apply`] over a narrow range, in float32, written so that
    /// the loop vectorizes.
    fn apply_narrow(&self, v: &mut [f32]) {
        if !self.quantizes() {
            return;
        }
        let (s, z, lo, hi) = (self.scale, self.zero as f32, self.lo as f32, self.hi as f32);
        for x in v {
            let q = (round_half_away(*x / s) + z).max(lo).min(hi);
            let y = s * (q - z);
            *x = if x.is_nan() { *x } else { y };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint8(scale: f32, zero: i64) -> Params {
        Params {
            scale: vec![scale],
            zero_point: vec![zero],
            axis: 0,
            qmin: 0,
            qmax: 255,
        }
    }

    #[test]
    fn rounds_half_away_from_zero_and_clamps() {
        let p = uint8(0.5, 10);
        let mut x = [0.25, -0.25, 0.76, 200.0, -100.0, 0.0];
        p.fake_quantize(&[6], &mut x).unwrap();
        // 0.25/0.5 = 0.5 rounds to 1; -0.5 to -1; 1.52 to 2; 400+10 clamps
        // to 255; -200+10 clamps to 0.
        assert_eq!(x, [0.5, -0.5, 1.0, 122.5, -5.0, 0.0]);
    }

    #[test]
    fn the_float32_path_equals_the_float64_one() {
        let narrow = Step::new(0.037, 131, 0, 255);
        let mut wide = Step::new(0.037, 131, 0, 255);
        wide.narrow = false;
        let mut x = -20.0f32;
        while x < 20.0 {
            assert_eq!(narrow.apply(x).to_bits(), wide.apply(x).to_bits(), "{x}");
            x += 0.00731;
        }
    }

    #[test]
    fn the_fast_rounding_is_f32_round() {
        let mut v = -300.0f32;
        while v < 300.0 {
            assert_eq!(round_half_away(v), v.round(), "{v}");
            v += 0.125;
        }
        for v in [
            0.499_999_97f32,
            -0.499_999_97,
            2.5,
            -2.5,
            3.5,
            -3.5,
            4_194_303.5,
            -4_194_302.5,
        ] {
            assert_eq!(round_half_away(v), v.round(), "{v}");
        }
        for v in [1e9f32, -1e9, 8_388_607.5] {
            assert!((round_half_away(v) - v).abs() <= 1.0, "{v}");
        }
        assert!(round_half_away(f32::NAN).is_nan());
    }

    #[test]
    fn per_channel_along_the_quantized_dimension() {
        let p = Params {
            scale: vec![1.0, 0.25],
            zero_point: vec![0, 0],
            axis: 1,
            qmin: -128,
            qmax: 127,
        };
        let mut x = [1.26, 1.26, 300.0, -300.0];
        p.fake_quantize(&[2, 2], &mut x).unwrap();
        assert_eq!(x, [1.0, 1.25, 127.0, -32.0]);
        assert!(matches!(
            p.fake_quantize(&[4], &mut x),
            Err(ParamsError::Channels { .. })
        ));
    }

    #[test]
    fn dequantizes_per_channel() {
        let p = Params {
            scale: vec![2.0, 0.5],
            zero_point: vec![1, -2],
            axis: 0,
            qmin: -128,
            qmax: 127,
        };
        assert_eq!(
            p.dequantize(&[2, 2], &[1, 3, 0, 2]).unwrap(),
            vec![0.0, 4.0, 1.0, 2.0]
        );
    }
}
