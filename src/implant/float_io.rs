//! `--float-io`: keep a model's float interface. Each quantized graph input
//! stays float and feeds a Quantize into a new quantized twin; each
//! quantized graph output gets a Dequantize into a new float tensor that
//! takes its place among the outputs (and in signature defs).

use crate::graph::Graph;
use crate::model::fb::{self, BuiltinOperator as Op, TensorType};

/// Inserts the operators; returns a line per inserted operator.
pub fn insert(model: &mut fb::ModelT, graph: &Graph<'_>) -> Vec<String> {
    let mut report = Vec::new();
    let codes = &mut model.operator_codes;
    let mut renamed_outputs: Vec<(u32, i32, i32)> = Vec::new();
    for (si, sg) in model.subgraphs.iter_mut().flatten().enumerate() {
        let was_float = |i: usize| graph.subgraphs[si].tensors[i].dtype == TensorType::FLOAT32;
        let tensors = sg.tensors.get_or_insert_with(Vec::new);
        let ops = sg.operators.get_or_insert_with(Vec::new);
        let mut front = Vec::new();
        for &x in sg.inputs.iter().flatten() {
            let xi = x as usize;
            if !was_float(xi) || tensors[xi].type_ == TensorType::FLOAT32 {
                continue;
            }
            let mut twin = tensors[xi].clone();
            twin.name = Some(format!(
                "{}::quantized",
                tensors[xi].name.as_deref().unwrap_or("input")
            ));
            tensors[xi].type_ = TensorType::FLOAT32;
            tensors[xi].quantization = None;
            tensors.push(twin);
            let qi = (tensors.len() - 1) as i32;
            for op in ops.iter_mut() {
                for input in op.inputs.iter_mut().flatten() {
                    if *input == x {
                        *input = qi;
                    }
                }
            }
            front.push(op_with(opcode(codes, Op::QUANTIZE), x, qi));
            report.push(format!(
                "QUANTIZE {} -> {}",
                name(tensors, x),
                name(tensors, qi)
            ));
        }
        ops.splice(0..0, front);
        for out in sg.outputs.iter_mut().flatten() {
            let y = *out;
            let yi = y as usize;
            if !was_float(yi) || tensors[yi].type_ == TensorType::FLOAT32 {
                continue;
            }
            let mut float = tensors[yi].clone();
            float.name = Some(format!(
                "{}::dequantized",
                tensors[yi].name.as_deref().unwrap_or("output")
            ));
            float.type_ = TensorType::FLOAT32;
            float.quantization = None;
            float.buffer = 0;
            tensors.push(float);
            let fi = (tensors.len() - 1) as i32;
            ops.push(op_with(opcode(codes, Op::DEQUANTIZE), y, fi));
            report.push(format!(
                "DEQUANTIZE {} -> {}",
                name(tensors, y),
                name(tensors, fi)
            ));
            *out = fi;
            renamed_outputs.push((si as u32, y, fi));
        }
    }
    for sig in model.signature_defs.iter_mut().flatten() {
        for map in sig.outputs.iter_mut().flatten() {
            if let Some(&(_, _, fi)) = renamed_outputs
                .iter()
                .find(|(s, y, _)| *s == sig.subgraph_index && *y as u32 == map.tensor_index)
            {
                map.tensor_index = fi as u32;
            }
        }
    }
    report
}

fn name(tensors: &[fb::TensorT], i: i32) -> &str {
    tensors[i as usize].name.as_deref().unwrap_or("?")
}

pub(super) fn op_with(opcode_index: u32, input: i32, output: i32) -> fb::OperatorT {
    fb::OperatorT {
        opcode_index,
        inputs: Some(vec![input]),
        outputs: Some(vec![output]),
        ..Default::default()
    }
}

/// The index of `op`'s operator code, added if the model has none.
pub(super) fn opcode(codes: &mut Option<Vec<fb::OperatorCodeT>>, op: Op) -> u32 {
    let codes = codes.get_or_insert_with(Vec::new);
    if let Some(i) = codes
        .iter()
        .position(|c| c.builtin_code == op && c.custom_code.is_none())
    {
        return i as u32;
    }
    codes.push(fb::OperatorCodeT {
        builtin_code: op,
        deprecated_builtin_code: op.0.min(127) as i8,
        version: 1,
        ..Default::default()
    });
    (codes.len() - 1) as u32
}
