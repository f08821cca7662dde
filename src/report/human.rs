//! The default report for people: findings grouped by what they are about.
//! One header per key with its place in qparam.json, its findings beneath
//! (each with its line and column, help and candidates); then the findings
//! about tensors the set has no entry for, grouped by rule; then the
//! closing line. Nothing is wrapped: a terminal wraps long lines itself,
//! and a pipe or a log keeps them whole.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::{closing, place, printable, Paint, Sources, Style, View};
use crate::diagnostic::{Diagnostic, Rule};

/// Candidates shown per finding (`--format full` and JSON show all).
const CANDIDATES: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Group<'a> {
    /// About the file as a whole (its syntax, its top level).
    File,
    Key(&'a str),
    /// About the model, grouped by rule (its code).
    Rule(&'static str),
}

pub fn render(view: &View<'_>, sources: &Sources<'_>, style: &Style) -> String {
    let page = Page::new(view, sources, style);
    let mut helped: HashSet<(&str, &str)> = HashSet::new();
    let mut out = String::new();
    for (group, findings) in &groups(view) {
        page.header(&mut out, group, findings);
        page.findings(&mut out, group, findings, &mut helped);
        out.push('\n');
    }
    if !style.quiet {
        out.push_str(&closing(view, sources));
    }
    out
}

/// The shown findings by what they are about: the file first, then keys
/// in file order, then the model's findings by rule.
fn groups<'v>(view: &View<'v>) -> Vec<(Group<'v>, Vec<&'v Diagnostic>)> {
    let mut groups: Vec<(Group<'_>, Vec<&Diagnostic>)> = Vec::new();
    let mut index: HashMap<Group<'_>, usize> = HashMap::new();
    for &d in &view.shown {
        let group = match (&d.key, &d.span) {
            (Some(k), _) => Group::Key(k),
            (None, Some(_)) => Group::File,
            (None, None) => Group::Rule(d.code()),
        };
        let at = *index.entry(group).or_insert_with(|| {
            groups.push((group, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(d);
    }
    groups.sort_by_key(|(g, _)| match g {
        Group::File => (0, ""),
        Group::Key(_) => (1, ""),
        Group::Rule(code) => (2, *code),
    });
    groups
}

/// What every section of the report reads.
struct Page<'v> {
    view: &'v View<'v>,
    sources: &'v Sources<'v>,
    paint: Paint,
    /// The set's path, printable.
    qparam: String,
    /// A tensor a shown key probably means, and the key: said once, at the
    /// key.
    meant: HashMap<&'v str, &'v str>,
    /// Where each key is first written.
    key_at: HashMap<&'v str, usize>,
}

impl<'v> Page<'v> {
    fn new(view: &'v View<'v>, sources: &'v Sources<'v>, style: &Style) -> Self {
        let meant = view
            .shown
            .iter()
            .filter(|d| d.fixable)
            .filter_map(|d| Some((d.suggestions.first()?.name.as_str(), d.key.as_deref()?)))
            .collect();
        let mut key_at: HashMap<&str, usize> = HashMap::new();
        for e in &view.analysis.qparam.entries {
            key_at.entry(e.key.as_str()).or_insert(e.key_span.start);
        }
        Page {
            view,
            sources,
            paint: Paint(style.color),
            qparam: printable(&sources.qparam.display().to_string()).into_owned(),
            meant,
            key_at,
        }
    }

    /// A group's header: the file; a key with its place in the file; or
    /// the model with the rule's summary, code and count.
    fn header(&self, out: &mut String, group: &Group<'_>, findings: &[&Diagnostic]) {
        let (view, paint, qparam) = (self.view, &self.paint, &self.qparam);
        match group {
            Group::File => {
                let _ = writeln!(out, "{}", paint.bold(qparam));
            }
            Group::Key(key) => {
                let at = self
                    .key_at
                    .get(key)
                    .map(|&start| view.analysis.qparam.line_col(start))
                    .or_else(|| findings.iter().find_map(|d| place(view, d)));
                let at = at.map_or(String::new(), |(l, c)| format!(":{l}:{c}"));
                let _ = writeln!(
                    out,
                    "{} {}",
                    paint.bold(&format!("`{}`", printable(key))),
                    paint.dim(&format!("{qparam}{at}"))
                );
            }
            Group::Rule(_) => {
                let rule: &Rule = findings[0].rule;
                let _ = writeln!(
                    out,
                    "{} {}",
                    paint.bold(&format!(
                        "{} ({}):",
                        printable(&self.sources.model.display().to_string()),
                        rule.summary
                    )),
                    paint.dim(&format!("{} {} ×{}", rule.code, rule.name, findings.len()))
                );
            }
        }
    }

    /// The findings under a header, their places aligned.
    fn findings(
        &self,
        out: &mut String,
        group: &Group<'_>,
        findings: &[&'v Diagnostic],
        helped: &mut HashSet<(&'v str, &'v str)>,
    ) {
        let places: Vec<String> = findings
            .iter()
            .map(|d| place(self.view, d).map_or(String::new(), |(l, c)| format!("{l}:{c}")))
            .collect();
        let width = places.iter().map(String::len).max().unwrap_or(0);
        let indent = " ".repeat(if width > 0 { 3 + width } else { 4 });
        for (d, at) in findings.iter().zip(&places) {
            let message = printable(match group {
                Group::Key(key) => without_key(&d.message, key),
                _ => &d.message,
            });
            let label = format!("{}[{}]", d.severity.name(), d.code());
            let _ = writeln!(
                out,
                "  {}{}{} {message}",
                if width > 0 {
                    format!("{at:>width$} ")
                } else {
                    String::new()
                },
                self.paint.severity(d.severity, &label),
                if d.fixable { " [*]" } else { "" },
            );
            self.finding_details(out, d, &indent, helped);
        }
    }

    /// Beneath a finding's line: the key above that probably means its
    /// tensor, or its candidates and its help (the same advice for the
    /// same rule once).
    fn finding_details(
        &self,
        out: &mut String,
        d: &'v Diagnostic,
        indent: &str,
        helped: &mut HashSet<(&'v str, &'v str)>,
    ) {
        let paint = &self.paint;
        let said_at_key = d
            .tensor
            .as_deref()
            .and_then(|t| self.meant.get(t))
            .filter(|k| d.key.as_deref() != Some(**k));
        if let Some(key) = said_at_key {
            let _ = writeln!(
                out,
                "{indent}{} the key `{}` above probably means it",
                paint.help("="),
                printable(key)
            );
            return;
        }
        for s in d.suggestions.iter().take(CANDIDATES) {
            let _ = writeln!(
                out,
                "{indent}{} `{}` ({:.0}%): {}",
                paint.help("candidate"),
                printable(&s.name),
                s.shown_confidence() * 100.0,
                printable(&s.reason)
            );
        }
        if d.suggestions.len() > CANDIDATES {
            let _ = writeln!(
                out,
                "{indent}{}",
                paint.dim(&format!(
                    "and {} more (--format full or json lists them)",
                    d.suggestions.len() - CANDIDATES
                ))
            );
        }
        let help = d
            .help
            .as_ref()
            .filter(|h| helped.insert((d.code(), h.as_str())));
        if let Some(help) = help {
            for (i, line) in help.lines().enumerate() {
                let lead = if i == 0 { "help:" } else { "     " };
                let _ = writeln!(out, "{indent}{} {}", paint.help(lead), printable(line));
            }
        }
    }
}

/// The message under its key's header: "`conv1.weight`.scale is float64"
/// reads "scale is float64".
fn without_key<'m>(message: &'m str, key: &str) -> &'m str {
    let quoted = format!("`{key}`");
    match message.strip_prefix(&quoted) {
        Some(rest) => rest.trim_start_matches(['.', ':']).trim_start(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::without_key;

    #[test]
    fn messages_lose_only_a_leading_key() {
        assert_eq!(
            without_key("`a.b`.scale is float64", "a.b"),
            "scale is float64"
        );
        assert_eq!(without_key("`a` has no `dtype`", "a"), "has no `dtype`");
        assert_eq!(
            without_key("`a`: `x.npy` is missing", "a"),
            "`x.npy` is missing"
        );
        assert_eq!(without_key("the key `a` is odd", "a"), "the key `a` is odd");
        assert_eq!(without_key("`ab` x", "a"), "`ab` x");
    }
}
