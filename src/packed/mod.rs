//! Weight formats that pack values below a byte or keep a scale per block
//! of values: llama.cpp's GGML_Q4_0 and GGML_Q8_0 (blocks of 32 along the
//! last axis, each a float16 scale and its 32 values) and circle's INT4
//! and UINT4 (two values a byte, low nibble first). A leaf: the implant
//! packs with it, the interpreter, `extract` and `inspect` unpack.
//!
//! Layouts (llama.cpp's, as onert reads them): a tensor of R rows and C
//! columns (C a multiple of 32) holds R × C / 32 blocks in row-major order.
//! A Q4_0 block is its scale d (float16), then 16 bytes: element j is the
//! low nibble of byte j and element j + 16 the high nibble, each holding
//! the value plus 8; value = (nibble − 8) · d. A Q8_0 block is d, then 32
//! int8 values; value = q · d.

pub mod f16;
mod stream;

pub use stream::PackedValues;

use crate::model::fb::TensorType;

/// Values per GGML block.
pub const GGML_BLOCK: usize = 32;

/// A packed format q-implant writes and reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Packing {
    /// Blocks of 32 int4 values with a float16 scale, symmetric.
    GgmlQ4_0,
    /// Blocks of 32 int8 values with a float16 scale, symmetric.
    GgmlQ8_0,
    /// int4 values, two a byte; parameters on the tensor.
    Int4,
    /// uint4 values, two a byte; parameters on the tensor.
    Uint4,
}

impl Packing {
    pub const ALL: [Packing; 4] = [
        Packing::GgmlQ4_0,
        Packing::GgmlQ8_0,
        Packing::Int4,
        Packing::Uint4,
    ];

    pub fn tensor_type(self) -> TensorType {
        match self {
            Packing::GgmlQ4_0 => TensorType::GGML_Q4_0,
            Packing::GgmlQ8_0 => TensorType::GGML_Q8_0,
            Packing::Int4 => TensorType::INT4,
            Packing::Uint4 => TensorType::UINT4,
        }
    }

    pub fn of(t: TensorType) -> Option<Packing> {
        Packing::ALL.into_iter().find(|p| p.tensor_type() == t)
    }

    /// The schema's name of the tensor type.
    pub fn name(self) -> &'static str {
        self.tensor_type().variant_name().unwrap_or("UNKNOWN")
    }

    /// Whether each block of values carries its own scale in the data.
    pub fn is_blockwise(self) -> bool {
        matches!(self, Packing::GgmlQ4_0 | Packing::GgmlQ8_0)
    }

    /// The values an element holds.
    pub fn range(self) -> (i64, i64) {
        match self {
            Packing::GgmlQ4_0 | Packing::Int4 => (-8, 7),
            Packing::GgmlQ8_0 => (-128, 127),
            Packing::Uint4 => (0, 15),
        }
    }

    /// Bytes of one block: the float16 scale and the values.
    pub fn block_bytes(self) -> usize {
        match self {
            Packing::GgmlQ4_0 => 2 + GGML_BLOCK / 2,
            _ => 2 + GGML_BLOCK,
        }
    }

    /// Bytes `count` elements take, when the format can hold them (whole
    /// blocks for GGML).
    pub fn stored_len(self, count: u64) -> Option<u64> {
        if self.is_blockwise() {
            let block = GGML_BLOCK as u64;
            count
                .is_multiple_of(block)
                .then(|| (count / block).checked_mul(self.block_bytes() as u64))?
        } else {
            Some(count.div_ceil(2))
        }
    }
}

/// Why packed data cannot be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UnpackError {
    #[error("{format} data of {count} elements takes {expected:?} bytes, but there are {found}")]
    Length {
        format: &'static str,
        count: u64,
        expected: Option<u64>,
        found: u64,
    },
}

/// A packed tensor's values, and for GGML its block scales (one per 32
/// values, in the values' order).
#[derive(Clone, Debug, PartialEq)]
pub struct Unpacked {
    pub values: Vec<i8>,
    pub scales: Vec<f32>,
}

/// Unpacks `count` elements of `packing` from `bytes`.
pub fn unpack(packing: Packing, bytes: &[u8], count: u64) -> Result<Unpacked, UnpackError> {
    let expected = packing.stored_len(count);
    if expected != Some(bytes.len() as u64) {
        return Err(UnpackError::Length {
            format: packing.name(),
            count,
            expected,
            found: bytes.len() as u64,
        });
    }
    let n = count as usize;
    let mut values = Vec::with_capacity(n);
    let mut scales = Vec::new();
    match packing {
        Packing::Int4 | Packing::Uint4 => {
            let signed = packing == Packing::Int4;
            for &b in bytes {
                values.push(nibble(b & 0x0f, signed));
                values.push(nibble(b >> 4, signed));
            }
            values.truncate(n);
        }
        Packing::GgmlQ4_0 | Packing::GgmlQ8_0 => {
            scales.reserve(n / GGML_BLOCK);
            for block in bytes.chunks_exact(packing.block_bytes()) {
                scales.push(f16::to_f32(u16::from_le_bytes([block[0], block[1]])));
                let q = &block[2..];
                if packing == Packing::GgmlQ8_0 {
                    values.extend(q.iter().map(|&b| b as i8));
                } else {
                    values.extend(q.iter().map(|&b| (b & 0x0f) as i8 - 8));
                    values.extend(q.iter().map(|&b| (b >> 4) as i8 - 8));
                }
            }
        }
    }
    Ok(Unpacked { values, scales })
}

fn nibble(n: u8, signed: bool) -> i8 {
    if signed && n >= 8 {
        n as i8 - 16
    } else {
        n as i8
    }
}

/// Values `first..first + n` of packed data, reading only the bytes that
/// hold them: `read(offset, buf)` fills `buf` from byte `offset` of the
/// data.
pub fn unpack_range(
    packing: Packing,
    first: usize,
    n: usize,
    read: impl FnOnce(u64, &mut [u8]) -> std::io::Result<()>,
) -> std::io::Result<Vec<i8>> {
    // Whole blocks (or whole bytes of nibbles) around the values.
    let unit = if packing.is_blockwise() {
        GGML_BLOCK
    } else {
        2
    };
    let (start, end) = (first / unit, (first + n).div_ceil(unit));
    let unit_bytes = if packing.is_blockwise() {
        packing.block_bytes()
    } else {
        1
    };
    let mut bytes = vec![0u8; (end - start) * unit_bytes];
    read((start * unit_bytes) as u64, &mut bytes)?;
    let count = ((end - start) * unit) as u64;
    let u = unpack(packing, &bytes, count).map_err(std::io::Error::other)?;
    let skip = first - start * unit;
    Ok(u.values[skip..skip + n].to_vec())
}

/// The real values of GGML data: each value times its block's scale.
pub fn dequantize_blocks(u: &Unpacked) -> Vec<f32> {
    u.values
        .chunks(GGML_BLOCK)
        .zip(&u.scales)
        .flat_map(|(q, &d)| q.iter().map(move |&v| f32::from(v) * d))
        .collect()
}

/// Packs `values` (C order) into `out`. For GGML, `scales` holds a scale
/// per block of 32 values (narrowed to float16 here) and `values.len()` is
/// a multiple of 32; for INT4 and UINT4 an odd count leaves the last high
/// nibble 0. A value outside the format's range is refused: it would wrap.
pub fn pack(
    packing: Packing,
    values: &[i8],
    scales: &[f32],
    out: &mut Vec<u8>,
) -> Result<(), OutOfRange> {
    let (lo, hi) = packing.range();
    if let Some(index) = crate::scan::first_outside_i8(values, lo, hi) {
        return Err(OutOfRange {
            index,
            value: values[index],
        });
    }
    match packing {
        Packing::Int4 | Packing::Uint4 => {
            out.extend(values.chunks(2).map(|p| {
                let high = p.get(1).map_or(0, |&v| (v as u8 & 0x0f) << 4);
                (p[0] as u8 & 0x0f) | high
            }));
        }
        Packing::GgmlQ4_0 | Packing::GgmlQ8_0 => {
            // Written in place, block by block, so that the loops vectorize.
            let block_bytes = packing.block_bytes();
            let blocks = (values.len() / GGML_BLOCK).min(scales.len());
            let start = out.len();
            out.resize(start + blocks * block_bytes, 0);
            let places = out[start..].chunks_exact_mut(block_bytes);
            for ((q, &d), block) in values.chunks_exact(GGML_BLOCK).zip(scales).zip(places) {
                let (scale, data) = block.split_at_mut(2);
                scale.copy_from_slice(&f16::from_f32(d).to_le_bytes());
                if packing == Packing::GgmlQ8_0 {
                    for (o, &v) in data.iter_mut().zip(q) {
                        *o = v as u8;
                    }
                } else {
                    let (low, high) = q.split_at(GGML_BLOCK / 2);
                    for ((o, &a), &b) in data.iter_mut().zip(low).zip(high) {
                        *o = (a as u8).wrapping_add(8) & 0x0f | (b as u8).wrapping_add(8) << 4;
                    }
                }
            }
        }
    }
    Ok(())
}

/// A value a format cannot hold, at its index among those packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    pub index: usize,
    pub value: i8,
}

/// Rounds a row of float inputs to Q8_0 blocks, as ggml does before a
/// product with GGML weights (and onert with it): per block of 32, the
/// scale d = max|x| / 127 kept as float16, each value rounded to
/// round(x · 127 / max|x|) (ties to even, as the vector instructions round)
/// and read back as that times d. A block of zeros stays zero. A row
/// whose length is not a multiple of 32 rounds its whole blocks only.
pub fn round_to_q8_0(row: &mut [f32]) {
    for block in row.chunks_exact_mut(GGML_BLOCK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = f16::round(amax / 127.0);
        let inverse = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        for v in block.iter_mut() {
            *v = (*v * inverse).round_ties_even() * d;
        }
    }
}

#[cfg(test)]
mod tests;
