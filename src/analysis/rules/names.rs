//! Q5xx: whether each key names a tensor the implant can change.

use crate::analysis::matcher::Verdict;
use crate::analysis::Context;
use crate::diagnostic::{Diagnostic, Rule, Severity::Error};
use crate::model::fb::TensorType;

pub static UNKNOWN_TENSOR: Rule = Rule {
    code: "Q501",
    name: "unknown-tensor",
    severity: Error,
    summary: "a key names no tensor of the model",
    docs: r#"## What it does
Looks up every key among the model's tensor names and, when none matches, proposes the tensors it most likely means, ranked by name, shape, data and graph position, with a confidence and a reason.

## Why is this bad?
The C++ q-implant dies with `what(): _Map_base::at` without naming the key. Exporters key parameters by framework names (`conv1.weight`) while converters rename tensors (`tico::_prop_tensor_constant2`, `convolution;PartitionedCall/convolution`).

## Example
```json
{"conv1.weight": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```

## Use instead
The model's name for that tensor, as `q-implant inspect` lists it:
```json
{"tico::_prop_tensor_constant2": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```
"#,
};

pub static NOT_FLOAT32: Rule = Rule {
    code: "Q502",
    name: "not-float32",
    severity: Error,
    summary: "the target tensor is not float32",
    docs: r#"## What it does
Checks that the tensor a key names is float32 in the model.

## Why is this bad?
Only float tensors are quantized. An integer tensor (a shape, a permutation, indices) must keep its type; an already quantized model should not be implanted twice.

## Example
An entry for `const_tensor`, the INT32 permutation of a Transpose.

## Use instead
Remove the entry; implant into the float model the converter wrote.
"#,
};

pub static SHARED_NAME: Rule = Rule {
    code: "Q503",
    name: "shared-name",
    severity: Error,
    summary: "a key names several tensors of one subgraph",
    docs: r#"## What it does
Checks that the tensor name a key uses is unique within each subgraph. (The same name in several subgraphs is fine: every subgraph's tensor takes the entry, each checked against it.)

## Why is this bad?
Which of the tensors the entry is for cannot be known. The C++ q-implant keeps one of them in its name map, silently; writing the entry into all of them retypes tensors it was never meant for.

## Example
A model whose subgraph has two tensors named `ofm`, and an entry `"ofm"`.

## Use instead
Give the tensors distinct names in the converter, or remove the entry and quantize the model with a tool that addresses tensors by index.
"#,
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (i, entry) in ctx.qparam.entries.iter().enumerate() {
        let key = entry.key.as_str();
        let targets = &ctx.targets[i];
        if targets.is_empty() {
            unknown(ctx, i, out);
            continue;
        }
        for (n, &id) in targets.iter().enumerate() {
            if targets[..n].iter().any(|t| t.subgraph == id.subgraph) {
                continue;
            }
            let count = targets.iter().filter(|t| t.subgraph == id.subgraph).count();
            if count > 1 {
                out.push(
                    Diagnostic::new(
                        &SHARED_NAME,
                        format!("`{key}` names {count} tensors of subgraph {}; which one is meant cannot be known", id.subgraph),
                    )
                    .key(key)
                    .tensor(key)
                    .at(entry.key_span.clone())
                    .help("give the tensors distinct names in the converter; `q-implant inspect` lists them"),
                );
            }
        }
        let mut reported = Vec::new();
        for &id in targets {
            let t = ctx.graph.tensor(id);
            if t.dtype == TensorType::FLOAT32 || reported.contains(&t.dtype) {
                continue;
            }
            reported.push(t.dtype);
            out.push(
                Diagnostic::new(
                    &NOT_FLOAT32,
                    format!(
                        "`{key}` is {} in the model; only float32 tensors can be quantized",
                        t.dtype_name()
                    ),
                )
                .key(key)
                .tensor(t.name)
                .at(entry.key_span.clone())
                .help(if t.quantization.is_some() {
                    "the model is already quantized: implant into the float model"
                } else {
                    "remove this entry: integer tensors keep their type"
                }),
            );
        }
    }
}

fn unknown(ctx: &Context<'_>, i: usize, out: &mut Vec<Diagnostic>) {
    let entry = &ctx.qparam.entries[i];
    let key = entry.key.as_str();
    let resolution = &ctx.resolutions[i];
    let mut suggestions = resolution.candidates.clone();
    // `--fix` renames the first key a tensor is matched to; a later one
    // only when it repeats that key's parameters (then it is removed).
    let fixable = match &resolution.verdict {
        Verdict::Match(m) => ctx.key_probably_meaning(&m.name) == Some(key),
        _ => resolution.note.is_some(),
    };
    let help = match &resolution.verdict {
        Verdict::Match(m) => {
            // The key's own first choice may belong to another key.
            suggestions.retain(|s| s.name != m.name);
            suggestions.insert(0, m.clone());
            format!("rename the key to `{}`; `check --fix` does it", m.name)
        }
        Verdict::Ambiguous { ties, more } => format!(
            "ambiguous: {}{} match equally well ({}); rename the key by hand to the one meant",
            ties.iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(" and "),
            crate::analysis::matcher::more_equal(*more),
            ties.first().map_or("", |t| t.reason.as_str())
        ),
        Verdict::Unmatched | Verdict::Named if resolution.note.is_some() => format!(
            "{}; remove this entry",
            resolution.note.as_deref().unwrap_or_default()
        ),
        Verdict::Unmatched | Verdict::Named if !suggestions.is_empty() => {
            "no candidate is certain; `q-implant inspect MODEL` lists every tensor".into()
        }
        Verdict::Unmatched | Verdict::Named => {
            "`q-implant inspect MODEL` lists the model's tensor names".into()
        }
    };
    out.push(
        Diagnostic::new(
            &UNKNOWN_TENSOR,
            format!("`{key}` names no tensor of the model"),
        )
        .key(key)
        .at(entry.key_span.clone())
        .help(help)
        .suggest(suggestions)
        .fixable_if(fixable),
    );
}

/// Clears the fixable mark on findings about keys `--fix` leaves alone:
/// a key matched to a tensor an earlier key already takes (it is only
/// removed, with all its findings, when it repeats that key's parameters).
pub fn unmark_left_keys(ctx: &Context<'_>, findings: &mut [Diagnostic]) {
    let left: Vec<&str> = ctx
        .qparam
        .entries
        .iter()
        .zip(&ctx.resolutions)
        .filter_map(|(e, r)| match &r.verdict {
            Verdict::Match(m) if ctx.key_probably_meaning(&m.name) != Some(e.key.as_str()) => {
                Some(e.key.as_str())
            }
            _ => None,
        })
        .collect();
    for d in findings {
        if d.key.as_deref().is_some_and(|k| left.contains(&k)) {
            d.fixable = false;
        }
    }
}
