//! What `apply` says about its outcome: the `--dry-run` table, the summary
//! after a write, why a write was refused, and the same as a JSON record
//! (`--format json`, a versioned contract in docs/apply.md).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use super::{plural, Filter, View};
use crate::diagnostic::Severity;
use crate::implant::Change;
use crate::model::Written;
use crate::plan::{FloatOp, Refusal, Source};
use crate::table;

/// The JSON record's version: raised when a field changes meaning or goes.
const VERSION: u32 = 1;

/// The `--dry-run` table: one row per tensor that would change, the
/// operators that would be inserted, and the totals.
pub fn dry_run_table(changes: &[Change], inserted: &[String]) -> String {
    let mut rows = vec![vec![
        "tensor".to_string(),
        "dtype".into(),
        "bytes".into(),
        "source".into(),
    ]];
    let (mut before, mut after) = (0u64, 0u64);
    for c in changes {
        before += c.bytes_before;
        after += c.bytes_after;
        let source = match &c.source {
            Source::Entry { key } => format!("entry `{key}`"),
            Source::Propagated { from, op } => format!("propagated from `{from}` through {op}"),
        };
        rows.push(vec![
            c.name.clone(),
            format!("{} -> {}", c.from, c.to),
            format!("{} -> {}", c.bytes_before, c.bytes_after),
            source,
        ]);
    }
    let mut out = table::layout(&rows, &[false, false, true, false]);
    for line in inserted {
        let _ = writeln!(out, "inserted: {}", table::shorten(line));
    }
    let _ = writeln!(
        out,
        "{} tensors would change; their data {} -> {} bytes",
        changes.len(),
        before,
        after
    );
    out
}

/// The status lines after a write: each propagated tensor, each inserted
/// operator, then the summary: where, how many bytes in which layout, the
/// tensors retyped by type, the operators inserted by kind.
pub fn written_lines(
    changes: &[Change],
    inserted: &[String],
    float_ops: &[FloatOp],
    written: &Written,
    output: &Path,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut propagated = 0;
    for c in changes {
        if let Source::Propagated { from, op } = &c.source {
            propagated += 1;
            lines.push(format!(
                "propagated: `{}` takes the parameters of `{}` through {op}",
                table::shorten(&c.name),
                table::shorten(from)
            ));
        }
    }
    for line in inserted {
        lines.push(format!("inserted: {}", table::shorten(line)));
    }
    lines.push(format!(
        "wrote {} ({} bytes, {} layout)",
        output.display(),
        written.bytes,
        written.layout_name()
    ));
    let count = |m: &BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    lines.push(format!(
        "  retyped {}: {} ({propagated} propagated)",
        plural(changes.len(), "tensor", "tensors"),
        count(&by_dtype(changes))
    ));
    if !inserted.is_empty() {
        lines.push(format!(
            "  inserted {}: {}",
            plural(inserted.len(), "operator", "operators"),
            count(&by_operator(inserted))
        ));
    }
    if !float_ops.is_empty() {
        lines.push(format!(
            "  {} in float for want of a quantized kernel (--fallback float): {}",
            plural(float_ops.len(), "operator runs", "operators run"),
            float_ops
                .iter()
                .map(|f| f.what.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines
}

/// Retyped tensors per new type (`uint8`, ...).
fn by_dtype(changes: &[Change]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for c in changes {
        *out.entry(dtype_word(c.to)).or_default() += 1;
    }
    out
}

/// A schema type name as qparam.json spells it (`UINT8` as `uint8`).
fn dtype_word(t: &'static str) -> &'static str {
    crate::qparam::QDType::ALL
        .into_iter()
        .map(|d| d.name())
        .find(|n| n.eq_ignore_ascii_case(t))
        .unwrap_or(if t == "FLOAT32" { "float32" } else { t })
}

/// Inserted operators per kind (`QUANTIZE`, `DEQUANTIZE`).
fn by_operator(inserted: &[String]) -> BTreeMap<&str, usize> {
    let mut out = BTreeMap::new();
    for line in inserted {
        *out.entry(line.split(' ').next().unwrap_or("?"))
            .or_default() += 1;
    }
    out
}

/// How an `apply` run ended, for the record.
pub enum Ended<'a> {
    Written {
        changes: &'a [Change],
        inserted: &'a [String],
        written: &'a Written,
    },
    DryRun {
        changes: &'a [Change],
        inserted: &'a [String],
    },
    Refused(&'a Refusal),
}

#[derive(Serialize)]
struct Record<'a> {
    version: u32,
    outcome: &'static str,
    model: &'a Path,
    qparam: &'a Path,
    output: &'a Path,
    layout: Option<&'static str>,
    bytes: Option<u64>,
    retyped: Retyped<'a>,
    tensors: Vec<TensorRecord<'a>>,
    inserted: Inserted<'a>,
    /// Operators left in float for want of a quantized kernel
    /// (`--fallback float`).
    float: Vec<FloatRecord<'a>>,
    findings: Findings,
    refused: Option<Refused>,
}

#[derive(Serialize)]
struct FloatRecord<'a> {
    operator: &'a str,
    subgraph: usize,
    index: usize,
}

#[derive(Serialize)]
struct Retyped<'a> {
    total: usize,
    propagated: usize,
    by_dtype: BTreeMap<&'a str, usize>,
}

#[derive(Serialize)]
struct TensorRecord<'a> {
    name: &'a str,
    subgraph: usize,
    index: usize,
    from: &'a str,
    to: &'a str,
    bytes_before: u64,
    bytes_after: u64,
    key: Option<&'a str>,
    propagated_from: Option<&'a str>,
    through: Option<&'a str>,
}

#[derive(Serialize)]
struct Inserted<'a> {
    total: usize,
    by_operator: BTreeMap<&'a str, usize>,
    operators: &'a [String],
}

#[derive(Serialize)]
struct Findings {
    errors: usize,
    warnings: usize,
    hidden: usize,
    codes: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
struct Refused {
    errors: usize,
    warnings: usize,
    codes: BTreeMap<&'static str, usize>,
}

/// `apply --format json`: one record of the run.
pub fn record(
    view: &View<'_>,
    model: &Path,
    qparam: &Path,
    output: &Path,
    ended: &Ended<'_>,
    float_ops: &[FloatOp],
) -> String {
    let (changes, inserted, written, refusal): (&[Change], &[String], _, _) = match ended {
        Ended::Written {
            changes,
            inserted,
            written,
        } => (changes, inserted, Some(*written), None),
        Ended::DryRun { changes, inserted } => (changes, inserted, None, None),
        Ended::Refused(r) => (&[], &[], None, Some(*r)),
    };
    let mut codes = BTreeMap::new();
    for d in &view.shown {
        *codes.entry(d.code()).or_default() += 1;
    }
    let record = Record {
        version: VERSION,
        outcome: match ended {
            Ended::Written { .. } => "written",
            Ended::DryRun { .. } => "dry_run",
            Ended::Refused(_) => "refused",
        },
        model,
        qparam,
        output,
        layout: written.map(Written::layout_name),
        bytes: written.map(|w| w.bytes),
        retyped: Retyped {
            total: changes.len(),
            propagated: changes
                .iter()
                .filter(|c| matches!(c.source, Source::Propagated { .. }))
                .count(),
            by_dtype: by_dtype(changes),
        },
        tensors: changes
            .iter()
            .map(|c| {
                let (key, from, through) = match &c.source {
                    Source::Entry { key } => (Some(key.as_str()), None, None),
                    Source::Propagated { from, op } => {
                        (None, Some(from.as_str()), Some(op.as_str()))
                    }
                };
                TensorRecord {
                    name: &c.name,
                    subgraph: c.tensor.subgraph,
                    index: c.tensor.index,
                    from: dtype_word(c.from),
                    to: dtype_word(c.to),
                    bytes_before: c.bytes_before,
                    bytes_after: c.bytes_after,
                    key,
                    propagated_from: from,
                    through,
                }
            })
            .collect(),
        inserted: Inserted {
            total: inserted.len(),
            by_operator: by_operator(inserted),
            operators: inserted,
        },
        float: match ended {
            Ended::Refused(_) => Vec::new(),
            _ => float_ops
                .iter()
                .map(|f| FloatRecord {
                    operator: &f.operator,
                    subgraph: f.subgraph,
                    index: f.op,
                })
                .collect(),
        },
        findings: Findings {
            errors: view.count(Severity::Error),
            warnings: view.count(Severity::Warning),
            hidden: view.hidden,
            codes,
        },
        refused: refusal.map(|r| Refused {
            errors: r.errors,
            warnings: r.warnings,
            codes: r.codes.iter().copied().collect(),
        }),
    };
    serde_json::to_string_pretty(&record).expect("the apply record serializes") + "\n"
}

/// Why nothing was written: the codes a filter hides that still refuse
/// (a filter is not a gate), then the count.
pub fn refusal_lines(refusal: &Refusal, filter: &Filter, output: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let hidden: Vec<String> = refusal
        .codes
        .iter()
        .filter(|(c, _)| !filter.shows_code(c))
        .map(|(c, n)| format!("{c} ×{n}"))
        .collect();
    if !hidden.is_empty() {
        lines.push(format!(
            "findings hidden by --select/--ignore still refuse the write: {}",
            hidden.join(", ")
        ));
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    lines.push(format!(
        "refused: {}{}; nothing was written to {}",
        plural(refusal.errors, "error", "errors"),
        if refusal.warnings > 0 {
            format!(
                " and {}",
                plural(refusal.warnings, "denied warning", "denied warnings")
            )
        } else {
            String::new()
        },
        output.display()
    ));
    lines
}
