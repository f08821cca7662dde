//! Elementwise binary operators with numpy broadcasting: ADD, SUB, MUL,
//! DIV, MAXIMUM, MINIMUM, POW, SQUARED_DIFFERENCE, and TensorFlow's AddV2
//! left as a custom operator. Floats take a fused activation; int32 and
//! int64 (the shape arithmetic of converted graphs) wrap like C integers.

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use super::{activation, broadcast};
use crate::graph::OpCode;
use crate::model::fb::{ActivationFunctionType, BuiltinOperator as Op};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Pow,
    SquaredDifference,
}

fn which(code: &OpCode) -> Result<Binary, KernelError> {
    Ok(match code {
        OpCode::Builtin(Op::ADD) => Binary::Add,
        OpCode::Builtin(Op::SUB) => Binary::Sub,
        OpCode::Builtin(Op::MUL) => Binary::Mul,
        OpCode::Builtin(Op::DIV) => Binary::Div,
        OpCode::Builtin(Op::MAXIMUM) => Binary::Max,
        OpCode::Builtin(Op::MINIMUM) => Binary::Min,
        OpCode::Builtin(Op::POW) => Binary::Pow,
        OpCode::Builtin(Op::SQUARED_DIFFERENCE) => Binary::SquaredDifference,
        OpCode::Custom(name) if name == "AddV2" => Binary::Add,
        other => {
            return Err(KernelError::Unsupported(format!(
                "{other} is not a binary operator"
            )))
        }
    })
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    which(&ctx.opcode)?;
    let (a, b) = (inputs.get(0)?, inputs.get(1)?);
    if a.kind() != b.kind() {
        return Err(KernelError::Invalid(format!(
            "the operands hold {} and {} values",
            a.kind(),
            b.kind()
        )));
    }
    if a.kind() == super::super::value::Kind::F32 {
        activation::check(ctx.activation)?;
    } else if ctx.activation != ActivationFunctionType::NONE {
        return Err(KernelError::Unsupported(format!(
            "a fused activation on {} operands is not supported",
            a.kind()
        )));
    }
    let s = broadcast::shape(&a.shape, &b.shape).ok_or_else(|| {
        KernelError::Invalid(format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape, b.shape
        ))
    })?;
    Ok(vec![OutSpec::new(s, a.kind())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let op = which(&ctx.opcode)?;
    let (a, b) = (inputs.get(0)?, inputs.get(1)?);
    let out = &specs[0].shape;
    let data = match (&a.data, &b.data) {
        (Data::F32(x), Data::F32(y)) => {
            let f = float_op(op);
            let mut v = broadcast::zip(x, &a.shape, y, &b.shape, out, f);
            activation::apply(ctx.activation, &mut v)?;
            Data::F32(v)
        }
        (Data::I32(x), Data::I32(y)) => {
            let v = broadcast::zip(x, &a.shape, y, &b.shape, out, |p, q| int_op_i32(op, p, q));
            Data::I32(v.into_iter().collect::<Result<_, _>>()?)
        }
        (Data::I64(x), Data::I64(y)) => {
            let v = broadcast::zip(x, &a.shape, y, &b.shape, out, |p, q| int_op_i64(op, p, q));
            Data::I64(v.into_iter().collect::<Result<_, _>>()?)
        }
        _ => {
            return Err(KernelError::Unsupported(format!(
                "{} on {} values is not supported",
                ctx.opcode,
                a.kind()
            )))
        }
    };
    Ok(vec![Tensor {
        shape: out.clone(),
        data,
    }])
}

fn float_op(op: Binary) -> fn(f32, f32) -> f32 {
    match op {
        Binary::Add => |a, b| a + b,
        Binary::Sub => |a, b| a - b,
        Binary::Mul => |a, b| a * b,
        Binary::Div => |a, b| a / b,
        Binary::Max => f32::max,
        Binary::Min => f32::min,
        Binary::Pow => f32::powf,
        Binary::SquaredDifference => |a, b| (a - b) * (a - b),
    }
}

macro_rules! int_op {
    ($name:ident, $t:ty) => {
        fn $name(op: Binary, a: $t, b: $t) -> Result<$t, KernelError> {
            Ok(match op {
                Binary::Add => a.wrapping_add(b),
                Binary::Sub => a.wrapping_sub(b),
                Binary::Mul => a.wrapping_mul(b),
                Binary::Div if b == 0 => {
                    return Err(KernelError::Values("integer division by zero".into()))
                }
                Binary::Div => a.wrapping_div(b),
                Binary::Max => a.max(b),
                Binary::Min => a.min(b),
                Binary::Pow => {
                    let e = u32::try_from(b).map_err(|_| {
                        KernelError::Values(format!("integer power with exponent {b}"))
                    })?;
                    a.wrapping_pow(e)
                }
                Binary::SquaredDifference => {
                    let d = a.wrapping_sub(b);
                    d.wrapping_mul(d)
                }
            })
        }
    };
}
int_op!(int_op_i32, i32);
int_op!(int_op_i64, i64);
