//! Q2xx: the fields of one entry.

use crate::diagnostic::{Diagnostic, Rule, Severity::Error};
use crate::qparam::entry::FIELDS;
use crate::qparam::{Problem, QDType};

pub static MISSING_FIELD: Rule = Rule {
    code: "Q201",
    name: "missing-field",
    severity: Error,
    summary: "a required field is missing",
    docs: r#"## What it does
Checks that each entry has `dtype`, `scale`, `zerop` and `quantized_dimension`.

## Why is this bad?
The C++ q-implant dies with `what(): tensor.isMember("quantized_dimension")` and names no tensor.

## Example
```json
{"conv1.weight": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "value": "2.npy"}}
```

## Use instead
```json
{"conv1.weight": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0, "value": "2.npy"}}
```
"#,
};

pub static FIELD_TYPE: Rule = Rule {
    code: "Q202",
    name: "field-type",
    severity: Error,
    summary: "a field has the wrong JSON type",
    docs: r#"## What it does
Checks that `dtype`, `scale`, `zerop` and `value` are strings, `quantized_dimension` a non-negative integer and `block_size` a positive integer.

## Why is this bad?
The implanter cannot use a number as a path or a string as an axis.

## Example
```json
{"ifm": {"dtype": "uint8", "scale": 0.5, "zerop": "1.npy", "quantized_dimension": "0"}}
```

## Use instead
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
"#,
};

pub static UNKNOWN_FIELD: Rule = Rule {
    code: "Q203",
    name: "unknown-field",
    severity: Error,
    summary: "an entry has a field the format does not define",
    docs: r#"## What it does
Reports fields other than `dtype`, `scale`, `zerop`, `quantized_dimension`, `value` and `block_size`, and names the field that was probably meant.

## Why is this bad?
The field is ignored, so what it was meant to carry (often the zero point, as `zero_point`) is lost.

## Example
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zero_point": "1.npy", "quantized_dimension": 0}}
```

## Use instead
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
"#,
};

pub static UNKNOWN_DTYPE: Rule = Rule {
    code: "Q204",
    name: "unknown-dtype",
    severity: Error,
    summary: "dtype is not uint4, int4, uint8, int8, int16, int32 or int64",
    docs: r#"## What it does
Checks `dtype` against the quantized types (compared case-insensitively).

## Why is this bad?
The tensor cannot be given a type the format has no quantized meaning for; `float32` in a qparam file means the entry should not be there.

## Example
```json
{"ifm": {"dtype": "unit8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```

## Use instead
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
"#,
};

/// The field most likely meant by an unknown one: common spellings from
/// other tools first, then the closest by edit similarity.
pub fn nearest_field(unknown: &str) -> Option<&'static str> {
    let lower = unknown.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "zero_point" | "zero_points" | "zeropoint" | "zp" | "zero" => Some("zerop"),
        "scales" | "s" => Some("scale"),
        "axis" | "qdim" | "quant_dim" | "quantized_dim" | "quantization_dimension" | "ch_axis" => {
            Some("quantized_dimension")
        }
        "type" | "data_type" | "datatype" => Some("dtype"),
        "values" | "data" | "weight" | "weights" | "tensor" => Some("value"),
        "group_size" | "groupsize" | "blocksize" | "block" | "group" => Some("block_size"),
        _ => None,
    };
    alias.or_else(|| {
        FIELDS
            .iter()
            .map(|k| (*k, strsim::jaro_winkler(&lower, k)))
            .filter(|(_, s)| *s > 0.75)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k)
    })
}

/// The finding for a problem of an entry's fields, if it is one.
pub fn diagnose(problem: &Problem) -> Option<Diagnostic> {
    Some(match problem {
        Problem::MissingField {
            key,
            field,
            key_span,
        } => Diagnostic::new(&MISSING_FIELD, format!("`{key}` has no `{field}`"))
            .key(key)
            .field(field)
            .at(key_span.clone())
            .help(match *field {
                "dtype" => "add \"dtype\": \"uint8\" (or int8, int16, int32, int64)",
                "scale" => "add \"scale\": \"<n>.npy\", a 1-D float32 array",
                "zerop" => "add \"zerop\": \"<n>.npy\", a 1-D int64 array",
                _ => "add \"quantized_dimension\": 0 (per-tensor parameters use 0; per-channel ones the channel axis)",
            }),
        Problem::FieldType {
            key,
            field,
            found,
            want,
            span,
        } => Diagnostic::new(&FIELD_TYPE, format!("`{key}`.{field} is {found}, expected {want}"))
            .key(key)
            .field(field)
            .at(span.clone())
            .help(format!("write `{field}` as {want}")),
        Problem::UnknownField { key, field, span } => {
            let d = Diagnostic::new(&UNKNOWN_FIELD, format!("`{key}` has an unknown field `{field}`"))
                .key(key)
                .at(span.clone());
            match nearest_field(field) {
                Some(near) => d.help(format!("rename `{field}` to `{near}`")),
                None => d.help(format!("the fields are {}", FIELDS.join(", "))),
            }
        }
        Problem::UnknownDtype { key, text, span } => {
            let lower = text.to_ascii_lowercase();
            let near = QDType::ALL
                .iter()
                .map(|d| (d.name(), strsim::jaro_winkler(&lower, d.name())))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|(_, s)| *s > 0.8)
                .map(|(n, _)| n);
            let help = if lower.starts_with("float") {
                "a float tensor needs no entry: remove it, or give the quantized type it should become".to_string()
            } else if let Some(near) = near {
                format!("did you mean \"{near}\"?")
            } else {
                "use uint8, int8, int16, int32 or int64".to_string()
            };
            Diagnostic::new(
                &UNKNOWN_DTYPE,
                format!("`{key}` has dtype \"{text}\", which is not a quantized type"),
            )
            .key(key)
            .field("dtype")
            .at(span.clone())
            .help(help)
        }
        _ => return None,
    })
}

/// Marks the Q201 findings `--fix` settles: a missing
/// `quantized_dimension` on an entry with one scale can only be 0.
pub fn mark_fixable(entries: &[crate::qparam::Entry], findings: &mut [Diagnostic]) {
    for d in findings {
        if !std::ptr::eq(d.rule, &MISSING_FIELD) || d.field != Some("quantized_dimension") {
            continue;
        }
        d.fixable = entries.iter().any(|e| {
            Some(e.key.as_str()) == d.key.as_deref()
                && !e.has_axis_field
                && e.scale
                    .as_ref()
                    .is_some_and(|s| s.value.header.element_count() == Some(1))
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_the_intended_field() {
        assert_eq!(super::nearest_field("zero_point"), Some("zerop"));
        assert_eq!(
            super::nearest_field("quantized_dimention"),
            Some("quantized_dimension")
        );
        assert_eq!(super::nearest_field("scael"), Some("scale"));
        assert_eq!(super::nearest_field("colour"), None);
    }
}
