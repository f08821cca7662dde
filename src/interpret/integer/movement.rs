//! Operators that move values without computing (RESHAPE, SQUEEZE,
//! EXPAND_DIMS, TRANSPOSE, PAD, PADV2, MIRROR_PAD, SLICE, STRIDED_SLICE,
//! GATHER): a runtime moves the input's integers and the output's
//! parameters say what they mean, equal or not to the input's. The float
//! kernel moves `q - z_out` as int32 here, so that the zeros PAD writes
//! are the output's zero point (as TFLite pads), and `z_out` is added
//! back.

use super::super::error::KernelError;
use super::super::kernels::{kernel_for, Inputs};
use super::super::value::{Data, Tensor};
use super::Call;

pub fn copy(call: &Call<'_>) -> Result<Vec<i32>, KernelError> {
    let z = call.out.first().1 as i32;
    let tensors: Vec<Option<Tensor>> = (0..call.inputs.len())
        .map(|i| {
            Ok(match call.operands.get(i).and_then(Option::as_ref) {
                Some(x) => Some(Tensor {
                    shape: x.shape.to_vec(),
                    data: Data::I32(x.q()?.iter().map(|&q| q - z).collect()),
                }),
                None => call.inputs.opt(i).cloned(),
            })
        })
        .collect::<Result<_, KernelError>>()?;
    let refs: Vec<Option<&Tensor>> = tensors.iter().map(Option::as_ref).collect();
    let inputs = Inputs::new(&refs);
    let kernel = kernel_for(&call.ctx.opcode)
        .ok_or_else(|| KernelError::Unsupported(format!("{} has no kernel", call.ctx.opcode)))?;
    let specs = (kernel.shape)(call.ctx, &inputs)?;
    let moved = (kernel.eval)(call.ctx, &inputs, &specs)?;
    match moved.into_iter().next().map(|t| t.data) {
        Some(Data::I32(v)) => Ok(v.into_iter().map(|l| l + z).collect()),
        _ => Err(KernelError::Invalid(format!(
            "{} did not move the integers",
            call.ctx.opcode
        ))),
    }
}
