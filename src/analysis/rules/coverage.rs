//! Q6xx: whether the implant leaves float tensors on the way to the outputs.

use std::collections::HashSet;

use crate::analysis::Context;
use crate::diagnostic::{Diagnostic, Rule, Severity};
use crate::graph::{Subgraph, TensorId};
use crate::model::fb::TensorType;

pub static FLOAT_REMAINS: Rule = Rule {
    code: "Q601",
    name: "float-remains",
    severity: Severity::Error,
    summary: "a float32 tensor on the way to an output gets no parameters",
    docs: r#"## What it does
Walks back from every graph output through the operators that produce it and lists each float32 tensor that no entry names, with the operator that produces or consumes it. Tensors passed to `apply --allow-float` are reported as warnings instead. A weight-only set (every entry a weight read under float activations: block-wise, int4 or uint4, or int8 with zero points 0) keeps its activations float by design, and is not checked.

## Why is this bad?
The C++ q-implant refuses the result ("every tensor reachable from the outputs must be non-float32"); a runtime given a half-quantized graph rejects the mixed types.

## Example
A qparam set with entries for weights and biases but none for `ofm`, the Conv2D output.

## Use instead
Export parameters for every activation too, or let `q-implant check --fix --calibrate SAMPLES` calibrate what is left from sample inputs (npy or npz files, or a directory of them), or keep the tensor float on purpose with `q-implant apply --allow-float ofm`.
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
Give `ofm` parameters, or keep the whole operator float: remove the entries of its input, weight and bias and `--allow-float` them too (a tensor with an entry is quantized, named there or not).
"#,
};

pub static MISSING_LAYER_KIND: Rule = Rule {
    code: "Q603",
    name: "missing-layer-kind",
    severity: Severity::Warning,
    summary: "every layer of one kind lacks entries, while others of its operator have them",
    docs: r#"## What it does
Groups the Conv2D, DepthwiseConv2D, FullyConnected and TransposeConv operators by their fused activation. When no operator of a group has an entry for its weight or output, while operators of the same kind without that activation do, it reports the group once, with the likely cause, beside the Q601 findings of its tensors.

## Why is this bad?
A whole kind of layer missing is an exporter's blind spot, not a list of forgotten tensors: ONE's reference PyTorch exporter skips fused `ConvReLU2d` and `LinearReLU` modules (their class lives outside `torch.ao.nn.quantized.modules`), so every convolution followed by a ReLU stays float32.

## Example
A quantized ResNet-18 exported after `fuse_model()`: `layer1.0.conv2` has entries, `layer1.0.conv1` (fused with its ReLU) has none.

## Use instead
Export the fused modules too (their weights are `module[0].weight`, their outputs the module's output), or let `check --fix` quantize their weights and biases and calibrate their outputs.
"#,
};

pub static ALLOWED_FLOAT_HAS_ENTRY: Rule = Rule {
    code: "Q604",
    name: "allowed-float-has-entry",
    severity: Severity::Warning,
    summary: "a tensor given to --allow-float has an entry, which quantizes it anyway",
    docs: r#"## What it does
Finds tensors passed to `--allow-float` (or `allow-float` in the configuration) that an entry of the set names.

## Why is this bad?
`--allow-float` lets a tensor stay float when the set leaves it out; it does not take an entry away. The tensor is quantized as its entry says, and the operators around it may run quantized after all.

## Example
`--allow-float relu` with an entry `"relu"` in qparam.json.

## Use instead
Remove the entry to keep the tensor float, or leave the name out of `--allow-float`.
"#,
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    missing_layer_kinds(ctx, out);
    for (entry, ids) in ctx.qparam.entries.iter().zip(&ctx.targets) {
        if !ids.is_empty() && ctx.allowed_float(&entry.key) {
            out.push(
                Diagnostic::new(
                    &ALLOWED_FLOAT_HAS_ENTRY,
                    format!(
                        "`{}` is given to --allow-float, but this entry quantizes it anyway",
                        entry.key
                    ),
                )
                .key(&entry.key)
                .tensor(&entry.key)
                .at(entry.key_span.clone())
                .help(
                    "remove this entry to keep the tensor float, or leave it out of --allow-float",
                ),
            );
        }
    }
    let mut uncovered = HashSet::new();
    // A weight-only set leaves every activation float by design.
    let weight_only = ctx.is_weight_only_set();
    for sg in ctx.graph.subgraphs.iter().filter(|_| !weight_only) {
        for index in reachable_from_outputs(sg) {
            let t = &sg.tensors[index];
            let id = TensorId {
                subgraph: sg.index,
                index,
            };
            // A tensor only operators running in float read stays float
            // by design (Q810 names it).
            if t.dtype != TensorType::FLOAT32
                || ctx.by_tensor.contains_key(&id)
                || ctx.fill_for(id).is_some()
                || ctx.kept_float.contains(&id)
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
            // The rename `--fix` makes covers it (a tensor kept float on
            // purpose is no finding to fix).
            .fixable_if(ctx.key_probably_meaning(t.name).is_some() && !allowed)
            .help(match ctx.key_probably_meaning(t.name) {
                Some(key) => format!(
                    "the key `{key}` probably means this tensor: rename it to `{}` (`check --fix` does it)",
                    t.name
                ),
                None => match what_covers(ctx, sg, index) {
                    Some(fix) => fix,
                    None => format!(
                        "add an entry for `{}` (`check --fix --calibrate SAMPLES` calibrates it), or keep it float with `--allow-float '{}'`",
                        t.name, t.name
                    ),
                },
            });
            if allowed {
                d.severity = Severity::Warning;
                d = d.help("kept float on purpose (--allow-float)");
            }
            out.push(d);
        }
    }
    let (_, unconvertible) = ctx.boundaries();
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
            .help(format!("give `{name}` an entry, or let {op} run in float: remove the entries of the tensors it reads and pass them to --allow-float too (an entry still quantizes a tensor named there)")),
        );
    }
}

/// Q603: a kind of weighted operator (with a fused activation) of which no
/// operator has an entry, while others of that operator do.
fn missing_layer_kinds(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for sg in &ctx.graph.subgraphs {
        let id = |index| sg.id(index);
        // An entry, or a key the matcher confidently gives the tensor.
        let has_entry = |t: Option<usize>| {
            t.is_some_and(|t| {
                ctx.by_tensor.contains_key(&id(t))
                    || ctx.key_probably_meaning(sg.tensors[t].name).is_some()
            })
        };
        // (opcode, fused activation) -> (operators, operators with an entry)
        let mut groups: Vec<(String, Option<&str>, usize, usize)> = Vec::new();
        for op in &sg.operators {
            let Some(slots) = op.layer_slots() else {
                continue;
            };
            let covered =
                has_entry(op.input(slots.weight)) || has_entry(op.outputs.first().copied());
            let code = op.opcode.to_string();
            let fused = op.fused.and_then(|f| f.variant_name());
            match groups.iter_mut().find(|g| g.0 == code && g.1 == fused) {
                Some(g) => {
                    g.2 += 1;
                    g.3 += usize::from(covered);
                }
                None => groups.push((code, fused, 1, usize::from(covered))),
            }
        }
        for (code, fused, n, covered) in &groups {
            let Some(act) = fused else { continue };
            let others: usize = groups
                .iter()
                .filter(|g| g.0 == *code && g.1 != *fused)
                .map(|g| g.3)
                .sum();
            if *covered > 0 || others == 0 || *n < 2 {
                continue;
            }
            let module = if code == "FULLY_CONNECTED" {
                "LinearReLU"
            } else {
                "ConvReLU2d"
            };
            out.push(
                Diagnostic::new(
                    &MISSING_LAYER_KIND,
                    format!(
                        "none of the {n} {code} operators with a fused {act} (subgraph {}) has an entry for its weight or output, while {others} {code} operators without it do",
                        sg.index
                    ),
                )
                .help(format!(
                    "the exporter probably skipped fused {module} modules (ONE's reference PyTorch exporter does): export them too, or let `check --fix` quantize their weights and calibrate their outputs"
                )),
            );
        }
    }
}

/// What a tensor without an entry is, and which fix covers it, when one
/// does.
fn what_covers(ctx: &Context<'_>, sg: &Subgraph<'_>, index: usize) -> Option<String> {
    use crate::model::fb::BuiltinOperator as Op;
    let t = &sg.tensors[index];
    if t.is_constant() {
        let &c = t.consumers.first()?;
        let op = &sg.operators[c];
        let at = op.inputs.iter().position(|&i| i == Some(index))?;
        let slots = op.layer_slots();
        let is_bias = slots.is_some_and(|s| s.bias == at);
        let is_weight = slots.is_some_and(|s| s.weight == at);
        let biased: Vec<String> = t
            .consumers
            .iter()
            .filter(|&&o| sg.operators[o].has_bias(index))
            .map(|&o| format!("{} #{o}", sg.operators[o].opcode))
            .collect();
        return Some(if is_bias && biased.len() > 1 {
            format!("it is the bias of {}: `check --fix` adds it (int32, scale = input scale × weight scale, from the model's float bias) once their inputs and weights have entries, and only if those give each of them the same scale", biased.join(" and "))
        } else if is_bias {
            format!("it is the bias of {} #{c}: `check --fix` adds it (int32, scale = input scale × weight scale, from the model's float bias) once the operator's input and weight have entries", op.opcode)
        } else if is_weight {
            format!("it is the weight of {} #{c}, which has no entry: export it, or let `check --fix` quantize it from its data", op.opcode)
        } else if op.value_source().is_some_and(|s| s != index) {
            format!("it is a constant {} #{c} copies next to its input: `check --fix` gives it the input's parameters", op.opcode)
        } else {
            format!("it is a constant input of {} #{c} (a BatchNorm factor, an epsilon, a scale): `check --fix` quantizes it from its data", op.opcode)
        });
    }
    let p = t.producer?;
    let op = &sg.operators[p];
    if let Some(source) = op.value_source() {
        return Some(format!(
            "it is a copy {} #{p} makes of `{}`: `check --fix` (or `--propagate`) gives it that tensor's parameters once that tensor has them",
            op.opcode, sg.tensors[source].name
        ));
    }
    let affine = [Op::MUL, Op::ADD, Op::SUB, Op::DIV]
        .iter()
        .any(|&c| op.opcode.is(c))
        && op
            .inputs
            .iter()
            .flatten()
            .filter(|&&i| sg.tensors[i].is_constant())
            .count()
            == 1;
    let clamp = [Op::RELU, Op::RELU6, Op::RELU_N1_TO_1]
        .iter()
        .any(|&c| op.opcode.is(c));
    let _ = ctx;
    (affine || clamp).then(|| {
        format!(
            "it is the output of {} #{p}{}: `check --fix` derives its parameters from its input's once that has them",
            op.opcode,
            if affine { " by a constant" } else { "" }
        )
    })
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
