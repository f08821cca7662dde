//! Inserts the QUANTIZE and DEQUANTIZE operators the plan calls for where a
//! float operator meets a quantized tensor (mixed precision).

use std::collections::{HashMap, HashSet};

use super::float_io::{op_with, opcode};
use crate::model::fb::{self, BuiltinOperator as Op, TensorType};
use crate::plan::Conversion;

/// Edits `model` (already retyped); returns a line per inserted operator.
pub fn insert(model: &mut fb::ModelT, conversions: &[Conversion]) -> Vec<String> {
    let mut report = Vec::new();
    let codes = &mut model.operator_codes;
    for (si, sg) in model.subgraphs.iter_mut().flatten().enumerate() {
        let mine: Vec<&Conversion> = conversions
            .iter()
            .filter(|c| match c {
                Conversion::DequantizeInput { subgraph, .. }
                | Conversion::QuantizeOutput { subgraph, .. } => *subgraph == si,
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let tensors = sg.tensors.get_or_insert_with(Vec::new);
        let ops = sg.operators.get_or_insert_with(Vec::new);
        let mut names: HashSet<String> = tensors.iter().filter_map(|t| t.name.clone()).collect();
        let mut before: HashMap<usize, Vec<fb::OperatorT>> = HashMap::new();
        let mut after: HashMap<usize, Vec<fb::OperatorT>> = HashMap::new();
        // One float twin per dequantized tensor, made before its first use.
        let mut twins: HashMap<usize, i32> = HashMap::new();
        for c in mine {
            match *c {
                Conversion::DequantizeInput { op, tensor, .. } => {
                    let twin = match twins.get(&tensor) {
                        Some(&t) => t,
                        None => {
                            let t = float_twin(tensors, &mut names, tensor);
                            twins.insert(tensor, t);
                            before.entry(op).or_default().push(op_with(
                                opcode(codes, Op::DEQUANTIZE),
                                tensor as i32,
                                t,
                            ));
                            report.push(format!(
                                "DEQUANTIZE {} -> {} (before {})",
                                name(tensors, tensor as i32),
                                name(tensors, t),
                                op_name(codes, &ops[op], op)
                            ));
                            t
                        }
                    };
                    for input in ops[op].inputs.iter_mut().flatten() {
                        if *input == tensor as i32 {
                            *input = twin;
                        }
                    }
                }
                Conversion::QuantizeOutput { op, tensor, .. } => {
                    let twin = float_twin(tensors, &mut names, tensor);
                    for output in ops[op].outputs.iter_mut().flatten() {
                        if *output == tensor as i32 {
                            *output = twin;
                        }
                    }
                    after.entry(op).or_default().push(op_with(
                        opcode(codes, Op::QUANTIZE),
                        twin,
                        tensor as i32,
                    ));
                    report.push(format!(
                        "QUANTIZE {} -> {} (after {})",
                        name(tensors, twin),
                        name(tensors, tensor as i32),
                        op_name(codes, &ops[op], op)
                    ));
                }
            }
        }
        let old = std::mem::take(ops);
        for (i, op) in old.into_iter().enumerate() {
            ops.extend(before.remove(&i).unwrap_or_default());
            ops.push(op);
            ops.extend(after.remove(&i).unwrap_or_default());
        }
    }
    report
}

/// Appends a float32 copy of tensor `index` with no data and no
/// quantization; returns its index. Its name (`<name>::float`) is new to
/// the subgraph: a tensor written through a QUANTIZE and read through a
/// DEQUANTIZE has two twins, and names must stay unique for a later run.
fn float_twin(tensors: &mut Vec<fb::TensorT>, names: &mut HashSet<String>, index: usize) -> i32 {
    let mut twin = tensors[index].clone();
    let name = twin_name(&tensors[index], "float", names);
    names.insert(name.clone());
    twin.name = Some(name);
    twin.type_ = TensorType::FLOAT32;
    twin.quantization = None;
    twin.buffer = 0;
    tensors.push(twin);
    (tensors.len() - 1) as i32
}

fn name(tensors: &[fb::TensorT], i: i32) -> &str {
    tensors[i as usize].name.as_deref().unwrap_or("?")
}

fn op_name(codes: &Option<Vec<fb::OperatorCodeT>>, op: &fb::OperatorT, index: usize) -> String {
    let code = codes
        .as_ref()
        .and_then(|c| c.get(op.opcode_index as usize))
        .map(|c| c.builtin_code.variant_name().unwrap_or("?").to_string())
        .unwrap_or_default();
    format!("{code} #{index}")
}

/// `<name>::<suffix>` for a twin of `tensor`, made unique among `names`
/// (`.1`, `.2`, ... appended).
pub(super) fn twin_name(tensor: &fb::TensorT, suffix: &str, names: &HashSet<String>) -> String {
    let base = format!("{}::{suffix}", tensor.name.as_deref().unwrap_or("tensor"));
    let mut name = base.clone();
    let mut n = 1;
    while names.contains(&name) {
        name = format!("{base}.{n}");
        n += 1;
    }
    name
}
