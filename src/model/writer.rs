//! Writing a model in either layout, streaming its payloads.
//!
//! A model to write is a [`ModelParts`]: the object-API tree with every
//! buffer's payload held apart, as bytes or as a range of an open file (the
//! input model, an npy file). Either layout is written as a small FlatBuffer
//! (the skeleton: everything but the payloads) followed by the payloads,
//! copied by the kernel where they come from files, so memory use does not
//! grow with the model:
//!
//! - plain: each buffer's `data` field is patched to point at its payload,
//!   laid out as a FlatBuffers byte vector after the skeleton, so the whole
//!   file is one FlatBuffer (limited to 2 GiB);
//! - large-model: `Buffer.offset/size` point at the payloads instead.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use flatbuffers::{FlatBufferBuilder, WIPOffset};

use super::payload::{FileRange, Payload};
use super::reader::{CircleFile, FLATBUFFER_LIMIT};
use super::{fb, ModelError};
use crate::files::copy;

/// Payload alignment, as real converters write it; mmap-friendly for any dtype.
const PAYLOAD_ALIGN: u64 = 16;

/// Which file layout to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// Plain when it fits in a FlatBuffer (under 2 GiB), large otherwise.
    #[default]
    Auto,
    /// Every payload inside the FlatBuffer.
    Plain,
    /// Payloads after the FlatBuffer, addressed by `Buffer.offset/size`.
    Large,
}

/// A model ready to be written: the tree, with buffer payloads kept apart.
///
/// `payloads[i]` is the data of `model.buffers[i]`; `None` keeps the buffer
/// empty, as a non-constant tensor's buffer is. The tree's `BufferT.data`
/// fields are ignored.
pub struct ModelParts<'a> {
    pub model: fb::ModelT,
    pub payloads: Vec<Option<Payload<'a>>>,
}

impl<'a> ModelParts<'a> {
    /// Unpacks `file` into a tree without copying any buffer payload.
    pub fn from_file(file: &'a CircleFile) -> Result<Self, ModelError> {
        let m = file.model();
        let mut subgraphs: Option<Vec<fb::SubGraphT>> = m
            .subgraphs()
            .map(|v| v.iter().map(|s| s.unpack()).collect());
        // Custom options stored past the FlatBuffer come back inline: they are
        // small, and inline is valid in both layouts.
        for (sg_t, sg) in subgraphs
            .iter_mut()
            .flatten()
            .zip(m.subgraphs().iter().flatten())
        {
            for (op_t, op) in sg_t
                .operators
                .iter_mut()
                .flatten()
                .zip(sg.operators().iter().flatten())
            {
                if op.large_custom_options_offset() > 1 {
                    op_t.custom_options =
                        file.custom_options(&op)
                            .map_err(|source| ModelError::Read {
                                path: file.path().to_path_buf(),
                                source,
                            })?;
                    op_t.large_custom_options_offset = 0;
                    op_t.large_custom_options_size = 0;
                }
            }
        }
        let buffers = m.buffers().map(|bs| {
            bs.iter()
                .map(|b| {
                    let (offset, size) = if b.offset() > 1 {
                        (0, 0)
                    } else {
                        (b.offset(), b.size())
                    };
                    fb::BufferT {
                        data: None,
                        offset,
                        size,
                    }
                })
                .collect()
        });
        let model = fb::ModelT {
            version: m.version(),
            operator_codes: m
                .operator_codes()
                .map(|v| v.iter().map(|c| c.unpack()).collect()),
            subgraphs,
            description: m.description().map(str::to_string),
            buffers,
            metadata_buffer: m.metadata_buffer().map(|v| v.iter().collect()),
            metadata: m.metadata().map(|v| v.iter().map(|x| x.unpack()).collect()),
            signature_defs: m
                .signature_defs()
                .map(|v| v.iter().map(|x| x.unpack()).collect()),
        };
        Ok(ModelParts {
            model,
            payloads: file.payload_sources(),
        })
    }

    /// Total payload bytes.
    pub fn payload_bytes(&self) -> u64 {
        self.payloads.iter().flatten().map(Payload::len).sum()
    }
}

/// Where written bytes go. Payloads from files are appended with
/// [`Sink::copy_range`], which a file-backed sink does in the kernel.
pub trait Sink: Write {
    fn copy_range(&mut self, range: &FileRange<'_>) -> io::Result<()> {
        copy::through_memory(range.file, range.offset, range.len, self)
    }
}

impl Sink for Vec<u8> {}

/// A sink writing to a file: buffered writes, kernel copies for file ranges.
pub struct FileSink<'f> {
    out: io::BufWriter<&'f File>,
}

impl<'f> FileSink<'f> {
    pub fn new(file: &'f File) -> Self {
        FileSink {
            out: io::BufWriter::with_capacity(1 << 20, file),
        }
    }
}

impl Write for FileSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Sink for FileSink<'_> {
    fn copy_range(&mut self, range: &FileRange<'_>) -> io::Result<()> {
        self.out.flush()?;
        copy::append(range.file, range.offset, range.len, self.out.get_ref())
    }
}

/// What [`write`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub large: bool,
    pub bytes: u64,
}

impl Written {
    /// The layout's name as messages give it.
    pub fn layout_name(&self) -> &'static str {
        if self.large {
            "large-model"
        } else {
            "plain"
        }
    }
}

/// Why a write failed: the layout could not hold the model, or I/O failed.
#[derive(Debug)]
pub enum WriteError {
    Model(ModelError),
    Io(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl WriteError {
    /// Attaches the destination path to an I/O failure.
    pub fn at(self, path: &Path) -> ModelError {
        match self {
            WriteError::Model(e) => e,
            WriteError::Io(source) => ModelError::Write {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// Serializes `parts` into `out` in the requested layout.
pub fn write(
    parts: &ModelParts<'_>,
    layout: Layout,
    out: &mut impl Sink,
) -> Result<Written, WriteError> {
    match layout {
        Layout::Large => write_large(parts, out),
        Layout::Plain => write_plain(plan_plain(parts)?, parts, out),
        Layout::Auto => match plan_plain(parts) {
            Ok(plan) => write_plain(plan, parts, out),
            Err(WriteError::Model(ModelError::PlainTooLarge { .. })) => write_large(parts, out),
            Err(e) => Err(e),
        },
    }
}

/// The plain layout worked out: the patched skeleton and where each
/// payload's byte vector starts.
struct PlainPlan {
    skeleton: Vec<u8>,
    vectors: Vec<Option<u64>>,
    total: u64,
}

fn plan_plain(parts: &ModelParts<'_>) -> Result<PlainPlan, WriteError> {
    let mut skeleton = build(parts, Placement::Patchable)?;
    let fields = data_fields(&skeleton, parts);
    // Each payload is a FlatBuffers byte vector (a u32 length, then the
    // bytes) whose bytes start on a PAYLOAD_ALIGN boundary.
    let mut pos = skeleton.len() as u64;
    let mut vectors = Vec::with_capacity(parts.payloads.len());
    for (payload, field) in parts.payloads.iter().zip(&fields) {
        vectors.push(match (payload, field) {
            (Some(p), Some(_)) if !p.is_empty() => {
                let start = (pos + 4).next_multiple_of(PAYLOAD_ALIGN) - 4;
                pos = start + 4 + p.len();
                Some(start)
            }
            _ => None,
        });
    }
    if pos > FLATBUFFER_LIMIT as u64 {
        return Err(WriteError::Model(ModelError::PlainTooLarge { size: pos }));
    }
    for (vector, field) in vectors.iter().zip(&fields) {
        if let (Some(vector), Some(field)) = (vector, field) {
            let relative = (*vector - *field as u64) as u32;
            skeleton[*field..*field + 4].copy_from_slice(&relative.to_le_bytes());
        }
    }
    Ok(PlainPlan {
        skeleton,
        vectors,
        total: pos,
    })
}

/// The position of each buffer's `data` offset field in the skeleton.
fn data_fields(skeleton: &[u8], parts: &ModelParts<'_>) -> Vec<Option<usize>> {
    // SAFETY: `build` just produced this buffer with the generated code.
    let model = unsafe { flatbuffers::root_unchecked::<fb::Model>(skeleton) };
    let Some(buffers) = model.buffers() else {
        return vec![None; parts.payloads.len()];
    };
    (0..parts.payloads.len())
        .map(|i| {
            let table = buffers.get(i)._tab;
            match table.vtable().get(fb::Buffer::VT_DATA) {
                0 => None,
                at => Some(table.loc() + at as usize),
            }
        })
        .collect()
}

fn write_plain(
    plan: PlainPlan,
    parts: &ModelParts<'_>,
    out: &mut impl Sink,
) -> Result<Written, WriteError> {
    out.write_all(&plan.skeleton)?;
    let mut pos = plan.skeleton.len() as u64;
    for (payload, vector) in parts.payloads.iter().zip(&plan.vectors) {
        if let (Some(p), Some(start)) = (payload, vector) {
            write_zeros(out, start - pos)?;
            out.write_all(&(p.len() as u32).to_le_bytes())?;
            emit(out, p)?;
            pos = start + 4 + p.len();
        }
    }
    debug_assert_eq!(pos, plan.total);
    out.flush()?;
    Ok(Written {
        large: false,
        bytes: pos,
    })
}

fn write_large(parts: &ModelParts<'_>, out: &mut impl Sink) -> Result<Written, WriteError> {
    // The skeleton's size does not depend on the offset values (fixed-width
    // scalars, all present), so one pass with placeholders tells where the
    // payloads will start.
    let probe = build(parts, Placement::External(&placeholder_offsets(parts)))?;
    let offsets = payload_offsets(parts, probe.len() as u64);
    let bytes = build(parts, Placement::External(&offsets))?;
    debug_assert_eq!(bytes.len(), probe.len());
    out.write_all(&bytes)?;
    let mut pos = bytes.len() as u64;
    for (payload, offset) in parts.payloads.iter().zip(&offsets) {
        if let (Some(p), Some(offset)) = (payload, offset) {
            write_zeros(out, offset - pos)?;
            emit(out, p)?;
            pos = offset + p.len();
        }
    }
    out.flush()?;
    Ok(Written {
        large: true,
        bytes: pos,
    })
}

fn emit(out: &mut impl Sink, payload: &Payload<'_>) -> io::Result<()> {
    match payload {
        Payload::Bytes(b) => out.write_all(b),
        Payload::Shared(b) => out.write_all(b.as_slice()),
        Payload::File(range) => {
            range.check_unchanged()?;
            out.copy_range(range)
        }
        Payload::Path(named) => {
            let file = named.open()?;
            out.copy_range(&FileRange {
                file: &file,
                offset: named.offset,
                len: named.len,
                file_len: named.file_len,
            })
        }
        Payload::Packed(p) => p.write_to(out),
    }
}

fn write_zeros(out: &mut impl Write, n: u64) -> io::Result<()> {
    out.write_all(&[0u8; PAYLOAD_ALIGN as usize][..n as usize])
}

/// Payloads that go after the FlatBuffer in the large layout. Empty ones
/// stay inline: an offset with size 0 would say nothing a zero-length
/// vector does not.
fn is_external(payload: &Option<Payload<'_>>) -> bool {
    payload.as_ref().is_some_and(|p| !p.is_empty())
}

fn placeholder_offsets(parts: &ModelParts<'_>) -> Vec<Option<u64>> {
    parts
        .payloads
        .iter()
        .map(|p| is_external(p).then_some(u64::MAX))
        .collect()
}

fn payload_offsets(parts: &ModelParts<'_>, flatbuffer_len: u64) -> Vec<Option<u64>> {
    let mut pos = flatbuffer_len;
    parts
        .payloads
        .iter()
        .map(|p| {
            is_external(p).then(|| {
                let start = pos.next_multiple_of(PAYLOAD_ALIGN);
                pos = start + p.as_ref().map_or(0, Payload::len);
                start
            })
        })
        .collect()
}

enum Placement<'o> {
    /// Every buffer with a payload gets a `data` field pointing at one
    /// shared empty vector; the plain writer patches the non-empty ones.
    Patchable,
    /// Non-empty payloads after the FlatBuffer, at these file offsets.
    External(&'o [Option<u64>]),
}

fn build(parts: &ModelParts<'_>, placement: Placement<'_>) -> Result<Vec<u8>, WriteError> {
    let mut fbb = FlatBufferBuilder::with_capacity(1 << 16);
    let m = &parts.model;
    let empty: WIPOffset<flatbuffers::Vector<u8>> = fbb.create_vector::<u8>(&[]);
    let buffers = m.buffers.as_ref().map(|buffers| {
        let tables: Vec<_> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let payload = parts.payloads.get(i).and_then(Option::as_ref);
                let (mut data, mut offset, mut size) = (None, b.offset, b.size);
                match (&placement, payload) {
                    (Placement::External(offsets), Some(p)) if !p.is_empty() => {
                        offset = offsets[i].unwrap_or_default();
                        size = p.len();
                    }
                    (_, Some(_)) => data = Some(empty),
                    (_, None) => {}
                }
                fb::Buffer::create(&mut fbb, &fb::BufferArgs { data, offset, size })
            })
            .collect();
        fbb.create_vector(&tables)
    });
    let operator_codes = m.operator_codes.as_ref().map(|v| {
        let t: Vec<_> = v.iter().map(|x| x.pack(&mut fbb)).collect();
        fbb.create_vector(&t)
    });
    let subgraphs = m.subgraphs.as_ref().map(|v| {
        let t: Vec<_> = v.iter().map(|x| x.pack(&mut fbb)).collect();
        fbb.create_vector(&t)
    });
    let description = m.description.as_ref().map(|s| fbb.create_string(s));
    let metadata_buffer = m.metadata_buffer.as_ref().map(|v| fbb.create_vector(v));
    let metadata = m.metadata.as_ref().map(|v| {
        let t: Vec<_> = v.iter().map(|x| x.pack(&mut fbb)).collect();
        fbb.create_vector(&t)
    });
    let signature_defs = m.signature_defs.as_ref().map(|v| {
        let t: Vec<_> = v.iter().map(|x| x.pack(&mut fbb)).collect();
        fbb.create_vector(&t)
    });
    let root = fb::Model::create(
        &mut fbb,
        &fb::ModelArgs {
            version: m.version,
            operator_codes,
            subgraphs,
            description,
            buffers,
            metadata_buffer,
            metadata,
            signature_defs,
        },
    );
    fb::finish_model_buffer(&mut fbb, root);
    let (mut vec, head) = fbb.collapse();
    if vec.len() - head > FLATBUFFER_LIMIT {
        return Err(WriteError::Model(ModelError::TooLarge {
            size: vec.len() - head,
        }));
    }
    vec.drain(..head);
    Ok(vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A model with `payloads.len()` buffers, each used by one constant tensor.
    fn model_with(payloads: Vec<Option<Payload<'_>>>) -> ModelParts<'_> {
        let tensors = (0..payloads.len())
            .map(|i| fb::TensorT {
                name: Some(format!("t{i}")),
                shape: Some(vec![payloads[i].as_ref().map_or(0, |p| p.len() as i32)]),
                type_: fb::TensorType::UINT8,
                buffer: i as u32,
                ..Default::default()
            })
            .collect();
        let model = fb::ModelT {
            version: 3,
            description: Some("property".into()),
            subgraphs: Some(vec![fb::SubGraphT {
                tensors: Some(tensors),
                ..Default::default()
            }]),
            buffers: Some(payloads.iter().map(|_| fb::BufferT::default()).collect()),
            ..Default::default()
        };
        ModelParts { model, payloads }
    }

    fn in_memory(payloads: &[Option<Vec<u8>>]) -> Vec<Option<Payload<'static>>> {
        payloads
            .iter()
            .map(|p| p.clone().map(Payload::from))
            .collect()
    }

    /// Writes, reads back, and checks the tree, every payload and its alignment.
    fn round_trip(parts: &ModelParts<'_>, layout: Layout, expected: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut out = Vec::new();
        let written = write(parts, layout, &mut out).unwrap();
        assert_eq!(written.bytes, out.len() as u64);
        assert_eq!(written.large, layout == Layout::Large);
        let file = CircleFile::from_bytes("mem.circle", out.clone()).unwrap();
        let back = ModelParts::from_file(&file).unwrap();
        assert_eq!(back.model, parts.model);
        let got: Vec<Option<Vec<u8>>> = back
            .payloads
            .iter()
            .map(|p| p.as_ref().map(|p| p.to_vec().unwrap()))
            .collect();
        assert_eq!(got, expected);
        for i in 0..parts.payloads.len() {
            if let Some(p) = file.payload(i).filter(|p| p.len > 0) {
                assert_eq!(
                    p.offset % PAYLOAD_ALIGN,
                    0,
                    "payload {i} at {} is not aligned",
                    p.offset
                );
            }
        }
        out
    }

    proptest! {
        #[test]
        fn both_layouts_give_back_tree_and_payloads(
            payloads in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..300)), 0..12)
        ) {
            let parts = model_with(in_memory(&payloads));
            for layout in [Layout::Plain, Layout::Large] {
                round_trip(&parts, layout, &payloads);
            }
        }
    }

    #[test]
    fn payloads_from_files_are_copied_by_either_sink() {
        let mut source = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        source.write_all(&bytes).unwrap();
        let range = |offset: u64, len: u64| {
            Some(Payload::File(FileRange {
                file: &source,
                offset,
                len,
                file_len: 5000,
            }))
        };
        let parts = model_with(vec![
            None,
            range(3, 1000),
            range(1003, 0),
            range(2000, 3000),
        ]);
        let expected = vec![
            None,
            Some(bytes[3..1003].to_vec()),
            Some(vec![]),
            Some(bytes[2000..].to_vec()),
        ];
        for layout in [Layout::Plain, Layout::Large] {
            let in_memory = round_trip(&parts, layout, &expected);
            let target = tempfile::NamedTempFile::new().unwrap();
            write(&parts, layout, &mut FileSink::new(target.as_file())).unwrap();
            let on_disk = std::fs::read(target.path()).unwrap();
            assert_eq!(
                on_disk, in_memory,
                "the kernel copy writes what the memory copy writes"
            );
        }
    }

    #[test]
    fn auto_picks_plain_for_small_models() {
        let parts = model_with(in_memory(&[None, Some(vec![1, 2, 3])]));
        let mut out = Vec::new();
        assert!(!write(&parts, Layout::Auto, &mut out).unwrap().large);
    }

    #[test]
    fn large_layout_keeps_the_flatbuffer_small() {
        let parts = model_with(in_memory(&[None, Some(vec![7; 1 << 20])]));
        let mut out = Vec::new();
        write(&parts, Layout::Large, &mut out).unwrap();
        let file = CircleFile::from_bytes("mem.circle", out).unwrap();
        assert!(file.is_large_layout());
        let b = file.model().buffers().unwrap().get(1);
        assert!(b.data().is_none() && b.offset() < 4096 && b.size() == 1 << 20);
    }
}
