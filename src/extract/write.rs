//! An extracted set as files: `qparam.json` and its npy files (`0.npy`,
//! `1.npy`, ...: each entry's scale, zero points and, for constants, its
//! data), in exactly the format `check` reads: float32 1-D scales, int64
//! 1-D zero points (for block-wise entries both [rows, columns / block]),
//! data of the entry's type in the tensor's shape. Constant data is copied
//! from the model file by range, never held whole; packed data (int4,
//! uint4, GGML blocks) is unpacked a value a byte, as the format saves it.

use std::io::{self, Write};

use serde_json::{json, Map, Value as Json};

use super::Extracted;
use crate::files::AtomicDir;
use crate::model::writer::{FileSink, Sink};
use crate::model::{CircleFile, Payload};
use crate::qparam::npy;

/// What was written into the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenSet {
    pub files: usize,
    pub bytes: u64,
}

/// Writes `set` (read from `model`) into `dir`, which is then committed by
/// the caller.
pub fn write(set: &Extracted, model: &CircleFile, dir: &mut AtomicDir) -> io::Result<WrittenSet> {
    let payloads = model.payload_sources();
    let mut written = WrittenSet { files: 0, bytes: 0 };
    let mut doc = Map::new();
    let mut next = 0usize;
    let mut npy_file =
        |dir: &mut AtomicDir, descr: &str, shape: &[usize], data: Data<'_>| -> io::Result<String> {
            let name = format!("{next}.npy");
            next += 1;
            let file = dir.create_file(&name)?;
            let mut sink = FileSink::new(&file);
            let header = npy::header(descr, false, shape);
            sink.write_all(&header)?;
            let len = match data {
                Data::Bytes(b) => {
                    sink.write_all(&b)?;
                    b.len() as u64
                }
                Data::Payload(p) => {
                    match p {
                        Payload::Bytes(b) => sink.write_all(b)?,
                        Payload::File(range) => {
                            range.check_unchanged()?;
                            sink.copy_range(range)?;
                        }
                        Payload::Path(range) => sink.write_all(&range.read()?)?,
                        Payload::Shared(bytes) => sink.write_all(bytes.as_slice())?,
                        Payload::Packed(packed) => packed.write_to(&mut sink)?,
                    }
                    p.len()
                }
            };
            sink.flush()?;
            file.sync_all()?;
            written.files += 1;
            written.bytes += header.len() as u64 + len;
            Ok(name)
        };
    for e in &set.entries {
        let scale: Vec<u8> = e.scale.iter().flat_map(|s| s.to_le_bytes()).collect();
        let zerop: Vec<u8> = e.zero_point.iter().flat_map(|z| z.to_le_bytes()).collect();
        let mut entry = Map::new();
        entry.insert("dtype".into(), json!(e.dtype.name()));
        let params_shape = params_shape(e);
        let name = npy_file(dir, "<f4", &params_shape, Data::Bytes(scale))?;
        entry.insert("scale".into(), json!(name));
        let name = npy_file(dir, "<i8", &params_shape, Data::Bytes(zerop))?;
        entry.insert("zerop".into(), json!(name));
        entry.insert("quantized_dimension".into(), json!(e.quantized_dimension));
        if let Some(b) = e.block_size {
            entry.insert("block_size".into(), json!(b));
        }
        if let Some(v) = &e.value {
            let payload = payloads
                .get(v.buffer as usize)
                .and_then(Option::as_ref)
                .ok_or_else(|| io::Error::other(format!("`{}` has no data", e.tensor)))?;
            if payload.len() != v.data.len {
                return Err(io::Error::other(format!(
                    "the data of `{}` changed while it was read",
                    e.tensor
                )));
            }
            let descr = e.dtype.npy_type().descr().to_string();
            let data = match v.packing {
                Some(packing) => {
                    let count = v.shape.iter().product::<usize>() as u64;
                    let unpacked = crate::packed::unpack(packing, &payload.to_vec()?, count)
                        .map_err(io::Error::other)?;
                    Data::Bytes(unpacked.values.iter().map(|&v| v as u8).collect())
                }
                None => Data::Payload(payload),
            };
            let name = npy_file(dir, &descr, &v.shape, data)?;
            entry.insert("value".into(), json!(name));
        }
        doc.insert(e.key.clone(), Json::Object(entry));
    }
    let mut text = serde_json::to_string_pretty(&Json::Object(doc)).map_err(io::Error::other)?;
    text.push('\n');
    let mut file = dir.create_file("qparam.json")?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    written.files += 1;
    written.bytes += text.len() as u64;
    Ok(written)
}

/// The shape of an entry's scale and zero-point arrays: 1-D, or for
/// block-wise parameters [rows, blocks per row].
fn params_shape(e: &super::Params) -> Vec<usize> {
    match (e.block_size, e.value.as_ref().map(|v| v.shape.as_slice())) {
        (Some(_), Some(&[rows, _])) if rows > 0 => vec![rows, e.scale.len() / rows],
        _ => vec![e.scale.len()],
    }
}

enum Data<'p> {
    Bytes(Vec<u8>),
    Payload(&'p Payload<'p>),
}
