//! `q-implant inspect`: what is really inside a model, as a table for people
//! or as JSON for programs (a stable contract, see docs/inspect.md).

use std::fmt::Write as _;

use serde::Serialize;

use super::Observer;
use crate::graph::{Graph, Quantization, Tensor};
use crate::model::{CircleFile, ModelError};
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
                    t.quantization
                        .as_ref()
                        .map(describe_quantization)
                        .unwrap_or_default(),
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
