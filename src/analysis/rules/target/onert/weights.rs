//! Q812-Q814: operators reading packed weights (GGML blocks, INT4, UINT4)
//! under float activations, weight-only quantization, on onert: which
//! operator takes which format ([`ONERT`]'s weight rows, measured one
//! operator at a time), the bias onert refuses on GGML weights (which
//! `apply --target onert` moves to an ADD), and the GATHER that fills only
//! the first group of its indices.

use super::table::ONERT;
use super::ONERT_UNMEASURED;
use crate::analysis::rules::target::site::at_entry;
use crate::analysis::{params_of, Context};
use crate::diagnostic::{
    Diagnostic, Rule,
    Severity::{Error, Warning},
};
use crate::graph::{Operator, Subgraph};
use crate::model::fb::BuiltinOperator as Op;
use crate::packed::Packing;
use crate::plan::BiasMove;
use crate::qparam::Entry;

pub static ONERT_WEIGHT_FORMAT: Rule = Rule {
    code: "Q812",
    name: "onert-weight-format",
    severity: Error,
    summary: "onert refuses the operator with weights stored in this format",
    docs: r#"## What it does
With `--target onert`, finds operators whose weight would be stored packed (GGML_Q4_0, GGML_Q8_0, INT4, UINT4) where onert 0.1.0 refuses that format on that operator. Measured: FULLY_CONNECTED takes GGML_Q4_0 and GGML_Q8_0, GATHER GGML_Q4_0 only (GGML_Q8_0 fails when run: "Gather: unsupported input data type"), BATCH_MATMUL no GGML format (refused at load); INT4 and UINT4 are refused at load on every operator ("Unsupported tensor type").

## Why is this bad?
The model does not load, or fails at its first run.

## Example
An int8 embedding table with `block_size` 32 (written as GGML_Q8_0) read by a GATHER; an int4 FullyConnected weight quantized per channel (written as INT4).

## Use instead
Quantize the embedding table in int4 blocks of 32 (GGML_Q4_0); give FullyConnected weights `block_size` 32 (int4 or int8); keep what onert does not take in float.
"#,
};

pub static ONERT_GGML_BIAS: Rule = Rule {
    code: "Q813",
    name: "onert-ggml-bias",
    severity: Warning,
    summary:
        "onert refuses a bias on a GGML FullyConnected; apply --target onert moves it to an ADD",
    docs: r#"## What it does
With `--target onert`, finds FULLY_CONNECTED operators with GGML weights and a bias input. onert 0.1.0 refuses them when run ("GGML weights format does not support bias yet"), so `apply --target onert` writes the operator without its bias and adds the bias after it with an ADD (which also takes over the operator's fused activation); this warning says so.

## Why is this bad?
It is not wrong once `apply --target onert` has moved the bias: the model computes the same. Written without `--target onert`, the model keeps the bias on the operator, which onert refuses.

## Example
A Linear layer with a bias, its weight quantized int4 with `block_size` 32.

## Use instead
Nothing is needed with `apply --target onert`. Without a bias in the network (`bias=False`), there is nothing to move.
"#,
};

pub static ONERT_GATHER_INDICES: Rule = Rule {
    code: "Q814",
    name: "onert-ggml-gather-indices",
    severity: Error,
    summary: "onert gathers only the first group of indices of rank over 1 from a GGML table",
    docs: r#"## What it does
With `--target onert`, finds GATHER operators reading a GGML_Q4_0 table with indices of rank 2 or more. onert 0.1.0 fills the output for the first group of indices only: the rest is not the table's rows (measured with indices of shape [2, 2]).

## Why is this bad?
The model runs and computes garbage for every sequence but the first, with no error.

## Example
An embedding lookup of a batch of token sequences, indices of shape [batch, tokens].

## Use instead
Look up one sequence at a time (indices of rank 1: reshape them to [tokens] in the network), or keep the table float.
"#,
};

/// The packed format a weight-only weight is written in, with its entry.
fn packed_weight<'a>(
    ctx: &Context<'a>,
    sg: &Subgraph<'_>,
    t: usize,
) -> Option<(&'a Entry, Option<Packing>)> {
    let id = sg.id(t);
    if !ctx.weight_only.contains(&id) {
        return None;
    }
    let entry = ctx.entry_for(id)?;
    Some((entry, params_of(entry)?.packing()))
}

/// The weight-only weight an operator reads, and where.
fn weight_of<'a>(
    ctx: &Context<'a>,
    sg: &Subgraph<'_>,
    op: &Operator,
) -> Option<(usize, &'a Entry, Option<Packing>)> {
    op.inputs
        .iter()
        .flatten()
        .find_map(|&t| packed_weight(ctx, sg, t).map(|(e, p)| (t, e, p)))
}

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for sg in &ctx.graph.subgraphs {
        for op in &sg.operators {
            let Some((t, entry, packing)) = weight_of(ctx, sg, op) else {
                continue;
            };
            let what = format!("{} #{} (subgraph {})", op.opcode, op.index, sg.index);
            let weight = sg.tensors[t].name;
            let Some(packing) = packing else {
                out.push(unmeasured(
                    &what,
                    weight,
                    entry,
                    "a weight-only int8 weight (a hybrid kernel)",
                ));
                continue;
            };
            if let Some((stage, says)) = ONERT.refuses_weights(&op.opcode, packing) {
                out.push(
                    at_entry(
                        Diagnostic::new(&ONERT_WEIGHT_FORMAT, format!("{what} reads `{weight}` as {}, which onert 0.1.0 refuses there at {}: {says}", packing.name(), stage.name())),
                        Some(entry),
                        "dtype",
                    )
                    .tensor(weight)
                    .help(format_help(op, packing)),
                );
                continue;
            }
            if !ONERT.runs_with_weights(&op.opcode, packing) {
                out.push(unmeasured(&what, weight, entry, packing.name()));
                continue;
            }
            bias(sg, op, &what, entry, packing, out);
            indices(sg, op, &what, entry, packing, out);
        }
    }
}

fn format_help(op: &Operator, packing: Packing) -> String {
    match packing {
        Packing::Int4 | Packing::Uint4 => "onert takes no INT4 or UINT4 tensor: give the weight `block_size` 32 (int4 or int8, written as GGML blocks) where onert takes those, or keep it float".to_string(),
        _ if op.opcode.is(Op::GATHER) => "quantize the table in int4 blocks of 32 (GGML_Q4_0), or keep it float".to_string(),
        _ => format!("onert takes GGML weights on FULLY_CONNECTED (and GATHER, Q4_0 only), not on {}: keep this weight float", op.opcode),
    }
}

fn unmeasured(what: &str, weight: &str, entry: &Entry, how: &str) -> Diagnostic {
    at_entry(
        Diagnostic::new(&ONERT_UNMEASURED, format!("{what} reads `{weight}` as {how} under float activations, which onert 0.1.0's support was not measured for (docs/targets.md)")),
        Some(entry),
        "dtype",
    )
    .tensor(weight)
    .help("run the written model on onert and compare it with the float model before shipping it")
}

/// Q813.
fn bias(
    sg: &Subgraph<'_>,
    op: &Operator,
    what: &str,
    entry: &Entry,
    packing: Packing,
    out: &mut Vec<Diagnostic>,
) {
    let Some(b) = op.layer_slots().and_then(|s| op.input(s.bias)) else {
        return;
    };
    let Some((stage, says)) = ONERT.refuses_bias(&op.opcode, packing) else {
        return;
    };
    let bias = sg.tensors[b].name;
    out.push(
        at_entry(
            Diagnostic::new(&ONERT_GGML_BIAS, format!("{what} has {} weights and the bias `{bias}`, which onert 0.1.0 refuses at {} ({says}): `apply --target onert` moves the bias to an ADD after the operator", packing.name(), stage.name())),
            Some(entry),
            "dtype",
        )
        .tensor(bias)
        .help("nothing is needed with `apply --target onert`; a layer without a bias has nothing to move"),
    );
}

/// Q814.
fn indices(
    sg: &Subgraph<'_>,
    op: &Operator,
    what: &str,
    entry: &Entry,
    packing: Packing,
    out: &mut Vec<Diagnostic>,
) {
    if !op.opcode.is(Op::GATHER) {
        return;
    }
    let Some(how) = ONERT.wrong_with_indices_of_rank_2(&op.opcode, packing) else {
        return;
    };
    let Some(ix) = op.input(1) else { return };
    let shape = &sg.tensors[ix].shape;
    if shape.len() < 2 {
        return;
    }
    out.push(
        at_entry(
            Diagnostic::new(&ONERT_GATHER_INDICES, format!("{what} reads a {} table with indices `{}` of shape {shape:?}, and onert 0.1.0 {how}", packing.name(), sg.tensors[ix].name)),
            Some(entry),
            "dtype",
        )
        .tensor(sg.tensors[ix].name)
        .help("look up one sequence at a time (indices of rank 1), or keep the table float"),
    );
}

/// The biases `apply --target onert` moves off FULLY_CONNECTED operators
/// with GGML weights, which onert refuses with a bias.
pub fn bias_moves(ctx: &Context<'_>) -> Vec<BiasMove> {
    let mut moves = Vec::new();
    for sg in &ctx.graph.subgraphs {
        for op in &sg.operators {
            let Some((weight, _, Some(packing))) = weight_of(ctx, sg, op) else {
                continue;
            };
            let Some(bias) = op.layer_slots().and_then(|s| op.input(s.bias)) else {
                continue;
            };
            if ONERT.refuses_bias(&op.opcode, packing).is_some() {
                moves.push(BiasMove {
                    subgraph: sg.index,
                    op: op.index,
                    weight,
                    bias,
                });
            }
        }
    }
    moves
}
