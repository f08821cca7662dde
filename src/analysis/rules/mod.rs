//! The rules: each is data (a stable code, a name, a default severity, its
//! documentation) declared next to the small function that checks it, in the
//! module of its family. [`ALL`] is the registry.
//!
//! Codes are grouped by family and never reused: Q1xx the JSON file, Q2xx an
//! entry's fields, Q3xx the npy files, Q4xx the numbers, Q5xx the names,
//! Q6xx coverage of the graph, Q7xx the quantization spec.

pub mod coverage;
pub mod fields;
pub mod format;
pub mod names;
pub mod npy;
pub mod spec;
pub mod values;

use super::diagnostic::Severity;

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct Rule {
    /// Stable code, e.g. `Q103`.
    pub code: &'static str,
    /// Kebab-case name, e.g. `duplicate-key`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// Markdown with the sections "What it does", "Why is this bad?",
    /// "Example" and "Use instead".
    pub docs: &'static str,
}

/// Every rule, in code order.
pub static ALL: &[&Rule] = &[
    &format::JSON_SYNTAX,
    &format::NOT_AN_OBJECT,
    &format::DUPLICATE_KEY,
    &format::NOT_UTF8,
    &format::ENTRY_NOT_OBJECT,
    &fields::MISSING_FIELD,
    &fields::FIELD_TYPE,
    &fields::UNKNOWN_FIELD,
    &fields::UNKNOWN_DTYPE,
    &npy::NPY_MISSING,
    &npy::NOT_NPY,
    &npy::NPY_OUTSIDE,
    &npy::FORTRAN_ORDER,
    &npy::NPY_TRUNCATED,
    &npy::SCALE_DTYPE,
    &npy::ZERO_DIM,
    &npy::NOT_1D,
    &npy::ZEROP_DTYPE,
    &values::BAD_SCALE,
    &values::LENGTH_MISMATCH,
    &values::CHANNEL_COUNT,
    &values::QDIM_RANGE,
    &values::ZERO_POINT_RANGE,
    &values::VALUE_SHAPE,
    &values::VALUE_DTYPE,
    &values::VALUE_NOT_CONSTANT,
    &values::VALUE_LAYOUT,
    &names::UNKNOWN_TENSOR,
    &names::NOT_FLOAT32,
    &coverage::FLOAT_REMAINS,
    &spec::BIAS_DTYPE,
    &spec::BIAS_SCALE,
    &spec::BIAS_ZERO_POINT,
    &spec::INT16_ZERO_POINT,
    &spec::WEIGHT_AXIS,
    &spec::MIXED_DTYPES,
    &spec::KEEP_INPUT_QPARAMS,
    &spec::FIXED_OUTPUT_QPARAMS,
];

/// One line per rule: code, default severity, name, summary.
pub fn listing() -> String {
    let mut out = String::new();
    for r in ALL {
        let sev = match r.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "{}  {sev:<7}  {:<22} {}\n",
            r.code, r.name, r.summary
        ));
    }
    out
}

/// Every rule's documentation as one Markdown page (docs/rules.md).
pub fn markdown() -> String {
    let mut out = String::from(
        "# Rules\n\nEvery finding of `q-implant check` has a stable code. `q-implant rules CODE` prints the same text.\n\n",
    );
    out.push_str("| code | name | severity | summary |\n|---|---|---|---|\n");
    for r in ALL {
        out.push_str(&format!(
            "| [{}](#{}) | {} | {:?} | {} |\n",
            r.code,
            r.code.to_lowercase(),
            r.name,
            r.severity,
            r.summary
        ));
    }
    for r in ALL {
        let docs = r.docs.replace("## ", "### ");
        out.push_str(&format!(
            "\n## {}\n\n`{}` (default: {:?}): {}\n\n{}",
            r.code, r.name, r.severity, r.summary, docs
        ));
    }
    out
}

/// The rule with this code, if any (case-insensitive).
pub fn by_code(code: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

/// Whether `code` is selected by a list of codes or prefixes (`Q3`, `Q103`).
pub fn matches(code: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        code.to_ascii_uppercase()
            .starts_with(&p.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_documented() {
        for pair in ALL.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for rule in ALL {
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(
                    rule.docs.contains(section),
                    "{} lacks `{section}`",
                    rule.code
                );
            }
        }
    }
}
