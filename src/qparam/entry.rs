//! One entry of `qparam.json`, read field by field. Each field that cannot be
//! used is reported as a [`Problem`] and left out, so later rules see only
//! usable values and one run still finds every problem. The text of a set
//! held in memory is read the same way, its references resolved to the
//! caller's values ([`super::memory`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::array::{NpyArray, SMALL_FILES_HELD};
use super::json::{self, Json, Member, Span, Spanned};
use super::memory::{self, MemoryValue, References};
use super::problem::{NpyProblem, Problem};
use super::{LoadOptions, QDType};

/// The fields an entry may have.
pub const FIELDS: [&str; 6] = [
    "dtype",
    "scale",
    "zerop",
    "quantized_dimension",
    "value",
    "block_size",
];

/// Scale and zero-point arrays longer than this are refused unread: no
/// tensor has that many channels, and reading them would only cost memory.
pub const MAX_PARAMS: usize = 1 << 24;

/// A usable field value and where it was written.
#[derive(Debug)]
pub struct Field<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    /// The whole entry object.
    pub span: Span,
    pub dtype: Option<Field<QDType>>,
    pub scale: Option<Field<NpyArray>>,
    pub zerop: Option<Field<NpyArray>>,
    pub quantized_dimension: Option<Field<u32>>,
    pub value: Option<Field<NpyArray>>,
    /// Values per block along the last axis, for block-wise parameters
    /// (a scale and zero point per block).
    pub block_size: Option<Field<u32>>,
    /// Whether a `block_size` field was written, usable or not.
    pub has_block_field: bool,
    /// Whether a `value` field was written, usable or not.
    pub has_value_field: bool,
    /// Whether a `quantized_dimension` field was written, usable or not.
    pub has_axis_field: bool,
    /// The scale and zero-point arrays, read once with the entry: they are
    /// small, and nearly every rule needs them.
    scale_values: Option<Vec<f64>>,
    /// Shared: the plan's parameters hold the same array (a block-wise
    /// entry's are as many as its weight has blocks).
    zero_point_values: Option<std::sync::Arc<[i64]>>,
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

    /// Zero points as shared, for parameters that keep them.
    pub fn zero_point_array(&self) -> Option<&std::sync::Arc<[i64]>> {
        self.zero_point_values.as_ref()
    }

    /// The arrays the entry names, with their field.
    pub fn arrays(&self) -> impl Iterator<Item = (&'static str, &Field<NpyArray>)> {
        [
            ("scale", &self.scale),
            ("zerop", &self.zerop),
            ("value", &self.value),
        ]
        .into_iter()
        .filter_map(|(name, f)| f.as_ref().map(|f| (name, f)))
    }

    /// Whether every field the implant needs is usable.
    pub fn is_complete(&self) -> bool {
        self.dtype.is_some()
            && self.scale_values.is_some()
            && self.zero_point_values.is_some()
            && self.quantized_dimension.is_some()
            && (self.value.is_some() || !self.has_value_field)
            && (self.block_size.is_some() || !self.has_block_field)
    }

    /// The block size, for block-wise parameters.
    pub fn blocks(&self) -> Option<usize> {
        self.block_size.as_ref().map(|b| b.value as usize)
    }
}

pub(super) fn read_entries(
    text: &str,
    dir: &Path,
    refs: Option<&References>,
    options: LoadOptions,
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
    // Resolved once: every value path is checked against it.
    let dir_real = dir.canonicalize().ok();
    let mut small_files = SMALL_FILES_HELD;
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
            dir_real: dir_real.as_deref(),
            refs,
            options: &options,
            small_files: &mut small_files,
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
    /// `dir` with its links resolved, when it exists.
    dir_real: Option<&'a Path>,
    /// What the references of a set in memory refer to.
    refs: Option<&'a References>,
    options: &'a LoadOptions,
    /// Bytes of small npy files the set may still hold.
    small_files: &'a mut u64,
    problems: &'a mut Vec<Problem>,
}

impl<'a> EntryReader<'a> {
    fn read(mut self, member: &Member) -> Option<Entry> {
        let key = self.key;
        let Json::Object(fields_in) = &member.value.value else {
            self.problems.push(Problem::EntryNotObject {
                key: key.to_string(),
                found: self.kind(&member.value).into_owned(),
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
        let block_field = find("block_size");

        let dtype = dtype_field.and_then(|f| self.dtype(f));
        let scale = scale_field.and_then(|f| self.npy(f, "scale"));
        let zerop = zerop_field.and_then(|f| self.npy(f, "zerop"));
        let quantized_dimension = axis_field.and_then(|f| self.axis(f));
        let value = value_field.and_then(|f| self.npy(f, "value"));
        let block_size = block_field.and_then(|f| self.block_size(f));
        let scale_values = scale
            .as_ref()
            .and_then(|s| self.small_array(s, "scale", NpyArray::floats));
        let zero_point_values = zerop
            .as_ref()
            .and_then(|z| self.small_array(z, "zerop", NpyArray::ints))
            .map(Into::into);
        Some(Entry {
            key: key.to_string(),
            key_span: member.key.span.clone(),
            span: member.value.span.clone(),
            dtype,
            scale,
            zerop,
            quantized_dimension,
            value,
            block_size,
            has_block_field: block_field.is_some(),
            has_value_field: value_field.is_some(),
            has_axis_field: axis_field.is_some(),
            scale_values,
            zero_point_values,
        })
    }

    /// The caller's value a reference of a set in memory stands for.
    fn referred(&self, value: &Spanned<Json>) -> Option<&'a MemoryValue> {
        match &value.value {
            Json::String(text) => self.refs?.resolve(text),
            _ => None,
        }
    }

    /// What kind of value this is, for messages: in the caller's words for
    /// a value of a set in memory, in JSON's otherwise.
    fn kind(&self, value: &Spanned<Json>) -> Cow<'static, str> {
        match self.referred(value) {
            Some(v) => Cow::Owned(v.kind().to_string()),
            None => Cow::Borrowed(value.value.kind()),
        }
    }

    fn wrong_type(&mut self, field: &'static str, value: &Spanned<Json>, want: &'static str) {
        self.problems.push(Problem::FieldType {
            key: self.key.to_string(),
            field,
            found: self.kind(value).into_owned(),
            want,
            span: value.span.clone(),
        });
    }

    fn dtype(&mut self, f: &Member) -> Option<Field<QDType>> {
        let text = match &f.value.value {
            Json::String(text) if self.referred(&f.value).is_none() => text,
            _ => {
                self.wrong_type("dtype", &f.value, "a string such as \"uint8\"");
                return None;
            }
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
        self.unsigned(f, "quantized_dimension", "a non-negative integer")
    }

    fn block_size(&mut self, f: &Member) -> Option<Field<u32>> {
        self.unsigned(f, "block_size", "a positive integer")
    }

    /// A field holding a 32-bit unsigned integer.
    fn unsigned(
        &mut self,
        f: &Member,
        field: &'static str,
        want: &'static str,
    ) -> Option<Field<u32>> {
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
                self.wrong_type(field, &f.value, want);
                None
            }
        }
    }

    fn npy(&mut self, f: &Member, field: &'static str) -> Option<Field<NpyArray>> {
        if let Some(value) = self.referred(&f.value) {
            return self.in_memory(value, f, field);
        }
        let span = f.value.span.clone();
        let Json::String(rel) = &f.value.value else {
            self.wrong_type(field, &f.value, "the path of an .npy file, as a string");
            return None;
        };
        let path = self.dir.join(rel);
        if !self.options.allow_outside_paths && !is_inside(self.dir, self.dir_real, &path) {
            self.problems.push(Problem::PathOutside {
                key: self.key.to_string(),
                field,
                rel: rel.clone(),
                span,
            });
            return None;
        }
        let opened = match self.options.in_memory.as_ref().and_then(|m| m.get(&path)) {
            Some(bytes) => NpyArray::from_npy_bytes(&path, bytes),
            None => NpyArray::open_within(path.clone(), self.small_files),
        };
        match opened {
            Ok(npy) => Some(Field { value: npy, span }),
            Err(problem) => {
                self.problems.push(Problem::Npy {
                    key: self.key.to_string(),
                    field,
                    origin: path.display().to_string(),
                    span,
                    problem,
                });
                None
            }
        }
    }

    /// An array field of a set in memory: the caller's array, with the
    /// checks of an npy header.
    fn in_memory(
        &mut self,
        value: &MemoryValue,
        f: &Member,
        field: &'static str,
    ) -> Option<Field<NpyArray>> {
        let MemoryValue::Array {
            descr,
            fortran_order,
            shape,
            bytes,
        } = value
        else {
            self.wrong_type(field, &f.value, "an array");
            return None;
        };
        let place = memory::place(self.key, field);
        let span = f.value.span.clone();
        match NpyArray::in_memory(descr, *fortran_order, shape.clone(), bytes.clone(), place) {
            Ok(array) => Some(Field { value: array, span }),
            Err(e) => {
                self.problems.push(Problem::Npy {
                    key: self.key.to_string(),
                    field,
                    origin: memory::place(self.key, field),
                    span,
                    problem: NpyProblem::Format(e),
                });
                None
            }
        }
    }

    /// Reads a scale or zero-point array, refusing absurd sizes unread.
    fn small_array<T>(
        &mut self,
        f: &Field<NpyArray>,
        field: &'static str,
        read: fn(&NpyArray) -> Result<Option<Vec<T>>, NpyProblem>,
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
                    origin: f.value.origin().into_owned(),
                    span: f.span.clone(),
                    problem,
                });
                None
            }
        }
    }
}

/// Whether `path` stays inside `dir` (after resolving links when it
/// exists: `dir_real`).
fn is_inside(dir: &Path, dir_real: Option<&Path>, path: &Path) -> bool {
    // A plain file name in `dir` that is not a link is inside: one lstat,
    // not a walk of every component (thousands of files per set).
    if dir_real.is_some() {
        let mut rest = path
            .strip_prefix(dir)
            .map(Path::components)
            .into_iter()
            .flatten();
        if let (Some(std::path::Component::Normal(_)), None) = (rest.next(), rest.next()) {
            if path
                .symlink_metadata()
                .is_ok_and(|m| !m.file_type().is_symlink())
            {
                return true;
            }
        }
    }
    let (Some(dir_real), Ok(target)) = (dir_real, path.canonicalize()) else {
        // A path that does not exist is reported as missing, unless it
        // plainly climbs out.
        return !path.strip_prefix(dir).map_or(true, |rest| {
            rest.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        });
    };
    target.starts_with(dir_real)
}
