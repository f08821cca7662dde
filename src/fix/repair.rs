//! Repairs of an entry's arrays whose right form is certain: a value in
//! the framework's layout (the model's data says which), a value never
//! quantized (the entry's own scale and zero point say how), scales and
//! zero points of the wrong type or rank. Each repair is a new npy file;
//! the entry is pointed at it and the original file stays as it was.

use crate::analysis::matcher::content::{self, Quantized, Reading};
use crate::analysis::matcher::layout::{layout_changes, IndexMap, LayoutChange};
use crate::graph::{Graph, Tensor};
use crate::qparam::npy::NpyType;
use crate::qparam::{Entry, QDType};

use super::arrays::Data;

/// Values larger than this are not re-laid out in memory.
const MAX_REPAIR: usize = 256 << 20;

/// A new array for one field of an entry, and why.
pub struct Repair {
    pub field: &'static str,
    pub shape: Vec<usize>,
    pub data: Data,
    pub what: String,
    /// The per-channel axis in the new layout, when the layout change
    /// moves it.
    pub axis: Option<u32>,
}

/// The repairs `entry` needs against `tensor` (the tensor it names or is
/// renamed to).
pub fn repairs(graph: &Graph<'_>, entry: &Entry, tensor: Option<&Tensor<'_>>) -> Vec<Repair> {
    let mut out = Vec::new();
    if let (Some(s), Some(values)) = (&entry.scale, entry.scales()) {
        let h = &s.value.header;
        let shape = repaired_shape(entry, &h.shape, values.len());
        if (h.dtype != NpyType::F32 || shape != h.shape) && entry.scales_fit_f32() {
            out.push(Repair {
                field: "scale",
                data: Data::F32(values.iter().map(|&v| v as f32).collect()),
                what: format!(
                    "scale saved as a {}-D float32 array (was {} of shape {:?})",
                    shape.len(),
                    h.dtype,
                    h.shape
                ),
                shape,
                axis: None,
            });
        }
    }
    if let (Some(z), Some(values)) = (&entry.zerop, entry.zero_points()) {
        let h = &z.value.header;
        let shape = repaired_shape(entry, &h.shape, values.len());
        if h.dtype != NpyType::I64 || shape != h.shape {
            out.push(Repair {
                field: "zerop",
                data: Data::I64(values.to_vec()),
                what: format!(
                    "zerop saved as a {}-D int64 array (was {} of shape {:?})",
                    shape.len(),
                    h.dtype,
                    h.shape
                ),
                shape,
                axis: None,
            });
        }
    }
    if let (Some(t), Some(value)) = (tensor, &entry.value) {
        if let Some(r) = value_repair(graph, entry, t, &value.value.header.dtype) {
            out.push(r);
        }
    }
    out
}

/// The shape a repaired scale or zero-point array is saved in: 1-D, but
/// for block-wise entries, whose arrays are [rows, blocks] (Q413 checks
/// that shape, which a repair of the type keeps).
fn repaired_shape(entry: &Entry, shape: &[usize], len: usize) -> Vec<usize> {
    if entry.has_block_field && shape.len() == 2 {
        shape.to_vec()
    } else {
        vec![len]
    }
}

/// The value in the tensor's layout and the entry's dtype, when the data
/// show which layout it is in.
fn value_repair(
    graph: &Graph<'_>,
    entry: &Entry,
    t: &Tensor<'_>,
    stored: &NpyType,
) -> Option<Repair> {
    let dtype = entry.dtype.as_ref()?.value;
    let npy = &entry.value.as_ref()?.value;
    let vshape = &npy.header.shape;
    let tshape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
    if npy.header.fortran_order || npy.header.data_len()? > MAX_REPAIR {
        return None;
    }
    // The layout whose data matches: as it is, or through a change.
    let as_is = vshape == &tshape;
    let needs_quantizing = stored.is_float();
    if as_is
        && !needs_quantizing
        && content::sampled_steps(graph, entry, t, None).is_none_or(|s| s.within_tolerance())
    {
        return None;
    }
    let mut changes: Vec<Option<LayoutChange>> = Vec::new();
    if as_is {
        changes.push(None);
    }
    changes.extend(layout_changes(vshape, &tshape).into_iter().map(Some));
    let readings = Quantized::readings(entry);
    let fits = |q: &Quantized<'_>, c: &Option<LayoutChange>| {
        content::sampled(graph, q, t, c.as_ref()).is_some_and(|s| s.near)
            && content::full(graph, q, t, c.as_ref())
                .ok()
                .flatten()
                .is_some_and(|s| s.near)
    };
    let (change, q) = changes
        .iter()
        .find_map(|c| readings.iter().find(|q| fits(q, c)).map(|q| (c.clone(), q)))?;
    if change.is_none() && !needs_quantizing {
        return None;
    }
    let raw = npy.read_data().ok()?;
    let size = stored.size()?;
    let count = npy.header.element_count()?;
    let map = IndexMap::new(vshape, change.as_ref());
    let order: Vec<usize> = (0..count).map(|f| map.value_index(f)).collect();
    let layout = change.as_ref().map(|c| format!("laid out as {}", c.name));
    // Per-channel parameters follow their axis to its place in the new
    // layout.
    let axis = match (&change, &entry.quantized_dimension, entry.scales()) {
        (Some(c), Some(qd), Some(scales)) if scales.len() > 1 => c
            .tensor_axis(qd.value as usize, vshape, &tshape)
            .map(|a| a as u32)
            .filter(|&a| a != qd.value),
        _ => None,
    };
    if needs_quantizing {
        let floats: Vec<f64> = order
            .iter()
            .map(|&i| stored.element_f64(&raw[i * size..(i + 1) * size]))
            .collect::<Option<_>>()?;
        let (lo, hi) = dtype.range();
        // Quantized numbers stored as floats need rounding only; real
        // values, quantizing with the entry's own parameters.
        let (quantized, how): (Vec<i64>, &str) = match q.reading() {
            Reading::Dequantized => (
                floats
                    .iter()
                    .map(|v| v.round().clamp(lo as f64, hi as f64) as i64)
                    .collect(),
                "value rounded to quantized numbers (it held them as unrounded floats)",
            ),
            Reading::AsIs => (
                floats
                    .iter()
                    .zip(&order)
                    .map(|(&v, &i)| q.quantize(v, i, dtype))
                    .collect(),
                "value quantized with the entry's own scale and zero point",
            ),
        };
        let what = format!(
            "{how} as {}{}",
            dtype.name(),
            layout.map(|l| format!(", {l}")).unwrap_or_default()
        );
        return Some(Repair {
            field: "value",
            shape: tshape,
            data: typed(dtype, quantized),
            what,
            axis,
        });
    }
    let mut bytes = Vec::with_capacity(raw.len());
    for &i in &order {
        bytes.extend_from_slice(&raw[i * size..(i + 1) * size]);
    }
    Some(Repair {
        field: "value",
        shape: tshape,
        data: Data::Raw {
            descr: stored.descr().to_string(),
            bytes,
        },
        what: format!(
            "value {} (the model's data match it only so)",
            layout.unwrap_or_default()
        ),
        axis,
    })
}

/// Quantized values as an array of `dtype`.
pub fn typed(dtype: QDType, values: Vec<i64>) -> Data {
    match dtype {
        QDType::U4 | QDType::U8 => Data::U8(values.into_iter().map(|v| v as u8).collect()),
        QDType::I4 | QDType::I8 => Data::I8(values.into_iter().map(|v| v as i8).collect()),
        QDType::I16 => Data::I16(values.into_iter().map(|v| v as i16).collect()),
        QDType::I32 => Data::I32(values.into_iter().map(|v| v as i32).collect()),
        QDType::I64 => Data::I64(values),
    }
}
