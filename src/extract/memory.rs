//! An extracted set held in memory (what the Python module returns when no
//! directory is given): the entries `write` puts in files, with the same
//! arrays (float32 1-D scales, int64 1-D zero points, a constant's data of
//! the entry's type in the tensor's shape) as bytes, in the form `check`
//! reads a set in memory.

use std::io;

use super::Extracted;
use crate::files::SharedBytes;
use crate::model::CircleFile;
use crate::qparam::{MemoryEntry, MemorySet, MemoryValue};

/// The set `set` (read from `model`) as one in memory.
pub fn to_memory(set: &Extracted, model: &CircleFile) -> io::Result<MemorySet> {
    let array = |descr: &str, shape: Vec<usize>, bytes: Vec<u8>| MemoryValue::Array {
        descr: descr.to_string(),
        fortran_order: false,
        shape,
        bytes: SharedBytes::from(bytes),
    };
    let mut entries = Vec::with_capacity(set.entries.len());
    for e in &set.entries {
        let scale: Vec<u8> = e.scale.iter().flat_map(|s| s.to_le_bytes()).collect();
        let zerop: Vec<u8> = e.zero_point.iter().flat_map(|z| z.to_le_bytes()).collect();
        let mut fields = vec![
            (
                "dtype".to_string(),
                MemoryValue::Text(e.dtype.name().into()),
            ),
            ("scale".into(), array("<f4", vec![e.scale.len()], scale)),
            (
                "zerop".into(),
                array("<i8", vec![e.zero_point.len()], zerop),
            ),
            (
                "quantized_dimension".into(),
                MemoryValue::Integer(e.quantized_dimension.to_string()),
            ),
        ];
        if let Some(v) = &e.value {
            let len = usize::try_from(v.data.len).map_err(|_| {
                io::Error::other(format!("the data of `{}` is too large to hold", e.tensor))
            })?;
            let mut bytes = Vec::new();
            bytes.try_reserve_exact(len).map_err(|_| {
                io::Error::other(format!("no memory for the {len} bytes of `{}`", e.tensor))
            })?;
            bytes.resize(len, 0);
            model.read_at(v.data.offset, &mut bytes)?;
            let descr = e.dtype.npy_type().descr().to_string();
            fields.push(("value".into(), array(&descr, v.shape.clone(), bytes)));
        }
        entries.push((e.key.clone(), MemoryEntry::Fields(fields)));
    }
    Ok(MemorySet { entries })
}
