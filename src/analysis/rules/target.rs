//! Q8xx: what a runtime rejects or computes wrongly, for `--target`. Each
//! rule stands on a measured cell of the runtime's support matrix
//! (docs/targets.md, produced by `tests/interop/onert_matrix.py`), and an
//! interop test shows the runtime failing where the rule fires.
//!
//! onert 0.1.0 (its CPU backend) is the one target so far.

use crate::analysis::{Context, Target};
use crate::diagnostic::{
    Diagnostic, Rule,
    Severity::{Error, Warning},
};
use crate::graph::{Operator, Subgraph, TensorId};
use crate::model::fb::{BuiltinOperator as Op, TensorType};
use crate::plan::Conversion;
use crate::qparam::{Entry, QDType};

pub static ONERT_NO_KERNEL: Rule = Rule {
    code: "Q801",
    name: "onert-no-kernel",
    severity: Error,
    summary: "onert has no kernel for this operator on this type",
    docs: r#"## What it does
With `--target onert`, finds operators that would run quantized (on the type they read) where onert 0.1.0 has no kernel, as measured (docs/targets.md): a standalone RELU, RELU6 or LEAKY_RELU, RSQRT, SQRT, EXP, ABS, NEG, DIV, BATCH_MATMUL and STRIDED_SLICE on uint8; and on int8 also FULLY_CONNECTED, TRANSPOSE, MAX_POOL_2D, GATHER, SLICE, MEAN, LOGISTIC and TANH.

## Why is this bad?
onert refuses the model when it prepares it (`ElementwiseActivationLayer(ReLU): unsupported data type`) or when it runs it (`FullyConnected: unsupported data type`).

## Example
An int8 set for an MLP: its FULLY_CONNECTED layers run on int8.

## Use instead
Quantize with uint8 where onert has the uint8 kernel; fuse a standalone ReLU into the operator before it in the converter; or let the operator run in float: remove the entries of its output and of the tensors it reads and pass them to `--allow-float` (apply then inserts the DEQUANTIZE and QUANTIZE around it). Q602 names any operator before it that must run in float too, back to a layer whose weight and bias can stay float.
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
One type for a layer's input and weights (uint8 for both, for onert).
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

/// What onert 0.1.0 was measured to run right, by the type it reads.
const MEASURED: &[(QDType, &[Op])] = &[
    (
        QDType::U8,
        &[
            Op::CONV_2D,
            Op::DEPTHWISE_CONV_2D,
            Op::FULLY_CONNECTED,
            Op::ADD,
            Op::SUB,
            Op::MUL,
            Op::MEAN,
            Op::SOFTMAX,
            Op::LOGISTIC,
            Op::TANH,
            Op::RESHAPE,
            Op::TRANSPOSE,
            Op::CONCATENATION,
            Op::PAD,
            Op::PADV2,
            Op::MAX_POOL_2D,
            Op::AVERAGE_POOL_2D,
            Op::GATHER,
            Op::SQUEEZE,
            Op::EXPAND_DIMS,
            Op::SLICE,
            Op::QUANTIZE,
            Op::DEQUANTIZE,
        ],
    ),
    (
        QDType::I8,
        &[
            Op::CONV_2D,
            Op::DEPTHWISE_CONV_2D,
            Op::ADD,
            Op::SUB,
            Op::MUL,
            Op::SOFTMAX,
            Op::RESHAPE,
            Op::CONCATENATION,
            Op::PAD,
            Op::PADV2,
            Op::AVERAGE_POOL_2D,
            Op::DEQUANTIZE,
        ],
    ),
];

/// What onert 0.1.0 has no kernel for: operator, type, and what it says.
const NO_KERNEL: &[(Op, QDType, &str)] = &[
    (
        Op::RELU,
        QDType::U8,
        "at prepare: ElementwiseActivationLayer(ReLU): unsupported data type",
    ),
    (
        Op::RELU6,
        QDType::U8,
        "at prepare: ElementwiseActivationLayer(ReLU): unsupported data type",
    ),
    (
        Op::RSQRT,
        QDType::U8,
        "at prepare: RSqrt: Unsupported data type",
    ),
    (
        Op::BATCH_MATMUL,
        QDType::U8,
        "at run: BatchMatMul: unsupported data type",
    ),
    (
        Op::STRIDED_SLICE,
        QDType::U8,
        "at run: StridedSlice: unsupported data type",
    ),
    (
        Op::RELU,
        QDType::I8,
        "at prepare: ElementwiseActivationLayer(ReLU): unsupported data type",
    ),
    (
        Op::RELU6,
        QDType::I8,
        "at prepare: ElementwiseActivationLayer(ReLU): unsupported data type",
    ),
    (
        Op::RSQRT,
        QDType::I8,
        "at prepare: RSqrt: Unsupported data type",
    ),
    (
        Op::BATCH_MATMUL,
        QDType::I8,
        "at run: BatchMatMul: unsupported data type",
    ),
    (
        Op::STRIDED_SLICE,
        QDType::I8,
        "at run: StridedSlice: unsupported data type",
    ),
    (
        Op::FULLY_CONNECTED,
        QDType::I8,
        "at run: FullyConnected: unsupported data type",
    ),
    (
        Op::TRANSPOSE,
        QDType::I8,
        "at run: Transpose: unsupported data type",
    ),
    (
        Op::MAX_POOL_2D,
        QDType::I8,
        "at run: cker::MaxPool : Unsupported data type",
    ),
    (
        Op::GATHER,
        QDType::I8,
        "at run: Gather: unsupported input data type",
    ),
    (
        Op::MEAN,
        QDType::I8,
        "at prepare: Mean: unsupported data type",
    ),
    // Beyond the matrix, measured one operator at a time.
    (
        Op::DIV,
        QDType::U8,
        "at prepare: Div operation does not support non-float data types yet",
    ),
    (
        Op::DIV,
        QDType::I8,
        "at prepare: Div operation does not support non-float data types yet",
    ),
    (Op::SQRT, QDType::U8, "at prepare: unsupported data type"),
    (Op::SQRT, QDType::I8, "at prepare: unsupported data type"),
    (Op::EXP, QDType::U8, "at prepare: unsupported data type"),
    (Op::EXP, QDType::I8, "at prepare: unsupported data type"),
    (Op::ABS, QDType::U8, "at prepare: unsupported data type"),
    (Op::ABS, QDType::I8, "at prepare: unsupported data type"),
    (Op::NEG, QDType::U8, "at prepare: unsupported data type"),
    (Op::NEG, QDType::I8, "at prepare: unsupported data type"),
    (
        Op::LEAKY_RELU,
        QDType::U8,
        "at prepare: ElementwiseActivationLayer(LeakyReLU): unsupported data type",
    ),
    (
        Op::LEAKY_RELU,
        QDType::I8,
        "at prepare: ElementwiseActivationLayer(LeakyReLU): unsupported data type",
    ),
    (
        Op::SLICE,
        QDType::I8,
        "at run: Slice: unsupported data type",
    ),
    (
        Op::LOGISTIC,
        QDType::I8,
        "at prepare: ElementwiseActivationLayer(Logistic): unsupported data type",
    ),
    (
        Op::TANH,
        QDType::I8,
        "at prepare: ElementwiseActivationLayer(Tanh): unsupported data type",
    ),
];

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    match ctx.options.target {
        Some(Target::Onert) => onert(ctx, out),
        None => {}
    }
}

/// The entry that gives `id` its parameters: its own, or the one
/// propagation copies.
fn planned<'a>(ctx: &Context<'a>, id: TensorId) -> Option<&'a Entry> {
    let qparam = ctx.qparam;
    ctx.entry_for(id)
        .or_else(|| ctx.fill_for(id).map(|f| &qparam.entries[f.entry]))
}

fn dtype(e: &Entry) -> Option<QDType> {
    e.dtype.as_ref().map(|d| d.value)
}

/// Whether parameters differ between channels.
fn varies(e: &Entry) -> bool {
    let differ = |v: &[f64]| v.windows(2).any(|w| w[0] != w[1]);
    e.scales().is_some_and(differ)
        || e.zero_points()
            .is_some_and(|z| z.windows(2).any(|w| w[0] != w[1]))
}

/// A finding placed on `field` of `entry` (the key itself when the field is
/// missing), if the finding has an entry.
fn at_entry(mut d: Diagnostic, entry: Option<&Entry>, field: &'static str) -> Diagnostic {
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

fn onert(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    int16(ctx, out);
    for sg in &ctx.graph.subgraphs {
        let id = |index| sg.id(index);
        for op in &sg.operators {
            if !runs_quantized(ctx, sg, op) {
                continue;
            }
            let Some(&output) = op.outputs.first() else {
                continue;
            };
            let out_entry = planned(ctx, id(output));
            let Some(scheme) = out_entry.and_then(dtype) else {
                continue;
            };
            let what = format!("{} #{} (subgraph {})", op.opcode, op.index, sg.index);
            let out_name = sg.tensors[output].name;
            // onert picks a kernel by the type the operator reads (an int8
            // input with a uint8 output is rejected; the reverse runs).
            let input_type = op
                .inputs
                .iter()
                .flatten()
                .find(|&&t| !sg.tensors[t].is_constant())
                .and_then(|&t| planned(ctx, id(t)))
                .and_then(dtype);
            let kernel_type = input_type.unwrap_or(scheme);
            let rejected = NO_KERNEL
                .iter()
                .find(|(o, d, _)| op.opcode.is(*o) && *d == kernel_type)
                .map(|k| (kernel_type, k));
            if let Some((scheme, (_, _, said))) = rejected {
                let float = format!("let it run in float: remove the entries of `{out_name}` and of the tensors {} reads, and pass them to --allow-float (Q602 then names any operator before it that must run in float too; --propagate refills copies)", op.opcode);
                let help = if op.opcode.is(Op::RELU) || op.opcode.is(Op::RELU6) {
                    format!("fuse the activation into the operator before it in the converter, or {float}")
                } else if scheme == QDType::I8
                    && !NO_KERNEL
                        .iter()
                        .any(|(o, d, _)| op.opcode.is(*o) && *d == QDType::U8)
                {
                    format!("quantize with uint8 (onert has that kernel), or {float}")
                } else {
                    float
                };
                out.push(
                    at_entry(
                        Diagnostic::new(
                            &ONERT_NO_KERNEL,
                            format!(
                                "{what} would run on {}, which onert 0.1.0 rejects {said}",
                                scheme.name()
                            ),
                        ),
                        out_entry,
                        "dtype",
                    )
                    .tensor(out_name)
                    .help(help),
                );
            }
            let measured = MEASURED
                .iter()
                .any(|(t, ops)| *t == kernel_type && ops.iter().any(|&o| op.opcode.is(o)));
            if rejected.is_none() && !measured && kernel_type != QDType::I16 {
                out.push(
                    at_entry(
                        Diagnostic::new(
                            &ONERT_UNMEASURED,
                            format!(
                                "{what} would run on {}, which onert 0.1.0's support was not measured for (docs/targets.md)",
                                kernel_type.name()
                            ),
                        ),
                        out_entry,
                        "dtype",
                    )
                    .tensor(out_name)
                    .help("run the written model on onert and compare it with the float model before shipping it"),
                );
            }
            let site = Site {
                sg,
                op,
                scheme,
                what,
            };
            per_channel(ctx, &site, out);
            copies(ctx, &site, out);
            weight_zero_point(ctx, &site, out);
            mixed_types(ctx, &site, out);
        }
    }
    // The conversions mixed precision inserts, worked out once for both.
    let (conversions, _) = crate::analysis::precision::boundaries(ctx.graph, &ctx.quantized);
    quantize_int8(ctx, &conversions, out);
    integer_dequantize(ctx, &conversions, out);
}

/// An operator that runs quantized, on the type its output has.
struct Site<'a> {
    sg: &'a Subgraph<'a>,
    op: &'a Operator,
    scheme: QDType,
    /// `CONV_2D #3 (subgraph 0)`, for messages.
    what: String,
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

fn int16(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let int16: Vec<&Entry> = ctx
        .qparam
        .entries
        .iter()
        .zip(&ctx.targets)
        .filter(|(e, ids)| !ids.is_empty() && dtype(e) == Some(QDType::I16))
        .map(|(e, _)| e)
        .collect();
    let Some(first) = int16.first() else { return };
    out.push(
        at_entry(
            Diagnostic::new(
                &ONERT_INT16,
                format!(
                    "{} entries are int16, and onert 0.1.0 runs no int16 model (its API refuses int16 inputs and outputs, its kernels int16 tensors)",
                    int16.len()
                ),
            ),
            Some(first),
            "dtype",
        )
        .help("quantize with uint8 for onert"),
    );
}

fn per_channel(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg,
        op,
        scheme,
        ref what,
    } = *site;
    let id = |index| sg.id(index);
    let candidates: Vec<usize> = if op.opcode.is(Op::FULLY_CONNECTED) && scheme == QDType::U8 {
        op.layer_slots()
            .and_then(|s| op.input(s.weight))
            .into_iter()
            .collect()
    } else if op.opcode.is(Op::ADD) || op.opcode.is(Op::MUL) || op.opcode.is(Op::SUB) {
        op.inputs
            .iter()
            .flatten()
            .copied()
            .filter(|&t| sg.tensors[t].is_constant())
            .collect()
    } else {
        return;
    };
    for t in candidates {
        let Some(e) = planned(ctx, id(t)).filter(|e| varies(e)) else {
            continue;
        };
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_PER_CHANNEL,
                    format!(
                        "`{}` has per-channel parameters that differ between channels, but onert 0.1.0 computes {what} with channel 0's for every channel (the model runs, with wrong results)",
                        e.key
                    ),
                ),
                Some(e),
                "scale",
            )
            .tensor(sg.tensors[t].name)
            .help("give it per-tensor parameters (one scale, one zero point); CONV_2D and DEPTHWISE_CONV_2D weights may stay per channel"),
        );
    }
}

fn copies(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg,
        op,
        scheme,
        ref what,
    } = *site;
    let id = |index| sg.id(index);
    let params = |e: &Entry| {
        (
            dtype(e),
            e.scales().map(<[f64]>::to_vec),
            e.zero_points().map(<[i64]>::to_vec),
        )
    };
    let same = |a: &Entry, b: &Entry| {
        let (pa, pb) = (params(a), params(b));
        pa.0 == pb.0
            && pa.2 == pb.2
            && match (pa.1, pb.1) {
                (Some(x), Some(y)) => {
                    x.len() == y.len()
                        && x.iter()
                            .zip(&y)
                            // onert compares the stored float32 scales exactly.
                            .all(|(p, q)| *p as f32 == *q as f32)
                }
                _ => false,
            }
    };
    let Some(&output) = op.outputs.first() else {
        return;
    };
    let Some(out_entry) = planned(ctx, id(output)) else {
        return;
    };
    let (sources, effect): (Vec<usize>, &str) = if [
        Op::RESHAPE,
        Op::MAX_POOL_2D,
        Op::AVERAGE_POOL_2D,
        Op::GATHER,
        Op::SQUEEZE,
        Op::EXPAND_DIMS,
        Op::SLICE,
    ]
    .iter()
    .any(|&o| op.opcode.is(o))
    {
        (
            // The data input (a pool's only one, not a value source).
            op.value_source().or_else(|| op.input(0)).into_iter().collect(),
            "copies the bytes and ignores the output's parameters (the model runs, with wrong results)",
        )
    } else if op.opcode.is(Op::TRANSPOSE) {
        (
            op.value_source().into_iter().collect(),
            "rejects it when it runs (\"qassym8 input and output offsets unmatched\")",
        )
    } else if op.opcode.is(Op::PAD) || op.opcode.is(Op::PADV2) {
        (
            op.value_source().into_iter().collect(),
            "rejects the model when it loads it (\"OperationValidator failed\")",
        )
    } else if op.opcode.is(Op::CONCATENATION) && scheme == QDType::I8 {
        (
            op.inputs.iter().flatten().copied().collect(),
            "rejects the model when it loads it (\"OperationValidator failed\"): int8 CONCATENATION cannot requantize",
        )
    } else {
        return;
    };
    for s in sources {
        let Some(in_entry) = planned(ctx, id(s)) else {
            continue;
        };
        if same(in_entry, out_entry) {
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
            .help(if op.opcode.is(Op::CONCATENATION) {
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

fn weight_zero_point(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg, op, ref what, ..
    } = *site;
    // FULLY_CONNECTED is not refused for it (an int8 one has no kernel at
    // all, Q801; int8 weights under uint8 activations are Q807).
    if !(op.opcode.is(Op::CONV_2D) || op.opcode.is(Op::DEPTHWISE_CONV_2D)) {
        return;
    }
    let Some(w) = op.layer_slots().and_then(|s| op.input(s.weight)) else {
        return;
    };
    let id = TensorId {
        subgraph: sg.index,
        index: w,
    };
    let Some(e) = planned(ctx, id) else { return };
    if dtype(e) != Some(QDType::I8) || !e.zero_points().is_some_and(|z| z.iter().any(|&v| v != 0)) {
        return;
    }
    out.push(
        at_entry(
            Diagnostic::new(
                &ONERT_INT8_WEIGHT_ZERO_POINT,
                format!(
                    "`{}` is int8 with a zero point other than 0, as the weight of {what}; onert 0.1.0 refuses that when it loads the model (\"OperationValidator failed\")",
                    e.key
                ),
            ),
            Some(e),
            "zerop",
        )
        .tensor(sg.tensors[w].name)
        .help("quantize int8 weights symmetrically (zero point 0), or use uint8"),
    );
}

/// QUANTIZE from float32 into int8: inserted for `--float-io` graph
/// inputs and after operators that run in float, or already in the model
/// (a QUANTIZE that requantizes an integer tensor is computed right).
fn quantize_int8(ctx: &Context<'_>, conversions: &[Conversion], out: &mut Vec<Diagnostic>) {
    // (the tensor written, its entry if it gets one, what writes it)
    let mut written: Vec<(TensorId, Option<&Entry>, String)> = Vec::new();
    let int8 = |t: TensorId| planned(ctx, t).filter(|e| dtype(e) == Some(QDType::I8));
    for sg in &ctx.graph.subgraphs {
        if ctx.options.float_io {
            for &i in &sg.inputs {
                if let Some(e) = int8(sg.id(i)) {
                    let how = format!(
                        "the QUANTIZE `--float-io` inserts after graph input {i} (subgraph {})",
                        sg.index
                    );
                    written.push((sg.id(i), Some(e), how));
                }
            }
        }
        for op in sg.operators.iter().filter(|o| o.opcode.is(Op::QUANTIZE)) {
            let reads_float = op.input(0).is_some_and(|x| {
                sg.tensors[x].dtype == TensorType::FLOAT32 && !ctx.quantized.contains(&sg.id(x))
            });
            let Some(&o) = op.outputs.first() else {
                continue;
            };
            let already_int8 = sg.tensors[o].dtype == TensorType::INT8;
            let entry = int8(sg.id(o));
            if reads_float && (already_int8 || entry.is_some()) {
                let how = format!("QUANTIZE #{} (subgraph {})", op.index, sg.index);
                written.push((sg.id(o), entry, how));
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
            if let Some(e) = int8(sg.id(tensor)) {
                let how = format!(
                    "the QUANTIZE inserted after {} #{op} (subgraph {subgraph}), which runs in float",
                    sg.operators[op].opcode
                );
                written.push((sg.id(tensor), Some(e), how));
            }
        }
    }
    for (t, entry, how) in written {
        let name = ctx.graph.tensor(t).name;
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_INT8_QUANTIZE,
                    format!(
                        "`{name}` is int8, written from float32 by {how}; onert 0.1.0 quantizes into int8 as if into uint8 ([0, 255], stored as int8: the model runs, with wrong results)"
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

fn mixed_types(ctx: &Context<'_>, site: &Site<'_>, out: &mut Vec<Diagnostic>) {
    let Site {
        sg, op, ref what, ..
    } = *site;
    let Some(slots) = op.layer_slots() else {
        return;
    };
    let entry = |slot| op.input(slot).and_then(|t| planned(ctx, sg.id(t)));
    let (Some(x), Some(w)) = (entry(slots.input), entry(slots.weight)) else {
        return;
    };
    let (Some(xt), Some(wt)) = (dtype(x), dtype(w)) else {
        return;
    };
    // int16 is Q802's, whatever the weights.
    if xt == wt || xt == QDType::I16 || wt == QDType::I16 || op.opcode.is(Op::TRANSPOSE_CONV) {
        return;
    }
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
        .tensor(op.input(slots.weight).map_or("", |t| sg.tensors[t].name))
        .help(format!("quantize `{}` as {} too", w.key, xt.name())),
    );
}

/// DEQUANTIZE of an integer tensor: mixed precision inserts one before an
/// operator that runs in float for each quantized input, biases included.
fn integer_dequantize(ctx: &Context<'_>, conversions: &[Conversion], out: &mut Vec<Diagnostic>) {
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
        if varies(e) {
            let opcode = &ctx.graph.subgraphs[subgraph].operators[op].opcode;
            out.push(
                at_entry(
                    Diagnostic::new(
                        &ONERT_PER_CHANNEL,
                        format!(
                            "`{}` has per-channel parameters that differ between channels, and {opcode} #{op} (subgraph {subgraph}) runs in float, so it would be read through a DEQUANTIZE, which onert 0.1.0 computes with channel 0's for every channel (the model runs, with wrong results)",
                            e.key
                        ),
                    ),
                    Some(e),
                    "scale",
                )
                .tensor(ctx.graph.tensor(id).name)
                .help(format!("give `{}` per-tensor parameters, or keep it float too (remove its entry)", e.key)),
            );
        }
        if !matches!(dtype(e), Some(QDType::I32) | Some(QDType::I64)) {
            continue;
        }
        let opcode = &ctx.graph.subgraphs[subgraph].operators[op].opcode;
        out.push(
            at_entry(
                Diagnostic::new(
                    &ONERT_INT_DEQUANTIZE,
                    format!(
                        "`{}` is {}, and {opcode} #{op} (subgraph {subgraph}) runs in float, so it would be read through a DEQUANTIZE, which onert 0.1.0 refuses for integer tensors when it loads the model",
                        e.key,
                        dtype(e).map_or("", QDType::name)
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
