//! Opening a circle file: its FlatBuffer is read into memory of our own and
//! verified once, so nothing is ever read unchecked from a file another
//! process could truncate or rewrite; payloads stay in the file and are read
//! or copied by range, with their sizes checked.
//!
//! Memory does not grow with the weights: before reading, a short walk
//! (root → `Model.buffers` → each `Buffer`) finds where the payload bytes
//! lie, and those ranges are left out of the in-memory image (an anonymous
//! mapping whose untouched pages cost nothing). The FlatBuffers verifier
//! checks byte vectors' bounds, never their contents, so it verifies the
//! image as it would the whole file.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapMut};

use super::payload::{FileRange, Payload};
use super::{fb, ModelError};
use crate::files::{open_regular, read_exact_at, read_exact_in};

/// The largest FlatBuffer the format allows; data past it can only be reached
/// through `Buffer.offset` (the large-model layout).
pub const FLATBUFFER_LIMIT: usize = i32::MAX as usize;

/// Payloads at least this large are left out of the in-memory image; smaller
/// ones cost less to read than to skip.
const HOLE_MIN: u64 = 4096;

/// Where a buffer's bytes are in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadRef {
    pub offset: u64,
    pub len: u64,
}

/// A verified circle model: its FlatBuffer in memory, its payloads in the
/// file (or, for tests and fuzzing, everything in memory).
pub struct CircleFile {
    path: PathBuf,
    image: Image,
    source: Source,
}

enum Image {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

enum Source {
    /// Kept open so payloads can be read and copied by range.
    File { file: File, len: u64 },
    /// The image holds the whole file.
    Image,
}

impl CircleFile {
    /// Reads and verifies the model at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref().to_path_buf();
        let read_err = |source| ModelError::Read {
            path: path.clone(),
            source,
        };
        let input = open_regular(&path).map_err(read_err)?;
        check_identifier(&path, &input.file, input.len)?;
        let image = read_image(&path, &input.file, input.len)?;
        Self::verified(
            path,
            image,
            Source::File {
                file: input.file,
                len: input.len,
            },
        )
    }

    /// Verifies `bytes` as a model; `label` stands for the file name in errors.
    pub fn from_bytes(label: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, ModelError> {
        let path = label.into();
        check_identifier_bytes(&path, &bytes)?;
        Self::verified(path, Image::Owned(bytes), Source::Image)
    }

    fn verified(path: PathBuf, image: Image, source: Source) -> Result<Self, ModelError> {
        let model = CircleFile {
            path,
            image,
            source,
        };
        model.verify()?;
        Ok(model)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        match &self.source {
            Source::File { len, .. } => *len,
            Source::Image => self.image_bytes().len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn image_bytes(&self) -> &[u8] {
        match &self.image {
            Image::Mapped(m) => m,
            Image::Owned(v) => v,
        }
    }

    fn flatbuffer_region(&self) -> &[u8] {
        let all = self.image_bytes();
        &all[..all.len().min(FLATBUFFER_LIMIT)]
    }

    /// The model's root table.
    pub fn model(&self) -> fb::Model<'_> {
        // SAFETY: `verify` ran the FlatBuffers verifier over this exact region
        // when the value was built; it is our own memory, immutable since.
        unsafe { flatbuffers::root_unchecked::<fb::Model>(self.flatbuffer_region()) }
    }

    /// Whether any buffer keeps its payload after the FlatBuffer.
    pub fn is_large_layout(&self) -> bool {
        self.model()
            .buffers()
            .is_some_and(|bs| bs.iter().any(|b| b.offset() > 1))
    }

    /// Where the bytes of buffer `index` are: the inline `data` vector, or
    /// `offset..offset+size` in the large-model layout. `None` when the
    /// buffer holds nothing (a non-constant tensor's buffer).
    pub fn payload(&self, index: usize) -> Option<PayloadRef> {
        let buffers = self.model().buffers()?;
        (index < buffers.len())
            .then(|| self.payload_of(&buffers.get(index)))
            .flatten()
    }

    fn payload_of(&self, buffer: &fb::Buffer<'_>) -> Option<PayloadRef> {
        if buffer.offset() > 1 {
            // Bounds were checked in `verify`.
            return Some(PayloadRef {
                offset: buffer.offset(),
                len: buffer.size(),
            });
        }
        let data = buffer.data()?;
        let base = self.image_bytes().as_ptr() as usize;
        Some(PayloadRef {
            offset: (data.bytes().as_ptr() as usize - base) as u64,
            len: data.len() as u64,
        })
    }

    /// Reads `buf.len()` bytes at file offset `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match &self.source {
            Source::File { file, .. } => read_exact_at(file, buf, offset),
            Source::Image => read_exact_in(self.image_bytes(), buf, offset),
        }
    }

    /// The bytes of a payload, read now.
    pub fn read_payload(&self, payload: PayloadRef) -> io::Result<Vec<u8>> {
        let mut out = vec![0; usize::try_from(payload.len).map_err(io::Error::other)?];
        self.read_at(payload.offset, &mut out)?;
        Ok(out)
    }

    /// Payloads of all buffers as the writer takes them: ranges of the file
    /// (copied without being read into memory), or bytes.
    pub fn payload_sources(&self) -> Vec<Option<Payload<'_>>> {
        let Some(buffers) = self.model().buffers() else {
            return Vec::new();
        };
        buffers
            .iter()
            .map(|b| {
                let p = self.payload_of(&b)?;
                Some(match &self.source {
                    Source::File { file, len } => Payload::File(FileRange {
                        file,
                        offset: p.offset,
                        len: p.len,
                        file_len: *len,
                    }),
                    Source::Image => Payload::Bytes(std::borrow::Cow::Borrowed(
                        &self.image_bytes()[p.offset as usize..(p.offset + p.len) as usize],
                    )),
                })
            })
            .collect()
    }

    /// Custom options of an operator, wherever the layout keeps them.
    pub fn custom_options(&self, op: &fb::Operator<'_>) -> io::Result<Option<Vec<u8>>> {
        if op.large_custom_options_offset() > 1 {
            let payload = PayloadRef {
                offset: op.large_custom_options_offset(),
                len: op.large_custom_options_size(),
            };
            return self.read_payload(payload).map(Some);
        }
        Ok(op.custom_options().map(|d| d.bytes().to_vec()))
    }

    fn verify(&self) -> Result<(), ModelError> {
        let opts = flatbuffers::VerifierOptions {
            max_depth: 64,
            // Large language models have hundreds of thousands of tables.
            max_tables: 100_000_000,
            max_apparent_size: FLATBUFFER_LIMIT,
            ignore_missing_null_terminator: false,
        };
        let model = fb::root_as_model_with_opts(&opts, self.flatbuffer_region()).map_err(|e| {
            ModelError::Corrupt {
                path: self.path.clone(),
                reason: one_line(&e.to_string()),
            }
        })?;
        self.check_references(&model)
    }

    /// Checks every index the model stores, so that the graph view and the
    /// writer can index without panicking.
    fn check_references(&self, model: &fb::Model<'_>) -> Result<(), ModelError> {
        let file_len = self.len();
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

fn check_identifier(path: &Path, file: &File, len: u64) -> Result<(), ModelError> {
    let mut head = [0u8; 8];
    let n = len.min(8) as usize;
    read_exact_at(file, &mut head[..n], 0).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    check_identifier_bytes(path, &head[..n])
}

fn check_identifier_bytes(path: &Path, head: &[u8]) -> Result<(), ModelError> {
    let path = || path.to_path_buf();
    if head.is_empty() {
        return Err(ModelError::Empty { path: path() });
    }
    if head.len() < 8 {
        return Err(ModelError::TooShort {
            path: path(),
            len: head.len(),
        });
    }
    let ident = &head[4..8];
    if ident == b"TFL3" {
        return Err(ModelError::Tflite { path: path() });
    }
    if ident != b"CIR0" {
        return Err(ModelError::NotCircle {
            path: path(),
            found: describe_identifier(ident),
        });
    }
    Ok(())
}

/// Reads the FlatBuffer region of `file` into anonymous memory, leaving out
/// the payload ranges [`payload_holes`] finds.
fn read_image(path: &Path, file: &File, len: u64) -> Result<Image, ModelError> {
    let region = len.min(FLATBUFFER_LIMIT as u64);
    let corrupt = |reason: String| ModelError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let read_err = |source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    };
    let holes = payload_holes(&Probe::new(file, region)).map_err(|e| match e {
        ProbeError::Io(e) => read_err(e),
        ProbeError::Bad(reason) => corrupt(reason),
    })?;
    let mut image = MmapMut::map_anon(region as usize).map_err(read_err)?;
    let mut at = 0u64;
    for hole in holes.iter().chain(std::iter::once(&(region..region))) {
        if hole.start > at {
            read_exact_at(file, &mut image[at as usize..hole.start as usize], at).map_err(|e| {
                match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        corrupt("the file became shorter while it was being read".into())
                    }
                    _ => read_err(e),
                }
            })?;
        }
        at = at.max(hole.end);
    }
    Ok(Image::Mapped(image.make_read_only().map_err(read_err)?))
}

enum ProbeError {
    Io(io::Error),
    Bad(String),
}

/// Bounds-checked little-endian reads of a file region, through a few small
/// windows so that walking neighbouring tables costs few system calls.
/// Several windows, because a walk alternates between places: the buffer
/// list, a shared vtable, and each table (which converters may write beside
/// its payload, far from the next).
struct Probe<'f> {
    file: &'f File,
    len: u64,
    windows: std::cell::RefCell<[Window; WINDOWS]>,
}

#[derive(Default)]
struct Window {
    start: u64,
    data: Vec<u8>,
    /// When it was last used, to replace the least recently used.
    used: u64,
}

/// Bytes read per window: a page, about the cost of the system call.
const WINDOW: u64 = 4096;
const WINDOWS: usize = 4;

impl<'f> Probe<'f> {
    fn new(file: &'f File, len: u64) -> Self {
        Probe {
            file,
            len,
            windows: Default::default(),
        }
    }

    fn bytes<const N: usize>(&self, at: u64) -> Result<[u8; N], ProbeError> {
        let end = at
            .checked_add(N as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                ProbeError::Bad(format!("an offset points past the FlatBuffer ({at})"))
            })?;
        let mut windows = self.windows.borrow_mut();
        let clock = windows.iter().map(|w| w.used).max().unwrap_or(0) + 1;
        let holds = |w: &Window| at >= w.start && end <= w.start + w.data.len() as u64;
        let slot = match windows.iter().position(holds) {
            Some(slot) => slot,
            None => {
                let slot = (0..WINDOWS).min_by_key(|&i| windows[i].used).unwrap_or(0);
                let w = &mut windows[slot];
                w.start = at;
                let n = WINDOW.min(self.len - at) as usize;
                w.data.resize(n, 0);
                read_exact_at(self.file, &mut w.data, at).map_err(ProbeError::Io)?;
                slot
            }
        };
        let w = &mut windows[slot];
        w.used = clock;
        let from = (at - w.start) as usize;
        Ok(w.data[from..from + N].try_into().expect("N bytes"))
    }

    fn u16(&self, at: u64) -> Result<u16, ProbeError> {
        Ok(u16::from_le_bytes(self.bytes(at)?))
    }

    fn u32(&self, at: u64) -> Result<u32, ProbeError> {
        Ok(u32::from_le_bytes(self.bytes(at)?))
    }

    fn u64(&self, at: u64) -> Result<u64, ProbeError> {
        Ok(u64::from_le_bytes(self.bytes(at)?))
    }

    /// Where field `vt` (a vtable offset) of the table at `table` is, if set.
    fn field(&self, table: u64, vt: u16) -> Result<Option<u64>, ProbeError> {
        let soffset = i32::from_le_bytes(self.bytes(table)?);
        let vtable = (table as i64)
            .checked_sub(i64::from(soffset))
            .filter(|&v| v >= 0)
            .ok_or_else(|| ProbeError::Bad("a table's vtable offset is out of range".into()))?
            as u64;
        let vtable_len = self.u16(vtable)?;
        if vt >= vtable_len {
            return Ok(None);
        }
        Ok(match self.u16(vtable + u64::from(vt))? {
            0 => None,
            at => Some(table + u64::from(at)),
        })
    }

    /// Follows the offset stored at `at`.
    fn follow(&self, at: u64) -> Result<u64, ProbeError> {
        Ok(at + u64::from(self.u32(at)?))
    }
}

/// The byte ranges of large payloads: inline `Buffer.data` vectors (their
/// elements, not their length prefix) and, in the large-model layout,
/// `Buffer.offset..offset+size` within the region. Sorted, disjoint.
fn payload_holes(probe: &Probe<'_>) -> Result<Vec<Range<u64>>, ProbeError> {
    let root = probe.follow(0)?;
    let Some(field) = probe.field(root, fb::Model::VT_BUFFERS)? else {
        return Ok(Vec::new());
    };
    let vector = probe.follow(field)?;
    let count = u64::from(probe.u32(vector)?);
    if count > (probe.len.saturating_sub(vector + 4)) / 4 {
        return Err(ProbeError::Bad(
            "the buffer list runs past the FlatBuffer".into(),
        ));
    }
    let mut holes = Vec::new();
    for i in 0..count {
        let buffer = probe.follow(vector + 4 + 4 * i)?;
        if let Some(data) = probe.field(buffer, fb::Buffer::VT_DATA)? {
            let bytes = probe.follow(data)?;
            let n = u64::from(probe.u32(bytes)?);
            let start = bytes + 4;
            if n >= HOLE_MIN && start + n <= probe.len {
                holes.push(start..start + n);
            }
        }
        let offset = match probe.field(buffer, fb::Buffer::VT_OFFSET)? {
            Some(at) => probe.u64(at)?,
            None => 0,
        };
        let size = match probe.field(buffer, fb::Buffer::VT_SIZE)? {
            Some(at) => probe.u64(at)?,
            None => 0,
        };
        if offset > 1 && size >= HOLE_MIN && offset < probe.len {
            holes.push(offset..offset.saturating_add(size).min(probe.len));
        }
    }
    holes.sort_by_key(|h| h.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(holes.len());
    for h in holes {
        match merged.last_mut() {
            Some(last) if h.start <= last.end => last.end = last.end.max(h.end),
            _ => merged.push(h),
        }
    }
    Ok(merged)
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
