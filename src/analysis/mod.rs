//! Analysis: cross-references a qparam set with a model and reports every
//! problem. Parsing the qparam file reports the Q1xx-Q3xx findings; the rule
//! families in [`rules`] report the rest; [`matcher`] proposes tensors for
//! names the model does not have.

pub mod diagnostic;
pub mod matcher;
pub mod rules;

use std::collections::HashMap;
use std::path::Path;

use diagnostic::{Diagnostic, Severity};

use crate::graph::{Graph, Tensor, TensorId};
use crate::qparam::{self, Entry, LoadOptions, QParamFile, QParamReadError};

/// What the rules look at.
pub struct Context<'a> {
    pub graph: &'a Graph<'a>,
    pub qparam: &'a QParamFile,
    /// For each entry (by index), the tensors its key names in any subgraph.
    pub targets: Vec<Vec<TensorId>>,
    /// The entry naming each tensor.
    pub by_tensor: HashMap<TensorId, usize>,
    /// Tensor names allowed to stay float (mixed precision).
    pub allow_float: &'a [String],
    /// For each entry whose key names no tensor, the matcher's candidates.
    pub suggestions: Vec<Vec<diagnostic::Suggestion>>,
    /// For each entry, the matcher's joint conclusion (Unmatched for keys
    /// that name a tensor).
    pub verdicts: Vec<matcher::Verdict>,
    /// Tensors `--propagate` gives parameters, with the entry they copy.
    pub propagated: HashMap<TensorId, usize>,
}

impl<'a> Context<'a> {
    pub fn new(
        graph: &'a Graph<'a>,
        qparam: &'a QParamFile,
        options: &'a CheckOptions,
    ) -> Context<'a> {
        let allow_float = &options.allow_float[..];
        let mut by_name: HashMap<&str, Vec<TensorId>> = HashMap::new();
        for t in graph.tensors() {
            by_name.entry(t.name).or_default().push(t.id);
        }
        let targets: Vec<Vec<TensorId>> = qparam
            .entries
            .iter()
            .map(|e| by_name.get(e.key.as_str()).cloned().unwrap_or_default())
            .collect();
        let mut by_tensor = HashMap::new();
        for (i, ids) in targets.iter().enumerate() {
            for id in ids {
                by_tensor.insert(*id, i);
            }
        }
        let mut ctx = Context {
            graph,
            qparam,
            targets,
            by_tensor,
            allow_float,
            suggestions: Vec::new(),
            propagated: HashMap::new(),
            verdicts: Vec::new(),
        };
        if options.propagate {
            ctx.propagated = crate::implant::propagate::fills(&ctx)
                .into_iter()
                .map(|f| (f.tensor, f.entry))
                .collect();
        }
        ctx.suggestions = qparam
            .entries
            .iter()
            .zip(&ctx.targets)
            .map(|(e, ids)| {
                if ids.is_empty() {
                    matcher::suggest(&ctx, e)
                } else {
                    Vec::new()
                }
            })
            .collect();
        ctx.verdicts = matcher::resolve(&ctx.suggestions);
        ctx
    }

    /// The unknown key the matcher confidently gives the tensor `name`.
    pub fn key_probably_meaning(&self, name: &str) -> Option<&'a str> {
        let qparam = self.qparam;
        qparam
            .entries
            .iter()
            .zip(&self.verdicts)
            .find(|(_, v)| matches!(v, matcher::Verdict::Match(s) if s.name == name))
            .map(|(e, _)| e.key.as_str())
    }

    /// Entries with the first tensor each names.
    pub fn resolved(&self) -> impl Iterator<Item = (&'a Entry, &'a Tensor<'a>)> + '_ {
        self.qparam
            .entries
            .iter()
            .zip(&self.targets)
            .filter_map(|(e, ids)| Some((e, self.graph.tensor(*ids.first()?))))
    }

    pub fn entry_for(&self, id: TensorId) -> Option<&'a Entry> {
        self.by_tensor.get(&id).map(|&i| &self.qparam.entries[i])
    }
}

/// Options of a check run.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    pub load: LoadOptions,
    /// Only these codes or prefixes (empty: all).
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub allow_float: Vec<String>,
    /// Count tensors `apply --propagate` would fill as covered.
    pub propagate: bool,
}

/// The result of a check: the parsed set and its findings, in file order.
pub struct Analysis {
    pub qparam: QParamFile,
    pub diagnostics: Vec<Diagnostic>,
    /// The matcher's conclusion for each entry (see [`matcher::resolve`]).
    pub verdicts: Vec<matcher::Verdict>,
}

impl Analysis {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Findings that fail the run: errors, and warnings when denied.
    pub fn failing(&self, deny_warnings: bool) -> usize {
        self.count(Severity::Error)
            + if deny_warnings {
                self.count(Severity::Warning)
            } else {
                0
            }
    }
}

/// Reads the qparam set and runs every selected rule against `graph`.
pub fn check(
    graph: &Graph<'_>,
    qparam_path: &Path,
    options: &CheckOptions,
) -> Result<Analysis, QParamReadError> {
    let mut diagnostics = Vec::new();
    let qparam = qparam::load(qparam_path, options.load, &mut diagnostics)?;
    let verdicts = {
        let ctx = Context::new(graph, &qparam, options);
        rules::values::check(&ctx, &mut diagnostics);
        rules::names::check(&ctx, &mut diagnostics);
        rules::coverage::check(&ctx, &mut diagnostics);
        rules::spec::check(&ctx, &mut diagnostics);
        ctx.verdicts
    };
    diagnostics.retain(|d| {
        (options.select.is_empty() || rules::matches(d.code(), &options.select))
            && !rules::matches(d.code(), &options.ignore)
    });
    // File order; findings without a place (about the model) last.
    diagnostics.sort_by_key(|d| (d.span.as_ref().map_or(usize::MAX, |s| s.start), d.code()));
    Ok(Analysis {
        qparam,
        diagnostics,
        verdicts,
    })
}
