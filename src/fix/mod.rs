//! `check --fix`: the mechanical fixes the analysis is sure of, applied to
//! the text of qparam.json (so its formatting and order stay as they were):
//! keys renamed to the tensor the matcher confidently gives them, and
//! `"quantized_dimension": 0` added where it can be nothing else. Ambiguous
//! keys are left alone and listed; existing npy files are never touched.
//! [`write`] saves the result without ever losing the original.

mod write;

pub use write::{write, FixError, FixWritten};

use crate::analysis::matcher::Verdict;
use crate::analysis::Analysis;
use crate::span::Span;

/// A change made to the text, described for the user.
#[derive(Clone, Debug, PartialEq)]
pub struct Fixed {
    pub key: String,
    pub what: String,
}

/// What `--fix` would do.
#[derive(Debug, Default)]
pub struct FixPlan {
    edits: Vec<(Span, String)>,
    pub fixed: Vec<Fixed>,
    /// Keys left as they are, with the reason.
    pub left: Vec<Fixed>,
}

impl FixPlan {
    pub fn new(analysis: &Analysis) -> FixPlan {
        let text = &analysis.qparam.text;
        let mut plan = FixPlan::default();
        for (entry, resolution) in analysis.qparam.entries.iter().zip(&analysis.resolutions) {
            match &resolution.verdict {
                Verdict::Match(m) => {
                    let quoted = serde_json::to_string(&m.name).expect("a string serializes");
                    plan.edits.push((entry.key_span.clone(), quoted));
                    plan.fixed.push(Fixed {
                        key: entry.key.clone(),
                        what: format!(
                            "renamed to `{}` ({:.0}%: {})",
                            m.name,
                            m.shown_confidence() * 100.0,
                            m.reason
                        ),
                    });
                }
                Verdict::Ambiguous(ties) => plan.left.push(Fixed {
                    key: entry.key.clone(),
                    what: format!(
                        "ambiguous between {}",
                        ties.iter()
                            .map(|t| format!("`{}`", t.name))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                }),
                Verdict::Unmatched | Verdict::Named => {}
            }
            let per_tensor = entry
                .scale
                .as_ref()
                .is_some_and(|s| s.value.header.element_count() == Some(1));
            if !entry.has_axis_field && per_tensor {
                if let Some(edit) = append_member(text, &entry.span, "\"quantized_dimension\": 0") {
                    plan.edits.push(edit);
                    plan.fixed.push(Fixed {
                        key: entry.key.clone(),
                        what: "added \"quantized_dimension\": 0 (per-tensor parameters have no other axis)".into(),
                    });
                }
            }
        }
        plan
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The fixed text.
    pub fn apply(&self, text: &str) -> String {
        let mut edits = self.edits.clone();
        edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        let mut out = text.to_string();
        for (span, replacement) in edits {
            out.replace_range(span, &replacement);
        }
        out
    }
}

/// An edit adding `member` as the last member of the object at `object`,
/// indented like the member before it.
fn append_member(text: &str, object: &Span, member: &str) -> Option<(Span, String)> {
    let inner = &text[object.start..object.end.checked_sub(1)?];
    let last = inner.trim_end();
    if last.trim_start() == "{" {
        return Some((object.start + 1..object.start + 1, member.to_string()));
    }
    let at = object.start + last.len();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let sep = if text[line_start..at].trim_start().starts_with('{') {
        " ".to_string()
    } else {
        format!("\n{indent}")
    };
    Some((at..at, format!(",{sep}{member}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_appended_in_the_files_style() {
        let text = "{\n  \"a\": {\n    \"dtype\": \"uint8\",\n    \"scale\": \"0.npy\"\n  }\n}";
        let start = text.find("{\n    ").unwrap();
        let end = text.rfind("  }").unwrap() + 3;
        let (span, insert) =
            append_member(text, &(start..end), "\"quantized_dimension\": 0").unwrap();
        let mut out = text.to_string();
        out.replace_range(span, &insert);
        assert_eq!(out, "{\n  \"a\": {\n    \"dtype\": \"uint8\",\n    \"scale\": \"0.npy\",\n    \"quantized_dimension\": 0\n  }\n}");
        let one_line = "{\"a\": {\"dtype\": \"uint8\"}}";
        let (span, insert) = append_member(one_line, &(6..24), "\"q\": 0").unwrap();
        let mut out = one_line.to_string();
        out.replace_range(span, &insert);
        assert_eq!(out, "{\"a\": {\"dtype\": \"uint8\", \"q\": 0}}");
    }
}
