//! Sets and models for unit tests: a qparam text whose npy files live in
//! memory, a small model built in memory.

use std::path::PathBuf;

use crate::qparam::{self, npy, LoadOptions, MemoryFiles, QParamFile};

/// An npy file's bytes: `descr` elements of `size` bytes each, 1-D.
pub fn npy_1d(descr: &str, size: usize, data: &[u8]) -> Vec<u8> {
    npy::encode(descr, false, &[data.len() / size], data)
}

/// The set `text` with `files` (name, npy bytes) beside it, in memory.
pub fn in_memory(text: &str, files: Vec<(&str, Vec<u8>)>) -> QParamFile {
    let memory = MemoryFiles::default();
    let dir = PathBuf::from("/in-memory");
    for (name, bytes) in files {
        memory.insert(dir.join(name), bytes);
    }
    let options = LoadOptions {
        in_memory: Some(memory),
        ..Default::default()
    };
    qparam::from_bytes(&dir.join("qparam.json"), dir, text.into(), options).0
}

/// A one-subgraph model of float32 tensors `(name, constant data)` and
/// operators `(opcode, inputs, outputs)`, read back as a file.
pub fn model(
    tensors: &[(&str, Option<Vec<f32>>)],
    ops: &[(crate::model::fb::BuiltinOperator, Vec<i32>, Vec<i32>)],
    inputs: &[i32],
    outputs: &[i32],
) -> crate::model::CircleFile {
    model_typed(tensors, &[], ops, inputs, outputs)
}

/// [`model`], with the types `types` names (tensor index, type) in place
/// of float32.
pub fn model_typed(
    tensors: &[(&str, Option<Vec<f32>>)],
    types: &[(usize, crate::model::fb::TensorType)],
    ops: &[(crate::model::fb::BuiltinOperator, Vec<i32>, Vec<i32>)],
    inputs: &[i32],
    outputs: &[i32],
) -> crate::model::CircleFile {
    use crate::model::{fb, writer, CircleFile, Layout, ModelParts, Payload};
    let mut payloads: Vec<Option<Payload<'static>>> = vec![None];
    let tensors: Vec<fb::TensorT> = tensors
        .iter()
        .enumerate()
        .map(|(i, (name, data))| {
            let buffer = match data {
                Some(d) => {
                    let bytes: Vec<u8> = d.iter().flat_map(|v| v.to_le_bytes()).collect();
                    payloads.push(Some(bytes.into()));
                    (payloads.len() - 1) as u32
                }
                None => 0,
            };
            fb::TensorT {
                name: Some(name.to_string()),
                shape: Some(vec![data.as_ref().map_or(4, |d| d.len() as i32)]),
                type_: types
                    .iter()
                    .find(|(t, _)| *t == i)
                    .map_or(fb::TensorType::FLOAT32, |(_, ty)| *ty),
                buffer,
                ..Default::default()
            }
        })
        .collect();
    let mut codes: Vec<fb::OperatorCodeT> = Vec::new();
    let operators = ops
        .iter()
        .map(|(code, i, o)| {
            let index = codes
                .iter()
                .position(|c| c.builtin_code == *code)
                .unwrap_or_else(|| {
                    codes.push(fb::OperatorCodeT {
                        builtin_code: *code,
                        deprecated_builtin_code: code.0.min(127) as i8,
                        version: 1,
                        ..Default::default()
                    });
                    codes.len() - 1
                });
            fb::OperatorT {
                opcode_index: index as u32,
                inputs: Some(i.clone()),
                outputs: Some(o.clone()),
                ..Default::default()
            }
        })
        .collect();
    let model = fb::ModelT {
        version: 3,
        operator_codes: Some(codes),
        subgraphs: Some(vec![fb::SubGraphT {
            tensors: Some(tensors),
            inputs: Some(inputs.to_vec()),
            outputs: Some(outputs.to_vec()),
            operators: Some(operators),
            ..Default::default()
        }]),
        buffers: Some(vec![fb::BufferT::default(); payloads.len()]),
        ..Default::default()
    };
    let mut out = Vec::new();
    writer::write(&ModelParts { model, payloads }, Layout::Plain, &mut out).unwrap();
    CircleFile::from_bytes("test.circle", out).unwrap()
}
