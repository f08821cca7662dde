//! Which rule reports what: each rule's condition, on the support table,
//! applied to a measured cell, a fixture model's variant or a row.

use super::text::builtin;
use crate::analysis::rules::blockwise::BLOCK_SIZE;
use crate::analysis::rules::target::onert::matrix::Cell;
use crate::analysis::rules::target::onert::table::ONERT;
use crate::analysis::rules::target::onert::weights::{
    ONERT_GATHER_INDICES, ONERT_GGML_BIAS, ONERT_WEIGHT_FORMAT,
};
use crate::analysis::rules::target::onert::{
    ONERT_INT16, ONERT_INT8_QUANTIZE, ONERT_INT8_WEIGHT_ZERO_POINT, ONERT_INT_DEQUANTIZE,
    ONERT_MIXED_TYPES, ONERT_NO_KERNEL, ONERT_PER_CHANNEL, ONERT_REQUANTIZING_COPY,
    ONERT_UNSUPPORTED,
};
use crate::analysis::rules::target::support::{
    Does, Fact, Inputs, Operand, WeightDoes, WeightFact,
};
use crate::diagnostic::Rule;
use crate::graph::OpCode;
use crate::model::fb::BuiltinOperator as Op;
use crate::packed::Packing;
use crate::qparam::QDType;

/// The rules `check --target onert` reports a cell's model with (graph
/// inputs, weights and outputs in the cell's scheme; the weights or the
/// constant in its granularity): each rule's condition, on the support
/// table. Q807 and Q808 need two types in one model, and Q809 an operator
/// the table has no row for: no cell has those.
pub(super) fn rules_for(cell: &Cell) -> Vec<&'static Rule> {
    if cell.group == "weight-only" {
        return weight_rules_for(cell);
    }
    let (Some(op), Some(ty)) = (builtin(&cell.op), QDType::parse(&cell.scheme)) else {
        return Vec::new();
    };
    let opcode = OpCode::Builtin(op);
    let tag = cell.tag();
    let mut found: Vec<&'static Rule> = Vec::new();
    if ONERT.no_kernel(&opcode, ty).is_some() {
        found.push(&ONERT_NO_KERNEL);
    }
    if ONERT.refuses_type(ty) {
        found.push(&ONERT_INT16);
    }
    // Parameters that differ between channels: on the weight of a weighted
    // cell, on the constant of a `const-` one.
    let varies = cell.granularity.starts_with("per-channel")
        && !["uniform", "first-channel-broadcast"].contains(&tag);
    let operand = if tag.starts_with("const-") {
        Operand::Constant
    } else {
        Operand::Weight
    };
    if varies && ONERT.ignores_per_channel(&opcode, Some(ty)) == Some(operand) {
        found.push(&ONERT_PER_CHANNEL);
    }
    // The output's parameters differ from the input's, or the inputs'
    // from each other.
    let other_out = ["other-out-params", "other-out-scale"].contains(&tag);
    let requantizes = match ONERT.keeps_input_parameters(&opcode, ty) {
        Some(Does::RefusesRequantizing {
            inputs: Inputs::Every,
            ..
        }) => other_out || tag == "mixed-in-params",
        Some(_) => other_out,
        None => false,
    };
    if requantizes {
        found.push(&ONERT_REQUANTIZING_COPY);
    }
    if op == Op::QUANTIZE && ONERT.computes_wrong(&opcode, ty).is_some() {
        found.push(&ONERT_INT8_QUANTIZE);
    }
    // uint8 weights have zero point 118; the signed ones 0 but per-channel-zp.
    let weight_zero_point = ty == QDType::U8 || cell.granularity == "per-channel-zp";
    if weight_zero_point && ONERT.refuses_weight_zero_point(&opcode, ty).is_some() {
        found.push(&ONERT_INT8_WEIGHT_ZERO_POINT);
    }
    found
}

/// The format q-implant writes that a weight-only cell's scheme names.
pub(super) fn packing_of(cell: &Cell) -> Option<Packing> {
    Packing::ALL
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(&cell.scheme))
}

/// The rules that report a weight-only cell's model (its weight in the
/// cell's format, written by `apply` from a weight-only entry): each
/// rule's condition, on the table's weight rows. Rows that do not split
/// into blocks of 32 are Q412's, whatever the target.
fn weight_rules_for(cell: &Cell) -> Vec<&'static Rule> {
    let (Some(op), Some(packing)) = (builtin(&cell.op), packing_of(cell)) else {
        return Vec::new();
    };
    let opcode = OpCode::Builtin(op);
    match cell.tag() {
        "k-48" => vec![&BLOCK_SIZE],
        "bias" if ONERT.refuses_bias(&opcode, packing).is_some() => vec![&ONERT_GGML_BIAS],
        "indices-rank-2"
            if ONERT
                .wrong_with_indices_of_rank_2(&opcode, packing)
                .is_some() =>
        {
            vec![&ONERT_GATHER_INDICES]
        }
        _ if ONERT.refuses_weights(&opcode, packing).is_some() => vec![&ONERT_WEIGHT_FORMAT],
        _ => Vec::new(),
    }
}

/// The rule that reports what a weight row says; none for running right.
pub(super) fn weight_rule_of(f: &WeightFact) -> Option<&'static Rule> {
    Some(match f.does {
        WeightDoes::RunsRight => return None,
        WeightDoes::Refuses { .. } => &ONERT_WEIGHT_FORMAT,
        WeightDoes::RefusesBias { .. } => &ONERT_GGML_BIAS,
        WeightDoes::WrongWithIndicesOfRank2(_) => &ONERT_GATHER_INDICES,
    })
}

/// The rules that report a fixture model's variant: its convolutions',
/// fully connected layers' or MUL/ADD constants' parameters uint8 per
/// channel, zero points varying.
pub(super) fn model_rules(variant: &str) -> Vec<&'static Rule> {
    let all = variant.ends_with(": all");
    let per_channel: &[(Op, Operand)] = &[
        (Op::CONV_2D, Operand::Weight),
        (Op::DEPTHWISE_CONV_2D, Operand::Weight),
        (Op::FULLY_CONNECTED, Operand::Weight),
        (Op::MUL, Operand::Constant),
        (Op::ADD, Operand::Constant),
    ];
    let chosen = |op: Op| {
        all || match op {
            Op::CONV_2D | Op::DEPTHWISE_CONV_2D => variant.ends_with("convolutions"),
            Op::FULLY_CONNECTED => variant.ends_with("fully connected"),
            _ => variant.ends_with("MUL/ADD constants"),
        }
    };
    let wrong = per_channel.iter().any(|&(op, operand)| {
        chosen(op)
            && ONERT.ignores_per_channel(&OpCode::Builtin(op), Some(QDType::U8)) == Some(operand)
    });
    if wrong {
        vec![&ONERT_PER_CHANNEL]
    } else {
        Vec::new()
    }
}

/// The rule that reports what a fact says; none for running right.
pub(super) fn rule_of(f: &Fact) -> Option<&'static Rule> {
    Some(match f.does {
        Does::RunsRight => return None,
        Does::NoKernel { .. } if f.op == Some(Op::DEQUANTIZE) => &ONERT_INT_DEQUANTIZE,
        Does::NoKernel { .. } => &ONERT_NO_KERNEL,
        Does::RefusesType => &ONERT_INT16,
        Does::IgnoresPerChannel(_) => &ONERT_PER_CHANNEL,
        Does::CopiesBytes | Does::RefusesRequantizing { .. } => &ONERT_REQUANTIZING_COPY,
        Does::ComputesWrong(_) => &ONERT_INT8_QUANTIZE,
        Does::RefusesWeightZeroPoint { .. } => &ONERT_INT8_WEIGHT_ZERO_POINT,
        Does::ReadsWeightsAsInputType => &ONERT_MIXED_TYPES,
        Does::Unsupported { .. } => &ONERT_UNSUPPORTED,
    })
}
