//! The arrays an entry names, typed by their npy header: read from an
//! `.npy` file (only the header is read; the file is closed again, and data
//! is read when needed or copied into a model by range; a small file is
//! read whole at once, within a budget), or held in memory (a caller's
//! array, described by the header it would have on disk).
//! Either way the same typed checks apply: the header is valid, and the
//! data is exactly what it promises.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::npy::{self, NpyError, NpyHeader, NpyType};
use super::problem::NpyProblem;
use crate::files::{open_regular, read_exact_at, DataSource, PathRange, SharedBytes};

/// Bytes read per step when an array is scanned whole.
const SCAN_PIECE: usize = 1 << 20;

/// Files at most this long are read whole with their header: scales, zero
/// points and small layers' weights, of which an LLM's set names thousands,
/// are then opened once per check instead of once per read.
pub const SMALL_FILE: u64 = 64 * 1024;

/// Bytes of small files a set may hold in memory; past it, files are read
/// when needed as large ones are, so memory stays bounded whatever a set
/// names.
pub const SMALL_FILES_HELD: u64 = 64 << 20;

/// An array with a valid header and exactly the data it promises.
#[derive(Clone, Debug)]
pub struct NpyArray {
    pub header: NpyHeader,
    pub source: ArraySource,
}

/// Where an array is.
#[derive(Clone, Debug)]
pub enum ArraySource {
    /// An npy file; its data starts at the header's `data_offset`.
    File {
        path: PathBuf,
        /// The file's length when it was checked.
        file_len: u64,
        /// The element bytes, for a small file read whole when it was
        /// checked.
        held: Option<SharedBytes>,
    },
    /// Element bytes in memory (C order unless the header says Fortran),
    /// and where the caller gave them, for messages (`["conv1"]["scale"]`).
    Memory { bytes: SharedBytes, place: String },
}

impl NpyArray {
    /// Opens `path`, reads and checks its header, and closes it.
    pub fn open(path: PathBuf) -> Result<NpyArray, NpyProblem> {
        NpyArray::open_within(path, &mut 0)
    }

    /// As [`NpyArray::open`]; a file of at most [`SMALL_FILE`] bytes is
    /// read whole and its elements kept, while `budget` (bytes) lasts.
    pub fn open_within(path: PathBuf, budget: &mut u64) -> Result<NpyArray, NpyProblem> {
        let unreadable = |e: io::Error| NpyProblem::Unreadable(e.to_string());
        let input = open_regular(&path).map_err(unreadable)?;
        let whole = input.len <= SMALL_FILE.min(*budget);
        let first = if whole { input.len } else { input.len.min(12) };
        let mut start = vec![0u8; first as usize];
        read_exact_at(&input.file, &mut start, 0).map_err(unreadable)?;
        let end = npy::header_end(&start[..start.len().min(12)], input.len)
            .map_err(NpyProblem::Format)?;
        let header = if whole {
            npy::parse_header_in(&start[..end], input.len)
        } else {
            let mut prefix = vec![0u8; end];
            read_exact_at(&input.file, &mut prefix, 0).map_err(unreadable)?;
            npy::parse_header_in(&prefix, input.len)
        }
        .map_err(NpyProblem::Format)?;
        let held = whole.then(|| {
            *budget -= input.len;
            start.drain(..header.data_offset.min(start.len()));
            SharedBytes::from(start)
        });
        Ok(NpyArray {
            header,
            source: ArraySource::File {
                path,
                file_len: input.len,
                held,
            },
        })
    }

    /// A whole npy file held in memory under the path it would have (an
    /// array `check --fix --diff` would write): its header checked as a
    /// file's, its data in memory, named by that path in messages.
    pub fn from_npy_bytes(
        path: &Path,
        bytes: std::sync::Arc<[u8]>,
    ) -> Result<NpyArray, NpyProblem> {
        let header = npy::parse_header(&bytes).map_err(NpyProblem::Format)?;
        let data = bytes
            .get(header.data_offset..)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let descr = header.dtype.descr().to_string();
        NpyArray::in_memory(
            &descr,
            header.fortran_order,
            header.shape,
            data.into(),
            path.display().to_string(),
        )
        .map_err(NpyProblem::Format)
    }

    /// An array held in memory: `descr` is numpy's type descriptor (`<f4`),
    /// `bytes` the elements. The same checks as an npy file's header: a
    /// shape that overflows is refused, and so is data shorter or longer
    /// than the shape and type promise.
    pub fn in_memory(
        descr: &str,
        fortran_order: bool,
        shape: Vec<usize>,
        bytes: SharedBytes,
        place: String,
    ) -> Result<NpyArray, NpyError> {
        let header = NpyHeader {
            dtype: NpyType::from_descr(descr),
            fortran_order,
            shape,
            data_offset: 0,
        };
        if header.element_count().is_none() {
            return Err(NpyError::NotNpy("its shape overflows".into()));
        }
        if let Some(expected) = header.data_len() {
            let (expected, found) = (expected as u64, bytes.len() as u64);
            if found < expected {
                return Err(NpyError::Truncated { expected, found });
            }
            if found > expected {
                return Err(NpyError::Trailing { expected, found });
            }
        } else if header.dtype.size().is_some() {
            return Err(NpyError::NotNpy("its shape overflows".into()));
        }
        Ok(NpyArray {
            header,
            source: ArraySource::Memory { bytes, place },
        })
    }

    /// The npy file, for an array read from one.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            ArraySource::File { path, .. } => Some(path),
            ArraySource::Memory { .. } => None,
        }
    }

    /// Where the array is, for messages: the file's path, or the place in
    /// the caller's mapping.
    pub fn origin(&self) -> Cow<'_, str> {
        match &self.source {
            ArraySource::File { path, .. } => path.to_string_lossy(),
            ArraySource::Memory { place, .. } => Cow::Borrowed(place),
        }
    }

    /// The element bytes, wherever they are.
    pub fn data(&self) -> DataSource {
        match &self.source {
            ArraySource::File {
                held: Some(bytes), ..
            } => DataSource::Memory(bytes.clone()),
            ArraySource::File {
                path,
                file_len,
                held: None,
            } => DataSource::File(PathRange {
                path: path.clone(),
                offset: self.header.data_offset as u64,
                len: self.header.data_len().unwrap_or(0) as u64,
                file_len: *file_len,
            }),
            ArraySource::Memory { bytes, .. } => DataSource::Memory(bytes.clone()),
        }
    }

    /// The element bytes: read now from a file, borrowed from memory.
    pub fn read_data(&self) -> io::Result<Cow<'_, [u8]>> {
        match &self.source {
            ArraySource::File { held: None, .. } => {
                self.data().read().map(|b| Cow::Owned(b.into_owned()))
            }
            ArraySource::File {
                held: Some(bytes), ..
            }
            | ArraySource::Memory { bytes, .. } => Ok(Cow::Borrowed(bytes.as_slice())),
        }
    }

    /// Opens the array for reading elements by position.
    pub fn elements(&self) -> io::Result<Elements<'_>> {
        let at = match &self.source {
            ArraySource::File { held: None, .. } => match self.data() {
                DataSource::File(range) => At::File(range.open()?),
                DataSource::Memory(_) => unreachable!("a file not held is read by range"),
            },
            ArraySource::File {
                held: Some(bytes), ..
            }
            | ArraySource::Memory { bytes, .. } => At::Memory(bytes.as_slice()),
        };
        Ok(Elements { at, array: self })
    }

    /// Every element as a float (for small arrays).
    pub fn floats(&self) -> Result<Option<Vec<f64>>, NpyProblem> {
        let data = self
            .read_data()
            .map_err(|e| NpyProblem::Unreadable(e.to_string()))?;
        Ok(npy::floats(&self.header.dtype, &data))
    }

    /// The first element of a one-byte integer array (int8 or uint8)
    /// outside `lo..=hi`, with its index; read a piece at a time, so any
    /// size is scanned in little memory. `None` for other types.
    pub fn first_outside(&self, lo: i64, hi: i64) -> io::Result<Option<(usize, i64)>> {
        let signed = match self.header.dtype {
            NpyType::I8 => true,
            NpyType::U8 => false,
            _ => return Ok(None),
        };
        let count = self.header.element_count().unwrap_or(0);
        let elements = self.elements()?;
        let mut piece = vec![0u8; SCAN_PIECE.min(count)];
        let mut at = 0;
        while at < count {
            let n = SCAN_PIECE.min(count - at);
            elements.read(&mut piece[..n], at)?;
            if let Some((i, v)) = crate::scan::first_outside(&piece[..n], signed, lo, hi) {
                return Ok(Some((at + i, v)));
            }
            at += n;
        }
        Ok(None)
    }

    /// Every element as an integer (for small arrays); `None` for floats.
    pub fn ints(&self) -> Result<Option<Vec<i64>>, NpyProblem> {
        let data = self
            .read_data()
            .map_err(|e| NpyProblem::Unreadable(e.to_string()))?;
        Ok(npy::ints(&self.header.dtype, &data))
    }
}

enum At<'a> {
    File(File),
    Memory(&'a [u8]),
}

/// An array opened for reading element by element.
pub struct Elements<'a> {
    at: At<'a>,
    array: &'a NpyArray,
}

impl Elements<'_> {
    /// Reads `buf.len()` bytes from `offset` of the element data.
    fn read(&self, buf: &mut [u8], offset: usize) -> io::Result<()> {
        match &self.at {
            At::File(file) => read_exact_at(
                file,
                buf,
                self.array.header.data_offset as u64 + offset as u64,
            ),
            At::Memory(bytes) => {
                let from = bytes
                    .get(offset..)
                    .and_then(|b| b.get(..buf.len()))
                    .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
                buf.copy_from_slice(from);
                Ok(())
            }
        }
    }

    /// Element `index` (in C order) as a float.
    pub fn f64_at(&self, index: usize) -> io::Result<f64> {
        let dtype = &self.array.header.dtype;
        let size = dtype.size().unwrap_or(1);
        let mut buf = [0u8; 8];
        self.read(&mut buf[..size], index * size)?;
        dtype
            .element_f64(&buf[..size])
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not a numeric array"))
    }

    /// Elements `first..first + out.len()` as floats; `scratch` holds the
    /// raw bytes between calls.
    pub fn f64_range(
        &self,
        first: usize,
        out: &mut [f64],
        scratch: &mut Vec<u8>,
    ) -> io::Result<()> {
        let dtype = &self.array.header.dtype;
        let size = dtype.size().unwrap_or(1);
        scratch.resize(out.len() * size, 0);
        self.read(scratch, first * size)?;
        if npy::decode_f64(dtype, scratch, out) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a numeric array",
            ))
        }
    }
}

impl From<NpyError> for NpyProblem {
    fn from(e: NpyError) -> Self {
        NpyProblem::Format(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(descr: &str, shape: Vec<usize>, bytes: Vec<u8>) -> Result<NpyArray, NpyError> {
        NpyArray::in_memory(
            descr,
            false,
            shape,
            bytes.into(),
            "[\"k\"][\"scale\"]".into(),
        )
    }

    #[test]
    fn memory_arrays_have_the_checks_of_a_file_header() {
        let a = memory(
            "<f4",
            vec![2],
            [1.5f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
        .unwrap();
        assert_eq!(a.floats().unwrap(), Some(vec![1.5, 2.0]));
        assert_eq!(a.elements().unwrap().f64_at(1).unwrap(), 2.0);
        assert_eq!(a.path(), None);
        assert_eq!(a.origin(), "[\"k\"][\"scale\"]");
        assert_eq!(
            memory("<f4", vec![2], vec![0; 4]).unwrap_err(),
            NpyError::Truncated {
                expected: 8,
                found: 4
            }
        );
        assert_eq!(
            memory("<f4", vec![1], vec![0; 8]).unwrap_err(),
            NpyError::Trailing {
                expected: 4,
                found: 8
            }
        );
        assert!(matches!(
            memory("<f4", vec![usize::MAX, 2], vec![]),
            Err(NpyError::NotNpy(_))
        ));
        // Types without a numeric layout are kept as they are named; the
        // rules report them, as for a file.
        let o = memory("|O", vec![3], vec![]).unwrap();
        assert_eq!(o.header.dtype, NpyType::Other("|O".into()));
        assert_eq!(o.floats().unwrap(), None);
    }

    /// A small file is read whole while the budget lasts, and reads as the
    /// same file read by range; past the budget it is read by range.
    #[test]
    fn small_files_are_held_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = [1.5f32, -2.0, 3.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let path = dir.path().join("s.npy");
        let file = npy::encode("<f4", false, &[3], &data);
        std::fs::write(&path, &file).unwrap();
        let len = file.len() as u64;
        let mut budget = len + 1;
        let held = NpyArray::open_within(path.clone(), &mut budget).unwrap();
        assert_eq!(budget, 1, "the file's bytes are taken from the budget");
        assert!(matches!(held.data(), DataSource::Memory(_)));
        let by_range = NpyArray::open_within(path.clone(), &mut budget).unwrap();
        assert_eq!(budget, 1, "a file past the budget costs none of it");
        assert!(matches!(by_range.data(), DataSource::File(_)));
        assert_eq!(held.read_data().unwrap(), by_range.read_data().unwrap());
        assert_eq!(held.floats().unwrap(), Some(vec![1.5, -2.0, 3.25]));
        assert_eq!(held.path(), Some(path.as_path()));
        let (mut a, mut scratch) = (vec![0.0; 2], Vec::new());
        held.elements()
            .unwrap()
            .f64_range(1, &mut a, &mut scratch)
            .unwrap();
        assert_eq!(a, vec![-2.0, 3.25]);
        // A lying header is refused whether the file is held or not.
        std::fs::write(&path, npy::encode("<f4", false, &[4], &data)).unwrap();
        let mut plenty = u64::MAX;
        assert!(NpyArray::open_within(path.clone(), &mut plenty).is_err());
        assert!(NpyArray::open(path).is_err());
    }

    #[test]
    fn a_file_and_the_same_array_in_memory_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = [3i64, -4, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = dir.path().join("z.npy");
        std::fs::write(&path, npy::encode("<i8", false, &[3], &data)).unwrap();
        let file = NpyArray::open(path).unwrap();
        let mem = memory("<i8", vec![3], data).unwrap();
        assert_eq!(file.header.shape, mem.header.shape);
        assert_eq!(file.header.dtype, mem.header.dtype);
        assert_eq!(file.ints().unwrap(), mem.ints().unwrap());
        assert_eq!(file.read_data().unwrap(), mem.read_data().unwrap());
        let (mut a, mut b, mut scratch) = (vec![0.0; 2], vec![0.0; 2], Vec::new());
        file.elements()
            .unwrap()
            .f64_range(1, &mut a, &mut scratch)
            .unwrap();
        mem.elements()
            .unwrap()
            .f64_range(1, &mut b, &mut scratch)
            .unwrap();
        assert_eq!((a.clone(), a), (b, vec![-4.0, 5.0]));
        assert!(mem.elements().unwrap().f64_at(3).is_err());
    }
}
