//! The implant: turns a checked qparam set into edits of the model tree.
//! Each named tensor takes its entry's type and quantization; a `value`
//! replaces its constant data (borrowed from the npy mapping, never copied
//! before writing). Nothing else in the model changes.

pub mod float_io;
pub mod propagate;

use std::collections::HashMap;

use crate::analysis::Context;
use crate::graph::{dtype_name, TensorId};
use crate::model::fb;
use crate::model::{CircleFile, ModelParts};
use crate::qparam::Entry;

/// Why a tensor changed.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Its own entry.
    Entry(String),
    /// Copied through a value-preserving operator (`--propagate`).
    Propagated { from: String, op: String },
}

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

/// What to do beyond the entries themselves.
#[derive(Clone, Debug, Default)]
pub struct ImplantOptions {
    pub propagate: bool,
    pub float_io: bool,
}

/// The edited model and the list of changes.
pub struct Implanted<'a> {
    pub parts: ModelParts<'a>,
    pub changes: Vec<Change>,
    /// Quantize/Dequantize operators added by `--float-io`.
    pub inserted: Vec<String>,
}

/// Applies the entries of a checked context to `file`. The caller has
/// refused to get here with any error finding.
pub fn implant<'a>(
    file: &'a CircleFile,
    ctx: &Context<'a>,
    options: &ImplantOptions,
) -> Implanted<'a> {
    let mut parts = ModelParts::from_file(file);
    let mut buffer_users = count_buffer_users(&parts.model);
    let mut changes = Vec::new();
    for (entry, ids) in ctx.qparam.entries.iter().zip(&ctx.targets) {
        for &id in ids {
            let change = retype(
                &mut parts,
                &mut buffer_users,
                ctx,
                id,
                entry,
                Source::Entry(entry.key.clone()),
            );
            changes.push(change);
        }
    }
    if options.propagate {
        for fill in propagate::fills(ctx) {
            let entry = &ctx.qparam.entries[fill.entry];
            let sg = &ctx.graph.subgraphs[fill.from.subgraph];
            let source = Source::Propagated {
                from: ctx.graph.tensor(fill.from).name.to_string(),
                op: format!("{} #{}", sg.operators[fill.op].opcode, fill.op),
            };
            changes.push(retype(
                &mut parts,
                &mut buffer_users,
                ctx,
                fill.tensor,
                entry,
                source,
            ));
        }
    }
    let inserted = if options.float_io {
        float_io::insert(&mut parts.model, ctx.graph)
    } else {
        Vec::new()
    };
    Implanted {
        parts,
        changes,
        inserted,
    }
}

fn retype<'a>(
    parts: &mut ModelParts<'a>,
    buffer_users: &mut HashMap<u32, usize>,
    ctx: &Context<'a>,
    id: TensorId,
    entry: &'a Entry,
    source: Source,
) -> Change {
    let before = ctx.graph.tensor(id);
    let dtype = entry
        .dtype
        .as_ref()
        .expect("checked entries have a dtype")
        .value;
    let scales: Vec<f32> = entry
        .scales()
        .unwrap_or_default()
        .iter()
        .map(|&s| s as f32)
        .collect();
    let zero_points = entry.zero_points().unwrap_or_default().to_vec();
    let axis = entry
        .quantized_dimension
        .as_ref()
        .map_or(0, |q| q.value as i32);
    let tensor = &mut parts
        .model
        .subgraphs
        .as_mut()
        .expect("a tensor implies subgraphs")[id.subgraph]
        .tensors
        .as_mut()
        .expect("a tensor implies tensors")[id.index];
    tensor.type_ = dtype.tensor_type();
    tensor.quantization = Some(Box::new(fb::QuantizationParametersT {
        scale: Some(scales),
        zero_point: Some(zero_points),
        quantized_dimension: axis,
        ..Default::default()
    }));
    let mut bytes_after = before
        .element_count()
        .and_then(|n| n.checked_mul(dtype.size() as u64));
    if let Some(value) = &entry.value {
        let payload = value.value.payload();
        // A buffer other tensors (or metadata) also use keeps its bytes for
        // them; this tensor gets a buffer of its own.
        let shared =
            buffer_users.get(&tensor.buffer).copied().unwrap_or(0) > 1 || tensor.buffer == 0;
        if shared {
            *buffer_users.entry(tensor.buffer).or_default() -= 1;
            let buffers = parts.model.buffers.get_or_insert_with(Vec::new);
            buffers.push(fb::BufferT::default());
            tensor.buffer = (buffers.len() - 1) as u32;
            buffer_users.insert(tensor.buffer, 1);
            parts.payloads.push(None);
        }
        bytes_after = Some(payload.len());
        parts.payloads[tensor.buffer as usize] = Some(payload);
    }
    Change {
        tensor: id,
        name: before.name.to_string(),
        from: before.dtype_name(),
        to: dtype_name(dtype.tensor_type()),
        bytes_before: before.byte_size().unwrap_or(0),
        bytes_after: bytes_after.unwrap_or(0),
        source,
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
