//! Rendering findings: for people (miette's graphical report), for programs
//! (JSON, a versioned contract), for code-scanning UIs (SARIF 2.1.0) and for
//! GitHub Actions (workflow annotations). What is shown is a [`View`]: the
//! analysis through the user's `--select`/`--ignore` [`Filter`].

mod filter;
mod github;
mod human;
mod json;
mod sarif;
mod source;

use std::path::Path;

pub use filter::{Filter, FilterError};

use crate::analysis::Analysis;
use crate::diagnostic::{Diagnostic, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Graphical report with the qparam.json source, labels and help.
    Human,
    /// One JSON document (see docs/check-json.md).
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
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

pub fn render(view: &View<'_>, sources: &Sources<'_>, format: Format, color: bool) -> String {
    match format {
        Format::Human => human::render(view, sources, color),
        Format::Json => json::render(view),
        Format::Sarif => sarif::render(view, sources),
        Format::Github => github::render(view, sources),
    }
}
