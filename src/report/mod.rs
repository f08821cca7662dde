//! Rendering findings: for people (grouped by key, one line per finding in
//! `concise`, miette's drawing on the source in `full`, counts per code in
//! `statistics`), for programs (JSON, a versioned contract), for
//! code-scanning UIs (SARIF 2.1.0) and for GitHub Actions (workflow
//! annotations). What is shown is a [`View`]: the analysis through the
//! user's `--select`/`--ignore` [`Filter`].

pub mod apply;
mod color;
mod concise;
pub mod diff;
pub mod extract;
mod filter;
mod full;
mod github;
mod human;
mod json;
mod sarif;
mod source;
mod statistics;

use std::path::Path;

pub use color::{ColorChoice, Paint};
pub use filter::{Filter, FilterError};

use crate::analysis::Analysis;
use crate::diagnostic::{Diagnostic, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Findings grouped by key, each with its place, help and candidates.
    Human,
    /// One line per finding: `path:line:col: error[Q501] message`.
    Concise,
    /// miette's drawing of each finding on the qparam.json source.
    Full,
    /// One JSON document (see docs/check-json.md).
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

/// How text for people is drawn.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
    /// The terminal's width; `None` (not a terminal) wraps nothing.
    pub width: Option<usize>,
    /// `--quiet`: the findings without the closing line.
    pub quiet: bool,
}

/// Where the analysed files are, as reports name them.
pub struct Sources<'a> {
    pub model: &'a Path,
    pub qparam: &'a Path,
}

/// The findings a report shows, and how many it hides.
pub struct View<'a> {
    pub analysis: &'a Analysis,
    pub shown: Vec<&'a Diagnostic>,
    pub hidden: usize,
}

impl<'a> View<'a> {
    pub fn new(analysis: &'a Analysis, filter: &Filter) -> View<'a> {
        let shown: Vec<&Diagnostic> = analysis
            .findings
            .iter()
            .filter(|d| filter.shows(d))
            .collect();
        let hidden = analysis.findings.len() - shown.len();
        View {
            analysis,
            shown,
            hidden,
        }
    }

    /// Shown findings of this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.shown.iter().filter(|d| d.severity == severity).count()
    }

    /// Shown findings `check --fix` resolves.
    pub fn fixable(&self) -> usize {
        self.shown.iter().filter(|d| d.fixable).count()
    }

    /// Shown findings that fail `check`: errors, and warnings when denied.
    pub fn failing(&self, deny_warnings: bool) -> usize {
        self.count(Severity::Error)
            + if deny_warnings {
                self.count(Severity::Warning)
            } else {
                0
            }
    }
}

pub fn render(view: &View<'_>, sources: &Sources<'_>, format: Format, style: &Style) -> String {
    match format {
        Format::Human => human::render(view, sources, style),
        Format::Concise => concise::render(view, sources, style),
        Format::Full => full::render(view, sources, style),
        Format::Json => json::render(view),
        Format::Sarif => sarif::render(view, sources),
        Format::Github => github::render(view, sources),
    }
}

/// `--statistics`: how many findings of each code, then the closing line.
pub fn render_statistics(view: &View<'_>, sources: &Sources<'_>, style: &Style) -> String {
    statistics::render(view, sources, style)
}

/// The last line of every report for people:
/// `52 errors, 1 warning in qparam.json (model m.circle); 40 fixable with
/// `check --fix` [*]`, or the line saying all is well.
pub fn closing(view: &View<'_>, sources: &Sources<'_>) -> String {
    let (errors, warnings) = (view.count(Severity::Error), view.count(Severity::Warning));
    let mut line = if errors + warnings + view.hidden == 0 {
        format!(
            "ok: {} of {} match {} with no problems",
            plural(view.analysis.qparam.entries.len(), "entry", "entries"),
            sources.qparam.display(),
            sources.model.display()
        )
    } else {
        format!(
            "{}, {} in {} (model {})",
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings"),
            sources.qparam.display(),
            sources.model.display()
        )
    };
    let fixable = view.fixable();
    if fixable > 0 {
        line += &format!("; {fixable} fixable with `check --fix` [*]");
    }
    if view.hidden > 0 {
        line += &format!(
            "; {} hidden by --select/--ignore",
            plural(view.hidden, "more finding", "more findings")
        );
    }
    printable(&line).into_owned() + "\n"
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A finding's place as `line:col`, when it has one.
fn place(view: &View<'_>, d: &Diagnostic) -> Option<(usize, usize)> {
    d.span
        .as_ref()
        .map(|s| view.analysis.qparam.line_col(s.start))
}

/// The marks that change the direction of the text around them.
fn reorders(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe to print on a terminal: control characters (an escape
/// sequence, a newline in a key) and the marks that reorder text around
/// them are written as `\u{..}`, so a key can neither restyle nor reshape
/// the report.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || reorders(c);
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_and_reordering_characters_are_escaped() {
        assert_eq!(printable("conv1.weight"), "conv1.weight");
        assert_eq!(printable("a\nb"), "a\\u{a}b");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("tab\there"), "tab\\u{9}here");
        assert_eq!(printable("café ✓"), "café ✓");
    }
}
