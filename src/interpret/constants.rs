//! Constant tensors read from the model into values: floats as they are,
//! float16 widened, quantized integers dequantized, plain integers and
//! booleans kept.

use super::quant::Params;
use super::value::{Data, Kind, Tensor};
use crate::graph::{self, Graph};
use crate::model::fb;

/// Why a constant cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConstantError {
    #[error("{0}")]
    Mismatch(String),
    #[error("its type {0} is not one the interpreter computes with")]
    Type(&'static str),
    #[error("cannot read it")]
    Io(#[source] std::io::Error),
}

/// The shape of a graph tensor, if every dimension is non-negative.
pub fn declared_shape(t: &graph::Tensor<'_>) -> Option<Vec<usize>> {
    t.shape.iter().map(|&d| usize::try_from(d).ok()).collect()
}

/// The kind of value a graph tensor holds during a run: real values for
/// float and quantized types, integers for plain integer types.
pub fn kind_of(dtype: fb::TensorType, quantized: bool) -> Option<Kind> {
    use fb::TensorType as T;
    Some(match dtype {
        T::FLOAT32 | T::FLOAT16 | T::FLOAT64 => Kind::F32,
        _ if quantized => Kind::F32,
        T::INT64 | T::UINT64 => Kind::I64,
        T::INT32 | T::UINT32 | T::INT16 | T::UINT16 | T::INT8 | T::UINT8 => Kind::I32,
        T::BOOL => Kind::Bool,
        _ => return None,
    })
}

/// Reads constant `t` of `graph`; `params` are the parameters its integers
/// are dequantized with (normally [`Params::of`]).
pub fn read(
    graph: &Graph<'_>,
    t: &graph::Tensor<'_>,
    params: Option<&Params>,
) -> Result<Tensor, ConstantError> {
    let payload = t
        .data
        .ok_or_else(|| ConstantError::Mismatch("it has no data".into()))?;
    let shape = declared_shape(t).ok_or_else(|| {
        ConstantError::Mismatch(format!("its shape {:?} has a negative dimension", t.shape))
    })?;
    let count = super::value::element_count(&shape)
        .ok_or_else(|| ConstantError::Mismatch(format!("its shape {shape:?} overflows")))?;
    let size = graph::dtype_size(t.dtype).ok_or(ConstantError::Type(t.dtype_name()))?;
    let expected = count.checked_mul(size).map(|n| n as u64);
    if expected != Some(payload.len) {
        return Err(ConstantError::Mismatch(format!(
            "shape {shape:?} of {} needs {} bytes, but its buffer holds {}",
            t.dtype_name(),
            expected.map_or("too many".to_string(), |n| n.to_string()),
            payload.len
        )));
    }
    let bytes = graph
        .file()
        .read_payload(payload)
        .map_err(ConstantError::Io)?;
    let data = decode(&bytes, t.dtype, &shape, params)?;
    Ok(Tensor { shape, data })
}

/// Decodes little-endian elements of `dtype`; integers with `params` are
/// dequantized.
pub fn decode(
    bytes: &[u8],
    dtype: fb::TensorType,
    shape: &[usize],
    params: Option<&Params>,
) -> Result<Data, ConstantError> {
    use fb::TensorType as T;
    let ints: Vec<i64> = match dtype {
        T::FLOAT32 => return Ok(Data::F32(chunks(bytes, f32::from_le_bytes))),
        T::FLOAT16 => {
            return Ok(Data::F32(chunks(bytes, |b: [u8; 2]| {
                f16_to_f32(u16::from_le_bytes(b))
            })))
        }
        T::FLOAT64 => {
            return Ok(Data::F32(chunks(bytes, |b: [u8; 8]| {
                f64::from_le_bytes(b) as f32
            })))
        }
        T::BOOL => return Ok(Data::Bool(bytes.iter().map(|&b| b != 0).collect())),
        T::UINT8 => bytes.iter().map(|&b| i64::from(b)).collect(),
        T::INT8 => bytes.iter().map(|&b| i64::from(b as i8)).collect(),
        T::INT16 => chunks(bytes, |b| i64::from(i16::from_le_bytes(b))),
        T::UINT16 => chunks(bytes, |b| i64::from(u16::from_le_bytes(b))),
        T::INT32 => chunks(bytes, |b| i64::from(i32::from_le_bytes(b))),
        T::UINT32 => chunks(bytes, |b| i64::from(u32::from_le_bytes(b))),
        T::INT64 => chunks(bytes, i64::from_le_bytes),
        _ => return Err(ConstantError::Type(graph::dtype_name(dtype))),
    };
    if let Some(p) = params {
        return p
            .dequantize(shape, &ints)
            .map(Data::F32)
            .map_err(|e| ConstantError::Mismatch(format!("its quantization parameters: {e}")));
    }
    Ok(match kind_of(dtype, false) {
        Some(Kind::I64) => Data::I64(ints),
        // Every other integer type here fits in 32 bits (uint32 wraps, as
        // a reinterpretation would).
        _ => Data::I32(ints.into_iter().map(|v| v as i32).collect()),
    })
}

fn chunks<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

/// IEEE half precision to single precision, exactly.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: value f * 2^-24, exact in f32.
            let v = f as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7fc0_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_converts_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn quantized_integers_are_dequantized_per_channel() {
        let p = Params {
            scale: vec![0.5, 2.0],
            zero_point: vec![0, 0],
            axis: 0,
            qmin: -128,
            qmax: 127,
        };
        let bytes = [2u8, 0xfe, 1, 3];
        let d = decode(&bytes, fb::TensorType::INT8, &[2, 2], Some(&p)).unwrap();
        assert_eq!(d, Data::F32(vec![1.0, -1.0, 2.0, 6.0]));
        let plain = decode(&bytes, fb::TensorType::INT8, &[2, 2], None).unwrap();
        assert_eq!(plain, Data::I32(vec![2, -2, 1, 3]));
    }

    #[test]
    fn uint8_with_a_zero_point() {
        let p = Params {
            scale: vec![0.1],
            zero_point: vec![128],
            axis: 0,
            qmin: 0,
            qmax: 255,
        };
        let d = decode(&[128, 138, 118], fb::TensorType::UINT8, &[3], Some(&p)).unwrap();
        let Data::F32(v) = d else { panic!() };
        assert!((v[0]).abs() < 1e-7 && (v[1] - 1.0).abs() < 1e-6 && (v[2] + 1.0).abs() < 1e-6);
    }
}
