//! New npy files `--fix` writes beside the set: never over an existing
//! file, and removed again unless the fixed qparam file that names them is
//! written. For a preview (`check --fix --diff`) they are held in memory
//! under the names they would have, and nothing is written at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;

use crate::files::output::Pending;
use crate::qparam::{LoadOptions, MemoryFiles};

/// Arrays written so far, kept only if the fix is committed.
#[derive(Default)]
pub struct NewArrays {
    files: Vec<Pending>,
    next: usize,
    /// Where the arrays go instead of the disk, for a preview.
    memory: Option<MemoryFiles>,
    /// The arrays put in memory, by path.
    held: Vec<PathBuf>,
    /// Small arrays written so far (scales, zero points), by their bytes:
    /// an equal one is not written twice.
    small: std::collections::HashMap<Vec<u8>, String>,
}

/// Arrays up to this many bytes (header included) are shared when equal:
/// the scales and zero points calibration and completion write by the
/// hundred, each of which would otherwise cost a file and a sync.
const SHARED_UP_TO: usize = 256;

/// An element type `--fix` writes.
#[derive(Clone)]
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    /// Raw elements of another npy file, re-laid out (`descr` as numpy
    /// writes it).
    Raw {
        descr: String,
        bytes: Vec<u8>,
    },
}

impl NewArrays {
    /// New arrays for a set read with `load`: in memory when it reads
    /// files from memory (a preview), on disk otherwise.
    pub fn for_load(load: &LoadOptions) -> NewArrays {
        NewArrays {
            memory: load.in_memory.clone(),
            ..Default::default()
        }
    }

    /// Writes `data` with `shape` to a new file in `dir`; returns its name.
    pub fn write(&mut self, dir: &Path, shape: &[usize], data: Data) -> std::io::Result<String> {
        let bytes = encode(shape, data)?;
        if let Some(name) = self.small.get(&bytes) {
            return Ok(name.clone());
        }
        if bytes.len() > SHARED_UP_TO {
            return self.write_new(dir, bytes);
        }
        let name = self.write_new(dir, bytes.clone())?;
        self.small.insert(bytes, name.clone());
        Ok(name)
    }

    /// Writes `bytes` to a new file in `dir`; returns its name.
    fn write_new(&mut self, dir: &Path, bytes: Vec<u8>) -> std::io::Result<String> {
        loop {
            let name = format!("fix-{}.npy", self.next);
            self.next += 1;
            let path = dir.join(&name);
            if let Some(memory) = &self.memory {
                // The name a write would take: one no file has.
                if std::fs::symlink_metadata(&path).is_ok() || memory.contains(&path) {
                    continue;
                }
                memory.insert(path.clone(), bytes);
                self.held.push(path);
                return Ok(name);
            }
            match Pending::create_new(&path) {
                Ok(mut pending) => {
                    pending.file().write_all(&bytes)?;
                    pending.file().sync_all()?;
                    self.files.push(pending);
                    return Ok(name);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Keeps every file written (the fixed set that names them is saved).
    pub fn keep(self) {
        for f in self.files {
            f.keep();
        }
    }

    /// The new files, written or held in memory.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .map(|f| f.path().to_path_buf())
            .chain(self.held.iter().cloned())
            .collect()
    }
}

fn encode(shape: &[usize], data: Data) -> std::io::Result<Vec<u8>> {
    fn npy<T: ndarray_npy::WritableElement>(
        shape: &[usize],
        v: Vec<T>,
    ) -> std::io::Result<Vec<u8>> {
        let array = ArrayD::from_shape_vec(IxDyn(shape), v).map_err(std::io::Error::other)?;
        let mut out = Vec::new();
        array.write_npy(&mut out).map_err(std::io::Error::other)?;
        Ok(out)
    }
    match data {
        Data::F32(v) => npy(shape, v),
        Data::I64(v) => npy(shape, v),
        Data::I32(v) => npy(shape, v),
        Data::U8(v) => npy(shape, v),
        Data::I8(v) => npy(shape, v),
        Data::I16(v) => npy(shape, v),
        Data::Raw { descr, bytes } => Ok(crate::qparam::npy::encode(&descr, false, shape, &bytes)),
    }
}
