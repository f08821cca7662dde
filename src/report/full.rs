//! `--format full`: miette's graphical rendering of each finding on the
//! qparam.json source (every label, every candidate), then the closing line.

use std::fmt::Write;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, Severity as MSeverity};

use super::source::QParamSource;
use super::{closing, printable, Sources, Style, View};
use crate::diagnostic::{Diagnostic, Severity};

/// One finding in miette's terms.
struct Finding<'a> {
    d: &'a Diagnostic,
    source: &'a QParamSource<'a>,
    help: Option<String>,
}

impl std::fmt::Debug for Finding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&printable(&self.d.message))
    }
}

impl std::fmt::Display for Finding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&printable(&self.d.message))
    }
}

impl std::error::Error for Finding<'_> {}

impl miette::Diagnostic for Finding<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!(
            "{}[{}] {}",
            self.d.severity.name(),
            self.d.code(),
            self.d.rule.name
        )))
    }

    fn severity(&self) -> Option<MSeverity> {
        Some(match self.d.severity {
            Severity::Error => MSeverity::Error,
            Severity::Warning => MSeverity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.d
            .span
            .as_ref()
            .map(|_| self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = self.d.span.clone()?;
        let text = self
            .d
            .field
            .map(|f| f.to_string())
            .or_else(|| Some("here".to_string()));
        let near = |l: &&crate::diagnostic::Label| drawn_together(&primary, &l.span);
        let mut labels = vec![LabeledSpan::new_primary_with_span(text, primary.clone())];
        labels.extend(
            self.d
                .labels
                .iter()
                .filter(near)
                .map(|l| LabeledSpan::new_with_span(Some(l.text.clone()), l.span.clone())),
        );
        Some(Box::new(labels.into_iter()))
    }
}

pub fn render(view: &View<'_>, sources: &Sources<'_>, style: &Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Without a terminal nothing is wrapped: a pipe or a log keeps lines whole.
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(style.width.unwrap_or(usize::MAX / 2));
    let qparam = &view.analysis.qparam;
    let text = super::source::shown_safely(&qparam.text);
    let source = QParamSource {
        name: printable(&sources.qparam.display().to_string()).into_owned(),
        text: &text,
        lines: &qparam.lines,
    };
    let mut out = String::new();
    for d in &view.shown {
        let mut help = d.help.clone();
        if !d.suggestions.is_empty() {
            let mut text = help.map(|h| format!("{h}\n")).unwrap_or_default();
            text.push_str("candidates:");
            for s in &d.suggestions {
                let _ = write!(
                    text,
                    "\n  `{}` ({:.0}%): {}",
                    printable(&s.name),
                    s.shown_confidence() * 100.0,
                    printable(&s.reason)
                );
            }
            help = Some(text);
        }
        // Labels too far from the finding to draw with it are said in words.
        for l in d
            .labels
            .iter()
            .filter(|l| d.span.as_ref().is_some_and(|p| !drawn_together(p, &l.span)))
        {
            let (line, column) = qparam.line_col(l.span.start);
            let far = format!("{} at {line}:{column}", l.text);
            help = Some(match help {
                Some(h) => format!("{h}\n{far}"),
                None => far,
            });
        }
        let help = help.map(|h| {
            h.lines()
                .map(|l| printable(l).into_owned())
                .collect::<Vec<_>>()
                .join("\n")
        });
        let finding = Finding {
            d,
            source: &source,
            help,
        };
        let _ = handler.render_report(&mut out, &finding);
        out.push('\n');
    }
    if !style.quiet {
        out.push_str(&closing(view, sources));
    }
    out
}

/// Bytes a finding and a secondary label may span and still be drawn in
/// one snippet: the drawing pads to columns, which are bounded.
const DRAWN_TOGETHER: usize = 4096;

fn drawn_together(a: &crate::span::Span, b: &crate::span::Span) -> bool {
    a.end.max(b.end) - a.start.min(b.start) <= DRAWN_TOGETHER
}
