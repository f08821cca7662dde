//! What the commands return, as typed objects: a check's [`Report`] of
//! [`Diagnostic`]s, a fix's [`FixReport`], an apply's [`ApplyReport`].

use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::PyList;

use q_implant::analysis::Analysis;
use q_implant::commands::Settings;
use q_implant::diagnostic::Severity;
use q_implant::implant::Change as Changed;
use q_implant::plan::Source;
use q_implant::report::{self, Format, Sources, Style, View};

/// One finding.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Diagnostic {
    /// The rule's stable code, e.g. `Q501`.
    pub code: String,
    /// The rule's name, e.g. `unknown-tensor`.
    pub name: String,
    /// `error` or `warning`.
    pub severity: String,
    /// The key of the set the finding is about, if any.
    pub key: Option<String>,
    /// The field (`dtype`, `scale`, `zerop`, `quantized_dimension`, `value`).
    pub field: Option<String>,
    /// The model's tensor the finding is about, if any.
    pub tensor: Option<String>,
    pub message: String,
    pub help: Option<String>,
    /// 1-based line and column in qparam.json; None for a set in memory.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Tensors a key may mean, best first, with the matcher's confidence.
    pub suggestions: Vec<(String, f64)>,
    /// Whether `fix` resolves it.
    pub fixable: bool,
}

#[pymethods]
impl Diagnostic {
    fn __repr__(&self) -> String {
        format!(
            "<Diagnostic {} {} {}>",
            self.code,
            self.severity,
            self.key.as_deref().or(self.tensor.as_deref()).unwrap_or("")
        )
    }
}

/// The findings of a check, as the report shows them (after `select` and
/// `ignore`).
#[pyclass(frozen, module = "q_implant")]
pub struct Report {
    diagnostics: Vec<Py<Diagnostic>>,
    /// Errors shown.
    #[pyo3(get)]
    errors: usize,
    /// Warnings shown.
    #[pyo3(get)]
    warnings: usize,
    /// Findings `select`/`ignore` hide.
    #[pyo3(get)]
    hidden: usize,
    /// Shown findings `fix` resolves.
    #[pyo3(get)]
    fixable: usize,
    json: String,
}

#[pymethods]
impl Report {
    #[getter]
    fn diagnostics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.diagnostics.iter().map(|d| d.clone_ref(py)))
    }

    /// No errors shown.
    #[getter]
    fn ok(&self) -> bool {
        self.errors == 0
    }

    /// The report as `q-implant check --format json` prints it.
    fn to_json(&self) -> String {
        self.json.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Report: {} errors, {} warnings, {} hidden>",
            self.errors, self.warnings, self.hidden
        )
    }

    fn __len__(&self) -> usize {
        self.diagnostics.len()
    }
}

impl Report {
    pub fn new(
        py: Python<'_>,
        analysis: &Analysis,
        settings: &Settings,
        model: &Path,
        qparam: &Path,
    ) -> PyResult<Report> {
        let view = View::new(analysis, &settings.filter);
        let sources = Sources { model, qparam };
        let json = report::render(&view, &sources, Format::Json, &Style::default());
        let q = &analysis.qparam;
        let diagnostics = view
            .shown
            .iter()
            .map(|d| {
                let place = d.span.as_ref().and_then(|s| q.place(s.start));
                Py::new(
                    py,
                    Diagnostic {
                        code: d.code().to_string(),
                        name: d.rule.name.to_string(),
                        severity: d.severity.name().to_string(),
                        key: d.key.clone(),
                        field: d.field.map(String::from),
                        tensor: d.tensor.clone(),
                        message: d.message.clone(),
                        help: d.help.clone(),
                        line: place.map(|p| p.0),
                        column: place.map(|p| p.1),
                        suggestions: d
                            .suggestions
                            .iter()
                            .map(|s| (s.name.clone(), s.shown_confidence()))
                            .collect(),
                        fixable: d.fixable,
                    },
                )
            })
            .collect::<PyResult<_>>()?;
        Ok(Report {
            diagnostics,
            errors: view.count(Severity::Error),
            warnings: view.count(Severity::Warning),
            hidden: view.hidden,
            fixable: view.fixable(),
            json,
        })
    }
}

/// One change a fix made, or a key it left as it was, and why.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Fix {
    /// The key (for an added entry, the tensor it names).
    pub key: String,
    /// What was done (renamed, removed, repaired, added) and why; for a
    /// key left alone, why.
    pub what: String,
}

#[pymethods]
impl Fix {
    fn __repr__(&self) -> String {
        format!("<Fix {}: {}>", self.key, self.what)
    }
}

pub fn fixes(py: Python<'_>, list: &[q_implant::fix::Fixed]) -> PyResult<Vec<Py<Fix>>> {
    list.iter()
        .map(|f| {
            Py::new(
                py,
                Fix {
                    key: f.key.clone(),
                    what: f.what.clone(),
                },
            )
        })
        .collect()
}

/// What `fix` did, and the findings that remain.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct FixReport {
    /// Each change, in the order made.
    pub fixed: Vec<Py<Fix>>,
    /// Keys left as they were, with the reason.
    pub left: Vec<Py<Fix>>,
    /// The findings of the fixed set.
    pub report: Py<Report>,
    /// The fixed set: the path of the fixed qparam.json, or for a set given
    /// as a mapping, a new dict (the arrays it kept are the caller's own).
    pub qparam: Py<PyAny>,
    /// The file written (None when nothing was fixed, or for a mapping).
    pub written: Option<String>,
    /// The original, kept when a file was fixed in place.
    pub backup: Option<String>,
    /// What `calibrate` did; None without it.
    pub calibration: Option<Py<Calibration>>,
}

/// What calibration did: the samples the model ran on, the method, how
/// many tensors it gave parameters, and why they may be poor.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Calibration {
    /// Samples the model ran on.
    pub samples: usize,
    /// Whether they were drawn at random (no samples were given).
    pub random: bool,
    /// How per-sample ranges were reduced, in words (`percentiles 1/99`).
    pub method: String,
    /// Tensors given parameters from their ranges.
    pub calibrated: usize,
    /// Why the calibration may be poor (few samples, random inputs).
    pub warnings: Vec<String>,
}

#[pymethods]
impl Calibration {
    fn __repr__(&self) -> String {
        format!(
            "<Calibration: {} tensors from {} {}samples ({})>",
            self.calibrated,
            self.samples,
            if self.random { "random " } else { "" },
            self.method
        )
    }
}

pub fn calibration(
    py: Python<'_>,
    done: Option<&q_implant::fix::Calibration>,
) -> PyResult<Option<Py<Calibration>>> {
    done.map(|c| {
        Py::new(
            py,
            Calibration {
                samples: c.samples,
                random: c.random,
                method: c.method.describe(),
                calibrated: c.calibrated,
                warnings: c.warnings.clone(),
            },
        )
    })
    .transpose()
}

#[pymethods]
impl FixReport {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<FixReport: {} fixed, {} left; {}>",
            self.fixed.len(),
            self.left.len(),
            self.report.borrow(py).__repr__()
        )
    }
}

/// One tensor `apply` retyped.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Change {
    pub tensor: String,
    /// Its type before and after (`float32` -> `uint8`).
    pub dtype_before: String,
    pub dtype_after: String,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The entry that gave it its parameters; None when propagated.
    pub key: Option<String>,
    /// For a propagated tensor: the tensor whose parameters it takes, and
    /// the operator it takes them through.
    pub propagated_from: Option<String>,
    pub through: Option<String>,
}

#[pymethods]
impl Change {
    fn __repr__(&self) -> String {
        format!(
            "<Change {}: {} -> {}>",
            self.tensor, self.dtype_before, self.dtype_after
        )
    }
}

pub fn changes(py: Python<'_>, list: &[Changed]) -> PyResult<Vec<Py<Change>>> {
    list.iter()
        .map(|c| {
            let (key, from, through) = match &c.source {
                Source::Entry { key } => (Some(key.clone()), None, None),
                Source::Propagated { from, op } => (None, Some(from.clone()), Some(op.clone())),
            };
            Py::new(
                py,
                Change {
                    tensor: c.name.clone(),
                    dtype_before: c.from.to_ascii_lowercase(),
                    dtype_after: c.to.to_ascii_lowercase(),
                    bytes_before: c.bytes_before,
                    bytes_after: c.bytes_after,
                    key,
                    propagated_from: from,
                    through,
                },
            )
        })
        .collect()
}

/// What `apply` wrote (or with `dry_run`, would write).
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct ApplyReport {
    /// The output model's path.
    pub output: String,
    /// False for a dry run: nothing was written.
    pub written: bool,
    /// Bytes written, and the layout (`plain` or `large`); None for a dry run.
    pub bytes: Option<u64>,
    pub layout: Option<String>,
    /// Every tensor retyped.
    pub changes: Vec<Py<Change>>,
    /// The QUANTIZE/DEQUANTIZE operators inserted, described.
    pub inserted: Vec<String>,
    /// The findings (warnings; errors refuse the write).
    pub report: Py<Report>,
}

#[pymethods]
impl ApplyReport {
    fn __repr__(&self) -> String {
        format!(
            "<ApplyReport: {} tensors{} {}>",
            self.changes.len(),
            if self.written {
                " written to"
            } else {
                " would change; dry run for"
            },
            self.output
        )
    }
}
