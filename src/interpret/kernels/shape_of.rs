//! SHAPE: the input's dimensions as int32 or int64 (`out_type`, or the
//! declared output type).

use super::super::error::KernelError;
use super::super::value::{Data, Kind, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use crate::model::fb::TensorType;

fn kind(ctx: &OpContext) -> Result<Kind, KernelError> {
    match ctx.options.as_shape_options().map(|o| o.out_type) {
        Some(TensorType::INT64) => Ok(Kind::I64),
        Some(TensorType::INT32) => Ok(Kind::I32),
        _ => ctx.output_kind(0),
    }
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    let rank = inputs.get(0)?.shape.len();
    Ok(vec![OutSpec::new(vec![rank], kind(ctx)?)?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let s = &inputs.get(0)?.shape;
    let data = match kind(ctx)? {
        Kind::I64 => Data::I64(s.iter().map(|&d| d as i64).collect()),
        Kind::I32 => Data::I32(
            s.iter()
                .map(|&d| {
                    i32::try_from(d).map_err(|_| {
                        KernelError::Invalid(format!("dimension {d} does not fit in int32"))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(KernelError::Unsupported(format!(
                "a shape cannot be given as {other}"
            )))
        }
    };
    Ok(vec![Tensor {
        shape: specs[0].shape.clone(),
        data,
    }])
}
