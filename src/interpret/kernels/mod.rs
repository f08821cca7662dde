//! One kernel per operator (or tight family), each with its shape
//! inference apart from its computation, and the registry mapping an
//! opcode to its kernel.

pub mod activation;
pub mod batch_matmul;
pub mod binary;
pub mod broadcast;
pub mod cast;
pub mod concat;
pub mod context;
pub mod conv;
pub mod depthwise;
pub mod fill;
pub mod fully_connected;
pub mod gather;
pub mod instance_norm;
pub mod layout;
pub mod pad;
pub mod padding;
pub mod pool;
pub mod prelu;
pub mod quantize;
pub mod reduce;
pub mod reshape;
pub mod resize;
pub mod shape_of;
pub mod slice;
pub mod softmax;
pub mod sparse_to_dense;
pub mod split;
pub mod strided_slice;
pub mod transpose;
pub mod transpose_conv;
pub mod unary;

pub use context::{Declared, Inputs, OpContext, OutSpec};

use super::error::KernelError;
use super::value::Tensor;
use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;

/// Output shapes and kinds from the inputs (whose values shape inference
/// may read: RESHAPE's shape, FILL's dimensions).
pub type ShapeFn = fn(&OpContext, &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError>;
/// The outputs, of the shapes [`ShapeFn`] gave.
pub type EvalFn = fn(&OpContext, &Inputs<'_>, &[OutSpec]) -> Result<Vec<Tensor>, KernelError>;

#[derive(Clone, Copy)]
pub struct Kernel {
    pub shape: ShapeFn,
    pub eval: EvalFn,
}

macro_rules! k {
    ($m:ident) => {
        Kernel {
            shape: $m::shape,
            eval: $m::eval,
        }
    };
}

/// The kernel that runs `code`, if there is one.
pub fn kernel_for(code: &OpCode) -> Option<Kernel> {
    let op = match code {
        OpCode::Custom(name) if name == "AddV2" => return Some(k!(binary)),
        OpCode::Custom(_) => return None,
        OpCode::Builtin(op) => *op,
    };
    Some(match op {
        Op::CONV_2D => k!(conv),
        Op::DEPTHWISE_CONV_2D => k!(depthwise),
        Op::TRANSPOSE_CONV => k!(transpose_conv),
        Op::FULLY_CONNECTED => k!(fully_connected),
        Op::BATCH_MATMUL => k!(batch_matmul),
        Op::ADD
        | Op::SUB
        | Op::MUL
        | Op::DIV
        | Op::MAXIMUM
        | Op::MINIMUM
        | Op::POW
        | Op::SQUARED_DIFFERENCE => k!(binary),
        Op::MEAN | Op::SUM | Op::REDUCE_MAX => k!(reduce),
        Op::AVERAGE_POOL_2D | Op::MAX_POOL_2D => k!(pool),
        Op::RESHAPE | Op::SQUEEZE | Op::EXPAND_DIMS => k!(reshape),
        Op::TRANSPOSE => k!(transpose),
        Op::CONCATENATION => k!(concat),
        Op::SPLIT | Op::SPLIT_V => k!(split),
        Op::SLICE => k!(slice),
        Op::STRIDED_SLICE => k!(strided_slice),
        Op::GATHER => k!(gather),
        Op::PAD | Op::PADV2 | Op::MIRROR_PAD => k!(pad),
        Op::SOFTMAX | Op::LOG_SOFTMAX => k!(softmax),
        Op::LOGISTIC
        | Op::TANH
        | Op::RELU
        | Op::RELU6
        | Op::RELU_N1_TO_1
        | Op::LEAKY_RELU
        | Op::HARD_SWISH
        | Op::GELU
        | Op::ELU
        | Op::EXP
        | Op::LOG
        | Op::SQRT
        | Op::RSQRT
        | Op::SQUARE
        | Op::ABS
        | Op::NEG => k!(unary),
        Op::PRELU => k!(prelu),
        Op::RESIZE_BILINEAR | Op::RESIZE_NEAREST_NEIGHBOR => k!(resize),
        Op::INSTANCE_NORM => k!(instance_norm),
        Op::CAST => k!(cast),
        Op::QUANTIZE | Op::DEQUANTIZE => k!(quantize),
        Op::SHAPE => k!(shape_of),
        Op::FILL => k!(fill),
        Op::SPARSE_TO_DENSE => k!(sparse_to_dense),
        _ => return None,
    })
}
