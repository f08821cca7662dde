//! One entry of `qparam.json`, read field by field. Each field that cannot be
//! used is reported as a [`Problem`] and left out, so later rules see only
//! usable values and one run still finds every problem.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::json::{self, Json, Member, Span, Spanned};
use super::npy::{self, NpyError, NpyHeader};
use super::problem::{NpyProblem, Problem};
use super::{LoadOptions, QDType};
use crate::files::{open_regular, read_exact_at, read_exact_in, PathRange};

/// The fields an entry may have.
pub const FIELDS: [&str; 5] = ["dtype", "scale", "zerop", "quantized_dimension", "value"];

/// Scale and zero-point arrays longer than this are refused unread: no
/// tensor has that many channels, and reading them would only cost memory.
pub const MAX_PARAMS: usize = 1 << 24;

/// A usable field value and where it was written.
#[derive(Debug)]
pub struct Field<T> {
    pub value: T,
    pub span: Span,
}

/// An `.npy` file an entry names, with a valid header and exactly the data
/// it promises. Only the header has been read, and the file is closed
/// again: data is read when needed, and copied into a model by range.
#[derive(Clone, Debug)]
pub struct NpyFile {
    pub path: PathBuf,
    pub header: NpyHeader,
    /// The file's length when it was checked.
    pub file_len: u64,
    /// The whole file, when it exists only in memory
    /// ([`super::LoadOptions::in_memory`]).
    memory: Option<Arc<[u8]>>,
}

impl NpyFile {
    /// Opens `path`, reads and checks its header, and closes it.
    pub fn open(path: PathBuf) -> Result<NpyFile, NpyProblem> {
        let unreadable = |e: io::Error| NpyProblem::Unreadable(e.to_string());
        let input = open_regular(&path).map_err(unreadable)?;
        let mut start = vec![0u8; input.len.min(12) as usize];
        read_exact_at(&input.file, &mut start, 0).map_err(unreadable)?;
        let end = npy::header_end(&start, input.len).map_err(NpyProblem::Format)?;
        let mut prefix = vec![0u8; end];
        read_exact_at(&input.file, &mut prefix, 0).map_err(unreadable)?;
        let header = npy::parse_header_in(&prefix, input.len).map_err(NpyProblem::Format)?;
        Ok(NpyFile {
            path,
            header,
            file_len: input.len,
            memory: None,
        })
    }

    /// An npy file held in memory, named by the path it would have.
    pub fn in_memory(path: PathBuf, bytes: Arc<[u8]>) -> Result<NpyFile, NpyProblem> {
        let header = npy::parse_header(&bytes).map_err(NpyProblem::Format)?;
        Ok(NpyFile {
            path,
            header,
            file_len: bytes.len() as u64,
            memory: Some(bytes),
        })
    }

    /// The element bytes, as a range of the file.
    pub fn data_range(&self) -> PathRange {
        PathRange {
            path: self.path.clone(),
            offset: self.header.data_offset as u64,
            len: self.header.data_len().unwrap_or(0) as u64,
            file_len: self.file_len,
        }
    }

    /// The element bytes, read now.
    pub fn read_data(&self) -> io::Result<Vec<u8>> {
        match &self.memory {
            Some(bytes) => {
                let r = self.data_range();
                let mut out = vec![0; usize::try_from(r.len).map_err(io::Error::other)?];
                read_exact_in(bytes, &mut out, r.offset)?;
                Ok(out)
            }
            None => self.data_range().read(),
        }
    }

    /// Opens the file for reading elements by position.
    pub fn elements(&self) -> io::Result<Elements<'_>> {
        Ok(Elements {
            source: match &self.memory {
                Some(bytes) => ElementSource::Memory(bytes.clone()),
                None => ElementSource::File(self.data_range().open()?),
            },
            npy: self,
        })
    }

    /// Every element as a float (for small arrays).
    pub fn floats(&self) -> Result<Option<Vec<f64>>, NpyProblem> {
        let data = self
            .read_data()
            .map_err(|e| NpyProblem::Unreadable(e.to_string()))?;
        Ok(npy::floats(&self.header.dtype, &data))
    }

    /// Every element as an integer (for small arrays); `None` for floats.
    pub fn ints(&self) -> Result<Option<Vec<i64>>, NpyProblem> {
        let data = self
            .read_data()
            .map_err(|e| NpyProblem::Unreadable(e.to_string()))?;
        Ok(npy::ints(&self.header.dtype, &data))
    }
}

/// An open npy file, read element by element.
pub struct Elements<'a> {
    source: ElementSource,
    npy: &'a NpyFile,
}

enum ElementSource {
    File(File),
    Memory(Arc<[u8]>),
}

impl Elements<'_> {
    /// Reads `buf.len()` bytes of the file at `offset`, exactly.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        match &self.source {
            ElementSource::File(f) => read_exact_at(f, buf, offset),
            ElementSource::Memory(bytes) => read_exact_in(bytes, buf, offset),
        }
    }

    /// Element `index` (in C order) as a float.
    pub fn f64_at(&self, index: usize) -> io::Result<f64> {
        let size = self.npy.header.dtype.size().unwrap_or(1);
        let mut buf = [0u8; 8];
        let offset = self.npy.header.data_offset as u64 + (index * size) as u64;
        self.read_at(&mut buf[..size], offset)?;
        self.npy
            .header
            .dtype
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
        let dtype = &self.npy.header.dtype;
        let size = dtype.size().unwrap_or(1);
        scratch.resize(out.len() * size, 0);
        let offset = self.npy.header.data_offset as u64 + (first * size) as u64;
        self.read_at(scratch, offset)?;
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

#[derive(Debug)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    /// The whole entry object.
    pub span: Span,
    pub dtype: Option<Field<QDType>>,
    pub scale: Option<Field<NpyFile>>,
    pub zerop: Option<Field<NpyFile>>,
    pub quantized_dimension: Option<Field<u32>>,
    pub value: Option<Field<NpyFile>>,
    /// Whether a `value` field was written, usable or not.
    pub has_value_field: bool,
    /// Whether a `quantized_dimension` field was written, usable or not.
    pub has_axis_field: bool,
    /// The scale and zero-point arrays, read once with the entry: they are
    /// small, and nearly every rule needs them.
    scale_values: Option<Vec<f64>>,
    zero_point_values: Option<Vec<i64>>,
}

impl Entry {
    /// Scale values, if the scale field is usable.
    pub fn scales(&self) -> Option<&[f64]> {
        self.scale_values.as_deref()
    }

    /// Whether every scale survives being saved as float32: no value
    /// overflows to infinity or vanishes to zero.
    pub fn scales_fit_f32(&self) -> bool {
        self.scales().is_some_and(|s| {
            s.iter()
                .all(|&v| (v as f32).is_finite() && ((v as f32) != 0.0 || v == 0.0))
        })
    }

    /// Zero points, if the zerop field is usable and holds integers.
    pub fn zero_points(&self) -> Option<&[i64]> {
        self.zero_point_values.as_deref()
    }

    /// Whether every field the implant needs is usable.
    pub fn is_complete(&self) -> bool {
        self.dtype.is_some()
            && self.scale_values.is_some()
            && self.zero_point_values.is_some()
            && self.quantized_dimension.is_some()
            && (self.value.is_some() || !self.has_value_field)
    }
}

pub(super) fn read_entries(
    text: &str,
    dir: &Path,
    options: &LoadOptions,
    problems: &mut Vec<Problem>,
) -> Vec<Entry> {
    let root = match json::parse(text) {
        Ok(root) => root,
        Err(e) => {
            problems.push(Problem::Syntax {
                message: e.message,
                at: e.at,
            });
            return Vec::new();
        }
    };
    let Json::Object(members) = root.value else {
        problems.push(Problem::NotAnObject {
            found: root.value.kind(),
            span: root.span,
        });
        return Vec::new();
    };
    // The last definition of a key is the one used, as with any JSON reader.
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(members.len());
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        last.insert(&m.key.value, i);
        first.entry(&m.key.value).or_insert(i);
    }
    let mut entries = Vec::with_capacity(last.len());
    for (i, member) in members.iter().enumerate() {
        let key = member.key.value.as_str();
        let first_at = first[key];
        if first_at != i {
            problems.push(Problem::DuplicateKey {
                key: key.to_string(),
                span: member.key.span.clone(),
                first: members[first_at].key.span.clone(),
            });
        }
        let reader = EntryReader {
            key,
            dir,
            options,
            problems: &mut *problems,
        };
        let entry = reader.read(member);
        if last[key] == i {
            entries.extend(entry);
        }
    }
    entries
}

struct EntryReader<'a> {
    key: &'a str,
    dir: &'a Path,
    options: &'a LoadOptions,
    problems: &'a mut Vec<Problem>,
}

impl EntryReader<'_> {
    fn read(mut self, member: &Member) -> Option<Entry> {
        let key = self.key;
        let Json::Object(fields_in) = &member.value.value else {
            self.problems.push(Problem::EntryNotObject {
                key: key.to_string(),
                found: member.value.value.kind(),
                span: member.value.span.clone(),
            });
            return None;
        };
        let find = |name: &str| fields_in.iter().rev().find(|f| f.key.value == name);
        for f in fields_in {
            if !FIELDS.contains(&f.key.value.as_str()) {
                self.problems.push(Problem::UnknownField {
                    key: key.to_string(),
                    field: f.key.value.clone(),
                    span: f.key.span.clone(),
                });
            }
        }
        let required = |name: &'static str, problems: &mut Vec<Problem>| {
            let found = find(name);
            if found.is_none() {
                problems.push(Problem::MissingField {
                    key: key.to_string(),
                    field: name,
                    key_span: member.key.span.clone(),
                });
            }
            found
        };
        let dtype_field = required("dtype", self.problems);
        let scale_field = required("scale", self.problems);
        let zerop_field = required("zerop", self.problems);
        let axis_field = required("quantized_dimension", self.problems);
        let value_field = find("value");

        let dtype = dtype_field.and_then(|f| self.dtype(f));
        let scale = scale_field.and_then(|f| self.npy(f, "scale"));
        let zerop = zerop_field.and_then(|f| self.npy(f, "zerop"));
        let quantized_dimension = axis_field.and_then(|f| self.axis(f));
        let value = value_field.and_then(|f| self.npy(f, "value"));
        let scale_values = scale
            .as_ref()
            .and_then(|s| self.small_array(s, "scale", NpyFile::floats));
        let zero_point_values = zerop
            .as_ref()
            .and_then(|z| self.small_array(z, "zerop", NpyFile::ints));
        Some(Entry {
            key: key.to_string(),
            key_span: member.key.span.clone(),
            span: member.value.span.clone(),
            dtype,
            scale,
            zerop,
            quantized_dimension,
            value,
            has_value_field: value_field.is_some(),
            has_axis_field: axis_field.is_some(),
            scale_values,
            zero_point_values,
        })
    }

    fn wrong_type(&mut self, field: &'static str, value: &Spanned<Json>, want: &'static str) {
        self.problems.push(Problem::FieldType {
            key: self.key.to_string(),
            field,
            found: value.value.kind(),
            want,
            span: value.span.clone(),
        });
    }

    fn dtype(&mut self, f: &Member) -> Option<Field<QDType>> {
        let Json::String(text) = &f.value.value else {
            self.wrong_type("dtype", &f.value, "a string such as \"uint8\"");
            return None;
        };
        match QDType::parse(text) {
            Some(d) => Some(Field {
                value: d,
                span: f.value.span.clone(),
            }),
            None => {
                self.problems.push(Problem::UnknownDtype {
                    key: self.key.to_string(),
                    text: text.clone(),
                    span: f.value.span.clone(),
                });
                None
            }
        }
    }

    fn axis(&mut self, f: &Member) -> Option<Field<u32>> {
        let parsed = match &f.value.value {
            Json::Number(n) => n.parse::<u32>().ok(),
            _ => None,
        };
        match parsed {
            Some(v) => Some(Field {
                value: v,
                span: f.value.span.clone(),
            }),
            None => {
                self.wrong_type("quantized_dimension", &f.value, "a non-negative integer");
                None
            }
        }
    }

    fn npy(&mut self, f: &Member, field: &'static str) -> Option<Field<NpyFile>> {
        let span = f.value.span.clone();
        let Json::String(rel) = &f.value.value else {
            self.wrong_type(field, &f.value, "the path of an .npy file, as a string");
            return None;
        };
        let path = self.dir.join(rel);
        if !self.options.allow_outside_paths && !is_inside(self.dir, &path) {
            self.problems.push(Problem::PathOutside {
                key: self.key.to_string(),
                field,
                rel: rel.clone(),
                span,
            });
            return None;
        }
        let opened = match self.options.in_memory.as_ref().and_then(|m| m.get(&path)) {
            Some(bytes) => NpyFile::in_memory(path.clone(), bytes),
            None => NpyFile::open(path.clone()),
        };
        match opened {
            Ok(npy) => Some(Field { value: npy, span }),
            Err(problem) => {
                self.problems.push(Problem::Npy {
                    key: self.key.to_string(),
                    field,
                    path,
                    span,
                    problem,
                });
                None
            }
        }
    }

    /// Reads a scale or zero-point array, refusing absurd sizes unread.
    fn small_array<T>(
        &mut self,
        f: &Field<NpyFile>,
        field: &'static str,
        read: fn(&NpyFile) -> Result<Option<Vec<T>>, NpyProblem>,
    ) -> Option<Vec<T>> {
        let count = f.value.header.element_count().unwrap_or(usize::MAX);
        if count > MAX_PARAMS {
            self.problems.push(Problem::TooManyValues {
                key: self.key.to_string(),
                field,
                count,
                span: f.span.clone(),
            });
            return None;
        }
        if f.value.header.fortran_order && f.value.header.shape.len() > 1 {
            // Its element order is not C order; the rules report it.
            return None;
        }
        match read(&f.value) {
            Ok(values) => values,
            Err(problem) => {
                self.problems.push(Problem::Npy {
                    key: self.key.to_string(),
                    field,
                    path: f.value.path.clone(),
                    span: f.span.clone(),
                    problem,
                });
                None
            }
        }
    }
}

/// Whether `path` stays inside `dir` (after resolving links when it exists).
fn is_inside(dir: &Path, path: &Path) -> bool {
    let (Ok(dir_real), Ok(target)) = (dir.canonicalize(), path.canonicalize()) else {
        // A path that does not exist is reported as missing, unless it
        // plainly climbs out.
        return !path.strip_prefix(dir).map_or(true, |rest| {
            rest.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        });
    };
    target.starts_with(dir_real)
}

impl From<NpyError> for NpyProblem {
    fn from(e: NpyError) -> Self {
        NpyProblem::Format(e)
    }
}
