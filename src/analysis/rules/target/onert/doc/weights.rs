//! The weight-only part of docs/targets.md: packed weights (GGML blocks,
//! INT4, UINT4, MX) under float activations, operator by operator, the
//! cells that find onert's limits, and the table's weight rows.

use super::coverage::weight_rule_of;
use super::measured::described;
use super::text::{cell_text, md, rule_text, table, NO_RULE};
use super::Cells;
use crate::analysis::rules::target::onert::matrix::{Matrix, NOT_ROUNDED};
use crate::analysis::rules::target::onert::table::ONERT;
use crate::analysis::rules::target::support::{WeightDoes, WeightFact};

/// Weight formats in the order the page lists them.
const FORMATS: [&str; 6] = ["ggml_q4_0", "ggml_q8_0", "int4", "uint4", "mxfp4", "mxint8"];
const OPERATORS: [&str; 3] = ["FULLY_CONNECTED", "GATHER", "BATCH_MATMUL"];

pub(super) fn section(lines: &mut Vec<String>, m: &Matrix, cells: &Cells<'_>) {
    lines.extend([
        "## Weight-only formats".to_string(),
        String::new(),
        format!("Weights stored packed under float32 activations (weight-only quantization, the scheme of on-device LLMs): one operator, its weight in the format, a float32 input and output. A FULLY_CONNECTED with GGML weights is compared with ggml's computation: onert rounds each input row to Q8_0 blocks first (a float16 scale max|x| / 127 per block of 32, each value rounded to round(x · 127 / max|x|), ties to even), then multiplies by the weights' real values; the same without the rounding is the hypothesis `{NOT_ROUNDED}`, which it does not match. Differences are in units of 1e-5 of the reference's largest magnitude. `check --target onert` reports what fails with Q812 (a format onert refuses on the operator), Q813 (a bias on GGML weights, which `apply --target onert` moves to an ADD) and Q814 (a GGML table gathered with indices of rank 2); Q412 refuses rows that do not split into blocks of 32 whatever the target."),
        String::new(),
    ]);
    let formats: Vec<String> = FORMATS
        .iter()
        .filter_map(|f| m.schemes.iter().find(|(k, _)| k == f))
        .map(|(k, v)| format!("- `{k}`: {}", md(v)))
        .collect();
    lines.extend(formats);
    lines.push(String::new());
    let rows = OPERATORS
        .iter()
        .map(|op| {
            let mut row = vec![op.to_string()];
            row.extend(
                FORMATS
                    .iter()
                    .map(|f| cell_text(cells.get(&format!("{op}/{f}/weight-only")), true)),
            );
            row
        })
        .collect();
    let mut header = vec!["Operator"];
    header.extend(FORMATS);
    lines.extend(table(&header, rows));
    lines.extend([
        String::new(),
        "The limits, one configuration at a time:".to_string(),
        String::new(),
    ]);
    lines.extend(described(
        cells
            .group("weight-only")
            .filter(|c| !c.id.ends_with("/weight-only")),
    ));
    lines.extend([
        String::new(),
        "The support table's weight rows (src/analysis/rules/target/onert/table.rs), which Q812 to Q814 read; an operator and format with no row is unmeasured, and Q809 says so. q-implant writes no tensor in MXFP4 or MXINT8 (no entry describes them), so the table has no row for them.".to_string(),
        String::new(),
    ]);
    let rows = ONERT.weights.iter().map(weight_row).collect();
    lines.extend(table(
        &["Operator", "Format", "onert", "Evidence", "Rule"],
        rows,
    ));
    lines.push(String::new());
}

fn weight_row(f: &WeightFact) -> Vec<String> {
    let formats: Vec<&str> = f.formats.iter().map(|p| p.name()).collect();
    vec![
        f.op.variant_name().unwrap_or("?").to_string(),
        formats.join(", "),
        weight_does_text(f.does),
        f.cells()
            .iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", "),
        weight_rule_of(f).map_or_else(|| NO_RULE.to_string(), |r| rule_text(&[r])),
    ]
}

fn weight_does_text(d: WeightDoes) -> String {
    match d {
        WeightDoes::RunsRight => "runs right".into(),
        WeightDoes::Refuses { stage, says } => {
            format!("refuses the model at {} (`{says}`)", stage.name())
        }
        WeightDoes::RefusesBias { stage, says } => {
            format!("with a bias: rejected at {} (`{says}`)", stage.name())
        }
        WeightDoes::WrongWithIndicesOfRank2(how) => {
            format!("with indices of rank 2: computes wrong, {}", md(how))
        }
    }
}
