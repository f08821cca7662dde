//! Constant tensors read from the model into values: floats as they are,
//! float16 widened, quantized integers dequantized (int4 and uint4
//! unpacked first), GGML blocks dequantized with their own scales, plain
//! integers and booleans kept.

use super::quant::Params;
use super::value::{Data, Kind, Tensor};
use crate::graph::{self, Graph};
use crate::model::fb;
use crate::packed::f16::to_f32 as f16_to_f32;
use crate::packed::{self, Packing};

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
        // Blocks carry their scales: real values, parameters or not.
        T::GGML_Q4_0 | T::GGML_Q8_0 => Kind::F32,
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
    let expected = match Packing::of(t.dtype) {
        Some(packing) => packing.stored_len(count as u64),
        None => {
            let size = graph::dtype_size(t.dtype).ok_or(ConstantError::Type(t.dtype_name()))?;
            count.checked_mul(size).map(|n| n as u64)
        }
    };
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
    let data = match Packing::of(t.dtype) {
        Some(packing) => decode_packed(&bytes, packing, &shape, params)?,
        None => decode(&bytes, t.dtype, &shape, params)?,
    };
    Ok(Tensor { shape, data })
}

/// Decodes packed data: GGML blocks into real values with their scales,
/// int4 and uint4 into integers, dequantized with `params` when given.
fn decode_packed(
    bytes: &[u8],
    packing: Packing,
    shape: &[usize],
    params: Option<&Params>,
) -> Result<Data, ConstantError> {
    let count = shape.iter().product::<usize>() as u64;
    let unpacked = packed::unpack(packing, bytes, count)
        .map_err(|e| ConstantError::Mismatch(e.to_string()))?;
    if packing.is_blockwise() {
        return Ok(Data::F32(packed::dequantize_blocks(&unpacked)));
    }
    let ints: Vec<i64> = unpacked.values.iter().map(|&v| i64::from(v)).collect();
    match params {
        Some(p) => p
            .dequantize(shape, &ints)
            .map(Data::F32)
            .map_err(|e| ConstantError::Mismatch(format!("its quantization parameters: {e}"))),
        None => Ok(Data::I32(ints.into_iter().map(|v| v as i32).collect())),
    }
}

/// Bytes the decoded value of constant `t` takes at most: four a value
/// (floats, or integers read as float32).
pub fn decoded_bytes(t: &graph::Tensor<'_>) -> u64 {
    let stored = t.data.map_or(0, |d| d.len);
    let values = t.element_count().unwrap_or(0);
    stored.max(values).saturating_mul(4)
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
    let dequantized = |q: Result<Vec<f32>, super::quant::ParamsError>| {
        q.map(Data::F32)
            .map_err(|e| ConstantError::Mismatch(format!("its quantization parameters: {e}")))
    };
    // One-byte weights dequantized straight from their bytes: widening a
    // gigabyte model's weights to int64 first would take eight times their
    // memory.
    match (dtype, params) {
        (T::UINT8, Some(p)) => return dequantized(p.dequantize(shape, bytes)),
        (T::INT8, Some(p)) => {
            let q: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
            return dequantized(p.dequantize(shape, &q));
        }
        _ => {}
    }
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
        return dequantized(p.dequantize(shape, &ints));
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

#[cfg(test)]
mod tests {
    use super::*;

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
