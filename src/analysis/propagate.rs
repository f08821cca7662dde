//! `--propagate`: carry quantization parameters forward through operators
//! that move values without changing them ([`Operator::value_source`]), to
//! outputs the qparam set leaves out (a Transpose's output takes its input's
//! parameters, as onert needs).
//!
//! Only parameters travel, never data: the filled tensors are activations.
//! Only per-tensor parameters of activations travel: a per-channel axis
//! means nothing after a Transpose or Reshape, and a constant's parameters
//! describe its stored values, not what an operator computes from them.
//!
//! [`Operator::value_source`]: crate::graph::Operator::value_source

use std::collections::HashMap;

use crate::graph::{Graph, TensorId};
use crate::model::fb::TensorType;
use crate::qparam::Entry;

/// A tensor given parameters it had no entry for.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    pub tensor: TensorId,
    /// The entry whose parameters it takes.
    pub entry: usize,
    /// The tensor they were copied from, and the operator between.
    pub from: TensorId,
    pub op: usize,
}

/// Fills, in execution order, so chains (Transpose → Reshape) carry through.
/// `by_tensor` maps each tensor an entry names to that entry.
pub fn fills(
    graph: &Graph<'_>,
    entries: &[Entry],
    by_tensor: &HashMap<TensorId, usize>,
) -> Vec<Fill> {
    let mut out = Vec::new();
    for sg in &graph.subgraphs {
        let id = |index| sg.id(index);
        let mut known: HashMap<usize, usize> = HashMap::new();
        for op in &sg.operators {
            let Some(x) = op.value_source() else { continue };
            if sg.tensors[x].is_constant() {
                continue;
            }
            let source = by_tensor
                .get(&id(x))
                .copied()
                .or_else(|| known.get(&x).copied());
            let Some(entry) = source else { continue };
            if !carries(&entries[entry]) {
                continue;
            }
            for &y in &op.outputs {
                let t = &sg.tensors[y];
                if t.dtype == TensorType::FLOAT32
                    && !t.is_constant()
                    && !by_tensor.contains_key(&id(y))
                    && !known.contains_key(&y)
                {
                    known.insert(y, entry);
                    out.push(Fill {
                        tensor: id(y),
                        entry,
                        from: id(x),
                        op: op.index,
                    });
                }
            }
        }
    }
    out
}

/// Whether an entry's parameters may be copied: complete, per tensor, and
/// without data.
fn carries(entry: &Entry) -> bool {
    entry.is_complete()
        && entry.value.is_none()
        && !entry.has_value_field
        && entry.scales().is_some_and(|s| s.len() == 1)
        && entry.zero_points().is_some_and(|z| z.len() == 1)
}
