//! The verify report as one self-contained HTML page (no network, no
//! external file): a chart of SQNR along the graph's order, the outputs,
//! and a table of every tensor, worst first, that sorts by any column.

use std::fmt::Write;

use super::report::{Report, TensorRow};

/// The chart's drawing area, in SVG units.
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 280.0;
const MARGIN: f64 = 40.0;

pub fn render(report: &Report, title: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&format!("q-implant verify: {title}")),
        escape(title)
    );
    let _ = writeln!(
        out,
        "<p id=\"summary\">{} tensors on {} {}.</p>",
        report.tensors.iter().filter(|t| t.evaluated).count(),
        report.samples,
        if report.random_inputs {
            "random samples (uniform over each quantized input's range, standard normal for a float input)"
        } else {
            "samples given with --input"
        }
    );
    if report.pairing.is_poor() {
        let _ = writeln!(
            out,
            "<p id=\"pairing\" class=\"warning\">Warning: {}.</p>",
            escape(&report.pairing.warning())
        );
    }
    chart(&mut out, report);
    outputs(&mut out, report);
    unsupported(&mut out, report);
    tensors(&mut out, report);
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn cell(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("<td data-v=\"{v}\">{v:.digits$}</td>"),
        _ => "<td data-v=\"\">&ndash;</td>".to_string(),
    }
}

/// SQNR of each evaluated tensor along the graph's order; a tensor with a
/// likely cause is drawn red.
fn chart(out: &mut String, report: &Report) {
    let points: Vec<(usize, &TensorRow, f64)> = report
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.evaluated)
        .filter_map(|(i, t)| t.sqnr_db.filter(|s| s.is_finite()).map(|s| (i, t, s)))
        .collect();
    let _ = writeln!(
        out,
        "<h2>SQNR along the graph</h2>\n<svg id=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"SQNR in dB of each tensor, in the graph's order\">"
    );
    if points.is_empty() {
        let _ = writeln!(
            out,
            "<text x=\"{MARGIN}\" y=\"{}\">no tensor has an SQNR (each is exact or not evaluated)</text></svg>",
            HEIGHT / 2.0
        );
        return;
    }
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.2), hi.max(p.2))
        });
    let (lo, hi) = (lo.min(0.0).floor(), (hi + 1.0).ceil());
    let last = report.tensors.len().max(2) - 1;
    let x = |i: usize| MARGIN + (WIDTH - 2.0 * MARGIN) * i as f64 / last as f64;
    let y = |s: f64| HEIGHT - MARGIN - (HEIGHT - 2.0 * MARGIN) * (s - lo) / (hi - lo);
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{MARGIN}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\"/><line class=\"axis\" x1=\"{MARGIN}\" y1=\"{MARGIN}\" x2=\"{MARGIN}\" y2=\"{0}\"/>",
        HEIGHT - MARGIN,
        WIDTH - MARGIN
    );
    let _ = writeln!(
        out,
        "<text x=\"4\" y=\"{:.1}\">{hi} dB</text><text x=\"4\" y=\"{:.1}\">{lo} dB</text><text x=\"{:.1}\" y=\"{:.1}\">graph order</text>",
        y(hi) + 4.0,
        y(lo),
        WIDTH / 2.0,
        HEIGHT - 8.0
    );
    let path: Vec<String> = points
        .iter()
        .map(|(i, _, s)| format!("{:.1},{:.1}", x(*i), y(*s)))
        .collect();
    let _ = writeln!(
        out,
        "<polyline class=\"line\" points=\"{}\"/>",
        path.join(" ")
    );
    for (i, t, s) in &points {
        let _ = writeln!(
            out,
            "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} ({}, #{}): {s:.1} dB</title></circle>",
            if t.cause.is_some() { "point bad" } else { "point" },
            x(*i),
            y(*s),
            escape(&t.name),
            escape(&t.dtype),
            t.index
        );
    }
    out.push_str("</svg>\n");
}

fn outputs(out: &mut String, report: &Report) {
    out.push_str("<h2>Outputs</h2>\n<table id=\"outputs\"><thead><tr><th>output</th><th>SQNR (dB)</th><th>PSNR (dB)</th><th>MAE</th><th>max error</th><th>top-1</th><th>top-5</th></tr></thead><tbody>\n");
    for o in &report.outputs {
        if !o.evaluated {
            let _ = writeln!(
                out,
                "<tr class=\"skipped\"><td>{}</td><td data-v=\"\" colspan=\"6\">not evaluated (an operator it depends on could not run here)</td></tr>",
                escape(&o.name)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "<tr><td>{}</td>{}{}{}{}{}{}</tr>",
            escape(&o.name),
            cell(o.sqnr_db, 1),
            cell(o.psnr_db, 1),
            cell(o.mae, 6),
            cell(o.max_abs_error, 6),
            cell(o.top1.map(|v| v * 100.0), 1),
            cell(o.top5.map(|v| v * 100.0), 1)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn unsupported(out: &mut String, report: &Report) {
    if report.unsupported.is_empty() {
        return;
    }
    out.push_str("<h2>Not evaluated</h2>\n<p>No kernel here for these operators; the tensors depending on them are not evaluated:</p>\n<ul id=\"unsupported\">\n");
    for u in &report.unsupported {
        let _ = writeln!(
            out,
            "<li>{} #{} (subgraph {})</li>",
            escape(&u.operator),
            u.index,
            u.subgraph
        );
    }
    out.push_str("</ul>\n");
}

/// Every tensor, worst first (then those not evaluated); a click on a
/// column's header sorts by it.
fn tensors(out: &mut String, report: &Report) {
    out.push_str("<h2>Tensors</h2>\n<p>Click a column to sort by it. Errors are in steps of the tensor's own scale.</p>\n<table id=\"tensors\"><thead><tr><th data-type=\"number\">order</th><th data-type=\"text\">tensor</th><th data-type=\"text\">dtype</th><th data-type=\"number\">SQNR (dB)</th><th data-type=\"number\">max error (steps)</th><th data-type=\"number\">clipped (%)</th><th data-type=\"number\">MPEIR</th><th data-type=\"text\">likely cause</th></tr></thead><tbody>\n");
    let positions: std::collections::HashMap<(usize, usize), usize> = report
        .tensors
        .iter()
        .enumerate()
        .map(|(i, t)| ((t.subgraph, t.index), i))
        .collect();
    let order = |t: &TensorRow| positions.get(&(t.subgraph, t.index)).copied().unwrap_or(0);
    let mut rows = report.worst_first();
    rows.extend(report.tensors.iter().filter(|t| !t.evaluated));
    for t in rows {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td>{}{}{}{}<td>{}</td></tr>",
            if !t.evaluated {
                "skipped"
            } else if t.cause.is_some() {
                "bad"
            } else {
                "ok"
            },
            order(t),
            order(t),
            escape(&t.name),
            escape(&t.dtype),
            if t.evaluated {
                cell(t.sqnr_db, 1)
            } else {
                "<td data-v=\"\">not evaluated</td>".to_string()
            },
            cell(t.max_error_steps, 2),
            cell(t.clipped.map(|v| v * 100.0), 2),
            cell(t.mpeir, 4),
            t.cause.map_or(String::new(), |c| escape(c.explain()))
        );
    }
    out.push_str("</tbody></table>\n");
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right}\
td:nth-child(2),th:nth-child(2){text-align:left}th{cursor:pointer;background:#f4f4f4}\
tr.bad{background:#fde8e8}tr.skipped{color:#999}\
svg{width:100%;max-width:960px;height:auto;border:1px solid #ddd}\
.axis{stroke:#888}.line{fill:none;stroke:#36c;stroke-width:1.5}.point{fill:#36c}.point.bad{fill:#c33}\
text{font-size:11px;fill:#555}";

/// Sorting by a column: numbers by their `data-v` (empty last), text by
/// its content; a second click reverses.
const SCRIPT: &str = "document.querySelectorAll('table#tensors th').forEach(function(th, col){\
th.addEventListener('click', function(){\
var body = th.closest('table').tBodies[0];\
var rows = Array.prototype.slice.call(body.rows);\
var up = th.dataset.dir !== 'up'; th.dataset.dir = up ? 'up' : 'down';\
var num = th.dataset.type === 'number';\
rows.sort(function(a, b){\
var x = a.cells[col], y = b.cells[col];\
if (num) { var p = x.dataset.v === '' ? NaN : parseFloat(x.dataset.v), q = y.dataset.v === '' ? NaN : parseFloat(y.dataset.v);\
if (isNaN(p) && isNaN(q)) return 0; if (isNaN(p)) return 1; if (isNaN(q)) return -1; return up ? p - q : q - p; }\
var s = x.textContent.localeCompare(y.textContent); return up ? s : -s; });\
rows.forEach(function(r){ body.appendChild(r); }); }); });";
