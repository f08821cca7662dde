//! Q7xx: the quantization spec (TFLite's, which the ONE quantizer and onert
//! follow). Warnings by default: the model can be written, but a runtime
//! will reject it or compute something else.

use crate::analysis::Context;
use crate::diagnostic::{Diagnostic, Rule, Severity::Warning};
use crate::graph::{Operator, Tensor, TensorId};
use crate::model::fb::BuiltinOperator as Op;
use crate::qparam::{Entry, QDType};

pub static BIAS_DTYPE: Rule = Rule {
    code: "Q701",
    name: "bias-dtype",
    severity: Warning,
    summary: "a bias is not int32 (int64 with int16 activations)",
    docs: r#"## What it does
Checks the dtype of the bias of Conv2D, DepthwiseConv2D, FullyConnected and TransposeConv: int32, or int64 when the input is int16.

## Why is this bad?
Kernels accumulate in 32 (or 64) bits and read the bias as such; a uint8 bias is misread or rejected.

## Example
```json
{"conv1.bias": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```

## Use instead
`"dtype": "int32"`, with scale = input scale × weight scale and zero point 0.
"#,
};

pub static BIAS_SCALE: Rule = Rule {
    code: "Q702",
    name: "bias-scale",
    severity: Warning,
    summary: "a bias scale is not input scale × weight scale",
    docs: r#"## What it does
Compares each bias scale with the product of the operator's input scale and weight scale (per channel), within a relative 1e-4.

## Why is this bad?
Kernels add the bias to the accumulator assuming this scale; any other scale shifts every output by a wrong amount.

## Example
A bias saved with the activation's scale (0.05) where input scale × weight scale is 0.0004.

## Use instead
`bias_scale = input_scale * weight_scale` and `np.round(b / bias_scale).astype(np.int32)`.
"#,
};

pub static BIAS_ZERO_POINT: Rule = Rule {
    code: "Q703",
    name: "bias-zero-point",
    severity: Warning,
    summary: "a bias zero point is not 0",
    docs: r#"## What it does
Checks that bias zero points are all 0.

## Why is this bad?
Kernels ignore the bias zero point, so a non-zero one changes the result.

## Example
A bias with `zerop` `[128]`.

## Use instead
`np.zeros(channels, dtype=np.int64)`.
"#,
};

pub static INT16_ZERO_POINT: Rule = Rule {
    code: "Q704",
    name: "int16-zero-point",
    severity: Warning,
    summary: "an int16 tensor has a non-zero zero point",
    docs: r#"## What it does
Checks that int16 entries are symmetric (zero point 0).

## Why is this bad?
The int16 scheme is symmetric; kernels assume a zero point of 0.

## Example
`"dtype": "int16"` with `zerop` `[12]`.

## Use instead
Symmetric parameters: scale = max(|min|, |max|) / 32767, zero point 0.
"#,
};

pub static WEIGHT_AXIS: Rule = Rule {
    code: "Q705",
    name: "weight-axis",
    severity: Warning,
    summary: "per-channel weights are not quantized along the output channels",
    docs: r#"## What it does
For per-channel weights, checks `quantized_dimension`: 0 for Conv2D, FullyConnected and TransposeConv (OHWI, [out, in]), 3 for DepthwiseConv2D (1HWC).

## Why is this bad?
Kernels apply channel scales along the output channels; another axis mixes scales across channels.

## Example
A DepthwiseConv2D weight with 8 scales and `"quantized_dimension": 0` (PyTorch's axis for its C×1×H×W layout).

## Use instead
`"quantized_dimension": 3` for the circle layout 1×H×W×C.
"#,
};

pub static MIXED_DTYPES: Rule = Rule {
    code: "Q706",
    name: "mixed-dtypes",
    severity: Warning,
    summary: "an operator mixes activation and weight dtypes",
    docs: r#"## What it does
Checks that the input and the weight of Conv2D, DepthwiseConv2D, FullyConnected and TransposeConv have the same dtype (uint8 with uint8, int8 with int8, int16 with int16).

## Why is this bad?
Runtimes have kernels for matching types only; onert rejects uint8 activations with int8 weights.

## Example
Activations exported as uint8 while weights were quantized to int8.

## Use instead
One scheme for the whole model: uint8 activations and weights, or int8 for both.
"#,
};

pub static KEEP_INPUT_QPARAMS: Rule = Rule {
    code: "Q707",
    name: "keep-input-qparams",
    severity: Warning,
    summary: "a value-preserving operator changes quantization parameters",
    docs: r#"## What it does
For Transpose, Reshape, Squeeze, ExpandDims, Pad, MaxPool2D, Split, Slice, StridedSlice, Gather and Concatenation, checks that the output has the same dtype, scales and zero points as the input (all inputs for Concatenation).

## Why is this bad?
These operators move values without arithmetic; kernels copy the quantized bytes, so different parameters change the values. onert 0.1.0 rejects such a Transpose when it runs it ("qassym8 input and output offsets unmatched") and such a Pad when it loads it, and copies the bytes of Reshape, Squeeze, ExpandDims, Slice, MaxPool2D and Gather regardless (docs/targets.md; `--target onert` makes these errors, Q804, and adds AveragePool2D, whose output onert also copies).

## Example
A Transpose output calibrated separately from its input.

## Use instead
Give the output the input's parameters (`q-implant apply --propagate` fills outputs that have none).
"#,
};

pub static FIXED_OUTPUT_QPARAMS: Rule = Rule {
    code: "Q708",
    name: "fixed-output-qparams",
    severity: Warning,
    summary: "Softmax, Logistic or Tanh output does not have its fixed parameters",
    docs: r#"## What it does
Checks the outputs of Softmax and Logistic (scale 1/256, zero point 0 for uint8 or -128 for int8) and Tanh (scale 1/128, zero point 128 for uint8 or 0 for int8); for int16, all three: scale 1/32768 and zero point 0.

## Why is this bad?
Kernels produce outputs on this fixed grid whatever the file says (TFLite's int16 kernels refuse any other); other parameters make the model read them wrongly.

## Example
A Softmax output with a calibrated scale 0.0039 and zero point 3.

## Use instead
`scale = 1/256` (0.00390625) and zero point 0 (uint8); for an int16 output, `scale = 1/32768` (0.000030517578125) and zero point 0.
"#,
};

pub static BIAS_REENCODED: Rule = Rule {
    code: "Q709",
    name: "bias-reencoded",
    severity: Warning,
    summary: "a bias holds b / s + zp, re-encoded with another tensor's parameters, not quantized",
    docs: r#"## What it does
Finds a bias of Conv2D, DepthwiseConv2D, FullyConnected or TransposeConv whose `value` is a float array that equals the model's float bias once read as quantized numbers with the entry's own scale and zero point: the exporter saved `b / s + zp` (unrounded), usually with the scale and zero point of the layer's output. The name matcher finds such a key by the same reading.

## Why is this bad?
It is neither the float bias nor a quantized one: written as it is, the bytes are garbage (Q407), and rounded to the entry's uint8 type it would be clipped and scaled wrongly for the kernel, which adds the bias to an int32 accumulator whose scale is input scale × weight scale. The exporter has a bug worth fixing at the source: every bias it writes has it.

## Example
```json
{"conv1.bias": {"dtype": "uint8", "scale": "5.npy", "zerop": "6.npy", "quantized_dimension": 0, "value": "7.npy"}}
```
with `5.npy` and `6.npy` the scale and zero point of `conv1`'s output, and `7.npy` float32 `b / s_out + zp_out`.

## Use instead
The spec's bias: `"dtype": "int32"`, zero point 0, scale = input scale × weight scale, `np.round(b / (s_in * s_w)).astype(np.int32)`. `check --fix` replaces the entry with it, computed from the model's float bias, and keeps the old files.
"#,
};

const REL_TOL: f64 = 1e-4;

/// A bias entry whose float value is the bias re-encoded with some
/// tensor's parameters (`b / s + zp`, unrounded).
pub struct Reencoded {
    /// The operator whose bias it is (`CONV_2D #2`).
    pub op: String,
    /// The key of the layer's output, when the entry has its parameters.
    pub output: Option<String>,
    /// Whether the layer's input and weight have entries, which determine
    /// the spec's bias (so `check --fix` can replace it).
    pub determined: bool,
}

impl Reencoded {
    /// How the value was saved, for messages.
    pub fn how(&self) -> String {
        match &self.output {
            Some(key) => {
                format!("b / s_out + zp_out with the scale and zero point of its output `{key}`")
            }
            None => "b / s + zp with the entry's own scale and zero point".to_string(),
        }
    }
}

/// Whether `entry`, meaning the bias tensor `t`, holds the bias re-encoded:
/// its float value is not the float bias as it is, but is once read as
/// quantized numbers with its own parameters.
pub fn reencoded_bias(ctx: &Context<'_>, entry: &Entry, t: &Tensor<'_>) -> Option<Reencoded> {
    use crate::analysis::matcher::content::{self, Quantized, Reading};
    let sg = &ctx.graph.subgraphs[t.id.subgraph];
    let op = t
        .consumers
        .iter()
        .map(|&o| &sg.operators[o])
        .find(|o| o.has_bias(t.id.index))?;
    let readings = Quantized::readings(entry);
    let [as_is, dequantized] = &readings[..] else {
        return None;
    };
    let within = |q: &Quantized<'_>| {
        content::full(ctx.graph, q, t, None)
            .ok()
            .flatten()
            .is_some_and(|s| s.within_tolerance())
    };
    if dequantized.reading() != Reading::Dequantized || within(as_is) || !within(dequantized) {
        return None;
    }
    let output = op
        .outputs
        .first()
        .and_then(|&y| ctx.entry_or_probable(sg.id(y)))
        .filter(|y| params(y) == params(entry))
        .map(|y| y.key.clone());
    let has_entry =
        |slot: Option<usize>| slot.and_then(|t| ctx.entry_or_probable(sg.id(t))).is_some();
    let determined = op
        .layer_slots()
        .is_some_and(|s| has_entry(op.input(s.input)) && has_entry(op.input(s.weight)));
    Some(Reencoded {
        op: format!("{} #{}", op.opcode, op.index),
        output,
        determined,
    })
}

/// Q709: bias entries (named, or confidently matched) holding the bias
/// re-encoded.
fn reencoded_biases(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (i, entry) in ctx.qparam.entries.iter().enumerate() {
        let (Some(value), Some(_)) = (&entry.value, &entry.dtype) else {
            continue;
        };
        if !value.value.header.dtype.is_float() {
            continue;
        }
        let matched = ctx.resolutions.get(i).and_then(|r| r.matched());
        let tensor = ctx.targets[i]
            .first()
            .copied()
            .or_else(|| matched.and_then(|m| ctx.graph.named(&m.name).first().copied()));
        let Some(t) = tensor.map(|id| ctx.graph.tensor(id)) else {
            continue;
        };
        let Some(r) = reencoded_bias(ctx, entry, t) else {
            continue;
        };
        out.push(
            Diagnostic::new(
                &BIAS_REENCODED,
                format!(
                    "`{}` holds the bias of {} saved as {} (unrounded {}), not quantized",
                    entry.key,
                    r.op,
                    r.how(),
                    value.value.header.dtype
                ),
            )
            .key(&entry.key)
            .tensor(t.name)
            .field("value")
            .at(value.span.clone())
            .fixable_if(r.determined)
            .help("the exporter should save the spec's bias: int32, zero point 0, scale = input scale × weight scale, np.round(b / (s_in * s_w)); `check --fix` replaces it from the model's float bias"),
        );
    }
}

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for entry in &ctx.qparam.entries {
        int16_zero_points(entry, out);
    }
    reencoded_biases(ctx, out);
    for sg in &ctx.graph.subgraphs {
        let entry = |t: Option<usize>| {
            t.and_then(|index| {
                ctx.entry_for(TensorId {
                    subgraph: sg.index,
                    index,
                })
            })
        };
        for op in &sg.operators {
            if let Some(s) = op.layer_slots() {
                let (x, w, b) = (op.input(s.input), op.input(s.weight), op.input(s.bias));
                weighted_op(op, entry(x), entry(w), entry(b), out);
            }
            if let Some(x) = op.value_source() {
                let outputs = op.outputs.iter().map(|&o| entry(Some(o)));
                same_params(op, entry(Some(x)), outputs, out);
            } else if op.opcode.is(Op::CONCATENATION) {
                let y = entry(op.outputs.first().copied());
                for &i in op.inputs.iter().flatten() {
                    same_params(op, entry(Some(i)), y.into_iter().map(Some), out);
                }
            }
            fixed_output(op, entry(op.outputs.first().copied()), out);
        }
    }
}

fn int16_zero_points(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let (Some(d), Some(z), Some(zps)) = (&entry.dtype, &entry.zerop, entry.zero_points()) else {
        return;
    };
    if d.value == QDType::I16 && zps.iter().any(|&v| v != 0) {
        out.push(
            Diagnostic::new(
                &INT16_ZERO_POINT,
                format!(
                    "`{}` is int16 with non-zero zero points; the int16 scheme is symmetric",
                    entry.key
                ),
            )
            .key(&entry.key)
            .field("zerop")
            .at(z.span.clone())
            .help("use zero point 0 and scale = max(|min|, |max|) / 32767"),
        );
    }
}

fn weighted_op(
    op: &Operator,
    x: Option<&Entry>,
    w: Option<&Entry>,
    b: Option<&Entry>,
    out: &mut Vec<Diagnostic>,
) {
    let dtype = |e: Option<&Entry>| e.and_then(|e| e.dtype.as_ref()).map(|d| d.value);
    let what = format!("{} #{}", op.opcode, op.index);
    if let (Some(xd), Some(w_entry)) = (dtype(x), w) {
        if let Some(wd) = dtype(w) {
            if xd != wd {
                out.push(
                    Diagnostic::new(&MIXED_DTYPES, format!("`{}` is {} but the input of {what} is {}; runtimes need both of one type", w_entry.key, wd.name(), xd.name()))
                        .key(&w_entry.key)
                        .field("dtype")
                        .at(w_entry.dtype.as_ref().map_or(w_entry.key_span.clone(), |d| d.span.clone()))
                        .help(format!("quantize weights and activations with one scheme ({} for both)", xd.name())),
                );
            }
        }
    }
    if let Some(w) = w {
        if let (Some(q), Some(s)) = (&w.quantized_dimension, &w.scale) {
            let per_channel = s.value.header.element_count().unwrap_or(0) > 1;
            let axis = if op.opcode.is(Op::DEPTHWISE_CONV_2D) {
                3
            } else {
                0
            };
            if per_channel && q.value != axis {
                out.push(
                    Diagnostic::new(&WEIGHT_AXIS, format!("`{}` is per-channel along axis {}, but {what} wants its output channels, axis {axis}", w.key, q.value))
                        .key(&w.key)
                        .field("quantized_dimension")
                        .at(q.span.clone())
                        .help(format!("set \"quantized_dimension\": {axis}")),
                );
            }
        }
    }
    let Some(b) = b else { return };
    let wants = if dtype(x) == Some(QDType::I16) {
        QDType::I64
    } else {
        QDType::I32
    };
    if let Some(d) = &b.dtype {
        if d.value != wants {
            out.push(
                Diagnostic::new(&BIAS_DTYPE, format!("`{}` is the bias of {what} and should be {}, not {}", b.key, wants.name(), d.value.name()))
                    .key(&b.key)
                    .field("dtype")
                    .at(d.span.clone())
                    .help(format!("quantize the bias to {} with scale = input scale × weight scale and zero point 0", wants.name())),
            );
        }
    }
    if let (Some(z), Some(zps)) = (&b.zerop, b.zero_points()) {
        if zps.iter().any(|&v| v != 0) {
            out.push(
                Diagnostic::new(
                    &BIAS_ZERO_POINT,
                    format!("`{}` is the bias of {what} and needs zero point 0", b.key),
                )
                .key(&b.key)
                .field("zerop")
                .at(z.span.clone())
                .help("save np.zeros(channels, dtype=np.int64)"),
            );
        }
    }
    let (Some(xs), Some(ws), Some(bs), Some(field)) = (
        x.and_then(Entry::scales),
        w.and_then(Entry::scales),
        b.scales(),
        &b.scale,
    ) else {
        return;
    };
    let (Some(&xs), false) = (xs.first(), ws.is_empty()) else {
        return;
    };
    let expected: Vec<f64> = if bs.len() == ws.len() || ws.len() == 1 {
        (0..bs.len())
            .map(|c| xs * ws[if ws.len() == 1 { 0 } else { c }])
            .collect()
    } else {
        return;
    };
    // Shown as the float32 the model stores, in its shortest exact form.
    if let Some(c) =
        (0..bs.len()).find(|&c| (bs[c] - expected[c]).abs() > REL_TOL * expected[c].abs())
    {
        out.push(
            Diagnostic::new(&BIAS_SCALE, format!("`{}`.scale[{c}] is {}, but input scale × weight scale is {}", b.key, bs[c] as f32, expected[c] as f32))
                .key(&b.key)
                .field("scale")
                .at(field.span.clone())
                .help("save bias scale = input scale × weight scale (per channel) and quantize the bias with it"),
        );
    }
}

fn params(e: &Entry) -> Option<(QDType, &[f64], &[i64])> {
    Some((e.dtype.as_ref()?.value, e.scales()?, e.zero_points()?))
}

fn same_params<'a>(
    op: &Operator,
    input: Option<&Entry>,
    outputs: impl Iterator<Item = Option<&'a Entry>>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(input) = input else { return };
    let Some(want) = params(input) else { return };
    for o in outputs.flatten() {
        let Some(got) = params(o) else { continue };
        let close = want.0 == got.0
            && want.2 == got.2
            && want.1.len() == got.1.len()
            && want
                .1
                .iter()
                .zip(got.1)
                .all(|(a, b)| (a - b).abs() <= REL_TOL * a.abs());
        if !close {
            out.push(
                Diagnostic::new(&KEEP_INPUT_QPARAMS, format!("`{}` is the output of {} #{}, which keeps values as they are, but its parameters differ from its input `{}`", o.key, op.opcode, op.index, input.key))
                    .key(&o.key)
                    .at(o.key_span.clone())
                    .label(input.key_span.clone(), "the input's parameters")
                    .help(format!("give `{}` the same dtype, scale and zero point as `{}`", o.key, input.key)),
            );
        }
    }
}

/// The scale and zero point TFLite's integer kernels fix for the output
/// of `op` (SOFTMAX, LOGISTIC, TANH) in `dtype`: the 8-bit grids cover
/// [0, 1) (TANH's [-1, 1)) in 256 steps, int16's cover [-1, 1) in 65536,
/// symmetric; `None` for other operators and types.
pub fn fixed_output_params(op: &Operator, dtype: QDType) -> Option<(f64, i64)> {
    let bounded = op.opcode.is(Op::SOFTMAX) || op.opcode.is(Op::LOGISTIC);
    if !bounded && !op.opcode.is(Op::TANH) {
        return None;
    }
    match dtype {
        QDType::U8 if bounded => Some((1.0 / 256.0, 0)),
        QDType::U8 => Some((1.0 / 128.0, 128)),
        QDType::I8 if bounded => Some((1.0 / 256.0, -128)),
        QDType::I8 => Some((1.0 / 128.0, 0)),
        QDType::I16 => Some((1.0 / 32768.0, 0)),
        _ => None,
    }
}

fn fixed_output(op: &Operator, y: Option<&Entry>, out: &mut Vec<Diagnostic>) {
    let Some(y) = y else { return };
    let Some((dtype, scales, zps)) = params(y) else {
        return;
    };
    let Some(fixed) = fixed_output_params(op, dtype) else {
        return;
    };
    if scales
        .first()
        .is_some_and(|&s| (s - fixed.0).abs() > REL_TOL * fixed.0)
        || zps.first().is_some_and(|&z| z != fixed.1)
    {
        out.push(
            Diagnostic::new(&FIXED_OUTPUT_QPARAMS, format!("`{}` is the output of {} #{}, whose parameters are fixed: scale {} and zero point {}", y.key, op.opcode, op.index, fixed.0, fixed.1))
                .key(&y.key)
                .at(y.key_span.clone())
                .help(format!("save scale {} and zero point {} for it", fixed.0, fixed.1)),
        );
    }
}
