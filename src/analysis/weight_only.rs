//! Weight-only (hybrid) quantization: quantized weights under float
//! activations, the scheme of on-device LLMs (GGML blocks, int4) and of
//! TFLite's dynamic-range models (int8 weights, zero point 0). An operator
//! whose only quantized inputs are such weights runs a hybrid kernel: it
//! reads the weights as they are stored, with no conversion around it,
//! and computes in float.
//!
//! A weight is weight-only when its entry is of a weight-only kind
//! (block-wise, int4 or uint4, or int8 with every zero point 0), every
//! operator reading it reads it as a weight, and none of them reads a
//! quantized activation. A set all of whose entries are of a weight-only
//! kind and name constants is a weight-only set: its float activations are
//! float by design (`Context::is_weight_only_set`).

use std::collections::HashSet;

use crate::graph::{Graph, Operator, TensorId};
use crate::model::fb::{BuiltinOperator as Op, TensorType};
use crate::qparam::{Entry, QDType};

/// Whether input `position` of `op` is a weight a hybrid kernel reads: a
/// layer's weight, a GATHER's table, the constant right-hand side of a
/// BATCH_MATMUL.
pub fn weight_slot(op: &Operator, position: usize) -> bool {
    match op.layer_slots() {
        Some(slots) => slots.weight == position,
        None if op.opcode.is(Op::GATHER) => position == 0,
        None if op.opcode.is(Op::BATCH_MATMUL) => position == 1,
        None => false,
    }
}

/// Whether an entry is of a kind weight-only schemes use.
pub fn weight_only_kind(entry: &Entry) -> bool {
    let Some(dtype) = entry.dtype.as_ref().map(|d| d.value) else {
        return false;
    };
    entry.has_block_field
        || dtype.is_sub_byte()
        || (dtype == QDType::I8
            && entry
                .zero_points()
                .is_some_and(|z| z.iter().all(|&z| z == 0)))
}

/// The quantized constants that are weight-only; `quantized` holds every
/// float32 tensor the plan gives parameters, `entry_of` a tensor's entry.
pub fn weights<'e>(
    graph: &Graph<'_>,
    quantized: &HashSet<TensorId>,
    entry_of: impl Fn(TensorId) -> Option<&'e Entry>,
) -> HashSet<TensorId> {
    let mut found = HashSet::new();
    for sg in &graph.subgraphs {
        for t in &sg.tensors {
            if !t.is_constant()
                || t.consumers.is_empty()
                || !quantized.contains(&t.id)
                || !entry_of(t.id).is_some_and(weight_only_kind)
            {
                continue;
            }
            let hybrid = t.consumers.iter().all(|&c| {
                let op = &sg.operators[c];
                let as_weight = op
                    .inputs
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| **i == Some(t.id.index))
                    .all(|(p, _)| weight_slot(op, p));
                let float_activations = op.inputs.iter().flatten().all(|&i| {
                    let a = &sg.tensors[i];
                    a.is_constant() || a.dtype != TensorType::FLOAT32 || !quantized.contains(&a.id)
                });
                as_weight && float_activations
            });
            if hybrid {
                found.insert(t.id);
            }
        }
    }
    found
}
