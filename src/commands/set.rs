//! Where a command's qparam set is: `qparam.json` on disk, or a set held in
//! memory (the Python module's mapping).

use std::path::Path;

use crate::analysis::{self, Analysis, CheckOptions};
use crate::graph::Graph;
use crate::qparam::{self, MemorySet, QParamReadError};

/// A qparam set to check or apply.
#[derive(Clone, Copy)]
pub enum SetSource<'a> {
    /// qparam.json; its npy paths are relative to its directory.
    File(&'a Path),
    /// A set in memory. `name` stands for it where a path would (messages);
    /// `dir` is where a fix writes its new arrays.
    Memory {
        set: &'a MemorySet,
        name: &'a Path,
        dir: &'a Path,
    },
}

impl SetSource<'_> {
    /// The set's file, if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            SetSource::File(path) => Some(path),
            SetSource::Memory { .. } => None,
        }
    }

    /// How messages name the set.
    pub fn name(&self) -> &Path {
        match self {
            SetSource::File(path) => path,
            SetSource::Memory { name, .. } => name,
        }
    }

    /// Reads the set and analyses it against `graph`.
    pub fn check(
        &self,
        graph: &Graph<'_>,
        options: &CheckOptions,
    ) -> Result<Analysis, QParamReadError> {
        match *self {
            SetSource::File(path) => analysis::check(graph, path, options),
            SetSource::Memory { set, name, dir } => {
                let (q, problems) =
                    qparam::from_memory(set, name, dir.to_path_buf(), options.load.clone());
                Ok(analysis::analyse(graph, q, &problems, options))
            }
        }
    }
}
