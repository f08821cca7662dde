//! The tensors `apply` adds to a model, which have no counterpart in the
//! float model: the twins around the QUANTIZE and DEQUANTIZE operators it
//! inserts for `--float-io` and for mixed precision (`--allow-float`).
//! They are never keys of an extracted set; one kind carries parameters
//! that belong to a tensor of the float model, and says whose.

use crate::graph::{Graph, Subgraph, TensorId};
use crate::model::fb::{BuiltinOperator as Op, TensorType};

/// A tensor `apply` inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insertion {
    pub tensor: TensorId,
    /// The QUANTIZE or DEQUANTIZE it belongs to, as `QUANTIZE #0`.
    pub op: String,
    /// For the quantized twin of a float graph input (`--float-io`): the
    /// input, whose parameters the twin carries.
    pub params_of: Option<TensorId>,
}

/// Every inserted tensor of `graph`, in subgraph and operator order.
///
/// - A QUANTIZE reading a float32 graph input writes the input's quantized
///   twin (`--float-io`, or a quantizer's float input); its parameters are
///   the input's.
/// - A DEQUANTIZE writing a graph output, or a float twin named after its
///   quantized tensor (`<name>::float`, `<name>::dequantized`), writes an
///   inserted float tensor.
/// - A QUANTIZE reading `<name>::float` (written by an operator kept float)
///   into `<name>`: the twin it reads is inserted; `<name>` is the float
///   model's own tensor.
pub fn find(graph: &Graph<'_>) -> Vec<Insertion> {
    let mut out = Vec::new();
    for sg in &graph.subgraphs {
        for op in &sg.operators {
            let (Some(input), Some(&output)) = (op.input(0), op.outputs.first()) else {
                continue;
            };
            let name = |i: usize| sg.tensor(i).name;
            let at = format!("{} #{}", op.opcode, op.index);
            let insertion = |tensor: usize, params_of: Option<usize>| Insertion {
                tensor: sg.id(tensor),
                op: at.clone(),
                params_of: params_of.map(|i| sg.id(i)),
            };
            if op.opcode.is(Op::QUANTIZE) {
                if is_float(sg, input) && sg.inputs.contains(&input) {
                    out.push(insertion(output, Some(input)));
                } else if is_float(sg, input) && is_twin(name(input), name(output), "::float") {
                    out.push(insertion(input, None));
                }
            } else if op.opcode.is(Op::DEQUANTIZE)
                && is_float(sg, output)
                && (sg.outputs.contains(&output)
                    || is_twin(name(output), name(input), "::float")
                    || is_twin(name(output), name(input), "::dequantized"))
            {
                out.push(insertion(output, None));
            }
        }
    }
    out
}

fn is_float(sg: &Subgraph<'_>, i: usize) -> bool {
    sg.tensor(i).dtype == TensorType::FLOAT32
}

/// Whether `twin` is `of` followed by `suffix` (and, as `apply` keeps
/// names unique, possibly `.N`).
fn is_twin(twin: &str, of: &str, suffix: &str) -> bool {
    twin.strip_prefix(of)
        .and_then(|rest| rest.strip_prefix(suffix))
        .is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::is_twin;

    #[test]
    fn twins_are_the_names_apply_gives() {
        assert!(is_twin("x::float", "x", "::float"));
        assert!(is_twin("x::float.2", "x", "::float"));
        assert!(!is_twin("x::float.", "x", "::float"));
        assert!(!is_twin("x::floaty", "x", "::float"));
        assert!(!is_twin("y::float", "x", "::float"));
        assert!(is_twin("out::dequantized", "out", "::dequantized"));
    }
}
