//! A qparam set given as a mapping, `{name: {"dtype": "uint8", "scale":
//! array, "zerop": array, "quantized_dimension": 0, "value": array}}` (and
//! `"block_size": 32` for block-wise entries, an integer like
//! `quantized_dimension`), as the library's [`MemorySet`], and a set in
//! memory back as a dict.
//!
//! Arrays are numpy arrays or anything with `__array__`. A C-contiguous
//! array is shared, not copied: the set keeps a reference to it and reads
//! its memory where numpy keeps it (through `__array_interface__`, which
//! the limited API allows); any other layout is copied to C order first,
//! as `np.save` would write it. Values that are not what a field takes are
//! kept with their kind, so the check reports them as it would in a file.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyMapping, PyString, PyTuple};

use q_implant::files::SharedBytes;
use q_implant::qparam::{MemoryEntry, MemorySet, MemoryValue};

use crate::errors::BadMapping;

/// The fields whose values are arrays.
const ARRAY_FIELDS: [&str; 3] = ["scale", "zerop", "value"];

/// A caller's array, kept alive while its memory is read.
struct ArrayMemory {
    array: Py<PyAny>,
    /// Where numpy keeps the elements (an address, so that the owner is
    /// `Send` without a raw pointer).
    address: usize,
    len: usize,
}

impl AsRef<[u8]> for ArrayMemory {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `address` is the data pointer numpy gave for `array`,
        // which holds `len` bytes (its `nbytes`) in C order. The reference
        // in `array` keeps the array, and so its memory, alive; numpy
        // refuses to resize an array that others refer to. The caller
        // must not write to the array while q-implant reads it (as with
        // any function that releases the GIL).
        unsafe { std::slice::from_raw_parts(self.address as *const u8, self.len) }
    }
}

/// A value of the caller's kept for the set (returned as it was).
struct Kept(Py<PyAny>);

/// The set a mapping describes.
pub fn from_mapping(mapping: &Bound<'_, PyMapping>) -> Result<MemorySet, PyErr> {
    let mut entries = Vec::new();
    for item in mapping.items()?.iter() {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let key = name(&key, "the keys of a qparam mapping are tensor names")?;
        let entry = match value.cast::<PyMapping>() {
            Ok(fields) => {
                let mut out = Vec::new();
                for f in fields.items()?.iter() {
                    let (field, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = f.extract()?;
                    let field = name(&field, "the fields of an entry are named by strings")?;
                    let v = if ARRAY_FIELDS.contains(&field.as_str()) {
                        array_or_value(&v)?
                    } else {
                        plain(&v)?
                    };
                    out.push((field, v));
                }
                MemoryEntry::Fields(out)
            }
            Err(_) => MemoryEntry::Value(plain(&value)?),
        };
        entries.push((key, entry));
    }
    Ok(MemorySet { entries })
}

fn name(obj: &Bound<'_, PyAny>, rule: &str) -> Result<String, PyErr> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(BadMapping {
            what: format!("{rule}, not {}", kind(obj)),
            help: "use str keys, as in qparam.json".into(),
        }
        .into_err(obj.py())),
    }
}

impl BadMapping {
    pub fn into_err(self, py: Python<'_>) -> PyErr {
        crate::errors::Failure::from(self).into_py(py)
    }
}

/// An array field's value: an array if it is one.
pub fn array_or_value(obj: &Bound<'_, PyAny>) -> Result<MemoryValue, PyErr> {
    if obj.is_instance_of::<PyString>() || !obj.hasattr("__array__")? {
        return plain(obj);
    }
    let mut array = obj.call_method0("__array__")?;
    let mut interface = array.getattr("__array_interface__")?;
    if !interface.get_item("strides")?.is_none() {
        // Not C-contiguous: a copy in C order, as np.save would write it.
        let order = PyDict::new(obj.py());
        order.set_item("order", "C")?;
        array = array.call_method("copy", (), Some(&order))?;
        interface = array.getattr("__array_interface__")?;
    }
    let descr: String = interface.get_item("typestr")?.extract()?;
    let shape: Vec<usize> = interface.get_item("shape")?.extract()?;
    let (address, _readonly): (usize, bool) = interface.get_item("data")?.extract()?;
    let len: usize = array.getattr("nbytes")?.extract()?;
    let memory = ArrayMemory {
        array: array.unbind(),
        address,
        len,
    };
    Ok(MemoryValue::Array {
        descr,
        fortran_order: false,
        shape,
        bytes: SharedBytes::new(memory),
    })
}

/// Any other value: a string, an integer, or something of another kind.
fn plain(obj: &Bound<'_, PyAny>) -> Result<MemoryValue, PyErr> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(MemoryValue::Text(s.to_cow()?.into_owned()));
    }
    // numpy's integers (and 0-d integer arrays) are integers too; its
    // booleans (`bool_`, or `bool` in numpy 2) are not, as Python's are not.
    let is_bool =
        obj.is_instance_of::<PyBool>() || matches!(type_name(obj)?.as_str(), "bool" | "bool_");
    if !is_bool && obj.hasattr("__index__")? {
        let int = obj.call_method0("__index__")?;
        return Ok(MemoryValue::Integer(int.str()?.to_cow()?.into_owned()));
    }
    Ok(MemoryValue::Other {
        kind: kind(obj),
        given: Arc::new(Kept(obj.clone().unbind())),
    })
}

fn type_name(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(obj.get_type().name()?.to_cow()?.into_owned())
}

/// What kind of value `obj` is, in Python's words, for messages.
pub fn kind(obj: &Bound<'_, PyAny>) -> String {
    if obj.is_none() {
        return "None".into();
    }
    if obj.is_instance_of::<PyBool>() {
        return "a bool".into();
    }
    if obj.is_instance_of::<PyFloat>() {
        return "a float".into();
    }
    if obj.is_instance_of::<PyList>() {
        return "a list".into();
    }
    if obj.is_instance_of::<PyTuple>() {
        return "a tuple".into();
    }
    if obj.cast::<PyMapping>().is_ok() {
        return "a mapping".into();
    }
    if obj.hasattr("__array_interface__").unwrap_or(false) {
        return "an array".into();
    }
    match type_name(obj) {
        Ok(name) => format!("a value of type {name}"),
        Err(_) => "a value of unknown type".into(),
    }
}

/// A set in memory as a dict: the caller's own arrays and values where the
/// set still holds them, new numpy arrays for the ones a fix made.
pub fn to_dict<'py>(py: Python<'py>, set: &MemorySet) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (key, entry) in &set.entries {
        match entry {
            MemoryEntry::Fields(fields) => {
                let d = PyDict::new(py);
                for (name, value) in fields {
                    d.set_item(name, to_object(py, value)?)?;
                }
                out.set_item(key, d)?;
            }
            MemoryEntry::Value(v) => out.set_item(key, to_object(py, v)?)?,
        }
    }
    Ok(out)
}

fn to_object<'py>(py: Python<'py>, value: &MemoryValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        MemoryValue::Array {
            descr,
            shape,
            bytes,
            ..
        } => match bytes.owner().downcast_ref::<ArrayMemory>() {
            Some(memory) => memory.array.bind(py).clone(),
            None => new_array(py, descr, shape, bytes.as_slice())?,
        },
        MemoryValue::Text(t) => PyString::new(py, t).into_any(),
        MemoryValue::Integer(digits) => py
            .get_type::<pyo3::types::PyInt>()
            .call1((digits.as_str(),))?,
        MemoryValue::Other { given, .. } => match given.downcast_ref::<Kept>() {
            Some(kept) => kept.0.bind(py).clone(),
            None => py.None().into_bound(py),
        },
    })
}

/// A new numpy array of `descr` and `shape` holding a copy of `data`.
pub fn new_array<'py>(
    py: Python<'py>,
    descr: &str,
    shape: &[usize],
    data: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let numpy = py.import("numpy")?;
    let bytes = pyo3::types::PyBytes::new(py, data);
    let flat = numpy.call_method1("frombuffer", (bytes, descr))?;
    flat.call_method1("reshape", (PyTuple::new(py, shape)?,))?
        .call_method0("copy")
}
