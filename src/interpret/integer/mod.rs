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
//! - `movement`: RESHAPE, TRANSPOSE, PAD and the other operators that move
//!   values;
//! - `table`: LOGISTIC, TANH, SOFTMAX.

mod elementwise;
pub mod fixed_point;
mod matmul;
mod movement;
mod output;
mod pool;
mod rescale;
mod table;
mod weighted;

use std::cell::OnceCell;

use super::error::KernelError;
use super::kernels::{Inputs, OpContext, OutSpec};
use super::quant::{round_half_away, Params};
use super::value::{Data, Tensor};
use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;

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
    /// Weights of the output's 8-bit type, with the output channels along
    /// `axis`; read per channel, or (a per-tensor kernel) with channel 0's
    /// parameters.
    Weights { axis: usize, per_channel: bool },
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

/// Weights as a weighted kernel multiplies them: `q - z` (per channel or
/// channel 0's), as integers and as floats for the GEMM, and the largest
/// magnitude among them.
#[derive(Clone, Debug)]
pub struct Levels {
    pub ints: Vec<i32>,
    pub floats: Vec<f32>,
    pub max: f32,
}

impl Levels {
    pub fn new(ints: Vec<i32>) -> Levels {
        let floats: Vec<f32> = ints.iter().map(|&q| q as f32).collect();
        let max = floats.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        Levels { ints, floats, max }
    }
}

/// A constant input's integers, and its levels when it is a weight:
/// worked out once for all samples.
#[derive(Clone, Debug)]
pub struct Constant {
    pub q: Vec<i32>,
    pub levels: Option<Levels>,
}

/// One input as an integer kernel sees it: its real values and
/// parameters, and its integers worked out when first asked for (once
/// for all samples for a constant, with its levels if it is a weight).
pub struct Operand<'a> {
    pub shape: &'a [usize],
    pub params: &'a Params,
    real: &'a [f32],
    constant: Option<&'a Constant>,
    q: OnceCell<Vec<i32>>,
}

impl<'a> Operand<'a> {
    /// An operand of real values on the grid of `params`.
    pub fn new(shape: &'a [usize], real: &'a [f32], params: &'a Params) -> Operand<'a> {
        Operand {
            shape,
            params,
            real,
            constant: None,
            q: OnceCell::new(),
        }
    }

    /// An operand whose integers are known.
    fn known(shape: &'a [usize], params: &'a Params, q: Vec<i32>) -> Operand<'a> {
        Operand {
            shape,
            params,
            real: &[],
            constant: None,
            q: OnceCell::from(q),
        }
    }

    /// Its integers.
    pub fn q(&self) -> Result<&[i32], KernelError> {
        if let Some(c) = self.constant {
            return Ok(&c.q);
        }
        if let Some(q) = self.q.get() {
            return Ok(q);
        }
        let q = self
            .params
            .integers(self.shape, self.real)
            .map_err(|e| KernelError::Invalid(format!("quantization parameters: {e}")))?;
        Ok(self.q.get_or_init(|| q))
    }

    /// A constant weight's levels, worked out once.
    pub fn weight_levels(&self) -> Option<&'a Levels> {
        self.constant.and_then(|c| c.levels.as_ref())
    }

    /// `q - z` with the first zero point: what a per-tensor kernel adds to
    /// a product or a sum.
    pub fn levels(&self) -> Result<Vec<i32>, KernelError> {
        let z = self.params.first().1 as i32;
        Ok(self.q()?.iter().map(|&q| q - z).collect())
    }

    /// [`Operand::levels`] as floats, for a GEMM, and their largest
    /// magnitude; straight from the real values when there are some.
    pub fn float_levels(&self) -> Result<(Vec<f32>, f32), KernelError> {
        let (s, z) = self.params.first();
        let direct =
            self.constant.is_none() && self.q.get().is_none() && self.params.scale.len() == 1;
        let v: Vec<f32> = if direct {
            let (z, lo, hi) = (z as f32, self.params.qmin as f32, self.params.qmax as f32);
            self.real
                .iter()
                .map(|&x| (round_half_away(x / s) + z).max(lo).min(hi) - z)
                .collect()
        } else {
            let z = z as i32;
            self.q()?.iter().map(|&q| (q - z) as f32).collect()
        };
        let max = v.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        Ok((v, max))
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
}

/// The output's integers, from the operator's inputs.
pub type EvalFn = fn(&Call<'_>) -> Result<Vec<i32>, KernelError>;

/// An operator's integer kernel and how it reads each input.
#[derive(Clone, Debug)]
pub struct Plan {
    pub eval: EvalFn,
    pub roles: Vec<Role>,
    /// The float kernel gives the same values exactly (an operator that
    /// moves values between tensors of equal parameters): the session may
    /// run it instead, and leave its outputs as they are.
    pub float_kernel: bool,
}

impl Plan {
    /// Whether the kernel reads input `i` as integers.
    pub fn reads(&self, i: usize) -> bool {
        self.roles.get(i).is_some_and(|&r| r != Role::Other)
    }

    /// Constant input `i` (of `shape`, with `params`) as the kernel reads
    /// it, given its integers and the output's parameters.
    pub fn constant(
        &self,
        i: usize,
        shape: &[usize],
        q: Vec<i32>,
        params: &Params,
        out: &Params,
    ) -> Constant {
        let Some(&Role::Weights { axis, per_channel }) = self.roles.get(i) else {
            return Constant { q, levels: None };
        };
        let w = Operand::known(shape, params, q);
        let levels = weighted::weight_levels(&w, axis, per_channel, out).ok();
        Constant {
            q: w.q.into_inner().unwrap_or_default(),
            levels: levels.map(Levels::new),
        }
    }
}

/// CONV_2D's weights (OHWI), read per output channel.
const CONV_WEIGHTS: Role = Role::Weights {
    axis: 0,
    per_channel: true,
};
/// DEPTHWISE_CONV_2D's (1HWC), read per output channel.
const DEPTHWISE_WEIGHTS: Role = Role::Weights {
    axis: 3,
    per_channel: true,
};
/// FULLY_CONNECTED's ([N, K]), read with channel 0's parameters.
const FC_WEIGHTS: Role = Role::Weights {
    axis: 0,
    per_channel: false,
};

/// Whether a kernel applies to these parameters (of the activation
/// inputs, and the output).
type AcceptsFn = fn(&[&Params], &Params) -> bool;

/// Which operators have an integer kernel, how it reads its inputs, and
/// the parameters it applies to.
struct Entry {
    eval: EvalFn,
    roles: Vec<Role>,
    accepts: AcceptsFn,
    /// It moves values without computing.
    moves: bool,
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
    use Role::{Activation as A, Bias as B, Other};
    let OpCode::Builtin(op) = ctx.opcode else {
        return None;
    };
    let (eval, roles, accepts): (EvalFn, Vec<Role>, AcceptsFn) = match op {
        Op::CONV_2D => (weighted::conv, vec![A, CONV_WEIGHTS, B], any),
        Op::DEPTHWISE_CONV_2D => (weighted::depthwise, vec![A, DEPTHWISE_WEIGHTS, B], any),
        Op::FULLY_CONNECTED => (weighted::fully_connected, vec![A, FC_WEIGHTS, B], any),
        Op::ADD | Op::SUB => (elementwise::add, vec![A, A], any),
        Op::MUL => (elementwise::mul, vec![A, A], any),
        Op::AVERAGE_POOL_2D | Op::MAX_POOL_2D => (pool::pool, vec![A], any),
        Op::MEAN => (pool::mean, vec![A, Other], uint8_only),
        Op::CONCATENATION => (rescale::concat, vec![A; inputs], concatenable),
        Op::QUANTIZE => (rescale::requantize, vec![Role::AnyEightBit], any),
        Op::LOGISTIC | Op::TANH => (table::activation, vec![A], uint8_only),
        Op::RESHAPE | Op::EXPAND_DIMS | Op::TRANSPOSE | Op::PAD | Op::MIRROR_PAD | Op::GATHER => {
            (movement::copy, vec![A, Other], any)
        }
        Op::SQUEEZE => (movement::copy, vec![A], any),
        Op::PADV2 => (movement::copy, vec![A, Other, A], any),
        Op::SLICE => (movement::copy, vec![A, Other, Other], any),
        Op::STRIDED_SLICE => (movement::copy, vec![A, Other, Other, Other], any),
        Op::SOFTMAX => (table::softmax, vec![A], any),
        _ => return None,
    };
    Some(Entry {
        eval,
        roles,
        accepts,
        moves: matches!(
            op,
            Op::RESHAPE
                | Op::EXPAND_DIMS
                | Op::TRANSPOSE
                | Op::PAD
                | Op::MIRROR_PAD
                | Op::GATHER
                | Op::SQUEEZE
                | Op::PADV2
                | Op::SLICE
                | Op::STRIDED_SLICE
        ),
    })
}

/// The 8-bit range of `p`, when its zero points lie in it: a zero point
/// outside its type makes levels (q − z) whose products pass float32's
/// exact integers, which the exact products rely on (such a model is
/// invalid for the runtimes too; the float kernel runs it instead).
fn eight_bit(p: &Params) -> Option<(i64, i64)> {
    let r = (p.qmin, p.qmax);
    let inside = p.zero_point.iter().all(|z| (r.0..=r.1).contains(z));
    ((r == UINT8 || r == INT8) && inside).then_some(r)
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
    let float_kernel = e.moves && activations.iter().all(|p| p.first() == out.first());
    (e.accepts)(&activations, out).then_some(Plan {
        eval: e.eval,
        roles: e.roles,
        float_kernel,
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
    constants: &[Option<Constant>],
    out: &Params,
    spec: &OutSpec,
) -> Result<Tensor, KernelError> {
    let mut operands = Vec::with_capacity(inputs.len());
    for i in 0..inputs.len() {
        let (Some(t), Some(Some(p)), true) = (inputs.opt(i), params.get(i), plan.reads(i)) else {
            operands.push(None);
            continue;
        };
        let real = t.as_f32().ok_or_else(|| {
            KernelError::Unsupported(format!(
                "a quantized input holds {} values where real values were expected",
                t.kind()
            ))
        })?;
        let mut operand = Operand::new(&t.shape, real, p);
        operand.constant = constants.get(i).and_then(Option::as_ref);
        operands.push(Some(operand));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(zero_point: Vec<i64>, (qmin, qmax): (i64, i64)) -> Params {
        Params {
            scale: vec![0.5; zero_point.len()],
            zero_point,
            axis: 0,
            qmin,
            qmax,
        }
    }

    /// Zero points outside their type leave the operator to the float
    /// kernel: their levels would pass float32's exact integers.
    #[test]
    fn eight_bit_needs_zero_points_inside_the_type() {
        assert_eq!(eight_bit(&params(vec![128], UINT8)), Some(UINT8));
        assert_eq!(eight_bit(&params(vec![-128, 127], INT8)), Some(INT8));
        assert_eq!(eight_bit(&params(vec![100_000], UINT8)), None);
        assert_eq!(eight_bit(&params(vec![0, -129], INT8)), None);
        assert_eq!(eight_bit(&params(vec![0], (-32768, 32767))), None);
    }
}
