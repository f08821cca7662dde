//! Proposes circle tensors for a qparam key that names none, from every
//! signal available: the name (normalized), the shape of `value` (allowing
//! the layout changes converters make), its content (dequantized and
//! compared with the float weights), and the graph (a layer's bias and
//! output sit next to its weight; an input stub is a graph input).

use ndarray::{ArrayD, Dimension, IxDyn};

use super::diagnostic::Suggestion;
use super::Context;
use crate::graph::{Tensor, TensorId};
use crate::model::fb::{BuiltinOperator as Op, TensorType};
use crate::qparam::npy::Values;
use crate::qparam::Entry;

/// Confidence from which a suggestion is offered as the fix.
pub const CONFIDENT: f64 = 0.8;

/// Candidates closer than this in confidence are equally good.
const TIE: f64 = 0.02;

/// What the matcher concludes for one key that names no tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// This tensor, confidently, and no other key claims it.
    Match(Suggestion),
    /// Several tensors are equally good: the data cannot tell.
    Ambiguous(Vec<Suggestion>),
    /// Nothing confident.
    Unmatched,
}

/// Decides all unknown keys jointly: each tensor goes to at most one key,
/// the most confident first; a key whose best candidates tie is ambiguous.
/// `candidates[i]` are key i's suggestions, best first (empty for keys
/// that name a tensor).
pub fn resolve(candidates: &[Vec<Suggestion>]) -> Vec<Verdict> {
    let mut verdicts = vec![Verdict::Unmatched; candidates.len()];
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&i| !candidates[i].is_empty())
        .collect();
    order.sort_by(|&a, &b| {
        candidates[b][0]
            .confidence
            .total_cmp(&candidates[a][0].confidence)
            .then(a.cmp(&b))
    });
    let mut taken: Vec<&str> = Vec::new();
    for i in order {
        let free: Vec<&Suggestion> = candidates[i]
            .iter()
            .filter(|s| s.confidence >= CONFIDENT && !taken.contains(&s.name.as_str()))
            .collect();
        let Some(best) = free.first() else { continue };
        let ties: Vec<Suggestion> = free
            .iter()
            .filter(|s| best.confidence - s.confidence < TIE)
            .map(|s| (*s).clone())
            .collect();
        verdicts[i] = if ties.len() > 1 {
            Verdict::Ambiguous(ties)
        } else {
            taken.push(&best.name);
            Verdict::Match((*best).clone())
        };
    }
    verdicts
}

/// How many candidates a finding lists.
const SHOWN: usize = 3;

/// A layout change between a framework's array and the model's tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct LayoutChange {
    pub name: &'static str,
    /// `np.transpose(value, perm)` gives the tensor's layout.
    pub perm: Vec<usize>,
}

/// The converter layout change that turns `value` into `tensor`'s shape,
/// if one does (Conv2D OIHW→OHWI, DepthwiseConv2D C1HW→1HWC).
pub fn layout_change(value: &[usize], tensor: &[usize]) -> Option<LayoutChange> {
    layout_changes(value, tensor).into_iter().next()
}

/// Every converter layout change that gives `tensor`'s shape; several can
/// when dimensions coincide (an OIHW [8, 3, 3, 3] is also OHWI-shaped).
pub(crate) fn layout_changes(value: &[usize], tensor: &[usize]) -> Vec<LayoutChange> {
    let candidates = [
        ("OHWI (from PyTorch's OIHW)", vec![0, 2, 3, 1]),
        ("1HWC (from PyTorch's C1HW)", vec![1, 2, 3, 0]),
    ];
    if value.len() != 4 || tensor.len() != 4 {
        return Vec::new();
    }
    candidates
        .into_iter()
        .filter(|(_, p)| p.iter().map(|&i| value[i]).eq(tensor.iter().copied()))
        .map(|(name, perm)| LayoutChange { name, perm })
        .collect()
}

/// The ways `value` can be laid out as `tensor`: as it is (when the shapes
/// are equal) and through each converter layout change.
fn layouts(value: &[usize], tensor: &[usize]) -> Vec<Option<LayoutChange>> {
    let mut out: Vec<Option<LayoutChange>> = Vec::new();
    if value == tensor {
        out.push(None);
    }
    out.extend(layout_changes(value, tensor).into_iter().map(Some));
    out
}

/// The layout under which `entry`'s value best matches `t`'s data, with
/// the largest difference in quantization steps (None: data not comparable).
fn best_layout(
    entry: &Entry,
    t: &Tensor<'_>,
    value_shape: &[usize],
) -> Option<(Option<LayoutChange>, Option<f64>)> {
    let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
    let mut options = layouts(value_shape, &shape).into_iter().map(|l| {
        let steps = content_steps(entry, t, l.as_ref());
        (l, steps)
    });
    let first = options.next()?;
    Some(options.fold(first, |best, next| match (best.1, next.1) {
        (Some(a), Some(b)) if b < a => next,
        (None, Some(_)) => next,
        _ => best,
    }))
}

/// Up to three candidates for `entry`, best first.
pub fn suggest(ctx: &Context<'_>, entry: &Entry) -> Vec<Suggestion> {
    // Found once per key: it takes content matching against every constant.
    let layer = layer_of(ctx, entry);
    let mut scored: Vec<(f64, String, TensorId)> = ctx
        .graph
        .tensors()
        .filter(|t| !ctx.by_tensor.contains_key(&t.id))
        .filter_map(|t| score(ctx, entry, layer.as_ref(), t).map(|(s, r)| (s, r, t.id)))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    scored
        .into_iter()
        .take(SHOWN)
        .filter(|(s, _, _)| *s > 0.05)
        .map(|(s, reason, id)| Suggestion {
            name: ctx.graph.tensor(id).name.to_string(),
            confidence: (s * 100.0).round() / 100.0,
            reason,
        })
        .collect()
}

/// A name reduced to its words: lower case, converter prefixes dropped,
/// separators as spaces, `kernel` read as `weight`.
pub fn normalize(name: &str) -> String {
    let lower = name.to_lowercase();
    let tail = lower.rsplit("::").next().unwrap_or(&lower);
    let tail = tail.strip_prefix("p_").unwrap_or(tail);
    tail.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| if w == "kernel" { "weight" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

fn score(
    ctx: &Context<'_>,
    entry: &Entry,
    layer: Option<&Layer<'_>>,
    t: &Tensor<'_>,
) -> Option<(f64, String)> {
    if t.dtype != TensorType::FLOAT32 {
        return None;
    }
    let name = strsim::normalized_levenshtein(&normalize(&entry.key), &normalize(t.name));
    let mut best = (0.45 * name, format!("name similarity {name:.2}"));
    if name > 0.99 {
        best = (
            0.85,
            "same name once converter prefixes and separators are ignored".into(),
        );
    }
    fn consider(best: &mut (f64, String), s: f64, r: String) {
        if s > best.0 {
            *best = (s, r);
        }
    }
    if let Some(value) = &entry.value {
        if !t.is_constant() {
            return None;
        }
        let (change, steps) = best_layout(entry, t, &value.value.header.shape)?;
        let how = change.as_ref().map_or("same shape".to_string(), |c| {
            format!("shape {:?} after {}", t.shape, c.name)
        });
        consider(&mut best, 0.35 + 0.3 * name, how.clone());
        if let Some(steps) = steps {
            if steps <= 0.51 {
                consider(
                    &mut best,
                    0.97,
                    format!("{how}, data within {steps:.2} quantization steps"),
                );
            } else {
                // Same shape, other data: certainly not this tensor.
                best = (
                    0.1 * best.0,
                    format!("{how}, but data differs by up to {steps:.0} steps"),
                );
            }
        }
    } else if t.is_constant() {
        best.0 *= 0.5;
    }
    if let Some((s, r)) = graph_signal(ctx, entry, layer, t) {
        consider(&mut best, s, r);
    }
    Some(best)
}

/// The largest difference, in quantization steps, between `entry`'s value
/// dequantized and `t`'s float data, after `change`.
pub(crate) fn content_steps(
    entry: &Entry,
    t: &Tensor<'_>,
    change: Option<&LayoutChange>,
) -> Option<f64> {
    let value = &entry.value.as_ref()?.value;
    let scales = entry.scales()?;
    let zps = entry
        .zero_points()
        .map_or_else(|| vec![0; scales.len()], <[i64]>::to_vec);
    let axis = entry
        .quantized_dimension
        .as_ref()
        .map_or(0, |q| q.value as usize);
    let floats: Vec<f64> = t
        .data?
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let tensor_shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
    let tensor = ArrayD::from_shape_vec(IxDyn(&tensor_shape), floats).ok()?;
    // Bring the model's data into the value's layout.
    let in_value_layout = match change {
        Some(c) => {
            let mut inverse = vec![0; c.perm.len()];
            for (i, &p) in c.perm.iter().enumerate() {
                inverse[p] = i;
            }
            tensor.permuted_axes(IxDyn(&inverse))
        }
        None => tensor,
    };
    let shape = &value.header.shape;
    let values = value.values()?;
    let q: ArrayD<f64> = match values {
        Values::Int(v) => {
            ArrayD::from_shape_vec(IxDyn(shape), v.into_iter().map(|x| x as f64).collect()).ok()?
        }
        Values::Float(v) => ArrayD::from_shape_vec(IxDyn(shape), v).ok()?,
    };
    let is_float = matches!(
        value.header.dtype,
        crate::qparam::npy::NpyType::F32 | crate::qparam::npy::NpyType::F64
    );
    if in_value_layout.shape() != q.shape() {
        return None;
    }
    let mut worst: f64 = 0.0;
    for (idx, &qv) in q.indexed_iter() {
        let c = if scales.len() > 1 {
            idx.slice().get(axis).copied().unwrap_or(0)
        } else {
            0
        };
        let (s, z) = (*scales.get(c)?, *zps.get(c).unwrap_or(&0) as f64);
        if !(s.is_finite() && s > 0.0) {
            return None;
        }
        let real = if is_float { qv } else { (qv - z) * s };
        worst = worst.max((real - in_value_layout[&idx]).abs() / s);
    }
    Some(worst)
}

/// The tensor a weight key stands for: its exact name, or else the one
/// constant whose data its value dequantizes to.
fn weight_tensor(ctx: &Context<'_>, weight: &Entry) -> Option<TensorId> {
    if let Some(&id) = ctx
        .qparam
        .entries
        .iter()
        .position(|e| e.key == weight.key)
        .and_then(|i| ctx.targets[i].first())
    {
        return Some(id);
    }
    let shape = &weight.value.as_ref()?.value.header.shape;
    let mut found = ctx
        .graph
        .tensors()
        .filter(|t| t.dtype == TensorType::FLOAT32 && t.is_constant())
        .filter(|t| {
            best_layout(weight, t, shape).is_some_and(|(_, steps)| steps.is_some_and(|s| s <= 0.51))
        });
    let first = found.next()?;
    // Two equal weights: the data cannot tell them apart.
    found.next().is_none().then_some(first.id)
}

const INPUT_STUBS: [&str; 6] = ["quant", "input", "x", "inputs", "quant_stub", "quantstub"];

/// PyTorch module names (their last word) and the operator a converter
/// makes of them.
const MODULE_OPS: [(&str, Op); 12] = [
    ("pad", Op::PAD),
    ("maxpool", Op::MAX_POOL_2D),
    ("pool", Op::MAX_POOL_2D),
    ("avgpool", Op::AVERAGE_POOL_2D),
    ("softmax", Op::SOFTMAX),
    ("sigmoid", Op::LOGISTIC),
    ("tanh", Op::TANH),
    ("flatten", Op::RESHAPE),
    ("relu", Op::RELU),
    ("relu6", Op::RELU6),
    ("cat", Op::CONCATENATION),
    ("add", Op::ADD),
];

/// A key named like a module of one kind (`pad`, `encoder.pool`) and a
/// tensor produced by the model's only operator of that kind.
fn module_kind_signal(ctx: &Context<'_>, entry: &Entry, t: &Tensor<'_>) -> Option<(f64, String)> {
    let sg = &ctx.graph.subgraphs[t.id.subgraph];
    let op = &sg.operators[t.producer?];
    let word = entry
        .key
        .rsplit(['.', '/'])
        .next()?
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '_')
        .to_lowercase();
    let (_, kind) = MODULE_OPS.iter().find(|(name, _)| *name == word)?;
    if !op.opcode.is(*kind) {
        return None;
    }
    let same_kind = sg.operators.iter().filter(|o| o.opcode.is(*kind)).count();
    (same_kind == 1).then(|| (0.85, format!("output of the model's only {}", op.opcode)))
}

/// The layer a `<layer>.bias` or `<layer>` key belongs to: the entry of
/// `<layer>.weight` and the tensor that weight is.
struct Layer<'e> {
    weight: &'e Entry,
    tensor: TensorId,
    is_bias: bool,
}

fn layer_of<'e>(ctx: &Context<'e>, entry: &Entry) -> Option<Layer<'e>> {
    let key = entry.key.as_str();
    let (layer, is_bias) = match key
        .strip_suffix(".bias")
        .or_else(|| key.strip_suffix("_bias"))
    {
        Some(layer) => (layer, true),
        None => (key, false),
    };
    let weight_key = [format!("{layer}.weight"), format!("{layer}_weight")];
    let weight = ctx
        .qparam
        .entries
        .iter()
        .find(|e| weight_key.contains(&e.key))?;
    Some(Layer {
        weight,
        tensor: weight_tensor(ctx, weight)?,
        is_bias,
    })
}

fn graph_signal(
    ctx: &Context<'_>,
    entry: &Entry,
    layer: Option<&Layer<'_>>,
    t: &Tensor<'_>,
) -> Option<(f64, String)> {
    if entry.value.is_none() {
        if let Some(found) = module_kind_signal(ctx, entry, t) {
            return Some(found);
        }
    }
    let sg = &ctx.graph.subgraphs[t.id.subgraph];
    if entry.value.is_none()
        && INPUT_STUBS.contains(&entry.key.to_lowercase().as_str())
        && sg.inputs.contains(&t.id.index)
    {
        return Some((
            0.8,
            "graph input (an input stub's output is the model's input)".into(),
        ));
    }
    let layer = layer?;
    if layer.tensor.subgraph != t.id.subgraph {
        return None;
    }
    for &op_index in &ctx.graph.tensor(layer.tensor).consumers {
        let op = &sg.operators[op_index];
        if layer.is_bias && op.inputs.get(2).copied().flatten() == Some(t.id.index) {
            return Some((
                0.92,
                format!(
                    "bias input of {} #{op_index}, whose weight is `{}`'s",
                    op.opcode, layer.weight.key
                ),
            ));
        }
        if !layer.is_bias && entry.value.is_none() && op.outputs.first() == Some(&t.id.index) {
            return Some((
                0.88,
                format!(
                    "output of {} #{op_index}, whose weight is `{}`'s",
                    op.opcode, layer.weight.key
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_reduce_to_words() {
        assert_eq!(normalize("tico::p_conv1_bias"), "conv1 bias");
        assert_eq!(normalize("conv1.bias"), "conv1 bias");
        assert_eq!(normalize("subnet.conv2.kernel"), "subnet conv2 weight");
    }

    fn sug(name: &str, confidence: f64) -> Suggestion {
        Suggestion {
            name: name.into(),
            confidence,
            reason: String::new(),
        }
    }

    #[test]
    fn resolution_is_one_to_one_and_admits_ties() {
        let candidates = vec![
            vec![sug("a", 0.97), sug("b", 0.90)],
            vec![sug("a", 0.99)],
            vec![sug("c", 0.95), sug("d", 0.95)],
            vec![],
            vec![sug("e", 0.5)],
        ];
        let v = resolve(&candidates);
        assert_eq!(v[1], Verdict::Match(sug("a", 0.99)));
        assert_eq!(
            v[0],
            Verdict::Match(sug("b", 0.90)),
            "the second claimant takes its next candidate"
        );
        assert!(matches!(&v[2], Verdict::Ambiguous(t) if t.len() == 2));
        assert_eq!(v[3], Verdict::Unmatched);
        assert_eq!(v[4], Verdict::Unmatched);
    }

    #[test]
    fn recognizes_converter_layouts() {
        assert_eq!(
            layout_change(&[8, 3, 5, 5], &[8, 5, 5, 3]).unwrap().perm,
            vec![0, 2, 3, 1]
        );
        assert_eq!(
            layout_change(&[8, 1, 3, 3], &[1, 3, 3, 8]).unwrap().perm,
            vec![1, 2, 3, 0]
        );
        assert!(layout_change(&[8, 3], &[3, 8]).is_none());
    }
}
