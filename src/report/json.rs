//! `--format json`: the contract CI scripts read. Fields are only ever
//! added; see docs/check-json.md.

use serde::Serialize;

use super::View;
use crate::diagnostic::{Severity, Suggestion};

#[derive(Serialize)]
struct Output<'a> {
    diagnostics: Vec<Item<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Item<'a> {
    code: &'static str,
    severity: Severity,
    key: Option<&'a str>,
    field: Option<&'static str>,
    message: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    help: Option<&'a str>,
    suggestions: &'a [Suggestion],
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    /// Findings `--select`/`--ignore` left out of `diagnostics`.
    hidden: usize,
}

pub fn render(view: &View<'_>) -> String {
    let qparam = &view.analysis.qparam;
    let diagnostics = view
        .shown
        .iter()
        .map(|d| {
            let pos = d.span.as_ref().map(|s| qparam.line_col(s.start));
            Item {
                code: d.code(),
                severity: d.severity,
                key: d.key.as_deref(),
                field: d.field,
                message: &d.message,
                line: pos.map(|p| p.0),
                column: pos.map(|p| p.1),
                help: d.help.as_deref(),
                suggestions: &d.suggestions,
            }
        })
        .collect();
    let summary = Summary {
        errors: view.count(Severity::Error),
        warnings: view.count(Severity::Warning),
        hidden: view.hidden,
    };
    serde_json::to_string_pretty(&Output {
        diagnostics,
        summary,
    })
    .expect("report serializes")
        + "\n"
}
