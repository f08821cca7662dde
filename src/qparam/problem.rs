//! What can be wrong with a qparam set as read: typed, with the place in
//! `qparam.json` it concerns. The rules (in `analysis::rules`) decide the
//! codes, messages and severities; the reader only says what it found.

use super::npy::NpyError;
use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// The file is not UTF-8 from byte `at`.
    NotUtf8 { at: usize },
    /// The text is not JSON.
    Syntax { message: String, at: usize },
    /// The top level is not an object.
    NotAnObject { found: &'static str, span: Span },
    DuplicateKey {
        key: String,
        span: Span,
        first: Span,
    },
    EntryNotObject {
        key: String,
        /// The value's kind, in JSON's words (or the caller's, for a set in
        /// memory).
        found: String,
        span: Span,
    },
    MissingField {
        key: String,
        field: &'static str,
        key_span: Span,
    },
    FieldType {
        key: String,
        field: &'static str,
        found: String,
        want: &'static str,
        span: Span,
    },
    UnknownField {
        key: String,
        field: String,
        span: Span,
    },
    UnknownDtype {
        key: String,
        text: String,
        span: Span,
    },
    /// An npy path climbs out of the qparam directory.
    PathOutside {
        key: String,
        field: &'static str,
        rel: String,
        span: Span,
    },
    /// An npy file (or an array in memory) that cannot be used.
    Npy {
        key: String,
        field: &'static str,
        /// The file's path, or the array's place in the caller's mapping.
        origin: String,
        span: Span,
        problem: NpyProblem,
    },
    /// A scale or zero-point array with more values than any tensor has
    /// channels; it is not read.
    TooManyValues {
        key: String,
        field: &'static str,
        count: usize,
        span: Span,
    },
}

/// Why an npy file cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyProblem {
    /// It cannot be opened or read (missing, no permission, not a regular
    /// file, changed while read).
    Unreadable(String),
    /// Its contents are not what its header says.
    Format(NpyError),
}
