//! Integer kernels: what TFLite's integer kernels (and onert's, which
//! descend from them) compute, for operators whose inputs and output are
//! quantized to 8 bits.
//!
//! Values stay real numbers between operators (`s * (q - z)` is exact in
//! float32 for 8-bit integers); an integer kernel recovers each input's
//! `q` with `round(x / s) + z`, computes the output's integers as the
//! runtime does (exact int32 accumulation, fixed-point requantization,
//! the runtime's roundings), and the session turns them back into real
//! values. [`plan`] decides, from the parameters alone, whether an
//! operator has an integer kernel; one without keeps the float kernel on
//! fake-quantized values.
//!
//! - [`fixed_point`]: multipliers, the rounding high multiply and shift;
//! - `output`: activation ranges and the requantization of accumulators;
//! - `matmul`: exact integer products through float32 GEMM;
//! - `weighted`: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED;
//! - `elementwise`: ADD, SUB, MUL;
//! - `pool`: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN;
//! - `rescale`: CONCATENATION, QUANTIZE;
//! - `table`: LOGISTIC, TANH, SOFTMAX.

mod elementwise;
pub mod fixed_point;
mod matmul;
mod output;
mod pool;
mod rescale;
mod table;
mod weighted;

use std::borrow::Cow;

use super::error::KernelError;
use super::kernels::{Inputs, OpContext, OutSpec};
use super::quant::Params;
use super::value::{Data, Tensor};
use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;

pub use matmul::accumulate_product;

/// The ranges of the two 8-bit types.
const UINT8: (i64, i64) = (0, 255);
const INT8: (i64, i64) = (-128, 127);

/// How an integer kernel reads one of its operator's inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A value of the output's 8-bit type. A per-tensor kernel reads the
    /// first scale and zero point of per-channel parameters, as the
    /// runtimes do.
    Activation,
    /// A value of either 8-bit type (QUANTIZE's input).
    AnyEightBit,
    /// Weights of the output's 8-bit type, per tensor or per channel along
    /// `axis`.
    Weights { axis: usize },
    /// An int32 bias, which may be omitted.
    Bias,
    /// Not a quantized value (axes, shapes).
    Other,
}

/// What the model gives an input.
#[derive(Clone, Copy, Debug)]
pub enum Given<'a> {
    /// The operator omits it (an optional input).
    Absent,
    /// A value without quantization parameters.
    Plain,
    Quantized(&'a Params),
}

/// One input as an integer kernel sees it: its integers and parameters.
pub struct Operand<'a> {
    pub shape: &'a [usize],
    pub q: Cow<'a, [i32]>,
    pub params: &'a Params,
}

impl Operand<'_> {
    /// `q - z` with the first zero point: what a per-tensor kernel adds to
    /// a product or a sum.
    pub fn levels(&self) -> Vec<i32> {
        let z = self.params.first().1 as i32;
        self.q.iter().map(|&q| q - z).collect()
    }
}

/// Everything an integer kernel computes from.
pub struct Call<'a> {
    pub ctx: &'a OpContext,
    /// The real values, for shapes (the float kernels' geometry reads
    /// them).
    pub inputs: &'a Inputs<'a>,
    pub operands: &'a [Option<Operand<'a>>],
    pub out: &'a Params,
    pub spec: &'a OutSpec,
}

impl<'a> Call<'a> {
    /// Input `i`, which the plan reads as integers.
    pub fn operand(&self, i: usize) -> Result<&Operand<'a>, KernelError> {
        self.operands
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| KernelError::Invalid(format!("input {i} is missing")))
    }

    /// Whether the output is uint8 (rather than int8).
    pub fn unsigned(&self) -> bool {
        self.out.qmin == UINT8.0
    }
}

/// The output's integers, from the operator's inputs.
pub type EvalFn = fn(&Call<'_>) -> Result<Vec<i32>, KernelError>;

/// An operator's integer kernel and how it reads each input.
#[derive(Clone, Debug)]
pub struct Plan {
    pub eval: EvalFn,
    pub roles: Vec<Role>,
}

impl Plan {
    /// Whether the kernel reads input `i` as integers.
    pub fn reads(&self, i: usize) -> bool {
        self.roles.get(i).is_some_and(|&r| r != Role::Other)
    }
}

/// Whether a kernel applies to these parameters (of the activation
/// inputs, and the output).
type AcceptsFn = fn(&[&Params], &Params) -> bool;

/// Which operators have an integer kernel, how it reads its inputs, and
/// the parameters it applies to.
struct Entry {
    eval: EvalFn,
    roles: Vec<Role>,
    accepts: AcceptsFn,
}

fn any(_: &[&Params], _: &Params) -> bool {
    true
}

/// onert computes MEAN, LOGISTIC and TANH in integers for uint8 only.
fn uint8_only(_: &[&Params], out: &Params) -> bool {
    (out.qmin, out.qmax) == UINT8
}

/// Inputs with other parameters than the output's are rescaled for uint8
/// only; int8 inputs must share the output's parameters.
fn concatenable(inputs: &[&Params], out: &Params) -> bool {
    uint8_only(inputs, out) || inputs.iter().all(|p| p.first() == out.first())
}

fn entry(ctx: &OpContext, inputs: usize) -> Option<Entry> {
    use Role::{Activation as A, Bias as B, Other, Weights as W};
    let OpCode::Builtin(op) = ctx.opcode else {
        return None;
    };
    let (eval, roles, accepts): (EvalFn, Vec<Role>, AcceptsFn) = match op {
        Op::CONV_2D => (weighted::conv, vec![A, W { axis: 0 }, B], any),
        Op::DEPTHWISE_CONV_2D => (weighted::depthwise, vec![A, W { axis: 3 }, B], any),
        Op::FULLY_CONNECTED => (weighted::fully_connected, vec![A, W { axis: 0 }, B], any),
        Op::ADD | Op::SUB => (elementwise::add, vec![A, A], any),
        Op::MUL => (elementwise::mul, vec![A, A], any),
        Op::AVERAGE_POOL_2D | Op::MAX_POOL_2D => (pool::pool, vec![A], any),
        Op::MEAN => (pool::mean, vec![A, Other], uint8_only),
        Op::CONCATENATION => (rescale::concat, vec![A; inputs], concatenable),
        Op::QUANTIZE => (rescale::requantize, vec![Role::AnyEightBit], any),
        Op::LOGISTIC | Op::TANH => (table::activation, vec![A], uint8_only),
        Op::SOFTMAX => (table::softmax, vec![A], any),
        _ => return None,
    };
    Some(Entry {
        eval,
        roles,
        accepts,
    })
}

fn eight_bit(p: &Params) -> Option<(i64, i64)> {
    let r = (p.qmin, p.qmax);
    (r == UINT8 || r == INT8).then_some(r)
}

/// The integer kernel for the operator of `ctx`, given what the model
/// gives each input and the outputs' parameters; `None` when it has none
/// or its parameters do not allow one (then the float kernel runs on
/// fake-quantized values).
pub fn plan(ctx: &OpContext, inputs: &[Given<'_>], outputs: &[Option<&Params>]) -> Option<Plan> {
    let [Some(out)] = outputs else {
        return None;
    };
    let range = eight_bit(out)?;
    if out.scale.len() != 1 {
        return None;
    }
    let e = entry(ctx, inputs.len())?;
    if inputs.len() > e.roles.len() {
        return None;
    }
    let mut activations = Vec::new();
    for (i, role) in e.roles.iter().enumerate() {
        let given = inputs.get(i).copied().unwrap_or(Given::Absent);
        let ok = match (role, given) {
            (Role::Other, _) | (Role::Bias, Given::Absent) => true,
            (Role::Bias, Given::Quantized(p)) => {
                (p.qmin, p.qmax) == (i32::MIN.into(), i32::MAX.into())
            }
            (Role::Activation, Given::Quantized(p)) => {
                activations.push(p);
                eight_bit(p) == Some(range)
            }
            (Role::AnyEightBit, Given::Quantized(p)) => eight_bit(p).is_some(),
            (Role::Weights { .. }, Given::Quantized(p)) => eight_bit(p) == Some(range),
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    (e.accepts)(&activations, out).then_some(Plan {
        eval: e.eval,
        roles: e.roles,
    })
}

/// Runs `plan` on one sample: recovers each input's integers (`constants`
/// holds those of constant inputs, worked out once for all samples), runs
/// the kernel, and returns the output's real values.
pub fn run(
    plan: &Plan,
    ctx: &OpContext,
    inputs: &Inputs<'_>,
    params: &[Option<&Params>],
    constants: &[Option<Vec<i32>>],
    out: &Params,
    spec: &OutSpec,
) -> Result<Tensor, KernelError> {
    let mut operands = Vec::with_capacity(inputs.len());
    for i in 0..inputs.len() {
        let (Some(t), Some(Some(p)), true) = (inputs.opt(i), params.get(i), plan.reads(i)) else {
            operands.push(None);
            continue;
        };
        let q = match constants.get(i).and_then(Option::as_ref) {
            Some(q) => Cow::Borrowed(q.as_slice()),
            None => Cow::Owned(integers(p, t)?),
        };
        operands.push(Some(Operand {
            shape: &t.shape,
            q,
            params: p,
        }));
    }
    let call = Call {
        ctx,
        inputs,
        operands: &operands,
        out,
        spec,
    };
    let q = (plan.eval)(&call)?;
    if q.len() != spec.len() {
        return Err(KernelError::Invalid(format!(
            "the integer kernel produced {} values for an output of shape {:?}",
            q.len(),
            spec.shape
        )));
    }
    let (s, z) = out.first();
    let z = z as i32;
    Ok(Tensor {
        shape: spec.shape.clone(),
        data: Data::F32(q.into_iter().map(|q| s * (q - z) as f32).collect()),
    })
}

/// The integers behind a tensor's real values.
pub fn integers(p: &Params, t: &Tensor) -> Result<Vec<i32>, KernelError> {
    let v = t.as_f32().ok_or_else(|| {
        KernelError::Unsupported(format!(
            "a quantized input holds {} values where real values were expected",
            t.kind()
        ))
    })?;
    p.integers(&t.shape, v)
        .map_err(|e| KernelError::Invalid(format!("quantization parameters: {e}")))
}
