//! Q6xx: whether the implant leaves float tensors on the way to the outputs.

use super::Rule;
use crate::analysis::diagnostic::{Diagnostic, Severity};
use crate::analysis::Context;
use crate::graph::{Subgraph, TensorId};
use crate::model::fb::TensorType;

pub static FLOAT_REMAINS: Rule = Rule {
    code: "Q601",
    name: "float-remains",
    severity: Severity::Error,
    summary: "a float32 tensor on the way to an output gets no parameters",
    docs: r#"## What it does
Walks back from every graph output through the operators that produce it and lists each float32 tensor that no entry names, with the operator that produces or consumes it. Tensors passed to `apply --allow-float` are reported as warnings instead.

## Why is this bad?
The C++ q-implant refuses the result ("every tensor reachable from the outputs must be non-float32"); a runtime given a half-quantized graph rejects the mixed types.

## Example
A qparam set with entries for weights and biases but none for `ofm`, the Conv2D output.

## Use instead
Export parameters for every activation too, or keep the tensor float on purpose with `q-implant apply --allow-float ofm`.
"#,
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for sg in &ctx.graph.subgraphs {
        for index in reachable_from_outputs(sg) {
            let t = &sg.tensors[index];
            let id = TensorId {
                subgraph: sg.index,
                index,
            };
            if t.dtype != TensorType::FLOAT32
                || ctx.by_tensor.contains_key(&id)
                || ctx.propagated.contains_key(&id)
            {
                continue;
            }
            let role = match (t.producer, t.consumers.first()) {
                (Some(p), _) => format!("output of {} #{p}", sg.operators[p].opcode),
                (None, Some(&c)) if t.is_constant() => {
                    format!("constant input of {} #{c}", sg.operators[c].opcode)
                }
                (None, _) if sg.inputs.contains(&index) => "a graph input".to_string(),
                (None, Some(&c)) => format!("input of {} #{c}", sg.operators[c].opcode),
                (None, None) => "a graph output".to_string(),
            };
            let allowed = ctx.allow_float.iter().any(|n| n == t.name);
            let mut d = Diagnostic::new(
                &FLOAT_REMAINS,
                format!(
                    "`{}` ({role}, subgraph {}) would stay float32",
                    t.name, sg.index
                ),
            )
            .help(match ctx.key_probably_meaning(t.name) {
                Some(key) => format!(
                    "the key `{key}` probably means this tensor: rename it to `{}`",
                    t.name
                ),
                None => format!(
                    "add an entry for `{}`, or keep it float with `apply --allow-float '{}'`",
                    t.name, t.name
                ),
            });
            if allowed {
                d.severity = Severity::Warning;
                d = d.help("kept float on purpose (--allow-float)");
            }
            out.push(d);
        }
    }
}

/// Tensors the outputs depend on, in index order.
pub fn reachable_from_outputs(sg: &Subgraph<'_>) -> Vec<usize> {
    let mut seen = vec![false; sg.tensors.len()];
    let mut stack: Vec<usize> = sg.outputs.clone();
    while let Some(t) = stack.pop() {
        if std::mem::replace(&mut seen[t], true) {
            continue;
        }
        if let Some(p) = sg.tensors[t].producer {
            stack.extend(
                sg.operators[p]
                    .inputs
                    .iter()
                    .flatten()
                    .filter(|&&i| !seen[i]),
            );
        }
    }
    (0..sg.tensors.len()).filter(|&i| seen[i]).collect()
}
