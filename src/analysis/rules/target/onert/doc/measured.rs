//! The matrix as measured: the summary per scheme, the cells operator by
//! operator, the special cases, the timed sweep and the fixture models.

use super::coverage::model_rules;
use super::text::{cell_text, g, g_opt, md, rule_text, span, table};
use super::{Cells, SCHEMES};
use crate::analysis::rules::target::onert::matrix::{Cell, Matrix};

pub(super) const WEIGHTED: [&str; 3] = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"];
/// The summary per scheme, then the matrix's cells operator by operator,
/// the special cases and FULLY_CONNECTED's narrowed down.
pub(super) fn by_operator(lines: &mut Vec<String>, m: &Matrix, cells: &Cells<'_>) {
    lines.extend(["## Summary".to_string(), String::new()]);
    let rows = SCHEMES
        .iter()
        .map(|s| {
            let mine: Vec<&Cell> = cells.group("matrix").filter(|c| c.scheme == *s).collect();
            let count = |p: &str| mine.iter().filter(|c| c.verdict.starts_with(p)).count();
            vec![
                s.to_string(),
                mine.len().to_string(),
                count("ok").to_string(),
                count("wrong").to_string(),
                count("rejected").to_string(),
                (count("crash") + count("timeout")).to_string(),
            ]
        })
        .collect();
    lines.extend(table(
        &[
            "Scheme",
            "Cells",
            "ok",
            "wrong",
            "rejected",
            "crash or timeout",
        ],
        rows,
    ));
    lines.extend([
        String::new(),
        "## Weighted operators".into(),
        String::new(),
        "Weights per tensor or per output channel (axis 0; axis 3 for DEPTHWISE_CONV_2D), constant, with a constant bias.".into(),
        String::new(),
    ]);
    let mut rows = Vec::new();
    for op in WEIGHTED {
        for (g, _) in &m.granularities {
            let mut row = vec![op.to_string(), g.clone()];
            row.extend(SCHEMES.map(|s| cell_text(cells.get(&format!("{op}/{s}/{g}")), true)));
            rows.push(row);
        }
    }
    lines.extend(table(
        &["Operator", "Weights", "uint8", "int8", "int16"],
        rows,
    ));
    lines.extend([
        String::new(),
        "## Other operators".into(),
        String::new(),
        "Per-tensor parameters; outputs of operators that move values have their input's parameters, SOFTMAX, LOGISTIC and TANH outputs TFLite's fixed ones (1/256 with zero point 0 for uint8 and -128 for int8; TANH 1/128 with 128 and 0; 1/32768 with 0 for int16), others parameters calibrated from the data.".into(),
        String::new(),
    ]);
    let rows = m
        .operators
        .iter()
        .filter(|op| !WEIGHTED.contains(&op.as_str()))
        .map(|op| {
            let mut row = vec![op.clone()];
            row.extend(
                SCHEMES.map(|s| cell_text(cells.get(&format!("{op}/{s}/per-tensor")), true)),
            );
            row
        })
        .collect();
    lines.extend(table(&["Operator", "uint8", "int8", "int16"], rows));
    lines.extend([
        String::new(),
        "## Special cases".into(),
        String::new(),
        "Folklore checked, and the configurations real models have.".into(),
        String::new(),
    ]);
    lines.extend(described(cells.group("special")));
    let narrowed: Vec<&Cell> = cells.group("fc-per-channel").collect();
    if !narrowed.is_empty() {
        lines.extend([
            String::new(),
            "## FULLY_CONNECTED uint8 per channel, narrowed down".into(),
            String::new(),
        ]);
        lines.extend(described(narrowed.into_iter()));
    }
    lines.push(String::new());
}

/// A table of cells with what each is.
pub(super) fn described<'m>(cells: impl Iterator<Item = &'m Cell>) -> Vec<String> {
    let rows = cells
        .map(|c| {
            vec![
                format!("`{}`", c.id),
                md(&c.description),
                cell_text(Some(c), true),
            ]
        })
        .collect();
    table(&["Cell", "What", "Result"], rows)
}

/// The timed sweep of convolutions per tensor and per channel.
pub(super) fn timed(lines: &mut Vec<String>, cells: &Cells<'_>) {
    let sweep: Vec<&Cell> = cells.group("conv-sweep").collect();
    if sweep.is_empty() {
        return;
    }
    lines.extend([
        "## Convolutions per tensor and per channel, timed".to_string(),
        String::new(),
        "The fastest of 10 runs of the operator alone (`run()`), on the measuring machine: indicative only. uint8 per-channel weights take another kernel than per-tensor ones, whether or not the zero points vary.".into(),
        String::new(),
    ]);
    const COLUMNS: [(&str, &str); 5] = [
        ("uint8", "per-tensor"),
        ("uint8", "per-channel"),
        ("uint8", "per-channel-zp"),
        ("int8", "per-tensor"),
        ("int8", "per-channel"),
    ];
    let mut shapes: Vec<(&str, &str)> = Vec::new();
    for c in &sweep {
        let key = (c.op.as_str(), c.tag());
        if !shapes.contains(&key) {
            shapes.push(key);
        }
    }
    let seconds = |id: String| cells.get(&id).and_then(|c| c.run_seconds);
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    for &(op, tag) in &shapes {
        let mut row = vec![format!("{op} `{tag}`")];
        for (s, g) in COLUMNS {
            row.push(match cells.get(&format!("{op}/{s}/{g}/{tag}")) {
                None => "·".into(),
                Some(c) if c.verdict == "ok" && c.run_seconds.is_some() => format!(
                    "ok ({}), {:.3} ms",
                    g_opt(c.max_steps),
                    c.run_seconds.unwrap_or_default() * 1e3
                ),
                Some(c) => cell_text(Some(c), false),
            });
        }
        let pt = seconds(format!("{op}/uint8/per-tensor/{tag}")).filter(|&t| t != 0.0);
        let pc = seconds(format!("{op}/uint8/per-channel-zp/{tag}")).filter(|&t| t != 0.0);
        match (pt, pc) {
            (Some(pt), Some(pc)) => {
                if op == "CONV_2D" {
                    ratios.push(pc / pt);
                }
                row.push(format!("{:.1}x", pc / pt));
            }
            _ => row.push("·".into()),
        }
        rows.push(row);
    }
    let mut header = vec!["Shape".to_string()];
    header.extend(COLUMNS.map(|(s, g)| format!("{s} {g}")));
    header.push("uint8 per-channel-zp / per-tensor".into());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    lines.extend(table(&header, rows));
    if let Some((lo, hi)) = span(&ratios) {
        lines.extend([
            String::new(),
            format!("CONV_2D uint8 per-channel (zero points varying) over per-tensor: {lo:.1}x to {hi:.1}x the time. (Times vary with the machine's load: per-tensor DEPTHWISE_CONV_2D has been seen 20 times slower from one run to the next.)"),
        ]);
    }
    let mut int8 = Vec::new();
    for &(op, tag) in shapes.iter().filter(|(op, _)| *op == "CONV_2D") {
        let pc = seconds(format!("{op}/uint8/per-channel-zp/{tag}")).filter(|&t| t != 0.0);
        for g in ["per-tensor", "per-channel"] {
            let t = seconds(format!("{op}/int8/{g}/{tag}")).filter(|&t| t != 0.0);
            if let (Some(t), Some(pc)) = (t, pc) {
                int8.push(t / pc);
            }
        }
    }
    if let Some((lo, hi)) = span(&int8) {
        lines.extend([
            String::new(),
            format!("CONV_2D int8, per tensor or per channel, over uint8 per-channel (zero points varying): {lo:.1}x to {hi:.1}x the time."),
        ]);
    }
    lines.push(String::new());
}

/// The fixture models with per-channel weights.
pub(super) fn models(lines: &mut Vec<String>, m: &Matrix) {
    if m.models.is_empty() {
        return;
    }
    lines.extend([
        "## Fixture models with per-channel weights".to_string(),
        String::new(),
        "Differences from the float model on onert, in steps of the output, over the 8 calibration inputs; `simulated` is the numpy simulation of the same quantized model (what the quantization alone explains). Run times: the fastest of 20 runs of one input, indicative only.".into(),
        String::new(),
    ]);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows = m
        .models
        .iter()
        .map(|r| {
            let variant = text(&r.variant);
            let verdict = text(&r.verdict);
            if let Some(skipped) = &r.skipped {
                let model = r.model.clone().unwrap_or_else(|| "·".into());
                return vec![
                    model,
                    "·".into(),
                    md(skipped),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
            }
            let rule = rule_text(&model_rules(&variant));
            let (Some(onert), Some(simulated), Some(run)) =
                (r.onert_steps, r.simulated_steps, r.run_ms)
            else {
                let failed = md(&format!("{verdict}: {}", text(&r.error)));
                return vec![
                    text(&r.model),
                    variant,
                    failed,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    rule,
                ];
            };
            vec![
                text(&r.model),
                variant,
                if verdict == "ok" {
                    verdict.clone()
                } else {
                    format!("**{verdict}**")
                },
                format!("{} / {}", g(onert.0), g(onert.1)),
                format!("{} / {}", g(simulated.0), g(simulated.1)),
                format!("{} ms", g(run.0)),
                format!("{} ms", g(run.1)),
                if verdict == "ok" { String::new() } else { rule },
            ]
        })
        .collect();
    lines.extend(table(
        &[
            "Model",
            "Weights",
            "Result",
            "onert mean / max",
            "simulated mean / max",
            "run",
            "float model run",
            "rule",
        ],
        rows,
    ));
    lines.push(String::new());
}
