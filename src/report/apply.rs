//! What `apply` says about its outcome: the `--dry-run` table, the lines
//! after a write, and why a write was refused.

use std::fmt::Write;
use std::path::Path;

use super::Filter;
use crate::implant::Change;
use crate::model::Written;
use crate::plan::{Refusal, Source};
use crate::table;

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
/// operator, then what was written where.
pub fn written_lines(
    changes: &[Change],
    inserted: &[String],
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
        "wrote {}: {} tensors quantized ({} propagated), {} bytes, {} layout",
        output.display(),
        changes.len(),
        propagated,
        written.bytes,
        written.layout_name()
    ));
    lines
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
