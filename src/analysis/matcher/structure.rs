//! Where a key's module sits in the graph. Anchors are the layers whose
//! weight is known for sure (named exactly, or matched by content); from
//! them a layer's bias and output are the inputs and outputs of the
//! operator consuming its weight. Keys without such an anchor are placed
//! by what the key's name says the module is (an input stub, a kind of
//! module the model has one operator of).

use std::collections::HashMap;

use crate::graph::{Graph, TensorId};
use crate::model::fb::BuiltinOperator as Op;
use crate::qparam::Entry;

/// A `<layer>.bias` key and the bias input of the operator consuming the
/// layer's weight.
const BIAS_OF_LAYER: f64 = 0.92;

/// A `<layer>` key and the output of the operator consuming its weight
/// (the activation fused into it, if any, included).
const OUTPUT_OF_LAYER: f64 = 0.88;

/// From this confidence a key's single candidate anchors the order of the
/// keys around it.
pub const ANCHORING: f64 = 0.8;

/// An input stub (`quant`, `input`, ...) and a graph input.
const INPUT_STUB: f64 = 0.8;

/// A key named like a kind of module and the output of the model's only
/// operator of that kind.
const ONLY_OF_KIND: f64 = 0.85;

const INPUT_STUBS: [&str; 6] = ["quant", "input", "x", "inputs", "quant_stub", "quantstub"];

/// Attribute names wrappers put the whole network under (a Lightning
/// module's `model`, DataParallel's `module`, torch.compile's `_orig_mod`).
const WRAPPERS: [&str; 5] = ["model", "module", "net", "network", "_orig_mod"];

/// Whether `key` names the network's input stub, at the top or under
/// wrappers (`model.quant`).
fn is_input_stub(key: &str) -> bool {
    let lower = key.to_lowercase();
    let mut parts: Vec<&str> = lower.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    INPUT_STUBS.contains(&last) && parts.iter().all(|p| WRAPPERS.contains(p))
}

/// PyTorch module names (their last word) and the operator a converter
/// makes of them.
/// (`pool` and `flatten` are not here: a pool may be either kind, and a
/// flatten after a layout transpose is that transpose's output first.)
const MODULE_OPS: [(&str, Op); 11] = [
    ("pad", Op::PAD),
    ("maxpool", Op::MAX_POOL_2D),
    ("avgpool", Op::MEAN),
    ("avgpool", Op::AVERAGE_POOL_2D),
    ("softmax", Op::SOFTMAX),
    ("sigmoid", Op::LOGISTIC),
    ("tanh", Op::TANH),
    ("relu", Op::RELU),
    ("relu6", Op::RELU6),
    ("cat", Op::CONCATENATION),
    ("add", Op::ADD),
];

/// The tensors layer weights are known to be.
pub struct Anchors {
    /// Weight key → its tensor.
    weights: HashMap<String, TensorId>,
    /// Value keys (by entry) whose tensor is known → the operator it feeds.
    pub value_ops: HashMap<usize, TensorId>,
}

impl Anchors {
    /// `matched` holds the unknown keys the content matched to one tensor.
    pub fn new(
        _graph: &Graph<'_>,
        entries: &[Entry],
        targets: &[Vec<TensorId>],
        matched: &HashMap<usize, TensorId>,
    ) -> Anchors {
        let mut weights = HashMap::new();
        let mut value_ops = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let tensor = match targets[i].as_slice() {
                [only] => Some(*only),
                _ => matched.get(&i).copied(),
            };
            let Some(t) = tensor else { continue };
            if e.has_value_field {
                value_ops.insert(i, t);
            }
            if layer_of_weight(&e.key).is_some() {
                weights.insert(e.key.clone(), t);
            }
        }
        Anchors { weights, value_ops }
    }

    /// The weight key of `layer` and its tensor.
    fn weight_of_layer(&self, layer: &str) -> Option<(&str, TensorId)> {
        [format!("{layer}.weight"), format!("{layer}_weight")]
            .iter()
            .find_map(|k| self.weights.get_key_value(k))
            .map(|(k, t)| (k.as_str(), *t))
    }
}

/// The layer a weight key belongs to.
fn layer_of_weight(key: &str) -> Option<&str> {
    key.strip_suffix(".weight")
        .or_else(|| key.strip_suffix("_weight"))
}

/// Calls `emit(entry, tensor, confidence, reason)` for every structural
/// signal of the unknown keys.
pub fn signals(
    graph: &Graph<'_>,
    entries: &[Entry],
    unknown: &[usize],
    anchors: &Anchors,
    emit: &mut dyn FnMut(usize, TensorId, f64, String),
) {
    for &i in unknown {
        let e = &entries[i];
        let key = e.key.as_str();
        if let Some(layer) = key
            .strip_suffix(".bias")
            .or_else(|| key.strip_suffix("_bias"))
        {
            if let Some((w_key, w)) = anchors.weight_of_layer(layer) {
                for (op, bias) in biases_of_weight(graph, w) {
                    emit(
                        i,
                        bias,
                        BIAS_OF_LAYER,
                        format!("bias input of {op}, whose weight is `{w_key}`'s"),
                    );
                }
            }
            continue;
        }
        if e.has_value_field {
            continue;
        }
        if let Some((w_key, w)) = anchors.weight_of_layer(key) {
            for (op, out) in outputs_of_weight(graph, w) {
                emit(
                    i,
                    out,
                    OUTPUT_OF_LAYER,
                    format!("output of {op}, whose weight is `{w_key}`'s"),
                );
            }
        }
        if is_input_stub(key) {
            for sg in &graph.subgraphs {
                for &x in &sg.inputs {
                    emit(
                        i,
                        TensorId {
                            subgraph: sg.index,
                            index: x,
                        },
                        INPUT_STUB,
                        "graph input (an input stub's output is the model's input)".into(),
                    );
                }
            }
        }
        only_of_kind(graph, i, key, emit);
    }
}

/// The operators consuming weight `w` (as their weight input, 1), each
/// with the tensor `pick` chooses of it.
fn around_weight(
    graph: &Graph<'_>,
    w: TensorId,
    pick: impl Fn(&crate::graph::Operator) -> Option<usize>,
) -> Vec<(String, TensorId)> {
    let sg = &graph.subgraphs[w.subgraph];
    graph
        .tensor(w)
        .consumers
        .iter()
        .filter_map(|&o| {
            let op = &sg.operators[o];
            if op.input(1) != Some(w.index) {
                return None;
            }
            let index = pick(op)?;
            Some((
                format!("{} #{o}", op.opcode),
                TensorId {
                    subgraph: w.subgraph,
                    index,
                },
            ))
        })
        .collect()
}

/// The operators consuming weight `w`, with their bias inputs.
fn biases_of_weight(graph: &Graph<'_>, w: TensorId) -> Vec<(String, TensorId)> {
    around_weight(graph, w, |op| op.input(op.layer_slots()?.bias))
}

/// The operators consuming weight `w`, with their outputs.
fn outputs_of_weight(graph: &Graph<'_>, w: TensorId) -> Vec<(String, TensorId)> {
    around_weight(graph, w, |op| op.outputs.first().copied())
}

/// A key named like a module kind (`pad`, `encoder.pool`) and the output
/// of the model's only operator of that kind.
fn only_of_kind(
    graph: &Graph<'_>,
    i: usize,
    key: &str,
    emit: &mut dyn FnMut(usize, TensorId, f64, String),
) {
    let Some(word) = key.rsplit(['.', '/']).next() else {
        return;
    };
    let word = word
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '_')
        .to_lowercase();
    for (_, kind) in MODULE_OPS.iter().filter(|(name, _)| *name == word) {
        let ops: Vec<(usize, usize)> = graph
            .subgraphs
            .iter()
            .flat_map(|sg| {
                sg.operators
                    .iter()
                    .filter(|o| o.opcode.is(*kind))
                    .map(move |o| (sg.index, o.index))
            })
            .collect();
        if let [(si, oi)] = ops[..] {
            let op = &graph.subgraphs[si].operators[oi];
            if let Some(&out) = op.outputs.first() {
                emit(
                    i,
                    TensorId {
                        subgraph: si,
                        index: out,
                    },
                    ONLY_OF_KIND,
                    format!("output of the model's only {}", op.opcode),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_stubs_are_found_under_wrappers() {
        for key in [
            "quant",
            "x",
            "model.quant",
            "module.model.quant",
            "_orig_mod.quant",
        ] {
            assert!(is_input_stub(key), "{key}");
        }
        for key in ["layer1.quant", "model.layer1.quant", "quantize", "model"] {
            assert!(!is_input_stub(key), "{key}");
        }
    }
}
