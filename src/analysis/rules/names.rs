//! Q5xx: whether each key names a tensor the implant can change.

use super::Rule;
use crate::analysis::diagnostic::{Diagnostic, Severity::Error};
use crate::analysis::matcher::Verdict;
use crate::analysis::Context;
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

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (i, entry) in ctx.qparam.entries.iter().enumerate() {
        let key = entry.key.as_str();
        match ctx.targets[i].first() {
            None => {
                let mut suggestions = ctx.suggestions[i].clone();
                let help = match &ctx.verdicts[i] {
                    Verdict::Match(m) => {
                        // The key's own first choice may belong to another key.
                        suggestions.retain(|s| s.name != m.name);
                        suggestions.insert(0, m.clone());
                        format!("rename the key to `{}` ({}); `check --fix` does it", m.name, m.reason)
                    }
                    Verdict::Ambiguous(ties) => format!(
                        "ambiguous: {} match equally well ({}); rename the key by hand to the one meant",
                        ties.iter().map(|t| format!("`{}`", t.name)).collect::<Vec<_>>().join(" and "),
                        ties[0].reason
                    ),
                    Verdict::Unmatched if !suggestions.is_empty() => {
                        "no candidate is certain; `q-implant inspect MODEL` lists every tensor".into()
                    }
                    Verdict::Unmatched => "`q-implant inspect MODEL` lists the model's tensor names".into(),
                };
                out.push(
                    Diagnostic::new(
                        &UNKNOWN_TENSOR,
                        format!("`{key}` names no tensor of the model"),
                    )
                    .key(key)
                    .at(entry.key_span.clone())
                    .help(help)
                    .suggest(suggestions),
                );
            }
            Some(&id) => {
                let t = ctx.graph.tensor(id);
                if t.dtype != TensorType::FLOAT32 {
                    out.push(
                        Diagnostic::new(
                            &NOT_FLOAT32,
                            format!(
                                "`{key}` is {} in the model; only float32 tensors can be quantized",
                                t.dtype_name()
                            ),
                        )
                        .key(key)
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
    }
}
