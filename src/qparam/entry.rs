//! One entry of `qparam.json`, read field by field. Each field that cannot be
//! used is reported and left out, so later rules see only usable values and
//! one run still finds every problem.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::os::unix::fs::FileExt;

use super::json::{self, Json, Member, Span, Spanned};
use super::npy::{self, NpyError, NpyHeader, NpyType, Values};
use super::{LoadOptions, QDType};
use crate::analysis::diagnostic::Diagnostic;
use crate::analysis::rules::{fields, format, npy as npy_rules};
use crate::model::{FileRange, Payload};

/// A usable field value and where it was written.
#[derive(Debug)]
pub struct Field<T> {
    pub value: T,
    pub span: Span,
}

/// An `.npy` file an entry names, with a valid header. Only the header has
/// been read: data is read when a rule needs it, and copied into a model by
/// the kernel, so memory use does not grow with the arrays.
#[derive(Debug)]
pub struct NpyFile {
    pub path: PathBuf,
    file: File,
    len: u64,
    pub header: NpyHeader,
}

impl NpyFile {
    /// Opens `path` and reads its header.
    fn open(path: PathBuf) -> Result<NpyFile, OpenError> {
        let file = File::open(&path).map_err(OpenError::Io)?;
        let len = file.metadata().map_err(OpenError::Io)?.len();
        let mut start = vec![0u8; len.min(12) as usize];
        file.read_exact_at(&mut start, 0).map_err(OpenError::Io)?;
        let end = npy::header_end(&start, len as usize).map_err(OpenError::Npy)?;
        let mut prefix = vec![0u8; end];
        file.read_exact_at(&mut prefix, 0).map_err(OpenError::Io)?;
        let header = npy::parse_header_in(&prefix, len as usize).map_err(OpenError::Npy)?;
        Ok(NpyFile {
            path,
            file,
            len,
            header,
        })
    }

    /// The raw element bytes as a model payload: a range of the npy file.
    pub fn payload(&self) -> Payload<'_> {
        let len = self.header.data_len().unwrap_or(0) as u64;
        Payload::File(FileRange {
            file: &self.file,
            offset: self.header.data_offset as u64,
            len,
        })
    }

    /// The elements widened to f64 or i64, read from the file now.
    pub fn values(&self) -> Option<Values> {
        let mut bytes = vec![0u8; self.len as usize];
        self.file.read_exact_at(&mut bytes, 0).ok()?;
        npy::read_values(&bytes, &self.header)
    }

    pub fn floats(&self) -> Option<Vec<f64>> {
        match self.values()? {
            Values::Float(v) => Some(v),
            Values::Int(v) => Some(v.into_iter().map(|x| x as f64).collect()),
        }
    }

    pub fn ints(&self) -> Option<Vec<i64>> {
        match self.values()? {
            Values::Int(v) => Some(v),
            Values::Float(_) => None,
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

    /// Zero points, if the zerop field is usable and holds integers.
    pub fn zero_points(&self) -> Option<&[i64]> {
        self.zero_point_values.as_deref()
    }
}

pub(super) fn read_entries(
    text: &str,
    dir: &Path,
    options: LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Entry> {
    let root = match json::parse(text) {
        Ok(root) => root,
        Err(e) => {
            diags.push(
                Diagnostic::new(&format::JSON_SYNTAX, format!("qparam.json is not valid JSON: {}", e.message))
                    .at(json::char_span(text, e.at))
                    .help("fix the syntax here; a JSON linter or `python -m json.tool` shows the same place"),
            );
            return Vec::new();
        }
    };
    let Json::Object(members) = root.value else {
        diags.push(
            Diagnostic::new(
                &format::NOT_AN_OBJECT,
                format!(
                    "the top level is {}, not an object of tensor names",
                    root.value.kind()
                ),
            )
            .at(root.span)
            .help("write an object: {\"<tensor name>\": {\"dtype\": ..., \"scale\": ..., ...}}"),
        );
        return Vec::new();
    };
    let mut entries: Vec<Entry> = Vec::new();
    for (i, member) in members.iter().enumerate() {
        if let Some(first) = members[..i]
            .iter()
            .find(|m| m.key.value == member.key.value)
        {
            diags.push(
                Diagnostic::new(
                    &format::DUPLICATE_KEY,
                    format!(
                        "`{}` is defined twice; only this last entry would be used",
                        member.key.value
                    ),
                )
                .key(&member.key.value)
                .at(member.key.span.clone())
                .label(first.key.span.clone(), "first defined here")
                .help("keep one entry per tensor"),
            );
            entries.retain(|e| e.key != member.key.value);
        }
        if let Some(entry) = read_entry(member, dir, options, diags) {
            entries.push(entry);
        }
    }
    entries
}

fn read_entry(
    member: &Member,
    dir: &Path,
    options: LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Option<Entry> {
    let key = &member.key.value;
    let Json::Object(fields_in) = &member.value.value else {
        diags.push(
            Diagnostic::new(&format::ENTRY_NOT_OBJECT, format!("the entry of `{key}` is {}, not an object of fields", member.value.value.kind()))
                .key(key)
                .at(member.value.span.clone())
                .help("write {\"dtype\": \"uint8\", \"scale\": \"0.npy\", \"zerop\": \"1.npy\", \"quantized_dimension\": 0}"),
        );
        return None;
    };
    let find = |name: &str| fields_in.iter().rev().find(|f| f.key.value == name);
    for f in fields_in {
        if !fields::KNOWN.contains(&f.key.value.as_str()) {
            let mut d = Diagnostic::new(
                &fields::UNKNOWN_FIELD,
                format!("`{key}` has an unknown field `{}`", f.key.value),
            )
            .key(key)
            .at(f.key.span.clone());
            if let Some(near) = fields::nearest_field(&f.key.value) {
                d = d.help(format!("rename `{}` to `{near}`", f.key.value));
            } else {
                d = d.help(format!("the fields are {}", fields::KNOWN.join(", ")));
            }
            diags.push(d);
        }
    }
    // A required field: reported when absent, else handed on.
    let required = |name: &'static str, help: &str, diags: &mut Vec<Diagnostic>| {
        let found = find(name);
        if found.is_none() {
            diags.push(
                Diagnostic::new(&fields::MISSING_FIELD, format!("`{key}` has no `{name}`"))
                    .key(key)
                    .field(name)
                    .at(member.key.span.clone())
                    .help(help.to_string()),
            );
        }
        found
    };
    let ctx = FieldCtx { key, dir, options };

    let dtype = required(
        "dtype",
        "add \"dtype\": \"uint8\" (or int8, int16, int32, int64)",
        diags,
    )
    .and_then(|f| ctx.dtype(f, diags));
    let scale = required(
        "scale",
        "add \"scale\": \"<n>.npy\", a 1-D float32 array",
        diags,
    )
    .and_then(|f| ctx.npy(f, "scale", diags))
    .inspect(|s| ctx.check_scale(s, diags));
    let zerop = required(
        "zerop",
        "add \"zerop\": \"<n>.npy\", a 1-D int64 array",
        diags,
    )
    .and_then(|f| ctx.npy(f, "zerop", diags))
    .inspect(|z| ctx.check_zerop(z, diags));
    let axis_field = required(
        "quantized_dimension",
        "add \"quantized_dimension\": 0 (per-tensor parameters use 0; per-channel ones the channel axis)",
        diags,
    );
    let quantized_dimension = axis_field.and_then(|f| ctx.axis(f, diags));
    let value_field = find("value");
    let value = value_field
        .and_then(|f| ctx.npy(f, "value", diags))
        .inspect(|v| ctx.check_order(v, "value", diags));
    let scale_values = scale.as_ref().and_then(|s| s.value.floats());
    let zero_point_values = zerop.as_ref().and_then(|z| z.value.ints());
    Some(Entry {
        key: key.clone(),
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

struct FieldCtx<'a> {
    key: &'a str,
    dir: &'a Path,
    options: LoadOptions,
}

impl FieldCtx<'_> {
    fn diag(
        &self,
        rule: &'static crate::analysis::rules::Rule,
        field: &'static str,
        span: Span,
        message: String,
    ) -> Diagnostic {
        Diagnostic::new(rule, message)
            .key(self.key)
            .field(field)
            .at(span)
    }

    fn wrong_type(
        &self,
        field: &'static str,
        value: &Spanned<Json>,
        want: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        diags.push(
            self.diag(
                &fields::FIELD_TYPE,
                field,
                value.span.clone(),
                format!(
                    "`{}`.{field} is {}, expected {want}",
                    self.key,
                    value.value.kind()
                ),
            )
            .help(format!("write `{field}` as {want}")),
        );
    }

    fn dtype(&self, f: &Member, diags: &mut Vec<Diagnostic>) -> Option<Field<QDType>> {
        let Json::String(text) = &f.value.value else {
            self.wrong_type("dtype", &f.value, "a string such as \"uint8\"", diags);
            return None;
        };
        match QDType::parse(text) {
            Some(d) => Some(Field {
                value: d,
                span: f.value.span.clone(),
            }),
            None => {
                let near = QDType::ALL
                    .iter()
                    .map(|d| {
                        (
                            d.name(),
                            strsim::jaro_winkler(&text.to_ascii_lowercase(), d.name()),
                        )
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .filter(|(_, s)| *s > 0.8)
                    .map(|(n, _)| n);
                let help = if text.to_ascii_lowercase().starts_with("float") {
                    "a float tensor needs no entry: remove it, or give the quantized type it should become".to_string()
                } else if let Some(near) = near {
                    format!("did you mean \"{near}\"?")
                } else {
                    "use uint8, int8, int16, int32 or int64".to_string()
                };
                diags.push(
                    self.diag(
                        &fields::UNKNOWN_DTYPE,
                        "dtype",
                        f.value.span.clone(),
                        format!(
                            "`{}` has dtype \"{text}\", which is not a quantized type",
                            self.key
                        ),
                    )
                    .help(help),
                );
                None
            }
        }
    }

    fn axis(&self, f: &Member, diags: &mut Vec<Diagnostic>) -> Option<Field<u32>> {
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
                self.wrong_type(
                    "quantized_dimension",
                    &f.value,
                    "a non-negative integer",
                    diags,
                );
                None
            }
        }
    }

    fn npy(
        &self,
        f: &Member,
        field: &'static str,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Field<NpyFile>> {
        let span = f.value.span.clone();
        let Json::String(rel) = &f.value.value else {
            self.wrong_type(
                field,
                &f.value,
                "the path of an .npy file, as a string",
                diags,
            );
            return None;
        };
        let path = self.dir.join(rel);
        let shown = path.display().to_string();
        if !self.options.allow_outside_paths && !self.is_inside(&path) {
            diags.push(
                self.diag(&npy_rules::NPY_OUTSIDE, field, span, format!("`{}`.{field} points outside the qparam directory: \"{rel}\"", self.key))
                    .help("keep npy files beside qparam.json, or pass --allow-outside-paths if this file is trusted"),
            );
            return None;
        }
        match NpyFile::open(path) {
            Ok(npy) => Some(Field { value: npy, span }),
            Err(OpenError::Io(e)) => {
                diags.push(
                    self.diag(
                        &npy_rules::NPY_MISSING,
                        field,
                        span,
                        format!("`{}`.{field}: cannot read `{shown}`: {e}", self.key),
                    )
                    .help("paths are relative to the directory of qparam.json"),
                );
                None
            }
            Err(OpenError::Npy(NpyError::Truncated { expected, found })) => {
                diags.push(
                    self.diag(&npy_rules::NPY_TRUNCATED, field, span, format!("`{}`.{field}: `{shown}` is cut short: its header promises {expected} bytes of data, the file holds {found}", self.key))
                        .help("export the array again"),
                );
                None
            }
            Err(OpenError::Npy(NpyError::NotNpy(why))) => {
                diags.push(
                    self.diag(
                        &npy_rules::NOT_NPY,
                        field,
                        span,
                        format!(
                            "`{}`.{field}: `{shown}` is not an npy file: {why}",
                            self.key
                        ),
                    )
                    .help("save arrays with numpy: np.save(path, array)"),
                );
                None
            }
        }
    }

    fn is_inside(&self, path: &Path) -> bool {
        let (Ok(dir), Ok(target)) = (self.dir.canonicalize(), path.canonicalize()) else {
            // A path that does not exist is reported as missing, unless it
            // plainly climbs out.
            return !path.strip_prefix(self.dir).map_or(true, |rest| {
                rest.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            });
        };
        target.starts_with(dir)
    }

    fn check_order(&self, f: &Field<NpyFile>, field: &'static str, diags: &mut Vec<Diagnostic>) {
        if f.value.header.fortran_order {
            diags.push(
                self.diag(
                    &npy_rules::FORTRAN_ORDER,
                    field,
                    f.span.clone(),
                    format!(
                        "`{}`.{field}: `{}` is stored in Fortran order",
                        self.key,
                        f.value.path.display()
                    ),
                )
                .help("save it with np.save(path, np.ascontiguousarray(array))"),
            );
        }
    }

    fn check_rank(
        &self,
        f: &Field<NpyFile>,
        field: &'static str,
        help: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        let shape = &f.value.header.shape;
        if shape.is_empty() {
            diags.push(
                self.diag(
                    &npy_rules::ZERO_DIM,
                    field,
                    f.span.clone(),
                    format!(
                        "`{}`.{field} is a 0-d array (shape ()), expected 1-D",
                        self.key
                    ),
                )
                .help(help.to_string()),
            );
        } else if shape.len() > 1 {
            diags.push(
                self.diag(
                    &npy_rules::NOT_1D,
                    field,
                    f.span.clone(),
                    format!("`{}`.{field} has shape {shape:?}, expected 1-D", self.key),
                )
                .help(help.to_string()),
            );
        }
    }

    fn check_scale(&self, f: &Field<NpyFile>, diags: &mut Vec<Diagnostic>) {
        self.check_order(f, "scale", diags);
        self.check_rank(
            f,
            "scale",
            "save it as np.array([s], dtype=np.float32) (one value per channel)",
            diags,
        );
        let dtype = &f.value.header.dtype;
        if *dtype != NpyType::F32 {
            let why = if *dtype == NpyType::F64 {
                " (float64 is what np.array(python_float) gives)"
            } else {
                ""
            };
            diags.push(
                self.diag(
                    &npy_rules::SCALE_DTYPE,
                    "scale",
                    f.span.clone(),
                    format!("`{}`.scale is {dtype}, expected float32{why}", self.key),
                )
                .help("save it as np.array([s], dtype=np.float32)"),
            );
        }
    }

    fn check_zerop(&self, f: &Field<NpyFile>, diags: &mut Vec<Diagnostic>) {
        self.check_order(f, "zerop", diags);
        self.check_rank(
            f,
            "zerop",
            "save it as np.array([z], dtype=np.int64) (one value per channel)",
            diags,
        );
        let dtype = &f.value.header.dtype;
        if *dtype != NpyType::I64 {
            diags.push(
                self.diag(
                    &npy_rules::ZEROP_DTYPE,
                    "zerop",
                    f.span.clone(),
                    format!("`{}`.zerop is {dtype}, expected int64", self.key),
                )
                .help("save it with .astype(np.int64)"),
            );
        }
    }
}

enum OpenError {
    Io(std::io::Error),
    Npy(NpyError),
}
