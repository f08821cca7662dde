//! `--statistics`: how many findings of each code, most frequent first.

use std::collections::BTreeMap;

use super::{closing, Paint, Sources, Style, View};
use crate::diagnostic::Rule;

pub fn render(view: &View<'_>, sources: &Sources<'_>, style: &Style) -> String {
    let paint = Paint(style.color);
    let mut counts: BTreeMap<&'static str, (&'static Rule, usize, usize)> = BTreeMap::new();
    for d in &view.shown {
        let c = counts.entry(d.code()).or_insert((d.rule, 0, 0));
        c.1 += 1;
        c.2 += usize::from(d.fixable);
    }
    let mut rows: Vec<_> = counts.into_values().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code.cmp(b.0.code)));
    let mut table = vec![vec![
        "count".to_string(),
        "code".into(),
        "name".into(),
        "severity".into(),
        "fixable".into(),
    ]];
    for (rule, n, fixable) in &rows {
        table.push(vec![
            n.to_string(),
            rule.code.to_string(),
            rule.name.to_string(),
            rule.severity.name().to_string(),
            fixable.to_string(),
        ]);
    }
    let mut out = String::new();
    if !rows.is_empty() {
        let text = crate::table::layout(&table, &[true, false, false, false, true]);
        let mut lines = text.lines();
        if let Some(head) = lines.next() {
            out.push_str(&paint.bold(head));
            out.push('\n');
        }
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !style.quiet {
        out.push_str(&closing(view, sources));
    }
    out
}
