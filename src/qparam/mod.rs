//! The quantization parameter set: `qparam.json` and the `.npy` files it
//! names, or the same set held in memory ([`memory`]), read into typed
//! entries. Problems in them are returned as typed [`Problem`]s with their
//! place in the file (findings, not failures).

pub mod array;
pub mod dtype;
pub mod entry;
pub mod json;
pub mod memory;
pub mod npy;
pub mod problem;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use array::{ArraySource, NpyArray};
pub use dtype::QDType;
pub use entry::{Entry, Field};
pub use memory::{MemoryEntry, MemorySet, MemoryValue};
pub use problem::{NpyProblem, Problem};

use crate::files::open_regular;
use crate::span::LineIndex;

/// The qparam file could not be read at all (a run failure, exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read the qparam file `{path}`")]
#[diagnostic(code(qparam::io), help("pass the path of the exporter's qparam.json"))]
pub struct QParamReadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Accept npy paths outside the qparam file's directory.
    pub allow_outside_paths: bool,
    /// npy files that exist only in memory, read as if they were on disk
    /// at their paths (the arrays `check --fix --diff` would add, which
    /// it never writes).
    pub in_memory: Option<MemoryFiles>,
}

/// Files held in memory by path, shared by whoever holds a clone.
#[derive(Clone, Debug, Default)]
pub struct MemoryFiles(Arc<Mutex<BTreeMap<PathBuf, Arc<[u8]>>>>);

impl MemoryFiles {
    fn files(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Arc<[u8]>>> {
        // A panic elsewhere leaves the map as it was: still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, path: PathBuf, bytes: Vec<u8>) {
        self.files().insert(path, bytes.into());
    }

    pub fn get(&self, path: &Path) -> Option<Arc<[u8]>> {
        self.files().get(path).cloned()
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.files().contains_key(path)
    }

    /// Every file, by path.
    pub fn list(&self) -> Vec<(PathBuf, Arc<[u8]>)> {
        self.files()
            .iter()
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    }
}

/// A parsed qparam set.
pub struct QParamFile {
    pub path: PathBuf,
    /// The directory npy paths are relative to.
    pub dir: PathBuf,
    /// The file's bytes as they were read (what `--fix` backs up).
    pub bytes: Vec<u8>,
    /// The file's text (lossily decoded if it was not UTF-8), for reports.
    pub text: String,
    /// Whether the bytes were UTF-8 (so `text` is exactly the file).
    pub is_utf8: bool,
    pub lines: LineIndex,
    /// One per distinct key, in file order (a duplicated key keeps its last).
    pub entries: Vec<Entry>,
    /// For a set held in memory, what the references of its text refer
    /// to; `None` for a file.
    memory: Option<Arc<memory::References>>,
}

impl QParamFile {
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The npy files the entries name (files `apply` and `--fix` must
    /// never write over).
    pub fn npy_paths(&self) -> impl Iterator<Item = &Path> {
        self.entries
            .iter()
            .flat_map(|e| e.arrays())
            .filter_map(|(_, f)| f.value.path())
    }

    /// 1-based line and column of byte `offset` of the text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, offset)
    }

    /// Where byte `offset` is for a reader of the set: its line and column
    /// in the file; nothing for a set held in memory, whose text nobody
    /// wrote (its findings name the key and the field).
    pub fn place(&self, offset: usize) -> Option<(usize, usize)> {
        match self.memory {
            Some(_) => None,
            None => Some(self.line_col(offset)),
        }
    }

    /// Whether the set was given in memory rather than as a file.
    pub fn is_in_memory(&self) -> bool {
        self.memory.is_some()
    }

    /// The set as a changed `text` says (a fix's edits), read as this one
    /// was: npy paths relative to the same directory, and for a set in
    /// memory, the same arrays.
    pub fn reparse(&self, text: Vec<u8>, options: LoadOptions) -> (QParamFile, Vec<Problem>) {
        read(
            &self.path,
            self.dir.clone(),
            text,
            self.memory.clone(),
            options,
        )
    }
}

/// Reads `path` (a regular file) and its npy files.
pub fn load(
    path: &Path,
    options: LoadOptions,
) -> Result<(QParamFile, Vec<Problem>), QParamReadError> {
    let read_err = |source| QParamReadError {
        path: path.to_path_buf(),
        source,
    };
    let input = open_regular(path).map_err(read_err)?;
    let mut bytes = Vec::with_capacity(input.len as usize);
    (&input.file).read_to_end(&mut bytes).map_err(read_err)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(from_bytes(path, dir, bytes, options))
}

/// Parses the bytes of a qparam file, its npy paths relative to `dir`.
pub fn from_bytes(
    path: &Path,
    dir: PathBuf,
    bytes: Vec<u8>,
    options: LoadOptions,
) -> (QParamFile, Vec<Problem>) {
    read(path, dir, bytes, None, options)
}

/// Reads a set held in memory. `label` names it where a path would
/// (reports); `dir` is where new npy files of a fix go, and where the
/// plain paths a fix writes into its text are read from.
pub fn from_memory(
    set: &MemorySet,
    label: &Path,
    dir: PathBuf,
    options: LoadOptions,
) -> (QParamFile, Vec<Problem>) {
    let (text, refs) = set.render();
    read(label, dir, text.into_bytes(), Some(Arc::new(refs)), options)
}

fn read(
    path: &Path,
    dir: PathBuf,
    bytes: Vec<u8>,
    memory: Option<Arc<memory::References>>,
    options: LoadOptions,
) -> (QParamFile, Vec<Problem>) {
    let mut problems = Vec::new();
    let (text, is_utf8) = match std::str::from_utf8(&bytes) {
        Ok(text) => (text.to_string(), true),
        Err(e) => {
            problems.push(Problem::NotUtf8 {
                at: e.valid_up_to(),
            });
            // Up to that byte the lossy text is the file; there it holds U+FFFD.
            (String::from_utf8_lossy(&bytes).into_owned(), false)
        }
    };
    let entries = entry::read_entries(&text, &dir, memory.as_deref(), options, &mut problems);
    let lines = LineIndex::new(&text);
    (
        QParamFile {
            path: path.to_path_buf(),
            dir,
            bytes,
            text,
            is_utf8,
            lines,
            entries,
            memory,
        },
        problems,
    )
}
