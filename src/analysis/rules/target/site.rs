//! What every target's rules share: the operators that run quantized (the
//! sites a runtime's kernels see), the entry that gives a tensor its
//! parameters, and where a finding is placed.

use super::support::{Operand, Support};
use crate::analysis::Context;
use crate::diagnostic::Diagnostic;
use crate::graph::{Operator, Subgraph, TensorId};
use crate::model::fb::TensorType;
use crate::qparam::npy::NpyType;
use crate::qparam::{Entry, QDType};

/// The uint8 zero point of a symmetric int8 weight: int8's 0 moved to the
/// middle of uint8's range, each value moved with it.
pub const UINT8_SHIFT: i64 = 128;

/// Whether int8 weight `w` of `op` is exactly the uint8 weight with zero
/// point [`UINT8_SHIFT`], each value plus it and the same scales (`(q + 128)
/// − 128 = q − 0`; int8's −128..127 lands on uint8's 0..255), and one the
/// runtime computes right; or why not. `check --fix` rewrites it so for a
/// runtime that reads weights as its uint8 input's type.
pub fn weight_as_uint8(op: &Operator, w: &Entry, support: &Support) -> Result<(), String> {
    let what = format!("{} #{}", op.opcode, op.index);
    let runtime = support.runtime;
    let zero_points = w.zero_points().ok_or("its zero points cannot be read")?;
    if zero_points.iter().any(|&z| z != 0) {
        return Err(format!(
            "int8 with a zero point other than 0 is not symmetric int8, which adding {UINT8_SHIFT} makes uint8: quantize it as uint8 in the exporter ({runtime} reads {what}'s weights as its uint8 input's type)"
        ));
    }
    let scales = w.scales().ok_or("its scales cannot be read")?;
    let varies = scales.windows(2).any(|p| p[0] != p[1]);
    if varies && support.ignores_per_channel(&op.opcode, Some(QDType::U8)) == Some(Operand::Weight)
    {
        return Err(format!(
            "as uint8, its per-channel scales would be read as channel 0's by {runtime} ({what}, Q803): quantize it per tensor as uint8 in the exporter"
        ));
    }
    match w.value.as_ref().map(|v| &v.value.header.dtype) {
        Some(NpyType::I8) => Ok(()),
        Some(other) => Err(format!("its value holds {other}, not int8")),
        None => Err("it has no value".into()),
    }
}

/// The entry that gives `id` its parameters: its own, or the one
/// propagation copies.
pub fn planned<'a>(ctx: &Context<'a>, id: TensorId) -> Option<&'a Entry> {
    let qparam = ctx.qparam;
    ctx.entry_for(id)
        .or_else(|| ctx.fill_for(id).map(|f| &qparam.entries[f.entry]))
}

pub fn dtype(e: &Entry) -> Option<QDType> {
    e.dtype.as_ref().map(|d| d.value)
}

/// Whether parameters differ between channels.
pub fn varies(e: &Entry) -> bool {
    let differ = |v: &[f64]| v.windows(2).any(|w| w[0] != w[1]);
    e.scales().is_some_and(differ)
        || e.zero_points()
            .is_some_and(|z| z.windows(2).any(|w| w[0] != w[1]))
}

/// A finding placed on `field` of `entry` (the key itself when the field is
/// missing), if the finding has an entry.
pub fn at_entry(mut d: Diagnostic, entry: Option<&Entry>, field: &'static str) -> Diagnostic {
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

/// A weighted operator's input and weight, with the entries that give
/// them parameters and their types.
pub struct Layer<'a> {
    pub input: &'a Entry,
    pub weight: &'a Entry,
    pub input_type: QDType,
    pub weight_type: QDType,
    /// The weight tensor's index.
    pub weight_tensor: usize,
    /// Whether the weight's entry is its own (not one propagation copies),
    /// so that a fix can rewrite it.
    pub own_entry: bool,
}

/// `op`'s input and weight, when it is a weighted operator and both have
/// typed entries.
pub fn layer<'a>(ctx: &Context<'a>, sg: &Subgraph<'_>, op: &Operator) -> Option<Layer<'a>> {
    let slots = op.layer_slots()?;
    let weight_tensor = op.input(slots.weight)?;
    let input = planned(ctx, sg.id(op.input(slots.input)?))?;
    let weight = planned(ctx, sg.id(weight_tensor))?;
    Some(Layer {
        input_type: dtype(input)?,
        weight_type: dtype(weight)?,
        own_entry: ctx
            .entry_for(sg.id(weight_tensor))
            .is_some_and(|e| std::ptr::eq(e, weight)),
        input,
        weight,
        weight_tensor,
    })
}

/// An operator that runs quantized, on the type its output has.
pub struct Site<'a> {
    pub sg: &'a Subgraph<'a>,
    pub op: &'a Operator,
    /// Its (first) output, and the entry that gives it its parameters.
    pub output: usize,
    pub out_entry: &'a Entry,
    /// The output's type.
    pub scheme: QDType,
    /// The type of its first input that is not a constant, when that has
    /// an entry.
    pub reads: Option<QDType>,
    /// `CONV_2D #3 (subgraph 0)`, for messages.
    pub what: String,
}

/// Every operator that runs quantized and whose output has a typed entry,
/// in model order.
pub fn sites<'a>(ctx: &Context<'a>) -> Vec<Site<'a>> {
    let mut found = Vec::new();
    for sg in &ctx.graph.subgraphs {
        let id = |index| sg.id(index);
        for op in &sg.operators {
            if !runs_quantized(ctx, sg, op) {
                continue;
            }
            let Some(&output) = op.outputs.first() else {
                continue;
            };
            let Some(out_entry) = planned(ctx, id(output)) else {
                continue;
            };
            let Some(scheme) = dtype(out_entry) else {
                continue;
            };
            let reads = op
                .inputs
                .iter()
                .flatten()
                .find(|&&t| !sg.tensors[t].is_constant())
                .and_then(|&t| planned(ctx, id(t)))
                .and_then(dtype);
            found.push(Site {
                sg,
                op,
                output,
                out_entry,
                scheme,
                reads,
                what: format!("{} #{} (subgraph {})", op.opcode, op.index, sg.index),
            });
        }
    }
    found
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
        && !ctx.float_ops.contains(&(sg.index, op.index))
        && floats.iter().all(|&t| ctx.quantized.contains(&id(t)))
        && op
            .outputs
            .iter()
            .all(|&t| sg.tensors[t].dtype != TensorType::FLOAT32 || ctx.quantized.contains(&id(t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rules::target::onert::table::ONERT;
    use crate::analysis::test_sets::{in_memory, npy_1d};
    use crate::graph::OpCode;
    use crate::model::fb::BuiltinOperator as Op;

    fn weight(
        scales: &[f32],
        zeros: &[i64],
        value: (&str, usize, &[u8]),
    ) -> crate::qparam::QParamFile {
        let text = r#"{"w": {"dtype": "int8", "scale": "s.npy", "zerop": "z.npy", "quantized_dimension": 0, "value": "v.npy"}}"#;
        let f32s: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
        let i64s: Vec<u8> = zeros.iter().flat_map(|z| z.to_le_bytes()).collect();
        in_memory(
            text,
            vec![
                ("s.npy", npy_1d("<f4", 4, &f32s)),
                ("z.npy", npy_1d("<i8", 8, &i64s)),
                ("v.npy", npy_1d(value.0, value.1, value.2)),
            ],
        )
    }

    fn op(code: Op) -> Operator {
        Operator {
            index: 3,
            opcode: OpCode::Builtin(code),
            inputs: Vec::new(),
            outputs: Vec::new(),
            fused: None,
        }
    }

    #[test]
    fn symmetric_int8_weights_are_uint8_plus_128_where_the_runtime_reads_them_right() {
        let (conv, fc) = (op(Op::CONV_2D), op(Op::FULLY_CONNECTED));
        let per_tensor = weight(&[0.1], &[0], ("|i1", 1, &[0x80, 0x7f]));
        assert_eq!(
            weight_as_uint8(&conv, &per_tensor.entries[0], &ONERT),
            Ok(())
        );
        assert_eq!(weight_as_uint8(&fc, &per_tensor.entries[0], &ONERT), Ok(()));
        let varying = weight(&[0.1, 0.2], &[0, 0], ("|i1", 1, &[1, 2]));
        assert_eq!(weight_as_uint8(&conv, &varying.entries[0], &ONERT), Ok(()));
        let why = weight_as_uint8(&fc, &varying.entries[0], &ONERT).unwrap_err();
        assert!(why.contains("channel 0's"), "{why}");
        let shifted = weight(&[0.1], &[3], ("|i1", 1, &[1, 2]));
        let why = weight_as_uint8(&conv, &shifted.entries[0], &ONERT).unwrap_err();
        assert!(why.contains("zero point other than 0"), "{why}");
        let float = weight(&[0.1], &[0], ("<f4", 4, &1f32.to_le_bytes()));
        assert!(weight_as_uint8(&conv, &float.entries[0], &ONERT).is_err());
    }
}
