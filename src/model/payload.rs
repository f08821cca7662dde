//! Buffer payloads as the reader hands them out and the writer takes them:
//! bytes in memory, a range of an open file (the input model), a range of
//! a file named by path (an npy file, opened only while copied), or bytes
//! a caller keeps in memory (an array given to the Python module), or
//! values packed as they are written.

use std::borrow::Cow;
use std::fs::File;
use std::io;

use crate::files::{read_exact_at, DataSource, PathRange, SharedBytes};
use crate::packed::PackedValues;

/// `len` bytes of an open file from `offset`.
#[derive(Clone, Copy, Debug)]
pub struct FileRange<'a> {
    pub file: &'a File,
    pub offset: u64,
    pub len: u64,
    /// The file's length when it was verified; a copy from a file of
    /// another length is refused (it changed under us).
    pub file_len: u64,
}

impl FileRange<'_> {
    /// Checks that the file still has the length it was verified with.
    pub fn check_unchanged(&self) -> io::Result<()> {
        let now = self.file.metadata()?.len();
        if now != self.file_len {
            return Err(io::Error::other(format!(
                "the input model changed while q-implant was running (it was {} bytes, now {now})",
                self.file_len
            )));
        }
        Ok(())
    }
}

/// Where a buffer's bytes come from.
#[derive(Clone, Debug)]
pub enum Payload<'a> {
    Bytes(Cow<'a, [u8]>),
    /// Copied from the open file by the kernel, never mapped into memory.
    File(FileRange<'a>),
    /// Copied from a file opened only for the copy.
    Path(PathRange),
    /// Written from memory its owner keeps alive, never copied first.
    Shared(SharedBytes),
    /// Values packed (into GGML blocks, or two a byte) as they are written.
    Packed(PackedValues),
}

impl Payload<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Payload::Bytes(b) => b.len() as u64,
            Payload::File(r) => r.len,
            Payload::Path(r) => r.len,
            Payload::Shared(b) => b.len() as u64,
            Payload::Packed(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, read if they are in a file.
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        match self {
            Payload::Bytes(b) => Ok(b.to_vec()),
            Payload::File(r) => {
                r.check_unchanged()?;
                let mut out = vec![0; usize::try_from(r.len).map_err(io::Error::other)?];
                read_exact_at(r.file, &mut out, r.offset)?;
                Ok(out)
            }
            Payload::Path(r) => r.read(),
            Payload::Shared(b) => Ok(b.as_slice().to_vec()),
            Payload::Packed(p) => {
                let mut out = Vec::with_capacity(usize::try_from(p.len()).unwrap_or(0));
                p.write_to(&mut out)?;
                Ok(out)
            }
        }
    }
}

impl From<DataSource> for Payload<'_> {
    fn from(source: DataSource) -> Self {
        match source {
            DataSource::File(range) => Payload::Path(range),
            DataSource::Memory(bytes) => Payload::Shared(bytes),
        }
    }
}

impl From<Vec<u8>> for Payload<'_> {
    fn from(v: Vec<u8>) -> Self {
        Payload::Bytes(Cow::Owned(v))
    }
}
