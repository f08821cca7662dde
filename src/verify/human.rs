//! The verify report for people: the worst tensors first, each with the
//! likely cause, then the graph outputs, then what could not be run and
//! how the inputs were made.

use std::fmt::Write;

use super::report::{OutputRow, Report};
use crate::report::Paint;
use crate::table;

/// The human report lists this many tensors at most (the JSON and HTML
/// reports list all): past the worst few, a long list hides what matters.
pub const SHOWN: usize = 12;

pub fn render(report: &Report, paint: Paint, all: bool) -> String {
    let mut out = String::new();
    if report.pairing.is_poor() {
        let _ = writeln!(
            out,
            "{} {}\n",
            paint.warning("warning:"),
            report.pairing.warning()
        );
    }
    tensors(&mut out, report, paint, all);
    outputs(&mut out, report, paint);
    unsupported(&mut out, report, paint);
    let _ = writeln!(
        out,
        "{} {} on {} {}{}",
        paint.bold("verified"),
        plural(
            report.tensors.iter().filter(|t| t.evaluated).count(),
            "tensor"
        ),
        plural(report.samples, "sample"),
        if report.random_inputs {
            "drawn at random (uniform over each quantized input's range, standard normal for a float input)"
        } else {
            "given with --input"
        },
        if report.random_inputs {
            "; real inputs (--input) give figures to trust"
        } else {
            ""
        }
    );
    out
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn number(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        Some(v) => format!("{v}"),
        None => "-".to_string(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn tensors(out: &mut String, report: &Report, paint: Paint, all: bool) {
    let worst = report.worst_first();
    if worst.is_empty() {
        return;
    }
    let shown = if all {
        worst.len()
    } else {
        worst.len().min(SHOWN)
    };
    let _ = writeln!(
        out,
        "{} (SQNR in dB, higher is better; error in steps of the tensor's own scale):",
        paint.bold(if shown < worst.len() {
            "worst tensors"
        } else {
            "tensors, worst first"
        })
    );
    let mut rows = vec![vec![
        "sqnr".to_string(),
        "max error".into(),
        "clipped".into(),
        "mpeir".into(),
        "tensor".into(),
    ]];
    let mut causes = Vec::new();
    for t in worst.iter().take(shown) {
        // No SQNR: exact only when no sample differs anywhere (the float
        // values all 0 with an error leave it undefined too).
        let sqnr = match (t.sqnr_db, t.mpeir) {
            (Some(_), _) => number(t.sqnr_db, 1),
            (None, Some(0.0)) => "exact".to_string(),
            (None, _) => "-".to_string(),
        };
        rows.push(vec![
            sqnr,
            number(t.max_error_steps, 1),
            percent(t.clipped),
            number(t.mpeir, 4),
            format!("{} ({}, #{})", table::shorten(&t.name), t.dtype, t.index),
        ]);
        causes.push(t.cause);
    }
    let text = table::layout(&rows, &[true, true, true, true, false]);
    let mut lines = text.lines();
    if let Some(header) = lines.next() {
        let _ = writeln!(out, "  {}", paint.dim(header));
    }
    for (line, cause) in lines.zip(causes) {
        let _ = writeln!(out, "  {line}");
        if let Some(c) = cause {
            let _ = writeln!(out, "      {} {}", paint.warning("likely:"), c.explain());
        }
    }
    if shown < worst.len() {
        let _ = writeln!(
            out,
            "  {}",
            paint.dim(&format!(
                "... and {} more (--all lists every tensor; --format json or html too)",
                worst.len() - shown
            ))
        );
    }
    out.push('\n');
}

fn outputs(out: &mut String, report: &Report, paint: Paint) {
    if report.outputs.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", paint.bold("outputs:"));
    for o in &report.outputs {
        let _ = writeln!(out, "  {}: {}", table::shorten(&o.name), output_line(o));
    }
    out.push('\n');
}

fn output_line(o: &OutputRow) -> String {
    if !o.evaluated {
        return "not evaluated (an operator it depends on could not run here)".to_string();
    }
    let mut parts = vec![
        match o.sqnr_db {
            Some(_) => format!("SQNR {} dB", number(o.sqnr_db, 1)),
            None if o.is_exact() => "exact".to_string(),
            None => "SQNR undefined".to_string(),
        },
        format!("PSNR {} dB", number(o.psnr_db, 1)),
        format!("MAE {}", number(o.mae, 6)),
        format!("max error {}", number(o.max_abs_error, 6)),
    ];
    if let (Some(t1), Some(t5)) = (o.top1, o.top5) {
        parts.push(format!("top-1 {}", percent(Some(t1))));
        parts.push(format!("top-5 {}", percent(Some(t5))));
    }
    parts.join(", ")
}

fn unsupported(out: &mut String, report: &Report, paint: Paint) {
    if report.unsupported.is_empty() {
        return;
    }
    let skipped = report.tensors.iter().filter(|t| !t.evaluated).count();
    let _ = writeln!(
        out,
        "{} {} could not be run here, so {} depending on them {} not evaluated:",
        paint.warning("warning:"),
        plural(report.unsupported.len(), "operator"),
        plural(skipped, "tensor"),
        if skipped == 1 { "is" } else { "are" }
    );
    for u in &report.unsupported {
        let _ = writeln!(
            out,
            "  {} #{} (subgraph {})",
            u.operator, u.index, u.subgraph
        );
    }
    out.push('\n');
}
