//! The qparam text as miette reads it: spans are looked up in a line index
//! (so rendering many findings stays linear), and a very long line (a
//! one-line `json.dump`) is cut to a window around the span, which keeps
//! the drawing readable and within what the renderer can lay out.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::span::LineIndex;

/// Lines longer than this (in bytes) are shown as a window.
const LONG_LINE: usize = 240;

/// Bytes shown on each side of a span on a long line.
const WINDOW_MARGIN: usize = 80;

pub struct QParamSource<'a> {
    pub name: String,
    pub text: &'a str,
    pub lines: &'a LineIndex,
}

impl QParamSource<'_> {
    fn floor(&self, at: usize) -> usize {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    fn ceil(&self, at: usize) -> usize {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at += 1;
        }
        at
    }
}

impl SourceCode for QParamSource<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = self.floor(span.offset());
        let end = self.ceil(span.offset() + span.len()).max(start);
        if span.offset() + span.len() > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first = self.lines.line_of(start);
        let last = self.lines.line_of(end.saturating_sub(1).max(start));
        let from_line = first.saturating_sub(before);
        let to_line = (last + after).min(self.lines.line_count() - 1);
        let long =
            (from_line..=to_line).any(|l| self.lines.line_span(self.text, l).len() > LONG_LINE);
        // Without context lines the contents start at the span itself:
        // the renderer takes the location it prints from them.
        let (from, to, line, count) = if long {
            // One window of the span's own line(s), no context lines.
            let line_start = self.lines.line_span(self.text, first).start;
            let line_end = self.lines.line_span(self.text, last).end;
            let from = if before == 0 {
                start
            } else {
                self.floor(start.saturating_sub(WINDOW_MARGIN).max(line_start))
            };
            (
                from,
                self.ceil((end + WINDOW_MARGIN).min(line_end)),
                first,
                last - first + 1,
            )
        } else {
            // With context lines, the contents start at the start of the
            // first line.
            let from = if before == 0 {
                start
            } else {
                self.lines.line_span(self.text, from_line).start
            };
            (
                from,
                self.lines.line_span(self.text, to_line).end.max(end),
                from_line,
                to_line - from_line + 1,
            )
        };
        // A CRLF file's last line would end in a lone `\r`, which the
        // renderer counts as one more line.
        let to = if to > end && self.text.as_bytes()[to - 1] == b'\r' {
            to - 1
        } else {
            to
        };
        let (_, column) = self.lines.line_col(self.text, from);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[from..to],
            SourceSpan::new(from.into(), to - from),
            line,
            column - 1,
            count,
        )))
    }
}

/// `text` with every control character (but tab, CR and LF) and every mark
/// that reorders text replaced by a visible one of the same length in
/// bytes and in characters, so that spans and the line index still fit.
pub fn shown_safely(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden =
        |c: char| (c.is_control() && !matches!(c, '\t' | '\r' | '\n')) || super::reorders(c);
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| match (hidden(c), c.len_utf8()) {
                (false, _) => c,
                (true, 1) => '?',
                (true, 2) => '¿',
                (true, _) => '\u{fffd}',
            })
            .collect(),
    )
}
