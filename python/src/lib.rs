//! The `q_implant` Python module (its native part, `q_implant._native`):
//! q-implant's commands as functions with keyword arguments that return
//! typed objects and print nothing, and the command line for the wheel's
//! `q-implant` entry point. The Python package (`python/q_implant/`)
//! re-exports it; `docs/python.md` describes it.
//!
//! Each command is a small function here over the library's command of the
//! same name ([`commands`]); a new command adds one function and its
//! result's class.

mod commands;
mod errors;
mod model;
mod options;
mod report;
mod set;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use pyo3::prelude::*;

use commands::{ApplyOptions, Given};
use options::Options;

/// Checks a qparam set against a model and returns every finding.
#[pyfunction]
#[pyo3(signature = (model, qparam, *, target=None, select=None, ignore=None, allow_float=None, propagate=None, float_io=None, config=None, allow_outside_paths=false, fallback=None), text_signature = "(model, qparam, *, target=None, select=None, ignore=None, allow_float=(), propagate=None, float_io=None, config=True, allow_outside_paths=False, fallback=None)")]
#[allow(clippy::too_many_arguments)]
fn check<'py>(
    py: Python<'py>,
    model: PathBuf,
    qparam: &Bound<'py, PyAny>,
    target: Option<Bound<'py, PyAny>>,
    select: Option<Bound<'py, PyAny>>,
    ignore: Option<Bound<'py, PyAny>>,
    allow_float: Option<Bound<'py, PyAny>>,
    propagate: Option<bool>,
    float_io: Option<bool>,
    config: Option<Bound<'py, PyAny>>,
    allow_outside_paths: bool,
    fallback: Option<Bound<'py, PyAny>>,
) -> PyResult<report::Report> {
    let options = Options {
        target,
        select,
        ignore,
        allow_float,
        propagate,
        float_io,
        config,
        allow_outside_paths,
        fallback,
        run: Default::default(),
    };
    commands::check(py, model, Given::from_py(qparam)?, options)
}

/// Fixes what is certain in a qparam set (renames, repairs, additions) and
/// returns what was done and the findings that remain.
#[pyfunction]
#[pyo3(signature = (model, qparam, *, target=None, select=None, ignore=None, allow_float=None, propagate=None, float_io=None, config=None, allow_outside_paths=false, fallback=None, output=None), text_signature = "(model, qparam, *, target=None, select=None, ignore=None, allow_float=(), propagate=None, float_io=None, config=True, allow_outside_paths=False, fallback=None, output=None)")]
#[allow(clippy::too_many_arguments)]
fn fix<'py>(
    py: Python<'py>,
    model: PathBuf,
    qparam: &Bound<'py, PyAny>,
    target: Option<Bound<'py, PyAny>>,
    select: Option<Bound<'py, PyAny>>,
    ignore: Option<Bound<'py, PyAny>>,
    allow_float: Option<Bound<'py, PyAny>>,
    propagate: Option<bool>,
    float_io: Option<bool>,
    config: Option<Bound<'py, PyAny>>,
    allow_outside_paths: bool,
    fallback: Option<Bound<'py, PyAny>>,
    output: Option<PathBuf>,
) -> PyResult<report::FixReport> {
    let options = Options {
        target,
        select,
        ignore,
        allow_float,
        propagate,
        float_io,
        config,
        allow_outside_paths,
        fallback,
        run: Default::default(),
    };
    let given = (Given::from_py(qparam)?, qparam.clone().unbind());
    commands::fix(py, model, given, options, output)
}

/// Checks a qparam set and, if it has no errors, writes the quantized model
/// to `out`; otherwise raises `CheckFailed` and writes nothing.
#[pyfunction]
#[pyo3(signature = (model, qparam, out, *, target=None, select=None, ignore=None, allow_float=None, propagate=None, float_io=None, config=None, allow_outside_paths=false, fallback=None, layout="auto", force=false, dry_run=false, deny_warnings=false), text_signature = "(model, qparam, out, *, target=None, select=None, ignore=None, allow_float=(), propagate=None, float_io=None, config=True, allow_outside_paths=False, fallback=None, layout='auto', force=False, dry_run=False, deny_warnings=False)")]
#[allow(clippy::too_many_arguments)]
fn apply<'py>(
    py: Python<'py>,
    model: PathBuf,
    qparam: &Bound<'py, PyAny>,
    out: PathBuf,
    target: Option<Bound<'py, PyAny>>,
    select: Option<Bound<'py, PyAny>>,
    ignore: Option<Bound<'py, PyAny>>,
    allow_float: Option<Bound<'py, PyAny>>,
    propagate: Option<bool>,
    float_io: Option<bool>,
    config: Option<Bound<'py, PyAny>>,
    allow_outside_paths: bool,
    fallback: Option<Bound<'py, PyAny>>,
    layout: &str,
    force: bool,
    dry_run: bool,
    deny_warnings: bool,
) -> PyResult<report::ApplyReport> {
    let options = Options {
        target,
        select,
        ignore,
        allow_float,
        propagate,
        float_io,
        config,
        allow_outside_paths,
        fallback,
        run: Default::default(),
    };
    let apply = ApplyOptions {
        output: out,
        layout: commands::parse_layout(layout)?,
        force,
        dry_run,
        deny_warnings,
    };
    commands::apply(py, model, Given::from_py(qparam)?, options, apply)
}

/// Lists a model's subgraphs, tensors (name, type, shape, quantization)
/// and operators.
#[pyfunction]
fn inspect(py: Python<'_>, model: PathBuf) -> PyResult<model::Model> {
    commands::inspect(py, model)
}

/// Runs the command line with `argv` (the program's name first) and
/// returns its exit code; the `q-implant` entry point calls it.
#[pyfunction]
fn _run_cli(py: Python<'_>, argv: Vec<OsString>) -> PyResult<u8> {
    let code = commands::detached(py, "the command line", || Ok(q_implant::cli::main(argv)))?;
    // The command line ends with 0, 1 or 2.
    Ok((0..=2).find(|&c| ExitCode::from(c) == code).unwrap_or(2))
}

/// Panics inside a command's guard, as a bug would: for the test suite,
/// which holds that a panic reaches Python as `q_implant.Error`.
#[pyfunction]
fn _panic_in_a_command(py: Python<'_>) -> PyResult<()> {
    commands::detached(
        py,
        "a test of the panic guard",
        || -> Result<(), errors::Failure> { panic!("a panic on purpose") },
    )
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("ModelError", py.get_type::<errors::ModelError>())?;
    m.add("QParamError", py.get_type::<errors::QParamError>())?;
    m.add("CheckFailed", py.get_type::<errors::CheckFailed>())?;
    m.add_class::<report::Report>()?;
    m.add_class::<report::Diagnostic>()?;
    m.add_class::<report::FixReport>()?;
    m.add_class::<report::Fix>()?;
    m.add_class::<report::ApplyReport>()?;
    m.add_class::<report::Change>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<model::Subgraph>()?;
    m.add_class::<model::Tensor>()?;
    m.add_class::<model::Operator>()?;
    m.add_class::<model::Quantization>()?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(fix, m)?)?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(_run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_in_a_command, m)?)?;
    Ok(())
}
