//! The quantization parameter set: `qparam.json` and the `.npy` files it
//! names, read into typed entries. Problems in them are findings (reported
//! with their place in the file), not failures.

pub mod dtype;
pub mod entry;
pub mod json;
pub mod npy;

use std::path::{Path, PathBuf};

pub use dtype::QDType;
pub use entry::{Entry, Field, NpyFile};

use crate::analysis::diagnostic::Diagnostic;
use crate::analysis::rules::format;

/// The qparam file could not be read at all (a run failure, exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read the qparam file `{path}`: {source}")]
#[diagnostic(code(qparam::io), help("pass the path of the exporter's qparam.json"))]
pub struct QParamReadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    /// Accept npy paths outside the qparam file's directory.
    pub allow_outside_paths: bool,
}

/// A parsed qparam set.
pub struct QParamFile {
    pub path: PathBuf,
    /// The directory npy paths are relative to.
    pub dir: PathBuf,
    /// The file's text (lossily decoded if it was not UTF-8), for reports.
    pub text: String,
    /// One per distinct key, in file order (a duplicated key keeps its last).
    pub entries: Vec<Entry>,
}

impl QParamFile {
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// Reads `path`, reporting every problem into `diags`.
pub fn load(
    path: &Path,
    options: LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Result<QParamFile, QParamReadError> {
    let bytes = std::fs::read(path).map_err(|source| QParamReadError {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            // Up to `at` the lossy text is the file; there it holds U+FFFD.
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            diags.push(
                Diagnostic::new(
                    &format::NOT_UTF8,
                    format!("the file is not UTF-8 text: byte {at} starts an invalid sequence"),
                )
                .at(json::char_span(&text, at))
                .help("save the file as UTF-8"),
            );
            text
        }
    };
    let entries = entry::read_entries(&text, &dir, options, diags);
    Ok(QParamFile {
        path: path.to_path_buf(),
        dir,
        text,
        entries,
    })
}
