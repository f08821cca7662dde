//! `q-implant extract`: the parameters a quantized model carries, written
//! as a qparam set (`qparam.json` and its npy files) into a directory that
//! appears whole or not at all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Observer;
use crate::analysis::{self, CheckOptions};
use crate::extract::{self, ExtractError, Extracted, WrittenSet};
use crate::files::{self, AtomicDir, DirState, OutputHoldsInput};
use crate::graph::Graph;
use crate::model::{CircleFile, ModelError};
use crate::qparam::{MemorySet, QParamReadError};

/// An extraction to run.
pub struct ExtractRequest<'a> {
    /// The quantized model.
    pub model: &'a Path,
    /// The directory to write.
    pub output: &'a Path,
    /// Replace a directory that holds something.
    pub force: bool,
    /// Key the set by another set's keys (`--keys-from`).
    pub keys_from: Option<KeysFrom<'a>>,
}

/// Another set whose keys name the extracted tensors where they resolve:
/// its keys are resolved against the float model as `check` resolves them
/// (a key naming a tensor, or one the matcher is confident of).
pub struct KeysFrom<'a> {
    pub qparam: &'a Path,
    pub float_model: &'a Path,
}

/// What an extraction wrote.
pub struct ExtractOutcome {
    pub extracted: Extracted,
    pub dir: PathBuf,
    pub written: WrittenSet,
    /// With `--keys-from`: entries keyed by that set's key.
    pub renamed: usize,
    /// With `--keys-from`: its keys that resolve to no tensor (their
    /// tensors, if any, keep their own names).
    pub unresolved: Vec<String>,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExtractCommandError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    QParam(#[from] QParamReadError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    HoldsInput(#[from] OutputHoldsInput),
    #[error("`{path}` is {kind}, not a directory")]
    #[diagnostic(
        code(extract::not_a_directory),
        help("-o names the directory to write qparam.json and its npy files into")
    )]
    NotADirectory { path: PathBuf, kind: &'static str },
    #[error("`{0}` is not empty")]
    #[diagnostic(
        code(extract::not_empty),
        help("name a new directory, or pass --force to replace this one and everything in it")
    )]
    NotEmpty(PathBuf),
    #[error("cannot read the data of `{path}`")]
    #[diagnostic(code(extract::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the set into `{path}`")]
    #[diagnostic(code(extract::write))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the model's parameters and writes them as a set.
pub fn extract(
    req: &ExtractRequest<'_>,
    observer: &dyn Observer,
) -> Result<ExtractOutcome, ExtractCommandError> {
    let write_err = |source| ExtractCommandError::Write {
        path: req.output.to_path_buf(),
        source,
    };
    match files::dir_state(req.output).map_err(write_err)? {
        DirState::NotADirectory(kind) => {
            return Err(ExtractCommandError::NotADirectory {
                path: req.output.to_path_buf(),
                kind,
            })
        }
        DirState::NotEmpty if !req.force => {
            return Err(ExtractCommandError::NotEmpty(req.output.to_path_buf()))
        }
        _ => {}
    }
    let read = read_keyed(req.model, req.keys_from.as_ref(), observer)?;
    let (file, extracted) = (read.file, read.extracted);
    let (renamed, unresolved) = (read.renamed, read.unresolved);
    let inputs = read.inputs;
    files::refuse_inputs_within(req.output, inputs.iter().map(PathBuf::as_path))?;
    observer.phase(&format!("writing {}", req.output.display()));
    let mut dir = AtomicDir::create(req.output).map_err(write_err)?;
    let written = extract::write(&extracted, &file, &mut dir).map_err(write_err)?;
    let dest = dir.dest().to_path_buf();
    dir.commit(req.force).map_err(write_err)?;
    Ok(ExtractOutcome {
        extracted,
        dir: dest,
        written,
        renamed,
        unresolved,
    })
}

/// A model's parameters as a set held in memory, keyed as `keys_from`
/// says (the Python module's `extract` without a directory).
pub struct ExtractedInMemory {
    pub extracted: Extracted,
    pub set: MemorySet,
    pub renamed: usize,
    pub unresolved: Vec<String>,
}

/// Reads the model's parameters into memory; nothing is written.
pub fn extract_memory(
    model: &Path,
    keys_from: Option<&KeysFrom<'_>>,
    observer: &dyn Observer,
) -> Result<ExtractedInMemory, ExtractCommandError> {
    let read = read_keyed(model, keys_from, observer)?;
    let set = extract::to_memory(&read.extracted, &read.file).map_err(|source| {
        ExtractCommandError::Read {
            path: model.to_path_buf(),
            source,
        }
    })?;
    Ok(ExtractedInMemory {
        extracted: read.extracted,
        set,
        renamed: read.renamed,
        unresolved: read.unresolved,
    })
}

/// The model read and its parameters keyed, before anything is written.
struct Keyed {
    file: CircleFile,
    extracted: Extracted,
    /// Every file read (the model, the `--keys-from` set, its npy files
    /// and float model), which the output must not hold.
    inputs: Vec<PathBuf>,
    renamed: usize,
    unresolved: Vec<String>,
}

fn read_keyed(
    model: &Path,
    keys_from: Option<&KeysFrom<'_>>,
    observer: &dyn Observer,
) -> Result<Keyed, ExtractCommandError> {
    observer.phase(&format!("reading {}", model.display()));
    let file = CircleFile::open(model)?;
    let graph = Graph::new(&file);
    let mut extracted = extract::read(&graph)?;
    let mut inputs: Vec<PathBuf> = vec![model.to_path_buf()];
    let (renamed, unresolved) = match keys_from {
        None => (0, Vec::new()),
        Some(k) => {
            observer.phase(&format!("resolving the keys of {}", k.qparam.display()));
            let (keys, unresolved, npy) = keys_of(k)?;
            inputs.extend([k.qparam.to_path_buf(), k.float_model.to_path_buf()]);
            inputs.extend(npy);
            (extract::rekey(&mut extracted, &keys), unresolved)
        }
    };
    Ok(Keyed {
        file,
        extracted,
        inputs,
        renamed,
        unresolved,
    })
}

/// The tensor each key of the set resolves to in the float model (the
/// first key, when several do), the keys that resolve to none, and the
/// set's npy files.
#[allow(clippy::type_complexity)]
fn keys_of(
    k: &KeysFrom<'_>,
) -> Result<(HashMap<String, String>, Vec<String>, Vec<PathBuf>), ExtractCommandError> {
    let file = CircleFile::open(k.float_model)?;
    let graph = Graph::new(&file);
    let analysis = analysis::check(&graph, k.qparam, &CheckOptions::default())?;
    let mut keys = HashMap::new();
    let mut unresolved = Vec::new();
    for (entry, resolution) in analysis.qparam.entries.iter().zip(&analysis.resolutions) {
        let tensor = match &resolution.verdict {
            analysis::matcher::Verdict::Named => Some(entry.key.clone()),
            analysis::matcher::Verdict::Match(m) => Some(m.name.clone()),
            _ => None,
        };
        match tensor {
            Some(t) => {
                keys.entry(t).or_insert_with(|| entry.key.clone());
            }
            None => unresolved.push(entry.key.clone()),
        }
    }
    let npy = analysis.qparam.npy_paths().map(Path::to_path_buf).collect();
    Ok((keys, unresolved, npy))
}
