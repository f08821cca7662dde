//! `extract`: a quantized model's parameters read back as a set, written
//! into a directory as the command line writes it, or returned in memory
//! as the mapping `check` takes.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use q_implant::commands::{self, ExtractRequest, KeysFrom, Silent};
use q_implant::extract::Extracted as Read;
use q_implant::report::extract::{self as said, Summary};

use crate::commands::detached;
use crate::set;

/// A tensor `apply` inserted (a QUANTIZE or DEQUANTIZE's twin): never a key.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct InsertedTensor {
    pub tensor: String,
    pub subgraph: usize,
    /// The operator that writes or reads it (`QUANTIZE #0`).
    pub op: String,
    /// The key its parameters went to, if it carries any.
    pub params_to: Option<String>,
}

/// A quantized tensor the format cannot carry, and why.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct LeftOut {
    pub tensor: String,
    pub subgraph: usize,
    pub why: String,
}

/// What `extract` read (and wrote).
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Extracted {
    /// The set: a dict of entries (arrays as numpy arrays) when read into
    /// memory, or the path of the qparam.json written.
    pub qparam: Py<PyAny>,
    /// The directory written; None in memory.
    pub output: Option<String>,
    /// Entries, and entries per dtype.
    pub entries: usize,
    pub by_dtype: Py<PyDict>,
    pub inserted: Vec<Py<InsertedTensor>>,
    pub left: Vec<Py<LeftOut>>,
    /// With `keys_from`: entries keyed by its keys, and its keys that
    /// resolve to no tensor.
    pub renamed: usize,
    pub unresolved: Vec<String>,
    /// Files and bytes written; None in memory.
    pub files: Option<usize>,
    pub bytes: Option<u64>,
    json: String,
}

#[pymethods]
impl Extracted {
    /// The record `q-implant extract --format json` prints.
    fn to_json(&self) -> String {
        self.json.clone()
    }

    fn __repr__(&self) -> String {
        match &self.output {
            Some(dir) => format!("<Extracted: {} entries written to {dir}>", self.entries),
            None => format!("<Extracted: {} entries in memory>", self.entries),
        }
    }
}

/// Reads the parameters a quantized model carries as a qparam set: written
/// into the directory `output`, or returned in memory as a mapping.
#[pyfunction]
#[pyo3(signature = (quantized, output=None, *, keys_from=None, float_model=None, force=false))]
pub fn extract(
    py: Python<'_>,
    quantized: PathBuf,
    output: Option<PathBuf>,
    keys_from: Option<PathBuf>,
    float_model: Option<PathBuf>,
    force: bool,
) -> PyResult<Extracted> {
    run(py, quantized, output, (keys_from, float_model), force)
}

fn run(
    py: Python<'_>,
    model: PathBuf,
    output: Option<PathBuf>,
    (keys_from, float_model): (Option<PathBuf>, Option<PathBuf>),
    force: bool,
) -> PyResult<Extracted> {
    let keys = match (&keys_from, &float_model) {
        (Some(qparam), Some(float_model)) => Some(KeysFrom {
            qparam,
            float_model,
        }),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "keys_from and float_model go together: the set whose keys to use, and the float model it was made for",
            ))
        }
    };
    let Some(dir) = output else {
        if force {
            return Err(PyValueError::new_err(
                "force replaces an output directory; without output the set is returned in memory, so leave force out",
            ));
        }
        let read = detached(py, "extract", || {
            Ok(commands::extract_memory(&model, keys.as_ref(), &Silent)?)
        })?;
        let qparam = set::to_dict(py, &read.set)?.into_any().unbind();
        let summary = Summary {
            model: &model,
            dir: None,
            extracted: &read.extracted,
            written: None,
            renamed: read.renamed,
            unresolved: &read.unresolved,
            keys_from: keys_from.as_deref(),
        };
        return answer(py, &summary, qparam);
    };
    let outcome = detached(py, "extract", || {
        let request = ExtractRequest {
            model: &model,
            output: &dir,
            force,
            keys_from: keys,
        };
        Ok(commands::extract(&request, &Silent)?)
    })?;
    let qparam = outcome.dir.join("qparam.json").display().to_string();
    let summary = Summary {
        model: &model,
        dir: Some(&dir),
        extracted: &outcome.extracted,
        written: Some(outcome.written),
        renamed: outcome.renamed,
        unresolved: &outcome.unresolved,
        keys_from: keys_from.as_deref(),
    };
    answer(py, &summary, qparam.into_pyobject(py)?.into_any().unbind())
}

fn answer(py: Python<'_>, s: &Summary<'_>, qparam: Py<PyAny>) -> PyResult<Extracted> {
    let read: &Read = s.extracted;
    let by_dtype = PyDict::new(py);
    for e in &read.entries {
        let name = e.dtype.name();
        let n: usize = match by_dtype.get_item(name)? {
            Some(v) => v.extract()?,
            None => 0,
        };
        by_dtype.set_item(name, n + 1)?;
    }
    let inserted = read
        .inserted
        .iter()
        .map(|i| {
            Py::new(
                py,
                InsertedTensor {
                    tensor: i.tensor.clone(),
                    subgraph: i.subgraph,
                    op: i.op.clone(),
                    params_to: i.params_to.clone(),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    let left = read
        .left
        .iter()
        .map(|l| {
            Py::new(
                py,
                LeftOut {
                    tensor: l.tensor.clone(),
                    subgraph: l.subgraph,
                    why: l.why.clone(),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    Ok(Extracted {
        qparam,
        output: s.dir.map(|d| d.display().to_string()),
        entries: read.entries.len(),
        by_dtype: by_dtype.unbind(),
        inserted,
        left,
        renamed: s.renamed,
        unresolved: s.unresolved.to_vec(),
        files: s.written.map(|w| w.files),
        bytes: s.written.map(|w| w.bytes),
        json: said::json(s),
    })
}
