//! Where float and quantized tensors meet (mixed precision, `--allow-float`,
//! and a target's float fallback): an operator whose float32 inputs are all
//! quantized runs quantized and needs parameters for its outputs, unless it
//! is forced to run in float; any other operator with a quantized input or
//! output runs in float, between a DEQUANTIZE of each quantized input and a
//! QUANTIZE of each quantized output. Runtimes reject an operator that
//! mixes the two without them.
//!
//! Operators forced to run in float (`--fallback float`: those a target
//! has no quantized kernel for) leave some tensors float: their constants
//! no quantized operator reads, and the activations they write that only
//! other forced operators read (a chain of them converts once, at its
//! ends). A graph output stays quantized, written by a QUANTIZE.

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

/// An operator, by subgraph and index.
pub type OpId = (usize, usize);

/// The float32 tensors that stay float because every operator reading
/// them runs in float (`forced`): constants, and activations a forced
/// operator writes; never a graph output.
pub fn kept_float(graph: &Graph<'_>, forced: &HashSet<OpId>) -> HashSet<TensorId> {
    let mut kept = HashSet::new();
    if forced.is_empty() {
        return kept;
    }
    for sg in &graph.subgraphs {
        let is_forced = |op: usize| forced.contains(&(sg.index, op));
        for t in &sg.tensors {
            if t.dtype != TensorType::FLOAT32
                || t.consumers.is_empty()
                || sg.outputs.contains(&t.id.index)
                || !t.consumers.iter().all(|&c| is_forced(c))
            {
                continue;
            }
            let written_in_float = match t.producer {
                Some(p) => is_forced(p),
                None => t.is_constant(),
            };
            if written_in_float {
                kept.insert(t.id);
            }
        }
    }
    kept
}

/// The conversions to insert, and the boundaries no conversion can bridge.
/// `quantized` holds every float32 tensor the plan gives parameters;
/// `forced` the operators that run in float whatever their inputs;
/// `weight_only` the weights hybrid kernels read as they are stored (an
/// operator whose only quantized inputs are those runs as it is).
pub fn boundaries(
    graph: &Graph<'_>,
    quantized: &HashSet<TensorId>,
    forced: &HashSet<OpId>,
    weight_only: &HashSet<TensorId>,
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
            let in_float = forced.contains(&(sg.index, op.index));
            let hybrid = outputs.iter().all(|&o| !q(o))
                && inputs.iter().filter(|&&t| q(t)).all(|&t| {
                    weight_only.contains(&TensorId {
                        subgraph: sg.index,
                        index: t,
                    })
                });
            if hybrid && !in_float {
                continue;
            }
            if !in_float && inputs.iter().all(|&t| q(t)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_sets::model;
    use crate::model::fb::BuiltinOperator as Op;

    fn id(index: usize) -> TensorId {
        TensorId { subgraph: 0, index }
    }

    /// x -> RELU #0 -> a -> MUL #1 (k) -> b -> ADD #2 (c) -> y
    fn chain() -> crate::model::CircleFile {
        let tensors = [
            ("x", None),
            ("a", None),
            ("k", Some(vec![2.0; 4])),
            ("b", None),
            ("c", Some(vec![1.0; 4])),
            ("y", None),
        ];
        let ops = [
            (Op::RELU, vec![0], vec![1]),
            (Op::MUL, vec![1, 2], vec![3]),
            (Op::ADD, vec![3, 4], vec![5]),
        ];
        model(&tensors, &ops, &[0], &[5])
    }

    #[test]
    fn a_chain_of_float_operators_converts_at_its_ends_only() {
        let file = chain();
        let graph = Graph::new(&file);
        let forced: HashSet<OpId> = [(0, 0), (0, 1)].into();
        let kept = kept_float(&graph, &forced);
        assert_eq!(
            kept,
            [id(1), id(2)].into(),
            "the inner activation and the constant"
        );
        let quantized: HashSet<TensorId> = (0..6).map(id).filter(|t| !kept.contains(t)).collect();
        let (conversions, unconvertible) = boundaries(&graph, &quantized, &forced, &HashSet::new());
        assert_eq!(
            conversions,
            [
                Conversion::DequantizeInput {
                    subgraph: 0,
                    op: 0,
                    tensor: 0
                },
                Conversion::QuantizeOutput {
                    subgraph: 0,
                    op: 1,
                    tensor: 3
                },
            ]
        );
        assert!(unconvertible.is_empty());
        // Nothing forced: everything quantized runs quantized.
        let all: HashSet<TensorId> = (0..6).map(id).collect();
        assert_eq!(
            boundaries(&graph, &all, &HashSet::new(), &HashSet::new()),
            (vec![], vec![])
        );
        assert!(kept_float(&graph, &HashSet::new()).is_empty());
    }

    #[test]
    fn a_graph_output_a_float_operator_writes_stays_quantized() {
        let file = chain();
        let graph = Graph::new(&file);
        let forced: HashSet<OpId> = [(0, 2)].into();
        let kept = kept_float(&graph, &forced);
        assert_eq!(
            kept,
            [id(4)].into(),
            "only ADD's constant; `y` is an output"
        );
        let quantized: HashSet<TensorId> = (0..6).map(id).filter(|t| !kept.contains(t)).collect();
        let (conversions, _) = boundaries(&graph, &quantized, &forced, &HashSet::new());
        assert_eq!(
            conversions,
            [
                Conversion::DequantizeInput {
                    subgraph: 0,
                    op: 2,
                    tensor: 3
                },
                Conversion::QuantizeOutput {
                    subgraph: 0,
                    op: 2,
                    tensor: 5
                },
            ]
        );
    }
}
