//! `--select` and `--ignore`: which findings a report shows. A filter
//! changes what is shown and `check`'s exit code, never what `apply` may
//! write (see [`crate::plan::Plan::gate`]). Patterns are checked against
//! the registry, so a typo cannot hide everything.

use crate::analysis::rules::ALL;
use crate::diagnostic::Diagnostic;

/// A rule code or code prefix (`Q5`, `Q501`) or a rule name
/// (`unknown-tensor`), as given.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Prefix(String),
    Name(&'static str),
}

impl Pattern {
    fn matches(&self, code: &str, name: &str) -> bool {
        match self {
            Pattern::Prefix(p) => code.starts_with(p.as_str()),
            Pattern::Name(n) => *n == name,
        }
    }
}

/// A pattern that selects no rule.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FilterError {
    #[error("--{flag} got an empty code (a stray comma?)")]
    #[diagnostic(
        code(filter::empty),
        help("give codes or prefixes separated by commas, e.g. --{flag} Q5,Q601")
    )]
    Empty { flag: &'static str },
    #[error("--{flag} `{pattern}` matches no rule")]
    #[diagnostic(code(filter::unknown), help("{help}"))]
    Unknown {
        flag: &'static str,
        pattern: String,
        help: String,
    },
}

impl FilterError {
    /// The option the pattern was given to (`select` or `ignore`).
    pub fn flag(&self) -> &'static str {
        match self {
            FilterError::Empty { flag } | FilterError::Unknown { flag, .. } => flag,
        }
    }
}

/// The findings a report shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    select: Vec<Pattern>,
    ignore: Vec<Pattern>,
}

impl Filter {
    pub fn new(select: &[String], ignore: &[String]) -> Result<Filter, FilterError> {
        Ok(Filter {
            select: parse_all("select", select)?,
            ignore: parse_all("ignore", ignore)?,
        })
    }

    /// Whether the filter hides anything at all.
    pub fn is_empty(&self) -> bool {
        self.select.is_empty() && self.ignore.is_empty()
    }

    /// Whether findings of rule `code` are shown.
    pub fn shows_code(&self, code: &str) -> bool {
        let name = ALL.iter().find(|r| r.code == code).map_or("", |r| r.name);
        (self.select.is_empty() || self.select.iter().any(|p| p.matches(code, name)))
            && !self.ignore.iter().any(|p| p.matches(code, name))
    }

    pub fn shows(&self, d: &Diagnostic) -> bool {
        self.shows_code(d.code())
    }
}

fn parse_all(flag: &'static str, patterns: &[String]) -> Result<Vec<Pattern>, FilterError> {
    patterns.iter().map(|p| parse(flag, p)).collect()
}

fn parse(flag: &'static str, text: &str) -> Result<Pattern, FilterError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(FilterError::Empty { flag });
    }
    let upper = trimmed.to_ascii_uppercase();
    if ALL.iter().any(|r| r.code.starts_with(&upper)) {
        return Ok(Pattern::Prefix(upper));
    }
    let lower = trimmed.to_ascii_lowercase();
    if let Some(rule) = ALL.iter().find(|r| r.name == lower) {
        return Ok(Pattern::Name(rule.name));
    }
    let mut near: Vec<(f64, String)> = ALL
        .iter()
        .flat_map(|r| {
            [
                (strsim::jaro_winkler(&upper, r.code), r.code.to_string()),
                (
                    strsim::jaro_winkler(&lower, r.name),
                    format!("{} ({})", r.code, r.name),
                ),
            ]
        })
        .filter(|(s, _)| *s > 0.7)
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0));
    near.dedup_by(|a, b| a.1 == b.1);
    let help = if near.is_empty() {
        "`q-implant rules` lists every code".to_string()
    } else {
        format!(
            "did you mean {}? `q-implant rules` lists every code",
            near.iter()
                .take(3)
                .map(|(_, n)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(FilterError::Unknown {
        flag,
        pattern: trimmed.to_string(),
        help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked_against_the_registry() {
        assert!(Filter::new(&["q5".into()], &[]).is_ok());
        assert!(Filter::new(&["unknown-tensor".into()], &[]).is_ok());
        assert!(matches!(
            Filter::new(&[], &["Q7".into(), String::new()]),
            Err(FilterError::Empty { .. })
        ));
        let Err(FilterError::Unknown { help, .. }) = Filter::new(&["Q5O1".into()], &[]) else {
            panic!("a typo must be refused")
        };
        assert!(help.contains("Q501"), "{help}");
        assert!(Filter::new(&["XYZ".into()], &[]).is_err());
    }

    #[test]
    fn select_then_ignore() {
        let f = Filter::new(&["Q5".into()], &["Q502".into()]).unwrap();
        assert!(f.shows_code("Q501"));
        assert!(!f.shows_code("Q502"));
        assert!(!f.shows_code("Q101"));
    }
}
