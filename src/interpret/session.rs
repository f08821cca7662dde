//! Running one subgraph over N samples, operator by operator.
//!
//! Each step runs one operator for all samples and keeps what it produced
//! until the tensor's last consumer has run (or longer, if the caller pins
//! it). Constants are read when first needed, once for all samples, and
//! freed after their last use, so memory is the live constants plus the
//! live activations. An operator between 8-bit tensors runs on its
//! integer kernel, if it has one (see [`Arithmetic`]); any other quantized
//! output (an integer type with parameters) is moved onto its grid after
//! it is computed, so a quantized model runs as an integer runtime would,
//! in floats.

mod integer_steps;

use std::fmt;

use super::constants::{self, kind_of, ConstantError};
use super::error::{InterpretError, KernelError, Site};
use super::integer;
use super::kernels::{kernel_for, Declared, Inputs, OpContext, OutSpec};
use super::quant::Params;
use super::schedule::{site, LastUse, Schedule};
use super::value::{element_count, Data, Kind, Tensor};
use crate::graph::{Graph, Operator, Subgraph};

/// The default memory budget: 4 GiB holds the activations of the models
/// this tool works on for a useful batch of samples (a ResNet-50 at 224x224
/// needs about 40 MiB per sample at its peak) and stays well inside a
/// developer machine's memory.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

/// How operators with quantized inputs and outputs are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
    /// In integers, as TFLite's and onert's integer kernels compute them,
    /// for the operators [`integer::plan`] has a kernel for; the others
    /// run their float kernel on fake-quantized values. What an integer
    /// runtime computes, to the step: the mode for judging a quantized
    /// model against what it will do on a device.
    Integer,
    /// Every operator runs its float kernel, and each quantized output is
    /// moved onto its grid. Within a step or so of a runtime per operator
    /// (the runtimes requantize with fixed-point multipliers), cheaper, and
    /// enough where only ranges or rough errors matter (calibration, name
    /// mapping).
    FakeQuant,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// The most bytes of tensors (activations and constants) alive at once.
    pub max_memory: u64,
    /// Integer kernels where the parameters allow, or fake quantization
    /// throughout. Integer by default: a quantized model is run to predict
    /// what its runtime computes, and one step off on a coarse tensor
    /// becomes several steps of the next, finer one.
    pub arithmetic: Arithmetic,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_memory: DEFAULT_MAX_MEMORY,
            arithmetic: Arithmetic::Integer,
        }
    }
}

/// Why an operator was not evaluated (its outputs, and everything that
/// depends on them, are then "not evaluated").
#[derive(Clone, Debug, PartialEq)]
pub enum SkipReason {
    /// The interpreter has no kernel for this operator.
    NoKernel,
    /// The kernel refused the operator (an unsupported option, inputs that
    /// do not fit together).
    Kernel(KernelError),
    /// A constant it reads has a type the interpreter does not compute
    /// with.
    Constant { tensor: String, reason: String },
    /// An output's quantization parameters do not fit its shape.
    Params { tensor: String, reason: String },
}

/// An operator that could not be evaluated, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub site: Site,
    pub reason: SkipReason,
    /// The sample whose values the kernel refused
    /// ([`KernelError::Values`]); `None` when the operator itself cannot
    /// run.
    pub sample: Option<usize>,
}

impl Skipped {
    /// The run's end this skip means when the sample's values are at fault
    /// (a caller that takes such a failure as bad input returns it).
    pub fn sample_error(&self) -> Option<InterpretError> {
        match (&self.reason, self.sample) {
            (SkipReason::Kernel(KernelError::Values(reason)), Some(sample)) => {
                Some(InterpretError::SampleValues {
                    site: self.site.clone(),
                    sample,
                    reason: reason.clone(),
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            SkipReason::NoKernel => {
                write!(f, "{}: the interpreter has no kernel for it", self.site)
            }
            SkipReason::Kernel(e) => write!(f, "{}: {e}", self.site),
            SkipReason::Constant { tensor, reason } => {
                write!(f, "{}: constant `{tensor}`: {reason}", self.site)
            }
            SkipReason::Params { tensor, reason } => write!(
                f,
                "{}: the quantization parameters of `{tensor}` do not fit it: {reason}",
                self.site
            ),
        }
    }
}

/// Where a tensor's value stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not computed (yet), or a constant not read yet.
    Pending,
    /// Values per sample are available.
    Available,
    /// A constant, read.
    Constant,
    /// Its producer (or something before it) could not be evaluated.
    NotEvaluated,
    /// Freed after its last use.
    Freed,
}

enum Slot {
    Absent,
    Values(Vec<Tensor>),
    Constant(Tensor),
    NotEvaluated,
    Freed,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub operator: usize,
    pub outputs: Vec<usize>,
    pub evaluated: bool,
    /// It ran on its integer kernel (see [`Arithmetic::Integer`]).
    pub integer: bool,
}

/// Per graph output, the value of each sample; `None` if not evaluated.
pub type Outputs = Vec<Option<Vec<Tensor>>>;

pub struct Session<'a> {
    graph: &'a Graph<'a>,
    sg: &'a Subgraph<'a>,
    schedule: Schedule,
    options: Options,
    params: Vec<Option<Params>>,
    /// Parameters were supplied by the caller: constants are moved onto
    /// their grid too.
    planned: bool,
    slots: Vec<Slot>,
    pinned: Vec<bool>,
    /// Tensors whose last use has run, freed when the next step starts (so
    /// the caller can read a step's inputs and outputs after it).
    pending: Vec<usize>,
    samples: Option<usize>,
    position: usize,
    live_bytes: u64,
    peak_bytes: u64,
    skipped: Vec<Skipped>,
}

impl<'a> Session<'a> {
    /// Prepares subgraph `index` of `graph`: checks its indices and finds
    /// the execution order (refusing cycles and unproduced tensors).
    pub fn new(
        graph: &'a Graph<'a>,
        index: usize,
        options: Options,
    ) -> Result<Self, InterpretError> {
        let sg = graph
            .subgraphs
            .get(index)
            .ok_or(InterpretError::NoSubgraph {
                index,
                count: graph.subgraphs.len(),
            })?;
        let schedule = Schedule::new(sg)?;
        let n = sg.tensors.len();
        Ok(Session {
            graph,
            sg,
            schedule,
            options,
            params: sg.tensors.iter().map(Params::of).collect(),
            planned: false,
            slots: (0..n).map(|_| Slot::Absent).collect(),
            pinned: vec![false; n],
            pending: Vec::new(),
            samples: None,
            position: 0,
            live_bytes: 0,
            peak_bytes: 0,
            skipped: Vec::new(),
        })
    }

    /// Replaces the model's quantization parameters: `params(tensor)` gives
    /// each tensor's (`None` keeps it float). Use [`Params::of`] on a graph
    /// tensor to keep the model's own. Constants are moved onto their new
    /// grid too, so a float model runs as if quantized with a planned set.
    pub fn with_params(mut self, mut params: impl FnMut(usize) -> Option<Params>) -> Self {
        self.params = (0..self.sg.tensors.len()).map(&mut params).collect();
        self.planned = true;
        self
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    pub fn subgraph(&self) -> &'a Subgraph<'a> {
        self.sg
    }

    /// The parameters tensor `t` is fake-quantized with, if any.
    pub fn params(&self, t: usize) -> Option<&Params> {
        self.params.get(t).and_then(Option::as_ref)
    }

    /// Operators that could not be evaluated (not those skipped only
    /// because an input was not evaluated).
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Bytes of tensors alive now, and at most so far.
    pub fn memory(&self) -> (u64, u64) {
        (self.live_bytes, self.peak_bytes)
    }

    /// Gives the inputs: `samples[s][i]` is sample `s`'s value for graph
    /// input `i`. Checks shapes and types, and the up-front memory
    /// estimate for this many samples.
    pub fn feed(&mut self, samples: Vec<Vec<Tensor>>) -> Result<(), InterpretError> {
        if self.samples.is_some() {
            return Err(InterpretError::FedTwice);
        }
        let n = samples.len();
        let budget = self.options.max_memory;
        match self.schedule.estimate(n) {
            Some(need) if need <= budget => {}
            need => {
                return Err(InterpretError::OverBudget {
                    what: format!(
                        "running subgraph {} on {n} samples (estimated from the declared shapes)",
                        self.sg.index
                    ),
                    needed: need.unwrap_or(u64::MAX),
                    budget,
                })
            }
        }
        let inputs = &self.sg.inputs;
        let mut per_input: Vec<Vec<Tensor>> =
            inputs.iter().map(|_| Vec::with_capacity(n)).collect();
        for (s, sample) in samples.into_iter().enumerate() {
            if sample.len() != inputs.len() {
                return Err(InterpretError::InputCount {
                    sample: s,
                    subgraph: self.sg.index,
                    expected: inputs.len(),
                    given: sample.len(),
                });
            }
            for (i, value) in sample.into_iter().enumerate() {
                per_input[i].push(self.accept_input(inputs[i], s, value)?);
            }
        }
        for (&t, values) in inputs.iter().zip(per_input) {
            let bytes = values.iter().map(Tensor::bytes).sum();
            self.reserve(bytes, t)?;
            self.slots[t] = Slot::Values(values);
            if self.schedule.last_use[t] == LastUse::Unused {
                self.pending.push(t);
            }
        }
        self.samples = Some(n);
        Ok(())
    }

    /// One sample's value for graph input `t`, checked and converted to
    /// real values (dequantized, or moved onto the grid).
    fn accept_input(
        &self,
        t: usize,
        sample: usize,
        value: Tensor,
    ) -> Result<Tensor, InterpretError> {
        let decl = &self.sg.tensors[t];
        let shape_ok = value.shape.len() == decl.shape.len()
            && decl
                .shape
                .iter()
                .zip(&value.shape)
                .all(|(&d, &v)| d < 0 || d as usize == v);
        if !shape_ok {
            return Err(InterpretError::InputShape {
                tensor: decl.name.to_string(),
                sample,
                expected: decl.shape.clone(),
                found: value.shape,
            });
        }
        if element_count(&value.shape) != Some(value.len()) {
            return Err(InterpretError::InputData {
                tensor: decl.name.to_string(),
                sample,
                len: value.len(),
                shape: value.shape,
            });
        }
        let model_params = Params::of(decl);
        let expected = kind_of(
            decl.dtype,
            model_params.is_some() || self.params(t).is_some(),
        );
        let type_error = |found: Kind| InterpretError::InputType {
            tensor: decl.name.to_string(),
            sample,
            expected: decl.dtype_name().to_string(),
            found: found.to_string(),
        };
        let mut value = match (expected, value.data) {
            (Some(Kind::F32), Data::F32(v)) => Tensor {
                shape: value.shape,
                data: Data::F32(v),
            },
            (Some(Kind::F32), data @ (Data::I32(_) | Data::I64(_))) => {
                let Some(p) = model_params.as_ref() else {
                    return Err(type_error(data.kind()));
                };
                let ints = data.to_i64().unwrap_or_default();
                let real =
                    p.dequantize(&value.shape, &ints)
                        .map_err(|e| InterpretError::Params {
                            tensor: decl.name.to_string(),
                            reason: e.to_string(),
                        })?;
                Tensor {
                    shape: value.shape,
                    data: Data::F32(real),
                }
            }
            (Some(k), data) if k == data.kind() => Tensor {
                shape: value.shape,
                data,
            },
            (_, data) => return Err(type_error(data.kind())),
        };
        if let (Some(p), Data::F32(v)) = (self.params(t), &mut value.data) {
            p.fake_quantize(&value.shape, v)
                .map_err(|e| InterpretError::Params {
                    tensor: decl.name.to_string(),
                    reason: e.to_string(),
                })?;
        }
        Ok(value)
    }
}

/// What computing one operator for all samples gave.
enum Outcome {
    /// Per output, the value of each sample; whether the integer kernel
    /// computed them.
    Done(Vec<Vec<Tensor>>, bool),
    /// Not evaluated; the reason is recorded unless an input was itself
    /// not evaluated, with the sample whose values the kernel refused.
    Skipped(Option<SkipReason>, Option<usize>),
}

impl<'a> Session<'a> {
    /// Runs the next operator for every sample; `None` when all have run.
    pub fn step(&mut self) -> Result<Option<Step>, InterpretError> {
        if self.samples.is_none() {
            return Err(InterpretError::NotFed);
        }
        self.free_pending();
        let Some(&index) = self.schedule.order.get(self.position) else {
            return Ok(None);
        };
        let pos = self.position;
        self.position += 1;
        let op = &self.sg.operators[index];
        let outcome = self.run(op)?;
        let (evaluated, integer) = match outcome {
            Outcome::Done(_, integer) => (true, integer),
            Outcome::Skipped(..) => (false, false),
        };
        match outcome {
            Outcome::Done(values, _) => {
                for (&o, v) in op.outputs.iter().zip(values) {
                    self.slots[o] = Slot::Values(v);
                }
            }
            Outcome::Skipped(reason, sample) => {
                if let Some(reason) = reason {
                    self.skipped.push(Skipped {
                        site: site(self.sg, index),
                        reason,
                        sample,
                    });
                }
                for &o in &op.outputs {
                    self.slots[o] = Slot::NotEvaluated;
                }
            }
        }
        let last = &self.schedule.last_use;
        let done = op
            .inputs
            .iter()
            .flatten()
            .chain(&op.outputs)
            .filter(|&&t| match last[t] {
                LastUse::Step(p) => p == pos,
                LastUse::Unused => true,
                LastUse::Never => false,
            });
        let done: Vec<usize> = done.copied().collect();
        self.pending.extend(done);
        Ok(Some(Step {
            operator: index,
            outputs: op.outputs.clone(),
            evaluated,
            integer,
        }))
    }

    /// Runs every remaining operator, calling `observer` with each graph
    /// input (before the first step) and each tensor as it is produced, for
    /// all samples; returns the graph outputs.
    pub fn run_all(
        &mut self,
        observer: &mut dyn FnMut(usize, &[Tensor]),
    ) -> Result<Outputs, InterpretError> {
        if self.samples.is_none() {
            return Err(InterpretError::NotFed);
        }
        if self.position == 0 {
            for &i in &self.sg.inputs {
                if let Some(v) = self.value(i) {
                    observer(i, v);
                }
            }
        }
        while let Some(step) = self.step()? {
            for &o in &step.outputs {
                if let Some(v) = self.value(o) {
                    observer(o, v);
                }
            }
        }
        Ok(self.outputs())
    }

    /// The graph outputs as they stand: per output, each sample's value.
    pub fn outputs(&self) -> Outputs {
        self.sg
            .outputs
            .iter()
            .map(|&o| self.value(o).map(<[Tensor]>::to_vec))
            .collect()
    }

    /// Each sample's value of tensor `t`, while it is alive (constants: see
    /// [`Session::constant`]).
    pub fn value(&self, t: usize) -> Option<&[Tensor]> {
        match self.slots.get(t)? {
            Slot::Values(v) => Some(v),
            _ => None,
        }
    }

    /// The value of constant `t`, shared by all samples, while it is loaded.
    pub fn constant(&self, t: usize) -> Option<&Tensor> {
        match self.slots.get(t)? {
            Slot::Constant(v) => Some(v),
            _ => None,
        }
    }

    pub fn state(&self, t: usize) -> Option<State> {
        Some(match self.slots.get(t)? {
            Slot::Absent => State::Pending,
            Slot::Values(_) => State::Available,
            Slot::Constant(_) => State::Constant,
            Slot::NotEvaluated => State::NotEvaluated,
            Slot::Freed => State::Freed,
        })
    }

    /// Keeps tensor `t` alive past its last use, until [`Session::release`].
    pub fn keep(&mut self, t: usize) {
        if let Some(p) = self.pinned.get_mut(t) {
            *p = true;
        }
    }

    /// Lets tensor `t` go: freed now if its last use has passed.
    pub fn release(&mut self, t: usize) {
        let Some(p) = self.pinned.get_mut(t) else {
            return;
        };
        *p = false;
        let passed = match self.schedule.last_use[t] {
            LastUse::Step(p) => p < self.position,
            LastUse::Unused => true,
            LastUse::Never => false,
        };
        if passed {
            self.free(t);
        }
    }

    fn free_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for t in pending {
            if !self.pinned[t] {
                self.free(t);
            }
        }
    }

    fn free(&mut self, t: usize) {
        let bytes = match &self.slots[t] {
            Slot::Values(v) => v.iter().map(Tensor::bytes).sum(),
            Slot::Constant(c) => c.bytes(),
            _ => return,
        };
        self.live_bytes = self.live_bytes.saturating_sub(bytes);
        self.slots[t] = Slot::Freed;
    }

    /// Accounts for `bytes` more of tensor `t`, refusing past the budget.
    fn reserve(&mut self, bytes: u64, t: usize) -> Result<(), InterpretError> {
        charge(
            (&mut self.live_bytes, &mut self.peak_bytes),
            self.options.max_memory,
            bytes,
            self.sg.tensors[t].name,
        )
    }
}

impl<'a> Session<'a> {
    /// Computes operator `op` for every sample.
    fn run(&mut self, op: &Operator) -> Result<Outcome, InterpretError> {
        let Some(kernel) = kernel_for(&op.opcode) else {
            return Ok(Outcome::Skipped(Some(SkipReason::NoKernel), None));
        };
        for &t in op.inputs.iter().flatten() {
            match self.slots[t] {
                Slot::Absent if self.sg.tensors[t].is_constant() => {
                    if let Err(reason) = self.load_constant(t)? {
                        return Ok(Outcome::Skipped(Some(reason), None));
                    }
                }
                Slot::Values(_) | Slot::Constant(_) => {}
                // An input not evaluated (or, defensively, one freed or
                // never given) leaves this operator unevaluated too.
                _ => return Ok(Outcome::Skipped(None, None)),
            }
        }
        let ctx = self.context(op);
        let integer = self.integer_plan(op, &ctx)?;
        let samples = self.samples.unwrap_or(0);
        let mut results: Vec<Vec<Tensor>> = op
            .outputs
            .iter()
            .map(|_| Vec::with_capacity(samples))
            .collect();
        let mut reserved = 0u64;
        for s in 0..samples {
            let plan = integer.as_ref().map(|(p, c)| (p, c.as_slice()));
            match self.run_sample(op, &ctx, kernel, plan, s)? {
                Ok(outs) => {
                    reserved += outs.iter().map(Tensor::bytes).sum::<u64>();
                    for (r, o) in results.iter_mut().zip(outs) {
                        r.push(o);
                    }
                }
                Err(reason) => {
                    self.live_bytes = self.live_bytes.saturating_sub(reserved);
                    let values = matches!(reason, SkipReason::Kernel(KernelError::Values(_)));
                    return Ok(Outcome::Skipped(Some(reason), values.then_some(s)));
                }
            }
        }
        Ok(Outcome::Done(results, integer.is_some()))
    }

    /// Computes sample `s` of operator `op`: shapes, the budget, the
    /// kernel (the integer one when `integer` gives its plan and the
    /// constants' integers), then the quantized outputs moved onto their
    /// grids.
    fn run_sample(
        &mut self,
        op: &Operator,
        ctx: &OpContext,
        kernel: super::kernels::Kernel,
        integer: Option<(&integer::Plan, &[Option<integer::Constant>])>,
        s: usize,
    ) -> Result<Result<Vec<Tensor>, SkipReason>, InterpretError> {
        let list: Vec<Option<&Tensor>> = op
            .inputs
            .iter()
            .map(|i| {
                i.and_then(|t| match &self.slots[t] {
                    Slot::Values(v) => v.get(s),
                    Slot::Constant(c) => Some(c),
                    _ => None,
                })
            })
            .collect();
        let inputs = Inputs::new(&list);
        let specs = match (kernel.shape)(ctx, &inputs) {
            Ok(specs) => specs,
            Err(e) => return self.kernel_failure(op, e),
        };
        if specs.len() != op.outputs.len() {
            return Ok(Err(SkipReason::Kernel(KernelError::Invalid(format!(
                "the operator computes {} outputs, but the model lists {}",
                specs.len(),
                op.outputs.len()
            )))));
        }
        let bytes: u64 = specs.iter().map(OutSpec::bytes).sum();
        let first = op.outputs.first().copied().unwrap_or(0);
        // Checked before the kernel allocates: a hostile shape is an error
        // with its figure, never an abort in the allocator.
        charge(
            (&mut self.live_bytes, &mut self.peak_bytes),
            self.options.max_memory,
            bytes,
            self.sg.tensors[first].name,
        )?;
        let outs = match integer {
            Some((plan, constants)) if !plan.float_kernel => {
                self.eval_integer(op, ctx, &inputs, &specs, plan, constants)
            }
            _ => (kernel.eval)(ctx, &inputs, &specs),
        };
        let outs = match outs {
            Ok(outs) => outs,
            Err(e) => {
                self.live_bytes = self.live_bytes.saturating_sub(bytes);
                return self.kernel_failure(op, e);
            }
        };
        drop(list);
        let mut outs = outs;
        for ((o, spec), &t) in outs.iter_mut().zip(&specs).zip(&op.outputs) {
            if o.shape != spec.shape
                || o.kind() != spec.kind
                || element_count(&o.shape) != Some(o.len())
            {
                self.live_bytes = self.live_bytes.saturating_sub(bytes);
                return Ok(Err(SkipReason::Kernel(KernelError::Invalid(format!(
                    "the kernel produced {} of shape {:?} where {} of shape {:?} was due",
                    o.kind(),
                    o.shape,
                    spec.kind,
                    spec.shape
                )))));
            }
            // An integer kernel's outputs are on their grid already, and so
            // are values moved between tensors of equal parameters.
            if integer.is_some() {
                continue;
            }
            if let (Some(p), Data::F32(v)) = (self.params(t), &mut o.data) {
                if let Err(e) = p.fake_quantize(&o.shape, v) {
                    self.live_bytes = self.live_bytes.saturating_sub(bytes);
                    return Ok(Err(SkipReason::Params {
                        tensor: self.sg.tensors[t].name.to_string(),
                        reason: e.to_string(),
                    }));
                }
            }
        }
        Ok(Ok(outs))
    }

    /// A kernel's error: an output too large to address ends the run;
    /// anything else skips the operator.
    fn kernel_failure(
        &self,
        op: &Operator,
        e: KernelError,
    ) -> Result<Result<Vec<Tensor>, SkipReason>, InterpretError> {
        match e {
            KernelError::Overflow { shape } => Err(InterpretError::TooLarge {
                tensor: op
                    .outputs
                    .first()
                    .map_or_else(String::new, |&o| self.sg.tensors[o].name.to_string()),
                shape,
            }),
            e => Ok(Err(SkipReason::Kernel(e))),
        }
    }

    /// Reads constant `t` into its slot, within the budget. A type the
    /// interpreter does not compute with skips the operator; data that
    /// do not match the declaration end the run.
    fn load_constant(&mut self, t: usize) -> Result<Result<(), SkipReason>, InterpretError> {
        let decl = &self.sg.tensors[t];
        let name = || decl.name.to_string();
        // Room for the decoded value before reading: four bytes a value
        // (int8 read as float32; int4 and GGML blocks more than that).
        if decl.data.is_some() {
            let need = constants::decoded_bytes(decl);
            self.reserve(need, t)?;
            self.live_bytes -= need;
        }
        let mut value = match constants::read(self.graph, decl, Params::of(decl).as_ref()) {
            Ok(v) => v,
            Err(ConstantError::Type(ty)) => {
                return Ok(Err(SkipReason::Constant {
                    tensor: name(),
                    reason: format!("its type {ty} is not one the interpreter computes with"),
                }))
            }
            Err(ConstantError::Mismatch(reason)) => {
                return Err(InterpretError::Constant {
                    tensor: name(),
                    reason,
                })
            }
            Err(ConstantError::Io(source)) => {
                return Err(InterpretError::Read {
                    tensor: name(),
                    source,
                })
            }
        };
        if self.planned {
            if let (Some(p), Data::F32(v)) = (self.params(t), &mut value.data) {
                p.fake_quantize(&value.shape, v)
                    .map_err(|e| InterpretError::Params {
                        tensor: name(),
                        reason: e.to_string(),
                    })?;
            }
        }
        self.reserve(value.bytes(), t)?;
        self.slots[t] = Slot::Constant(value);
        Ok(Ok(()))
    }

    /// The operator's options and declared outputs, read from the model.
    fn context(&self, op: &Operator) -> OpContext {
        let options = self
            .graph
            .file()
            .model()
            .subgraphs()
            .and_then(|s| (self.sg.index < s.len()).then(|| s.get(self.sg.index)))
            .and_then(|sg| sg.operators())
            .and_then(|ops| (op.index < ops.len()).then(|| ops.get(op.index)))
            .map_or(crate::model::fb::BuiltinOptionsT::NONE, |o| {
                o.unpack().builtin_options
            });
        let outputs = op
            .outputs
            .iter()
            .map(|&o| {
                let t = &self.sg.tensors[o];
                let quantized = Params::of(t).is_some() || self.params(o).is_some();
                Declared {
                    name: t.name.to_string(),
                    dtype: t.dtype,
                    kind: kind_of(t.dtype, quantized),
                    shape: t.shape.clone(),
                }
            })
            .collect();
        let input_types = op
            .inputs
            .iter()
            .map(|i| i.map(|t| self.sg.tensors[t].dtype))
            .collect();
        OpContext::new(site(self.sg, op.index), op.opcode.clone(), options, outputs)
            .with_input_types(input_types)
    }
}

/// Adds `bytes` (of tensor `name`) to the live count, refusing to pass
/// `budget`.
fn charge(
    (live, peak): (&mut u64, &mut u64),
    budget: u64,
    bytes: u64,
    name: &str,
) -> Result<(), InterpretError> {
    let need = live.saturating_add(bytes);
    if need > budget {
        return Err(InterpretError::OverBudget {
            what: format!("tensor `{name}` (with everything alive at that point)"),
            needed: need,
            budget,
        });
    }
    *live = need;
    *peak = (*peak).max(need);
    Ok(())
}
