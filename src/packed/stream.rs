//! Packed data made while it is written: int8 values read from where they
//! are (an npy file's range, or memory) a chunk at a time and packed, so a
//! model of any size is written in memory that does not grow with it.

use std::io::{self, Write};
use std::sync::Arc;

use super::{pack, Packing, GGML_BLOCK};
use crate::files::{read_exact_at, DataSource};

#[cfg(test)]
pub(super) fn tests_chunk() -> usize {
    CHUNK
}

/// Values read and packed per step: whole GGML blocks and whole bytes of
/// nibbles, and small enough to keep the copy in cache-sized pieces.
const CHUNK: usize = 1 << 20;

/// Values to pack when written: `count` int8 elements in C order at
/// `values`, and for GGML a scale per block of 32.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedValues {
    pub packing: Packing,
    pub values: DataSource,
    pub count: u64,
    pub scales: Arc<[f32]>,
}

impl PackedValues {
    /// Bytes written; 0 when the format cannot hold `count` values (the
    /// implant checks that first).
    pub fn len(&self) -> u64 {
        self.packing.stored_len(self.count).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads, packs and writes every value. A value the format cannot
    /// hold, or data shorter than promised, fails the write.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let count = usize::try_from(self.count).map_err(io::Error::other)?;
        if self.values.len() != self.count {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} values promised, {} bytes found",
                    self.count,
                    self.values.len()
                ),
            ));
        }
        let reader = Reader::open(&self.values)?;
        let mut raw = vec![0u8; CHUNK.min(count)];
        let mut packed = Vec::with_capacity(CHUNK);
        let mut values: Vec<i8> = Vec::with_capacity(raw.len());
        let mut first = 0;
        while first < count {
            let n = CHUNK.min(count - first);
            reader.read(&mut raw[..n], first as u64)?;
            values.clear();
            values.extend(raw[..n].iter().map(|&b| b as i8));
            let blocks = first / GGML_BLOCK..(first + n).div_ceil(GGML_BLOCK);
            let scales = self.scales.get(blocks).unwrap_or(&[]);
            packed.clear();
            pack(self.packing, &values, scales, &mut packed).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "value {} at element {} does not fit {}",
                        e.value,
                        first + e.index,
                        self.packing.name()
                    ),
                )
            })?;
            out.write_all(&packed)?;
            first += n;
        }
        Ok(())
    }
}

/// Where the values are read from.
enum Reader<'a> {
    File { file: std::fs::File, offset: u64 },
    Memory(&'a [u8]),
}

impl<'a> Reader<'a> {
    fn open(source: &'a DataSource) -> io::Result<Reader<'a>> {
        Ok(match source {
            DataSource::File(range) => Reader::File {
                file: range.open()?,
                offset: range.offset,
            },
            DataSource::Memory(bytes) => Reader::Memory(bytes.as_slice()),
        })
    }

    fn read(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        match self {
            Reader::File { file, offset } => read_exact_at(file, buf, offset + at),
            Reader::Memory(bytes) => {
                let from = usize::try_from(at).map_err(io::Error::other)?;
                let src = bytes
                    .get(from..from + buf.len())
                    .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }
}
