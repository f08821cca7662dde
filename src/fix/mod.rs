//! `check --fix`: what the analysis is sure of, applied to the text of
//! qparam.json (so its formatting and order stay as they were), then the
//! entries the graph and the set determine:
//!
//! 1. keys renamed to the tensor the matcher confidently gives them (a key
//!    naming the same tensor as an earlier one, with the same parameters,
//!    is removed; so is a key whose value the converter fused away, another
//!    key holding the result);
//! 2. `"quantized_dimension": 0` added where it can be nothing else;
//! 3. arrays repaired ([`repair`]) into new npy files beside the set;
//! 4. entries added ([`complete`]) until nothing more is determined;
//! 5. with a target, weights it reads as their input's type rewritten
//!    where that is exact ([`requantize`]).
//!
//! Ambiguous keys are left alone and listed; existing npy files are never
//! touched. [`write`] saves the result without ever losing the original.

mod arrays;
mod calibrated;
mod complete;
mod repair;
mod requantize;
pub mod text;
mod write;

use std::collections::{HashMap, HashSet};

pub use calibrated::Calibration;
pub use write::{write, FixError, FixWritten};

use crate::analysis::matcher::{Resolution, Verdict};
use crate::analysis::{Analysis, CheckOptions, Context};
use crate::graph::{Graph, Tensor};
use crate::qparam::{self, Entry, QDType};
use arrays::{Data, NewArrays};
use complete::{Addition, Array};
use text::Edit;

/// A change made to the text, described for the user.
#[derive(Clone, Debug, PartialEq)]
pub struct Fixed {
    pub key: String,
    pub what: String,
}

/// A tensor a key still names as a candidate this likely gets no entry of
/// its own: the user may rename the key to it.
const PROTECTED: f64 = 0.5;

/// Rounds of additions at most: each can only add what the one before made
/// determined (a bias once its input has parameters), so a few suffice,
/// before a calibration and after it.
const MAX_ROUNDS: usize = 12;

/// What `--fix` would do: the fixed text, the new npy files it names
/// (removed again unless [`FixPlan::keep_arrays`]), and the report.
pub struct FixPlan {
    pub text: String,
    arrays: NewArrays,
    pub fixed: Vec<Fixed>,
    /// Keys left as they are, with the reason.
    pub left: Vec<Fixed>,
    /// What `--calibrate` did, when it ran.
    pub calibration: Option<Calibration>,
}

impl FixPlan {
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty()
    }

    /// Keeps the new npy files: the fixed set naming them was written.
    pub fn keep_arrays(self) {
        self.arrays.keep();
    }

    /// The new npy files written so far.
    pub fn new_files(&self) -> Vec<std::path::PathBuf> {
        self.arrays.paths()
    }
}

/// Works out every fix for `analysis` (of the set at its path) against
/// `graph`. New npy files are written beside the set already, and removed
/// when the plan is dropped without [`FixPlan::keep_arrays`].
pub fn plan(
    graph: &Graph<'_>,
    analysis: &Analysis,
    options: &CheckOptions,
) -> Result<FixPlan, FixError> {
    let q = &analysis.qparam;
    let mut plan = FixPlan {
        text: q.text.clone(),
        arrays: NewArrays::for_load(&options.load),
        fixed: Vec::new(),
        left: Vec::new(),
        calibration: None,
    };
    if let Some(left) = blocked(analysis) {
        plan.left = left;
        return Ok(plan);
    }
    // 1-3: renames, removals, axes and repairs on the file as it is.
    let mut keys = KeyFixes {
        graph,
        q,
        edits: Vec::new(),
        renamed: HashMap::new(),
    };
    for (i, (entry, resolution)) in q.entries.iter().zip(&analysis.resolutions).enumerate() {
        let name = match keys.resolve(i, entry, resolution, &mut plan)? {
            Resolved::Renamed(name) => name,
            Resolved::Kept => entry.key.as_str(),
            Resolved::Done => continue,
        };
        let target = graph.named(name).first().map(|&id| graph.tensor(id));
        keys.add_axis(entry, &mut plan.fixed);
        keys.repair(entry, target, &mut plan)?;
    }
    plan.text = text::apply(&q.text, &keys.edits);
    // 4: entries added, in rounds.
    add_entries(graph, analysis, options, &mut plan)?;
    // 5: weights the target reads as their input's type, requantized.
    requantize_weights(graph, analysis, options, &mut plan)?;
    if crate::qparam::json::parse(&plan.text).is_err() {
        return Err(FixError::Broken(q.path.clone()));
    }
    Ok(plan)
}

/// The error for a new npy file beside the set that could not be written.
fn write_error(q: &qparam::QParamFile) -> impl Fn(std::io::Error) -> FixError + '_ {
    |source| FixError::Write {
        path: q.dir.clone(),
        source,
    }
}

/// What step 1 did with a key.
enum Resolved<'a> {
    /// Renamed to the tensor it means.
    Renamed(&'a str),
    /// Kept under its name (listed when ambiguous).
    Kept,
    /// Removed, or left for the user: nothing more to fix on it.
    Done,
}

/// Steps 1 to 3, key by key, on the text of the file as it is.
struct KeyFixes<'a, 'g> {
    graph: &'a Graph<'g>,
    q: &'a qparam::QParamFile,
    edits: Vec<Edit>,
    /// The tensors keys were renamed to, and the first key renamed there.
    renamed: HashMap<&'a str, usize>,
}

impl<'a> KeyFixes<'a, '_> {
    /// Step 1: the key renamed to the tensor the matcher confidently gives
    /// it (its parameters narrowed when that tensor has a fused activation
    /// they overreach), removed when an earlier key names the same tensor
    /// with the same parameters or its value was fused away, listed when
    /// ambiguous.
    fn resolve(
        &mut self,
        i: usize,
        entry: &'a Entry,
        resolution: &'a Resolution,
        plan: &mut FixPlan,
    ) -> Result<Resolved<'a>, FixError> {
        let q = self.q;
        match &resolution.verdict {
            Verdict::Match(m) => {
                if let Some(&first) = self.renamed.get(m.name.as_str()) {
                    let other = &q.entries[first];
                    if same_params(entry, other) {
                        let why = format!(
                            "it names `{}` as `{}` does, with the same parameters",
                            m.name, other.key
                        );
                        remove(q, entry, why, &mut self.edits, &mut plan.fixed);
                    } else {
                        plan.left.push(Fixed {
                            key: entry.key.clone(),
                            what: format!(
                                "names `{}` as `{}` does, with other parameters; keep one of them",
                                m.name, other.key
                            ),
                        });
                    }
                    return Ok(Resolved::Done);
                }
                self.renamed.insert(&m.name, i);
                self.edits
                    .push(text::replace_string(&entry.key_span, &m.name));
                plan.fixed.push(Fixed {
                    key: entry.key.clone(),
                    what: format!(
                        "renamed to `{}` ({:.0}%: {})",
                        m.name,
                        m.shown_confidence() * 100.0,
                        m.reason
                    ),
                });
                self.narrow(entry, &m.name, plan)?;
                Ok(Resolved::Renamed(&m.name))
            }
            Verdict::Ambiguous { ties, more } => {
                plan.left.push(Fixed {
                    key: entry.key.clone(),
                    what: format!(
                        "ambiguous between {}{}",
                        ties.iter()
                            .map(|t| format!("`{}`", t.name))
                            .collect::<Vec<_>>()
                            .join(" and "),
                        crate::analysis::matcher::more_equal(*more)
                    ),
                });
                Ok(Resolved::Kept)
            }
            Verdict::Unmatched if resolution.note.is_some() => {
                let why = resolution.note.clone().unwrap_or_default();
                remove(q, entry, why, &mut self.edits, &mut plan.fixed);
                Ok(Resolved::Done)
            }
            Verdict::Unmatched | Verdict::Named => Ok(Resolved::Kept),
        }
    }

    /// A key renamed onto the output of an operator with a fused
    /// activation: its per-tensor parameters narrowed to what the
    /// activation lets through, in new npy files.
    fn narrow(&mut self, entry: &Entry, name: &str, plan: &mut FixPlan) -> Result<(), FixError> {
        let q = self.q;
        let target = self
            .graph
            .named(name)
            .first()
            .map(|&id| self.graph.tensor(id));
        let (Some(t), Some(sf), Some(zf)) = (target, &entry.scale, &entry.zerop) else {
            return Ok(());
        };
        let Some((scale, zerop, what)) = narrowed(self.graph, entry, t) else {
            return Ok(());
        };
        let s_name = plan
            .arrays
            .write(&q.dir, &[1], Data::F32(vec![scale]))
            .map_err(write_error(q))?;
        let z_name = plan
            .arrays
            .write(&q.dir, &[1], Data::I64(vec![zerop]))
            .map_err(write_error(q))?;
        push(&mut self.edits, text::replace_string(&sf.span, &s_name));
        push(&mut self.edits, text::replace_string(&zf.span, &z_name));
        plan.fixed.push(Fixed {
            key: entry.key.clone(),
            what: format!("{what} ({s_name}, {z_name})"),
        });
        Ok(())
    }

    /// Step 2: `"quantized_dimension": 0` where per-tensor parameters can
    /// have no other axis.
    fn add_axis(&mut self, entry: &Entry, fixed: &mut Vec<Fixed>) {
        let per_tensor = entry
            .scale
            .as_ref()
            .is_some_and(|s| s.value.header.element_count() == Some(1));
        if entry.has_axis_field || !per_tensor {
            return;
        }
        if let Some(edit) =
            text::append_member(&self.q.text, &entry.span, "\"quantized_dimension\": 0")
        {
            self.edits.push(edit);
            fixed.push(Fixed {
                key: entry.key.clone(),
                what: "added \"quantized_dimension\": 0 (per-tensor parameters have no other axis)"
                    .into(),
            });
        }
    }

    /// Step 3: arrays repaired into new npy files, the entry pointed at
    /// them (and its axis moved with a layout change).
    fn repair(
        &mut self,
        entry: &Entry,
        target: Option<&Tensor<'_>>,
        plan: &mut FixPlan,
    ) -> Result<(), FixError> {
        let q = self.q;
        let bias = target.is_some_and(|t| is_bias(self.graph, t));
        for r in repair::repairs(self.graph, entry, target) {
            if r.field == "value"
                && bias
                && matches!(
                    r.data,
                    Data::U8(_) | Data::I8(_) | Data::I16(_) | Data::I32(_) | Data::I64(_)
                )
                && entry
                    .value
                    .as_ref()
                    .is_some_and(|v| v.value.header.dtype.is_float())
            {
                // A bias is quantized from the graph instead (its scale is
                // determined), when its entry is replaced below.
                continue;
            }
            let field = match r.field {
                "scale" => entry.scale.as_ref(),
                "zerop" => entry.zerop.as_ref(),
                _ => entry.value.as_ref(),
            };
            let Some(field) = field else { continue };
            if self.edits.iter().any(|e| overlaps(&e.span, &field.span)) {
                // Already pointed at a new array (narrowed parameters).
                continue;
            }
            let name = plan
                .arrays
                .write(&q.dir, &r.shape, r.data)
                .map_err(write_error(q))?;
            if !push(&mut self.edits, text::replace_string(&field.span, &name)) {
                continue;
            }
            plan.fixed.push(Fixed {
                key: entry.key.clone(),
                what: format!(
                    "{} ({name}; `{}` is unchanged)",
                    r.what,
                    field.value.origin()
                ),
            });
            if let (Some(axis), Some(q)) = (r.axis, &entry.quantized_dimension) {
                if push(
                    &mut self.edits,
                    text::replace_raw(&q.span, &axis.to_string()),
                ) {
                    plan.fixed.push(Fixed {
                        key: entry.key.clone(),
                        what: format!(
                            "\"quantized_dimension\": {axis} (was {}): the channel axis in the new layout",
                            q.value
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Step 4: additions, in rounds, each on the set as the last left it;
/// never for a tensor a key left unresolved may still mean, nor for one
/// the user keeps float on purpose.
fn add_entries(
    graph: &Graph<'_>,
    analysis: &Analysis,
    options: &CheckOptions,
    plan: &mut FixPlan,
) -> Result<(), FixError> {
    let q = &analysis.qparam;
    let mut protected = protected(analysis);
    protected.extend(options.allow_float.iter().map(String::as_str));
    let mut propagating = options.clone();
    propagating.propagate = true;
    for _ in 0..MAX_ROUNDS {
        let set = reparse(q, &plan.text, options)?;
        let ctx = Context::new(graph, &set, &propagating);
        let mut additions: Vec<Addition> = complete::additions(&ctx, &protected);
        // Once nothing more is determined, calibrate what is left (once);
        // the rounds after derive what depends on it.
        if additions.is_empty() && plan.calibration.is_none() {
            if let Some(method) = options.model_runs.calibrate {
                let (calibrated, left, done) = calibrated::additions(&ctx, &protected, method);
                additions = calibrated;
                plan.left.extend(left);
                plan.calibration = done;
            }
        }
        // A key names every tensor of its name, in every subgraph: one
        // entry per name, the first subgraph's (the one calibrated).
        let mut named = HashSet::new();
        additions.retain(|a| named.insert(a.tensor.clone()));
        if additions.is_empty() {
            break;
        }
        let mut edits = Vec::new();
        let mut entries = Vec::new();
        for a in additions {
            if let Some(r) = a.replaces {
                let e = &set.entries[r];
                edits.push(text::remove_member(&set.text, &e.key_span, e.span.end));
            }
            entries.push(render(&set, &q.dir, &mut plan.arrays, &a).map_err(write_error(q))?);
            plan.fixed.push(Fixed {
                key: a.tensor.clone(),
                what: format!("added: {}", a.what),
            });
        }
        edits.extend(text::append_entries(&set, &entries));
        plan.text = text::apply(&set.text, &edits);
    }
    Ok(())
}

/// The set as the fixed text so far has it (new arrays readable).
fn reparse(
    q: &qparam::QParamFile,
    text: &str,
    options: &CheckOptions,
) -> Result<qparam::QParamFile, FixError> {
    let (set, problems) = q.reparse(text.to_string().into_bytes(), options.load.clone());
    if problems.iter().any(|p| {
        matches!(
            p,
            qparam::Problem::Syntax { .. }
                | qparam::Problem::NotAnObject { .. }
                | qparam::Problem::DuplicateKey { .. }
        )
    }) {
        return Err(FixError::Broken(q.path.clone()));
    }
    Ok(set)
}

/// Step 5, with a target: weights it reads as their input's type (int8
/// under uint8 activations) rewritten as uint8 where that is exact, into
/// new npy files; the others listed with the reason.
fn requantize_weights(
    graph: &Graph<'_>,
    analysis: &Analysis,
    options: &CheckOptions,
    plan: &mut FixPlan,
) -> Result<(), FixError> {
    if options.target.is_none() {
        return Ok(());
    }
    let q = &analysis.qparam;
    let set = reparse(q, &plan.text, options)?;
    let mut propagating = options.clone();
    propagating.propagate = true;
    let ctx = Context::new(graph, &set, &propagating);
    let (rewrite, left) = requantize::weights(&ctx);
    let mut edits = Vec::new();
    for r in rewrite {
        let e = r.entry;
        let (Some(d), Some(z), Some(v)) = (&e.dtype, &e.zerop, &e.value) else {
            continue;
        };
        let [(zshape, zdata), (vshape, vdata)] = requantize::arrays(&r);
        let zname = plan
            .arrays
            .write(&q.dir, &zshape, zdata)
            .map_err(write_error(q))?;
        let vname = plan
            .arrays
            .write(&q.dir, &vshape, vdata)
            .map_err(write_error(q))?;
        edits.push(text::replace_string(&d.span, QDType::U8.name()));
        edits.push(text::replace_string(&z.span, &zname));
        edits.push(text::replace_string(&v.span, &vname));
        plan.fixed.push(Fixed {
            key: e.key.clone(),
            what: format!("{} ({zname}, {vname})", r.what),
        });
    }
    plan.left.extend(left.into_iter().map(|l| Fixed {
        key: l.key,
        what: l.why,
    }));
    plan.text = text::apply(&set.text, &edits);
    Ok(())
}

/// Why `--fix` may change nothing at all, key by key: in a file that is
/// not UTF-8 the keys are guesses (and the text could not be written back
/// as it was); with a key written twice, which copy an edit means is a
/// guess. The user settles those first.
fn blocked(analysis: &Analysis) -> Option<Vec<Fixed>> {
    let q = &analysis.qparam;
    if !q.is_utf8 {
        return Some(vec![Fixed {
            key: q.path.display().to_string(),
            what:
                "the file is not UTF-8 (Q104): save it as UTF-8; --fix changes nothing until then"
                    .into(),
        }]);
    }
    let mut said = std::collections::HashSet::new();
    let twice: Vec<Fixed> = analysis
        .findings
        .iter()
        .filter(|d| std::ptr::eq(d.rule, &crate::analysis::rules::format::DUPLICATE_KEY))
        .filter_map(|d| d.key.as_deref())
        .filter(|k| said.insert(*k))
        .map(|key| Fixed {
            key: key.to_string(),
            what: "written more than once (Q103): keep one copy; --fix changes nothing until then"
                .into(),
        })
        .collect();
    (!twice.is_empty()).then_some(twice)
}

/// Tensors a key left unresolved may still mean: no entry is added for
/// them.
fn protected(analysis: &Analysis) -> std::collections::HashSet<&str> {
    analysis
        .resolutions
        .iter()
        .filter(|r| {
            matches!(r.verdict, Verdict::Ambiguous { .. } | Verdict::Unmatched) && r.note.is_none()
        })
        .flat_map(|r| r.candidates.iter())
        .filter(|c| c.confidence >= PROTECTED)
        .map(|c| c.name.as_str())
        .collect()
}

/// Q601's help for each tensor `--calibrate` left without an entry says
/// why (from `left`, what the fix reported), instead of offering the
/// calibration again.
pub fn explain_uncalibrated(analysis: &mut Analysis, left: &[Fixed]) {
    for d in &mut analysis.findings {
        if !std::ptr::eq(d.rule, &crate::analysis::rules::coverage::FLOAT_REMAINS) {
            continue;
        }
        let Some(tensor) = d.tensor.as_deref() else {
            continue;
        };
        let why = left
            .iter()
            .filter(|f| f.key == tensor)
            .find_map(|f| f.what.strip_prefix(calibrated::NOT_CALIBRATED));
        if let Some(why) = why {
            d.help = Some(format!(
                "`--calibrate` gave it no entry: {why}; add one by hand, or keep it float with `--allow-float '{tensor}'`"
            ));
        }
    }
}

/// Marks the Q601 findings `--fix` settles by adding an entry: the
/// tensors whose entry the set as it is already determines (later rounds
/// may add more, which stay unmarked). Works nothing out for tensors a key
/// may still mean, and reuses the analysis's name matching.
pub fn mark_fixable(graph: &Graph<'_>, analysis: &mut Analysis, options: &CheckOptions) {
    let q = &analysis.qparam;
    if blocked(analysis).is_some() || analysis.resolutions.len() != q.entries.len() {
        return;
    }
    let mut propagating = options.clone();
    propagating.propagate = true;
    // Tensors a key is renamed to are covered by the rename (and marked
    // so already); quantizing their data here would be wasted work.
    let mut skip = protected(analysis);
    skip.extend(options.allow_float.iter().map(String::as_str));
    skip.extend(
        analysis
            .resolutions
            .iter()
            .filter_map(|r| r.matched())
            .map(|m| m.name.as_str()),
    );
    let ctx = Context::with_resolutions(graph, q, &propagating, analysis.resolutions.clone());
    let added: std::collections::HashSet<String> = complete::additions(&ctx, &skip)
        .into_iter()
        .map(|a| a.tensor)
        .collect();
    drop(ctx);
    for d in &mut analysis.findings {
        if std::ptr::eq(d.rule, &crate::analysis::rules::coverage::FLOAT_REMAINS)
            && d.tensor.as_ref().is_some_and(|t| added.contains(t))
        {
            d.fixable = true;
        }
    }
}

/// Adds `edit` unless it overlaps one already there (the first stands).
/// Removes `entry`'s member from the set's text, saying `why`.
fn remove(
    q: &qparam::QParamFile,
    entry: &Entry,
    why: String,
    edits: &mut Vec<Edit>,
    fixed: &mut Vec<Fixed>,
) {
    edits.push(text::remove_member(
        &q.text,
        &entry.key_span,
        entry.span.end,
    ));
    fixed.push(Fixed {
        key: entry.key.clone(),
        what: format!("removed: {why}"),
    });
}

fn push(edits: &mut Vec<Edit>, edit: Edit) -> bool {
    if edits.iter().any(|e| overlaps(&e.span, &edit.span)) {
        return false;
    }
    edits.push(edit);
    true
}

fn overlaps(a: &crate::span::Span, b: &crate::span::Span) -> bool {
    a.start < b.end && b.start < a.end
}

/// An addition as entry text, its new arrays written.
fn render(
    set: &qparam::QParamFile,
    dir: &std::path::Path,
    arrays: &mut NewArrays,
    a: &Addition,
) -> std::io::Result<String> {
    let mut array = |x: &Array| -> std::io::Result<String> {
        Ok(match x {
            Array::Existing(literal) => literal.clone(),
            Array::Scales(v) => {
                text::quoted(&arrays.write(dir, &[v.len()], Data::F32(v.clone()))?)
            }
            Array::ZeroPoints(v) => {
                text::quoted(&arrays.write(dir, &[v.len()], Data::I64(v.clone()))?)
            }
        })
    };
    let mut fields = vec![
        ("dtype", text::quoted(a.dtype.name())),
        ("scale", array(&a.scale)?),
        ("zerop", array(&a.zerop)?),
        ("quantized_dimension", a.quantized_dimension.to_string()),
    ];
    if let Some((shape, data)) = &a.value {
        let name = arrays.write(dir, shape, data.clone())?;
        fields.push(("value", text::quoted(&name)));
    }
    Ok(text::entry_text(set, &a.tensor, &fields))
}

/// For a key renamed onto the output of an operator with a fused
/// activation (a BatchNorm whose ReLU was fused into its ADD): the
/// per-tensor parameters narrowed to what the activation lets through,
/// when the entry's cover more.
fn narrowed(graph: &Graph<'_>, entry: &Entry, t: &Tensor<'_>) -> Option<(f32, i64, String)> {
    use crate::model::fb::ActivationFunctionType as Act;
    let op = &graph.subgraphs[t.id.subgraph].operators[t.producer?];
    let (min, max) = match op.fused? {
        Act::RELU => (0.0, f64::INFINITY),
        Act::RELU6 => (0.0, 6.0),
        Act::RELU_N1_TO_1 => (-1.0, 1.0),
        _ => return None,
    };
    let dtype = entry.dtype.as_ref()?.value;
    let ([s], [z]) = (entry.scales()?, entry.zero_points()?) else {
        return None;
    };
    let (qlo, qhi) = dtype.range();
    let (lo, hi) = ((qlo - z) as f64 * s, (qhi - z) as f64 * s);
    let (nlo, nhi) = (lo.clamp(min, max), hi.clamp(min, max));
    if nlo - lo < *s && hi - nhi < *s {
        return None;
    }
    let (ns, nz) = complete::covering(dtype, nlo, nhi)?;
    Some((
        ns as f32,
        nz,
        format!(
            "parameters narrowed to what the {:?} fused into {} #{} lets through ({} .. {}, was {} .. {})",
            op.fused?, op.opcode, op.index, nlo as f32, nhi as f32, lo as f32, hi as f32
        ),
    ))
}

/// Whether `t` is the bias input of a weighted operator.
fn is_bias(graph: &Graph<'_>, t: &Tensor<'_>) -> bool {
    let sg = &graph.subgraphs[t.id.subgraph];
    t.consumers
        .iter()
        .any(|&o| sg.operators[o].has_bias(t.id.index))
}

/// Whether two entries carry the same parameters.
fn same_params(a: &Entry, b: &Entry) -> bool {
    a.dtype.as_ref().map(|d| d.value) == b.dtype.as_ref().map(|d| d.value)
        && a.scales() == b.scales()
        && a.zero_points() == b.zero_points()
        && a.quantized_dimension.as_ref().map(|q| q.value)
            == b.quantized_dimension.as_ref().map(|q| q.value)
        && a.value.is_none()
        && b.value.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rules::coverage::FLOAT_REMAINS;

    /// The mlp set without its input's entry, checked: Q601 on `tico::x`
    /// offers the calibration until a calibration's reason is known, then
    /// gives that reason.
    #[test]
    fn q601_says_why_calibration_left_a_tensor() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(root.join("mlp.qparam")).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
        let path = dir.path().join("qparam.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut set: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap();
        set.remove("tico::x").unwrap();
        std::fs::write(&path, serde_json::Value::Object(set).to_string()).unwrap();
        let file = crate::model::CircleFile::open(root.join("mlp.circle")).unwrap();
        let graph = Graph::new(&file);
        let mut analysis = crate::analysis::check(&graph, &path, &CheckOptions::default()).unwrap();
        let help = |a: &Analysis| {
            a.findings
                .iter()
                .find(|d| {
                    std::ptr::eq(d.rule, &FLOAT_REMAINS) && d.tensor.as_deref() == Some("tico::x")
                })
                .and_then(|d| d.help.clone())
                .unwrap()
        };
        assert!(help(&analysis).contains("--calibrate SAMPLES"));
        let left = [Fixed {
            key: "tico::x".into(),
            what: format!(
                "{}its value was not computed (GATHER #0: no kernel)",
                calibrated::NOT_CALIBRATED
            ),
        }];
        explain_uncalibrated(&mut analysis, &left);
        let said = help(&analysis);
        assert!(
            said.contains("gave it no entry: its value was not computed (GATHER #0: no kernel)"),
            "{said}"
        );
    }
}
