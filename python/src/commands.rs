//! The commands as Python functions. Each resolves its settings, then does
//! its work with the GIL released (other Python threads run meanwhile),
//! and turns a panic into an `Error` instead of letting it reach Python.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyMapping;

use q_implant::commands::{self, ApplyRequest, CheckRequest, Outcome, Settings, Silent};
use q_implant::model::Layout;
use q_implant::qparam::MemorySet;
use q_implant::report::apply as said;

use crate::errors::{CheckFailed, Failure};
use crate::model::Model;
use crate::options::Options;
use crate::report::{changes, fixes, ApplyReport, FixReport, Report};
use crate::set;

/// How messages name a set given as a mapping, where a path would be.
const MAPPING: &str = "qparam mapping";

/// Runs `work` without the GIL, a panic caught and made an `Error`.
pub fn detached<T: Send>(
    py: Python<'_>,
    what: &str,
    work: impl FnOnce() -> Result<T, Failure> + Send,
) -> PyResult<T> {
    let result = py.detach(|| catch_unwind(AssertUnwindSafe(work)));
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failure)) => Err(failure.into_py(py)),
        Err(_) => Err(Failure::internal(what).into_py(py)),
    }
}

/// The set a `qparam` argument gives: a file, or a mapping read into memory.
pub enum Given {
    File(PathBuf),
    Memory(MemorySet),
}

impl Given {
    pub fn from_py(qparam: &Bound<'_, PyAny>) -> PyResult<Given> {
        if let Ok(mapping) = qparam.cast::<PyMapping>() {
            return Ok(Given::Memory(set::from_mapping(mapping)?));
        }
        qparam.extract::<PathBuf>().map(Given::File).map_err(|_| {
            PyTypeError::new_err(format!(
                "qparam takes the path of a qparam.json or a mapping of entries, not {}",
                set::kind(qparam)
            ))
        })
    }

    /// The settings for this set against `model`: a file's configuration is
    /// looked for from its directory, a mapping's from the working directory.
    pub fn settings(&self, options: &Options<'_>, model: &Path) -> PyResult<Settings> {
        let overrides = options.overrides()?;
        let resolved = match self {
            Given::File(path) => overrides.resolve(model, path),
            Given::Memory(_) => overrides.resolve_from(model, Path::new(".")),
        };
        resolved.map_err(|e| Failure::from(e).into())
    }

    /// How reports name the set.
    pub fn name(&self) -> &Path {
        match self {
            Given::File(path) => path,
            Given::Memory(_) => Path::new(MAPPING),
        }
    }
}

pub fn check(
    py: Python<'_>,
    model: PathBuf,
    given: Given,
    options: Options<'_>,
) -> PyResult<Report> {
    let settings = given.settings(&options, &model)?;
    let run = options.run();
    let outcome = detached(py, "check", || {
        Ok(match &given {
            Given::File(path) => commands::check(
                &CheckRequest {
                    model: &model,
                    qparam: path,
                    settings: &settings,
                    fix: None,
                    preview: false,
                    run: run.clone(),
                },
                &Silent,
            )?,
            Given::Memory(set) => {
                commands::check_memory(&model, set, given.name(), &settings, &run, &Silent)?
            }
        })
    })?;
    Report::new(py, &outcome.analysis, &settings, &model, given.name())
}

/// `fix`; `original` is the `qparam` argument, returned as the set when a
/// mapping needs no fix.
pub fn fix(
    py: Python<'_>,
    model: PathBuf,
    (given, original): (Given, Py<PyAny>),
    options: Options<'_>,
    output: Option<PathBuf>,
) -> PyResult<FixReport> {
    let settings = given.settings(&options, &model)?;
    let run = options.run();
    if let (Given::Memory(_), Some(_)) = (&given, &output) {
        return Err(PyValueError::new_err(
            "output names the file a fixed qparam.json is written to; a mapping is fixed into a new mapping (FixReport.qparam), so leave output out",
        ));
    }
    let (outcome, fixed_set) = detached(py, "fix", || {
        Ok(match &given {
            Given::File(path) => {
                let request = CheckRequest {
                    model: &model,
                    qparam: path,
                    settings: &settings,
                    fix: Some(output.as_deref()),
                    preview: false,
                    run: run.clone(),
                };
                (commands::check(&request, &Silent)?, None)
            }
            Given::Memory(set) => {
                commands::fix_memory(&model, set, given.name(), &settings, &run, &Silent)?
            }
        })
    })?;
    let report = Report::new(py, &outcome.analysis, &settings, &model, &outcome.reported)?;
    let done = outcome.fix.as_ref();
    let written = done.and_then(|f| f.written.as_ref());
    let qparam: Py<PyAny> = match (&given, fixed_set) {
        (Given::Memory(_), Some(new)) => set::to_dict(py, &new)?.into_any().unbind(),
        (Given::Memory(_), None) => original,
        (Given::File(_), _) => outcome
            .reported
            .display()
            .to_string()
            .into_pyobject(py)?
            .into_any()
            .unbind(),
    };
    Ok(FixReport {
        fixed: fixes(py, done.map_or(&[][..], |f| &f.fixed))?,
        left: fixes(py, done.map_or(&[][..], |f| &f.left))?,
        report: Py::new(py, report)?,
        qparam,
        written: written.map(|w| w.path.display().to_string()),
        backup: written
            .and_then(|w| w.backup.as_ref())
            .map(|b| b.display().to_string()),
    })
}

/// `apply`'s own keyword arguments.
pub struct ApplyOptions {
    pub output: PathBuf,
    pub layout: Layout,
    pub force: bool,
    pub dry_run: bool,
    pub deny_warnings: bool,
}

pub fn parse_layout(name: &str) -> PyResult<Layout> {
    match name {
        "auto" => Ok(Layout::Auto),
        "plain" => Ok(Layout::Plain),
        "large" => Ok(Layout::Large),
        other => Err(PyValueError::new_err(format!(
            "layout is \"auto\", \"plain\" or \"large\", not {other:?}"
        ))),
    }
}

pub fn apply(
    py: Python<'_>,
    model: PathBuf,
    given: Given,
    options: Options<'_>,
    apply: ApplyOptions,
) -> PyResult<ApplyReport> {
    let settings = given.settings(&options, &model)?;
    let outcome = detached(py, "apply", || {
        let request = ApplyRequest {
            model: &model,
            qparam: given.name(),
            output: &apply.output,
            settings: &settings,
            layout: apply.layout,
            force: apply.force,
            dry_run: apply.dry_run,
            deny_warnings: apply.deny_warnings,
        };
        Ok(match &given {
            Given::File(_) => commands::apply(&request, &Silent)?,
            Given::Memory(set) => commands::apply_memory(&request, set, &Silent)?,
        })
    })?;
    let report_of = |analysis| Report::new(py, analysis, &settings, &model, given.name());
    let output = apply.output.display().to_string();
    match outcome {
        Outcome::Refused { analysis, refusal } => {
            let report = Py::new(py, report_of(&analysis)?)?;
            let lines = said::refusal_lines(&refusal, &settings.filter, &apply.output);
            Err(refused(py, lines.join("\n"), report))
        }
        Outcome::DryRun {
            analysis,
            changes: changed,
            inserted,
        } => Ok(ApplyReport {
            output,
            written: false,
            bytes: None,
            layout: None,
            changes: changes(py, &changed)?,
            inserted,
            report: Py::new(py, report_of(&analysis)?)?,
        }),
        Outcome::Written {
            analysis,
            changes: changed,
            inserted,
            written,
        } => Ok(ApplyReport {
            output,
            written: true,
            bytes: Some(written.bytes),
            layout: Some(written.layout_name().to_string()),
            changes: changes(py, &changed)?,
            inserted,
            report: Py::new(py, report_of(&analysis)?)?,
        }),
    }
}

/// `CheckFailed` with the refusal as the command line says it, carrying
/// the report.
fn refused(py: Python<'_>, message: String, report: Py<Report>) -> PyErr {
    let err = CheckFailed::new_err(message);
    let value = err.value(py);
    let _ = value.setattr("report", report);
    let _ = value.setattr("code", "apply::refused");
    let _ = value.setattr("help", py.None());
    err
}

pub fn inspect(py: Python<'_>, model: PathBuf) -> PyResult<Model> {
    let inspected = detached(py, "inspect", || Ok(commands::inspect(&model, &Silent)?))?;
    Model::new(py, &inspected)
}
