//! The keyword arguments `check`, `fix` and `apply` share, as the
//! library's [`Overrides`]: what is left as `None` comes from the
//! configuration file, as on the command line.

use std::path::PathBuf;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

use q_implant::analysis::{Fallback, Target};
use q_implant::calibrate::RunRequest;
use q_implant::commands::{ConfigSource, Overrides, TargetChoice};

/// The shared keyword arguments, as Python gave them.
pub struct Options<'py> {
    pub target: Option<Bound<'py, PyAny>>,
    pub select: Option<Bound<'py, PyAny>>,
    pub ignore: Option<Bound<'py, PyAny>>,
    pub allow_float: Option<Bound<'py, PyAny>>,
    pub propagate: Option<bool>,
    pub float_io: Option<bool>,
    /// None reads the configuration found, as True does.
    pub config: Option<Bound<'py, PyAny>>,
    pub allow_outside_paths: bool,
    /// `"float"`: what the target has no quantized kernel for runs in
    /// float; None leaves it to the configuration file.
    pub fallback: Option<Bound<'py, PyAny>>,
    /// Running the float model: to map keys by value, to calibrate.
    pub run: RunRequest,
}

impl Options<'_> {
    pub fn run(&self) -> RunRequest {
        self.run.clone()
    }

    pub fn overrides(&self) -> PyResult<Overrides> {
        Ok(Overrides {
            select: codes(self.select.as_ref(), "select")?,
            ignore: codes(self.ignore.as_ref(), "ignore")?,
            allow_float: names(self.allow_float.as_ref())?,
            allow_outside_paths: self.allow_outside_paths,
            propagate: self.propagate,
            float_io: self.float_io,
            target: target(self.target.as_ref())?,
            fallback: fallback(self.fallback.as_ref())?,
            config: config(self.config.as_ref())?,
        })
    }
}

/// `select`/`ignore`: a list of codes, prefixes or rule names, or one
/// string of them separated by commas (as on the command line).
fn codes(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s
            .to_cow()?
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect());
    }
    value.extract::<Vec<String>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} takes codes, prefixes or rule names: a list of strings, or one string separated by commas"
        ))
    })
}

/// `allow_float`: tensor names (one string is one name: names may hold
/// commas).
fn names(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(vec![s.to_cow()?.into_owned()]);
    }
    value
        .extract::<Vec<String>>()
        .map_err(|_| PyTypeError::new_err("allow_float takes tensor names: a list of strings"))
}

/// `target`: None (the configuration's), False (none at all) or a name.
fn target(value: Option<&Bound<'_, PyAny>>) -> PyResult<TargetChoice> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(TargetChoice::FromConfig);
    };
    if let Ok(b) = value.cast::<PyBool>() {
        if !b.is_true() {
            return Ok(TargetChoice::Off);
        }
    }
    let name: String = value.extract().map_err(|_| {
        PyTypeError::new_err("target takes a runtime's name (\"onert\"), None or False")
    })?;
    match Target::parse(&name) {
        Some(t) => Ok(TargetChoice::On(t)),
        None => Err(PyValueError::new_err(format!(
            "there is no target `{name}`; the targets are: onert"
        ))),
    }
}

/// `config`: True (look for one; None too), False (read none) or a file's
/// path.
fn config(value: Option<&Bound<'_, PyAny>>) -> PyResult<ConfigSource> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(ConfigSource::Discover);
    };
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(if b.is_true() {
            ConfigSource::Discover
        } else {
            ConfigSource::Isolated
        });
    }
    let path: PathBuf = value.extract().map_err(|_| {
        PyTypeError::new_err("config takes True, False or the path of a configuration file")
    })?;
    Ok(ConfigSource::File(path))
}

/// `fallback`: `"float"`, or None for the configuration's.
fn fallback(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Fallback>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let name: String = value
        .extract()
        .map_err(|_| PyTypeError::new_err("fallback takes a string: \"float\""))?;
    Fallback::parse(&name).map(Some).ok_or_else(|| {
        PyValueError::new_err(format!(
            "there is no fallback `{name}`; the fallbacks are: float"
        ))
    })
}
