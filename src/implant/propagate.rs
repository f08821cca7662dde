//! `--propagate`: carry quantization parameters forward through operators
//! that move values without changing them ([`Operator::value_source`]), to
//! outputs the qparam set leaves out (a Transpose's output takes its input's
//! parameters, as onert needs).
//!
//! [`Operator::value_source`]: crate::graph::Operator::value_source

use std::collections::HashMap;

use crate::analysis::Context;
use crate::graph::TensorId;
use crate::model::fb::TensorType;

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
pub fn fills(ctx: &Context<'_>) -> Vec<Fill> {
    let mut out = Vec::new();
    for sg in &ctx.graph.subgraphs {
        let id = |index| TensorId {
            subgraph: sg.index,
            index,
        };
        let mut known: HashMap<usize, usize> = HashMap::new();
        for op in &sg.operators {
            let Some(x) = op.value_source() else { continue };
            let source = ctx
                .by_tensor
                .get(&id(x))
                .copied()
                .or_else(|| known.get(&x).copied());
            let Some(entry) = source else { continue };
            for &y in &op.outputs {
                let t = &sg.tensors[y];
                if t.dtype == TensorType::FLOAT32
                    && !ctx.by_tensor.contains_key(&id(y))
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
