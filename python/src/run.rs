//! What `check` and `fix` may run the float model for (to map keys by
//! value, to calibrate), from their keyword arguments, as the library's
//! [`RunRequest`]; the command line's `--input`, `--no-run`,
//! `--calibrate` and `--calibration`.

use std::path::PathBuf;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString, PyTuple};

use q_implant::calibrate::{reduce, CalibrateRequest, Method, RunRequest};

use crate::samples::{self, Inputs};

/// The keyword arguments, as Python gave them.
#[derive(Default)]
pub struct RunArgs<'py> {
    pub inputs: Option<Bound<'py, PyAny>>,
    pub no_run: bool,
    /// `fix` only: None or False (no calibration), True (`inputs`' samples,
    /// or random ones), or paths of samples.
    pub calibrate: Option<Bound<'py, PyAny>>,
    pub calibration: Option<String>,
}

impl RunArgs<'_> {
    pub fn request(&self) -> PyResult<RunRequest> {
        let inputs = samples::inputs(self.inputs.as_ref())?;
        let calibrate = calibrate(self.calibrate.as_ref())?;
        if self.no_run && !inputs.is_empty() {
            return Err(PyValueError::new_err(
                "no_run never runs the model, so it takes no inputs; leave one of them out",
            ));
        }
        if self.no_run && calibrate.is_some() {
            return Err(PyValueError::new_err(
                "no_run never runs the model, and calibrate must; leave one of them out",
            ));
        }
        let method = match (&self.calibration, &calibrate) {
            (None, _) => reduce::PERCENTILE,
            (Some(_), None) => {
                return Err(PyValueError::new_err(
                    "calibration says how calibrate reduces the ranges it records; give calibrate=True (or sample paths) with it",
                ))
            }
            (Some(name), Some(_)) => method(name)?,
        };
        let (paths, arrays) = match inputs {
            Inputs::Paths(p) => (p, Vec::new()),
            Inputs::Arrays(a) => (Vec::new(), a),
        };
        Ok(RunRequest {
            no_run: self.no_run,
            inputs: paths,
            arrays,
            calibrate: calibrate.map(|samples| CalibrateRequest { samples, method }),
        })
    }
}

/// `calibrate`: None/False, True, or paths (one, or a list).
fn calibrate(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<PathBuf>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(b.is_true().then(Vec::new));
    }
    let wrong = || {
        PyTypeError::new_err(
            "calibrate takes True (inputs' samples, or random ones), False, or the paths of sample files or directories (.npy, .npz); arrays go in inputs",
        )
    };
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__")? {
        return Ok(Some(vec![value.extract().map_err(|_| wrong())?]));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let paths: Vec<PathBuf> = value.extract().map_err(|_| wrong())?;
        return Ok(Some(paths));
    }
    Err(wrong())
}

/// `calibration`: how per-sample ranges are reduced, by the command
/// line's names.
fn method(name: &str) -> PyResult<Method> {
    match name {
        "percentile" => Ok(reduce::PERCENTILE),
        "minmax" => Ok(Method::MinMax),
        "moving-average" => Ok(reduce::MOVING_AVERAGE),
        other => Err(PyValueError::new_err(format!(
            "there is no calibration `{other}`; the calibrations are: percentile, minmax, moving-average"
        ))),
    }
}
