//! `--format concise`: one line per finding, as compilers and linters print
//! them (`path:line:col: error[Q501] message`), so that editors and `grep`
//! can read them. Findings about the model carry the model's path.

use std::fmt::Write;

use super::{closing, place, printable, Paint, Sources, Style, View};

pub fn render(view: &View<'_>, sources: &Sources<'_>, style: &Style) -> String {
    let paint = Paint(style.color);
    let mut out = String::new();
    for d in &view.shown {
        let at = match place(view, d) {
            Some((l, c)) => format!("{}:{l}:{c}", sources.qparam.display()),
            None => sources.model.display().to_string(),
        };
        let at = printable(&at);
        let label = format!("{}[{}]", d.severity.name(), d.code());
        let _ = writeln!(
            out,
            "{}: {}{} {}",
            paint.bold(&at),
            paint.severity(d.severity, &label),
            if d.fixable { " [*]" } else { "" },
            printable(&d.message)
        );
    }
    if !style.quiet {
        out.push_str(&closing(view, sources));
    }
    out
}
