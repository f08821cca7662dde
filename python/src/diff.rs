//! `diff`: two parameter sets compared key by key; each side a path (a
//! qparam.json, the directory holding one, or a .circle model) or a set
//! held in memory (a mapping, as `check` takes).

use std::path::{Path, PathBuf};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};

use q_implant::commands::{self, DiffOutcome, Silent};
use q_implant::diff::{Side, Tolerance};
use q_implant::qparam::{LoadOptions, MemorySet};
use q_implant::report::diff as said;
use q_implant::report::Style;

use crate::commands::detached;
use crate::errors::Failure;
use crate::set;

/// One key that differs.
#[pyclass(frozen, module = "q_implant", get_all)]
pub struct Difference {
    pub key: String,
    /// How it differs: `only_in_a`, `only_in_b`, `dtype`,
    /// `quantized_dimension`, `scale`, `zero_point`, `values`.
    pub kinds: Vec<String>,
    /// Each kind's details, as the JSON document holds them (a dict).
    pub details: Py<PyAny>,
}

#[pymethods]
impl Difference {
    fn __repr__(&self) -> String {
        format!("<Difference {}: {}>", self.key, self.kinds.join(", "))
    }
}

/// What differs between two sets; false when they are the same.
#[pyclass(frozen, module = "q_implant")]
pub struct Diff {
    /// Worst first.
    #[pyo3(get)]
    differences: Vec<Py<Difference>>,
    /// Keys that are the same on both sides.
    #[pyo3(get)]
    same: usize,
    json: String,
    text: String,
}

#[pymethods]
impl Diff {
    /// The document `q-implant diff --format json` prints.
    fn to_json(&self) -> String {
        self.json.clone()
    }

    /// The differences for people, as `diff` prints them without colour.
    fn to_text(&self) -> String {
        self.text.clone()
    }

    fn __bool__(&self) -> bool {
        !self.differences.is_empty()
    }

    fn __len__(&self) -> usize {
        self.differences.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Diff: {} keys differ, {} the same>",
            self.differences.len(),
            self.same
        )
    }
}

/// A side as given: a path, or a set in memory named for messages.
enum Given {
    Path(PathBuf),
    Memory(MemorySet, &'static str),
}

/// Side `which` (`a` or `b`); a mapping is named `name` in messages.
fn side(value: &Bound<'_, PyAny>, which: &str, name: &'static str) -> PyResult<Given> {
    if let Ok(mapping) = value.cast::<PyMapping>() {
        return Ok(Given::Memory(set::from_mapping(mapping)?, name));
    }
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__")? {
        return Ok(Given::Path(value.extract()?));
    }
    Err(PyTypeError::new_err(format!(
        "{which} takes a qparam.json, the directory holding one, a .circle model, or a mapping of entries; not {}",
        set::kind(value)
    )))
}

impl Given {
    fn open(&self, load: &LoadOptions) -> Result<Side, Failure> {
        Ok(match self {
            Given::Path(p) => Side::open(p, load.clone())?,
            Given::Memory(set, which) => Side::memory(set, Path::new(which), load.clone())?,
        })
    }
}

/// Compares two parameter sets key by key; each a qparam.json, the
/// directory holding one, a .circle model, or a mapping.
#[pyfunction]
#[pyo3(signature = (a, b, *, rtol=None, allow_outside_paths=false))]
pub fn diff(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    rtol: Option<f64>,
    allow_outside_paths: bool,
) -> PyResult<Diff> {
    run(py, (a, b), rtol, allow_outside_paths)
}

fn run(
    py: Python<'_>,
    (a, b): (&Bound<'_, PyAny>, &Bound<'_, PyAny>),
    rtol: Option<f64>,
    allow_outside_paths: bool,
) -> PyResult<Diff> {
    let rtol = rtol.unwrap_or(0.0);
    if !(rtol.is_finite() && rtol >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "rtol is a finite number, 0 or more (1e-6 for one part in a million), not {rtol}"
        )));
    }
    let a = side(a, "a", "qparam mapping a")?;
    let b = side(b, "b", "qparam mapping b")?;
    let load = LoadOptions {
        allow_outside_paths,
        ..Default::default()
    };
    let outcome = detached(py, "diff", || {
        let (a, b) = (a.open(&load)?, b.open(&load)?);
        Ok(commands::compare_sides(
            &a,
            &b,
            Tolerance { rtol },
            &Silent,
        )?)
    })?;
    answer(py, &outcome)
}

fn answer(py: Python<'_>, outcome: &DiffOutcome) -> PyResult<Diff> {
    let json = said::json(outcome);
    // Each difference's details as the document holds them.
    let doc = py.import("json")?.call_method1("loads", (json.as_str(),))?;
    let listed = doc.get_item("differences")?;
    let differences = outcome
        .comparison
        .differences
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let details = listed.get_item(i)?;
            for field in ["key", "kinds"] {
                details.del_item(field)?;
            }
            Py::new(
                py,
                Difference {
                    key: d.key.clone(),
                    kinds: d.kinds.iter().map(|k| k.name().to_string()).collect(),
                    details: details.unbind(),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    Ok(Diff {
        differences,
        same: outcome.comparison.same,
        json,
        text: said::human(outcome, &Style::default()),
    })
}
