//! `q-implant inspect`: what is really inside a model, as a table for people
//! or as JSON for programs (a stable contract, see docs/inspect.md).

use std::fmt::Write as _;

use serde::Serialize;

use super::Observer;
use crate::graph::{Graph, Quantization, Tensor};
use crate::model::{CircleFile, ModelError};
use crate::packed::{Packing, GGML_BLOCK};
use crate::table;

/// Reads `model` and lists what it holds.
pub fn inspect(model: &std::path::Path, observer: &dyn Observer) -> Result<Report, ModelError> {
    observer.phase(&format!("reading {}", model.display()));
    let file = CircleFile::open(model)?;
    Ok(Report::new(&file))
}

#[derive(Serialize)]
pub struct Report {
    pub layout: &'static str,
    pub subgraphs: Vec<SubgraphReport>,
}

#[derive(Serialize)]
pub struct SubgraphReport {
    pub name: Option<String>,
    pub tensors: Vec<TensorReport>,
    pub operators: Vec<OperatorReport>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

#[derive(Serialize)]
pub struct TensorReport {
    pub index: usize,
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<i32>,
    pub constant: bool,
    pub bytes: Option<u64>,
    pub producer: Option<usize>,
    pub consumers: Vec<usize>,
    pub quantization: Option<Quantization>,
    /// How a packed weight type keeps its values (absent for the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed: Option<PackedReport>,
}

/// A packed type's layout: values a byte or per block with its scale, and
/// the bytes the shape needs in it (to compare with `bytes`).
#[derive(Serialize)]
pub struct PackedReport {
    /// `GGML_Q4_0`, `GGML_Q8_0`, `INT4` or `UINT4`.
    pub format: &'static str,
    /// Values per block sharing a float16 scale kept in the data; `null`
    /// for INT4/UINT4, whose parameters are on the tensor.
    pub block_size: Option<usize>,
    /// Blocks the shape holds (`null` without blocks, or when the element
    /// count is unknown or not whole blocks).
    pub blocks: Option<u64>,
    /// Bytes of one block (scale and values), or `null` without blocks.
    pub block_bytes: Option<usize>,
    /// Bytes the shape needs in this format (`null` when it cannot be
    /// stored in it, e.g. GGML data that is not whole blocks).
    pub expected_bytes: Option<u64>,
}

#[derive(Serialize)]
pub struct OperatorReport {
    pub index: usize,
    pub opcode: String,
    /// Tensor indices; `null` marks an omitted optional input.
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
}

impl Report {
    pub fn new(file: &CircleFile) -> Report {
        let graph = Graph::new(file);
        let subgraphs = graph
            .subgraphs
            .iter()
            .map(|sg| SubgraphReport {
                name: sg.name.map(str::to_string),
                tensors: sg.tensors.iter().map(tensor_report).collect(),
                operators: sg
                    .operators
                    .iter()
                    .map(|op| OperatorReport {
                        index: op.index,
                        opcode: op.opcode.to_string(),
                        inputs: op.inputs.clone(),
                        outputs: op.outputs.clone(),
                    })
                    .collect(),
                inputs: sg.inputs.clone(),
                outputs: sg.outputs.clone(),
            })
            .collect();
        Report {
            layout: if file.is_large_layout() {
                "large"
            } else {
                "plain"
            },
            subgraphs,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("inspect report serializes")
    }

    /// A fixed-width table per subgraph.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for (si, sg) in self.subgraphs.iter().enumerate() {
            let _ = writeln!(
                out,
                "subgraph {si} {} ({} tensors, {} operators, {} layout)",
                sg.name
                    .as_deref()
                    .map(|n| format!("`{}`", table::shorten(n)))
                    .unwrap_or_default(),
                sg.tensors.len(),
                sg.operators.len(),
                self.layout
            );
            let _ = writeln!(
                out,
                "  inputs: {}  outputs: {}",
                table::shorten(&format!("{:?}", sg.inputs)),
                table::shorten(&format!("{:?}", sg.outputs))
            );
            let mut rows = vec![[
                "#",
                "name",
                "dtype",
                "shape",
                "kind",
                "bytes",
                "producer -> consumers",
                "quantization",
            ]
            .map(String::from)
            .to_vec()];
            rows.extend(sg.tensors.iter().map(|t| {
                vec![
                    t.index.to_string(),
                    t.name.clone(),
                    t.dtype.to_string(),
                    format!("{:?}", t.shape),
                    if t.constant {
                        "const".into()
                    } else {
                        String::new()
                    },
                    t.bytes.map(|b| b.to_string()).unwrap_or_else(|| "?".into()),
                    producer_and_consumers(t, &sg.operators),
                    [
                        t.packed.as_ref().map(|p| describe_packing(p, t.bytes)),
                        t.quantization.as_ref().map(describe_quantization),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; "),
                ]
            }));
            for line in table::layout(&rows, &[]).lines() {
                let _ = writeln!(out, "  {line}");
            }
            out.push('\n');
        }
        out
    }
}

fn tensor_report(t: &Tensor<'_>) -> TensorReport {
    TensorReport {
        index: t.id.index,
        name: t.name.to_string(),
        dtype: t.dtype_name(),
        shape: t.shape.clone(),
        constant: t.is_constant(),
        bytes: t.byte_size(),
        producer: t.producer,
        consumers: t.consumers.clone(),
        quantization: t.quantization.clone(),
        packed: Packing::of(t.dtype).map(|p| packed_report(p, t.element_count())),
    }
}

fn packed_report(packing: Packing, count: Option<u64>) -> PackedReport {
    let blockwise = packing.is_blockwise();
    let block = blockwise.then_some(GGML_BLOCK);
    PackedReport {
        format: packing.name(),
        block_size: block,
        blocks: block.and_then(|b| {
            let count = count?;
            count.is_multiple_of(b as u64).then_some(count / b as u64)
        }),
        block_bytes: blockwise.then(|| packing.block_bytes()),
        expected_bytes: count.and_then(|c| packing.stored_len(c)),
    }
}

/// The table's words for a packed layout: the format's unit and whether
/// the payload has the bytes the shape needs.
fn describe_packing(p: &PackedReport, bytes: Option<u64>) -> String {
    let unit = match (p.block_size, p.blocks) {
        (Some(b), Some(n)) => format!("{n} blocks of {b}, float16 scales in the data"),
        (Some(b), None) => format!("blocks of {b}, but the shape is not whole blocks"),
        (None, _) => "2 values a byte, low nibble first".to_string(),
    };
    match (p.expected_bytes, bytes) {
        (Some(e), Some(b)) if e != b => format!("{unit}; {b} bytes where the shape needs {e}"),
        _ => unit,
    }
}

fn producer_and_consumers(t: &TensorReport, ops: &[OperatorReport]) -> String {
    let name = |i: usize| format!("{}#{i}", ops[i].opcode);
    let from = t.producer.map(name).unwrap_or_else(|| "-".into());
    const LISTED: usize = 4;
    let mut to: Vec<String> = t.consumers.iter().take(LISTED).map(|&i| name(i)).collect();
    if t.consumers.len() > LISTED {
        to.push(format!("... ({} operators)", t.consumers.len()));
    }
    format!(
        "{from} -> {}",
        if to.is_empty() {
            "-".into()
        } else {
            to.join(", ")
        }
    )
}

fn describe_quantization(q: &Quantization) -> String {
    let show = |v: Vec<String>| {
        if v.len() > 3 {
            format!("[{}, ... {} values]", v[..2].join(", "), v.len())
        } else {
            format!("[{}]", v.join(", "))
        }
    };
    format!(
        "scale {} zp {} dim {}",
        show(q.scale.iter().map(|s| format!("{s:e}")).collect()),
        show(q.zero_point.iter().map(i64::to_string).collect()),
        q.quantized_dimension
    )
}
