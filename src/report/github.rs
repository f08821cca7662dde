//! `--format github`: one workflow command per finding, so GitHub shows it
//! on the line of qparam.json.

use std::fmt::Write;

use super::{Sources, View};
use crate::diagnostic::Severity;

pub fn render(view: &View<'_>, sources: &Sources<'_>) -> String {
    let qparam = &view.analysis.qparam;
    let mut out = String::new();
    for d in &view.shown {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let (file, pos) = match &d.span {
            Some(s) => (sources.qparam, Some(qparam.line_col(s.start))),
            None => (sources.model, None),
        };
        let mut props = format!("file={}", escape_property(&file.display().to_string()));
        if let Some((line, col)) = pos {
            let _ = write!(props, ",line={line},col={col}");
        }
        let _ = write!(
            props,
            ",title={}",
            escape_property(&format!("{} {}", d.code(), d.rule.name))
        );
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message = format!("{message}\nhelp: {help}");
        }
        let _ = writeln!(out, "::{level} {props}::{}", escape_data(&message));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
