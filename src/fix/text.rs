//! Edits of the qparam text that keep everything else as it was: a key
//! renamed, a field's value replaced, a member added to an entry, an entry
//! added to or removed from the top-level object, in the file's own style.

use crate::qparam::QParamFile;
use crate::span::Span;

/// One replacement of a byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

/// Applies edits that do not overlap.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut edits = edits.to_vec();
    edits.sort_by_key(|e| std::cmp::Reverse((e.span.start, e.span.end)));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.span, &e.text);
    }
    out
}

/// A JSON string literal.
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Replaces the JSON value at `span` (a key or a field's value) with the
/// string `value`.
pub fn replace_string(span: &Span, value: &str) -> Edit {
    Edit {
        span: span.clone(),
        text: quoted(value),
    }
}

/// Replaces the JSON value at `span` with `value`, a JSON text as it is
/// (a number).
pub fn replace_raw(span: &Span, value: &str) -> Edit {
    Edit {
        span: span.clone(),
        text: value.to_string(),
    }
}

/// Adds `member` as the last member of the object at `object`, on a line
/// of its own indented like the member before it (or after a space on a
/// one-line object).
pub fn append_member(text: &str, object: &Span, member: &str) -> Option<Edit> {
    let inner = &text[object.start..object.end.checked_sub(1)?];
    let last = inner.trim_end();
    if last.trim_start() == "{" {
        let at = object.start + 1;
        return Some(Edit {
            span: at..at,
            text: member.to_string(),
        });
    }
    let at = object.start + last.len();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let sep = if text[line_start..at].trim_start().starts_with('{') || line_start < object.start {
        " ".to_string()
    } else {
        format!("\n{indent}")
    };
    Some(Edit {
        span: at..at,
        text: format!(",{sep}{member}"),
    })
}

/// How the file lays out its entries: the indentation of a key and of a
/// field, or `None` for a file on one line.
fn style(q: &QParamFile) -> Option<(String, String)> {
    let text = &q.text;
    let indent_at = |at: usize| -> Option<String> {
        let line_start = text[..at].rfind('\n')? + 1;
        let before = &text[line_start..at];
        before
            .chars()
            .all(|c| c == ' ' || c == '\t')
            .then(|| before.to_string())
    };
    let first = q.entries.first()?;
    let key = indent_at(first.key_span.start)?;
    let field = text[first.span.clone()]
        .find('"')
        .and_then(|i| indent_at(first.span.start + i))
        .unwrap_or_else(|| format!("{key}{key}"));
    Some((key, field))
}

/// An entry's text: `"name": {"dtype": ..., ...}` in the file's style.
pub fn entry_text(q: &QParamFile, name: &str, fields: &[(&str, String)]) -> String {
    match style(q) {
        Some((key_indent, field_indent)) => {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{field_indent}{}: {v}", quoted(k)))
                .collect::<Vec<_>>()
                .join(",\n");
            format!("{}: {{\n{body}\n{key_indent}}}", quoted(name))
        }
        None => {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{}: {v}", quoted(k)))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{}: {{{body}}}", quoted(name))
        }
    }
}

/// Adds entries at the end of the top-level object.
pub fn append_entries(q: &QParamFile, entries: &[String]) -> Option<Edit> {
    if entries.is_empty() {
        return None;
    }
    let text = &q.text;
    let close = text.trim_end().len().checked_sub(1)?;
    if text.as_bytes()[close] != b'}' {
        return None;
    }
    let sep = match style(q) {
        Some((indent, _)) => format!(",\n{indent}"),
        None => ", ".to_string(),
    };
    let joined = entries.join(&sep);
    let Some(last) = q.entries.iter().map(|e| e.span.end).max() else {
        let indent = style(q).map(|(i, _)| i).unwrap_or_default();
        return Some(Edit {
            span: close..close,
            text: if indent.is_empty() {
                joined
            } else {
                format!("\n{indent}{joined}\n")
            },
        });
    };
    Some(Edit {
        span: last..last,
        text: format!("{sep}{joined}"),
    })
}

/// Removes the member whose key is at `key` and whose value ends at
/// `value_end`, with the comma that separates it from its neighbour.
pub fn remove_member(text: &str, key: &Span, value_end: usize) -> Edit {
    let before = text[..key.start].trim_end();
    if before.ends_with(',') {
        return Edit {
            span: before.len() - 1..value_end,
            text: String::new(),
        };
    }
    // The first member: take the comma after it, and the space up to the
    // next key.
    let after = &text[value_end..];
    let trimmed = after.trim_start();
    if let Some(rest) = trimmed.strip_prefix(',') {
        let next = rest.len() - rest.trim_start().len();
        let end = value_end + (after.len() - trimmed.len()) + 1 + next;
        return Edit {
            span: key.start..end,
            text: String::new(),
        };
    }
    Edit {
        span: key.start..value_end,
        text: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_appended_in_the_files_style() {
        let text = "{\n  \"a\": {\n    \"dtype\": \"uint8\",\n    \"scale\": \"0.npy\"\n  }\n}";
        let start = text.find("{\n    ").unwrap();
        let end = text.rfind("  }").unwrap() + 3;
        let e = append_member(text, &(start..end), "\"quantized_dimension\": 0").unwrap();
        assert_eq!(apply(text, &[e]), "{\n  \"a\": {\n    \"dtype\": \"uint8\",\n    \"scale\": \"0.npy\",\n    \"quantized_dimension\": 0\n  }\n}");
        let one_line = "{\"a\": {\"dtype\": \"uint8\"}}";
        let e = append_member(one_line, &(6..24), "\"q\": 0").unwrap();
        assert_eq!(
            apply(one_line, &[e]),
            "{\"a\": {\"dtype\": \"uint8\", \"q\": 0}}"
        );
    }

    #[test]
    fn members_are_removed_with_their_comma() {
        let text = "{\"a\": 1, \"b\": 2, \"c\": 3}";
        let key = |k: &str| {
            let at = text.find(&format!("\"{k}\"")).unwrap();
            (at..at + 3, at + 6)
        };
        let (a, a_end) = key("a");
        assert_eq!(
            apply(text, &[remove_member(text, &a, a_end)]),
            "{\"b\": 2, \"c\": 3}"
        );
        let (b, b_end) = key("b");
        assert_eq!(
            apply(text, &[remove_member(text, &b, b_end)]),
            "{\"a\": 1, \"c\": 3}"
        );
        let (c, c_end) = key("c");
        assert_eq!(
            apply(text, &[remove_member(text, &c, c_end)]),
            "{\"a\": 1, \"b\": 2}"
        );
    }
}
