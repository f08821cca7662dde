//! `verify`'s answer as typed objects: a [`VerifyReport`] of
//! [`TensorError`]s (each tensor of the quantized model against its float
//! partner), [`OutputError`]s (each graph output), the operators the
//! interpreter could not run, and with `outputs=True` the outputs' values.

use pyo3::prelude::*;
use pyo3::types::PyList;

use q_implant::commands::VerifyOutcome;
use q_implant::interpret::value::{Data, Tensor};
use q_implant::report::Paint;
use q_implant::verify::compare::OutputValues;
use q_implant::verify::report::{Cause, Report as Verified};
use q_implant::verify::{html, human};

use crate::set::new_array;

/// One tensor of the quantized model against its partner in the float one.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct TensorError {
    pub name: String,
    pub subgraph: usize,
    pub index: usize,
    /// The quantized model's type for it (`uint8`, `float32`, ...).
    pub dtype: String,
    /// Signal to quantization noise, in dB (None when exact or undefined).
    pub sqnr_db: Option<f64>,
    /// The largest error in steps of the tensor's own scale.
    pub max_error_steps: Option<f64>,
    /// The share of float values outside the range the parameters represent.
    pub clipped: Option<f64>,
    /// The largest error over the float values' range (ONE's MPEIR).
    pub mpeir: Option<f64>,
    /// False when an operator it depends on could not be run.
    pub evaluated: bool,
    /// `clipping` or `large-error` when the tensor is probably bad here.
    pub cause: Option<String>,
    /// The cause in words.
    pub explanation: Option<String>,
}

#[pymethods]
impl TensorError {
    fn __repr__(&self) -> String {
        let sqnr = self
            .sqnr_db
            .map_or("exact".to_string(), |s| format!("{s:.1} dB"));
        format!("<TensorError {} {} {sqnr}>", self.name, self.dtype)
    }
}

/// A graph output of both runs compared.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct OutputError {
    pub name: String,
    pub mae: Option<f64>,
    pub max_abs_error: Option<f64>,
    pub psnr_db: Option<f64>,
    pub sqnr_db: Option<f64>,
    /// How often the top class agrees, and the float top class is among
    /// the quantized top five (None for an output that is no class score).
    pub top1: Option<f64>,
    pub top5: Option<f64>,
}

#[pymethods]
impl OutputError {
    fn __repr__(&self) -> String {
        format!("<OutputError {} sqnr={:?} dB>", self.name, self.sqnr_db)
    }
}

/// An operator the interpreter has no kernel for (what depends on it is
/// not evaluated).
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Unsupported {
    pub operator: String,
    pub index: usize,
    pub subgraph: usize,
}

/// A graph output's values in both runs, one array per sample (the
/// quantized run's dequantized); None where a run could not compute it.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct OutputArrays {
    pub name: String,
    pub float: Option<Py<PyList>>,
    pub quantized: Option<Py<PyList>>,
}

/// What quantization costs, tensor by tensor.
#[pyclass(frozen, module = "q_implant")]
pub struct VerifyReport {
    /// Samples both models ran on, and whether they were drawn at random.
    #[pyo3(get)]
    samples: usize,
    #[pyo3(get)]
    random_inputs: bool,
    /// Every tensor, in the graph's order.
    #[pyo3(get)]
    tensors: Vec<Py<TensorError>>,
    #[pyo3(get)]
    outputs: Vec<Py<OutputError>>,
    #[pyo3(get)]
    unsupported: Vec<Py<Unsupported>>,
    /// With `outputs=True`, each output's values; otherwise None.
    #[pyo3(get)]
    output_arrays: Option<Vec<Py<OutputArrays>>>,
    report: Verified,
    title: String,
}

#[pymethods]
impl VerifyReport {
    /// The report as `q-implant verify --format json` prints it.
    fn to_json(&self) -> String {
        self.report.to_json()
    }

    /// One self-contained HTML page, as `verify --format html` writes it.
    #[pyo3(signature = (title=None))]
    fn to_html(&self, title: Option<&str>) -> String {
        html::render(&self.report, title.unwrap_or(&self.title))
    }

    /// The report for people, as `verify` prints it without colour
    /// (`all`: every tensor, not only the worst).
    #[pyo3(signature = (all=false))]
    fn to_text(&self, all: bool) -> String {
        human::render(&self.report, Paint(false), all)
    }

    /// Evaluated tensors, worst first (lowest SQNR; exact ones last).
    fn worst(&self, py: Python<'_>) -> Vec<Py<TensorError>> {
        let order: Vec<(usize, usize)> = self
            .report
            .worst_first()
            .iter()
            .map(|t| (t.subgraph, t.index))
            .collect();
        order
            .iter()
            .filter_map(|key| {
                self.tensors
                    .iter()
                    .find(|t| (t.get().subgraph, t.get().index) == *key)
                    .map(|t| t.clone_ref(py))
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "<VerifyReport: {} tensors, {} outputs, {} {}samples>",
            self.tensors.len(),
            self.outputs.len(),
            self.samples,
            if self.random_inputs { "random " } else { "" }
        )
    }
}

impl VerifyReport {
    pub fn new(py: Python<'_>, outcome: VerifyOutcome, title: String) -> PyResult<VerifyReport> {
        let r = outcome.report;
        let tensors = r
            .tensors
            .iter()
            .map(|t| {
                Py::new(
                    py,
                    TensorError {
                        name: t.name.clone(),
                        subgraph: t.subgraph,
                        index: t.index,
                        dtype: t.dtype.clone(),
                        sqnr_db: t.sqnr_db,
                        max_error_steps: t.max_error_steps,
                        clipped: t.clipped,
                        mpeir: t.mpeir,
                        evaluated: t.evaluated,
                        cause: t.cause.map(cause_name),
                        explanation: t.cause.map(|c| c.explain().to_string()),
                    },
                )
            })
            .collect::<PyResult<_>>()?;
        let outputs = r
            .outputs
            .iter()
            .map(|o| {
                Py::new(
                    py,
                    OutputError {
                        name: o.name.clone(),
                        mae: o.mae,
                        max_abs_error: o.max_abs_error,
                        psnr_db: o.psnr_db,
                        sqnr_db: o.sqnr_db,
                        top1: o.top1,
                        top5: o.top5,
                    },
                )
            })
            .collect::<PyResult<_>>()?;
        let unsupported = r
            .unsupported
            .iter()
            .map(|u| {
                Py::new(
                    py,
                    Unsupported {
                        operator: u.operator.clone(),
                        index: u.index,
                        subgraph: u.subgraph,
                    },
                )
            })
            .collect::<PyResult<_>>()?;
        let output_arrays = outcome
            .outputs
            .map(|values| output_arrays(py, &r, values))
            .transpose()?;
        Ok(VerifyReport {
            samples: r.samples,
            random_inputs: r.random_inputs,
            tensors,
            outputs,
            unsupported,
            output_arrays,
            report: r,
            title,
        })
    }
}

/// The name the JSON contract gives a cause.
fn cause_name(c: Cause) -> String {
    match c {
        Cause::Clipping => "clipping",
        Cause::LargeError => "large-error",
    }
    .to_string()
}

fn output_arrays(
    py: Python<'_>,
    report: &Verified,
    values: OutputValues,
) -> PyResult<Vec<Py<OutputArrays>>> {
    let list = |tensors: Option<Vec<Tensor>>| -> PyResult<Option<Py<PyList>>> {
        tensors
            .map(|ts| {
                let arrays = ts
                    .iter()
                    .map(|t| array(py, t))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, arrays)?.unbind())
            })
            .transpose()
    };
    values
        .into_iter()
        .enumerate()
        .map(|(k, (float, quantized))| {
            let name = report
                .outputs
                .get(k)
                .map_or_else(|| format!("output {k}"), |o| o.name.clone());
            Py::new(
                py,
                OutputArrays {
                    name,
                    float: list(float)?,
                    quantized: list(quantized)?,
                },
            )
        })
        .collect()
}

/// A tensor as a new numpy array of its own type.
fn array<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let (descr, bytes): (&str, Vec<u8>) = match &t.data {
        Data::F32(v) => ("<f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Data::I32(v) => ("<i4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Data::I64(v) => ("<i8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Data::Bool(v) => ("|b1", v.iter().map(|&b| u8::from(b)).collect()),
    };
    new_array(py, descr, &t.shape, &bytes)
}
