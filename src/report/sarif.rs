//! `--format sarif`: SARIF 2.1.0, one run, the rules that fired described
//! in the driver.

use serde_json::{json, Value};

use super::{line_col, Sources};
use crate::analysis::diagnostic::Severity;
use crate::analysis::rules::Rule;
use crate::analysis::Analysis;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

pub fn render(analysis: &Analysis, sources: &Sources<'_>) -> String {
    let mut rules: Vec<&'static Rule> = analysis.diagnostics.iter().map(|d| d.rule).collect();
    rules.sort_by_key(|r| r.code);
    rules.dedup_by_key(|r| r.code);
    let rule_index = |code: &str| rules.iter().position(|r| r.code == code);
    let uri = |p: &std::path::Path| p.display().to_string().replace('\\', "/");
    let results: Vec<Value> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            let location = match &d.span {
                Some(s) => {
                    let (sl, sc) = line_col(&analysis.qparam.text, s.start);
                    let (el, ec) = line_col(&analysis.qparam.text, s.end);
                    json!({"physicalLocation": {
                        "artifactLocation": {"uri": uri(sources.qparam)},
                        "region": {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec}
                    }})
                }
                None => json!({"physicalLocation": {"artifactLocation": {"uri": uri(sources.model)}}}),
            };
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text = format!("{text}\nhelp: {help}");
            }
            let mut result = json!({
                "ruleId": d.code(),
                "ruleIndex": rule_index(d.code()),
                "level": level(d.severity),
                "message": {"text": text},
                "locations": [location],
            });
            if !d.suggestions.is_empty() {
                result["properties"] = json!({"suggestions": d.suggestions});
            }
            result
        })
        .collect();
    let driver_rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "help": {"text": r.docs, "markdown": r.docs},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "q-implant",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": driver_rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).expect("sarif serializes") + "\n"
}
