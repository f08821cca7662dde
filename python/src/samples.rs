//! The `inputs=` argument (samples to run the model on) as the library
//! takes it: paths (`.npy`, `.npz`, directories, as on the command line),
//! or numpy arrays: one sample as a list of arrays (one per graph input),
//! a mapping of input names to arrays, or a single array (a model with one
//! input); several samples as a list of those. Arrays are shared with
//! numpy, not copied, as a set's arrays are.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyMapping, PyString, PyTuple};

use q_implant::qparam::MemoryValue;
use q_implant::samples::{MemoryArray, MemorySample};

use crate::set;

/// Samples as given: files, or arrays held in memory.
pub enum Inputs {
    Paths(Vec<PathBuf>),
    Arrays(Vec<MemorySample>),
}

impl Inputs {
    pub fn is_empty(&self) -> bool {
        match self {
            Inputs::Paths(p) => p.is_empty(),
            Inputs::Arrays(a) => a.is_empty(),
        }
    }
}

const SHAPES: &str = "inputs takes paths (.npy, .npz or directories), or numpy arrays: a list of arrays (one per graph input) or a mapping of input names to arrays for one sample, or a list of those for several";

/// `inputs`, or none.
pub fn inputs(value: Option<&Bound<'_, PyAny>>) -> PyResult<Inputs> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Inputs::Paths(Vec::new()));
    };
    if let Some(path) = path(value) {
        return Ok(Inputs::Paths(vec![path]));
    }
    if is_array(value)? || value.cast::<PyMapping>().is_ok() {
        return Ok(Inputs::Arrays(vec![sample(value, "inputs")?]));
    }
    let items = sequence(value)
        .ok_or_else(|| PyTypeError::new_err(format!("{SHAPES}; not {}", set::kind(value))))?;
    if items.is_empty() {
        return Ok(Inputs::Paths(Vec::new()));
    }
    let paths: Option<Vec<PathBuf>> = items.iter().map(path).collect();
    if let Some(paths) = paths {
        return Ok(Inputs::Paths(paths));
    }
    if items.iter().any(|i| path(i).is_some()) {
        return Err(PyTypeError::new_err(format!(
            "inputs mixes paths and arrays; give one or the other ({SHAPES})"
        )));
    }
    // A list of arrays is one sample; a list of lists or mappings is many.
    let mut arrays_only = true;
    for item in &items {
        arrays_only &= is_array(item)?;
    }
    if arrays_only {
        return Ok(Inputs::Arrays(vec![sample(value, "inputs")?]));
    }
    let samples = items
        .iter()
        .enumerate()
        .map(|(i, item)| sample(item, &format!("inputs[{i}]")))
        .collect::<PyResult<_>>()?;
    Ok(Inputs::Arrays(samples))
}

/// A path, when `value` is a `str` or an `os.PathLike`.
fn path(value: &Bound<'_, PyAny>) -> Option<PathBuf> {
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__").unwrap_or(false) {
        value.extract().ok()
    } else {
        None
    }
}

fn is_array(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(!value.is_instance_of::<PyString>() && value.hasattr("__array__")?)
}

/// The items of a list or tuple.
fn sequence<'py>(value: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = value.cast::<PyList>() {
        return Some(list.iter().collect());
    }
    value.cast::<PyTuple>().ok().map(|t| t.iter().collect())
}

/// One sample: a mapping of names to arrays, a list of arrays, or an array.
fn sample(value: &Bound<'_, PyAny>, place: &str) -> PyResult<MemorySample> {
    if let Ok(mapping) = value.cast::<PyMapping>() {
        let mut named = Vec::new();
        for item in mapping.items()?.iter() {
            let (name, array): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            let name: String = name.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "the keys of {place} are input names (str), not {}",
                    set::kind(&name)
                ))
            })?;
            let a = memory_array(&array, &format!("{place}[{name:?}]"))?;
            named.push((name, a));
        }
        return Ok(MemorySample::Named(named));
    }
    if is_array(value)? {
        return Ok(MemorySample::Positional(vec![memory_array(value, place)?]));
    }
    let items = sequence(value).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "{place} is one sample: a list of arrays (one per graph input), a mapping of input names to arrays, or an array; not {}",
            set::kind(value)
        ))
    })?;
    let arrays = items
        .iter()
        .enumerate()
        .map(|(i, a)| memory_array(a, &format!("{place}[{i}]")))
        .collect::<PyResult<_>>()?;
    Ok(MemorySample::Positional(arrays))
}

fn memory_array(value: &Bound<'_, PyAny>, place: &str) -> PyResult<MemoryArray> {
    if !is_array(value)? {
        return Err(PyTypeError::new_err(format!(
            "{place} is {}, not an array (numpy arrays or anything with __array__)",
            set::kind(value)
        )));
    }
    match set::array_or_value(value)? {
        MemoryValue::Array {
            descr,
            shape,
            bytes,
            ..
        } => Ok(MemoryArray {
            descr,
            shape,
            bytes,
        }),
        other => Err(PyTypeError::new_err(format!(
            "{place} is {}, not an array",
            other.kind()
        ))),
    }
}
