//! Q801 to Q809: what onert 0.1.0 (its CPU backend) rejects or computes
//! wrongly, for `--target onert`. Each rule looks its facts up in
//! [`table::ONERT`], whose rows stand on cells of the measured matrix
//! (`matrix.json`, made by `tests/interop/onert_matrix.py`) or on runs
//! outside it; an interop test shows onert failing where each rule fires.
//! docs/targets.md is [`doc::markdown`].

pub mod doc;
mod findings;
mod matrix;
pub mod table;
pub mod weights;

use super::site::{
    at_entry, dtype, layer, planned, sites, varies, weight_as_uint8, Site, UINT8_SHIFT,
};
use super::support::{Does, Inputs, Operand, Stage};
use crate::analysis::Context;
use crate::diagnostic::{
    Diagnostic, Rule,
    Severity::{Error, Warning},
};
use std::collections::{HashMap, HashSet};

use crate::analysis::precision::OpId;
use crate::graph::{OpCode, Operator, Subgraph, TensorId};
use crate::model::fb::{BuiltinOperator as Op, TensorType};
use crate::plan::Conversion;
use crate::qparam::{Entry, QDType};
use table::ONERT;

pub static ONERT_NO_KERNEL: Rule = Rule {
    code: "Q801",
    name: "onert-no-kernel",
    severity: Error,
    summary: "onert has no kernel for this operator on this type",
    docs: r#"## What it does
With `--target onert`, finds operators that would run quantized (on the type they read) where onert 0.1.0 has no kernel, as measured (docs/targets.md): a standalone RELU, RELU6 or LEAKY_RELU, GELU, ELU, RSQRT, SQRT, EXP, ABS, NEG, DIV, BATCH_MATMUL and STRIDED_SLICE on uint8; and on int8 also FULLY_CONNECTED, TRANSPOSE, MAX_POOL_2D, GATHER, SLICE, SPLIT, MEAN, LOGISTIC and TANH.

## Why is this bad?
onert refuses the model when it prepares it (`ElementwiseActivationLayer(ReLU): unsupported data type`) or when it runs it (`FullyConnected: unsupported data type`).

## Example
An int8 set for an MLP: its FULLY_CONNECTED layers run on int8.

## Use instead
Quantize with uint8 where onert has the uint8 kernel; fuse a standalone ReLU into the operator before it in the converter; or let the operator run in float: `--fallback float` (or `fallback = "float"` in q-implant.toml) does that for every operator this rule would report, and Q810 then says, as a warning, what `apply` converts around each. By hand: remove the entries of its output and of the tensors it reads and pass them to `--allow-float` (apply then inserts the DEQUANTIZE and QUANTIZE around it); Q602 names any operator before it that must run in float too, back to a layer whose weight and bias can stay float.
"#,
};

pub static ONERT_INT16: Rule = Rule {
    code: "Q802",
    name: "onert-int16",
    severity: Error,
    summary: "onert runs no int16 model",
    docs: r#"## What it does
With `--target onert`, reports a set with int16 activations or weights, once.

## Why is this bad?
onert 0.1.0 runs no int16 model: its API refuses int16 graph inputs and outputs ("Model has type that runtime API does not support"), QUANTIZE and DEQUANTIZE to and from int16 fail its validator, and its kernels reject int16.

## Example
A set exported with `torch.qint16`-style 16-bit activations.

## Use instead
Quantize with uint8 for onert.
"#,
};

pub static ONERT_PER_CHANNEL: Rule = Rule {
    code: "Q803",
    name: "onert-per-channel-ignored",
    severity: Error,
    summary: "onert uses channel 0's parameters for every channel here",
    docs: r#"## What it does
With `--target onert`, finds per-channel parameters that differ between channels where onert 0.1.0 reads only channel 0's: the weight of a uint8 FULLY_CONNECTED, a constant operand of ADD, SUB or MUL (a batch norm as tico converts it), and a tensor read through a DEQUANTIZE that mixed precision inserts.

## Why is this bad?
The model loads and runs, and every output channel but the first is computed with another channel's scale and zero point: a uint8 ResNet-18 with per-channel fully connected weights is 46 steps off on average, with per-channel batch-norm constants 44 (docs/targets.md).

## Example
`fc.weight` of a uint8 FULLY_CONNECTED with 10 scales that are not all equal.

## Use instead
Per-tensor parameters (one scale, one zero point) for these tensors. CONV_2D and DEPTHWISE_CONV_2D are right per channel.
"#,
};

pub static ONERT_REQUANTIZING_COPY: Rule = Rule {
    code: "Q804",
    name: "onert-requantizing-copy",
    severity: Error,
    summary: "an operator that moves values has output parameters onert will not apply",
    docs: r#"## What it does
With `--target onert`, finds RESHAPE, SQUEEZE, EXPAND_DIMS, SLICE, MAX_POOL_2D, AVERAGE_POOL_2D, GATHER, TRANSPOSE, PAD and PADV2 operators whose output parameters differ from their input's (as stored: float32 scales compared exactly), and int8 CONCATENATION whose inputs and output do not all share parameters.

## Why is this bad?
onert 0.1.0 copies the bytes of RESHAPE, SQUEEZE, EXPAND_DIMS, SLICE, MAX_POOL_2D, AVERAGE_POOL_2D and GATHER and ignores the output's parameters (tens of steps off, no error); it rejects such a TRANSPOSE when it runs ("qassym8 input and output offsets unmatched"), and such a PAD, PADV2 or int8 CONCATENATION when it loads ("OperationValidator failed").

## Example
`permute` (a TRANSPOSE output) calibrated on its own: scale 0.05, while its input has 0.04.

## Use instead
Give the output its input's parameters (`--propagate`, or `check --fix` writes them); uint8 CONCATENATION requantizes correctly.
"#,
};

pub static ONERT_INT8_QUANTIZE: Rule = Rule {
    code: "Q805",
    name: "onert-int8-quantize",
    severity: Error,
    summary: "onert's QUANTIZE into int8 clamps to the uint8 range",
    docs: r#"## What it does
With `--target onert`, finds the QUANTIZE operators into int8 the written model would have: the ones `apply --float-io` inserts after int8 graph inputs, the ones mixed precision inserts after a float operator, and those the model already has.

## Why is this bad?
onert 0.1.0 computes QUANTIZE from float32 to int8 into [0, 255] and stores that as int8: negative values become 0 and values over 127 wrap (255 steps off, no error).

## Example
`apply --float-io` on an int8 set.

## Use instead
uint8 for the tensors a QUANTIZE writes, or int8 graph inputs without `--float-io`.
"#,
};

pub static ONERT_INT8_WEIGHT_ZERO_POINT: Rule = Rule {
    code: "Q806",
    name: "onert-int8-weight-zero-point",
    severity: Error,
    summary: "onert refuses int8 weights with a zero point other than 0",
    docs: r#"## What it does
With `--target onert`, finds int8 weights of CONV_2D and DEPTHWISE_CONV_2D with a non-zero zero point.

## Why is this bad?
onert 0.1.0 refuses the model when it loads it ("OperationValidator failed"); int8 weights are symmetric in the quantization spec.

## Example
`conv.weight` int8 with zero points [3, -1, 0, 2].

## Use instead
Symmetric int8 weights (zero point 0), or uint8.
"#,
};

pub static ONERT_MIXED_TYPES: Rule = Rule {
    code: "Q807",
    name: "onert-mixed-types",
    severity: Error,
    summary: "onert computes a layer wrongly when its weight's type is not its input's",
    docs: r#"## What it does
With `--target onert`, finds CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED operators whose weight is quantized to another type than their input (int8 weights under uint8 activations).

## Why is this bad?
onert 0.1.0 runs such a layer and reads the weights as if they had the input's type: a uint8 CONV_2D with int8 weights was 27 steps off on average, a FULLY_CONNECTED 50 (a simulation of the same model: within 1.5).

## Example
`conv.weight` int8 (zero point 0) while `x`, the convolution's input, is uint8.

## Use instead
One type for a layer's input and weights (uint8 for both, for onert). Symmetric int8 weights (zero point 0, per tensor or per channel) are exactly uint8 weights with zero point 128, each value + 128, the same scales: `check --fix --target onert` rewrites them so, in new npy files, unless onert would then read per-channel scales as channel 0's (a FULLY_CONNECTED, Q803), which it says.
"#,
};

pub static ONERT_INT_DEQUANTIZE: Rule = Rule {
    code: "Q808",
    name: "onert-integer-dequantize",
    severity: Error,
    summary: "onert refuses a DEQUANTIZE of an int32 or int64 tensor",
    docs: r#"## What it does
With `--target onert`, finds the DEQUANTIZE operators mixed precision would insert for an int32 or int64 tensor: the bias of a layer that runs in float (`--allow-float`) while the bias keeps its entry.

## Why is this bad?
onert 0.1.0 refuses the model when it loads it ("OperationValidator failed").

## Example
`--allow-float` on a FULLY_CONNECTED's input, weight and output, while its bias has an int32 entry.

## Use instead
Keep the bias float too: remove its entry (or `--allow-float` it), so the float layer reads the model's float bias.
"#,
};

pub static ONERT_UNMEASURED: Rule = Rule {
    code: "Q809",
    name: "onert-unmeasured",
    severity: Warning,
    summary: "an operator would run quantized on a type onert was not measured on",
    docs: r#"## What it does
With `--target onert`, finds operators that would run quantized on a type for which onert 0.1.0's support has not been measured (docs/targets.md lists what has).

## Why is this bad?
A clean `check --target onert` should mean the model runs: for an operator outside the measurements, nothing is known. onert may reject it or compute it wrongly.

## Example
A quantized SPLIT, or an int8 SQUEEZE.

## Use instead
Run the written model on onert and compare with the float model before shipping it, or let the operator run in float.
"#,
};

pub static ONERT_FLOAT_FALLBACK: Rule = Rule {
    code: "Q810",
    name: "onert-float-fallback",
    severity: Warning,
    summary: "an operator onert has no quantized kernel for runs in float (--fallback float)",
    docs: r#"## What it does
With `--target onert --fallback float`, names each operator onert 0.1.0 has no kernel for on the type it would read (what Q801 reports without the fallback) and says how it will run instead: in float, after a DEQUANTIZE of each quantized input and before a QUANTIZE of each quantized output, which `apply` inserts; its constants, and the activations that only such operators read (a chain of them), stay float and need no entry. A graph output stays quantized.

## Why is this bad?
It is not wrong: the model loads and runs on onert. But each such operator runs in float and costs two conversions per run, and its result is rounded to its output's parameters once more. The other target rules check what is inserted like anything else (a DEQUANTIZE of per-channel parameters, Q803; of an int32 tensor, Q808).

## Example
A standalone RELU after a TRANSPOSE (tico does not fuse it into the convolution before the TRANSPOSE), or the DIV of a Hardswish, in a uint8 set.

## Use instead
Nothing is needed for the model to run. To run it quantized end to end: fuse the activation into the operator before it in the converter, or use an operator onert has a uint8 kernel for (docs/targets.md).
"#,
};

pub static ONERT_UNSUPPORTED: Rule = Rule {
    code: "Q811",
    name: "onert-unsupported-operator",
    severity: Warning,
    summary: "the model has an operator onert cannot run in any precision",
    docs: r#"## What it does
With `--target onert`, finds operators onert 0.1.0 cannot run whatever their types, float included, as measured one operator at a time (docs/targets.md): SPARSE_TO_DENSE and HARD_SWISH (refused at load: "Unsupported operation"), CUSTOM operators such as TensorFlow's `AddV2` (the loader crashes), PRELU and RESIZE_NEAREST_NEIGHBOR (no kernel at all: "KernelGenerator: NYI"). One finding per model, naming each.

## Why is this bad?
The model `apply` writes cannot run on onert, and neither can the float model: the parameters are not the problem, the converter's graph is. A warning, since `apply` can write a model that is right in every other respect (for another runtime, or once the graph is converted again).

## Example
A model converted PyTorch -> ONNX -> TensorFlow -> TFLite -> circle whose final Reshape takes its shape from a computation at run time (SHAPE, GATHER, SPARSE_TO_DENSE, a CUSTOM `AddV2`, CAST).

## Use instead
Convert without these operators: fold the shape computation into a constant (onnx-simplifier before onnx-tf does), or convert from PyTorch with tico; replace PReLU or nearest resizing in the network, or run the model on another runtime.
"#,
};

/// How many operators a Q811 finding names before it says how many more.
const UNSUPPORTED_NAMED: usize = 5;

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    refused_types(ctx, out);
    for site in sites(ctx) {
        // onert picks a kernel by the type the operator reads (an int8
        // input with a uint8 output is rejected; the reverse runs).
        let kernel_type = site.reads.unwrap_or(site.scheme);
        no_kernel(&site, kernel_type, out);
        per_channel(ctx, &site, out);
        copies(ctx, &site, out);
        weight_zero_point(ctx, &site, out);
        mixed_types(ctx, &site, out);
    }
    // The conversions mixed precision inserts, worked out once for both.
    let (conversions, _) = ctx.boundaries();
    quantize_wrong(ctx, &conversions, out);
    integer_dequantize(ctx, &conversions, out);
    float_fallback(ctx, &conversions, out);
    unsupported(ctx, out);
    weights::check(ctx, out);
}

/// Q811: the operators onert cannot run in any precision, once per model.
fn unsupported(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    for sg in &ctx.graph.subgraphs {
        for op in &sg.operators {
            if let Some((stage, says)) = ONERT.unsupported(&op.opcode) {
                found.push(format!(
                    "{} #{} (subgraph {}) fails at {} (`{says}`)",
                    op.opcode,
                    op.index,
                    sg.index,
                    stage.name()
                ));
            }
        }
    }
    if found.is_empty() {
        return;
    }
    let more = found.len().saturating_sub(UNSUPPORTED_NAMED);
    found.truncate(UNSUPPORTED_NAMED);
    if more > 0 {
        found.push(format!("and {more} more"));
    }
    out.push(
        Diagnostic::new(
            &ONERT_UNSUPPORTED,
            format!(
                "the model cannot run on onert 0.1.0 in any precision, float included: {}",
                found.join("; ")
            ),
        )
        .help("the converter's graph is the problem, not the parameters: convert without these operators (fold a shape computation into a constant, e.g. with onnx-simplifier before onnx-tf, or convert from PyTorch with tico), or run the model elsewhere"),
    );
}

/// The type `op` would run on: its first activation input's, else its
/// output's, as the set gives them (onert picks a kernel by the type an
/// operator reads).
fn kernel_type(ctx: &Context<'_>, sg: &Subgraph<'_>, op: &Operator) -> Option<QDType> {
    let reads = op
        .inputs
        .iter()
        .flatten()
        .find(|&&t| !sg.tensors[t].is_constant())
        .and_then(|&t| planned(ctx, sg.id(t)))
        .and_then(dtype);
    reads.or_else(|| {
        op.outputs
            .first()
            .and_then(|&y| planned(ctx, sg.id(y)))
            .and_then(dtype)
    })
}

/// The operators onert has no kernel for on the type they would read
/// (what Q801 reports), among those whose activation inputs are all
/// quantized: with `--fallback float` they run in float. Whether their
/// constants have entries does not matter: they stay float. The output of
/// such an operator counts as quantized for the operators after it (in
/// execution order): it is, or a chain of them runs in float and converts
/// once at its ends, whether or not `--propagate` has filled it yet.
pub fn no_kernel_ops(ctx: &Context<'_>) -> HashSet<OpId> {
    let mut forced = HashSet::new();
    for sg in &ctx.graph.subgraphs {
        // Outputs of operators running in float, with the type they read.
        let mut carried: HashMap<usize, QDType> = HashMap::new();
        for op in &sg.operators {
            let activations: Vec<usize> = op
                .inputs
                .iter()
                .flatten()
                .copied()
                .filter(|&t| {
                    sg.tensors[t].dtype == TensorType::FLOAT32 && !sg.tensors[t].is_constant()
                })
                .collect();
            if activations.is_empty()
                || !activations
                    .iter()
                    .all(|&t| ctx.quantized.contains(&sg.id(t)) || carried.contains_key(&t))
            {
                continue;
            }
            let ty = kernel_type(ctx, sg, op)
                .or_else(|| activations.iter().find_map(|t| carried.get(t).copied()));
            let Some(ty) = ty.filter(|&ty| ONERT.no_kernel(&op.opcode, ty).is_some()) else {
                continue;
            };
            forced.insert((sg.index, op.index));
            for &y in &op.outputs {
                let t = &sg.tensors[y];
                if t.dtype == TensorType::FLOAT32 && !t.is_constant() {
                    carried.insert(y, ty);
                }
            }
        }
    }
    forced
}

/// Q810: each operator that runs in float for want of a kernel, with what
/// is converted around it and what stays float.
fn float_fallback(ctx: &Context<'_>, conversions: &[Conversion], out: &mut Vec<Diagnostic>) {
    let mut ops: Vec<OpId> = ctx.float_ops.iter().copied().collect();
    ops.sort_unstable();
    for (si, oi) in ops {
        let sg = &ctx.graph.subgraphs[si];
        let op = &sg.operators[oi];
        let Some(ty) = kernel_type(ctx, sg, op) else {
            continue;
        };
        let Some((stage, says)) = ONERT.no_kernel(&op.opcode, ty) else {
            continue;
        };
        let name = |t: usize| format!("`{}`", sg.tensors[t].name);
        let mut how = Vec::new();
        for c in conversions {
            match *c {
                Conversion::DequantizeInput {
                    subgraph,
                    op,
                    tensor,
                } if (subgraph, op) == (si, oi) => {
                    how.push(format!("a DEQUANTIZE of {} before it", name(tensor)));
                }
                Conversion::QuantizeOutput {
                    subgraph,
                    op,
                    tensor,
                } if (subgraph, op) == (si, oi) => {
                    how.push(format!("a QUANTIZE into {} after it", name(tensor)));
                }
                _ => {}
            }
        }
        let kept: Vec<String> = op
            .inputs
            .iter()
            .flatten()
            .chain(&op.outputs)
            .filter(|&&t| ctx.kept_float.contains(&sg.id(t)))
            .map(|&t| name(t))
            .collect();
        if !kept.is_empty() {
            how.push(format!("{} float", kept.join(", ")));
        }
        let what = format!("{} #{oi} (subgraph {si})", op.opcode);
        let output = op.outputs.first().copied();
        let entry = output.and_then(|y| planned(ctx, sg.id(y))).or_else(|| {
            op.inputs
                .iter()
                .flatten()
                .find_map(|&t| planned(ctx, sg.id(t)))
        });
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_FLOAT_FALLBACK,
                    format!(
                        "{what} runs in float (--fallback float): onert 0.1.0 has no {} kernel for it (it rejects it at {}: {says}); apply inserts {}",
                        ty.name(),
                        stage.name(),
                        how.join("; ")
                    ),
                ),
                entry,
                "dtype",
            )
            .tensor(output.map_or("", |y| sg.tensors[y].name))
            .help("nothing is needed for the model to run; to keep it quantized end to end, fuse the operator into the one before it in the converter, or use one onert has a kernel for (docs/targets.md)"),
        );
    }
}

/// Q802: entries of a type onert refuses whatever the operator, once.
fn refused_types(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for ty in ONERT.refused_types() {
        let refused: Vec<&Entry> = ctx
            .qparam
            .entries
            .iter()
            .zip(&ctx.targets)
            .filter(|(e, ids)| !ids.is_empty() && dtype(e) == Some(ty))
            .map(|(e, _)| e)
            .collect();
        let Some(first) = refused.first() else {
            continue;
        };
        let name = ty.name();
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_INT16,
                    format!(
                        "{} entries are {name}, and onert 0.1.0 runs no {name} model (its API refuses {name} inputs and outputs, its kernels {name} tensors)",
                        refused.len()
                    ),
                ),
                Some(first),
                "dtype",
            )
            .help("quantize with uint8 for onert"),
        );
    }
}

/// Q801 where onert has no kernel for the site's operator on the type it
/// reads; else Q809 where that was not measured.
fn no_kernel(site: &Site<'_>, kernel_type: QDType, out: &mut Vec<Diagnostic>) {
    let Site {
        sg,
        op,
        output,
        out_entry,
        ref what,
        ..
    } = *site;
    let out_name = sg.tensors[output].name;
    if let Some((stage, says)) = ONERT.no_kernel(&op.opcode, kernel_type) {
        let float = format!("let it run in float: `--fallback float` does that for every operator onert has no kernel for (apply converts around it; Q810 says how), or by hand remove the entries of `{out_name}` and of the tensors {} reads and pass them to --allow-float", op.opcode);
        let help = if op.opcode.is(Op::RELU) || op.opcode.is(Op::RELU6) {
            format!("fuse the activation into the operator before it in the converter, or {float}")
        } else if kernel_type == QDType::I8 && ONERT.no_kernel(&op.opcode, QDType::U8).is_none() {
            format!("quantize with uint8 (onert has that kernel), or {float}")
        } else {
            float
        };
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_NO_KERNEL,
                    format!(
                        "{what} would run on {}, which onert 0.1.0 rejects at {}: {says}",
                        kernel_type.name(),
                        stage.name()
                    ),
                ),
                Some(out_entry),
                "dtype",
            )
            .tensor(out_name)
            .help(help),
        );
    } else if !ONERT.runs_right(&op.opcode, kernel_type)
        && !ONERT.refuses_type(kernel_type)
        // Q811 says it runs in no precision at all.
        && ONERT.unsupported(&op.opcode).is_none()
    {
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_UNMEASURED,
                    format!(
                        "{what} would run on {}, which onert 0.1.0's support was not measured for (docs/targets.md)",
                        kernel_type.name()
                    ),
                ),
                Some(out_entry),
                "dtype",
            )
            .tensor(out_name)
            .help("run the written model on onert and compare it with the float model before shipping it"),
        );
    }
}

/// Q803: per-channel parameters that differ between channels on an
/// operand onert reads only channel 0's parameters of.
fn per_channel(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg,
        op,
        scheme,
        ref what,
        ..
    } = *site;
    let candidates: Vec<usize> = match ONERT.ignores_per_channel(&op.opcode, Some(scheme)) {
        Some(Operand::Weight) => op
            .layer_slots()
            .and_then(|s| op.input(s.weight))
            .into_iter()
            .collect(),
        Some(Operand::Constant) => op
            .inputs
            .iter()
            .flatten()
            .copied()
            .filter(|&t| sg.tensors[t].is_constant())
            .collect(),
        Some(Operand::Input) | None => return,
    };
    for t in candidates {
        let Some(e) = planned(ctx, sg.id(t)).filter(|e| varies(e)) else {
            continue;
        };
        out.push(
            channel_zero(
                e,
                format!("but onert 0.1.0 computes {what} with channel 0's for every channel"),
            )
            .tensor(sg.tensors[t].name)
            .help("give it per-tensor parameters (one scale, one zero point); CONV_2D and DEPTHWISE_CONV_2D weights may stay per channel"),
        );
    }
}

/// Q803's finding on `e`, whose per-channel parameters differ: `how` says
/// where onert reads channel 0's.
fn channel_zero(e: &Entry, how: String) -> Diagnostic {
    at_entry(
        Diagnostic::new(
            &ONERT_PER_CHANNEL,
            format!(
                "`{}` has per-channel parameters that differ between channels, {how} (the model runs, with wrong results)",
                e.key
            ),
        ),
        Some(e),
        "scale",
    )
}

/// Whether two entries have the same parameters as onert compares them.
fn same_parameters(a: &Entry, b: &Entry) -> bool {
    let scales_equal = match (a.scales(), b.scales()) {
        (Some(x), Some(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    // onert compares the stored float32 scales exactly.
                    .all(|(p, q)| *p as f32 == *q as f32)
        }
        _ => false,
    };
    dtype(a) == dtype(b) && a.zero_points() == b.zero_points() && scales_equal
}

/// Q804: an operator that moves values, whose output has other
/// parameters than the input(s) it must share them with.
fn copies(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg,
        op,
        output,
        out_entry,
        scheme,
        ref what,
        ..
    } = *site;
    let (sources, effect, every_input): (Vec<usize>, String, bool) =
        match ONERT.keeps_input_parameters(&op.opcode, scheme) {
            Some(Does::CopiesBytes) => (
                // The data input (a pool's only one, not a value source).
                op.value_source().or_else(|| op.input(0)).into_iter().collect(),
                "copies the bytes and ignores the output's parameters (the model runs, with wrong results)".into(),
                false,
            ),
            Some(Does::RefusesRequantizing {
                stage,
                says,
                inputs: Inputs::Value,
            }) => (
                op.value_source().into_iter().collect(),
                format!("{} (\"{says}\")", rejects(stage)),
                false,
            ),
            Some(Does::RefusesRequantizing {
                stage,
                says,
                inputs: Inputs::Every,
            }) => (
                op.inputs.iter().flatten().copied().collect(),
                format!(
                    "{} (\"{says}\"): {} {} cannot requantize",
                    rejects(stage),
                    scheme.name(),
                    op.opcode
                ),
                true,
            ),
            _ => return,
        };
    for s in sources {
        let Some(in_entry) = planned(ctx, sg.id(s)) else {
            continue;
        };
        if same_parameters(in_entry, out_entry) {
            continue;
        }
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_REQUANTIZING_COPY,
                    format!(
                        "`{}` has other parameters than `{}`, though {what} only moves values from one to the other; onert 0.1.0 {effect}",
                        out_entry.key, in_entry.key
                    ),
                ),
                Some(out_entry),
                "scale",
            )
            .tensor(sg.tensors[output].name)
            .help(if every_input {
                format!("give the output and every input of {what} the same parameters")
            } else {
                format!(
                    "give `{}` the parameters of `{}` (`--propagate` or `check --fix` writes them when it has no entry)",
                    out_entry.key, in_entry.key
                )
            }),
        );
        break;
    }
}

/// What onert does with a model it refuses at `stage`, for messages.
fn rejects(stage: Stage) -> &'static str {
    match stage {
        Stage::Load => "rejects the model when it loads it",
        Stage::Prepare => "rejects the model when it prepares it",
        Stage::Input => "rejects the model's input",
        Stage::Run => "rejects it when it runs",
        Stage::Output => "rejects the model's output",
    }
}

/// Q806: a weight onert refuses for its zero point.
fn weight_zero_point(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg, op, ref what, ..
    } = *site;
    let Some(w) = op.layer_slots().and_then(|s| op.input(s.weight)) else {
        return;
    };
    let id = TensorId {
        subgraph: sg.index,
        index: w,
    };
    let Some(e) = planned(ctx, id) else { return };
    // FULLY_CONNECTED is not refused for it (an int8 one has no kernel at
    // all, Q801; int8 weights under uint8 activations are Q807).
    let refused = dtype(e).and_then(|t| ONERT.refuses_weight_zero_point(&op.opcode, t));
    let Some((stage, says)) = refused else { return };
    if !e.zero_points().is_some_and(|z| z.iter().any(|&v| v != 0)) {
        return;
    }
    out.push(
        at_entry(
            Diagnostic::new(
                &ONERT_INT8_WEIGHT_ZERO_POINT,
                format!(
                    "`{}` is {} with a zero point other than 0, as the weight of {what}; onert 0.1.0 refuses that {} (\"{says}\")",
                    e.key,
                    dtype(e).map_or("", QDType::name),
                    when(stage)
                ),
            ),
            Some(e),
            "zerop",
        )
        .tensor(sg.tensors[w].name)
        .help(format!(
            "quantize {} weights symmetrically (zero point 0), or use uint8",
            dtype(e).map_or("", QDType::name)
        )),
    );
}

/// When onert refuses a model at `stage`, for messages.
fn when(stage: Stage) -> &'static str {
    match stage {
        Stage::Load => "when it loads the model",
        Stage::Prepare => "when it prepares the model",
        Stage::Input => "when it is given the model's input",
        Stage::Run => "when it runs the model",
        Stage::Output => "when it returns the model's output",
    }
}

/// Q805: a QUANTIZE from float32 into a type onert quantizes into wrongly:
/// inserted for `--float-io` graph inputs and after operators that run in
/// float, or already in the model (a QUANTIZE that requantizes an integer
/// tensor is computed right).
fn quantize_wrong(ctx: &Context<'_>, conversions: &[Conversion], out: &mut Vec<Diagnostic>) {
    let quantize = OpCode::Builtin(Op::QUANTIZE);
    let wrong = |t: QDType| ONERT.computes_wrong(&quantize, t).map(|how| (t, how));
    // The entry of `t`, when it has a type QUANTIZE gets wrong.
    let entry_wrong = |t: TensorId| planned(ctx, t).and_then(|e| Some((e, wrong(dtype(e)?)?)));
    // (the tensor written, its entry if it gets one, what writes it, its
    // type and how onert gets it wrong)
    let mut written = Vec::new();
    for sg in &ctx.graph.subgraphs {
        if ctx.options.float_io {
            for &i in &sg.inputs {
                if let Some((e, wrongly)) = entry_wrong(sg.id(i)) {
                    let how = format!(
                        "the QUANTIZE `--float-io` inserts after graph input {i} (subgraph {})",
                        sg.index
                    );
                    written.push((sg.id(i), Some(e), how, wrongly));
                }
            }
        }
        for op in sg.operators.iter().filter(|o| o.opcode == quantize) {
            let reads_float = op.input(0).is_some_and(|x| {
                sg.tensors[x].dtype == TensorType::FLOAT32 && !ctx.quantized.contains(&sg.id(x))
            });
            let Some(&o) = op.outputs.first() else {
                continue;
            };
            let already = QDType::ALL
                .into_iter()
                .find(|t| t.tensor_type() == sg.tensors[o].dtype)
                .and_then(wrong);
            let entry = entry_wrong(sg.id(o));
            let Some(wrongly) = entry.map(|(_, w)| w).or(already) else {
                continue;
            };
            if reads_float {
                let how = format!("QUANTIZE #{} (subgraph {})", op.index, sg.index);
                written.push((sg.id(o), entry.map(|(e, _)| e), how, wrongly));
            }
        }
    }
    for c in conversions.iter().cloned() {
        if let Conversion::QuantizeOutput {
            subgraph,
            op,
            tensor,
        } = c
        {
            let sg = &ctx.graph.subgraphs[subgraph];
            if let Some((e, wrongly)) = entry_wrong(sg.id(tensor)) {
                let how = format!(
                    "the QUANTIZE inserted after {} #{op} (subgraph {subgraph}), which runs in float",
                    sg.operators[op].opcode
                );
                written.push((sg.id(tensor), Some(e), how, wrongly));
            }
        }
    }
    for (t, entry, how, (ty, wrongly)) in written {
        let name = ctx.graph.tensor(t).name;
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_INT8_QUANTIZE,
                    format!(
                        "`{name}` is {}, written from float32 by {how}; onert 0.1.0 {wrongly}",
                        ty.name()
                    ),
                ),
                entry,
                "dtype",
            )
            .tensor(name)
            .help("quantize this tensor with uint8, or (for a graph input) leave out --float-io"),
        );
    }
}

/// Q807: a layer whose weight has another type than its input, which
/// onert reads as the input's.
fn mixed_types(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg, op, ref what, ..
    } = *site;
    let Some(layer) = layer(ctx, sg, op) else {
        return;
    };
    let (x, w) = (layer.input, layer.weight);
    let (xt, wt) = (layer.input_type, layer.weight_type);
    // A type onert refuses whatever the weights is Q802's.
    if xt == wt
        || ONERT.refuses_type(xt)
        || ONERT.refuses_type(wt)
        || !ONERT.reads_weights_as_input_type(&op.opcode, xt)
    {
        return;
    }
    // Symmetric int8 under uint8 is exactly uint8 with zero point 128:
    // `check --fix --target onert` rewrites it, its own entry only.
    let rewrite = ((xt, wt) == (QDType::U8, QDType::I8) && layer.own_entry)
        .then(|| weight_as_uint8(op, w, &ONERT));
    let exact = matches!(rewrite, Some(Ok(())));
    let help = match rewrite {
        Some(Ok(())) => format!("quantize `{}` as uint8 too: `check --fix --target onert` rewrites it exactly (zero point {UINT8_SHIFT}, each value + {UINT8_SHIFT}, the same scales)", w.key),
        Some(Err(why)) => format!("quantize `{}` as {} too (`check --fix` cannot: {why})", w.key, xt.name()),
        None => format!("quantize `{}` as {} too", w.key, xt.name()),
    };
    out.push(
        at_entry(
            Diagnostic::new(
                &ONERT_MIXED_TYPES,
                format!(
                    "`{}` is {}, the weight of {what}, while its input `{}` is {}; onert 0.1.0 reads the weights as {} (the model runs, with wrong results)",
                    w.key,
                    wt.name(),
                    x.key,
                    xt.name(),
                    xt.name()
                ),
            ),
            Some(w),
            "dtype",
        )
        .tensor(sg.tensors[layer.weight_tensor].name)
        .fixable_if(exact)
        .help(help),
    );
}

/// The DEQUANTIZE mixed precision inserts before an operator that runs in
/// float, for each of its quantized inputs (biases included): Q803 where
/// onert reads only channel 0's parameters of it, Q808 where onert has no
/// DEQUANTIZE for its type.
fn integer_dequantize(ctx: &Context<'_>, conversions: &[Conversion], out: &mut Vec<Diagnostic>) {
    let dequantize = OpCode::Builtin(Op::DEQUANTIZE);
    for c in conversions.iter().cloned() {
        let Conversion::DequantizeInput {
            subgraph,
            op,
            tensor,
        } = c
        else {
            continue;
        };
        let id = ctx.graph.subgraphs[subgraph].id(tensor);
        let Some(e) = planned(ctx, id) else { continue };
        let opcode = &ctx.graph.subgraphs[subgraph].operators[op].opcode;
        if ONERT.ignores_per_channel(&dequantize, dtype(e)) == Some(Operand::Input) && varies(e) {
            out.push(
                channel_zero(
                    e,
                    format!("and {opcode} #{op} (subgraph {subgraph}) runs in float, so it would be read through a DEQUANTIZE, which onert 0.1.0 computes with channel 0's for every channel"),
                )
                .tensor(ctx.graph.tensor(id).name)
                .help(format!("give `{}` per-tensor parameters, or keep it float too (remove its entry)", e.key)),
            );
        }
        let Some(ty) = dtype(e).filter(|&t| ONERT.no_kernel(&dequantize, t).is_some()) else {
            continue;
        };
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_INT_DEQUANTIZE,
                    format!(
                        "`{}` is {}, and {opcode} #{op} (subgraph {subgraph}) runs in float, so it would be read through a DEQUANTIZE, which onert 0.1.0 refuses for integer tensors when it loads the model",
                        e.key,
                        ty.name()
                    ),
                ),
                Some(e),
                "dtype",
            )
            .tensor(ctx.graph.tensor(id).name)
            .help(format!(
                "keep `{}` float too: remove its entry, so the float {opcode} reads the model's float values",
                e.key
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rules::target::support::Fact;

    /// x -> TRANSPOSE #0 -> a -> STRIDED_SLICE #1 -> b -> STRIDED_SLICE #2
    /// -> c -> TRANSPOSE #3 -> y, with entries for x, a, c and y: both slices (no
    /// uint8 kernel in onert) run in float whether or not propagation gave
    /// `b` the parameters of `a` (as `check --fix` sees it, and the check
    /// after it), so `b` stays float either way.
    #[test]
    fn a_chain_of_operators_without_kernels_falls_back_whole_with_or_without_propagation() {
        use crate::analysis::test_sets::{in_memory, model, npy_1d};
        use crate::analysis::{CheckOptions, Fallback, Target};
        use crate::graph::Graph;
        let file = model(
            &[
                ("x", None),
                ("a", None),
                ("b", None),
                ("c", None),
                ("y", None),
            ],
            &[
                (Op::TRANSPOSE, vec![0], vec![1]),
                (Op::STRIDED_SLICE, vec![1], vec![2]),
                (Op::STRIDED_SLICE, vec![2], vec![3]),
                (Op::TRANSPOSE, vec![3], vec![4]),
            ],
            &[0],
            &[4],
        );
        let graph = Graph::new(&file);
        let entry =
            r#"{"dtype": "uint8", "scale": "s.npy", "zerop": "z.npy", "quantized_dimension": 0}"#;
        let text = format!(r#"{{"x": {entry}, "a": {entry}, "c": {entry}, "y": {entry}}}"#);
        let set = in_memory(
            &text,
            vec![
                ("s.npy", npy_1d("<f4", 4, &0.1f32.to_le_bytes())),
                ("z.npy", npy_1d("<i8", 8, &0i64.to_le_bytes())),
            ],
        );
        for propagate in [false, true] {
            let options = CheckOptions {
                target: Some(Target::Onert),
                fallback: Some(Fallback::Float),
                propagate,
                ..CheckOptions::default()
            };
            let ctx = Context::new(&graph, &set, &options);
            let forced: HashSet<OpId> = [(0, 1), (0, 2)].into();
            assert_eq!(ctx.float_ops, forced, "propagate: {propagate}");
            assert!(
                ctx.kept_float.contains(&TensorId {
                    subgraph: 0,
                    index: 2
                }),
                "propagate: {propagate}"
            );
        }
    }

    /// The operators of the support table's rows of some kind, by name.
    fn named(kind: impl Fn(&Fact) -> bool) -> Vec<&'static str> {
        ONERT
            .facts
            .iter()
            .filter(|f| kind(f))
            .filter_map(|f| f.op?.variant_name())
            .collect()
    }

    /// A rule's documentation lists the operators its rows name, so the
    /// prose cannot fall behind the table.
    #[test]
    fn the_rules_docs_name_the_operators_of_their_rows() {
        let no_kernel =
            named(|f| matches!(f.does, Does::NoKernel { .. }) && f.op != Some(Op::DEQUANTIZE));
        let copies =
            named(|f| matches!(f.does, Does::CopiesBytes | Does::RefusesRequantizing { .. }));
        let per_channel = named(|f| {
            matches!(
                f.does,
                Does::IgnoresPerChannel(Operand::Weight | Operand::Constant)
            )
        });
        let unsupported = named(|f| matches!(f.does, Does::Unsupported { .. }));
        for (rule, ops) in [
            (&ONERT_UNSUPPORTED, unsupported),
            (&ONERT_NO_KERNEL, no_kernel),
            (&ONERT_REQUANTIZING_COPY, copies),
            (&ONERT_PER_CHANNEL, per_channel),
        ] {
            for op in ops {
                assert!(rule.docs.contains(op), "{} does not name {op}", rule.code);
            }
        }
    }
}
