//! `--format json`: the contract CI scripts read. Fields are only ever
//! added; see docs/check-json.md.

use serde::Serialize;

use super::View;
use crate::diagnostic::{Severity, Suggestion};

/// The contract's version: raised when a field changes meaning or goes.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    diagnostics: Vec<Item<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Item<'a> {
    code: &'static str,
    severity: Severity,
    key: Option<&'a str>,
    field: Option<&'static str>,
    tensor: Option<&'a str>,
    message: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    help: Option<&'a str>,
    suggestions: &'a [Suggestion],
    fixable: bool,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    /// Findings `--select`/`--ignore` left out of `diagnostics`.
    hidden: usize,
    /// Shown findings `check --fix` resolves.
    fixable: usize,
}

pub fn render(view: &View<'_>) -> String {
    let qparam = &view.analysis.qparam;
    let diagnostics = view
        .shown
        .iter()
        .map(|d| {
            let pos = d.span.as_ref().and_then(|s| qparam.place(s.start));
            Item {
                code: d.code(),
                severity: d.severity,
                key: d.key.as_deref(),
                field: d.field,
                tensor: d.tensor.as_deref(),
                message: &d.message,
                line: pos.map(|p| p.0),
                column: pos.map(|p| p.1),
                help: d.help.as_deref(),
                suggestions: &d.suggestions,
                fixable: d.fixable,
            }
        })
        .collect();
    let summary = Summary {
        errors: view.count(Severity::Error),
        warnings: view.count(Severity::Warning),
        hidden: view.hidden,
        fixable: view.fixable(),
    };
    serde_json::to_string_pretty(&Output {
        version: VERSION,
        diagnostics,
        summary,
    })
    .expect("report serializes")
        + "\n"
}
