//! Elementwise functions of one tensor: LOGISTIC, TANH, RELU, RELU6,
//! RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH, GELU, ELU, EXP, LOG, SQRT, RSQRT,
//! SQUARE, ABS, NEG (the last three on integers too).

use super::super::error::KernelError;
use super::super::value::{Data, Tensor};
use super::context::{Inputs, OpContext, OutSpec};
use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;

type FloatFn = Box<dyn Fn(f32) -> f32>;

fn float_fn(ctx: &OpContext) -> Result<FloatFn, KernelError> {
    let OpCode::Builtin(op) = &ctx.opcode else {
        return Err(KernelError::Unsupported(format!(
            "{} is not elementwise",
            ctx.opcode
        )));
    };
    Ok(match *op {
        Op::LOGISTIC => Box::new(|x: f32| 1.0 / (1.0 + (-x).exp())),
        Op::TANH => Box::new(f32::tanh),
        Op::RELU => Box::new(|x: f32| x.max(0.0)),
        Op::RELU6 => Box::new(|x: f32| x.clamp(0.0, 6.0)),
        Op::RELU_N1_TO_1 => Box::new(|x: f32| x.clamp(-1.0, 1.0)),
        Op::LEAKY_RELU => {
            let alpha = ctx.options.as_leaky_relu_options().map_or(0.2, |o| o.alpha);
            Box::new(move |x: f32| if x > 0.0 { x } else { alpha * x })
        }
        Op::HARD_SWISH => Box::new(|x: f32| x * (x + 3.0).clamp(0.0, 6.0) / 6.0),
        Op::GELU => {
            if ctx.options.as_gelu_options().is_some_and(|o| o.approximate) {
                Box::new(gelu_tanh)
            } else {
                Box::new(gelu)
            }
        }
        Op::ELU => Box::new(|x: f32| if x > 0.0 { x } else { x.exp_m1() }),
        Op::EXP => Box::new(f32::exp),
        Op::LOG => Box::new(f32::ln),
        Op::SQRT => Box::new(f32::sqrt),
        Op::RSQRT => Box::new(|x: f32| 1.0 / x.sqrt()),
        Op::SQUARE => Box::new(|x: f32| x * x),
        Op::ABS => Box::new(f32::abs),
        Op::NEG => Box::new(|x: f32| -x),
        _ => {
            return Err(KernelError::Unsupported(format!(
                "{} is not elementwise",
                ctx.opcode
            )))
        }
    })
}

/// The exact GELU, `x * Phi(x)`.
fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))) as f32
}

/// GELU's tanh approximation.
fn gelu_tanh(x: f32) -> f32 {
    let x = f64::from(x);
    let c = (2.0 / std::f64::consts::PI).sqrt();
    (0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())) as f32
}

/// Beyond this, erf is 1 to within 1.6e-8, below float32's resolution
/// around 1.
const ERF_SATURATES: f64 = 4.0;

/// The error function by its Maclaurin series, which at |x| < 4 loses at
/// most five of float64's sixteen digits to cancellation.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x.abs() >= ERF_SATURATES {
        return x.signum();
    }
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    loop {
        n += 1.0;
        term *= -x2 / n;
        let add = term / (2.0 * n + 1.0);
        sum += add;
        if add.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

pub fn shape(ctx: &OpContext, inputs: &Inputs<'_>) -> Result<Vec<OutSpec>, KernelError> {
    drop(float_fn(ctx)?);
    let x = inputs.get(0)?;
    Ok(vec![OutSpec::new(x.shape.clone(), x.kind())?])
}

pub fn eval(
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    _specs: &[OutSpec],
) -> Result<Vec<Tensor>, KernelError> {
    let x = inputs.get(0)?;
    let data = match &x.data {
        Data::F32(v) => {
            let f = float_fn(ctx)?;
            Data::F32(v.iter().map(|&x| f(x)).collect())
        }
        Data::I32(v) => Data::I32(int_map(
            ctx,
            v,
            i32::wrapping_abs,
            i32::wrapping_neg,
            i32::wrapping_mul,
        )?),
        Data::I64(v) => Data::I64(int_map(
            ctx,
            v,
            i64::wrapping_abs,
            i64::wrapping_neg,
            i64::wrapping_mul,
        )?),
        Data::Bool(_) => {
            return Err(KernelError::Unsupported(format!(
                "{} on bool values is not supported",
                ctx.opcode
            )))
        }
    };
    Ok(vec![Tensor {
        shape: x.shape.clone(),
        data,
    }])
}

fn int_map<T: Copy>(
    ctx: &OpContext,
    v: &[T],
    abs: fn(T) -> T,
    neg: fn(T) -> T,
    mul: fn(T, T) -> T,
) -> Result<Vec<T>, KernelError> {
    let f: Box<dyn Fn(T) -> T> = match ctx.opcode {
        OpCode::Builtin(Op::ABS) => Box::new(abs),
        OpCode::Builtin(Op::NEG) => Box::new(neg),
        OpCode::Builtin(Op::SQUARE) => Box::new(move |x| mul(x, x)),
        _ => {
            return Err(KernelError::Unsupported(format!(
                "{} on integers is not supported",
                ctx.opcode
            )))
        }
    };
    Ok(v.iter().map(|&x| f(x)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // Values from Abramowitz and Stegun, table 7.1.
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.5, 0.999_999_256_901_627_7),
            (-1.0, -0.842_700_792_949_714_9),
        ] {
            assert!((erf(x) - want).abs() < 1e-11, "erf({x}) = {}", erf(x));
        }
        assert_eq!(erf(5.0), 1.0);
    }

    #[test]
    fn gelu_forms_agree_roughly() {
        for x in [-3.0f32, -1.0, -0.1, 0.0, 0.7, 2.5] {
            assert!((gelu(x) - gelu_tanh(x)).abs() < 1e-3, "{x}");
        }
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }
}
