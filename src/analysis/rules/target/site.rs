//! What every target's rules share: the operators that run quantized (the
//! sites a runtime's kernels see), the entry that gives a tensor its
//! parameters, and where a finding is placed.

use crate::analysis::Context;
use crate::diagnostic::Diagnostic;
use crate::graph::{Operator, Subgraph, TensorId};
use crate::model::fb::TensorType;
use crate::qparam::{Entry, QDType};

/// The entry that gives `id` its parameters: its own, or the one
/// propagation copies.
pub fn planned<'a>(ctx: &Context<'a>, id: TensorId) -> Option<&'a Entry> {
    let qparam = ctx.qparam;
    ctx.entry_for(id)
        .or_else(|| ctx.fill_for(id).map(|f| &qparam.entries[f.entry]))
}

pub fn dtype(e: &Entry) -> Option<QDType> {
    e.dtype.as_ref().map(|d| d.value)
}

/// Whether parameters differ between channels.
pub fn varies(e: &Entry) -> bool {
    let differ = |v: &[f64]| v.windows(2).any(|w| w[0] != w[1]);
    e.scales().is_some_and(differ)
        || e.zero_points()
            .is_some_and(|z| z.windows(2).any(|w| w[0] != w[1]))
}

/// A finding placed on `field` of `entry` (the key itself when the field is
/// missing), if the finding has an entry.
pub fn at_entry(mut d: Diagnostic, entry: Option<&Entry>, field: &'static str) -> Diagnostic {
    if let Some(e) = entry {
        let span = match field {
            "scale" => e.scale.as_ref().map(|s| s.span.clone()),
            "zerop" => e.zerop.as_ref().map(|s| s.span.clone()),
            _ => e.dtype.as_ref().map(|s| s.span.clone()),
        };
        d = d
            .key(&e.key)
            .field(field)
            .at(span.unwrap_or_else(|| e.key_span.clone()));
    }
    d
}

/// An operator that runs quantized, on the type its output has.
pub struct Site<'a> {
    pub sg: &'a Subgraph<'a>,
    pub op: &'a Operator,
    /// Its (first) output, and the entry that gives it its parameters.
    pub output: usize,
    pub out_entry: &'a Entry,
    /// The output's type.
    pub scheme: QDType,
    /// The type of its first input that is not a constant, when that has
    /// an entry.
    pub reads: Option<QDType>,
    /// `CONV_2D #3 (subgraph 0)`, for messages.
    pub what: String,
}

/// Every operator that runs quantized and whose output has a typed entry,
/// in model order.
pub fn sites<'a>(ctx: &Context<'a>) -> Vec<Site<'a>> {
    let mut found = Vec::new();
    for sg in &ctx.graph.subgraphs {
        let id = |index| sg.id(index);
        for op in &sg.operators {
            if !runs_quantized(ctx, sg, op) {
                continue;
            }
            let Some(&output) = op.outputs.first() else {
                continue;
            };
            let Some(out_entry) = planned(ctx, id(output)) else {
                continue;
            };
            let Some(scheme) = dtype(out_entry) else {
                continue;
            };
            let reads = op
                .inputs
                .iter()
                .flatten()
                .find(|&&t| !sg.tensors[t].is_constant())
                .and_then(|&t| planned(ctx, id(t)))
                .and_then(dtype);
            found.push(Site {
                sg,
                op,
                output,
                out_entry,
                scheme,
                reads,
                what: format!("{} #{} (subgraph {})", op.opcode, op.index, sg.index),
            });
        }
    }
    found
}

/// An operator runs quantized when every float32 input it has is
/// quantized (otherwise `apply` runs it in float between conversions).
fn runs_quantized(ctx: &Context<'_>, sg: &Subgraph<'_>, op: &Operator) -> bool {
    let id = |index| sg.id(index);
    let floats: Vec<usize> = op
        .inputs
        .iter()
        .flatten()
        .copied()
        .filter(|&t| sg.tensors[t].dtype == TensorType::FLOAT32)
        .collect();
    !floats.is_empty()
        && floats.iter().all(|&t| ctx.quantized.contains(&id(t)))
        && op
            .outputs
            .iter()
            .all(|&t| sg.tensors[t].dtype != TensorType::FLOAT32 || ctx.quantized.contains(&id(t)))
}
