//! `rules`: the list of rules, one rule's documentation, or all of it as
//! Markdown (docs/rules.md, and docs/targets.md for the targets' support).

use crate::analysis::rules;

/// What `rules` is asked for.
pub enum RulesQuery<'a> {
    /// Every rule, a line each.
    Listing,
    /// A code (`Q103`), a code prefix (`Q8`) or a name (`duplicate-key`).
    Explain(&'a str),
    /// Every rule's documentation, as docs/rules.md has it.
    Markdown,
    /// What the `--target` runtimes were measured to do, as docs/targets.md
    /// has it.
    TargetsMarkdown,
}

/// A query that names no rule.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("there is no rule `{0}`")]
#[diagnostic(code(rules::unknown), help("`q-implant rules` lists every code"))]
pub struct UnknownRule(pub String);

/// The text that answers `query`.
pub fn rules(query: RulesQuery<'_>) -> Result<String, UnknownRule> {
    match query {
        RulesQuery::Listing => Ok(rules::listing()),
        RulesQuery::Markdown => Ok(rules::markdown()),
        RulesQuery::TargetsMarkdown => Ok(rules::target::markdown()),
        RulesQuery::Explain(code) => {
            if let Some(rule) = rules::by_code(code) {
                return Ok(format!(
                    "{} ({}): {}\n\n{}",
                    rule.code, rule.name, rule.summary, rule.docs
                ));
            }
            // A prefix, as --select takes it: the rules it selects.
            let prefix = code.to_ascii_uppercase();
            let listing: String = rules::listing()
                .lines()
                .filter(|l| l.starts_with(&prefix) && prefix.starts_with('Q'))
                .map(|l| format!("{l}\n"))
                .collect();
            if listing.is_empty() {
                return Err(UnknownRule(code.to_string()));
            }
            Ok(listing)
        }
    }
}
