//! `--format sarif`: SARIF 2.1.0, one run, the rules that fired described
//! in the driver.

use serde_json::{json, Value};

use super::{Sources, View};
use crate::diagnostic::{Rule, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

pub fn render(view: &View<'_>, sources: &Sources<'_>) -> String {
    let qparam = &view.analysis.qparam;
    let mut rules: Vec<&'static Rule> = view.shown.iter().map(|d| d.rule).collect();
    rules.sort_by_key(|r| r.code);
    rules.dedup_by_key(|r| r.code);
    let rule_index = |code: &str| rules.iter().position(|r| r.code == code);
    let uri = |p: &std::path::Path| uri_reference(p);
    let results: Vec<Value> = view
        .shown
        .iter()
        .map(|d| {
            let location = match &d.span {
                Some(s) => {
                    let (sl, sc) = qparam.line_col(s.start);
                    let (el, ec) = qparam.line_col(s.end);
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
            // Columns count characters, as everywhere in q-implant.
            "columnKind": "unicodeCodePoints",
        }],
    });
    serde_json::to_string_pretty(&doc).expect("sarif serializes") + "\n"
}

/// A path as a URI reference: `/` between components, every byte but the
/// unreserved ones percent-encoded (a space, `#`, `%`, a drive's `:`, bytes
/// that are not UTF-8).
fn uri_reference(path: &std::path::Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b'\\' if cfg!(windows) => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri_reference;
    use std::path::Path;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            uri_reference(Path::new("export/qparam.json")),
            "export/qparam.json"
        );
        assert_eq!(
            uri_reference(Path::new("sp dir#1%/q.json")),
            "sp%20dir%231%25/q.json"
        );
        assert_eq!(uri_reference(Path::new("caf\u{e9}")), "caf%C3%A9");
    }
}
