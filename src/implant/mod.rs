//! The implant: turns a [`Plan`] into edits of the model tree. Each written
//! tensor takes its type and quantization; a `value` replaces its constant
//! data (a range of the npy file, copied when the model is written).
//! Block-wise and 4-bit parameters are packed into the data as it is
//! written (GGML blocks with their scales, or two values a byte). Nothing
//! else in the model changes.
//!
//! The implant trusts nothing it is handed: before editing, it checks each
//! write against the model itself (a float32 tensor, parameters that fit
//! its shape, data of exactly shape × dtype bytes, one write per tensor)
//! and returns an error rather than write a model that disagrees with
//! itself.

pub mod bias;
pub mod conversions;
pub mod float_io;

use std::collections::{HashMap, HashSet};

use crate::graph::{dtype_name, Graph, Tensor, TensorId};
use crate::model::fb;
use crate::model::{CircleFile, ModelError, ModelParts, Payload};
use crate::packed::{PackedValues, Packing};
use crate::plan::{Plan, QuantParams, Source, TensorWrite};

/// One retyped tensor, for reports and `--dry-run`.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub tensor: TensorId,
    pub name: String,
    pub from: &'static str,
    pub to: &'static str,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub source: Source,
}

/// The edited model and what changed.
pub struct Implanted<'a> {
    pub parts: ModelParts<'a>,
    pub changes: Vec<Change>,
    /// Quantize/Dequantize operators added, one line each.
    pub inserted: Vec<String>,
}

/// A plan the model contradicts: nothing is written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImplantError {
    #[error("cannot implant into `{tensor}` (subgraph {subgraph}): {what}")]
    #[diagnostic(
        code(implant::precondition),
        help("this is a bug in q-implant's analysis: `check` should have reported it; nothing was written")
    )]
    Precondition {
        tensor: String,
        subgraph: usize,
        what: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
}

/// Applies `plan` to `file`, whose view is `graph`.
pub fn implant<'a>(
    file: &'a CircleFile,
    graph: &Graph<'_>,
    plan: &Plan,
) -> Result<Implanted<'a>, ImplantError> {
    let mut parts = ModelParts::from_file(file)?;
    let mut buffer_users = count_buffer_users(&parts.model);
    let mut written: HashSet<TensorId> = HashSet::new();
    let mut changes = Vec::with_capacity(plan.writes.len());
    // In the model's tensor order, not the set's key order: a constant
    // whose buffer others share gets a buffer of its own, appended, so the
    // order decides the buffers' numbering, and the output should depend
    // on the set's contents only (a set read back from the model by
    // `extract` writes the same bytes again).
    let mut writes: Vec<&TensorWrite> = plan.writes.iter().collect();
    writes.sort_by_key(|w| w.tensor);
    for write in writes {
        let tensor = tensor_of(graph, write.tensor).ok_or_else(|| ImplantError::Precondition {
            tensor: write.name.clone(),
            subgraph: write.tensor.subgraph,
            what: "the model has no such tensor".into(),
        })?;
        check_write(tensor, write).map_err(|what| ImplantError::Precondition {
            tensor: tensor.name.to_string(),
            subgraph: write.tensor.subgraph,
            what,
        })?;
        if !written.insert(write.tensor) {
            return Err(ImplantError::Precondition {
                tensor: tensor.name.to_string(),
                subgraph: write.tensor.subgraph,
                what: "the plan writes it twice".into(),
            });
        }
        changes.push(retype(&mut parts, &mut buffer_users, tensor, write));
    }
    let mut inserted = conversions::insert(&mut parts.model, &plan.conversions);
    inserted.extend(bias::insert(&mut parts.model, &plan.bias_moves));
    if plan.float_io {
        inserted.extend(float_io::insert(&mut parts.model, graph));
    }
    Ok(Implanted {
        parts,
        changes,
        inserted,
    })
}

fn tensor_of<'g, 'm>(graph: &'g Graph<'m>, id: TensorId) -> Option<&'g Tensor<'m>> {
    graph.subgraphs.get(id.subgraph)?.tensors.get(id.index)
}

/// The write's preconditions, checked against the model.
fn check_write(t: &Tensor<'_>, write: &TensorWrite) -> Result<(), String> {
    if t.dtype != fb::TensorType::FLOAT32 {
        return Err(format!("it is {}, not float32", t.dtype_name()));
    }
    let p: &QuantParams = &write.params;
    if p.scale.is_empty() {
        return Err("no scale".into());
    }
    if p.scale.len() != p.zero_point.len() {
        return Err(format!(
            "{} scales but {} zero points",
            p.scale.len(),
            p.zero_point.len()
        ));
    }
    if let Some(s) = p.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!("scale {s} is not finite and positive"));
    }
    let (lo, hi) = p.dtype.range();
    if let Some(z) = p.zero_point.iter().find(|z| **z < lo || **z > hi) {
        return Err(format!("zero point {z} does not fit {}", p.dtype.name()));
    }
    let axis = p.quantized_dimension as usize;
    if axis >= t.shape.len().max(1) {
        return Err(format!(
            "quantized_dimension {axis} is not an axis of shape {:?}",
            t.shape
        ));
    }
    match p.block_size {
        Some(b) => check_blocks(t, p, b)?,
        None if p.scale.len() > 1
            && t.shape.get(axis).map(|&d| d as i64) != Some(p.scale.len() as i64) =>
        {
            return Err(format!(
                "{} scales for {:?} channels along axis {axis}",
                p.scale.len(),
                t.shape.get(axis)
            ));
        }
        None => {}
    }
    if p.packing().is_some() && write.value.is_none() {
        return Err(format!(
            "{} values are packed into a constant's data, and the plan gives it none",
            p.dtype.name()
        ));
    }
    match (&write.value, t.is_constant()) {
        (None, true) => {
            return Err("it is a constant, and the plan gives it no data".into());
        }
        (Some(_), false) => {
            return Err("it is not a constant, and the plan gives it data".into());
        }
        (Some(v), true) => {
            let expected = t
                .element_count()
                .and_then(|n| n.checked_mul(p.dtype.size() as u64));
            if expected != Some(v.len()) {
                return Err(format!(
                    "its shape {:?} as {} takes {expected:?} bytes, but the data has {}",
                    t.shape,
                    p.dtype.name(),
                    v.len()
                ));
            }
        }
        (None, false) => {}
    }
    Ok(())
}

/// Block-wise parameters: a 2-D tensor whose rows split into whole blocks,
/// a scale per block, and a format that holds them.
fn check_blocks(t: &Tensor<'_>, p: &QuantParams, b: u32) -> Result<(), String> {
    let [rows, cols] = t.shape[..] else {
        return Err(format!("blocks need a 2-D tensor, not shape {:?}", t.shape));
    };
    let b = i64::from(b);
    if b == 0 || i64::from(cols) % b != 0 {
        return Err(format!("{cols} columns do not split into blocks of {b}"));
    }
    let blocks = i64::from(rows) * (i64::from(cols) / b);
    if p.scale.len() as i64 != blocks {
        return Err(format!("{} scales for {blocks} blocks", p.scale.len()));
    }
    if p.packing().is_none() {
        return Err(format!(
            "no tensor type holds {} blocks of {b} with these zero points",
            p.dtype.name()
        ));
    }
    Ok(())
}

fn retype<'a>(
    parts: &mut ModelParts<'a>,
    buffer_users: &mut HashMap<u32, usize>,
    before: &Tensor<'_>,
    write: &TensorWrite,
) -> Change {
    let id = write.tensor;
    let p = &write.params;
    let tensor = &mut parts
        .model
        .subgraphs
        .as_mut()
        .expect("a tensor implies subgraphs")[id.subgraph]
        .tensors
        .as_mut()
        .expect("a tensor implies tensors")[id.index];
    let packing = p.packing();
    tensor.type_ = p.tensor_type();
    // GGML blocks carry their scales in the data: the tensor has no
    // quantization parameters of its own.
    tensor.quantization = (!packing.is_some_and(Packing::is_blockwise)).then(|| {
        Box::new(fb::QuantizationParametersT {
            scale: Some(p.scale.to_vec()),
            zero_point: Some(p.zero_point.to_vec()),
            quantized_dimension: p.quantized_dimension as i32,
            ..Default::default()
        })
    });
    let count = before.element_count();
    let mut bytes_after = match packing {
        Some(packing) => count.and_then(|n| packing.stored_len(n)),
        None => count.and_then(|n| n.checked_mul(p.dtype.size() as u64)),
    };
    if let Some(value) = &write.value {
        // A buffer other tensors (or metadata) also use keeps its bytes for
        // them; this tensor gets a buffer of its own.
        let shared =
            buffer_users.get(&tensor.buffer).copied().unwrap_or(0) > 1 || tensor.buffer == 0;
        if shared {
            if let Some(n) = buffer_users.get_mut(&tensor.buffer) {
                *n = n.saturating_sub(1);
            }
            let buffers = parts.model.buffers.get_or_insert_with(Vec::new);
            buffers.push(fb::BufferT::default());
            tensor.buffer = (buffers.len() - 1) as u32;
            buffer_users.insert(tensor.buffer, 1);
            parts.payloads.push(None);
        }
        let payload = match packing {
            Some(packing) => Payload::Packed(PackedValues {
                packing,
                values: value.clone(),
                count: value.len(),
                scales: p.scale.clone(),
            }),
            None => Payload::from(value.clone()),
        };
        bytes_after = Some(payload.len());
        parts.payloads[tensor.buffer as usize] = Some(payload);
    }
    Change {
        tensor: id,
        name: before.name.to_string(),
        from: before.dtype_name(),
        to: dtype_name(p.tensor_type()),
        bytes_before: before.byte_size().unwrap_or(0),
        bytes_after: bytes_after.unwrap_or(0),
        source: write.source.clone(),
    }
}

fn count_buffer_users(model: &fb::ModelT) -> HashMap<u32, usize> {
    let mut users: HashMap<u32, usize> = HashMap::new();
    for sg in model.subgraphs.iter().flatten() {
        for t in sg.tensors.iter().flatten() {
            *users.entry(t.buffer).or_default() += 1;
        }
    }
    for m in model.metadata.iter().flatten() {
        *users.entry(m.buffer).or_default() += 1;
    }
    for &b in model.metadata_buffer.iter().flatten() {
        *users.entry(b as u32).or_default() += 1;
    }
    users
}
