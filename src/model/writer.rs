//! Writing a model in either layout.
//!
//! A model to write is a [`ModelParts`]: the object-API tree with every
//! buffer's payload held apart, borrowed from the input where unchanged. The
//! plain layout puts payloads inside the FlatBuffer; the large-model layout
//! appends them after it, 16-byte aligned, and points `Buffer.offset/size` at
//! them, so the FlatBuffer stays small whatever the weights weigh.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use flatbuffers::{FlatBufferBuilder, Push, PushAlignment, WIPOffset};

use super::reader::{CircleFile, FLATBUFFER_LIMIT};
use super::{fb, ModelError};

/// Payload alignment, as real converters write it; mmap-friendly for any dtype.
const PAYLOAD_ALIGN: usize = 16;

/// Which file layout to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
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
    pub payloads: Vec<Option<Cow<'a, [u8]>>>,
}

impl<'a> ModelParts<'a> {
    /// Unpacks `file` into a tree without copying any buffer payload.
    pub fn from_file(file: &'a CircleFile) -> Self {
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
                    op_t.custom_options = file.custom_options(&op).map(<[u8]>::to_vec);
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
        let payloads = file
            .payloads()
            .into_iter()
            .map(|p| p.map(Cow::Borrowed))
            .collect();
        ModelParts { model, payloads }
    }

    /// Total payload bytes.
    pub fn payload_bytes(&self) -> u64 {
        self.payloads.iter().flatten().map(|p| p.len() as u64).sum()
    }
}

/// What [`write`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub large: bool,
    pub bytes: u64,
}

/// Serializes `parts` into `out` in the requested layout.
pub fn write(
    parts: &ModelParts<'_>,
    layout: Layout,
    out: &mut impl Write,
) -> Result<Written, WriteError> {
    let large = match layout {
        Layout::Large => true,
        Layout::Plain => false,
        Layout::Auto => {
            parts.payload_bytes() > FLATBUFFER_LIMIT as u64
                || plain_size_estimate(parts)? > FLATBUFFER_LIMIT as u64
        }
    };
    if large {
        write_large(parts, out)
    } else {
        write_plain(parts, out)
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

/// An upper bound of the plain layout's size: the FlatBuffer without payloads
/// plus each payload with its length prefix and worst-case padding.
fn plain_size_estimate(parts: &ModelParts<'_>) -> Result<u64, WriteError> {
    let skeleton = build(parts, BufferPlacement::Omitted)?;
    let per_buffer = (4 + PAYLOAD_ALIGN) as u64;
    Ok(skeleton.len() as u64
        + parts
            .payloads
            .iter()
            .flatten()
            .map(|p| p.len() as u64 + per_buffer)
            .sum::<u64>())
}

fn write_plain(parts: &ModelParts<'_>, out: &mut impl Write) -> Result<Written, WriteError> {
    // Check first: the builder cannot grow past the limit and would abort.
    let estimate = plain_size_estimate(parts)?;
    if estimate > FLATBUFFER_LIMIT as u64 {
        return Err(WriteError::Model(ModelError::PlainTooLarge {
            size: estimate,
        }));
    }
    let bytes = build(parts, BufferPlacement::Inline)?;
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(Written {
        large: false,
        bytes: bytes.len() as u64,
    })
}

fn write_large(parts: &ModelParts<'_>, out: &mut impl Write) -> Result<Written, WriteError> {
    // The FlatBuffer's size does not depend on the offset values (they are
    // fixed-width scalars, all present), so one pass with placeholders tells
    // where the payloads will start.
    let probe = build(
        parts,
        BufferPlacement::External(&placeholder_offsets(parts)),
    )?;
    let offsets = payload_offsets(parts, probe.len() as u64);
    let bytes = build(parts, BufferPlacement::External(&offsets))?;
    debug_assert_eq!(bytes.len(), probe.len());
    out.write_all(&bytes)?;
    let mut pos = bytes.len() as u64;
    for (payload, offset) in parts.payloads.iter().zip(&offsets) {
        if let (Some(p), Some(offset)) = (payload, offset) {
            write_zeros(out, offset - pos)?;
            out.write_all(p)?;
            pos = offset + p.len() as u64;
        }
    }
    out.flush()?;
    Ok(Written {
        large: true,
        bytes: pos,
    })
}

fn write_zeros(out: &mut impl Write, n: u64) -> io::Result<()> {
    out.write_all(&[0u8; PAYLOAD_ALIGN][..n as usize])
}

/// Payloads that go after the FlatBuffer. Empty ones stay inline: an offset
/// with size 0 would say nothing a zero-length vector does not.
fn is_external(payload: &Option<Cow<'_, [u8]>>) -> bool {
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
                let start = pos.next_multiple_of(PAYLOAD_ALIGN as u64);
                pos = start + p.as_ref().map_or(0, |p| p.len() as u64);
                start
            })
        })
        .collect()
}

enum BufferPlacement<'o> {
    /// Payloads inside the FlatBuffer.
    Inline,
    /// Payloads after it, at these file offsets.
    External(&'o [Option<u64>]),
    /// Left out entirely (for size estimates).
    Omitted,
}

/// A zero-sized push that aligns the builder's head to [`PAYLOAD_ALIGN`]
/// and raises the buffer's minimum alignment to it.
struct AlignTo16;

impl Push for AlignTo16 {
    type Output = [u8; 0];
    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}
    fn size() -> usize {
        0
    }
    fn alignment() -> PushAlignment {
        PushAlignment::new(PAYLOAD_ALIGN)
    }
}

/// A byte vector whose first element lands on a [`PAYLOAD_ALIGN`] boundary of
/// the finished buffer (the builder writes back to front, and the finished
/// buffer's length is a multiple of its minimum alignment).
fn aligned_bytes<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    data: &[u8],
) -> WIPOffset<flatbuffers::Vector<'b, u8>> {
    fbb.push(AlignTo16);
    for _ in 0..(PAYLOAD_ALIGN - data.len() % PAYLOAD_ALIGN) % PAYLOAD_ALIGN {
        fbb.push(0u8);
    }
    fbb.create_vector(data)
}

fn build(parts: &ModelParts<'_>, placement: BufferPlacement<'_>) -> Result<Vec<u8>, WriteError> {
    let capacity = match placement {
        BufferPlacement::Inline => parts.payload_bytes() as usize + (1 << 16),
        _ => 1 << 16,
    };
    let mut fbb = FlatBufferBuilder::with_capacity(capacity);
    let m = &parts.model;
    let buffers = m.buffers.as_ref().map(|buffers| {
        let tables: Vec<_> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let payload = parts.payloads.get(i).and_then(|p| p.as_deref());
                let (mut data, mut offset, mut size) = (None, b.offset, b.size);
                match (&placement, payload) {
                    (BufferPlacement::External(offsets), Some(p)) if offsets[i].is_some() => {
                        offset = offsets[i].unwrap_or_default();
                        size = p.len() as u64;
                    }
                    (BufferPlacement::Omitted, Some(p)) if !p.is_empty() => {}
                    (_, Some(p)) => data = Some(aligned_bytes(&mut fbb, p)),
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
    let (vec, head) = fbb.collapse();
    let len = vec.len() - head;
    if len > FLATBUFFER_LIMIT {
        return Err(WriteError::Model(ModelError::TooLarge { size: len }));
    }
    let mut vec = vec;
    vec.drain(..head);
    Ok(vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A model with `payloads.len()` buffers, each used by one constant tensor.
    fn model_with(payloads: &[Option<Vec<u8>>]) -> ModelParts<'static> {
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
        ModelParts {
            model,
            payloads: payloads.iter().map(|p| p.clone().map(Cow::Owned)).collect(),
        }
    }

    fn round_trip(parts: &ModelParts<'_>, layout: Layout) -> (Written, Vec<u8>) {
        let mut out = Vec::new();
        let written = write(parts, layout, &mut out).unwrap();
        assert_eq!(written.bytes, out.len() as u64);
        (written, out)
    }

    proptest! {
        #[test]
        fn both_layouts_give_back_tree_and_payloads(
            payloads in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..300)), 0..12)
        ) {
            let parts = model_with(&payloads);
            for layout in [Layout::Plain, Layout::Large] {
                let (written, bytes) = round_trip(&parts, layout);
                prop_assert_eq!(written.large, layout == Layout::Large);
                let file = CircleFile::from_bytes("mem.circle", bytes).unwrap();
                let back = ModelParts::from_file(&file);
                prop_assert_eq!(&back.model, &parts.model);
                let got: Vec<Option<Vec<u8>>> = back.payloads.iter().map(|p| p.as_ref().map(|p| p.to_vec())).collect();
                prop_assert_eq!(&got, &payloads);
                for (i, p) in file.payloads().iter().enumerate() {
                    if let Some(p) = p.filter(|p| !p.is_empty()) {
                        let at = p.as_ptr() as usize - file.bytes().as_ptr() as usize;
                        prop_assert_eq!(at % PAYLOAD_ALIGN, 0, "payload {} at {} is not aligned", i, at);
                    }
                }
            }
        }
    }

    #[test]
    fn auto_picks_plain_for_small_models() {
        let parts = model_with(&[None, Some(vec![1, 2, 3])]);
        assert!(!round_trip(&parts, Layout::Auto).0.large);
    }

    #[test]
    fn large_layout_keeps_the_flatbuffer_small() {
        let parts = model_with(&[None, Some(vec![7; 1 << 20])]);
        let (_, bytes) = round_trip(&parts, Layout::Large);
        let file = CircleFile::from_bytes("mem.circle", bytes).unwrap();
        assert!(file.is_large_layout());
        let b = file.model().buffers().unwrap().get(1);
        assert!(b.data().is_none() && b.offset() < 4096 && b.size() == 1 << 20);
    }
}
