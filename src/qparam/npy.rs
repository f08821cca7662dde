//! `.npy` files: the header parsed by us (so every problem can be named
//! precisely, and sizes checked before anything is allocated), the data read
//! through ndarray-npy.

use std::fmt;

use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;

/// Element types an exporter writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NpyType {
    F16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    /// Anything else (strings, objects, big-endian, complex, ...), as written.
    Other(String),
}

impl NpyType {
    fn from_descr(descr: &str) -> NpyType {
        // `<` little-endian, `|` not applicable (1 byte), `=` native (little here).
        let mut chars = descr.chars();
        let order = chars.next();
        let code = chars.as_str();
        if !matches!(order, Some('<' | '|' | '=')) {
            return NpyType::Other(descr.to_string());
        }
        match code {
            "f2" => NpyType::F16,
            "f4" => NpyType::F32,
            "f8" => NpyType::F64,
            "i1" => NpyType::I8,
            "i2" => NpyType::I16,
            "i4" => NpyType::I32,
            "i8" => NpyType::I64,
            "u1" => NpyType::U8,
            "u2" => NpyType::U16,
            "u4" => NpyType::U32,
            "u8" => NpyType::U64,
            "b1" => NpyType::Bool,
            _ => NpyType::Other(descr.to_string()),
        }
    }

    pub fn size(&self) -> Option<usize> {
        Some(match self {
            NpyType::I8 | NpyType::U8 | NpyType::Bool => 1,
            NpyType::F16 | NpyType::I16 | NpyType::U16 => 2,
            NpyType::F32 | NpyType::I32 | NpyType::U32 => 4,
            NpyType::F64 | NpyType::I64 | NpyType::U64 => 8,
            NpyType::Other(_) => return None,
        })
    }

    /// numpy's name for the type.
    pub fn name(&self) -> &str {
        match self {
            NpyType::F16 => "float16",
            NpyType::F32 => "float32",
            NpyType::F64 => "float64",
            NpyType::I8 => "int8",
            NpyType::I16 => "int16",
            NpyType::I32 => "int32",
            NpyType::I64 => "int64",
            NpyType::U8 => "uint8",
            NpyType::U16 => "uint16",
            NpyType::U32 => "uint32",
            NpyType::U64 => "uint64",
            NpyType::Bool => "bool",
            NpyType::Other(d) => d,
        }
    }
}

impl fmt::Display for NpyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an `.npy` header says.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyHeader {
    pub dtype: NpyType,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Where the data starts.
    pub data_offset: usize,
}

impl NpyHeader {
    pub fn element_count(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// Bytes the header promises, if it can be computed.
    pub fn data_len(&self) -> Option<usize> {
        self.element_count()?.checked_mul(self.dtype.size()?)
    }
}

/// Why bytes are not a usable `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyError {
    /// Not an npy file at all (no magic, unreadable header).
    NotNpy(String),
    /// The header promises more data than the file holds.
    Truncated { expected: usize, found: usize },
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NpyError::NotNpy(why) => f.write_str(why),
            NpyError::Truncated { expected, found } => {
                write!(
                    f,
                    "its header promises {expected} bytes of data, but the file holds {found}"
                )
            }
        }
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses the header and checks that the data it promises is all there.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, NpyError> {
    parse_header_in(bytes, bytes.len())
}

/// Headers longer than this are refused (real ones are well under 1 KiB),
/// so a corrupt length never makes us allocate.
pub const MAX_HEADER: usize = 1 << 20;

/// How many bytes from the start hold the preamble and the header, from
/// the first 12 bytes of a file of `file_len` bytes.
pub fn header_end(start: &[u8], file_len: usize) -> Result<usize, NpyError> {
    let not = |why: &str| NpyError::NotNpy(why.to_string());
    if !start.starts_with(MAGIC) {
        return Err(not(
            "it does not start with the `\\x93NUMPY` magic of an .npy file",
        ));
    }
    let (len_bytes, header_start) = match start.get(6) {
        Some(1) => (2, 10),
        Some(2 | 3) => (4, 12),
        Some(v) => {
            return Err(NpyError::NotNpy(format!(
                "npy format version {v} is unknown (1, 2 and 3 exist)"
            )))
        }
        None => return Err(not("the file ends inside the npy preamble")),
    };
    let raw = start
        .get(8..8 + len_bytes)
        .ok_or_else(|| not("the file ends inside the npy preamble"))?;
    let header_len = raw
        .iter()
        .rev()
        .fold(0usize, |n, &b| (n << 8) | usize::from(b));
    if header_len > MAX_HEADER {
        return Err(NpyError::NotNpy(format!(
            "its header claims {header_len} bytes, more than any npy header needs"
        )));
    }
    let end = header_start + header_len;
    if end > file_len {
        return Err(not("the file ends inside the npy header"));
    }
    Ok(end)
}

/// Parses the header from `bytes`, the file's start up to at least the end
/// of its header; `file_len` is the whole file's length.
pub fn parse_header_in(bytes: &[u8], file_len: usize) -> Result<NpyHeader, NpyError> {
    let not = |why: &str| NpyError::NotNpy(why.to_string());
    let header_end = header_end(&bytes[..bytes.len().min(12)], file_len)?;
    let header_start = if bytes[6] == 1 { 10 } else { 12 };
    let header = bytes
        .get(header_start..header_end)
        .ok_or_else(|| not("the file ends inside the npy header"))?;
    let header = std::str::from_utf8(header).map_err(|_| not("the npy header is not text"))?;
    let dict = HeaderDict::parse(header).ok_or_else(|| {
        NpyError::NotNpy(format!(
            "the npy header `{}` cannot be read",
            header.trim_end()
        ))
    })?;
    let parsed = NpyHeader {
        dtype: NpyType::from_descr(&dict.descr),
        fortran_order: dict.fortran_order,
        shape: dict.shape,
        data_offset: header_end,
    };
    if let Some(expected) = parsed.data_len() {
        let found = file_len - header_end;
        if found < expected {
            return Err(NpyError::Truncated { expected, found });
        }
    } else if parsed.dtype.size().is_some() {
        return Err(not("the shape in the npy header overflows"));
    }
    Ok(parsed)
}

/// The three keys of the header's Python dict literal.
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl HeaderDict {
    fn parse(text: &str) -> Option<HeaderDict> {
        let body = text
            .trim()
            .strip_prefix('{')?
            .trim_end()
            .strip_suffix('}')?;
        let value_of = |key: &str| -> Option<&str> {
            let at = body.find(&format!("'{key}'"))? + key.len() + 2;
            let rest = body[at..].trim_start().strip_prefix(':')?.trim_start();
            Some(rest)
        };
        let descr = value_of("descr")?;
        let descr = descr.strip_prefix('\'')?;
        let descr = &descr[..descr.find('\'')?];
        let fortran = value_of("fortran_order")?;
        let fortran_order = if fortran.starts_with("True") {
            true
        } else if fortran.starts_with("False") {
            false
        } else {
            return None;
        };
        let shape = value_of("shape")?.strip_prefix('(')?;
        let shape = &shape[..shape.find(')')?];
        let shape = shape
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches('L').parse().ok())
            .collect::<Option<Vec<usize>>>()?;
        Some(HeaderDict {
            descr: descr.to_string(),
            fortran_order,
            shape,
        })
    }
}

/// Data read as 64-bit values, whatever the stored integer or float type.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    Float(Vec<f64>),
    Int(Vec<i64>),
}

/// Reads the data of a valid npy (header checked by [`parse_header`]) widened
/// to f64 or i64. `None` for types without a fixed-size numeric layout.
pub fn read_values(bytes: &[u8], header: &NpyHeader) -> Option<Values> {
    fn ints<T: ndarray_npy::ReadableElement + Copy + Into<i128>>(b: &[u8]) -> Option<Values> {
        let a = ArrayD::<T>::read_npy(b).ok()?;
        Some(Values::Int(
            a.iter()
                .map(|&v| i64::try_from(v.into()).unwrap_or(i64::MAX))
                .collect(),
        ))
    }
    if header.fortran_order {
        // Fortran order is its own finding; its values would be misread.
        return None;
    }
    match header.dtype {
        NpyType::F32 => Some(Values::Float(
            ArrayD::<f32>::read_npy(bytes)
                .ok()?
                .iter()
                .map(|&v| f64::from(v))
                .collect(),
        )),
        NpyType::F64 => Some(Values::Float(
            ArrayD::<f64>::read_npy(bytes)
                .ok()?
                .iter()
                .copied()
                .collect(),
        )),
        NpyType::I8 => ints::<i8>(bytes),
        NpyType::I16 => ints::<i16>(bytes),
        NpyType::I32 => ints::<i32>(bytes),
        NpyType::I64 => ints::<i64>(bytes),
        NpyType::U8 => ints::<u8>(bytes),
        NpyType::U16 => ints::<u16>(bytes),
        NpyType::U32 => ints::<u32>(bytes),
        NpyType::U64 => ints::<u64>(bytes),
        _ => None,
    }
}

/// An npy file as numpy writes it (version 1, header padded to 64 bytes),
/// from a numpy type descriptor (`<f4`), the order flag, a shape and the
/// raw element bytes.
pub fn encode(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_text = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fortran = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numpy_headers() {
        let b = encode("<f4", false, &[2], &[0; 8]);
        let h = parse_header(&b).unwrap();
        assert_eq!(
            (h.dtype.clone(), h.shape.clone(), h.fortran_order),
            (NpyType::F32, vec![2], false)
        );
        assert_eq!(read_values(&b, &h), Some(Values::Float(vec![0.0, 0.0])));
        let scalar = encode("<f8", false, &[], &1.5f64.to_le_bytes());
        let h = parse_header(&scalar).unwrap();
        assert!(h.shape.is_empty());
        assert_eq!(read_values(&scalar, &h), Some(Values::Float(vec![1.5])));
    }

    #[test]
    fn a_header_promising_too_much_is_caught_before_reading() {
        let b = encode("<i8", false, &[1 << 40], &[0; 16]);
        assert!(matches!(parse_header(&b), Err(NpyError::Truncated { .. })));
    }

    #[test]
    fn garbage_is_not_npy() {
        assert!(matches!(parse_header(b"hello"), Err(NpyError::NotNpy(_))));
        assert!(matches!(
            parse_header(b"\x93NUMPY\x01\x00\xff\xff{"),
            Err(NpyError::NotNpy(_))
        ));
    }
}
