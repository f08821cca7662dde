//! Q4xx: the numbers of an entry against its dtype and its tensor.

use crate::analysis::matcher::{self, content};
use crate::analysis::Context;
use crate::diagnostic::{Diagnostic, Rule, Severity::Error};
use crate::graph::{Graph, Tensor};
use crate::qparam::npy::NpyType;
use crate::qparam::Entry;

pub static BAD_SCALE: Rule = Rule {
    code: "Q401",
    name: "bad-scale",
    severity: Error,
    summary: "a scale is zero, negative, NaN or infinite",
    docs: r#"## What it does
Checks that every scale is a finite number greater than zero.

## Why is this bad?
Dequantization multiplies by the scale: zero erases the tensor, a negative scale flips its sign, NaN poisons every result. Usually the calibration never saw data for this tensor.

## Example
A `scale` array holding `[0.0]` for an activation that was never observed.

## Use instead
Calibrate with data that reaches the tensor, and save a positive scale: `np.array([0.0235], dtype=np.float32)`.
"#,
};

pub static LENGTH_MISMATCH: Rule = Rule {
    code: "Q402",
    name: "length-mismatch",
    severity: Error,
    summary: "scale and zerop have different lengths",
    docs: r#"## What it does
Checks that `scale` and `zerop` hold the same number of values.

## Why is this bad?
Each channel needs one scale and one zero point; with unequal lists some channel gets none.

## Example
`scale` with 8 values (per channel) and `zerop` with 1.

## Use instead
Save one zero point per scale: `np.zeros(8, dtype=np.int64)`.
"#,
};

pub static CHANNEL_COUNT: Rule = Rule {
    code: "Q403",
    name: "channel-count",
    severity: Error,
    summary: "per-channel parameters do not match the size of quantized_dimension",
    docs: r#"## What it does
For per-channel parameters (more than one scale), checks that their number equals the tensor's size along `quantized_dimension`.

## Why is this bad?
Runtimes index the scales by channel; a wrong count reads past the list or leaves channels without parameters.

## Example
A Conv2D weight of shape `[16, 3, 3, 8]` with 8 scales and `quantized_dimension` 0.

## Use instead
16 scales along axis 0 (the output channels), or per-tensor parameters (one scale).
"#,
};

pub static QDIM_RANGE: Rule = Rule {
    code: "Q404",
    name: "qdim-range",
    severity: Error,
    summary: "quantized_dimension is not an axis of the tensor",
    docs: r#"## What it does
Checks that `quantized_dimension` is smaller than the tensor's rank.

## Why is this bad?
There is no such axis to quantize along; runtimes reject the model.

## Example
`"quantized_dimension": 3` on a bias of shape `[16]`.

## Use instead
`"quantized_dimension": 0`.
"#,
};

pub static ZERO_POINT_RANGE: Rule = Rule {
    code: "Q405",
    name: "zero-point-range",
    severity: Error,
    summary: "a zero point does not fit the dtype",
    docs: r#"## What it does
Checks every zero point against the range of `dtype` (uint8 0..255, int8 -128..127, ...).

## Why is this bad?
The zero point is a quantized value; out of range it wraps around and shifts every value of the tensor.

## Example
`"dtype": "int8"` with a zero point of 128 (a uint8 zero point).

## Use instead
For int8, subtract 128 from uint8 zero points (and values), giving 0.
"#,
};

pub static VALUE_SHAPE: Rule = Rule {
    code: "Q406",
    name: "value-shape",
    severity: Error,
    summary: "value does not have the tensor's shape",
    docs: r#"## What it does
Compares the shape of the `value` array with the tensor's shape in the model, and recognizes the layouts converters change (OIHW to OHWI for Conv2D, C1HW to 1HWC for DepthwiseConv2D).

## Why is this bad?
The bytes are copied as they are: a PyTorch-layout weight in a circle (OHWI) tensor is scrambled silently.

## Example
A `value` of shape `[8, 3, 3, 3]` (PyTorch OIHW) for a tensor of shape `[8, 3, 3, 3]` OHWI happens to pass; one of shape `[8, 4, 3, 3]` for `[8, 3, 3, 4]` does not.

## Use instead
`np.save("2.npy", w_q.transpose(0, 2, 3, 1))` to store it in the model's layout.
"#,
};

pub static VALUE_DTYPE: Rule = Rule {
    code: "Q407",
    name: "value-dtype",
    severity: Error,
    summary: "value's element type is not the entry's dtype",
    docs: r#"## What it does
Checks that the `value` array holds elements of `dtype`.

## Why is this bad?
The bytes become the tensor's data as they are; float32 bytes read as uint8 are garbage. A float `value` means the tensor was never quantized.

## Example
```json
{"conv1.bias": {"dtype": "int32", "scale": "3.npy", "zerop": "4.npy", "quantized_dimension": 0, "value": "5.npy"}}
```
with `5.npy` holding the float32 bias.

## Use instead
Quantize it: `np.save("5.npy", np.round(b / (s_in * s_w)).astype(np.int32))`.
"#,
};

pub static VALUE_NOT_CONSTANT: Rule = Rule {
    code: "Q408",
    name: "value-not-constant",
    severity: Error,
    summary: "value is given for a tensor that is not a constant",
    docs: r#"## What it does
Checks that `value` appears only on tensors with constant data (weights, biases).

## Why is this bad?
An activation is computed at run time; data stored for it is never used, and the entry probably names the wrong tensor.

## Example
A `value` on `ofm`, the output of a Conv2D.

## Use instead
Remove `value` from activation entries; check that weight keys name the weight tensors.
"#,
};

pub static VALUE_LAYOUT: Rule = Rule {
    code: "Q409",
    name: "value-layout",
    severity: Error,
    summary: "value has the tensor's shape but the framework's layout",
    docs: r#"## What it does
When a `value` array's shape equals the tensor's shape and also a converter layout change of it (a Conv2D weight `[8, 3, 3, 3]` reads the same as OIHW and OHWI), compares the dequantized value with the model's float data both ways, and reports a value that matches only after the layout change.

## Why is this bad?
The shapes agree, so nothing else notices; the bytes are copied as they are and the weights are scrambled: the model runs and computes something else.

## Example
A Conv2D weight with 3 input channels and a 3×3 kernel, exported from PyTorch as `w_q` (OIHW) for a tensor the converter stores as OHWI.

## Use instead
`np.save("2.npy", w_q.transpose(0, 2, 3, 1))`.
"#,
};

pub static MISSING_VALUE: Rule = Rule {
    code: "Q410",
    name: "missing-value",
    severity: Error,
    summary: "an entry for a constant tensor has no value",
    docs: r#"## What it does
Checks that every entry naming a constant tensor (a weight, a bias, any tensor with data in the model) gives its quantized data in `value`.

## Why is this bad?
The implant retypes the tensor to `dtype` but has no quantized data to store: the tensor would keep its float32 bytes under an integer type, a model that loads and computes garbage.

## Example
```json
{"tico::p_fc1_weight": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```

## Use instead
```json
{"tico::p_fc1_weight": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```
"#,
};

pub static EMPTY_PARAMS: Rule = Rule {
    code: "Q411",
    name: "empty-params",
    severity: Error,
    summary: "a scale or zero-point array holds no values",
    docs: r#"## What it does
Checks that `scale` and `zerop` hold at least one value.

## Why is this bad?
A tensor quantized with no scale has no meaning; runtimes reject it, or read past the list.

## Example
`np.save("0.npy", np.array([], dtype=np.float32))`, what an exporter writes for a tensor it never observed.

## Use instead
Calibrate the tensor and save its scale: `np.array([0.0235], dtype=np.float32)`.
"#,
};

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for entry in &ctx.qparam.entries {
        empty_params(entry, out);
        scale_and_zero_points(entry, out);
        value_dtype(entry, out);
    }
    for (entry, tensor) in ctx.resolved() {
        against_tensor(ctx.graph, entry, tensor, out);
    }
}

fn empty_params(entry: &Entry, out: &mut Vec<Diagnostic>) {
    for (field, f) in [("scale", &entry.scale), ("zerop", &entry.zerop)] {
        if let Some(f) = f
            .as_ref()
            .filter(|f| f.value.header.element_count() == Some(0))
        {
            out.push(
                Diagnostic::new(
                    &EMPTY_PARAMS,
                    format!(
                        "`{}`.{field} holds no values (shape {:?})",
                        entry.key, f.value.header.shape
                    ),
                )
                .key(&entry.key)
                .field(field)
                .at(f.span.clone())
                .help("save one value per channel, or one for the whole tensor"),
            );
        }
    }
}
fn scale_and_zero_points(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let key = entry.key.as_str();
    if let (Some(field), Some(scales)) = (&entry.scale, entry.scales()) {
        if let Some((i, s)) = scales
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            out.push(
                Diagnostic::new(&BAD_SCALE, format!("`{key}`.scale[{i}] is {s}; a scale must be finite and greater than 0"))
                    .key(key)
                    .field("scale")
                    .at(field.span.clone())
                    .help("calibrate with data that reaches this tensor; a zero scale usually means it saw none"),
            );
        }
    }
    if let (Some(s), Some(z)) = (&entry.scale, &entry.zerop) {
        let (ns, nz) = (
            s.value.header.element_count().unwrap_or(0),
            z.value.header.element_count().unwrap_or(0),
        );
        if ns != nz {
            out.push(
                Diagnostic::new(
                    &LENGTH_MISMATCH,
                    format!("`{key}` has {ns} scales but {nz} zero points"),
                )
                .key(key)
                .field("zerop")
                .at(z.span.clone())
                .label(s.span.clone(), format!("{ns} scales"))
                .help("save one zero point per scale"),
            );
        }
    }
    if let (Some(d), Some(z), Some(zps)) = (&entry.dtype, &entry.zerop, entry.zero_points()) {
        let (lo, hi) = d.value.range();
        if let Some((i, v)) = zps.iter().enumerate().find(|(_, v)| **v < lo || **v > hi) {
            let hint = if d.value == crate::qparam::QDType::I8 && (128..=255).contains(v) {
                "these look like uint8 zero points: subtract 128 (from the values too) for int8"
            } else {
                "zero points are quantized values and must fit the dtype"
            };
            out.push(
                Diagnostic::new(
                    &ZERO_POINT_RANGE,
                    format!(
                        "`{key}`.zerop[{i}] is {v}, outside {}'s range {lo}..={hi}",
                        d.value.name()
                    ),
                )
                .key(key)
                .field("zerop")
                .at(z.span.clone())
                .label(d.span.clone(), format!("dtype {}", d.value.name()))
                .help(hint),
            );
        }
    }
}

fn value_dtype(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let (Some(value), Some(dtype)) = (&entry.value, &entry.dtype) else {
        return;
    };
    let found = &value.value.header.dtype;
    if *found == dtype.value.npy_type() {
        return;
    }
    let help = if matches!(found, NpyType::F32 | NpyType::F64) {
        "the value was never quantized: save np.round(v / scale + zero_point) clipped to the dtype's range, as that dtype".to_string()
    } else {
        format!("save it with .astype(np.{})", dtype.value.name())
    };
    out.push(
        Diagnostic::new(
            &VALUE_DTYPE,
            format!(
                "`{}`.value holds {found}, but dtype is {}",
                entry.key,
                dtype.value.name()
            ),
        )
        .key(&entry.key)
        .field("value")
        .at(value.span.clone())
        .label(dtype.span.clone(), format!("dtype {}", dtype.value.name()))
        .help(help),
    );
}

fn against_tensor(
    graph: &Graph<'_>,
    entry: &Entry,
    tensor: &Tensor<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let key = entry.key.as_str();
    let rank = tensor.shape.len();
    if tensor.dtype != crate::model::fb::TensorType::FLOAT32 {
        // Q502 says why nothing else about it matters.
        return;
    }
    if let Some(q) = &entry.quantized_dimension {
        let axis = q.value as usize;
        if axis >= rank.max(1) {
            out.push(
                Diagnostic::new(&QDIM_RANGE, format!("`{key}`.quantized_dimension is {axis}, but `{}` has rank {rank} (shape {:?})", tensor.name, tensor.shape))
                    .key(key)
                    .field("quantized_dimension")
                    .at(q.span.clone())
                    .help(format!("use an axis below {}; 0 for per-tensor parameters", rank.max(1))),
            );
        } else if let Some(s) = &entry.scale {
            let n = s.value.header.element_count().unwrap_or(0);
            let channels = tensor.shape.get(axis).copied().unwrap_or(1).max(0) as usize;
            // Block-wise arrays have a value per block (Q413).
            if n > 1 && n != channels && !entry.has_block_field {
                out.push(
                    Diagnostic::new(&CHANNEL_COUNT, format!("`{key}` has {n} scales, but `{}` has {channels} channels along axis {axis} (shape {:?})", tensor.name, tensor.shape))
                        .key(key)
                        .field("scale")
                        .at(s.span.clone())
                        .label(q.span.clone(), format!("axis {axis}"))
                        .help(format!("give {channels} scales, or set quantized_dimension to the axis with {n} channels")),
                );
            }
        }
    }
    if tensor.is_constant() && !entry.has_value_field {
        out.push(
            Diagnostic::new(&MISSING_VALUE, format!("`{key}` names `{}`, a constant with {} bytes of float32 data, but gives no `value`", tensor.name, tensor.byte_size().unwrap_or(0)))
                .key(key)
                .tensor(tensor.name)
                .at(entry.key_span.clone())
                .help("add \"value\": \"<n>.npy\" with the quantized data, in the tensor's shape and the entry's dtype"),
        );
    }
    let Some(value) = &entry.value else { return };
    let header = &value.value.header;
    if !tensor.is_constant() {
        out.push(
            Diagnostic::new(&VALUE_NOT_CONSTANT, format!("`{key}` has a value, but `{}` is not a constant (it is computed at run time)", tensor.name))
                .key(key)
                .field("value")
                .at(value.span.clone())
                .help("remove `value` from activation entries, or check that the key names the intended weight"),
        );
    }
    let expected: Vec<usize> = tensor.shape.iter().map(|&d| d.max(0) as usize).collect();
    if header.shape == expected {
        same_shape_other_layout(graph, entry, tensor, &expected, out);
    } else {
        let mut d = Diagnostic::new(
            &VALUE_SHAPE,
            format!(
                "`{key}`.value has shape {:?}, but `{}` has shape {:?}",
                header.shape, tensor.name, expected
            ),
        )
        .key(key)
        .field("value")
        .at(value.span.clone());
        d = match matcher::layout_change(&header.shape, &expected) {
            Some(change) => d.help(format!(
                "the model stores this tensor as {}: save np.transpose(value, {:?})",
                change.name, change.perm
            )),
            None => {
                d.help("export the value with the tensor's shape, as `q-implant inspect` shows it")
            }
        };
        out.push(d);
    }
}

/// Q409: only for shapes a layout change maps onto themselves, so float
/// data is read just where the shape cannot tell.
fn same_shape_other_layout(
    graph: &Graph<'_>,
    entry: &Entry,
    tensor: &Tensor<'_>,
    shape: &[usize],
    out: &mut Vec<Diagnostic>,
) {
    let Some(value) = &entry.value else { return };
    // A sample that matches as saved settles it without reading the data.
    if content::sampled_steps(graph, entry, tensor, None).is_none_or(|s| s.within_tolerance()) {
        return;
    }
    for change in matcher::layout_changes(shape, shape)
        .into_iter()
        .filter(|c| c.perm != [0, 1, 2, 3])
    {
        let as_is = content::steps(graph, entry, tensor, None);
        let changed = content::steps(graph, entry, tensor, Some(&change));
        if let (Some(as_is), Some(changed)) = (as_is, changed) {
            if changed.within_tolerance() && !as_is.within_tolerance() {
                out.push(
                    Diagnostic::new(&VALUE_LAYOUT, format!("`{}`.value matches `{}`'s data only after {}: as saved, its elements land in the wrong places", entry.key, tensor.name, change.name))
                        .key(&entry.key)
                        .field("value")
                        .at(value.span.clone())
                        .help(format!("save np.transpose(value, {:?}) instead", change.perm)),
                );
                return;
            }
        }
    }
}
