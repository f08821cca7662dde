//! What a finding is: the rule it breaks (a stable code with its
//! documentation), how severe it is, which key, field and tensor it is about,
//! where in `qparam.json`, what is wrong and what to do about it.
//!
//! A leaf: every phase may use it, it uses nothing but [`crate::span`].

use serde::Serialize;

use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct Rule {
    /// Stable code, e.g. `Q103`.
    pub code: &'static str,
    /// Kebab-case name, e.g. `duplicate-key`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// Markdown with the sections "What it does", "Why is this bad?",
    /// "Example" and "Use instead".
    pub docs: &'static str,
}

/// A circle tensor proposed for a key that names none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    pub name: String,
    /// 0.0 to 1.0: how sure the matcher is. Reports show it to two
    /// decimals, never as a certain 1.
    #[serde(serialize_with = "shown_confidence")]
    pub confidence: f64,
    /// Why, in a phrase (`same shape after OIHW→OHWI, data within 0.4 steps`).
    pub reason: String,
}

impl Suggestion {
    /// The confidence as reports show it: two decimals, at most 0.99.
    pub fn shown_confidence(&self) -> f64 {
        ((self.confidence * 100.0).round() / 100.0).min(0.99)
    }
}

fn shown_confidence<S: serde::Serializer>(c: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(((c * 100.0).round() / 100.0).min(0.99))
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
    /// The model tensor the finding is about, when it is about one.
    pub tensor: Option<String>,
    pub message: String,
    /// The primary place in `qparam.json`, if the finding has one.
    pub span: Option<Span>,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub suggestions: Vec<Suggestion>,
    /// Whether `check --fix` resolves this finding. Rules set it only where
    /// the fix is certain, so a report never promises more than it does.
    pub fixable: bool,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule,
            severity: rule.severity,
            key: None,
            field: None,
            tensor: None,
            message: message.into(),
            span: None,
            labels: Vec::new(),
            help: None,
            suggestions: Vec::new(),
            fixable: false,
        }
    }

    /// Marks the finding as one `check --fix` resolves.
    pub fn fixable_if(mut self, fixable: bool) -> Self {
        self.fixable = fixable;
        self
    }

    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn tensor(mut self, name: &str) -> Self {
        self.tensor = Some(name.to_string());
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
