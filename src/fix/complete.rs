//! The entries a set lacks that the graph and the set determine, so no one
//! has to write them by hand:
//!
//! - the bias of a Conv2D, DepthwiseConv2D, FullyConnected or
//!   TransposeConv: int32 (int64 under int16 inputs), zero point 0, scale =
//!   input scale × weight scale, values rounded from the model's float bias
//!   (also replacing a bias entry whose value was never quantized);
//! - float constants (BatchNorm multipliers and addends, a normalization's
//!   epsilon, weights of layers the exporter skipped): quantized from their
//!   own data in the set's scheme; a constant a value-preserving operator
//!   copies into its output (PADV2's padding value) takes the parameters of
//!   that operator's input;
//! - outputs of value-preserving operators (layout transposes, reshapes,
//!   padding): the parameters of their input, as `--propagate` gives them;
//! - outputs of an affine step (a MUL, ADD, SUB or DIV by a constant) of a
//!   tensor with parameters: the range its input's parameters allow,
//!   carried through the constant (a bound, not a calibration).

use std::collections::HashSet;

use crate::analysis::propagate::Fill;
use crate::analysis::rules::spec::reencoded_bias;
use crate::analysis::Context;
use crate::graph::{Graph, Operator, Subgraph, Tensor, TensorId};
use crate::model::fb::{ActivationFunctionType as Act, BuiltinOperator as Op, TensorType};
use crate::qparam::{Entry, QDType};

use super::arrays::Data;
use super::repair::typed;

/// Constants larger than this are not quantized in memory.
const MAX_CONSTANT: u64 = 64 << 20;

/// An array for a field: one the set already has (its JSON text, as
/// written), or a new one.
pub enum Array {
    Existing(String),
    Scales(Vec<f32>),
    ZeroPoints(Vec<i64>),
}

/// An entry to add.
pub struct Addition {
    pub tensor: String,
    pub dtype: QDType,
    pub scale: Array,
    pub zerop: Array,
    pub quantized_dimension: u32,
    pub value: Option<(Vec<usize>, Data)>,
    /// An entry it replaces (a bias whose value was never quantized).
    pub replaces: Option<usize>,
    pub what: String,
}

/// Parameters as the completion uses them.
#[derive(Clone)]
struct Params {
    dtype: QDType,
    scales: Vec<f64>,
    zero_points: Vec<i64>,
    /// The scale and zerop fields' JSON text, to share the files.
    literals: Option<(String, String)>,
}

impl Params {
    /// The entry's parameters, when they are valid ones to derive from
    /// (a bias scale from a negative weight scale would be invalid too).
    fn of(entry: &Entry, text: &str) -> Option<Params> {
        let scale = entry.scale.as_ref()?;
        let zerop = entry.zerop.as_ref()?;
        let valid = entry.scales_fit_f32() && entry.scales()?.iter().all(|&s| s > 0.0);
        if !valid {
            return None;
        }
        Some(Params {
            dtype: entry.dtype.as_ref()?.value,
            scales: entry.scales()?.to_vec(),
            zero_points: entry.zero_points()?.to_vec(),
            literals: Some((
                text[scale.span.clone()].to_string(),
                text[zerop.span.clone()].to_string(),
            )),
        })
    }

    fn per_tensor(&self) -> Option<(f64, f64)> {
        match (&self.scales[..], &self.zero_points[..]) {
            ([s], [z]) => Some((*s, *z as f64)),
            _ => None,
        }
    }

    /// The real values the parameters can represent.
    fn range(&self) -> Option<(f64, f64)> {
        let (s, z) = self.per_tensor()?;
        let (lo, hi) = self.dtype.range();
        Some(((lo as f64 - z) * s, (hi as f64 - z) * s))
    }
}

/// Per-tensor parameters covering `[lo, hi]` (and zero) in `dtype`:
/// asymmetric for 8 bits, symmetric for 16.
pub(super) fn covering(dtype: QDType, lo: f64, hi: f64) -> Option<(f64, i64)> {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let (qlo, qhi) = dtype.range();
    if dtype == QDType::I16 || dtype == QDType::I32 || dtype == QDType::I64 {
        let m = lo.abs().max(hi);
        let s = if m > 0.0 { m / qhi as f64 } else { 1.0 };
        return Some((s, 0));
    }
    let s = if hi > lo {
        (hi - lo) / (qhi - qlo) as f64
    } else {
        1.0
    };
    let z = (qlo as f64 - lo / s).round().clamp(qlo as f64, qhi as f64) as i64;
    Some((s, z))
}

/// The float32 elements of a constant.
fn floats(graph: &Graph<'_>, t: &Tensor<'_>) -> Option<Vec<f64>> {
    graph.float_data(t, MAX_CONSTANT)
}

/// Every entry the set lacks that `ctx` (a check with propagation) shows
/// to be determined, but for the tensors in `skip` (which a key may still
/// mean): those are not even worked out.
pub fn additions(ctx: &Context<'_>, skip: &HashSet<&str>) -> Vec<Addition> {
    let completion = Completion {
        ctx,
        skip,
        scheme: scheme(&ctx.qparam.entries),
    };
    let mut out: Vec<Addition> = Vec::new();
    let mut done: HashSet<TensorId> = HashSet::new();
    for sg in &ctx.graph.subgraphs {
        for op in &sg.operators {
            if let Some((bias, a)) = completion.bias(sg, op, &done) {
                done.insert(bias);
                out.push(a);
            }
        }
        for t in sg.tensors.iter() {
            if let Some(a) = completion.constant(sg, t, &done) {
                done.insert(t.id);
                out.push(a);
            }
        }
        for op in &sg.operators {
            out.extend(completion.affine_output(sg, op));
        }
    }
    out.extend(ctx.fills.iter().filter_map(|f| completion.propagated(f)));
    out
}

/// What every kind of addition reads: the check, the tensors left alone,
/// and the set's activation type.
struct Completion<'a, 'c> {
    ctx: &'a Context<'c>,
    skip: &'a HashSet<&'a str>,
    scheme: QDType,
}

impl Completion<'_, '_> {
    /// Whether `id` gets no entry: a key may still mean it, it is kept
    /// float on purpose, or only operators running in float read it.
    fn left_alone(&self, id: TensorId) -> bool {
        self.skip.contains(self.ctx.graph.tensor(id).name) || self.ctx.kept_float.contains(&id)
    }

    /// The parameters `id` has in the set: its own entry's, or the one
    /// propagation copies.
    fn params_of(&self, id: TensorId) -> Option<Params> {
        let text = &self.ctx.qparam.text;
        if let Some(e) = self.ctx.entry_for(id) {
            return Params::of(e, text);
        }
        let fill = self.ctx.fill_for(id)?;
        Params::of(&self.ctx.qparam.entries[fill.entry], text)
    }

    /// The scales the spec gives the bias of a weighted operator, and the
    /// type of its input's parameters.
    fn bias_scales(
        &self,
        sg: &Subgraph<'_>,
        op: &Operator,
        channels: usize,
    ) -> Option<(Vec<f64>, QDType)> {
        let slots = op.layer_slots()?;
        let (xp, wp) = (
            self.params_of(sg.id(op.input(slots.input)?))?,
            self.params_of(sg.id(op.input(slots.weight)?))?,
        );
        let (sx, _) = xp.per_tensor()?;
        let per_channel = wp.scales.len() > 1;
        if per_channel && wp.scales.len() != channels {
            return None;
        }
        // An empty scale array (reported by the rules) gives no scale.
        let scales = if per_channel {
            wp.scales.iter().map(|sw| sx * sw).collect()
        } else {
            vec![sx * wp.scales.first()?]
        };
        Some((scales, xp.dtype))
    }

    /// The bias of weighted operator `op`, quantized to the spec from the
    /// model's float bias (replacing an entry whose value was never
    /// quantized, or whose scale or zero point the spec contradicts), and
    /// the bias tensor.
    fn bias(
        &self,
        sg: &Subgraph<'_>,
        op: &Operator,
        done: &HashSet<TensorId>,
    ) -> Option<(TensorId, Addition)> {
        let ctx = self.ctx;
        let b = op.layer_slots().and_then(|s| op.input(s.bias))?;
        let bt = &sg.tensors[b];
        let existing = ctx.by_tensor.get(&sg.id(b)).copied();
        if !bt.is_constant()
            || bt.dtype != TensorType::FLOAT32
            || done.contains(&sg.id(b))
            || self.left_alone(sg.id(b))
        {
            return None;
        }
        let channels = bt.element_count().map(|n| n as usize)?;
        let (scales, input_dtype) = self.bias_scales(sg, op, channels)?;
        // A bias several operators share is determined only when the
        // spec gives it one scale for all of them.
        let agree = bt.consumers.iter().all(|&c| {
            let other = &sg.operators[c];
            !other.has_bias(b)
                || self
                    .bias_scales(sg, other, channels)
                    .is_some_and(|(s, _)| same_scales(&s, &scales))
        });
        if !agree {
            return None;
        }
        let values = floats(ctx.graph, bt).filter(|v| v.len() == channels)?;
        let per_channel = scales.len() > 1;
        let dtype = if input_dtype == QDType::I16 {
            QDType::I64
        } else {
            QDType::I32
        };
        let (lo, hi) = dtype.range();
        let quantized: Vec<i64> = values
            .iter()
            .enumerate()
            .map(|(c, v)| {
                let s = scales[if per_channel { c } else { 0 }];
                let q = (v / s).round();
                (q >= lo as f64 && q <= hi as f64).then_some(q as i64)
            })
            .collect::<Option<_>>()?;
        // An entry is kept when it already is what the spec asks.
        let why = match existing.map(|e| &ctx.qparam.entries[e]) {
            None => String::new(),
            Some(e) if unquantized_value(e) => match reencoded_bias(ctx, e, bt) {
                // Said plainly, so the exporter can be fixed.
                Some(r) => format!("replaced the re-encoded (saved as {}; fix the exporter) ", r.how()),
                None => "replaced the unquantized ".to_string(),
            },
            Some(e) if !spec_bias(e, &scales) => "replaced (its scale is not input scale × weight scale, or its zero point not 0) the ".to_string(),
            Some(_) => return None,
        };
        let addition = Addition {
            tensor: bt.name.to_string(),
            dtype,
            zerop: Array::ZeroPoints(vec![0; scales.len()]),
            scale: Array::Scales(scales.iter().map(|&s| s as f32).collect()),
            quantized_dimension: 0,
            value: Some((vec![channels], typed(dtype, quantized))),
            replaces: existing,
            what: format!(
                "{why}bias of {} #{}: {}, zero point 0, scale = input scale × weight scale{}, values rounded from the model's float bias",
                op.opcode,
                op.index,
                dtype.name(),
                if per_channel { " per channel" } else { "" }
            ),
        };
        Some((sg.id(b), addition))
    }

    /// A float constant without an entry: a weight, a constant its operator
    /// copies beside its input's values, or any other constant.
    fn constant(
        &self,
        sg: &Subgraph<'_>,
        t: &Tensor<'_>,
        done: &HashSet<TensorId>,
    ) -> Option<Addition> {
        if !t.is_constant()
            || t.dtype != TensorType::FLOAT32
            || self.ctx.by_tensor.contains_key(&t.id)
            || done.contains(&t.id)
            || self.left_alone(t.id)
        {
            return None;
        }
        let op = &sg.operators[*t.consumers.first()?];
        if op.has_bias(t.id.index) {
            // Determined by its operator's input and weight, once
            // those have parameters.
            return None;
        }
        let values = floats(self.ctx.graph, t)?;
        let is_weight = op
            .layer_slots()
            .is_some_and(|s| op.input(s.weight) == Some(t.id.index));
        if is_weight {
            let axis = if op.opcode.is(Op::DEPTHWISE_CONV_2D) {
                3
            } else {
                0
            };
            quantize_weight(t, &values, self.scheme, axis, op)
        } else if let Some(source) = op.value_source().filter(|&s| s != t.id.index) {
            self.copied_constant(sg, t, &values, op, source)
        } else {
            quantize_constant(t, &values, self.scheme, op)
        }
    }

    /// A constant operator `op` copies next to the values of its input
    /// `source` (PADV2's padding value): that input's parameters, the
    /// values clipped to its type.
    fn copied_constant(
        &self,
        sg: &Subgraph<'_>,
        t: &Tensor<'_>,
        values: &[f64],
        op: &Operator,
        source: usize,
    ) -> Option<Addition> {
        let p = self.params_of(sg.id(source))?;
        let (s, z) = p.per_tensor()?;
        let (lo, hi) = p.dtype.range();
        let q: Vec<i64> = values
            .iter()
            .map(|v| ((v / s).round() + z).clamp(lo as f64, hi as f64) as i64)
            .collect();
        let (scale, zerop) = match p.literals.clone() {
            Some((s, z)) => (Array::Existing(s), Array::Existing(z)),
            None => (
                Array::Scales(vec![s as f32]),
                Array::ZeroPoints(vec![z as i64]),
            ),
        };
        Some(Addition {
            tensor: t.name.to_string(),
            dtype: p.dtype,
            scale,
            zerop,
            quantized_dimension: 0,
            value: Some((shape(t), typed(p.dtype, q))),
            replaces: None,
            what: format!(
                "constant {} #{} copies beside `{}`: its parameters, values clipped to {}",
                op.opcode,
                op.index,
                sg.tensors[source].name,
                p.dtype.name()
            ),
        })
    }

    /// The output of an affine step or a clamp without an entry: the range
    /// its input's parameters allow, carried through ([`derived`]).
    fn affine_output(&self, sg: &Subgraph<'_>, op: &Operator) -> Option<Addition> {
        let ctx = self.ctx;
        let &y = op.outputs.first()?;
        let yt = &sg.tensors[y];
        if yt.dtype != TensorType::FLOAT32
            || yt.is_constant()
            || ctx.by_tensor.contains_key(&sg.id(y))
            || ctx.fill_for(sg.id(y)).is_some()
            || self.left_alone(sg.id(y))
        {
            return None;
        }
        derived(ctx, sg, op, &|id| self.params_of(id))
    }

    /// The output of a value-preserving operator that propagation fills:
    /// its input's parameters, sharing its npy files.
    fn propagated(&self, fill: &Fill) -> Option<Addition> {
        let graph = self.ctx.graph;
        if self.left_alone(fill.tensor) {
            return None;
        }
        let entry = &self.ctx.qparam.entries[fill.entry];
        let p = Params::of(entry, &self.ctx.qparam.text)?;
        let (scale, zerop) = p.literals?;
        let sg = &graph.subgraphs[fill.tensor.subgraph];
        Some(Addition {
            tensor: graph.tensor(fill.tensor).name.to_string(),
            dtype: p.dtype,
            scale: Array::Existing(scale),
            zerop: Array::Existing(zerop),
            quantized_dimension: 0,
            value: None,
            replaces: None,
            what: format!(
                "{} #{} copies `{}` ({}): its parameters",
                sg.operators[fill.op].opcode,
                fill.op,
                graph.tensor(fill.from).name,
                entry.key
            ),
        })
    }
}

/// Whether an entry's value is still float: never quantized.
fn unquantized_value(e: &Entry) -> bool {
    e.value
        .as_ref()
        .is_some_and(|v| v.value.header.dtype.is_float())
}
/// Whether a bias entry has the spec's zero points and scales (within the
/// spec rules' relative tolerance).
fn spec_bias(e: &Entry, scales: &[f64]) -> bool {
    e.zero_points().is_some_and(|z| z.iter().all(|&v| v == 0))
        && e.scales().is_some_and(|s| same_scales(s, scales))
}

/// Whether two lists of scales are equal within the spec rules' relative
/// tolerance.
fn same_scales(a: &[f64], b: &[f64]) -> bool {
    const REL_TOL: f64 = 1e-4;
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= REL_TOL * y.abs())
}

fn shape(t: &Tensor<'_>) -> Vec<usize> {
    t.shape.iter().map(|&d| d.max(0) as usize).collect()
}

/// The set's activation type: what most entries without a value use.
fn scheme(entries: &[Entry]) -> QDType {
    let mut counts: Vec<(QDType, usize)> = Vec::new();
    for e in entries.iter().filter(|e| !e.has_value_field) {
        if let Some(d) = &e.dtype {
            match counts.iter_mut().find(|(t, _)| *t == d.value) {
                Some((_, n)) => *n += 1,
                None => counts.push((d.value, 1)),
            }
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or(QDType::U8, |(t, _)| t)
}

/// A constant quantized per tensor from its data.
fn quantize_constant(
    t: &Tensor<'_>,
    values: &[f64],
    scheme: QDType,
    op: &Operator,
) -> Option<Addition> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (s, z) = covering(scheme, lo, hi)?;
    let (qlo, qhi) = scheme.range();
    let q: Vec<i64> = values
        .iter()
        .map(|v| ((v / s).round() + z as f64).clamp(qlo as f64, qhi as f64) as i64)
        .collect();
    Some(Addition {
        tensor: t.name.to_string(),
        dtype: scheme,
        scale: Array::Scales(vec![s as f32]),
        zerop: Array::ZeroPoints(vec![z]),
        quantized_dimension: 0,
        value: Some((shape(t), typed(scheme, q))),
        replaces: None,
        what: format!(
            "constant input of {} #{}: quantized per tensor from its own data ({} .. {}) as {}",
            op.opcode,
            op.index,
            shortest(lo),
            shortest(hi),
            scheme.name()
        ),
    })
}

/// A weight the set has no entry for (a layer the exporter skipped):
/// per tensor for uint8, per channel and symmetric for the signed schemes.
fn quantize_weight(
    t: &Tensor<'_>,
    values: &[f64],
    scheme: QDType,
    axis: usize,
    op: &Operator,
) -> Option<Addition> {
    if scheme == QDType::U8 {
        let mut a = quantize_constant(t, values, scheme, op)?;
        a.what = format!(
            "weight of {} #{}, which has no entry: quantized per tensor from its own data as uint8",
            op.opcode, op.index
        );
        return Some(a);
    }
    let shape = shape(t);
    let channels = *shape.get(axis)?;
    let stride: usize = shape[axis + 1..].iter().product();
    let (_, qhi) = scheme.range();
    let mut max = vec![0f64; channels];
    for (i, v) in values.iter().enumerate() {
        let c = (i / stride) % channels;
        max[c] = max[c].max(v.abs());
    }
    let scales: Vec<f64> = max
        .iter()
        .map(|&m| if m > 0.0 { m / qhi as f64 } else { 1.0 })
        .collect();
    let q: Vec<i64> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (v / scales[(i / stride) % channels])
                .round()
                .clamp(-(qhi as f64), qhi as f64) as i64
        })
        .collect();
    Some(Addition {
        tensor: t.name.to_string(),
        dtype: scheme,
        scale: Array::Scales(scales.iter().map(|&s| s as f32).collect()),
        zerop: Array::ZeroPoints(vec![0; channels]),
        quantized_dimension: axis as u32,
        value: Some((shape, typed(scheme, q))),
        replaces: None,
        what: format!(
            "weight of {} #{}, which has no entry: quantized per channel (axis {axis}), symmetric, from its own data as {}",
            op.opcode,
            op.index,
            scheme.name()
        ),
    })
}

/// The output of a MUL, ADD, SUB or DIV of an activation with parameters
/// and a constant: the range they allow, carried through the constant.
fn derived(
    ctx: &Context<'_>,
    sg: &Subgraph<'_>,
    op: &Operator,
    params_of: &dyn Fn(TensorId) -> Option<Params>,
) -> Option<Addition> {
    let id = |index| sg.id(index);
    // A clamp keeps what its input's parameters allow, within its bounds.
    let clamp = if op.opcode.is(Op::RELU) {
        Some((0.0, f64::INFINITY))
    } else if op.opcode.is(Op::RELU6) {
        Some((0.0, 6.0))
    } else if op.opcode.is(Op::RELU_N1_TO_1) {
        Some((-1.0, 1.0))
    } else {
        None
    };
    if let Some((min, max)) = clamp {
        let x = op.inputs.first().copied().flatten()?;
        let p = params_of(id(x))?;
        let (lo, hi) = p.range()?;
        let (ylo, yhi) = (lo.clamp(min, max), hi.clamp(min, max));
        return activation_with_range(
            sg,
            op,
            p.dtype,
            (ylo, yhi),
            format!(
                "output of {} #{}: the range of `{}`'s parameters, clamped ({} .. {})",
                op.opcode,
                op.index,
                sg.tensors[x].name,
                shortest(ylo),
                shortest(yhi)
            ),
        );
    }
    let arith = [Op::MUL, Op::ADD, Op::SUB, Op::DIV];
    if !arith.iter().any(|&c| op.opcode.is(c)) {
        return None;
    }
    let inputs: Vec<usize> = op.inputs.iter().flatten().copied().collect();
    let [a, b] = inputs[..] else { return None };
    let is_const = |t: usize| sg.tensors[t].is_constant();
    let (x, c, const_first) = match (is_const(a), is_const(b)) {
        (false, true) => (a, b, false),
        (true, false) => (b, a, true),
        _ => return None,
    };
    let p = params_of(id(x))?;
    let (lo, hi) = p.range()?;
    let k = floats(ctx.graph, &sg.tensors[c])?;
    let (kmin, kmax) = (
        k.iter().copied().fold(f64::INFINITY, f64::min),
        k.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let (mut ylo, mut yhi) = forward(op, lo, hi, kmin, kmax, const_first)?;
    // What the operator after it allows, when that is an affine step whose
    // output has parameters: both bounds hold, so their intersection does.
    if let Some((blo, bhi)) = backward(ctx, sg, op.outputs[0], params_of) {
        (ylo, yhi) = (ylo.max(blo), yhi.min(bhi));
        if ylo > yhi {
            return None;
        }
    }
    match op.fused {
        Some(Act::RELU) => (ylo, yhi) = (ylo.max(0.0), yhi.max(0.0)),
        Some(Act::RELU6) => (ylo, yhi) = (ylo.clamp(0.0, 6.0), yhi.clamp(0.0, 6.0)),
        Some(Act::RELU_N1_TO_1) => (ylo, yhi) = (ylo.clamp(-1.0, 1.0), yhi.clamp(-1.0, 1.0)),
        None => {}
        Some(_) => return None,
    }
    activation_with_range(sg, op, p.dtype, (ylo, yhi), format!(
            "output of {} #{} by a constant: the range `{}`'s parameters allow, carried through it ({} .. {}; a bound, not a calibration)",
            op.opcode,
            op.index,
            sg.tensors[x].name,
            shortest(ylo),
            shortest(yhi)
        ))
}

/// An entry for operator `op`'s output: per-tensor parameters of `dtype`
/// covering `range`.
fn activation_with_range(
    sg: &Subgraph<'_>,
    op: &Operator,
    dtype: QDType,
    (lo, hi): (f64, f64),
    what: String,
) -> Option<Addition> {
    let (s, z) = covering(dtype, lo, hi)?;
    let y = *op.outputs.first()?;
    Some(Addition {
        tensor: sg.tensors[y].name.to_string(),
        dtype,
        scale: Array::Scales(vec![s as f32]),
        zerop: Array::ZeroPoints(vec![z]),
        quantized_dimension: 0,
        value: None,
        replaces: None,
        what,
    })
}

/// The range of `x op k` for `x` in `[lo, hi]` and `k` in `[kmin, kmax]`.
fn forward(
    op: &Operator,
    lo: f64,
    hi: f64,
    kmin: f64,
    kmax: f64,
    const_first: bool,
) -> Option<(f64, f64)> {
    let span = |c: [f64; 4]| {
        (
            c.iter().copied().fold(f64::INFINITY, f64::min),
            c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    Some(if op.opcode.is(Op::MUL) {
        span([lo * kmin, lo * kmax, hi * kmin, hi * kmax])
    } else if op.opcode.is(Op::ADD) {
        (lo + kmin, hi + kmax)
    } else if op.opcode.is(Op::SUB) {
        if const_first {
            (kmin - hi, kmax - lo)
        } else {
            (lo - kmax, hi - kmin)
        }
    } else if !const_first && (kmin > 0.0 || kmax < 0.0) {
        span([lo / kmin, lo / kmax, hi / kmin, hi / kmax])
    } else {
        return None;
    })
}

/// The range tensor `y` must lie in for its only consumer, an ADD or SUB
/// of a constant without a fused activation, to produce what its output's
/// parameters allow.
fn backward(
    ctx: &Context<'_>,
    sg: &Subgraph<'_>,
    y: usize,
    params_of: &dyn Fn(TensorId) -> Option<Params>,
) -> Option<(f64, f64)> {
    let [next] = sg.tensors[y].consumers[..] else {
        return None;
    };
    let op = &sg.operators[next];
    if op.fused.is_some() || !(op.opcode.is(Op::ADD) || op.opcode.is(Op::SUB)) {
        return None;
    }
    let inputs: Vec<usize> = op.inputs.iter().flatten().copied().collect();
    let [a, b] = inputs[..] else { return None };
    let (k, y_first) = if a == y && sg.tensors[b].is_constant() {
        (b, true)
    } else if b == y && sg.tensors[a].is_constant() {
        (a, false)
    } else {
        return None;
    };
    let z = params_of(TensorId {
        subgraph: sg.index,
        index: *op.outputs.first()?,
    })?;
    let (zlo, zhi) = z.range()?;
    let k = floats(ctx.graph, &sg.tensors[k])?;
    let (kmin, kmax) = (
        k.iter().copied().fold(f64::INFINITY, f64::min),
        k.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    Some(if op.opcode.is(Op::ADD) {
        (zlo - kmax, zhi - kmin)
    } else if y_first {
        (zlo + kmin, zhi + kmax)
    } else {
        (kmin - zhi, kmax - zlo)
    })
}

/// A number in the shortest form that reads back the same (as f32).
fn shortest(v: f64) -> String {
    format!("{}", v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_parameters_include_zero_and_the_range() {
        let (s, z) = covering(QDType::U8, -1.0, 3.0).unwrap();
        assert!(((0.0 - z as f64) * s - -1.0).abs() < s);
        assert!(((255.0 - z as f64) * s - 3.0).abs() < s);
        let (s, z) = covering(QDType::U8, 0.5, 0.5).unwrap();
        assert_eq!(z, 0);
        assert!((s * 255.0 - 0.5).abs() < 1e-9);
        let (s, z) = covering(QDType::I16, -2.0, 1.0).unwrap();
        assert_eq!(z, 0);
        assert!((s * 32767.0 - 2.0).abs() < 1e-9);
        assert!(covering(QDType::U8, f64::NEG_INFINITY, 1.0).is_none());
    }
}
