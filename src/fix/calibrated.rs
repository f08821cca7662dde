//! `check --fix --calibrate`: entries for the tensors the set leaves
//! uncovered and the graph does not determine, from the ranges the float
//! model takes over samples, in the set's own scheme. Tensors that a
//! value-preserving operator ties together (a RESHAPE, TRANSPOSE or max
//! pool and its input) share one range: the first of each group gets the
//! entry, and `--fix`'s next round copies it onward; a member whose group
//! already has parameters takes those. A CONCATENATION's inputs and output
//! share one range too when none of them has parameters yet (int8 kernels
//! require it; Q707 asks it of every type). An AVERAGE_POOL_2D ties its
//! input and output always: the integer kernels of TFLite and onert alike
//! average the input's integers and write them as the output's, so any
//! other output parameters give wrong values on every integer runtime.
//! With `--target onert`, every other operator onert runs by copying bytes
//! ties them too. The outputs of SOFTMAX, LOGISTIC and TANH get the
//! fixed parameters their kernels produce.

use std::collections::{HashMap, HashSet};

use super::complete::{covering, Addition, Array};
use super::Fixed;
use crate::analysis::rules::coverage::reachable_from_outputs;
use crate::analysis::rules::target::onert::table::ONERT;
use crate::analysis::{Context, Target};
use crate::calibrate::inputs::draws;
use crate::calibrate::{Method, Observed, CALIBRATION_SAMPLES, FEW_SAMPLES};
use crate::graph::{Subgraph, TensorId};
use crate::model::fb::{BuiltinOperator as Op, TensorType};
use crate::qparam::{Entry, QDType};

/// What calibrating did, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Samples the model ran on, and whether they were drawn at random.
    pub samples: usize,
    pub random: bool,
    pub method: Method,
    /// Tensors given parameters from their ranges.
    pub calibrated: usize,
    /// Why the calibration may be poor (few samples, random inputs).
    pub warnings: Vec<String>,
}

/// The entries calibration adds to the set `ctx` checks (never for a
/// tensor in `skip`), what it could not calibrate, and what it did.
pub fn additions(
    ctx: &Context<'_>,
    skip: &HashSet<&str>,
    method: Method,
) -> (Vec<Addition>, Vec<Fixed>, Option<Calibration>) {
    let graph = ctx.graph;
    let Some(sg) = graph.subgraphs.first() else {
        return (Vec::new(), Vec::new(), None);
    };
    let uncovered: Vec<usize> = reachable_from_outputs(sg)
        .into_iter()
        .filter(|&t| {
            let tensor = &sg.tensors[t];
            tensor.dtype == TensorType::FLOAT32
                && !tensor.is_constant()
                && !ctx.by_tensor.contains_key(&sg.id(t))
                && ctx.fill_for(sg.id(t)).is_none()
                && !skip.contains(tensor.name)
                && !ctx.allowed_float(tensor.name)
        })
        .collect();
    if uncovered.is_empty() {
        return (Vec::new(), Vec::new(), None);
    }
    // Without samples: over the range each input's entry represents.
    let draws = || {
        draws(sg, CALIBRATION_SAMPLES, &|x| {
            params_of(ctx, sg.id(x)).and_then(entry_range)
        })
    };
    let run = ctx
        .options
        .model_runs
        .observe(graph, sg.index, CALIBRATION_SAMPLES, &draws);
    let observed = match run.as_ref() {
        Ok(o) => o,
        Err(why) => {
            let left = uncovered
                .iter()
                .map(|&t| Fixed {
                    key: sg.tensors[t].name.to_string(),
                    what: format!("not calibrated: the model could not run: {why}"),
                })
                .collect();
            return (Vec::new(), left, None);
        }
    };
    let scheme = scheme(&ctx.qparam.entries);
    let copies = Copies {
        onert: ctx.options.target == Some(Target::Onert),
        scheme,
    };
    let groups = Groups::new(sg, copies, false);
    let joined = Groups::new(sg, copies, true);
    let calibrating = Calibrating {
        ctx,
        sg,
        ties: Ties {
            copies: &groups,
            joined: &joined,
        },
        observed,
        method,
        scheme,
    };
    let mut out = Vec::new();
    let mut left = Vec::new();
    for &t in &uncovered {
        match calibrating.one(t) {
            Ok(Some(a)) => out.push(a),
            Ok(None) => {}
            Err(why) => left.push(Fixed {
                key: sg.tensors[t].name.to_string(),
                what: format!("not calibrated: {why}"),
            }),
        }
    }
    let calibration = Calibration {
        samples: observed.samples,
        random: observed.random,
        method,
        calibrated: out.len(),
        warnings: warnings(observed),
    };
    (out, left, Some(calibration))
}

/// Why the calibration may be poor.
fn warnings(observed: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if observed.random {
        out.push(format!(
            "calibrated from {} random samples, not from data: give real inputs to --calibrate (npy or npz files, or a directory of them)",
            observed.samples
        ));
    } else if observed.samples < FEW_SAMPLES {
        out.push(format!(
            "calibrated from {} samples; {FEW_SAMPLES} or more give ranges the extremes of a few inputs do not decide",
            observed.samples
        ));
    }
    out
}

/// The entry giving tensor `id` its parameters: its own, or the one
/// propagation copies.
fn params_of<'a>(ctx: &Context<'a>, id: TensorId) -> Option<&'a Entry> {
    ctx.entry_for(id)
        .or_else(|| ctx.fill_for(id).map(|f| &ctx.qparam.entries[f.entry]))
}

/// The real range an entry's per-tensor parameters represent.
fn entry_range(e: &Entry) -> Option<(f64, f64)> {
    let ([s], [z]) = (e.scales()?, e.zero_points()?) else {
        return None;
    };
    let (lo, hi) = e.dtype.as_ref()?.value.range();
    Some(((lo - z) as f64 * s, (hi - z) as f64 * s))
}

/// What calibrating one tensor reads.
struct Calibrating<'a> {
    ctx: &'a Context<'a>,
    sg: &'a Subgraph<'a>,
    ties: Ties<'a>,
    observed: &'a Observed,
    method: Method,
    scheme: QDType,
}

impl Calibrating<'_> {
    /// Tensor `t`'s entry: a copy of the parameters its group already
    /// has, its group's calibrated range (for the group's first tensors),
    /// or nothing (propagation gives it the parameters of the tensor
    /// before).
    fn one(&self, t: usize) -> Result<Option<Addition>, String> {
        let Calibrating {
            ctx,
            sg,
            ref ties,
            observed,
            method,
            scheme,
        } = *self;
        let name = sg.tensors[t].name.to_string();
        let groups = ties.copies;
        let params_among = |members: &[usize]| {
            members.iter().find_map(|&m| {
                let e = params_of(ctx, sg.id(m))?;
                let ([_], [_]) = (e.scales()?, e.zero_points()?) else {
                    return None;
                };
                Some((m, e))
            })
        };
        if let Some(a) = fixed_output(sg, t, scheme) {
            return Ok(Some(a));
        }
        let members = groups.members(t);
        let with_params = params_among(members);
        if let Some((m, e)) = with_params {
            let text = &ctx.qparam.text;
            let (scale, zerop) = (e.scale.as_ref(), e.zerop.as_ref());
            let (Some(scale), Some(zerop), Some(dtype)) = (scale, zerop, e.dtype.as_ref()) else {
                return Ok(None);
            };
            return Ok(Some(Addition {
                tensor: name,
                dtype: dtype.value,
                scale: Array::Existing(text[scale.span.clone()].to_string()),
                zerop: Array::Existing(text[zerop.span.clone()].to_string()),
                quantized_dimension: 0,
                value: None,
                replaces: None,
                what: format!(
                    "the parameters of `{}` ({}), which {} ties it to",
                    sg.tensors[m].name,
                    e.key,
                    groups.why(t)
                ),
            }));
        }
        if !groups.is_first(sg, t) {
            return Ok(None);
        }
        // A concatenation's inputs and output share a range while none of
        // them has parameters of its own.
        let (groups, members) = match ties.joined.members(t) {
            joined if joined.len() > members.len() && params_among(joined).is_none() => {
                (ties.joined, joined)
            }
            _ => (groups, members),
        };
        let ranges: Vec<(f64, f64)> = members
            .iter()
            .filter_map(|&m| method.range(observed.of(m)?))
            .collect();
        let (Some(lo), Some(hi)) = (
            ranges.iter().map(|r| r.0).reduce(f64::min),
            ranges.iter().map(|r| r.1).reduce(f64::max),
        ) else {
            let why = observed
                .skipped
                .first()
                .map_or("its value was not computed".to_string(), |s| {
                    format!("its value was not computed ({s})")
                });
            return Err(why);
        };
        let (s, z) = covering(scheme, lo, hi).ok_or("its range is not finite")?;
        let shared = if members.len() > 1 {
            format!(
                ", the range of the {} tensors {} ties together",
                members.len(),
                groups.why(t)
            )
        } else {
            String::new()
        };
        Ok(Some(Addition {
            tensor: name,
            dtype: scheme,
            scale: Array::Scales(vec![s as f32]),
            zerop: Array::ZeroPoints(vec![z]),
            quantized_dimension: 0,
            value: None,
            replaces: None,
            what: format!(
                "calibrated from {} {}samples ({}): {} .. {}{shared}, as {}",
                observed.samples,
                if observed.random { "random " } else { "" },
                method.describe(),
                lo as f32,
                hi as f32,
                scheme.name()
            ),
        }))
    }
}

/// The activation type calibrated entries take: the one the set's
/// activation entries use; without any, int16 for an int16 set and int8
/// for an int8 one (as their weights say), uint8 otherwise.
fn scheme(entries: &[Entry]) -> QDType {
    let count = |values: bool, dtype: QDType| {
        entries
            .iter()
            .filter(|e| e.has_value_field == values)
            .filter(|e| e.dtype.as_ref().is_some_and(|d| d.value == dtype))
            .count()
    };
    let activations = [QDType::U8, QDType::I8, QDType::I16];
    if let Some(&t) = activations
        .iter()
        .filter(|&&t| count(false, t) > 0)
        .max_by_key(|&&t| count(false, t))
    {
        return t;
    }
    activations
        .iter()
        .copied()
        .filter(|&t| count(true, t) > 0)
        .max_by_key(|&t| count(true, t))
        .unwrap_or(QDType::U8)
}

/// What copies one tensor's values into another: the value-preserving
/// operators, and those the target runs by copying bytes.
#[derive(Clone, Copy)]
struct Copies {
    onert: bool,
    scheme: QDType,
}

impl Copies {
    /// The input whose values operator `op`'s outputs hold.
    fn source(&self, op: &crate::graph::Operator) -> Option<usize> {
        op.value_source().or_else(|| {
            let copies_bytes = op.opcode.is(Op::AVERAGE_POOL_2D)
                || (self.onert
                    && ONERT
                        .keeps_input_parameters(&op.opcode, self.scheme)
                        .is_some());
            copies_bytes.then(|| op.input(0)).flatten()
        })
    }
}

/// The two ways tensors are tied: as copies of one value, and with
/// concatenations joined too.
struct Ties<'a> {
    copies: &'a Groups,
    joined: &'a Groups,
}

/// The fixed parameters of a SOFTMAX's or LOGISTIC's output (1/256) and a
/// TANH's (1/128), for 8-bit schemes, as their kernels produce them.
fn fixed_output(sg: &Subgraph<'_>, t: usize, scheme: QDType) -> Option<Addition> {
    let op = &sg.operators[sg.tensors[t].producer?];
    let (scale, zero) = if op.opcode.is(Op::SOFTMAX) || op.opcode.is(Op::LOGISTIC) {
        (1.0 / 256.0, if scheme == QDType::I8 { -128 } else { 0 })
    } else if op.opcode.is(Op::TANH) {
        (1.0 / 128.0, if scheme == QDType::I8 { 0 } else { 128 })
    } else {
        return None;
    };
    if !matches!(scheme, QDType::U8 | QDType::I8) {
        return None;
    }
    Some(Addition {
        tensor: sg.tensors[t].name.to_string(),
        dtype: scheme,
        scale: Array::Scales(vec![scale]),
        zerop: Array::ZeroPoints(vec![zero]),
        quantized_dimension: 0,
        value: None,
        replaces: None,
        what: format!(
            "output of {} #{}: the fixed parameters its kernel produces (scale {scale}, zero point {zero})",
            op.opcode, op.index
        ),
    })
}

/// Tensors tied to share one range: each tensor's group (as a
/// union-find's root), the members of each group and the operators tying
/// it.
struct Groups {
    root: Vec<usize>,
    members: HashMap<usize, Vec<usize>>,
    ties: HashMap<usize, String>,
}

impl Groups {
    /// Groups of copies of one value, and with `concatenations`, of a
    /// concatenation's inputs and output too.
    fn new(sg: &Subgraph<'_>, copies: Copies, concatenations: bool) -> Groups {
        let mut parent: Vec<usize> = (0..sg.tensors.len()).collect();
        fn find(parent: &mut [usize], mut t: usize) -> usize {
            while parent[t] != t {
                parent[t] = parent[parent[t]];
                t = parent[t];
            }
            t
        }
        let activation = |t: usize| {
            let tensor = &sg.tensors[t];
            tensor.dtype == TensorType::FLOAT32 && !tensor.is_constant()
        };
        let mut tying: Vec<(usize, String)> = Vec::new();
        for op in &sg.operators {
            let mut tied: Vec<usize> = Vec::new();
            if let Some(x) = copies.source(op).filter(|&x| activation(x)) {
                tied.push(x);
                tied.extend(op.outputs.iter().copied().filter(|&y| activation(y)));
            } else if op.opcode.is(Op::CONCATENATION) && concatenations {
                tied.extend(
                    op.inputs
                        .iter()
                        .flatten()
                        .copied()
                        .filter(|&x| activation(x)),
                );
                tied.extend(op.outputs.iter().copied().filter(|&y| activation(y)));
            }
            for pair in tied.windows(2) {
                let (a, b) = (find(&mut parent, pair[0]), find(&mut parent, pair[1]));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
            if let Some(&first) = tied.first() {
                tying.push((first, op.opcode.to_string()));
            }
        }
        let root: Vec<usize> = (0..parent.len()).map(|t| find(&mut parent, t)).collect();
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for (t, &r) in root.iter().enumerate() {
            members.entry(r).or_default().push(t);
        }
        let mut names: HashMap<usize, Vec<String>> = HashMap::new();
        for (t, name) in tying {
            names.entry(root[t]).or_default().push(name);
        }
        let ties = names
            .into_iter()
            .map(|(r, mut n)| {
                n.sort();
                n.dedup();
                (r, n.join(", "))
            })
            .collect();
        Groups {
            root,
            members,
            ties,
        }
    }

    fn members(&self, t: usize) -> &[usize] {
        self.members.get(&self.root[t]).map_or(&[], Vec::as_slice)
    }

    /// Whether `t` needs an entry of its own: no value-preserving operator
    /// makes it from another member (propagation copies that one's entry
    /// onward; an operator tied only for the target gets the group's range
    /// in an entry of its own).
    fn is_first(&self, sg: &Subgraph<'_>, t: usize) -> bool {
        let Some(p) = sg.tensors[t].producer else {
            return true;
        };
        sg.operators[p]
            .value_source()
            .is_none_or(|x| self.root[x] != self.root[t])
    }

    /// The operators that tie `t`'s group, as the report names them.
    fn why(&self, t: usize) -> &str {
        self.ties
            .get(&self.root[t])
            .map_or("nothing", String::as_str)
    }
}
