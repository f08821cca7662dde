//! Samples given in memory (the Python module's numpy arrays): each sample
//! an array per graph input, in the inputs' order or by the input's name
//! (`arr_0`, `arr_1`, ... by position, as in an npz archive), checked
//! against its input exactly as an array read from a file is. Messages
//! name a sample `inputs[i]` where a file's path would be.

use std::path::PathBuf;

use super::{checked, decode, names, InputSpec, Sample, SampleError};
use crate::files::SharedBytes;
use crate::qparam::npy::NpyType;

/// An array held in memory: numpy's type descriptor (`<f4`), its shape and
/// its elements in C order.
#[derive(Clone, Debug)]
pub struct MemoryArray {
    pub descr: String,
    pub shape: Vec<usize>,
    pub bytes: SharedBytes,
}

/// One sample held in memory.
#[derive(Clone, Debug)]
pub enum MemorySample {
    /// One array per graph input, in the graph's order.
    Positional(Vec<MemoryArray>),
    /// Arrays by the input's name (or `arr_0`, `arr_1`, ... by position).
    Named(Vec<(String, MemoryArray)>),
}

/// How messages name sample `index` given in memory.
pub fn label(index: usize) -> PathBuf {
    PathBuf::from(format!("inputs[{index}]"))
}

/// Sample `index` of those given in memory, checked against `inputs`.
pub fn read_memory(
    index: usize,
    sample: &MemorySample,
    inputs: &[InputSpec],
) -> Result<Sample, SampleError> {
    let path = label(index);
    let arrays: Vec<&MemoryArray> = match sample {
        MemorySample::Positional(arrays) => {
            if arrays.len() != inputs.len() {
                return Err(SampleError::Count {
                    path,
                    given: arrays.len(),
                    inputs: inputs.len(),
                    names: names(inputs),
                });
            }
            arrays.iter().collect()
        }
        MemorySample::Named(named) => inputs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let by_position = format!("arr_{i}");
                named
                    .iter()
                    .find(|(n, _)| *n == spec.name)
                    .or_else(|| named.iter().find(|(n, _)| *n == by_position))
                    .map(|(_, a)| a)
                    .ok_or_else(|| SampleError::Missing {
                        path: path.clone(),
                        input: spec.name.clone(),
                        found: named
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    arrays
        .into_iter()
        .zip(inputs)
        .map(|(a, spec)| {
            let dtype = NpyType::from_descr(&a.descr);
            let array = decode(&dtype, a.shape.clone(), a.bytes.as_slice()).map_err(|why| {
                SampleError::Array {
                    path: path.clone(),
                    input: spec.name.clone(),
                    why,
                }
            })?;
            checked(&path, spec, array)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{ArrayData, InputKind};

    fn spec(name: &str, shape: &[usize]) -> InputSpec {
        InputSpec {
            name: name.into(),
            shape: shape.to_vec(),
            kind: InputKind::Real { integer: None },
        }
    }

    fn floats(values: &[f32], shape: &[usize]) -> MemoryArray {
        MemoryArray {
            descr: "<f4".into(),
            shape: shape.to_vec(),
            bytes: SharedBytes::from(
                values
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
        }
    }

    #[test]
    fn arrays_in_memory_are_read_by_position_or_name() {
        let inputs = [spec("x", &[2]), spec("y", &[1])];
        let positional =
            MemorySample::Positional(vec![floats(&[1.0, 2.0], &[2]), floats(&[3.0], &[1])]);
        let sample = read_memory(0, &positional, &inputs).unwrap();
        assert_eq!(sample[1].data, ArrayData::F32(vec![3.0]));
        let named = MemorySample::Named(vec![
            ("y".into(), floats(&[5.0], &[1])),
            ("arr_0".into(), floats(&[4.0, 4.5], &[2])),
        ]);
        let sample = read_memory(0, &named, &inputs).unwrap();
        assert_eq!(sample[0].data, ArrayData::F32(vec![4.0, 4.5]));
        assert_eq!(sample[1].data, ArrayData::F32(vec![5.0]));
    }

    #[test]
    fn a_wrong_array_in_memory_is_named_by_its_place() {
        let inputs = [spec("x", &[2])];
        let two = MemorySample::Positional(vec![floats(&[1.0, 2.0], &[2]), floats(&[3.0], &[1])]);
        let err = read_memory(3, &two, &inputs).unwrap_err();
        assert!(
            err.to_string().contains("`inputs[3]` has 2 arrays"),
            "{err}"
        );
        let short = MemorySample::Positional(vec![floats(&[1.0], &[2])]);
        let err = read_memory(0, &short, &inputs).unwrap_err();
        assert!(err.to_string().contains("4 bytes"), "{err}");
        let shape = MemorySample::Positional(vec![floats(&[1.0, 2.0], &[1, 2])]);
        let err = read_memory(0, &shape, &inputs).unwrap_err();
        assert!(matches!(err, SampleError::Shape { .. }), "{err}");
        let missing = MemorySample::Named(vec![("z".into(), floats(&[1.0, 2.0], &[2]))]);
        let err = read_memory(0, &missing, &inputs).unwrap_err();
        assert!(err.to_string().contains("(it has `z`)"), "{err}");
        let text = MemorySample::Positional(vec![MemoryArray {
            descr: "<U3".into(),
            shape: vec![2],
            bytes: SharedBytes::from(vec![0u8; 24]),
        }]);
        let err = read_memory(0, &text, &inputs).unwrap_err();
        assert!(err.to_string().contains("<U3"), "{err}");
    }
}
