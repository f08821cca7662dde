//! Analysis: cross-references a qparam set with a model, reports every
//! problem, and concludes a [`Plan`]. The reader's typed problems become
//! the Q1xx-Q3xx findings; the rule families in [`rules`] report the rest;
//! [`matcher`] proposes tensors for names the model does not have;
//! [`propagate`] and [`precision`] work out what `apply` adds beyond the
//! entries.

pub mod matcher;
pub mod precision;
pub mod propagate;
pub mod rules;
#[cfg(test)]
pub(crate) mod test_sets;
pub mod weight_only;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};
use crate::graph::{Graph, Tensor, TensorId};
use crate::model::fb::TensorType;
use crate::plan::{FloatOp, Plan, QuantParams, Source, TensorWrite};
use crate::qparam::{self, Entry, LoadOptions, Problem, QParamFile, QParamReadError};

/// Options of a check run. They change what is concluded (and so what
/// `apply` writes); what a report shows is the report's business.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    pub load: LoadOptions,
    pub allow_float: Vec<String>,
    /// Fill value-preserving outputs from their inputs (`--propagate`).
    pub propagate: bool,
    /// Keep float graph inputs and outputs (`--float-io`).
    pub float_io: bool,
    /// The runtime whose limits the Q8xx rules check (`--target`).
    pub target: Option<Target>,
    /// What to do with an operator the target has no quantized kernel for
    /// (`--fallback`); only with a target.
    pub fallback: Option<Fallback>,
    /// What the model may be run for: mapping keys by value, calibrating.
    pub model_runs: crate::calibrate::ModelRuns,
}

/// What to do with an operator a target has no quantized kernel for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// Run it in float, between a DEQUANTIZE of each quantized input and a
    /// QUANTIZE of each quantized output (Q810 says which).
    Float,
}

impl Fallback {
    pub fn parse(name: &str) -> Option<Fallback> {
        match name {
            "float" => Some(Fallback::Float),
            _ => None,
        }
    }
}

/// A runtime whose support is measured (docs/targets.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The ONE runtime, onert 0.1.0, its CPU backend.
    Onert,
}

impl Target {
    pub fn parse(name: &str) -> Option<Target> {
        match name {
            "onert" => Some(Target::Onert),
            _ => None,
        }
    }
}

/// A name given to `--allow-float` that no tensor of the model has.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("--allow-float `{name}` names no tensor of the model")]
#[diagnostic(code(args::allow_float), help("{help}"))]
pub struct UnknownAllowFloat {
    pub name: String,
    pub help: String,
}

impl CheckOptions {
    /// Refuses an `--allow-float` name the model does not have (a typo
    /// would otherwise leave the tensor meant without its waiver, silently).
    pub fn check_allow_float(&self, graph: &Graph<'_>) -> Result<(), UnknownAllowFloat> {
        let Some(name) = self.allow_float.iter().find(|n| graph.named(n).is_empty()) else {
            return Ok(());
        };
        let nearest = graph
            .tensors()
            .map(|t| (strsim::normalized_levenshtein(name, t.name), t.name))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let help = match nearest {
            Some((similarity, nearest)) if similarity >= 0.5 => {
                format!("did you mean `{nearest}`? `q-implant inspect MODEL` lists every tensor")
            }
            _ => "`q-implant inspect MODEL` lists every tensor".to_string(),
        };
        Err(UnknownAllowFloat {
            name: name.clone(),
            help,
        })
    }
}

/// What the rules look at.
pub struct Context<'a> {
    pub graph: &'a Graph<'a>,
    pub qparam: &'a QParamFile,
    pub options: &'a CheckOptions,
    /// For each entry (by index), the tensors its key names in any subgraph.
    pub targets: Vec<Vec<TensorId>>,
    /// The entry naming each tensor.
    pub by_tensor: HashMap<TensorId, usize>,
    /// For each entry, the matcher's conclusion (`Named` for keys that name
    /// a tensor).
    pub resolutions: Vec<matcher::Resolution>,
    /// Tensors propagation gives parameters, with the entry they copy.
    pub fills: Vec<propagate::Fill>,
    filled: HashMap<TensorId, usize>,
    /// Every float32 tensor the plan gives parameters.
    pub quantized: HashSet<TensorId>,
    /// Tensor names the matcher confidently gives an unknown key, with it.
    matched: HashMap<String, usize>,
    /// Operators that run in float whatever their inputs: those the target
    /// has no quantized kernel for, with `--fallback float`.
    pub float_ops: HashSet<precision::OpId>,
    /// Float32 tensors that stay float because only those operators read
    /// them (their constants, a chain's inner activations): no entry is
    /// written or needed for them.
    pub kept_float: HashSet<TensorId>,
    /// Quantized weights read by hybrid kernels under float activations
    /// ([`weight_only`]): no conversion goes around their operators.
    pub weight_only: HashSet<TensorId>,
}

impl<'a> Context<'a> {
    pub fn new(graph: &'a Graph<'a>, qparam: &'a QParamFile, options: &'a CheckOptions) -> Self {
        Context::build(graph, qparam, options, None)
    }

    /// A context for a set whose keys the matcher has already resolved
    /// (the same set, against the same graph).
    pub fn with_resolutions(
        graph: &'a Graph<'a>,
        qparam: &'a QParamFile,
        options: &'a CheckOptions,
        resolutions: Vec<matcher::Resolution>,
    ) -> Self {
        Context::build(graph, qparam, options, Some(resolutions))
    }

    fn build(
        graph: &'a Graph<'a>,
        qparam: &'a QParamFile,
        options: &'a CheckOptions,
        resolutions: Option<Vec<matcher::Resolution>>,
    ) -> Self {
        let targets: Vec<Vec<TensorId>> = qparam
            .entries
            .iter()
            .map(|e| graph.named(&e.key).to_vec())
            .collect();
        let mut by_tensor = HashMap::new();
        for (i, ids) in targets.iter().enumerate() {
            for id in ids {
                by_tensor.entry(*id).or_insert(i);
            }
        }
        let fills = if options.propagate {
            propagate::fills(graph, &qparam.entries, &by_tensor)
        } else {
            Vec::new()
        };
        let filled = fills
            .iter()
            .enumerate()
            .map(|(i, f)| (f.tensor, i))
            .collect();
        let mut quantized: HashSet<TensorId> = HashSet::new();
        for (entry, ids) in qparam.entries.iter().zip(&targets) {
            if entry.dtype.is_some() {
                quantized.extend(
                    ids.iter()
                        .filter(|id| graph.tensor(**id).dtype == TensorType::FLOAT32),
                );
            }
        }
        quantized.extend(fills.iter().map(|f| f.tensor));
        let resolutions = resolutions.unwrap_or_else(|| {
            matcher::resolve(graph, qparam, &targets, &by_tensor, &options.model_runs)
        });
        let mut matched = HashMap::new();
        for (i, r) in resolutions.iter().enumerate() {
            if let Some(m) = r.matched() {
                matched.entry(m.name.clone()).or_insert(i);
            }
        }
        let mut ctx = Context {
            graph,
            qparam,
            options,
            targets,
            by_tensor,
            resolutions,
            fills,
            filled,
            quantized,
            matched,
            float_ops: HashSet::new(),
            kept_float: HashSet::new(),
            weight_only: HashSet::new(),
        };
        if options.fallback == Some(Fallback::Float) {
            ctx.fall_back_to_float();
        }
        ctx.weight_only = weight_only::weights(graph, &ctx.quantized, |id| ctx.entry_for(id));
        ctx
    }

    /// Works out, once, the operators the target has no quantized kernel
    /// for, which run in float, and the tensors that then stay float.
    fn fall_back_to_float(&mut self) {
        let forced = rules::target::no_kernel_ops(self);
        let kept = precision::kept_float(self.graph, &forced);
        self.quantized.retain(|t| !kept.contains(t));
        self.float_ops = forced;
        self.kept_float = kept;
    }

    /// The conversions the plan inserts, and the boundaries none bridges.
    pub fn boundaries(&self) -> (Vec<crate::plan::Conversion>, Vec<precision::Unconvertible>) {
        precision::boundaries(
            self.graph,
            &self.quantized,
            &self.float_ops,
            &self.weight_only,
        )
    }

    /// Whether the set quantizes weights only (its float activations are
    /// float by design): every entry is of a weight-only kind, names
    /// constants (or its key is confidently matched to one; a key that
    /// names nothing is Q501's), at least one does, and nothing is
    /// propagated.
    pub fn is_weight_only_set(&self) -> bool {
        let mut any = false;
        for (i, e) in self.qparam.entries.iter().enumerate() {
            if !weight_only::weight_only_kind(e) {
                return false;
            }
            match self.names_constants(i) {
                Some(false) => return false,
                Some(true) => any = true,
                None => {}
            }
        }
        any && self.fills.is_empty()
    }

    /// Whether entry `i` names constants only: the tensors its key names,
    /// or else the one the matcher gives it; `None` when it names none.
    fn names_constants(&self, i: usize) -> Option<bool> {
        let graph = self.graph;
        let constant = |id: &TensorId| graph.tensor(*id).is_constant();
        let ids = match self.targets[i].as_slice() {
            [] => graph.named(&self.resolutions[i].matched()?.name),
            ids => ids,
        };
        (!ids.is_empty()).then(|| ids.iter().all(constant))
    }

    /// The unknown key the matcher confidently gives the tensor `name`.
    pub fn key_probably_meaning(&self, name: &str) -> Option<&'a str> {
        let qparam = self.qparam;
        self.matched
            .get(name)
            .map(|&i| qparam.entries[i].key.as_str())
    }

    /// The entry of the unknown key the matcher confidently gives the
    /// tensor `name`.
    pub fn entry_probably_meaning(&self, name: &str) -> Option<&'a Entry> {
        let qparam = self.qparam;
        self.matched.get(name).map(|&i| &qparam.entries[i])
    }

    /// The entry `id` has, or the one an unknown key meaning it has.
    pub fn entry_or_probable(&self, id: TensorId) -> Option<&'a Entry> {
        self.entry_for(id)
            .or_else(|| self.entry_probably_meaning(self.graph.tensor(id).name))
    }

    /// Every entry with every tensor it names.
    pub fn resolved(&self) -> impl Iterator<Item = (&'a Entry, &'a Tensor<'a>)> + '_ {
        let graph = self.graph;
        self.qparam
            .entries
            .iter()
            .zip(&self.targets)
            .flat_map(move |(e, ids)| ids.iter().map(move |id| (e, graph.tensor(*id))))
    }

    pub fn entry_for(&self, id: TensorId) -> Option<&'a Entry> {
        self.by_tensor.get(&id).map(|&i| &self.qparam.entries[i])
    }

    /// The fill propagation gives `id`, if any.
    pub fn fill_for(&self, id: TensorId) -> Option<&propagate::Fill> {
        self.filled.get(&id).map(|&i| &self.fills[i])
    }

    /// Whether `name` was passed to `--allow-float`.
    pub fn allowed_float(&self, name: &str) -> bool {
        self.options.allow_float.iter().any(|n| n == name)
    }
}

/// The result of a check: the parsed set, every finding, and the plan.
pub struct Analysis {
    pub qparam: QParamFile,
    /// Every finding, in file order (findings about the model last).
    pub findings: Vec<Diagnostic>,
    /// The matcher's conclusion for each entry.
    pub resolutions: Vec<matcher::Resolution>,
    pub plan: Plan,
}

impl Analysis {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Reads the qparam set and analyses it against `graph`.
pub fn check(
    graph: &Graph<'_>,
    qparam_path: &Path,
    options: &CheckOptions,
) -> Result<Analysis, QParamReadError> {
    let (qparam, problems) = qparam::load(qparam_path, options.load.clone())?;
    Ok(analyse(graph, qparam, &problems, options))
}

/// Analyses a parsed qparam set against `graph`.
pub fn analyse(
    graph: &Graph<'_>,
    qparam: QParamFile,
    problems: &[Problem],
    options: &CheckOptions,
) -> Analysis {
    let mut findings: Vec<Diagnostic> = problems
        .iter()
        .filter_map(|p| rules::diagnose(p, &qparam.text))
        .collect();
    // Without a readable object of entries, nothing else can be concluded;
    // nor from a file that is not UTF-8, whose keys are guesses.
    let fatal = problems.iter().any(|p| {
        matches!(
            p,
            Problem::Syntax { .. } | Problem::NotAnObject { .. } | Problem::NotUtf8 { .. }
        )
    });
    let (resolutions, plan_parts) = if fatal {
        (Vec::new(), None)
    } else {
        let ctx = Context::new(graph, &qparam, options);
        rules::check(&ctx, &mut findings);
        rules::fields::mark_fixable(&qparam.entries, &mut findings);
        rules::names::unmark_left_keys(&ctx, &mut findings);
        // `--fix` changes nothing while a key is written twice.
        if findings
            .iter()
            .any(|d| std::ptr::eq(d.rule, &rules::format::DUPLICATE_KEY))
        {
            findings.iter_mut().for_each(|d| d.fixable = false);
        }
        let (conversions, _) = ctx.boundaries();
        let writes = writes(&ctx);
        let mut float_ops: Vec<FloatOp> = ctx
            .float_ops
            .iter()
            .map(|&(subgraph, op)| {
                let operator = graph.subgraphs[subgraph].operators[op].opcode.to_string();
                FloatOp {
                    subgraph,
                    op,
                    what: format!("{operator} #{op} (subgraph {subgraph})"),
                    operator,
                }
            })
            .collect();
        float_ops.sort_by_key(|f| (f.subgraph, f.op));
        let bias_moves = rules::target::bias_moves(&ctx);
        (
            ctx.resolutions,
            Some((writes, conversions, float_ops, bias_moves)),
        )
    };
    // File order; findings without a place (about the model) last.
    findings.sort_by_key(|d| (d.span.as_ref().map_or(usize::MAX, |s| s.start), d.code()));
    let (writes, conversions, float_ops, bias_moves) = plan_parts.unwrap_or_default();
    let mut plan = Plan::new(writes, conversions, options.float_io, &findings);
    plan.float_ops = float_ops;
    plan.bias_moves = bias_moves;
    Analysis {
        qparam,
        findings,
        resolutions,
        plan,
    }
}

/// Each complete entry's float32 targets, then the fills.
fn writes(ctx: &Context<'_>) -> Vec<TensorWrite> {
    let mut out = Vec::new();
    for (entry, ids) in ctx.qparam.entries.iter().zip(&ctx.targets) {
        let Some(params) = params_of(entry) else {
            continue;
        };
        for &id in ids {
            let t = ctx.graph.tensor(id);
            if t.dtype != TensorType::FLOAT32 || ctx.kept_float.contains(&id) {
                continue;
            }
            out.push(TensorWrite {
                tensor: id,
                name: t.name.to_string(),
                params: params.clone(),
                value: entry.value.as_ref().map(|v| v.value.data()),
                source: Source::Entry {
                    key: entry.key.clone(),
                },
            });
        }
    }
    for fill in ctx
        .fills
        .iter()
        .filter(|f| !ctx.kept_float.contains(&f.tensor))
    {
        let entry = &ctx.qparam.entries[fill.entry];
        let Some(params) = params_of(entry) else {
            continue;
        };
        let sg = &ctx.graph.subgraphs[fill.from.subgraph];
        out.push(TensorWrite {
            tensor: fill.tensor,
            name: ctx.graph.tensor(fill.tensor).name.to_string(),
            params,
            value: None,
            source: Source::Propagated {
                from: ctx.graph.tensor(fill.from).name.to_string(),
                op: format!("{} #{}", sg.operators[fill.op].opcode, fill.op),
            },
        });
    }
    out
}

/// The parameters a complete entry writes.
pub fn params_of(entry: &Entry) -> Option<QuantParams> {
    if !entry.is_complete() {
        return None;
    }
    Some(QuantParams {
        dtype: entry.dtype.as_ref()?.value,
        scale: entry.scales()?.iter().map(|&s| s as f32).collect(),
        zero_point: entry.zero_point_array()?.clone(),
        quantized_dimension: entry.quantized_dimension.as_ref()?.value,
        block_size: entry.block_size.as_ref().map(|b| b.value),
    })
}
