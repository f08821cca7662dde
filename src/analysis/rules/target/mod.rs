//! Q8xx: what a runtime rejects or computes wrongly, for `--target`.
//!
//! Each runtime is a module of its own: its support table (what it does
//! with each quantized operator on each type, and the evidence: a cell of
//! its measured matrix, or a run outside it), and its rules, which read the
//! table. What every target's rules share is [`site`] (the operators that
//! run quantized, the entry that gives a tensor its parameters, where a
//! finding is placed); the table's vocabulary is [`support`]. Adding a
//! runtime is one module with its table and rules, a [`Target`] variant
//! and its line in [`check`].
//!
//! onert 0.1.0 (its CPU backend) is the one target so far.

pub mod onert;
pub mod site;
pub mod support;

use std::collections::HashSet;

use crate::analysis::precision::OpId;
use crate::analysis::{Context, Target};
use crate::diagnostic::Diagnostic;

pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    match ctx.options.target {
        Some(Target::Onert) => onert::check(ctx, out),
        None => {}
    }
}

/// The operators the context's target has no quantized kernel for, which
/// `--fallback float` runs in float.
pub fn no_kernel_ops(ctx: &Context<'_>) -> HashSet<OpId> {
    match ctx.options.target {
        Some(Target::Onert) => onert::no_kernel_ops(ctx),
        None => HashSet::new(),
    }
}

/// The biases the context's target needs moved off their layers.
pub fn bias_moves(ctx: &Context<'_>) -> Vec<crate::plan::BiasMove> {
    match ctx.options.target {
        Some(Target::Onert) => onert::weights::bias_moves(ctx),
        None => Vec::new(),
    }
}

/// The support table of `target`.
pub fn support(target: Target) -> &'static support::Support {
    match target {
        Target::Onert => &onert::table::ONERT,
    }
}

/// docs/targets.md: what the targets were measured to do, and which rule
/// reports what fails (`q-implant rules --targets-markdown`).
pub fn markdown() -> String {
    onert::doc::markdown()
}
