//! The rules: each is data (a stable code, a name, a default severity, its
//! documentation) declared next to the small function that checks it, in the
//! module of its family. [`ALL`] is the registry.
//!
//! Codes are grouped by family and never reused: Q1xx the JSON file, Q2xx an
//! entry's fields, Q3xx the npy files, Q4xx the numbers, Q5xx the names,
//! Q6xx coverage of the graph, Q7xx the quantization spec, Q8xx a target
//! runtime's limits (only with `--target`).

pub mod blockwise;
pub mod coverage;
pub mod fields;
pub mod format;
pub mod names;
pub mod npy;
pub mod spec;
pub mod target;
pub mod values;

use super::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::qparam::Problem;

pub use crate::diagnostic::Rule;

/// The finding for a problem the reader met.
pub fn diagnose(problem: &Problem, text: &str) -> Option<Diagnostic> {
    format::diagnose(problem, text)
        .or_else(|| fields::diagnose(problem))
        .or_else(|| npy::diagnose(problem))
}

/// Runs every family of rules on a context.
pub fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    npy::check(&ctx.qparam.entries, out);
    values::check(ctx, out);
    blockwise::check(ctx, out);
    names::check(ctx, out);
    coverage::check(ctx, out);
    spec::check(ctx, out);
    target::check(ctx, out);
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
    &npy::TRAILING_BYTES,
    &npy::TOO_MANY_PARAMS,
    &values::BAD_SCALE,
    &values::LENGTH_MISMATCH,
    &values::CHANNEL_COUNT,
    &values::QDIM_RANGE,
    &values::ZERO_POINT_RANGE,
    &values::VALUE_SHAPE,
    &values::VALUE_DTYPE,
    &values::VALUE_NOT_CONSTANT,
    &values::VALUE_LAYOUT,
    &values::MISSING_VALUE,
    &values::EMPTY_PARAMS,
    &blockwise::BLOCK_SIZE,
    &blockwise::BLOCK_SHAPE,
    &blockwise::VALUE_RANGE,
    &blockwise::SCALE_FLOAT16_RANGE,
    &blockwise::SCALE_FLOAT16_PRECISION,
    &blockwise::ASYMMETRIC_BLOCKS,
    &blockwise::BLOCK_FORMAT,
    &blockwise::BLOCK_ACTIVATION,
    &names::UNKNOWN_TENSOR,
    &names::NOT_FLOAT32,
    &names::SHARED_NAME,
    &coverage::FLOAT_REMAINS,
    &coverage::PRECISION_BOUNDARY,
    &coverage::MISSING_LAYER_KIND,
    &coverage::ALLOWED_FLOAT_HAS_ENTRY,
    &spec::BIAS_DTYPE,
    &spec::BIAS_SCALE,
    &spec::BIAS_ZERO_POINT,
    &spec::INT16_ZERO_POINT,
    &spec::WEIGHT_AXIS,
    &spec::MIXED_DTYPES,
    &spec::KEEP_INPUT_QPARAMS,
    &spec::FIXED_OUTPUT_QPARAMS,
    &spec::BIAS_REENCODED,
    &target::onert::ONERT_NO_KERNEL,
    &target::onert::ONERT_INT16,
    &target::onert::ONERT_PER_CHANNEL,
    &target::onert::ONERT_REQUANTIZING_COPY,
    &target::onert::ONERT_INT8_QUANTIZE,
    &target::onert::ONERT_INT8_WEIGHT_ZERO_POINT,
    &target::onert::ONERT_MIXED_TYPES,
    &target::onert::ONERT_INT_DEQUANTIZE,
    &target::onert::ONERT_UNMEASURED,
    &target::onert::ONERT_FLOAT_FALLBACK,
    &target::onert::ONERT_UNSUPPORTED,
    &target::onert::weights::ONERT_WEIGHT_FORMAT,
    &target::onert::weights::ONERT_GGML_BIAS,
    &target::onert::weights::ONERT_GATHER_INDICES,
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
            "{}  {sev:<7}  {:<28} {}\n",
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
