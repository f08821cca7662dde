//! Opening a circle file: map it, verify the FlatBuffer, check every index it
//! holds, and hand out buffer payloads as slices of the mapping.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::borrow::Cow;

use memmap2::Mmap;

use super::writer::{FileRange, Payload};

use super::fb;
use super::ModelError;

/// The largest FlatBuffer the format allows; data past it can only be reached
/// through `Buffer.offset` (the large-model layout).
pub const FLATBUFFER_LIMIT: usize = i32::MAX as usize;

/// A verified circle model backed by a read-only memory map (or, for tests
/// and fuzzing, by bytes in memory).
pub struct CircleFile {
    path: PathBuf,
    bytes: Storage,
    /// Kept open so payloads can be copied from it by the kernel.
    file: Option<File>,
}

enum Storage {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl CircleFile {
    /// Maps and verifies the model at `path`. Nothing is copied: payloads stay
    /// in the page cache until a caller touches them.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref().to_path_buf();
        let read_err = |source| ModelError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        let bytes = if len == 0 {
            // Mapping an empty file fails on some platforms; it is invalid anyway.
            Storage::Owned(Vec::new())
        } else {
            // SAFETY: the mapping is read-only; a concurrent writer could change
            // bytes under us, as with any mmap-based reader, which we accept
            // (re-verification would not help against it either).
            Storage::Mapped(unsafe { Mmap::map(&file) }.map_err(read_err)?)
        };
        Self::verified(path, bytes, Some(file))
    }

    /// Verifies `bytes` as a model; `label` stands for the file name in errors.
    pub fn from_bytes(label: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, ModelError> {
        Self::verified(label.into(), Storage::Owned(bytes), None)
    }

    fn verified(path: PathBuf, bytes: Storage, file: Option<File>) -> Result<Self, ModelError> {
        let model = CircleFile { path, bytes, file };
        model.verify()?;
        Ok(model)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file, FlatBuffer and any trailing payloads.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }

    fn flatbuffer_region(&self) -> &[u8] {
        let all = self.bytes();
        &all[..all.len().min(FLATBUFFER_LIMIT)]
    }

    /// The model's root table.
    pub fn model(&self) -> fb::Model<'_> {
        // SAFETY: `verify` ran the FlatBuffers verifier over this exact region
        // when the value was built, and the bytes are immutable since.
        unsafe { flatbuffers::root_unchecked::<fb::Model>(self.flatbuffer_region()) }
    }

    /// Whether any buffer keeps its payload after the FlatBuffer.
    pub fn is_large_layout(&self) -> bool {
        self.model()
            .buffers()
            .is_some_and(|bs| bs.iter().any(|b| b.offset() > 1))
    }

    /// The bytes of buffer `index`: the inline `data` vector, or the range
    /// `offset..offset+size` of the file in the large-model layout. `None` when
    /// the buffer holds nothing (a non-constant tensor's buffer).
    pub fn buffer_data(&self, index: usize) -> Option<&[u8]> {
        let buffers = self.model().buffers()?;
        (index < buffers.len())
            .then(|| self.payload_of(&buffers.get(index)))
            .flatten()
    }

    fn payload_of<'a>(&'a self, buffer: &fb::Buffer<'a>) -> Option<&'a [u8]> {
        if buffer.offset() > 1 {
            // Bounds were checked in `verify`.
            let start = buffer.offset() as usize;
            return Some(&self.bytes()[start..start + buffer.size() as usize]);
        }
        buffer.data().map(|d| d.bytes())
    }

    /// Payloads of all buffers, indexed like `Model.buffers`.
    pub fn payloads(&self) -> Vec<Option<&[u8]>> {
        self.model()
            .buffers()
            .map(|bs| bs.iter().map(|b| self.payload_of(&b)).collect())
            .unwrap_or_default()
    }

    /// Payloads of all buffers as the writer takes them: ranges of the file
    /// when it is one (copied without being read into memory), else bytes.
    pub fn payload_sources(&self) -> Vec<Option<Payload<'_>>> {
        let base = self.bytes().as_ptr() as usize;
        self.payloads()
            .into_iter()
            .map(|p| {
                p.map(|bytes| match (&self.file, &self.bytes) {
                    (Some(file), Storage::Mapped(_)) => Payload::File(FileRange {
                        file,
                        offset: (bytes.as_ptr() as usize - base) as u64,
                        len: bytes.len() as u64,
                    }),
                    _ => Payload::Bytes(Cow::Borrowed(bytes)),
                })
            })
            .collect()
    }

    /// Custom options of an operator, wherever the layout keeps them.
    pub fn custom_options<'a>(&'a self, op: &fb::Operator<'a>) -> Option<&'a [u8]> {
        if op.large_custom_options_offset() > 1 {
            let start = op.large_custom_options_offset() as usize;
            return Some(&self.bytes()[start..start + op.large_custom_options_size() as usize]);
        }
        op.custom_options().map(|d| d.bytes())
    }

    fn verify(&self) -> Result<(), ModelError> {
        let path = || self.path.clone();
        let all = self.bytes();
        if all.is_empty() {
            return Err(ModelError::Empty { path: path() });
        }
        if all.len() < 8 {
            return Err(ModelError::TooShort {
                path: path(),
                len: all.len(),
            });
        }
        let ident = &all[4..8];
        if ident == b"TFL3" {
            return Err(ModelError::Tflite { path: path() });
        }
        if ident != b"CIR0" {
            return Err(ModelError::NotCircle {
                path: path(),
                found: describe_identifier(ident),
            });
        }
        let opts = flatbuffers::VerifierOptions {
            max_depth: 64,
            // Large language models have hundreds of thousands of tables.
            max_tables: 100_000_000,
            max_apparent_size: FLATBUFFER_LIMIT,
            ignore_missing_null_terminator: false,
        };
        let model = fb::root_as_model_with_opts(&opts, self.flatbuffer_region()).map_err(|e| {
            ModelError::Corrupt {
                path: path(),
                reason: one_line(&e.to_string()),
            }
        })?;
        self.check_references(&model)
    }

    /// Checks every index the model stores, so that the graph view and the
    /// writer can index without panicking.
    fn check_references(&self, model: &fb::Model<'_>) -> Result<(), ModelError> {
        let file_len = self.bytes().len() as u64;
        let bad = |what: String| ModelError::BadReference {
            path: self.path.clone(),
            what,
        };
        let out_of_file = |index, offset: u64, size: u64| ModelError::BufferOutOfBounds {
            path: self.path.clone(),
            index,
            offset,
            size,
            file_len,
        };
        let n_buffers = model.buffers().map_or(0, |b| b.len());
        for (index, buffer) in model.buffers().iter().flatten().enumerate() {
            let (offset, size) = (buffer.offset(), buffer.size());
            if offset > 1 && offset.checked_add(size).is_none_or(|end| end > file_len) {
                return Err(out_of_file(index, offset, size));
            }
        }
        let n_codes = model.operator_codes().map_or(0, |c| c.len());
        let n_subgraphs = model.subgraphs().map_or(0, |s| s.len());
        for (si, sg) in model.subgraphs().iter().flatten().enumerate() {
            let n_tensors = sg.tensors().map_or(0, |t| t.len());
            for (ti, t) in sg.tensors().iter().flatten().enumerate() {
                // Buffer 0 is the conventional empty buffer, accepted even when absent.
                if t.buffer() != 0 && t.buffer() as usize >= n_buffers {
                    return Err(bad(format!(
                        "tensor {ti} of subgraph {si} refers to buffer {}, but the model has {n_buffers} buffers",
                        t.buffer()
                    )));
                }
            }
            let check = |list: Option<flatbuffers::Vector<'_, i32>>,
                         what: &str,
                         allow_absent: bool| {
                for idx in list.iter().flatten() {
                    let absent = idx == -1 && allow_absent;
                    if !absent && (idx < 0 || idx as usize >= n_tensors) {
                        return Err(bad(format!(
                            "{what} of subgraph {si} names tensor {idx}, but the subgraph has {n_tensors} tensors"
                        )));
                    }
                }
                Ok(())
            };
            check(sg.inputs(), "an input", false)?;
            check(sg.outputs(), "an output", false)?;
            for (oi, op) in sg.operators().iter().flatten().enumerate() {
                if op.opcode_index() as usize >= n_codes {
                    return Err(bad(format!(
                        "operator {oi} of subgraph {si} uses operator code {}, but the model has {n_codes}",
                        op.opcode_index()
                    )));
                }
                let what = format!("operator {oi}");
                check(op.inputs(), &format!("an input of {what}"), true)?;
                check(op.outputs(), &format!("an output of {what}"), false)?;
                check(
                    op.intermediates(),
                    &format!("an intermediate of {what}"),
                    true,
                )?;
                let (offset, size) = (
                    op.large_custom_options_offset(),
                    op.large_custom_options_size(),
                );
                if offset > 1 && offset.checked_add(size).is_none_or(|end| end > file_len) {
                    return Err(bad(format!(
                        "{what} of subgraph {si} keeps {size} bytes of custom options at offset {offset}, past the end of the file ({file_len} bytes)"
                    )));
                }
            }
        }
        for (i, sig) in model.signature_defs().iter().flatten().enumerate() {
            if sig.subgraph_index() as usize >= n_subgraphs {
                return Err(bad(format!(
                    "signature {i} names subgraph {}, but the model has {n_subgraphs}",
                    sig.subgraph_index()
                )));
            }
        }
        for (i, meta) in model.metadata().iter().flatten().enumerate() {
            if meta.buffer() as usize >= n_buffers {
                return Err(bad(format!(
                    "metadata entry {i} refers to buffer {}, but the model has {n_buffers} buffers",
                    meta.buffer()
                )));
            }
        }
        Ok(())
    }
}

/// The verifier's report spans lines ("while verifying ..."); keep it to one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_identifier(ident: &[u8]) -> String {
    if ident.iter().all(|b| b.is_ascii_graphic()) {
        format!("`{}`", String::from_utf8_lossy(ident))
    } else {
        format!("the bytes {ident:02x?}")
    }
}
