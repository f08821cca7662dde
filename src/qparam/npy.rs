//! The `.npy` format: the header parsed strictly (the magic, a version
//! numpy writes, and a Python dict literal with exactly the keys `descr`,
//! `fortran_order` and `shape`), element decoding, and writing.
//!
//! The header is parsed by us rather than by a library so that every
//! problem can be named precisely and sizes are checked before anything is
//! allocated.

use crate::packed::f16::to_f32 as f16_to_f32;
use std::fmt;

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
    /// The type numpy's descriptor (`<f4`, `|u1`) names.
    pub fn from_descr(descr: &str) -> NpyType {
        // `<` little-endian, `|` not applicable (1 byte), `=` native; this
        // reader decodes little-endian only.
        let mut chars = descr.chars();
        let order = chars.next();
        let code = chars.as_str();
        let one_byte = matches!(code, "i1" | "u1" | "b1");
        let readable = match order {
            Some('<') => true,
            // Byte order means nothing for one-byte types.
            Some('|' | '>') => one_byte,
            Some('=') => cfg!(target_endian = "little"),
            _ => false,
        };
        if !readable {
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

    /// The descriptor numpy writes for this type.
    pub fn descr(&self) -> &str {
        match self {
            NpyType::F16 => "<f2",
            NpyType::F32 => "<f4",
            NpyType::F64 => "<f8",
            NpyType::I8 => "|i1",
            NpyType::I16 => "<i2",
            NpyType::I32 => "<i4",
            NpyType::I64 => "<i8",
            NpyType::U8 => "|u1",
            NpyType::U16 => "<u2",
            NpyType::U32 => "<u4",
            NpyType::U64 => "<u8",
            NpyType::Bool => "|b1",
            NpyType::Other(d) => d,
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

    pub fn is_float(&self) -> bool {
        matches!(self, NpyType::F16 | NpyType::F32 | NpyType::F64)
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

    /// Decodes one little-endian element (`bytes` is exactly its size)
    /// as a float, `None` for types without a numeric layout.
    pub fn element_f64(&self, bytes: &[u8]) -> Option<f64> {
        let b = |n: usize| -> Option<[u8; 8]> {
            let mut out = [0u8; 8];
            out[..n].copy_from_slice(bytes.get(..n)?);
            Some(out)
        };
        Some(match self {
            NpyType::F16 => f64::from(f16_to_f32(u16::from_le_bytes([
                *bytes.first()?,
                *bytes.get(1)?,
            ]))),
            NpyType::F32 => f64::from(f32::from_le_bytes(b(4)?[..4].try_into().ok()?)),
            NpyType::F64 => f64::from_le_bytes(b(8)?),
            NpyType::Bool => f64::from(u8::from(*bytes.first()? != 0)),
            _ => self.element_i64(bytes)? as f64,
        })
    }

    /// Decodes one little-endian integer element (`None` for floats and
    /// for values beyond i64).
    pub fn element_i64(&self, bytes: &[u8]) -> Option<i64> {
        let le = |n: usize| -> Option<[u8; 8]> {
            let mut out = [0u8; 8];
            out[..n].copy_from_slice(bytes.get(..n)?);
            Some(out)
        };
        Some(match self {
            NpyType::I8 => i64::from(*bytes.first()? as i8),
            NpyType::U8 | NpyType::Bool => i64::from(*bytes.first()?),
            NpyType::I16 => i64::from(i16::from_le_bytes(le(2)?[..2].try_into().ok()?)),
            NpyType::U16 => i64::from(u16::from_le_bytes(le(2)?[..2].try_into().ok()?)),
            NpyType::I32 => i64::from(i32::from_le_bytes(le(4)?[..4].try_into().ok()?)),
            NpyType::U32 => i64::from(u32::from_le_bytes(le(4)?[..4].try_into().ok()?)),
            NpyType::I64 => i64::from_le_bytes(le(8)?),
            NpyType::U64 => i64::try_from(u64::from_le_bytes(le(8)?)).ok()?,
            _ => return None,
        })
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
    Truncated { expected: u64, found: u64 },
    /// The file holds more bytes than its header accounts for.
    Trailing { expected: u64, found: u64 },
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NpyError::NotNpy(why) => f.write_str(why),
            NpyError::Truncated { expected, found } => write!(
                f,
                "its header promises {expected} bytes of data, but the file holds {found}"
            ),
            NpyError::Trailing { expected, found } => write!(
                f,
                "its header promises {expected} bytes of data, but the file holds {found}: {} bytes follow the array",
                found - expected
            ),
        }
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Headers longer than this are refused (real ones are well under 1 KiB),
/// so a corrupt length never makes us allocate.
pub const MAX_HEADER: usize = 1 << 20;

/// numpy refuses more dimensions than this.
const MAX_DIMS: usize = 64;

/// Parses the header of a whole file held in `bytes`, checking that the
/// data it promises is exactly what follows.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, NpyError> {
    let end = header_end(&bytes[..bytes.len().min(12)], bytes.len() as u64)?;
    parse_header_in(&bytes[..end], bytes.len() as u64)
}

/// How many bytes from the start hold the preamble and the header, from
/// the first 12 bytes of a file of `file_len` bytes.
pub fn header_end(start: &[u8], file_len: u64) -> Result<usize, NpyError> {
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
    if end as u64 > file_len {
        return Err(not("the file ends inside the npy header"));
    }
    Ok(end)
}

/// Parses the header from `prefix`, the file's bytes up to the end of its
/// header; `file_len` is the whole file's length, which must be exactly
/// the header plus the data it promises.
pub fn parse_header_in(prefix: &[u8], file_len: u64) -> Result<NpyHeader, NpyError> {
    let not = |why: &str| NpyError::NotNpy(why.to_string());
    let header_end = header_end(&prefix[..prefix.len().min(12)], file_len)?;
    let header_start = if prefix[6] == 1 { 10 } else { 12 };
    let header = prefix
        .get(header_start..header_end)
        .ok_or_else(|| not("the file ends inside the npy header"))?;
    let header = std::str::from_utf8(header).map_err(|_| not("the npy header is not text"))?;
    let dict = HeaderDict::parse(header).map_err(|why| {
        NpyError::NotNpy(format!(
            "the npy header `{}` cannot be read: {why}",
            shorten(header.trim_end())
        ))
    })?;
    let parsed = NpyHeader {
        dtype: NpyType::from_descr(&dict.descr),
        fortran_order: dict.fortran_order,
        shape: dict.shape,
        data_offset: header_end,
    };
    if parsed.element_count().is_none() {
        return Err(not("the shape in the npy header overflows"));
    }
    if let Some(expected) = parsed.data_len() {
        let (expected, found) = (expected as u64, file_len - header_end as u64);
        if found < expected {
            return Err(NpyError::Truncated { expected, found });
        }
        if found > expected {
            return Err(NpyError::Trailing { expected, found });
        }
    } else if parsed.dtype.size().is_some() {
        return Err(not("the shape in the npy header overflows"));
    }
    Ok(parsed)
}

fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The header's Python dict literal.
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A token-level reader of the small Python literal grammar npy headers
/// use: a dict of string keys, with a string (or, for structured types, a
/// list), a boolean and a tuple of integers as values.
struct Literal<'a> {
    s: &'a [u8],
    i: usize,
}

impl Literal<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}`", char::from(c)))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.ws();
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err("expected a quoted string".into()),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote || c == b'\\')
            .ok_or("a string is not closed")?;
        if self.s[start + len] == b'\\' {
            return Err("escapes are not expected in an npy header".into());
        }
        self.i = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec()).map_err(|_| "not text".into())
    }

    fn word(&mut self) -> &str {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// Skips a nested list or tuple (a structured type's description).
    fn skip_nested(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            self.ws();
            match self.s.get(self.i) {
                Some(b'[' | b'(') => depth += 1,
                Some(b']' | b')') => {
                    depth = depth.checked_sub(1).ok_or("unbalanced brackets")?;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                Some(b'\'' | b'"') => {
                    self.string()?;
                    continue;
                }
                None => return Err("a list is not closed".into()),
                _ => {}
            }
            self.i += 1;
        }
    }
}

impl HeaderDict {
    fn parse(text: &str) -> Result<HeaderDict, String> {
        let mut p = Literal {
            s: text.as_bytes(),
            i: 0,
        };
        p.expect(b'{')?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            if p.eat(b'}') {
                break;
            }
            let key = p.string()?;
            p.expect(b':')?;
            match key.as_str() {
                "descr" => {
                    p.ws();
                    let value = if p.s.get(p.i) == Some(&b'[') {
                        p.skip_nested()?;
                        "structured".to_string()
                    } else {
                        p.string()?
                    };
                    if descr.replace(value).is_some() {
                        return Err("`descr` is given twice".into());
                    }
                }
                "fortran_order" => {
                    let value = match p.word() {
                        "True" => true,
                        "False" => false,
                        _ => return Err("`fortran_order` is not True or False".into()),
                    };
                    if fortran.replace(value).is_some() {
                        return Err("`fortran_order` is given twice".into());
                    }
                }
                "shape" => {
                    p.expect(b'(')?;
                    let mut dims = Vec::new();
                    loop {
                        if p.eat(b')') {
                            break;
                        }
                        let digits = p.word().trim_end_matches('L');
                        let dim = digits
                            .parse::<usize>()
                            .map_err(|_| format!("`{digits}` is not a dimension"))?;
                        dims.push(dim);
                        if dims.len() > MAX_DIMS {
                            return Err(format!("more than {MAX_DIMS} dimensions"));
                        }
                        if !p.eat(b',') {
                            p.expect(b')')?;
                            break;
                        }
                    }
                    if shape.replace(dims).is_some() {
                        return Err("`shape` is given twice".into());
                    }
                }
                other => return Err(format!("unexpected key `{other}`")),
            }
            if !p.eat(b',') {
                p.expect(b'}')?;
                break;
            }
        }
        p.ws();
        if p.i != p.s.len() {
            return Err("text follows the dict".into());
        }
        Ok(HeaderDict {
            descr: descr.ok_or("`descr` is missing")?,
            fortran_order: fortran.ok_or("`fortran_order` is missing")?,
            shape: shape.ok_or("`shape` is missing")?,
        })
    }
}

/// Decodes little-endian elements of `dtype` from `bytes` into `out` (as
/// many as `out` holds); false for types without a numeric layout. One
/// loop per type, so large arrays decode at memory speed.
pub fn decode_f64(dtype: &NpyType, bytes: &[u8], out: &mut [f64]) -> bool {
    fn each<const N: usize>(bytes: &[u8], out: &mut [f64], f: impl Fn([u8; N]) -> f64) {
        for (o, e) in out.iter_mut().zip(bytes.chunks_exact(N)) {
            *o = f(e.try_into().expect("N bytes"));
        }
    }
    match dtype {
        NpyType::U8 | NpyType::Bool => each::<1>(bytes, out, |b| f64::from(b[0])),
        NpyType::I8 => each::<1>(bytes, out, |b| f64::from(b[0] as i8)),
        NpyType::I16 => each::<2>(bytes, out, |b| f64::from(i16::from_le_bytes(b))),
        NpyType::U16 => each::<2>(bytes, out, |b| f64::from(u16::from_le_bytes(b))),
        NpyType::F16 => each::<2>(bytes, out, |b| f64::from(f16_to_f32(u16::from_le_bytes(b)))),
        NpyType::I32 => each::<4>(bytes, out, |b| f64::from(i32::from_le_bytes(b))),
        NpyType::U32 => each::<4>(bytes, out, |b| f64::from(u32::from_le_bytes(b))),
        NpyType::F32 => each::<4>(bytes, out, |b| f64::from(f32::from_le_bytes(b))),
        NpyType::I64 => each::<8>(bytes, out, |b| i64::from_le_bytes(b) as f64),
        NpyType::U64 => each::<8>(bytes, out, |b| u64::from_le_bytes(b) as f64),
        NpyType::F64 => each::<8>(bytes, out, f64::from_le_bytes),
        NpyType::Other(_) => return false,
    }
    true
}

/// Decodes `data` (the bytes a header promises) as floats; `None` for types
/// without a numeric layout.
pub fn floats(dtype: &NpyType, data: &[u8]) -> Option<Vec<f64>> {
    let size = dtype.size()?;
    data.chunks_exact(size)
        .map(|e| dtype.element_f64(e))
        .collect()
}

/// Decodes `data` as integers; `None` for floats, and for unsigned values
/// beyond i64.
pub fn ints(dtype: &NpyType, data: &[u8]) -> Option<Vec<i64>> {
    let size = dtype.size()?;
    data.chunks_exact(size)
        .map(|e| dtype.element_i64(e))
        .collect()
}

/// An npy file as numpy writes it (version 1, header padded to 64 bytes),
/// from a numpy type descriptor (`<f4`), the order flag, a shape and the
/// raw element bytes.
pub fn encode(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = header(descr, fortran, shape);
    out.extend_from_slice(data);
    out
}

/// The preamble and header of an npy file as numpy writes it, for data
/// written after it.
pub fn header(descr: &str, fortran: bool, shape: &[usize]) -> Vec<u8> {
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_numpy_headers() {
        let b = encode("<f4", false, &[2], &[0; 8]);
        let h = parse_header(&b).unwrap();
        assert_eq!(
            (h.dtype.clone(), h.shape.clone(), h.fortran_order),
            (NpyType::F32, vec![2], false)
        );
        let scalar = encode("<f8", false, &[], &1.5f64.to_le_bytes());
        let h = parse_header(&scalar).unwrap();
        assert!(h.shape.is_empty());
        assert_eq!(floats(&h.dtype, &scalar[h.data_offset..]), Some(vec![1.5]));
    }

    #[test]
    fn size_must_match_the_header_exactly() {
        let b = encode("<i8", false, &[1 << 40], &[0; 16]);
        assert!(matches!(parse_header(&b), Err(NpyError::Truncated { .. })));
        let mut b = encode("<f4", false, &[1], &[0; 4]);
        b.extend_from_slice(b"junk");
        assert_eq!(
            parse_header(&b),
            Err(NpyError::Trailing {
                expected: 4,
                found: 8
            })
        );
    }

    #[test]
    fn malformed_headers_are_not_npy() {
        assert!(matches!(parse_header(b"hello"), Err(NpyError::NotNpy(_))));
        assert!(matches!(
            parse_header(b"\x93NUMPY\x01\x00\xff\xff{"),
            Err(NpyError::NotNpy(_))
        ));
        for header in [
            "{'descr': '<f4', 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing",
            "{'xdescr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
        ] {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&[1, 0]);
            b.extend_from_slice(&(header.len() as u16).to_le_bytes());
            b.extend_from_slice(header.as_bytes());
            b.extend_from_slice(&[0; 4]);
            assert!(
                matches!(parse_header(&b), Err(NpyError::NotNpy(_))),
                "{header}"
            );
        }
    }

    proptest! {
        #[test]
        fn headers_round_trip(
            descr in prop::sample::select(vec!["<f4", "<f8", "|u1", "|i1", "<i4", "<i8", "<f2"]),
            fortran in any::<bool>(),
            shape in prop::collection::vec(0usize..5, 0..5),
        ) {
            let dtype = NpyType::from_descr(descr);
            let len = shape.iter().product::<usize>() * dtype.size().unwrap();
            let bytes = encode(descr, fortran, &shape, &vec![7; len]);
            let h = parse_header(&bytes).unwrap();
            prop_assert_eq!(h.dtype, dtype);
            prop_assert_eq!(h.fortran_order, fortran);
            prop_assert_eq!(h.shape, shape);
            prop_assert_eq!(h.data_offset % 64, 0);
        }

        #[test]
        fn any_bytes_parse_or_fail_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_header(&bytes);
        }
    }
}
