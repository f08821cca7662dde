//! Q412-Q419: block-wise entries (a scale and zero point per block of
//! values along the last axis, `block_size`) and sub-byte types (int4,
//! uint4), the weight-only formats of on-device LLMs. Part of the Q4xx
//! family: the numbers of an entry against its dtype and its tensor.

use crate::analysis::Context;
use crate::diagnostic::{
    Diagnostic, Rule,
    Severity::{Error, Warning},
};
use crate::graph::Tensor;
use crate::model::fb::TensorType;
use crate::packed::{f16, GGML_BLOCK};
use crate::qparam::{Entry, QDType};

pub static BLOCK_SIZE: Rule = Rule {
    code: "Q412",
    name: "block-size",
    severity: Error,
    summary: "block_size does not divide the last axis of a 2-D tensor",
    docs: r#"## What it does
Checks that an entry with `block_size` names a 2-D tensor (rows × columns: a FullyConnected weight, an embedding table) and that `block_size` is positive and divides its last axis.

## Why is this bad?
Blocks run along the last axis, row by row; a row that does not split into whole blocks has values no scale covers. Runtimes refuse such tensors (onert: "Block quantization requires the last dimension to be a multiple of 32").

## Example
```json
{"fc1.weight": {"dtype": "int4", "block_size": 32, "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```
for a weight of shape `[64, 48]`.

## Use instead
Pad the layer's input features to a multiple of the block size in the model, or quantize this layer per channel (no `block_size`).
"#,
};

pub static BLOCK_SHAPE: Rule = Rule {
    code: "Q413",
    name: "block-shape",
    severity: Error,
    summary: "block-wise scale or zerop is not [rows, columns / block_size]",
    docs: r#"## What it does
For an entry with `block_size` B naming a tensor of shape `[rows, columns]`, checks that `scale` and `zerop` have shape `[rows, columns / B]` (a value per block, blocks along the last axis) and that `quantized_dimension` is 0 (the rows).

## Why is this bad?
Scales are matched to blocks by position: a transposed or flattened array gives each block another block's scale, and the weights come out scrambled with no error.

## Example
A `[64, 128]` weight with `block_size` 32 and a scale of shape `[256]` (flattened) or `[4, 64]` (transposed).

## Use instead
`np.save("0.npy", scales.reshape(64, 4).astype(np.float32))`: one row of scales per row of the weight.
"#,
};

pub static VALUE_RANGE: Rule = Rule {
    code: "Q414",
    name: "value-range",
    severity: Error,
    summary: "a value does not fit the dtype (int4 -8..7, uint4 0..15)",
    docs: r#"## What it does
For `int4` and `uint4` entries, whose values are saved one a byte (in an int8 or a uint8 npy file), checks that every value fits the 4-bit range: -8..7 for int4, 0..15 for uint4.

## Why is this bad?
The model stores two values a byte; a value past four bits would overwrite its neighbour's nibble, or be cut to its low bits: another number, silently.

## Example
`dtype` `int4` with a value of 8 (the quantizer clamped to -8..8, or saved `q + 8`).

## Use instead
Clamp to the type's range when quantizing: `np.clip(np.round(w / s), -8, 7).astype(np.int8)`.
"#,
};

pub static SCALE_FLOAT16_RANGE: Rule = Rule {
    code: "Q415",
    name: "scale-float16-range",
    severity: Error,
    summary: "a block scale overflows float16 or underflows to 0 in it",
    docs: r#"## What it does
Block-wise scales are stored as float16 in the model (each GGML block starts with its scale). Checks that every scale stays finite and non-zero once rounded to float16 (at most 65504, at least about 3e-8).

## Why is this bad?
A scale that becomes infinite turns its block into infinities and NaNs; one that becomes 0 erases its block. Either way the layer computes garbage, with no error.

## Example
A block of weights near 1e-9 (a pruned row) quantized with scale 1e-10.

## Use instead
Clamp scales when quantizing, e.g. `scales = np.maximum(scales, 6e-5)` for blocks that are (nearly) zero, or keep such a layer in float.
"#,
};

pub static SCALE_FLOAT16_PRECISION: Rule = Rule {
    code: "Q416",
    name: "scale-float16-precision",
    severity: Warning,
    summary: "a block scale loses more than float16's precision when stored",
    docs: r#"## What it does
Rounds each block-wise scale to float16, as the model stores it, and warns when a scale changes by more than float16's relative precision (2^-11), which happens below 6.1e-5, where float16 has fewer significant bits. The message gives the largest relative error.

## Why is this bad?
Every value of the block is multiplied by the stored scale: a scale 2% off makes the whole block 2% off, beyond what the quantizer's rounding accounted for.

## Example
A scale of 1e-6 (float16 keeps it as 1.013e-6, 1.3% off).

## Use instead
Scale the layer's weights (and its output, or the next layer) so that its block scales are above 6.1e-5, or keep the layer per channel.
"#,
};

pub static ASYMMETRIC_BLOCKS: Rule = Rule {
    code: "Q417",
    name: "asymmetric-blocks",
    severity: Error,
    summary: "a zero point is not 0 where the stored format is symmetric",
    docs: r#"## What it does
Checks that block-wise entries (stored as GGML_Q4_0 or GGML_Q8_0) and int4 entries (stored as INT4) have every zero point 0: these formats have a scale and no zero point.

## Why is this bad?
The zero points would be dropped when the model is written, shifting every value of each block by its zero point times its scale.

## Example
An int4 group-wise export with asymmetric groups: values 0..15 saved as int4 with zero points of 8.

## Use instead
Quantize symmetrically (`torch.ao`'s `MappingType.SYMMETRIC`, zero points 0); values that were saved as `q + 8` with zero point 8 are `q` with zero point 0.
"#,
};

pub static BLOCK_FORMAT: Rule = Rule {
    code: "Q418",
    name: "block-format",
    severity: Error,
    summary: "no circle tensor type holds blocks of this size and dtype",
    docs: r#"## What it does
Checks that a block-wise entry is one a circle type stores: blocks of 32 int4 values (GGML_Q4_0) or of 32 int8 values (GGML_Q8_0), the formats of llama.cpp that circle 0.10 has.

## Why is this bad?
`apply` could not write the tensor: circle has no type for blocks of 64, or for uint4 or int16 blocks.

## Example
```json
{"fc1.weight": {"dtype": "int4", "block_size": 128, "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```

## Use instead
Quantize with a group size of 32 (`group_size=32`), symmetric int4 or int8.
"#,
};

pub static BLOCK_ACTIVATION: Rule = Rule {
    code: "Q419",
    name: "block-activation",
    severity: Error,
    summary: "block-wise or 4-bit parameters name a tensor that is not a constant",
    docs: r#"## What it does
Checks that entries with `block_size`, and int4 and uint4 entries, name constant tensors (weights, embedding tables).

## Why is this bad?
These are weight formats: the values and their scales are packed into the tensor's data when the model is written. An activation is computed at run time; no runtime takes it in these types, and the entry probably names the wrong tensor.

## Example
`"fc1"` (the layer's output) with `dtype` int4 and `block_size` 32, where `"fc1.weight"` was meant.

## Use instead
Key the entry by the weight, and leave activations float (weight-only quantization) or give them uint8 or int8 parameters.
"#,
};

/// The zero point GGML block formats and INT4 imply.
const SYMMETRIC_ZERO: i64 = 0;

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for entry in &ctx.qparam.entries {
        value_range(entry, out);
        symmetric(entry, out);
        if entry.blocks().is_some() {
            block_format(entry, out);
            float16_scales(entry, out);
        }
    }
    for (entry, tensor) in ctx.resolved() {
        if tensor.dtype != TensorType::FLOAT32 {
            continue;
        }
        if packed_kind(entry) && !tensor.is_constant() {
            out.push(
                Diagnostic::new(&BLOCK_ACTIVATION, format!("`{}` has {} parameters, but `{}` is not a constant (it is computed at run time)", entry.key, kind_of(entry), tensor.name))
                    .key(&entry.key)
                    .tensor(tensor.name)
                    .at(entry.key_span.clone())
                    .help("key the entry by the layer's weight; leave the activation float, or give it uint8 or int8 parameters"),
            );
        }
        if entry.blocks().is_some() {
            block_geometry(entry, tensor, out);
        }
    }
}

/// Whether an entry is of a kind only weights take: block-wise, or 4-bit.
pub fn packed_kind(entry: &Entry) -> bool {
    entry.has_block_field || entry.dtype.as_ref().is_some_and(|d| d.value.is_sub_byte())
}

fn kind_of(entry: &Entry) -> String {
    let dtype = entry.dtype.as_ref().map_or("", |d| d.value.name());
    match entry.blocks() {
        Some(b) => format!("block-wise {dtype} (blocks of {b})"),
        None => dtype.to_string(),
    }
}

/// Q414.
fn value_range(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let (Some(dtype), Some(value)) = (&entry.dtype, &entry.value) else {
        return;
    };
    if !dtype.value.is_sub_byte() || value.value.header.dtype != dtype.value.npy_type() {
        return;
    }
    let (lo, hi) = dtype.value.range();
    let Ok(Some((index, v))) = value.value.first_outside(lo, hi) else {
        return;
    };
    let name = dtype.value.name();
    out.push(
        Diagnostic::new(
            &VALUE_RANGE,
            format!(
                "`{}`.value[{index}] (in C order) is {v}, outside {name}'s range {lo}..={hi}",
                entry.key
            ),
        )
        .key(&entry.key)
        .field("value")
        .at(value.span.clone())
        .label(dtype.span.clone(), format!("dtype {name}"))
        .help(format!(
            "clamp when quantizing: np.clip(np.round(w / scale), {lo}, {hi})"
        )),
    );
}

/// Q417.
fn symmetric(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let (Some(dtype), Some(zerop), Some(zps)) = (&entry.dtype, &entry.zerop, entry.zero_points())
    else {
        return;
    };
    let format = match (entry.blocks(), dtype.value) {
        (Some(_), QDType::I4) => "GGML_Q4_0",
        (Some(_), QDType::I8) => "GGML_Q8_0",
        (None, QDType::I4) => "INT4",
        _ => return,
    };
    let Some((i, z)) = zps.iter().enumerate().find(|(_, z)| **z != SYMMETRIC_ZERO) else {
        return;
    };
    let help = if dtype.value == QDType::I4 && zps.iter().all(|&z| z == 8) {
        "these look like values saved as q + 8: save the values minus 8 with zero points 0"
            .to_string()
    } else {
        "quantize symmetrically (zero points 0); the format has no zero point".to_string()
    };
    out.push(
        Diagnostic::new(
            &ASYMMETRIC_BLOCKS,
            format!("`{}`.zerop[{i}] is {z}, but `{}` would be stored as {format}, which is symmetric (no zero point)", entry.key, entry.key),
        )
        .key(&entry.key)
        .field("zerop")
        .at(zerop.span.clone())
        .help(help),
    );
}

/// Q418.
fn block_format(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let (Some(b), Some(dtype)) = (&entry.block_size, &entry.dtype) else {
        return;
    };
    let size_ok = b.value as usize == GGML_BLOCK;
    let dtype_ok = matches!(dtype.value, QDType::I4 | QDType::I8);
    if size_ok && dtype_ok {
        return;
    }
    let why = match (size_ok, dtype_ok) {
        (false, _) => format!(
            "blocks of {}; circle's block types (GGML_Q4_0, GGML_Q8_0) have blocks of {GGML_BLOCK}",
            b.value
        ),
        _ => format!(
            "{} blocks; circle's block types hold int4 (GGML_Q4_0) or int8 (GGML_Q8_0)",
            dtype.value.name()
        ),
    };
    let at = if size_ok {
        dtype.span.clone()
    } else {
        b.span.clone()
    };
    let field = if size_ok { "dtype" } else { "block_size" };
    out.push(
        Diagnostic::new(&BLOCK_FORMAT, format!("`{}` has {why}", entry.key))
            .key(&entry.key)
            .field(field)
            .at(at)
            .help(format!(
                "quantize with group_size={GGML_BLOCK}, symmetric int4 or int8"
            )),
    );
}

/// Q415 and Q416: the scales as float16 stores them.
fn float16_scales(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let (Some(field), Some(scales)) = (&entry.scale, entry.scales()) else {
        return;
    };
    let mut lost: Option<(usize, f64)> = None;
    let mut worst: Option<(usize, f64)> = None;
    for (i, &s) in scales.iter().enumerate() {
        let s32 = s as f32;
        if !(s32.is_finite() && s32 > 0.0) {
            // Q401 reports it.
            continue;
        }
        let stored = f16::round(s32);
        if !stored.is_finite() || stored == 0.0 {
            lost.get_or_insert((i, s));
            continue;
        }
        let relative = f64::from((stored - s32).abs() / s32);
        if relative > f16::RELATIVE_PRECISION && worst.is_none_or(|(_, r)| relative > r) {
            worst = Some((i, relative));
        }
    }
    let key = &entry.key;
    if let Some((i, s)) = lost {
        let becomes = if s > f64::from(f16::MAX) {
            "infinite"
        } else {
            "0"
        };
        out.push(
            Diagnostic::new(&SCALE_FLOAT16_RANGE, format!("`{key}`.scale[{i}] is {s}, which becomes {becomes} as float16, the type blocks keep their scale in"))
                .key(key)
                .field("scale")
                .at(field.span.clone())
                .help("clamp the scales to float16's range when quantizing (6e-5 to 65504 keeps full precision)"),
        );
    }
    if let Some((i, r)) = worst {
        out.push(
            Diagnostic::new(&SCALE_FLOAT16_PRECISION, format!("`{key}`.scale[{i}] is {} and changes by {:.2}% when stored as float16 (its precision is 0.05%); the worst of the entry", scales[i], r * 100.0))
                .key(key)
                .field("scale")
                .at(field.span.clone())
                .help("scales below 6.1e-5 lose precision as float16: rescale the layer, or keep it per channel"),
        );
    }
}

/// Q412 and Q413: the tensor, the block size and the shapes of the scale
/// and zero-point arrays.
fn block_geometry(entry: &Entry, t: &Tensor<'_>, out: &mut Vec<Diagnostic>) {
    let Some(b) = &entry.block_size else { return };
    let key = &entry.key;
    let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
    let bad_size = match shape.as_slice() {
        _ if b.value == 0 => Some("block_size must be positive".to_string()),
        [_, cols] if cols % b.value as usize != 0 => Some(format!(
            "{cols} columns do not split into blocks of {}",
            b.value
        )),
        [_, _] => None,
        _ => Some(format!(
            "block-wise parameters need a 2-D tensor (rows × columns); `{}` has shape {shape:?}",
            t.name
        )),
    };
    if let Some(why) = bad_size {
        out.push(
            Diagnostic::new(&BLOCK_SIZE, format!("`{key}`: {why}"))
                .key(key)
                .field("block_size")
                .at(b.span.clone())
                .tensor(t.name)
                .help("use a block size that divides the last axis (32 for GGML types), or quantize this tensor per channel"),
        );
        return;
    }
    let blocks = vec![shape[0], shape[1] / b.value as usize];
    for (field, f) in [("scale", &entry.scale), ("zerop", &entry.zerop)] {
        let Some(f) = f else { continue };
        let found = &f.value.header.shape;
        if *found != blocks && !found.is_empty() {
            out.push(
                Diagnostic::new(&BLOCK_SHAPE, format!("`{key}`.{field} has shape {found:?}, but blocks of {} over `{}` ({shape:?}) need {blocks:?}", b.value, t.name))
                    .key(key)
                    .field(field)
                    .at(f.span.clone())
                    .label(b.span.clone(), format!("block_size {}", b.value))
                    .help(format!("save one value per block, a row per row of the tensor: array.reshape({}, {})", blocks[0], blocks[1])),
            );
        }
    }
    if let Some(q) = entry.quantized_dimension.as_ref().filter(|q| q.value != 0) {
        out.push(
            Diagnostic::new(&BLOCK_SHAPE, format!("`{key}`.quantized_dimension is {}, but block-wise parameters run along the rows, axis 0 (blocks along the last axis)", q.value))
                .key(key)
                .field("quantized_dimension")
                .at(q.span.clone())
                .help("set quantized_dimension to 0"),
        );
    }
}
