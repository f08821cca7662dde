//! The session's side of the integer kernels: which operators get one, the
//! integers of their constant inputs (worked out once for all samples),
//! and one sample's run.

use super::super::constants;
use super::super::error::{InterpretError, KernelError};
use super::super::integer::{self, Constant, Given, Plan};
use super::super::kernels::{Inputs, OpContext, OutSpec};
use super::super::quant::Params;
use super::super::value::{Data, Tensor};
use super::{Arithmetic, Session, Slot};
use crate::graph::Operator;
use crate::model::fb::TensorType;

/// An operator's integer plan and its constant inputs' integers (by input
/// position; `None` for the other inputs).
pub(super) type IntegerStep = (Plan, Vec<Option<Constant>>);

impl Session<'_> {
    /// The integer kernel for `op`, when the options ask for integer
    /// arithmetic and the operator's parameters allow it, with the
    /// integers of the constants it reads. Constants whose parameters do
    /// not fit them leave the operator to its float kernel.
    pub(super) fn integer_plan(
        &self,
        op: &Operator,
        ctx: &OpContext,
    ) -> Result<Option<IntegerStep>, InterpretError> {
        if self.options.arithmetic != Arithmetic::Integer {
            return Ok(None);
        }
        let given: Vec<Given<'_>> = op
            .inputs
            .iter()
            .map(|i| match i.map(|t| self.params(t)) {
                None => Given::Absent,
                Some(None) => Given::Plain,
                Some(Some(p)) => Given::Quantized(p),
            })
            .collect();
        let outputs: Vec<Option<&Params>> = op.outputs.iter().map(|&o| self.params(o)).collect();
        let Some(plan) = integer::plan(ctx, &given, &outputs) else {
            return Ok(None);
        };
        let mut constants = Vec::with_capacity(op.inputs.len());
        for (i, input) in op.inputs.iter().enumerate() {
            let value = match (input, plan.reads(i)) {
                (Some(t), true) => match &self.slots[*t] {
                    Slot::Constant(c) => Some((*t, c)),
                    _ => None,
                },
                _ => None,
            };
            let Some((t, value)) = value else {
                constants.push(None);
                continue;
            };
            let (Some(q), Some(p), Some(out)) = (
                self.constant_integers(t, value)?,
                self.params(t),
                outputs.first().copied().flatten(),
            ) else {
                return Ok(None);
            };
            constants.push(Some(plan.constant(i, &value.shape, q, p, out)));
        }
        Ok(Some((plan, constants)))
    }

    /// The integers of constant `t`. An int32 constant of the model (a
    /// bias) is read again as stored: its integers can pass float32's exact
    /// range, which the real values it is held by cannot carry exactly.
    fn constant_integers(
        &self,
        t: usize,
        value: &Tensor,
    ) -> Result<Option<Vec<i32>>, InterpretError> {
        let decl = &self.sg.tensors[t];
        if !self.planned && decl.dtype == TensorType::INT32 {
            return match constants::read(self.graph, decl, None) {
                Ok(Tensor {
                    data: Data::I32(q), ..
                }) => Ok(Some(q)),
                Ok(_) => Ok(None),
                Err(constants::ConstantError::Io(source)) => Err(InterpretError::Read {
                    tensor: decl.name.to_string(),
                    source,
                }),
                Err(_) => Ok(None),
            };
        }
        let Some(p) = self.params(t) else {
            return Ok(None);
        };
        Ok(integer::integers(p, value).ok())
    }

    /// One sample of `op` through its integer kernel.
    pub(super) fn eval_integer(
        &self,
        op: &Operator,
        ctx: &OpContext,
        inputs: &Inputs<'_>,
        specs: &[OutSpec],
        plan: &Plan,
        constants: &[Option<Constant>],
    ) -> Result<Vec<Tensor>, KernelError> {
        let params: Vec<Option<&Params>> = op
            .inputs
            .iter()
            .map(|i| i.and_then(|t| self.params(t)))
            .collect();
        let (Some(out), Some(spec)) = (
            op.outputs.first().and_then(|&o| self.params(o)),
            specs.first(),
        ) else {
            return Err(KernelError::Invalid(
                "an integer kernel needs a quantized output".into(),
            ));
        };
        integer::run(plan, ctx, inputs, &params, constants, out, spec).map(|t| vec![t])
    }
}
