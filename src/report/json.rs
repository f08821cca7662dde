//! `--format json`: the contract CI scripts read. Fields are only ever
//! added; see docs/check-json.md.

use serde::Serialize;

use super::line_col;
use crate::analysis::diagnostic::{Severity, Suggestion};
use crate::analysis::Analysis;

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
}

pub fn render(analysis: &Analysis) -> String {
    let text = &analysis.qparam.text;
    let diagnostics = analysis
        .diagnostics
        .iter()
        .map(|d| {
            let pos = d.span.as_ref().map(|s| line_col(text, s.start));
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
        errors: analysis.count(Severity::Error),
        warnings: analysis.count(Severity::Warning),
    };
    serde_json::to_string_pretty(&Output {
        diagnostics,
        summary,
    })
    .expect("report serializes")
        + "\n"
}
