//! Layers a converter folded a normalization into: tico folds a
//! LayerNorm's scale γ and shift β into the Linear that reads it, so that
//! Linear's weight becomes W·γ (each input column scaled) and its bias
//! b + W·β, and the LayerNorm's output (after γ and β) is in no tensor.
//! The exporter's `<layer>.weight` then matches no constant, but a
//! FULLY_CONNECTED weight of its shape is its columns, each scaled by one
//! factor: that relation is checked here, column by column, and marks the
//! weight key, the bias key and the normalization's key as folded.

use crate::graph::{Graph, TensorId};
use crate::model::fb::BuiltinOperator as Op;
use crate::qparam::Entry;

/// Largest weight compared (elements): folding is a fact of small and
/// mid-sized Linear layers alike, and beyond this the column ratios of a
/// sample would do; larger weights are left unmatched.
const MAX_ELEMENTS: usize = 1 << 22;

/// The relative error a folded weight may leave, beyond the value's own
/// quantization noise: float32 rounding of W·γ.
const FOLD_SLACK: f64 = 1e-3;

/// How many times the value's quantization noise the fit may miss by:
/// rounding spreads errors of up to half a step, about a third of a step
/// on average.
const NOISE_TIMES: f64 = 3.0;

/// A Linear layer whose weight holds an exporter's weight with a
/// normalization's scale folded in.
pub struct Folded {
    /// The weight key.
    pub weight_entry: usize,
    /// The FULLY_CONNECTED operator and its subgraph.
    pub subgraph: usize,
    pub op: usize,
    /// Its weight, bias (if any) and input tensors.
    pub weight: TensorId,
    pub bias: Option<TensorId>,
    pub input: TensorId,
}

/// Weight keys among `candidates` (keys with a value that matched no
/// constant) that a FULLY_CONNECTED weight holds with its columns scaled.
pub fn folded_layers(
    graph: &Graph<'_>,
    entries: &[Entry],
    candidates: &[usize],
    free: &dyn Fn(TensorId) -> bool,
) -> Vec<Folded> {
    let mut out: Vec<Folded> = Vec::new();
    for &i in candidates {
        let e = &entries[i];
        if !(e.key.ends_with(".weight") || e.key.ends_with("_weight")) {
            continue;
        }
        let Some(w) = dequantized(e) else { continue };
        let found = graph.subgraphs.iter().find_map(|sg| {
            sg.operators.iter().find_map(|op| {
                if !op.opcode.is(Op::FULLY_CONNECTED) {
                    return None;
                }
                let wt = op.input(1)?;
                let id = sg.id(wt);
                let t = &sg.tensors[wt];
                let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
                let taken = out.iter().any(|f| f.weight == id);
                if taken || !free(id) || shape != w.shape {
                    return None;
                }
                let data = graph.float_data(t, MAX_ELEMENTS as u64 * 4)?;
                let input = sg.id(op.input(0)?);
                scaled_columns(&w, &data).then(|| Folded {
                    weight_entry: i,
                    subgraph: sg.index,
                    op: op.index,
                    weight: id,
                    bias: op.input(2).map(|b| sg.id(b)),
                    input,
                })
            })
        });
        out.extend(found);
    }
    out
}

/// A 2-D value, dequantized, with its quantization step.
struct Matrix {
    shape: Vec<usize>,
    data: Vec<f64>,
    step: f64,
}

fn dequantized(e: &Entry) -> Option<Matrix> {
    let npy = &e.value.as_ref()?.value;
    let shape = npy.header.shape.clone();
    if shape.len() != 2 || shape.iter().product::<usize>() > MAX_ELEMENTS || shape[0] < 2 {
        return None;
    }
    let raw = npy.floats().ok()??;
    let scales = e.scales()?;
    let zeros = e.zero_points()?;
    if scales.is_empty() || zeros.len() != scales.len() {
        return None;
    }
    let axis = e
        .quantized_dimension
        .as_ref()
        .map_or(0, |q| q.value as usize);
    let stride = if axis == 0 { shape[1] } else { 1 };
    let channels = if scales.len() > 1 {
        *shape.get(axis)?
    } else {
        1
    };
    if channels != scales.len() {
        return None;
    }
    let data = if npy.header.dtype.is_float() {
        raw
    } else {
        raw.iter()
            .enumerate()
            .map(|(k, &q)| {
                let c = if channels > 1 {
                    (k / stride) % channels
                } else {
                    0
                };
                (q - zeros[c] as f64) * scales[c]
            })
            .collect()
    };
    let step = scales.iter().copied().fold(0.0, f64::max);
    Some(Matrix { shape, data, step })
}

/// Whether `folded` is `w` with each column scaled by its own factor
/// (not all of them 1: then the content would have matched), to within
/// `w`'s quantization noise.
fn scaled_columns(w: &Matrix, folded: &[f64]) -> bool {
    let (rows, cols) = (w.shape[0], w.shape[1]);
    if folded.len() != rows * cols {
        return false;
    }
    let (mut residual, mut energy, mut noise) = (0.0, 0.0, 0.0);
    let mut factors_differ = false;
    for c in 0..cols {
        let pairs = || (0..rows).map(|r| (w.data[r * cols + c], folded[r * cols + c]));
        let ww: f64 = pairs().map(|(a, _)| a * a).sum();
        let wf: f64 = pairs().map(|(a, b)| a * b).sum();
        let g = if ww > 0.0 { wf / ww } else { 0.0 };
        factors_differ |= (g - 1.0).abs() > 1e-3;
        for (a, b) in pairs() {
            residual += (b - g * a).powi(2);
            energy += b * b;
            // A step's rounding error, scaled by the factor it went through.
            noise += (g * w.step).powi(2) / 12.0;
        }
    }
    factors_differ
        && energy > 0.0
        && residual <= NOISE_TIMES.powi(2) * noise + FOLD_SLACK.powi(2) * energy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_columns_are_told_from_other_weights() {
        let w = Matrix {
            shape: vec![3, 2],
            data: vec![1.0, -2.0, 0.5, 1.0, -1.5, 0.25],
            step: 0.01,
        };
        let gamma = [0.5, 1.7];
        let folded: Vec<f64> = (0..6).map(|k| w.data[k] * gamma[k % 2]).collect();
        assert!(scaled_columns(&w, &folded));
        // The same weight: not folded (content matches it).
        assert!(!scaled_columns(&w, &w.data));
        // Another weight of the shape.
        let other = [0.3, 0.1, -0.7, 0.9, 0.2, -0.4];
        assert!(!scaled_columns(&w, &other));
    }
}
