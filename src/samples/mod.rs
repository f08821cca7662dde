//! Input samples for running a model (`verify --input`, `check --fix
//! --calibrate`): read from `.npy` files (a single-input model), `.npz`
//! archives (one array per input, by the input's name or `arr_0`,
//! `arr_1`, ... by position) or directories of such files (one sample per
//! file, in name order), or drawn at random with a seed. Every array is
//! checked against the input it is for: its shape exactly, its element
//! type among those the input accepts.

mod memory;
mod npz;
mod random;

use std::path::{Path, PathBuf};

pub use memory::{label as memory_label, read_memory, MemoryArray, MemorySample};
pub use random::{Distribution, Rng};

use crate::qparam::npy::{self, NpyHeader, NpyType};

/// An array read from a file or drawn at random.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: ArrayData,
}

/// Element data, in the types an input can have.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayData {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    Bool(Vec<bool>),
}

impl ArrayData {
    pub fn type_name(&self) -> &'static str {
        match self {
            ArrayData::F32(_) => "float32",
            ArrayData::I32(_) => "int32",
            ArrayData::I64(_) => "int64",
            ArrayData::U8(_) => "uint8",
            ArrayData::I8(_) => "int8",
            ArrayData::I16(_) => "int16",
            ArrayData::Bool(_) => "bool",
        }
    }
}

/// The element types an input takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Real values: float32, or (for a quantized input) its integer type,
    /// which the caller dequantizes.
    Real {
        integer: Option<IntegerType>,
    },
    /// Integers (token ids, shapes): exactly this type.
    Integer(IntegerType),
    Bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegerType {
    U8,
    I8,
    I16,
    I32,
    I64,
}

impl IntegerType {
    pub fn name(self) -> &'static str {
        match self {
            IntegerType::U8 => "uint8",
            IntegerType::I8 => "int8",
            IntegerType::I16 => "int16",
            IntegerType::I32 => "int32",
            IntegerType::I64 => "int64",
        }
    }
}

/// A graph input a sample must fill.
#[derive(Clone, Debug)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: InputKind,
}

/// One sample: an array per graph input, in the graph's order.
pub type Sample = Vec<Array>;

/// Why samples could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SampleError {
    #[error("cannot read the input `{}`", path.display())]
    #[diagnostic(code(input::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not an npy file: {why}", path.display())]
    #[diagnostic(
        code(input::npy),
        help("save each sample with numpy.save (one input) or numpy.savez (one array per input)")
    )]
    NotNpy { path: PathBuf, why: String },
    #[error("`{}` is not an npz archive numpy can write: {why}", path.display())]
    #[diagnostic(
        code(input::npz),
        help("save a sample with numpy.savez or numpy.savez_compressed, one array per input")
    )]
    NotNpz { path: PathBuf, why: String },
    #[error("`{}` is neither a .npy nor a .npz file", path.display())]
    #[diagnostic(
        code(input::kind),
        help("give .npy files (a model with one input), .npz files, or a directory of them")
    )]
    Kind { path: PathBuf },
    #[error("`{}` holds no .npy or .npz file", path.display())]
    #[diagnostic(code(input::empty_dir))]
    EmptyDirectory { path: PathBuf },
    #[error("`{}` is a single array, but the model has {inputs} inputs ({names})", path.display())]
    #[diagnostic(
        code(input::count),
        help("save one array per input with numpy.savez(path, **{{name: array}}) (names from `q-implant inspect`)")
    )]
    SingleArray {
        path: PathBuf,
        inputs: usize,
        names: String,
    },
    #[error("`{}` has {given} arrays, but the model has {inputs} inputs ({names})", path.display())]
    #[diagnostic(
        code(input::count),
        help("give one array per input in the inputs' order, or a mapping of input names to arrays (names from `q-implant inspect`)")
    )]
    Count {
        path: PathBuf,
        given: usize,
        inputs: usize,
        names: String,
    },
    #[error("`{}`: the array for the input `{input}` cannot be read: {why}", path.display())]
    #[diagnostic(
        code(input::array),
        help("give a C-contiguous numpy array of a numeric type, e.g. numpy.ascontiguousarray(array, dtype=numpy.float32)")
    )]
    Array {
        path: PathBuf,
        input: String,
        why: String,
    },
    #[error("`{}` has no array for the input `{input}` (it has {found})", path.display())]
    #[diagnostic(
        code(input::missing),
        help("name each array after its input (`{input}`), or save them in the inputs' order as arr_0, arr_1, ...")
    )]
    Missing {
        path: PathBuf,
        input: String,
        found: String,
    },
    #[error("`{}`: the input `{input}` has shape {expected:?}, the array {given:?}", path.display())]
    #[diagnostic(
        code(input::shape),
        help("save the array with the input's exact shape (`q-implant inspect` shows it), batch dimension included")
    )]
    Shape {
        path: PathBuf,
        input: String,
        expected: Vec<usize>,
        given: Vec<usize>,
    },
    #[error("`{}`: the input `{input}` takes {expected}, the array is {given}", path.display())]
    #[diagnostic(
        code(input::dtype),
        help("convert it, e.g. array.astype(numpy.{convert})")
    )]
    DType {
        path: PathBuf,
        input: String,
        expected: String,
        given: String,
        /// numpy's name of the type to convert to.
        convert: &'static str,
    },
    #[error("`{}` makes {operator} fail: {reason}", path.display())]
    #[diagnostic(
        code(input::kernel),
        help("the other samples run it: check this sample's values (an index past a table, a value the operator cannot take), or leave the file out")
    )]
    Kernel {
        path: PathBuf,
        operator: String,
        reason: String,
    },
    #[error("`{}`: the array for the input `{input}` holds no finite value (only NaN or infinities)", path.display())]
    #[diagnostic(
        code(input::no_finite),
        help("a sample like this gives the model no range to learn: leave the file out, or save the real input")
    )]
    NoFiniteValue { path: PathBuf, input: String },
    #[error("`{}` holds {dtype} elements, a type no model input takes", path.display())]
    #[diagnostic(
        code(input::element_type),
        help("save it as float32 (real values) or as the input's integer type (`q-implant inspect` shows it)")
    )]
    ElementType { path: PathBuf, dtype: String },
    #[error("the model's input `{input}` has a shape with a dimension unknown or too large ({shape:?}), so no random sample can be drawn for it")]
    #[diagnostic(code(input::random_shape), help("give samples with --input"))]
    RandomShape { input: String, shape: Vec<i32> },
    #[error("the model's input `{input}` is {kind}, and no range to draw it from is known")]
    #[diagnostic(
        code(input::random_range),
        help("give samples with --input (npy or npz files holding real inputs)")
    )]
    RandomRange { input: String, kind: String },
}

/// The sample files `paths` name: files as they are, directories by their
/// `.npy` and `.npz` files in name order.
pub fn sample_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SampleError> {
    sample_files_noting(paths, &mut Vec::new())
}

/// [`sample_files`], adding to `notes` what a directory held that is not
/// read (subdirectories: samples are never looked for below the directory
/// given).
pub fn sample_files_noting(
    paths: &[PathBuf],
    notes: &mut Vec<String>,
) -> Result<Vec<PathBuf>, SampleError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let read = |source| SampleError::Read {
            path: path.clone(),
            source,
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(read)?;
        let mut below: Vec<String> = found
            .iter()
            .filter(|p| p.is_dir())
            .map(|p| format!("`{}`", p.display()))
            .collect();
        if !below.is_empty() {
            below.sort();
            notes.push(format!(
                "{} not read: samples are taken from the directory given, not from its subdirectories (give them as paths of their own)",
                below.join(", ")
            ));
        }
        found.retain(|p| is_sample_file(p) && p.is_file());
        if found.is_empty() {
            return Err(SampleError::EmptyDirectory { path: path.clone() });
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn is_sample_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("npy" | "npz")
    )
}

/// Reads one sample from `path` for `inputs`.
pub fn read_sample(path: &Path, inputs: &[InputSpec]) -> Result<Sample, SampleError> {
    read_sample_noting(path, inputs, &mut Vec::new())
}

/// [`read_sample`], adding to `notes` the arrays of an npz file that no
/// input took.
pub fn read_sample_noting(
    path: &Path,
    inputs: &[InputSpec],
    notes: &mut Vec<String>,
) -> Result<Sample, SampleError> {
    let bytes = read_file(path)?;
    sample_from_bytes(path, &bytes, inputs, notes)
}

/// A sample from the bytes of the file `path` (its extension says how to
/// read them), as [`read_sample_noting`] reads it.
pub fn sample_from_bytes(
    path: &Path,
    bytes: &[u8],
    inputs: &[InputSpec],
    notes: &mut Vec<String>,
) -> Result<Sample, SampleError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => {
            if inputs.len() != 1 {
                return Err(SampleError::SingleArray {
                    path: path.to_path_buf(),
                    inputs: inputs.len(),
                    names: names(inputs),
                });
            }
            let array = decode_npy(path, bytes)?;
            Ok(vec![checked(path, &inputs[0], array)?])
        }
        Some("npz") => {
            // No member a sample needs is larger than the largest input
            // (eight bytes an element at most) and its npy header.
            let largest = inputs
                .iter()
                .map(|i| {
                    i.shape
                        .iter()
                        .try_fold(8u64, |n, &d| n.checked_mul(d as u64))
                })
                .try_fold(0u64, |m, n| n.map(|n| m.max(n)))
                .unwrap_or(u64::MAX);
            let members = npz::members(path, bytes, largest.saturating_add(npz::HEADER_ROOM))?;
            let found = || {
                members
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let found = || match members.len() {
                0 => "no arrays".to_string(),
                1 => format!("one array, {}", found()),
                n => format!("{n} arrays: {}", found()),
            };
            let mut used: Vec<&str> = Vec::new();
            let sample = inputs
                .iter()
                .enumerate()
                .map(|(i, spec)| {
                    let by_position = format!("arr_{i}");
                    let member = members
                        .iter()
                        .find(|(n, _)| *n == spec.name)
                        .or_else(|| members.iter().find(|(n, _)| *n == by_position))
                        .ok_or_else(|| SampleError::Missing {
                            path: path.to_path_buf(),
                            input: spec.name.clone(),
                            found: found(),
                        })?;
                    used.push(&member.0);
                    let array = decode_npy(path, &member.1)?;
                    checked(path, spec, array)
                })
                .collect::<Result<Sample, SampleError>>()?;
            let unused: Vec<String> = members
                .iter()
                .filter(|(n, _)| !used.contains(&n.as_str()))
                .map(|(n, _)| format!("`{n}`"))
                .collect();
            if !unused.is_empty() {
                notes.push(format!(
                    "`{}`: the arrays {} match no input of the model ({}) and were not used",
                    path.display(),
                    unused.join(", "),
                    names(inputs)
                ));
            }
            Ok(sample)
        }
        _ => Err(SampleError::Kind {
            path: path.to_path_buf(),
        }),
    }
}

pub(crate) fn names(inputs: &[InputSpec]) -> String {
    inputs
        .iter()
        .map(|i| format!("`{}`", i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Files larger than this are not samples: a mistake, refused before
/// reading.
const MAX_SAMPLE_FILE: u64 = 4 << 30;

fn read_file(path: &Path) -> Result<Vec<u8>, SampleError> {
    let read = |source| SampleError::Read {
        path: path.to_path_buf(),
        source,
    };
    let input = crate::files::open_regular(path).map_err(read)?;
    if input.len > MAX_SAMPLE_FILE {
        return Err(read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is {} bytes, more than a sample can be", input.len),
        )));
    }
    let mut bytes = Vec::with_capacity(input.len as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(&input.file, input.len), &mut bytes)
        .map_err(read)?;
    Ok(bytes)
}

/// Decodes a whole npy file held in `bytes`: little- or big-endian (read
/// by swapping each element's bytes), in C or Fortran order (read by
/// moving the elements into C order).
fn decode_npy(path: &Path, bytes: &[u8]) -> Result<Array, SampleError> {
    let not = |why: String| SampleError::NotNpy {
        path: path.to_path_buf(),
        why,
    };
    let header: NpyHeader = npy::parse_header(bytes).map_err(|e| not(e.to_string()))?;
    let raw = &bytes[header.data_offset..];
    let swapped;
    let (dtype, data) = match big_endian(&header.dtype) {
        Some(little) => {
            let size = little.size().unwrap_or(1);
            let expected = header.element_count().and_then(|n| n.checked_mul(size));
            if expected != Some(raw.len()) {
                return Err(not(format!(
                    "its header promises {} bytes of data, but the file holds {}",
                    expected.map_or_else(|| "more than 2^64".into(), |n| n.to_string()),
                    raw.len()
                )));
            }
            swapped = raw
                .chunks_exact(size)
                .flat_map(|c| c.iter().rev().copied())
                .collect::<Vec<u8>>();
            (little, swapped.as_slice())
        }
        None => (header.dtype.clone(), raw),
    };
    if !input_type(&dtype) {
        return Err(SampleError::ElementType {
            path: path.to_path_buf(),
            dtype: dtype.name().to_string(),
        });
    }
    let array = decode(&dtype, header.shape.clone(), data).map_err(not)?;
    if !header.fortran_order {
        return Ok(array);
    }
    let shape = &header.shape;
    let data = match array.data {
        ArrayData::F32(v) => ArrayData::F32(c_order(&v, shape)),
        ArrayData::I32(v) => ArrayData::I32(c_order(&v, shape)),
        ArrayData::I64(v) => ArrayData::I64(c_order(&v, shape)),
        ArrayData::U8(v) => ArrayData::U8(c_order(&v, shape)),
        ArrayData::I8(v) => ArrayData::I8(c_order(&v, shape)),
        ArrayData::I16(v) => ArrayData::I16(c_order(&v, shape)),
        ArrayData::Bool(v) => ArrayData::Bool(c_order(&v, shape)),
    };
    Ok(Array {
        shape: array.shape,
        data,
    })
}

/// Whether a model input may be given elements of `dtype`.
fn input_type(dtype: &NpyType) -> bool {
    matches!(
        dtype,
        NpyType::F32
            | NpyType::F64
            | NpyType::I32
            | NpyType::I64
            | NpyType::I16
            | NpyType::U8
            | NpyType::I8
            | NpyType::Bool
    )
}

/// Elements of `dtype` in `shape`, little-endian in `data`, as an
/// [`Array`]; why not, when the type is none a model input takes or the
/// bytes are not exactly the shape's.
pub(crate) fn decode(dtype: &NpyType, shape: Vec<usize>, data: &[u8]) -> Result<Array, String> {
    let unsupported = || {
        format!(
            "its element type {} is not one a model input takes",
            dtype.name()
        )
    };
    let size = dtype.size().ok_or_else(unsupported)?;
    let expected = shape
        .iter()
        .try_fold(size, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("its shape {shape:?} is too large"))?;
    if data.len() != expected {
        return Err(format!(
            "it holds {} bytes of data; {} elements of shape {shape:?} take {expected}",
            data.len(),
            dtype.name()
        ));
    }
    let le = |n: usize| data.chunks_exact(n);
    let decoded = match dtype {
        NpyType::F32 => ArrayData::F32(le(4).map(|c| f32::from_le_bytes(arr(c))).collect()),
        NpyType::F64 => ArrayData::F32(le(8).map(|c| f64::from_le_bytes(arr(c)) as f32).collect()),
        NpyType::I32 => ArrayData::I32(le(4).map(|c| i32::from_le_bytes(arr(c))).collect()),
        NpyType::I64 => ArrayData::I64(le(8).map(|c| i64::from_le_bytes(arr(c))).collect()),
        NpyType::I16 => ArrayData::I16(le(2).map(|c| i16::from_le_bytes(arr(c))).collect()),
        NpyType::U8 => ArrayData::U8(data.to_vec()),
        NpyType::I8 => ArrayData::I8(data.iter().map(|&b| b as i8).collect()),
        NpyType::Bool => ArrayData::Bool(data.iter().map(|&b| b != 0).collect()),
        _ => return Err(unsupported()),
    };
    Ok(Array {
        shape,
        data: decoded,
    })
}

/// The little-endian type of a big-endian descriptor (`>f4`), when it is
/// one of more than one byte that numpy can write.
fn big_endian(dtype: &NpyType) -> Option<NpyType> {
    let NpyType::Other(descr) = dtype else {
        return None;
    };
    let code = descr.strip_prefix('>')?;
    match NpyType::from_descr(&format!("<{code}")) {
        NpyType::Other(_) => None,
        little => Some(little),
    }
}

/// The elements of a Fortran-order array (the first index varying
/// fastest) in C order (the last index varying fastest).
fn c_order<T: Copy>(values: &[T], shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 || values.is_empty() {
        return values.to_vec();
    }
    // Each dimension's stride in the Fortran layout.
    let mut strides = Vec::with_capacity(shape.len());
    let mut stride = 1usize;
    for &d in shape {
        strides.push(stride);
        stride = stride.saturating_mul(d);
    }
    let mut index = vec![0usize; shape.len()];
    let mut out = Vec::with_capacity(values.len());
    for _ in 0..values.len() {
        let at: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        // The header's shape accounts for every element (checked when it
        // was parsed); a short array ends the copy rather than panicking.
        let Some(&v) = values.get(at) else { break };
        out.push(v);
        // The next C-order index: the last dimension first.
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

fn arr<const N: usize>(c: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(c);
    out
}

/// `array` if it fits `spec`: its shape exactly, its type one the input
/// takes (float64 was read as float32 already).
pub(crate) fn checked(path: &Path, spec: &InputSpec, array: Array) -> Result<Array, SampleError> {
    if array.shape != spec.shape {
        return Err(SampleError::Shape {
            path: path.to_path_buf(),
            input: spec.name.clone(),
            expected: spec.shape.clone(),
            given: array.shape,
        });
    }
    let given = array.data.type_name();
    let fits = match spec.kind {
        InputKind::Real { integer } => {
            given == "float32" || integer.is_some_and(|t| t.name() == given)
        }
        InputKind::Integer(t) => t.name() == given,
        InputKind::Bool => given == "bool",
    };
    if !fits {
        let convert = match spec.kind {
            InputKind::Real { .. } => "float32",
            InputKind::Integer(t) => t.name(),
            InputKind::Bool => "bool_",
        };
        let expected = match spec.kind {
            InputKind::Real { integer: Some(t) } => {
                format!("float32 (real values) or {}", t.name())
            }
            InputKind::Real { integer: None } => "float32".to_string(),
            InputKind::Integer(t) => t.name().to_string(),
            InputKind::Bool => "bool".to_string(),
        };
        return Err(SampleError::DType {
            path: path.to_path_buf(),
            input: spec.name.clone(),
            expected,
            given: given.to_string(),
            convert,
        });
    }
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qparam::npy::encode;

    fn spec(name: &str, shape: &[usize]) -> InputSpec {
        InputSpec {
            name: name.into(),
            shape: shape.to_vec(),
            kind: InputKind::Real {
                integer: Some(IntegerType::U8),
            },
        }
    }

    #[test]
    fn an_npy_sample_is_checked_against_its_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let bytes = encode("<f4", false, &[1, 2], &[0, 0, 128, 63, 0, 0, 0, 64]);
        std::fs::write(&path, bytes).unwrap();
        let sample = read_sample(&path, &[spec("x", &[1, 2])]).unwrap();
        assert_eq!(sample[0].data, ArrayData::F32(vec![1.0, 2.0]));
        let err = read_sample(&path, &[spec("x", &[2, 1])]).unwrap_err();
        assert!(err.to_string().contains("[2, 1]"), "{err}");
        let err = read_sample(&path, &[spec("x", &[1, 2]), spec("y", &[1])]).unwrap_err();
        assert!(matches!(err, SampleError::SingleArray { inputs: 2, .. }));
    }

    #[test]
    fn an_integer_array_needs_an_input_that_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        std::fs::write(&path, encode("<i4", false, &[2], &[1, 0, 0, 0, 2, 0, 0, 0])).unwrap();
        let err = read_sample(&path, &[spec("x", &[2])]).unwrap_err();
        assert!(
            err.to_string().contains("float32 (real values) or uint8"),
            "{err}"
        );
    }

    #[test]
    fn the_help_names_the_type_the_input_takes() {
        use miette::Diagnostic;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.npy");
        std::fs::write(&path, encode("<i4", false, &[2], &[1, 0, 0, 0, 2, 0, 0, 0])).unwrap();
        let ids = InputSpec {
            name: "ids".into(),
            shape: vec![2],
            kind: InputKind::Integer(IntegerType::I64),
        };
        let err = read_sample(&path, &[ids]).unwrap_err();
        let help = err.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("array.astype(numpy.int64)"), "{help}");
    }

    #[test]
    fn big_endian_and_fortran_order_are_read_as_numpy_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let values = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        // C order [2, 3], big-endian.
        let big: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let path = dir.path().join("big.npy");
        std::fs::write(&path, encode(">f4", false, &[2, 3], &big)).unwrap();
        let mut x = spec("x", &[2, 3]);
        x.kind = InputKind::Real { integer: None };
        let sample = read_sample(&path, std::slice::from_ref(&x)).unwrap();
        assert_eq!(sample[0].data, ArrayData::F32(values.to_vec()));
        // The same array in Fortran order: columns first.
        let columns = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];
        let bytes: Vec<u8> = columns.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, encode("<f4", true, &[2, 3], &bytes)).unwrap();
        let sample = read_sample(&path, std::slice::from_ref(&x)).unwrap();
        assert_eq!(sample[0].data, ArrayData::F32(values.to_vec()));
        // Big-endian int64, truncated: said so.
        let ids: Vec<u8> = [7i64, 9].iter().flat_map(|v| v.to_be_bytes()).collect();
        std::fs::write(&path, encode(">i8", false, &[2], &ids)).unwrap();
        let id_spec = InputSpec {
            name: "ids".into(),
            shape: vec![2],
            kind: InputKind::Integer(IntegerType::I64),
        };
        let sample = read_sample(&path, std::slice::from_ref(&id_spec)).unwrap();
        assert_eq!(sample[0].data, ArrayData::I64(vec![7, 9]));
        std::fs::write(&path, encode(">i8", false, &[2], &ids[..12])).unwrap();
        let err = read_sample(&path, &[id_spec]).unwrap_err();
        assert!(err.to_string().contains("promises 16 bytes"), "{err}");
        // A type no input takes is said as such, not as "not an npy file".
        std::fs::write(&path, encode("<u2", false, &[1], &[1, 0])).unwrap();
        let err = read_sample(&path, &[spec("x", &[1])]).unwrap_err();
        assert!(matches!(err, SampleError::ElementType { .. }), "{err}");
        assert!(err.to_string().contains("uint16"), "{err}");
    }

    #[test]
    fn an_empty_npz_says_it_has_no_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.npz");
        let mut out = std::io::Cursor::new(Vec::new());
        zip::ZipWriter::new(&mut out).finish().unwrap();
        std::fs::write(&path, out.into_inner()).unwrap();
        let err = read_sample(&path, &[spec("x", &[1])]).unwrap_err();
        assert!(err.to_string().contains("(it has no arrays)"), "{err}");
    }
}
