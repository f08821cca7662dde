//! Moves a layer's bias into an ADD after it, for a runtime that refuses
//! the bias on the layer (onert, on a FULLY_CONNECTED with GGML weights):
//! the layer writes a float twin of its output without the bias, and the
//! ADD (with the layer's fused activation) writes the output. The result
//! is the same computation.

use std::collections::HashSet;

use super::float_io::opcode;
use crate::model::fb::{self, ActivationFunctionType as Act, BuiltinOperator as Op};
use crate::plan::BiasMove;

/// Edits `model` (retyped, conversions inserted: the layer is found by its
/// weight); returns a line per inserted ADD.
pub fn insert(model: &mut fb::ModelT, moves: &[BiasMove]) -> Vec<String> {
    let mut report = Vec::new();
    for m in moves {
        let add = opcode(&mut model.operator_codes, Op::ADD);
        let Some(sg) = model.subgraphs.as_mut().and_then(|s| s.get_mut(m.subgraph)) else {
            continue;
        };
        let tensors = sg.tensors.get_or_insert_with(Vec::new);
        let ops = sg.operators.get_or_insert_with(Vec::new);
        let (weight, bias) = (m.weight as i32, m.bias as i32);
        let Some(at) = ops.iter().position(|op| {
            let inputs = op.inputs.as_deref().unwrap_or_default();
            inputs.get(1) == Some(&weight) && inputs.get(2) == Some(&bias)
        }) else {
            continue;
        };
        let Some(&output) = ops[at].outputs.as_ref().and_then(|o| o.first()) else {
            continue;
        };
        let names: HashSet<String> = tensors.iter().filter_map(|t| t.name.clone()).collect();
        let twin = without_bias(tensors, &names, output as usize);
        let layer = &mut ops[at];
        if let Some(inputs) = layer.inputs.as_mut() {
            inputs[2] = -1;
        }
        if let Some(outputs) = layer.outputs.as_mut() {
            outputs[0] = twin;
        }
        let act = take_activation(&mut layer.builtin_options);
        ops.insert(
            at + 1,
            fb::OperatorT {
                opcode_index: add,
                inputs: Some(vec![twin, bias]),
                outputs: Some(vec![output]),
                builtin_options: fb::BuiltinOptionsT::AddOptions(Box::new(fb::AddOptionsT {
                    fused_activation_function: act,
                    ..Default::default()
                })),
                ..Default::default()
            },
        );
        let name = |i: i32| tensors[i as usize].name.clone().unwrap_or_default();
        report.push(format!(
            "ADD {} + {} -> {} (after FULLY_CONNECTED #{}: its bias, which the target refuses there)",
            name(twin),
            name(bias),
            name(output),
            m.op
        ));
    }
    report
}

/// The layer's fused activation, which the ADD takes over.
fn take_activation(options: &mut fb::BuiltinOptionsT) -> Act {
    match options {
        fb::BuiltinOptionsT::FullyConnectedOptions(o) => {
            std::mem::replace(&mut o.fused_activation_function, Act::NONE)
        }
        _ => Act::NONE,
    }
}

/// Appends a copy of tensor `index` named `<name>::without_bias` (made
/// unique), with no data; returns its index.
fn without_bias(tensors: &mut Vec<fb::TensorT>, names: &HashSet<String>, index: usize) -> i32 {
    let mut twin = tensors[index].clone();
    twin.name = Some(super::conversions::twin_name(
        &tensors[index],
        "without_bias",
        names,
    ));
    twin.buffer = 0;
    tensors.push(twin);
    (tensors.len() - 1) as i32
}
