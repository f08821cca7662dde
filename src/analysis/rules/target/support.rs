//! A runtime's support table: what it does with each quantized operator
//! on each type, one [`Fact`] a row, each with its [`Evidence`]. A target's
//! rules look facts up here instead of naming operators themselves, and
//! its page of docs/targets.md lists the same rows.

use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;
use crate::packed::Packing;
use crate::qparam::QDType;

/// Where a runtime refuses a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Creating the session: the loader and its validator.
    Load,
    /// Compiling the model: kernels are chosen.
    Prepare,
    /// The API refusing an input's type.
    Input,
    Run,
    Output,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Load,
        Stage::Prepare,
        Stage::Input,
        Stage::Run,
        Stage::Output,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Prepare => "prepare",
            Stage::Input => "input",
            Stage::Run => "run",
            Stage::Output => "output",
        }
    }
}

/// The operand whose per-channel parameters a runtime reads only channel
/// 0 of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// The weight of a layer.
    Weight,
    /// A constant operand (a batch norm's factor, as tico converts it).
    Constant,
    /// The tensor a conversion reads.
    Input,
}

/// Which inputs an operator that moves values must share its output's
/// parameters with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inputs {
    /// The input whose values it moves.
    Value,
    /// Every input (a concatenation).
    Every,
}

/// What a runtime does with an operator on a type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Does {
    /// Runs it and computes it right (within the measurement's tolerance).
    RunsRight,
    /// Has no kernel for it: refuses the model at `stage`, saying `says`.
    NoKernel { stage: Stage, says: &'static str },
    /// Refuses any model with a tensor of the type: its API, its validator
    /// or its kernels, whichever comes first.
    RefusesType,
    /// Runs it with channel 0's scale and zero point for every channel of
    /// the operand's per-channel parameters: wrong, with no error.
    IgnoresPerChannel(Operand),
    /// When the output's parameters are not the input's: copies the
    /// input's bytes, the output's parameters ignored (wrong, no error).
    CopiesBytes,
    /// When the output's parameters are not those of `inputs`: refuses the
    /// model at `stage`, saying `says`.
    RefusesRequantizing {
        stage: Stage,
        says: &'static str,
        inputs: Inputs,
    },
    /// Runs it and computes it wrong, with no error: how.
    ComputesWrong(&'static str),
    /// Refuses weights of the type with a zero point other than 0.
    RefusesWeightZeroPoint { stage: Stage, says: &'static str },
    /// Reads weights of another type than its input as if they had the
    /// input's type: wrong, with no error.
    ReadsWeightsAsInputType,
    /// Fails on the operator whatever its types, float included, at
    /// `stage`, saying `says` (or crashing): a model with it cannot run.
    Unsupported { stage: Stage, says: &'static str },
}

/// Where a fact was seen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Evidence {
    /// The matrix's own cells of the operator, one per type, with
    /// per-tensor parameters (`ADD/uint8/per-tensor`).
    MatrixRow,
    /// Cells of the runtime's measured matrix, by id.
    Cells(&'static [&'static str]),
    /// A run outside the matrix: what ran, and where it is kept.
    Outside(&'static str),
    /// Not measured: why it is taken to hold.
    Assumed(&'static str),
}

/// One row of a support table.
#[derive(Clone, Copy, Debug)]
pub struct Fact {
    /// The operator; `None`: every operator.
    pub op: Option<Op>,
    /// The types the operator runs on (in a measured cell, every tensor
    /// has the cell's); `None`: every type.
    pub on: Option<&'static [QDType]>,
    pub does: Does,
    pub evidence: Evidence,
}

impl Fact {
    /// `op` on the types `on`.
    pub const fn on(op: Op, on: &'static [QDType], does: Does, evidence: Evidence) -> Fact {
        Fact {
            op: Some(op),
            on: Some(on),
            does,
            evidence,
        }
    }

    /// `op` on every type.
    pub const fn every_type(op: Op, does: Does, evidence: Evidence) -> Fact {
        Fact {
            op: Some(op),
            on: None,
            does,
            evidence,
        }
    }

    /// Every operator on the types `on`.
    pub const fn every_operator(on: &'static [QDType], does: Does, evidence: Evidence) -> Fact {
        Fact {
            op: None,
            on: Some(on),
            does,
            evidence,
        }
    }

    /// The ids of the matrix cells the fact stands on.
    pub fn cells(&self) -> Vec<String> {
        match (self.evidence, self.op.and_then(Op::variant_name), self.on) {
            (Evidence::Cells(ids), ..) => ids.iter().map(|id| id.to_string()).collect(),
            (Evidence::MatrixRow, Some(op), Some(types)) => types
                .iter()
                .map(|t| format!("{op}/{}/per-tensor", t.name()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the fact is about `op` running on `ty` (a fact for every
    /// type holds for an operand whose type is not known, too).
    pub fn holds_for(&self, op: &OpCode, ty: Option<QDType>) -> bool {
        self.op.is_none_or(|o| op.is(o))
            && self
                .on
                .is_none_or(|types| ty.is_some_and(|t| types.contains(&t)))
    }
}

/// What a runtime does with an operator reading a weight stored packed
/// (GGML blocks, INT4, UINT4) under float activations: weight-only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightDoes {
    /// Runs it, computing right (what "right" is, the evidence says: for
    /// GGML, with the input rounded to Q8_0 blocks as ggml does).
    RunsRight,
    /// Refuses the model at `stage`, saying `says`.
    Refuses { stage: Stage, says: &'static str },
    /// Refuses the operator with a bias input, at `stage`, saying `says`.
    RefusesBias { stage: Stage, says: &'static str },
    /// With indices of rank over 1, computes wrong with no error: how.
    WrongWithIndicesOfRank2(&'static str),
}

/// One row of a runtime's weight-only table.
#[derive(Clone, Copy, Debug)]
pub struct WeightFact {
    pub op: Op,
    pub formats: &'static [Packing],
    pub does: WeightDoes,
    pub evidence: Evidence,
}

impl WeightFact {
    pub const fn new(
        op: Op,
        formats: &'static [Packing],
        does: WeightDoes,
        evidence: Evidence,
    ) -> WeightFact {
        WeightFact {
            op,
            formats,
            does,
            evidence,
        }
    }

    /// The ids of the matrix cells the fact stands on.
    pub fn cells(&self) -> Vec<String> {
        match self.evidence {
            Evidence::Cells(ids) => ids.iter().map(|id| id.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

/// A runtime's support table.
pub struct Support {
    /// `onert 0.1.0`, for messages.
    pub runtime: &'static str,
    pub facts: &'static [Fact],
    /// Operators reading packed weights under float activations.
    pub weights: &'static [WeightFact],
}

impl Support {
    /// What the runtime does with `op` on `ty`.
    pub fn does<'s>(
        &'s self,
        op: &'s OpCode,
        ty: Option<QDType>,
    ) -> impl Iterator<Item = Does> + 's {
        self.facts
            .iter()
            .filter(move |f| f.holds_for(op, ty))
            .map(|f| f.does)
    }

    /// Where and how the runtime refuses `op` on `ty` for want of a kernel.
    pub fn no_kernel(&self, op: &OpCode, ty: QDType) -> Option<(Stage, &'static str)> {
        self.does(op, Some(ty)).find_map(|d| match d {
            Does::NoKernel { stage, says } => Some((stage, says)),
            _ => None,
        })
    }

    /// Whether `op` on `ty` was seen to run right.
    pub fn runs_right(&self, op: &OpCode, ty: QDType) -> bool {
        self.does(op, Some(ty)).any(|d| d == Does::RunsRight)
    }

    /// The types the runtime refuses whatever the operator.
    pub fn refused_types(&self) -> impl Iterator<Item = QDType> + '_ {
        self.facts
            .iter()
            .filter(|f| f.op.is_none() && f.does == Does::RefusesType)
            .flat_map(|f| f.on.unwrap_or_default().iter().copied())
    }

    /// Whether the runtime refuses `ty` whatever the operator.
    pub fn refuses_type(&self, ty: QDType) -> bool {
        self.refused_types().any(|t| t == ty)
    }

    /// The operand whose per-channel parameters `op` on `ty` reads only
    /// channel 0 of.
    pub fn ignores_per_channel(&self, op: &OpCode, ty: Option<QDType>) -> Option<Operand> {
        self.does(op, ty).find_map(|d| match d {
            Does::IgnoresPerChannel(operand) => Some(operand),
            _ => None,
        })
    }

    /// What `op` on `ty` does when its output's parameters are not its
    /// input's: [`Does::CopiesBytes`] or [`Does::RefusesRequantizing`].
    pub fn keeps_input_parameters(&self, op: &OpCode, ty: QDType) -> Option<Does> {
        self.does(op, Some(ty))
            .find(|d| matches!(d, Does::CopiesBytes | Does::RefusesRequantizing { .. }))
    }

    /// How `op` on `ty` computes wrong, if it does.
    pub fn computes_wrong(&self, op: &OpCode, ty: QDType) -> Option<&'static str> {
        self.does(op, Some(ty)).find_map(|d| match d {
            Does::ComputesWrong(how) => Some(how),
            _ => None,
        })
    }

    /// Where and how `op` refuses weights of `ty` with a zero point other
    /// than 0.
    pub fn refuses_weight_zero_point(
        &self,
        op: &OpCode,
        ty: QDType,
    ) -> Option<(Stage, &'static str)> {
        self.does(op, Some(ty)).find_map(|d| match d {
            Does::RefusesWeightZeroPoint { stage, says } => Some((stage, says)),
            _ => None,
        })
    }

    /// Where and how the runtime fails on `op` whatever its types.
    pub fn unsupported(&self, op: &OpCode) -> Option<(Stage, &'static str)> {
        self.does(op, None).find_map(|d| match d {
            Does::Unsupported { stage, says } => Some((stage, says)),
            _ => None,
        })
    }

    /// What the runtime does with `op` reading a weight stored as `packing`.
    pub fn with_weights<'s>(
        &'s self,
        op: &'s OpCode,
        packing: Packing,
    ) -> impl Iterator<Item = WeightDoes> + 's {
        self.weights
            .iter()
            .filter(move |f| op.is(f.op) && f.formats.contains(&packing))
            .map(|f| f.does)
    }

    /// Where and how the runtime refuses `op` with weights of `packing`.
    pub fn refuses_weights(&self, op: &OpCode, packing: Packing) -> Option<(Stage, &'static str)> {
        self.with_weights(op, packing).find_map(|d| match d {
            WeightDoes::Refuses { stage, says } => Some((stage, says)),
            _ => None,
        })
    }

    /// Whether `op` with weights of `packing` was seen to run right.
    pub fn runs_with_weights(&self, op: &OpCode, packing: Packing) -> bool {
        self.with_weights(op, packing)
            .any(|d| d == WeightDoes::RunsRight)
    }

    /// Where and how the runtime refuses a bias on `op` with weights of
    /// `packing`.
    pub fn refuses_bias(&self, op: &OpCode, packing: Packing) -> Option<(Stage, &'static str)> {
        self.with_weights(op, packing).find_map(|d| match d {
            WeightDoes::RefusesBias { stage, says } => Some((stage, says)),
            _ => None,
        })
    }

    /// How `op` with weights of `packing` computes wrong with indices of
    /// rank over 1, if it does.
    pub fn wrong_with_indices_of_rank_2(
        &self,
        op: &OpCode,
        packing: Packing,
    ) -> Option<&'static str> {
        self.with_weights(op, packing).find_map(|d| match d {
            WeightDoes::WrongWithIndicesOfRank2(how) => Some(how),
            _ => None,
        })
    }

    /// Whether `op`, reading `ty`, reads weights of another type as `ty`.
    pub fn reads_weights_as_input_type(&self, op: &OpCode, ty: QDType) -> bool {
        self.does(op, Some(ty))
            .any(|d| d == Does::ReadsWeightsAsInputType)
    }
}
