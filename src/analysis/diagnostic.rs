//! A finding: which rule, how severe, which key and field, where in
//! `qparam.json`, what is wrong and what to do about it.

use serde::Serialize;

use super::rules::Rule;
use crate::qparam::json::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A circle tensor proposed for a key that names none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    pub name: String,
    /// 0.0 to 1.0: how sure the matcher is.
    pub confidence: f64,
    /// Why, in a phrase (`same shape after OIHW→OHWI, data within 0.4 steps`).
    pub reason: String,
}

/// A secondary place that explains the primary one.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub key: Option<String>,
    pub field: Option<&'static str>,
    pub message: String,
    /// The primary place in `qparam.json`, if the finding has one.
    pub span: Option<Span>,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub suggestions: Vec<Suggestion>,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule,
            severity: rule.severity,
            key: None,
            field: None,
            message: message.into(),
            span: None,
            labels: Vec::new(),
            help: None,
            suggestions: Vec::new(),
        }
    }

    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn suggest(mut self, suggestions: Vec<Suggestion>) -> Self {
        self.suggestions = suggestions;
        self
    }

    pub fn code(&self) -> &'static str {
        self.rule.code
    }
}
