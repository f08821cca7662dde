//! Where float and quantized tensors meet (mixed precision, `--allow-float`):
//! an operator whose float32 inputs are all quantized runs quantized and
//! needs parameters for its outputs; any other operator with a quantized
//! input or output runs in float, between a DEQUANTIZE of each quantized
//! input and a QUANTIZE of each quantized output. Runtimes reject an
//! operator that mixes the two without them.

use std::collections::HashSet;

use crate::graph::{Graph, TensorId};
use crate::model::fb::TensorType;
use crate::plan::Conversion;

/// An operator that reads only quantized tensors but would write a float
/// one: it cannot, so the tensor needs parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unconvertible {
    pub subgraph: usize,
    pub op: usize,
    pub tensor: usize,
}

/// The conversions to insert, and the boundaries no conversion can bridge.
/// `quantized` holds every float32 tensor the plan gives parameters.
pub fn boundaries(
    graph: &Graph<'_>,
    quantized: &HashSet<TensorId>,
) -> (Vec<Conversion>, Vec<Unconvertible>) {
    let mut conversions = Vec::new();
    let mut unconvertible = Vec::new();
    for sg in &graph.subgraphs {
        let is_float = |t: usize| sg.tensors[t].dtype == TensorType::FLOAT32;
        let q = |t: usize| {
            quantized.contains(&TensorId {
                subgraph: sg.index,
                index: t,
            })
        };
        for op in &sg.operators {
            let outputs: Vec<usize> = op
                .outputs
                .iter()
                .copied()
                .filter(|&t| is_float(t))
                .collect();
            let inputs: Vec<usize> = op
                .inputs
                .iter()
                .flatten()
                .copied()
                .filter(|&t| is_float(t))
                .collect();
            if outputs.is_empty() || inputs.is_empty() {
                continue;
            }
            if inputs.iter().all(|&t| q(t)) {
                for &o in outputs.iter().filter(|&&o| !q(o)) {
                    unconvertible.push(Unconvertible {
                        subgraph: sg.index,
                        op: op.index,
                        tensor: o,
                    });
                }
                continue;
            }
            for &i in inputs.iter().filter(|&&i| q(i)) {
                conversions.push(Conversion::DequantizeInput {
                    subgraph: sg.index,
                    op: op.index,
                    tensor: i,
                });
            }
            for &o in outputs.iter().filter(|&&o| q(o)) {
                conversions.push(Conversion::QuantizeOutput {
                    subgraph: sg.index,
                    op: op.index,
                    tensor: o,
                });
            }
        }
    }
    (conversions, unconvertible)
}
