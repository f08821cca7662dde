//! `extract`: the quantization parameters a model carries, read back as a
//! qparam set (what `apply` would need to write them again).
//!
//! Every tensor of a quantized type (uint4, int4, uint8, int8, int16, int32,
//! int64) with at least one scale gives an entry: its type, scales, zero
//! points, axis and, for a constant, its data (unpacked, for int4 and
//! uint4). A GGML_Q4_0 or GGML_Q8_0 tensor gives a block-wise entry: int4
//! or int8, `block_size` 32, the blocks' scales (float16, read exactly)
//! as a [rows, columns / 32] array, zero points 0, and the values. The key is the tensor's name, whatever
//! its subgraph: the format has no other spelling, and `check` and `apply`
//! give a key to every tensor of that name in every subgraph. So a name
//! used in several subgraphs is one key, written when those tensors agree
//! (type, parameters, data) and left out, with the reason, when they do
//! not, as is a name used twice in one subgraph (`check` refuses such a key,
//! Q503). Tensors `apply` inserted ([`inserted`]) are listed, never keys;
//! the quantized twin of a float input gives its parameters to the input's
//! key, from which `apply --float-io` makes the same twin again.
//! Parameters `--propagate` copied are ordinary parameters of their
//! tensors and are written like any other.

pub mod inserted;
pub mod memory;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::graph::{Graph, Tensor, TensorId};
use crate::model::{fb, PayloadRef};
use crate::packed::{self, Packing, GGML_BLOCK};
use crate::qparam::QDType;

pub use inserted::Insertion;
pub use memory::to_memory;
pub use write::{write, WrittenSet};

/// One entry of an extracted set.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub key: String,
    /// The tensor name the parameters were read from.
    pub tensor: String,
    /// Every tensor of that name (in subgraph order).
    pub tensors: Vec<TensorId>,
    pub dtype: QDType,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: u32,
    /// Values per block, for a GGML tensor's block-wise parameters.
    pub block_size: Option<u32>,
    pub value: Option<Value>,
    /// The inserted twin the parameters were read from, when not the
    /// tensor itself (a float input's quantized twin).
    pub via: Option<String>,
}

/// A constant's data, in the model file.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub shape: Vec<usize>,
    pub buffer: u32,
    pub data: PayloadRef,
    /// How the data is packed, when it is (int4, uint4, GGML blocks).
    pub packing: Option<Packing>,
}

/// A quantized tensor the format cannot carry, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Left {
    pub tensor: String,
    pub subgraph: usize,
    pub why: String,
}

/// A listed inserted tensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct InsertedTensor {
    pub tensor: String,
    pub subgraph: usize,
    pub op: String,
    /// The key its parameters went to, if it carries any.
    pub params_to: Option<String>,
}

/// What a model carries, as a set.
#[derive(Clone, Debug, Default)]
pub struct Extracted {
    /// In the order of the model's tensors.
    pub entries: Vec<Params>,
    pub inserted: Vec<InsertedTensor>,
    pub left: Vec<Left>,
}

/// Why a model's parameters cannot be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExtractError {
    #[error("`{path}` has no quantized tensor: it holds no parameters to extract")]
    #[diagnostic(
        code(extract::float_model),
        help("extract reads a model `apply` (or a quantizer) wrote; `q-implant inspect` shows each tensor's type and quantization")
    )]
    NothingQuantized { path: PathBuf },
    #[error("`{path}`: none of its {count} quantized tensors can be written as a qparam entry (`{first}`: {why})")]
    #[diagnostic(
        code(extract::nothing_expressible),
        help(
            "the qparam format keys parameters by tensor name; `q-implant inspect` shows the names"
        )
    )]
    NothingExpressible {
        path: PathBuf,
        count: usize,
        first: String,
        why: String,
    },
    #[error("`{path}`: the data of `{tensor}` {what}")]
    #[diagnostic(
        code(extract::data_size),
        help("the model disagrees with itself; write it again with the tool that made it")
    )]
    DataSize {
        path: PathBuf,
        tensor: String,
        /// Its subgraph, and what the data and the shape say.
        what: String,
    },
}

/// A tensor's own parameters, before names are grouped.
struct Found<'g> {
    id: TensorId,
    params: Params,
    /// The tensor whose name keys it (the tensor itself, or the float input
    /// a twin carries parameters for).
    keyed_by: &'g Tensor<'g>,
}

/// Reads every parameter `graph` carries.
pub fn read(graph: &Graph<'_>) -> Result<Extracted, ExtractError> {
    let path = graph.file().path().to_path_buf();
    let insertions = inserted::find(graph);
    let inserted_ids: HashMap<TensorId, &Insertion> =
        insertions.iter().map(|i| (i.tensor, i)).collect();
    let mut out = Extracted::default();
    let mut found: Vec<Found<'_>> = Vec::new();
    let mut quantized = 0usize;
    for t in graph.tensors() {
        let keyed_by = match inserted_ids.get(&t.id) {
            Some(ins) => {
                let carries = ins.params_of.map(|id| graph.tensor(id));
                out.inserted.push(InsertedTensor {
                    tensor: t.name.to_string(),
                    subgraph: t.id.subgraph,
                    op: ins.op.clone(),
                    params_to: carries
                        .filter(|_| is_quantized(t))
                        .map(|c| c.name.to_string()),
                });
                match carries {
                    Some(c) => c,
                    None => continue,
                }
            }
            None => t,
        };
        if !is_quantized(t) {
            continue;
        }
        quantized += 1;
        match own_params(graph, t, keyed_by)? {
            Ok(params) => found.push(Found {
                id: t.id,
                params,
                keyed_by,
            }),
            Err(why) => out.left.push(Left {
                tensor: t.name.to_string(),
                subgraph: t.id.subgraph,
                why,
            }),
        }
    }
    out.entries = group(graph, found, &mut out.left);
    if out.entries.is_empty() {
        return Err(match out.left.first() {
            None => ExtractError::NothingQuantized { path },
            Some(l) => ExtractError::NothingExpressible {
                path,
                count: quantized,
                first: l.tensor.clone(),
                why: l.why.clone(),
            },
        });
    }
    Ok(out)
}

/// Whether `t` holds quantized values: a quantized type with scales, or
/// GGML blocks (which carry their scales in the data).
pub fn is_quantized(t: &Tensor<'_>) -> bool {
    Packing::of(t.dtype).is_some_and(Packing::is_blockwise)
        || (qdtype(t.dtype).is_some()
            && t.quantization.as_ref().is_some_and(|q| !q.scale.is_empty()))
}

fn qdtype(t: fb::TensorType) -> Option<QDType> {
    QDType::ALL.into_iter().find(|d| d.tensor_type() == t)
}

/// `t`'s parameters keyed by `keyed_by`'s name; `Ok(Err(why))` when the
/// format cannot hold them, `Err` when the model contradicts itself.
fn own_params(
    graph: &Graph<'_>,
    t: &Tensor<'_>,
    keyed_by: &Tensor<'_>,
) -> Result<Result<Params, String>, ExtractError> {
    if keyed_by.name.is_empty() {
        return Ok(Err("it has no name, and a key is a name".into()));
    }
    if let Some(packing) = Packing::of(t.dtype).filter(|p| p.is_blockwise()) {
        return blocks_of(graph, t, keyed_by, packing);
    }
    let (Some(dtype), Some(q)) = (qdtype(t.dtype), t.quantization.as_ref()) else {
        return Ok(Err("it is not quantized".into()));
    };
    let Ok(axis) = u32::try_from(q.quantized_dimension) else {
        return Ok(Err(format!(
            "its quantized_dimension {} is negative",
            q.quantized_dimension
        )));
    };
    let zero_point = match q.zero_point.len() {
        // No zero points stored: the format's default, 0 for every scale.
        0 => vec![0; q.scale.len()],
        n if n == q.scale.len() => q.zero_point.clone(),
        n => {
            return Ok(Err(format!(
                "it has {} scales but {n} zero points",
                q.scale.len()
            )))
        }
    };
    let value = match t.data {
        None => None,
        Some(data) => Some(value_of(graph, t, dtype, data)?),
    };
    Ok(Ok(Params {
        key: keyed_by.name.to_string(),
        tensor: keyed_by.name.to_string(),
        tensors: Vec::new(),
        dtype,
        scale: q.scale.clone(),
        zero_point,
        quantized_dimension: axis,
        block_size: None,
        value,
        via: (keyed_by.id != t.id).then(|| t.name.to_string()),
    }))
}

/// A GGML tensor's block-wise parameters: its values, and the scale each
/// block of 32 keeps in the data.
fn blocks_of(
    graph: &Graph<'_>,
    t: &Tensor<'_>,
    keyed_by: &Tensor<'_>,
    packing: Packing,
) -> Result<Result<Params, String>, ExtractError> {
    let dtype = if packing == Packing::GgmlQ4_0 {
        QDType::I4
    } else {
        QDType::I8
    };
    let [_, cols] = t.shape[..] else {
        return Ok(Err(format!(
            "its blocks are in a tensor of shape {:?}, and block-wise entries are 2-D",
            t.shape
        )));
    };
    if cols < 0 || !(cols as usize).is_multiple_of(GGML_BLOCK) {
        return Ok(Err(format!(
            "its rows of {cols} do not split into blocks of 32"
        )));
    }
    let Some(data) = t.data else {
        return Ok(Err("it has no data, and its scales are in the data".into()));
    };
    let value = value_of(graph, t, dtype, data)?;
    let bytes = graph
        .file()
        .read_payload(data)
        .map_err(|e| data_error(graph, t, format!("cannot be read: {e}")))?;
    let count = data_count(t);
    let unpacked =
        packed::unpack(packing, &bytes, count).map_err(|e| data_error(graph, t, e.to_string()))?;
    Ok(Ok(Params {
        key: keyed_by.name.to_string(),
        tensor: keyed_by.name.to_string(),
        tensors: Vec::new(),
        dtype,
        zero_point: vec![0; unpacked.scales.len()],
        scale: unpacked.scales,
        quantized_dimension: 0,
        block_size: Some(GGML_BLOCK as u32),
        value: Some(value),
        via: (keyed_by.id != t.id).then(|| t.name.to_string()),
    }))
}

fn data_count(t: &Tensor<'_>) -> u64 {
    t.element_count().unwrap_or(0)
}

fn data_error(graph: &Graph<'_>, t: &Tensor<'_>, what: String) -> ExtractError {
    ExtractError::DataSize {
        path: graph.file().path().to_path_buf(),
        tensor: t.name.to_string(),
        what: format!("(subgraph {}) {what}", t.id.subgraph),
    }
}

/// A constant's data, checked to hold exactly its shape and type.
fn value_of(
    graph: &Graph<'_>,
    t: &Tensor<'_>,
    dtype: QDType,
    data: PayloadRef,
) -> Result<Value, ExtractError> {
    let shape: Option<Vec<usize>> = t.shape.iter().map(|&d| usize::try_from(d).ok()).collect();
    let packing = Packing::of(t.dtype);
    let expected = match packing {
        Some(p) => t.element_count().and_then(|n| p.stored_len(n)),
        None => t
            .element_count()
            .and_then(|n| n.checked_mul(dtype.size() as u64)),
    };
    match (shape, expected) {
        (Some(shape), Some(expected)) if expected == data.len => Ok(Value {
            shape,
            buffer: t.buffer,
            data,
            packing,
        }),
        (_, expected) => Err(ExtractError::DataSize {
            path: graph.file().path().to_path_buf(),
            tensor: t.name.to_string(),
            what: format!(
                "(subgraph {}) is {} bytes, but its shape {:?} as {} takes {}",
                t.id.subgraph,
                data.len,
                t.shape,
                dtype.name(),
                expected.map_or("an unknown size".into(), |e| format!("{e} bytes"))
            ),
        }),
    }
}

/// One entry per name: the tensors of a name must agree, and the name must
/// be unique within each subgraph.
fn group(graph: &Graph<'_>, found: Vec<Found<'_>>, left: &mut Vec<Left>) -> Vec<Params> {
    let mut by_key: BTreeMap<String, Vec<Found<'_>>> = BTreeMap::new();
    for f in found {
        by_key.entry(f.params.key.clone()).or_default().push(f);
    }
    let mut entries: Vec<(TensorId, Params)> = Vec::new();
    for (key, group) in by_key {
        let first = &group[0];
        let named = graph.named(&key);
        let mut why = None;
        for sg in 0..graph.subgraphs.len() {
            let n = named.iter().filter(|id| id.subgraph == sg).count();
            if n > 1 {
                why = Some(format!(
                    "{n} tensors of subgraph {sg} have this name, and a key names them all (check refuses such a key: Q503)"
                ));
                break;
            }
        }
        let via_twin = first.params.via.is_some();
        if why.is_none() && !via_twin && group.len() < named.len() {
            // Another tensor of this name is not quantized: a key would
            // quantize it too.
            let other = named
                .iter()
                .find(|id| !group.iter().any(|f| f.id == **id))
                .map_or(0, |id| id.subgraph);
            why = Some(format!(
                "the tensor of this name in subgraph {other} is not quantized, and a key would quantize it too"
            ));
        }
        if why.is_none() {
            if let Some(other) = group
                .iter()
                .find(|f| !same(graph, &f.params, &first.params))
            {
                why = Some(format!(
                    "the tensors of this name in subgraphs {} and {} differ, and one key gives them the same",
                    first.id.subgraph, other.id.subgraph
                ));
            }
        }
        match why {
            Some(why) => left.extend(group.iter().map(|f| Left {
                tensor: graph.tensor(f.id).name.to_string(),
                subgraph: f.id.subgraph,
                why: why.clone(),
            })),
            None => {
                let mut params = first.params.clone();
                params.tensors = group.iter().map(|f| f.keyed_by.id).collect();
                entries.push((first.keyed_by.id, params));
            }
        }
    }
    entries.sort_by_key(|(id, _)| *id);
    entries.into_iter().map(|(_, p)| p).collect()
}

/// Whether two tensors' parameters (and data) are the same.
fn same(graph: &Graph<'_>, a: &Params, b: &Params) -> bool {
    let data = |p: &Params| {
        p.value
            .as_ref()
            .map(|v| (v.shape.clone(), graph.file().read_payload(v.data).ok()))
    };
    a.dtype == b.dtype
        && a.block_size == b.block_size
        && a.scale == b.scale
        && a.zero_point == b.zero_point
        && a.quantized_dimension == b.quantized_dimension
        && data(a) == data(b)
}

/// Keys the entries by another set's keys: `keys` maps a tensor name to
/// the key that resolves to it. Returns how many entries were renamed.
/// A key another entry already has is not taken.
pub fn rekey(extracted: &mut Extracted, keys: &HashMap<String, String>) -> usize {
    let mut taken: std::collections::HashSet<String> =
        extracted.entries.iter().map(|e| e.key.clone()).collect();
    let mut renamed = 0;
    for e in &mut extracted.entries {
        if let Some(k) = keys.get(&e.tensor) {
            if *k != e.key && taken.insert(k.clone()) {
                e.key = k.clone();
                renamed += 1;
            }
        }
    }
    renamed
}
