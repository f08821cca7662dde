//! Q1xx: the qparam file as JSON.

use crate::diagnostic::{Diagnostic, Rule, Severity::Error};
use crate::qparam::Problem;
use crate::span::char_span;

pub static JSON_SYNTAX: Rule = Rule {
    code: "Q101",
    name: "json-syntax",
    severity: Error,
    summary: "qparam.json is not valid JSON",
    docs: r#"## What it does
Reports the first place where `qparam.json` stops being JSON: a missing comma, a trailing comma, an unquoted key, an unclosed string.

## Why is this bad?
No tool can read the file; the C++ q-implant stops with a parser exception that does not say where.

## Example
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0,}}
```

## Use instead
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
"#,
};

pub static NOT_AN_OBJECT: Rule = Rule {
    code: "Q102",
    name: "not-an-object",
    severity: Error,
    summary: "the top level of qparam.json is not an object",
    docs: r#"## What it does
Checks that the file's top-level value is an object whose keys are tensor names.

## Why is this bad?
An array or a bare value has no tensor names, so nothing can be implanted.

## Example
```json
[{"name": "ifm", "dtype": "uint8"}]
```

## Use instead
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
"#,
};

pub static DUPLICATE_KEY: Rule = Rule {
    code: "Q103",
    name: "duplicate-key",
    severity: Error,
    summary: "a tensor name appears twice",
    docs: r#"## What it does
Finds a key that occurs more than once in the same object.

## Why is this bad?
JSON readers keep only one of the two (usually the last) without a word, so the parameters of the other are silently dropped.

## Example
```json
{"ofm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0},
 "ofm": {"dtype": "uint8", "scale": "2.npy", "zerop": "3.npy", "quantized_dimension": 0}}
```

## Use instead
Keep one entry per tensor; if the exporter wrote two layers under one name, fix the names it uses.
"#,
};

pub static NOT_UTF8: Rule = Rule {
    code: "Q104",
    name: "not-utf8",
    severity: Error,
    summary: "qparam.json is not UTF-8",
    docs: r#"## What it does
Reports the first byte that is not UTF-8 text.

## Why is this bad?
JSON is UTF-8; tensor names with other encodings cannot match the model's (UTF-8) names.

## Example
A file saved as Latin-1 with `"café"` in a key.

## Use instead
Write the file with `json.dump(..., open(path, "w", encoding="utf-8"))`.
"#,
};

pub static ENTRY_NOT_OBJECT: Rule = Rule {
    code: "Q105",
    name: "entry-not-object",
    severity: Error,
    summary: "a tensor's entry is not an object",
    docs: r#"## What it does
Checks that each key maps to an object of fields.

## Why is this bad?
The fields `dtype`, `scale`, `zerop` and `quantized_dimension` cannot be found.

## Example
```json
{"ifm": "0.npy"}
```

## Use instead
```json
{"ifm": {"dtype": "uint8", "scale": "0.npy", "zerop": "1.npy", "quantized_dimension": 0}}
```
"#,
};

/// The finding for a problem of the file as JSON, if it is one.
pub fn diagnose(problem: &Problem, text: &str) -> Option<Diagnostic> {
    Some(match problem {
        Problem::NotUtf8 { at } => Diagnostic::new(
            &NOT_UTF8,
            format!("the file is not UTF-8 text: byte {at} starts an invalid sequence"),
        )
        .at(char_span(text, *at))
        .help("save the file as UTF-8"),
        Problem::Syntax { message, at } => Diagnostic::new(
            &JSON_SYNTAX,
            format!("the file is not valid JSON: {message}"),
        )
        .at(char_span(text, *at))
        .help("fix the syntax here; a JSON linter or `python -m json.tool` shows the same place"),
        Problem::NotAnObject { found, span } => Diagnostic::new(
            &NOT_AN_OBJECT,
            format!("the top level is {found}, not an object of tensor names"),
        )
        .at(span.clone())
        .help("write an object: {\"<tensor name>\": {\"dtype\": ..., \"scale\": ..., ...}}"),
        Problem::DuplicateKey { key, span, first } => Diagnostic::new(
            &DUPLICATE_KEY,
            format!("`{key}` is defined twice; only this last entry would be used"),
        )
        .key(key)
        .at(span.clone())
        .label(first.clone(), "first defined here")
        .help("keep one entry per tensor"),
        Problem::EntryNotObject { key, found, span } => Diagnostic::new(
            &ENTRY_NOT_OBJECT,
            format!("the entry of `{key}` is {found}, not an object of fields"),
        )
        .key(key)
        .at(span.clone())
        .help("write {\"dtype\": \"uint8\", \"scale\": \"0.npy\", \"zerop\": \"1.npy\", \"quantized_dimension\": 0}"),
        _ => return None,
    })
}
