//! CAST between float32, int32, int64 and bool (to the declared output
//! type; narrower integer types wrap, as a C cast does). Float to integer
//! truncates toward zero and saturates; NaN becomes 0.

use super::super::error::KernelError;
use super::super::value::{Data, Kind, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use crate::model::fb::TensorType;

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let x = inputs.get(0)?;
    Ok(vec![OutSpec::new(x.shape.clone(), ctx.output_kind(0)?)?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let x = inputs.get(0)?;
    let wrap = narrow(ctx.outputs[0].dtype);
    let data = match specs[0].kind {
        Kind::F32 => Data::F32(match &x.data {
            Data::F32(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::Bool(v) => v.iter().map(|&x| f32::from(u8::from(x))).collect(),
        }),
        Kind::I32 => Data::I32(
            match &x.data {
                Data::F32(v) => v.iter().map(|&x| x as i64).collect::<Vec<_>>(),
                Data::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
                Data::I64(v) => v.clone(),
                Data::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
            }
            .into_iter()
            .map(wrap)
            .collect(),
        ),
        Kind::I64 => Data::I64(match &x.data {
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Data::I64(v) => v.clone(),
            Data::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
        }),
        Kind::Bool => Data::Bool(match &x.data {
            Data::F32(v) => v.iter().map(|&x| x != 0.0).collect(),
            Data::I32(v) => v.iter().map(|&x| x != 0).collect(),
            Data::I64(v) => v.iter().map(|&x| x != 0).collect(),
            Data::Bool(v) => v.clone(),
        }),
    };
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data,
    }])
}

/// How an integer lands in a 32-bit-held type.
fn narrow(dtype: TensorType) -> fn(i64) -> i32 {
    match dtype {
        TensorType::UINT8 => |v| i32::from(v as u8),
        TensorType::INT8 => |v| i32::from(v as i8),
        TensorType::INT16 => |v| i32::from(v as i16),
        TensorType::UINT16 => |v| i32::from(v as u16),
        _ => |v| v as i32,
    }
}
