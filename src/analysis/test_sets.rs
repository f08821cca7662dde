//! Sets for unit tests: a qparam text whose npy files live in memory.

use std::path::PathBuf;

use crate::qparam::{self, npy, LoadOptions, MemoryFiles, QParamFile};

/// An npy file's bytes: `descr` elements of `size` bytes each, 1-D.
pub fn npy_1d(descr: &str, size: usize, data: &[u8]) -> Vec<u8> {
    npy::encode(descr, false, &[data.len() / size], data)
}

/// The set `text` with `files` (name, npy bytes) beside it, in memory.
pub fn in_memory(text: &str, files: Vec<(&str, Vec<u8>)>) -> QParamFile {
    let memory = MemoryFiles::default();
    let dir = PathBuf::from("/in-memory");
    for (name, bytes) in files {
        memory.insert(dir.join(name), bytes);
    }
    let options = LoadOptions {
        in_memory: Some(memory),
        ..Default::default()
    };
    qparam::from_bytes(&dir.join("qparam.json"), dir, text.into(), options).0
}
