//! What `diff` says: for people, each differing key (worst first) with what
//! differs, then a summary line; `--stat`, the counts only; for tools, the
//! versioned JSON contract of docs/diff-json.md.

use std::fmt::Write;

use serde::Serialize;

use super::{plural, printable, Paint, Style};
use crate::diff::{DiffOutcome, Difference, Kind, SideInfo, SideKind};
use crate::table;

/// The JSON contract's version: raised when a field changes meaning or goes.
const VERSION: u32 = 1;

/// Each differing key with what differs, then the summary line.
pub fn human(outcome: &DiffOutcome, style: &Style) -> String {
    let paint = Paint(style.color);
    let mut out = String::new();
    for d in &outcome.comparison.differences {
        let key = printable(&table::shorten(&d.key)).into_owned();
        let _ = writeln!(out, "{}", paint.bold(&format!("`{key}`")));
        for line in lines(d) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !style.quiet {
        out.push_str(&summary(outcome));
    }
    out
}

/// `--stat`: how many keys differ in each way, then the summary line.
pub fn stat(outcome: &DiffOutcome, style: &Style) -> String {
    let mut out = String::new();
    let mut rows = Vec::new();
    for kind in Kind::ALL {
        let n = outcome
            .comparison
            .differences
            .iter()
            .filter(|d| d.kinds.contains(&kind))
            .count();
        if n > 0 {
            rows.push(vec![n.to_string(), kind.name().to_string()]);
        }
    }
    out.push_str(&table::layout(&rows, &[true, false]));
    if !style.quiet {
        out.push_str(&summary(outcome));
    }
    out
}

/// `5 keys differ, 12 are the same (A: export/qparam.json, set; B:
/// m.q.circle, model)`, or `same: ...`.
pub fn summary(outcome: &DiffOutcome) -> String {
    let c = &outcome.comparison;
    let side = |s: &SideInfo| {
        format!(
            "{}, {} with {}",
            s.path.display(),
            match s.kind {
                SideKind::Set => "a set",
                SideKind::Model => "a model",
            },
            plural(s.keys, "key", "keys")
        )
    };
    let line = if c.differences.is_empty() {
        format!(
            "same: {} match (A: {}; B: {})",
            plural(c.same, "key", "keys"),
            side(&outcome.a),
            side(&outcome.b)
        )
    } else {
        format!(
            "{} {}, {} the same (A: {}; B: {})",
            plural(c.differences.len(), "key", "keys"),
            if c.differences.len() == 1 {
                "differs"
            } else {
                "differ"
            },
            c.same,
            side(&outcome.a),
            side(&outcome.b)
        )
    };
    printable(&line).into_owned() + "\n"
}

/// What differs in one key, a line each, worst first.
fn lines(d: &Difference) -> Vec<String> {
    let mut out = Vec::new();
    for kind in &d.kinds {
        out.push(match kind {
            Kind::OnlyInA => "only in A".to_string(),
            Kind::OnlyInB => "only in B".to_string(),
            Kind::Dtype => match &d.dtype {
                Some(p) => format!("dtype: {} -> {}", p.a, p.b),
                None => "dtype".into(),
            },
            Kind::QuantizedDimension => match &d.quantized_dimension {
                Some(p) => format!("quantized_dimension: {} -> {}", axis(p.a), axis(p.b)),
                None => "quantized_dimension".into(),
            },
            Kind::Scale => match &d.scale {
                Some(s) if s.channels.a != s.channels.b => {
                    format!("scale: {} -> {} channels", s.channels.a, s.channels.b)
                }
                Some(s) => match (s.max_ratio, s.channel) {
                    (Some(r), Some(c)) => format!(
                        "scale: up to {}x (channel {c} of {})",
                        round(r),
                        s.channels.a
                    ),
                    _ => "scale: a scale is zero, negative or not finite".into(),
                },
                None => "scale".into(),
            },
            Kind::ZeroPoint => match &d.zero_point {
                Some(z) => match (z.max_shift, z.channel) {
                    (Some(s), Some(c)) => format!(
                        "zero point: moved by up to {s} (channel {c} of {})",
                        z.channels.a
                    ),
                    _ => format!("zero point: {} -> {} channels", z.channels.a, z.channels.b),
                },
                None => "zero point".into(),
            },
            Kind::Values => match &d.values {
                Some(v) => match (v.changed, v.elements) {
                    (Some(changed), Some(n)) => format!(
                        "values: {changed} of {n} elements changed, by up to {} steps (element {})",
                        v.max_steps.map_or("?".into(), round),
                        v.at.unwrap_or(0)
                    ),
                    _ => format!(
                        "values: shape {} -> {}",
                        shape(v.shape.a.as_deref()),
                        shape(v.shape.b.as_deref())
                    ),
                },
                None => "values".into(),
            },
        });
    }
    out
}

fn axis(a: Option<u32>) -> String {
    a.map_or("(none)".into(), |a| a.to_string())
}

fn shape(s: Option<&[usize]>) -> String {
    s.map_or("(no value)".into(), |s| format!("{s:?}"))
}

/// A number for people: at most four significant decimals.
fn round(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    a: &'a SideInfo,
    b: &'a SideInfo,
    rtol: f64,
    differences: &'a [Difference],
    same: usize,
}

/// `--format json`: one document, contract version 1.
pub fn json(outcome: &DiffOutcome) -> String {
    serde_json::to_string_pretty(&Output {
        version: VERSION,
        a: &outcome.a,
        b: &outcome.b,
        rtol: outcome.tolerance.rtol,
        differences: &outcome.comparison.differences,
        same: outcome.comparison.same,
    })
    .expect("the diff serializes")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::round;

    #[test]
    fn numbers_are_short() {
        assert_eq!(round(2.0), "2");
        assert_eq!(round(1.000_01), "1");
        assert_eq!(round(1.234_56), "1.2346");
    }
}
