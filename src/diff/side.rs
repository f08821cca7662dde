//! One side of a comparison: a qparam set (its `qparam.json` and npy
//! files) or a circle model (its parameters as `extract` reads them, held
//! in memory, its data left in the file). What a path is, is decided by
//! what it is: a directory holding `qparam.json` or a `.json` file is a
//! set, a file with the circle identifier is a model.

use std::path::{Path, PathBuf};

use crate::analysis::rules;
use crate::extract::{self, ExtractError};
use crate::files::{open_regular, read_exact_at};
use crate::graph::Graph;
use crate::model::{CircleFile, ModelError, PayloadRef};
use crate::packed::{self, Packing};
use crate::qparam::npy::{self, NpyType};
use crate::qparam::{
    self, Entry, LoadOptions, MemorySet, NpyArray, Problem, QDType, QParamFile, QParamReadError,
};

/// What a side is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SideKind {
    Set,
    Model,
}

/// A side, read.
pub struct Side {
    /// The path given.
    pub path: PathBuf,
    pub kind: SideKind,
    /// One per key, in the side's order.
    pub entries: Vec<SideEntry>,
    model: Option<CircleFile>,
}

/// One key's parameters.
#[derive(Clone, Debug)]
pub struct SideEntry {
    pub key: String,
    pub dtype: QDType,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// `None` when a set leaves the field out.
    pub quantized_dimension: Option<u32>,
    pub value: Option<Values>,
}

/// A key's data: its shape and element type, and where it is.
#[derive(Clone, Debug)]
pub struct Values {
    pub shape: Vec<usize>,
    pub dtype: NpyType,
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    /// A model's data, and how it is packed, if it is.
    Model(PayloadRef, Option<Packing>),
    Npy(NpyArray),
}

/// Why a side cannot be compared.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SideError {
    #[error("cannot read `{path}`")]
    #[diagnostic(code(diff::io))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is neither a qparam set nor a circle model: {why}")]
    #[diagnostic(
        code(diff::side),
        help("give a qparam.json (or the directory holding it), or a .circle model")
    )]
    Neither { path: PathBuf, why: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    QParam(#[from] QParamReadError),
    #[error("`{path}`: {message}")]
    #[diagnostic(
        code(diff::set),
        help("{}", help.as_deref().unwrap_or("`q-implant check MODEL QPARAM` lists every problem of the set"))
    )]
    Set {
        path: PathBuf,
        message: String,
        help: Option<String>,
    },
}

impl Side {
    /// Reads the side at `path`.
    pub fn open(path: &Path, load: LoadOptions) -> Result<Side, SideError> {
        let read_err = |source| SideError::Read {
            path: path.to_path_buf(),
            source,
        };
        let neither = |why: &str| SideError::Neither {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.is_dir() {
            let json = path.join("qparam.json");
            if !json.is_file() {
                return Err(neither("it is a directory without a qparam.json"));
            }
            return Side::set(path, &json, load);
        }
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            return Side::set(path, path, load);
        }
        let input = open_regular(path).map_err(read_err)?;
        let mut head = [0u8; 8];
        let n = input.len.min(8) as usize;
        read_exact_at(&input.file, &mut head[..n], 0).map_err(read_err)?;
        match head.get(4..8) {
            Some(b"CIR0") => Side::model(path),
            Some(b"TFL3") => Err(neither(
                "it is a TensorFlow Lite model; convert it to circle first (tflite2circle)",
            )),
            _ => Err(neither(
                "its name does not end in .json and it has no circle identifier (`CIR0`)",
            )),
        }
    }

    fn model(path: &Path) -> Result<Side, SideError> {
        let file = CircleFile::open(path)?;
        let extracted = extract::read(&Graph::new(&file))?;
        let entries = extracted
            .entries
            .into_iter()
            .map(|p| SideEntry {
                value: p.value.map(|v| Values {
                    shape: v.shape,
                    dtype: p.dtype.npy_type(),
                    source: Source::Model(v.data, v.packing),
                }),
                key: p.key,
                dtype: p.dtype,
                scale: p.scale,
                zero_point: p.zero_point,
                quantized_dimension: Some(p.quantized_dimension),
            })
            .collect();
        Ok(Side {
            path: path.to_path_buf(),
            kind: SideKind::Model,
            entries,
            model: Some(file),
        })
    }

    /// A set held in memory (`name` stands for it where a path would).
    pub fn memory(set: &MemorySet, name: &Path, load: LoadOptions) -> Result<Side, SideError> {
        // Nothing is written, so no directory for new arrays is needed.
        let (q, problems) = qparam::from_memory(set, name, PathBuf::from("."), load);
        Side::from_set(name, name, q, &problems)
    }

    fn set(path: &Path, json: &Path, load: LoadOptions) -> Result<Side, SideError> {
        let (set, problems) = qparam::load(json, load)?;
        Side::from_set(path, json, set, &problems)
    }

    fn from_set(
        path: &Path,
        json: &Path,
        set: QParamFile,
        problems: &[Problem],
    ) -> Result<Side, SideError> {
        let set_err = |message: String, help: Option<String>| SideError::Set {
            path: json.to_path_buf(),
            message,
            help,
        };
        // What cannot stop a comparison: a field the format does not know,
        // a key written twice (the last copy counts, as for any reader),
        // and an axis left out (compared as absent).
        let tolerated = |p: &Problem| match p {
            Problem::UnknownField { .. } | Problem::DuplicateKey { .. } => true,
            Problem::MissingField { field, .. } => *field == "quantized_dimension",
            _ => false,
        };
        if let Some(p) = problems.iter().find(|p| !tolerated(p)) {
            return Err(match rules::diagnose(p, &set.text) {
                Some(d) => set_err(
                    match &d.key {
                        Some(k) if !d.message.contains(k.as_str()) => {
                            format!("`{k}`: {}", d.message)
                        }
                        _ => d.message.clone(),
                    },
                    d.help.clone(),
                ),
                None => set_err(format!("{p:?}"), None),
            });
        }
        let entries = set
            .entries
            .iter()
            .map(|e| entry_of(e).map_err(|m| set_err(format!("`{}`: {m}", e.key), None)))
            .collect::<Result<_, _>>()?;
        Ok(Side {
            path: path.to_path_buf(),
            kind: SideKind::Set,
            entries,
            model: None,
        })
    }

    /// Reads `out.len()` elements of `v` from element `first`, as floats.
    pub fn read_values(
        &self,
        v: &Values,
        first: usize,
        out: &mut [f64],
        scratch: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        match &v.source {
            Source::Npy(f) => f.elements()?.f64_range(first, out, scratch),
            Source::Model(p, Some(packing)) => {
                let model = self
                    .model
                    .as_ref()
                    .ok_or_else(|| std::io::Error::other("no model"))?;
                let values = packed::unpack_range(*packing, first, out.len(), |at, buf| {
                    model.read_at(p.offset + at, buf)
                })?;
                for (o, v) in out.iter_mut().zip(values) {
                    *o = f64::from(v);
                }
                Ok(())
            }
            Source::Model(p, None) => {
                let size = v.dtype.size().unwrap_or(1);
                let bytes = out.len() * size;
                scratch.resize(bytes, 0);
                let offset = p.offset + (first * size) as u64;
                let model = self
                    .model
                    .as_ref()
                    .ok_or_else(|| std::io::Error::other("no model"))?;
                model.read_at(offset, scratch)?;
                if npy::decode_f64(&v.dtype, scratch, out) {
                    Ok(())
                } else {
                    Err(std::io::Error::other("not a numeric type"))
                }
            }
        }
    }
}

impl Values {
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An entry of a set, as compared: every field read, or why not.
fn entry_of(e: &Entry) -> Result<SideEntry, String> {
    let dtype = e
        .dtype
        .as_ref()
        .map(|d| d.value)
        .ok_or("its dtype cannot be read")?;
    let scale: Vec<f32> = e
        .scales()
        .ok_or("its scale cannot be read")?
        .iter()
        .map(|&s| s as f32)
        .collect();
    let zero_point = e
        .zero_points()
        .ok_or("its zero points cannot be read as integers")?
        .to_vec();
    if scale.len() != zero_point.len() {
        return Err(format!(
            "it has {} scales but {} zero points",
            scale.len(),
            zero_point.len()
        ));
    }
    let value = match (&e.value, e.has_value_field) {
        (None, true) => return Err("its value cannot be read".into()),
        (None, false) => None,
        (Some(f), _) => {
            let h = &f.value.header;
            if h.fortran_order && h.shape.len() > 1 {
                return Err(format!(
                    "its value `{}` is stored in Fortran order; save it in C order",
                    f.value.origin()
                ));
            }
            if h.dtype.size().is_none() {
                return Err(format!(
                    "its value `{}` holds {} elements, not numbers",
                    f.value.origin(),
                    h.dtype
                ));
            }
            Some(Values {
                shape: h.shape.clone(),
                dtype: h.dtype.clone(),
                source: Source::Npy(f.value.clone()),
            })
        }
    };
    Ok(SideEntry {
        key: e.key.clone(),
        dtype,
        scale,
        zero_point,
        quantized_dimension: e.quantized_dimension.as_ref().map(|q| q.value),
        value,
    })
}
