//! Rendering findings: for people (miette's graphical report), for programs
//! (JSON, a versioned contract), for code-scanning UIs (SARIF 2.1.0) and for
//! GitHub Actions (workflow annotations).

mod github;
mod human;
mod json;
mod sarif;

use std::path::Path;

use crate::analysis::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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

pub fn render(analysis: &Analysis, sources: &Sources<'_>, format: Format, color: bool) -> String {
    match format {
        Format::Human => human::render(analysis, sources, color),
        Format::Json => json::render(analysis),
        Format::Sarif => sarif::render(analysis, sources),
        Format::Github => github::render(analysis, sources),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_and_columns_are_one_based() {
        assert_eq!(super::line_col("ab\ncd", 0), (1, 1));
        assert_eq!(super::line_col("ab\ncd", 4), (2, 2));
        assert_eq!(super::line_col("é\nx", 3), (2, 1));
    }
}
