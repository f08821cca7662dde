//! Q6xx: whether the implant leaves float tensors on the way to the outputs.

use std::collections::HashSet;

use crate::analysis::{precision, Context};
use crate::diagnostic::{Diagnostic, Rule, Severity};
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

pub static PRECISION_BOUNDARY: Rule = Rule {
    code: "Q602",
    name: "precision-boundary",
    severity: Severity::Error,
    summary: "an operator reading only quantized tensors would write a float one",
    docs: r#"## What it does
Where a model mixes precisions (`--allow-float`), finds operators whose float32 inputs are all quantized but whose output would stay float. Operators with a float input run in float instead: `apply` inserts a DEQUANTIZE before their quantized inputs and a QUANTIZE after their quantized outputs, and reports each.

## Why is this bad?
A quantized operator computes a quantized output, for which it needs the output's scale and zero point; without them the model is invalid, and runtimes refuse to load it (onert: "OperationValidator failed").

## Example
`--allow-float ofm` where `ofm` is the output of a Conv2D whose input, weight and bias are all quantized.

## Use instead
Give `ofm` parameters, or keep the whole operator float (`--allow-float` its input, weight and bias too).
"#,
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut uncovered = HashSet::new();
    for sg in &ctx.graph.subgraphs {
        for index in reachable_from_outputs(sg) {
            let t = &sg.tensors[index];
            let id = TensorId {
                subgraph: sg.index,
                index,
            };
            if t.dtype != TensorType::FLOAT32
                || ctx.by_tensor.contains_key(&id)
                || ctx.fill_for(id).is_some()
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
            let allowed = ctx.allowed_float(t.name);
            if !allowed {
                uncovered.insert(id);
            }
            let mut d = Diagnostic::new(
                &FLOAT_REMAINS,
                format!(
                    "`{}` ({role}, subgraph {}) would stay float32",
                    t.name, sg.index
                ),
            )
            .tensor(t.name)
            .help(match ctx.key_probably_meaning(t.name) {
                Some(key) => format!(
                    "the key `{key}` probably means this tensor: rename it to `{}`",
                    t.name
                ),
                None => format!(
                    "add an entry for `{}`, or keep it float with `--allow-float '{}'`",
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
    let (_, unconvertible) = precision::boundaries(ctx.graph, &ctx.quantized);
    for u in unconvertible {
        let id = TensorId {
            subgraph: u.subgraph,
            index: u.tensor,
        };
        if uncovered.contains(&id) {
            continue;
        }
        let sg = &ctx.graph.subgraphs[u.subgraph];
        let name = sg.tensors[u.tensor].name;
        let op = format!("{} #{}", sg.operators[u.op].opcode, u.op);
        out.push(
            Diagnostic::new(
                &PRECISION_BOUNDARY,
                format!("{op} (subgraph {}) reads only quantized tensors, so it writes `{name}` quantized, but `{name}` has no parameters", u.subgraph),
            )
            .tensor(name)
            .help(format!("give `{name}` an entry, or keep {op} float by also passing its inputs to --allow-float")),
        );
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
