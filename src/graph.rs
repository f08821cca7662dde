//! A read-only view of a model's graphs that every phase shares: tensors with
//! their names, types, shapes, constant data and quantization; operators with
//! their opcode names; who produces and who consumes each tensor.

use std::collections::HashMap;
use std::fmt;

use crate::model::{fb, CircleFile, PayloadRef};

/// Where a tensor lives: its subgraph and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId {
    pub subgraph: usize,
    pub index: usize,
}

/// An operator's kind: a builtin (named by the schema) or a custom op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpCode {
    Builtin(fb::BuiltinOperator),
    Custom(String),
}

impl OpCode {
    fn from_fb(code: &fb::OperatorCode<'_>) -> OpCode {
        let builtin = code.builtin_code();
        let deprecated = code.deprecated_builtin_code();
        // The byte-sized field holds 127 (the placeholder) for codes that do
        // not fit in it; circle's own negative codes live in both fields.
        let resolved = if deprecated == 127 || (deprecated == 0 && builtin.0 != 0) {
            builtin
        } else {
            fb::BuiltinOperator(i32::from(deprecated))
        };
        if resolved == fb::BuiltinOperator::CUSTOM {
            OpCode::Custom(code.custom_code().unwrap_or("").to_string())
        } else {
            OpCode::Builtin(resolved)
        }
    }

    /// Whether this is `op` (any custom operator is `CUSTOM`).
    pub fn is(&self, op: fb::BuiltinOperator) -> bool {
        match self {
            OpCode::Builtin(b) => *b == op,
            OpCode::Custom(_) => op == fb::BuiltinOperator::CUSTOM,
        }
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpCode::Builtin(b) => match b.variant_name() {
                Some(name) => f.write_str(name),
                None => write!(f, "BUILTIN_{}", b.0),
            },
            OpCode::Custom(name) => write!(f, "CUSTOM({name})"),
        }
    }
}

/// Affine quantization parameters as stored on a tensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
}

#[derive(Clone, Debug)]
pub struct Tensor<'m> {
    pub id: TensorId,
    pub name: &'m str,
    pub dtype: fb::TensorType,
    pub shape: Vec<i32>,
    pub buffer: u32,
    /// Where the constant payload is, if the tensor has one (a non-empty
    /// buffer); read through [`Graph::file`].
    pub data: Option<PayloadRef>,
    pub quantization: Option<Quantization>,
    /// The operator writing this tensor, if any.
    pub producer: Option<usize>,
    /// Operators reading it, in execution order.
    pub consumers: Vec<usize>,
}

impl Tensor<'_> {
    pub fn is_constant(&self) -> bool {
        self.data.is_some()
    }

    pub fn dtype_name(&self) -> &'static str {
        dtype_name(self.dtype)
    }

    /// Number of elements, if every dimension is known.
    pub fn element_count(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |n, &d| {
            u64::try_from(d).ok().and_then(|d| n.checked_mul(d))
        })
    }

    /// Bytes of the tensor's data: the payload's length for a constant,
    /// otherwise what its shape and type need.
    pub fn byte_size(&self) -> Option<u64> {
        match self.data {
            Some(d) => Some(d.len),
            None => match crate::packed::Packing::of(self.dtype) {
                Some(packing) => packing.stored_len(self.element_count()?),
                None => self
                    .element_count()?
                    .checked_mul(dtype_size(self.dtype)? as u64),
            },
        }
    }
}

#[derive(Clone, Debug)]
pub struct Operator {
    pub index: usize,
    pub opcode: OpCode,
    /// Input tensors; `None` for an omitted optional input (-1 in the file).
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    /// The activation the operator applies to its output (`RELU` fused
    /// into a `CONV_2D`), if any.
    pub fused: Option<fb::ActivationFunctionType>,
}

/// Where an operator with a weight (Conv2D, DepthwiseConv2D,
/// FullyConnected, TransposeConv) keeps its input, weight and bias among
/// its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSlots {
    pub input: usize,
    pub weight: usize,
    pub bias: usize,
}

impl Operator {
    /// The tensor at input position `i`, if given.
    pub fn input(&self, i: usize) -> Option<usize> {
        self.inputs.get(i).copied().flatten()
    }

    /// For operators with a weight, where their input, weight and bias are.
    pub fn layer_slots(&self) -> Option<LayerSlots> {
        use fb::BuiltinOperator as Op;
        if [Op::CONV_2D, Op::DEPTHWISE_CONV_2D, Op::FULLY_CONNECTED]
            .iter()
            .any(|&c| self.opcode.is(c))
        {
            Some(LayerSlots {
                input: 0,
                weight: 1,
                bias: 2,
            })
        } else if self.opcode.is(Op::TRANSPOSE_CONV) {
            Some(LayerSlots {
                input: 2,
                weight: 1,
                bias: 3,
            })
        } else {
            None
        }
    }

    /// Whether tensor `t` is this operator's bias.
    pub fn has_bias(&self, t: usize) -> bool {
        self.layer_slots()
            .is_some_and(|s| self.input(s.bias) == Some(t))
    }

    /// For operators that move values without arithmetic (Reshape,
    /// Transpose, Squeeze, ExpandDims, Pad, PadV2, MirrorPad, MaxPool2D,
    /// Slice, StridedSlice, Gather, Split), the tensor whose values their
    /// outputs hold: kernels copy the quantized bytes, so the outputs must
    /// keep its parameters.
    pub fn value_source(&self) -> Option<usize> {
        use fb::BuiltinOperator as Op;
        const FIRST_INPUT: [Op; 11] = [
            Op::RESHAPE,
            Op::TRANSPOSE,
            Op::SQUEEZE,
            Op::EXPAND_DIMS,
            Op::PAD,
            Op::PADV2,
            Op::MIRROR_PAD,
            Op::MAX_POOL_2D,
            Op::SLICE,
            Op::STRIDED_SLICE,
            Op::GATHER,
        ];
        let data = if self.opcode.is(Op::SPLIT) {
            1
        } else if FIRST_INPUT.iter().any(|&op| self.opcode.is(op)) {
            0
        } else {
            return None;
        };
        self.input(data)
    }
}

#[derive(Clone, Debug)]
pub struct Subgraph<'m> {
    pub index: usize,
    pub name: Option<&'m str>,
    pub tensors: Vec<Tensor<'m>>,
    pub operators: Vec<Operator>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

impl<'m> Subgraph<'m> {
    pub fn tensor(&self, index: usize) -> &Tensor<'m> {
        &self.tensors[index]
    }

    /// The graph-wide id of this subgraph's tensor `index`.
    pub fn id(&self, index: usize) -> TensorId {
        TensorId {
            subgraph: self.index,
            index,
        }
    }
}

/// All subgraphs of a model.
#[derive(Clone)]
pub struct Graph<'m> {
    file: &'m CircleFile,
    pub subgraphs: Vec<Subgraph<'m>>,
    by_name: HashMap<&'m str, Vec<TensorId>>,
}

impl<'m> Graph<'m> {
    /// Builds the view. The file was verified on open, so every index in it
    /// is in range.
    pub fn new(file: &'m CircleFile) -> Graph<'m> {
        let model = file.model();
        let codes: Vec<OpCode> = model
            .operator_codes()
            .iter()
            .flatten()
            .map(|c| OpCode::from_fb(&c))
            .collect();
        let subgraphs = model
            .subgraphs()
            .iter()
            .flatten()
            .enumerate()
            .map(|(si, sg)| build_subgraph(file, &codes, si, sg))
            .collect::<Vec<_>>();
        let mut by_name: HashMap<&'m str, Vec<TensorId>> = HashMap::new();
        for t in subgraphs
            .iter()
            .flat_map(|s: &Subgraph<'m>| s.tensors.iter())
        {
            by_name.entry(t.name).or_default().push(t.id);
        }
        Graph {
            file,
            subgraphs,
            by_name,
        }
    }

    /// The model file, to read constant data from.
    pub fn file(&self) -> &'m CircleFile {
        self.file
    }

    /// The elements of float32 constant `t`, as f64, when its data take
    /// at most `max_bytes`.
    pub fn float_data(&self, t: &Tensor<'_>, max_bytes: u64) -> Option<Vec<f64>> {
        let data = t.data?;
        if t.dtype != fb::TensorType::FLOAT32 || data.len > max_bytes || data.len % 4 != 0 {
            return None;
        }
        let bytes = self.file.read_payload(data).ok()?;
        let element = |b: &[u8]| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        Some(bytes.chunks_exact(4).map(element).collect())
    }

    /// Every tensor with this name, in subgraph and index order.
    pub fn named(&self, name: &str) -> &[TensorId] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn tensor(&self, id: TensorId) -> &Tensor<'m> {
        &self.subgraphs[id.subgraph].tensors[id.index]
    }

    pub fn tensors(&self) -> impl Iterator<Item = &Tensor<'m>> {
        self.subgraphs.iter().flat_map(|s| s.tensors.iter())
    }
}

fn build_subgraph<'m>(
    file: &'m CircleFile,
    codes: &[OpCode],
    si: usize,
    sg: fb::SubGraph<'m>,
) -> Subgraph<'m> {
    let mut tensors: Vec<Tensor<'m>> = sg
        .tensors()
        .iter()
        .flatten()
        .enumerate()
        .map(|(ti, t)| Tensor {
            id: TensorId {
                subgraph: si,
                index: ti,
            },
            name: t.name().unwrap_or(""),
            dtype: t.type_(),
            shape: t.shape().map(|s| s.iter().collect()).unwrap_or_default(),
            buffer: t.buffer(),
            data: file.payload(t.buffer() as usize).filter(|d| d.len > 0),
            quantization: t.quantization().and_then(|q| {
                let scale: Vec<f32> = q.scale()?.iter().collect();
                let zero_point: Vec<i64> = q
                    .zero_point()
                    .map(|z| z.iter().collect())
                    .unwrap_or_default();
                Some(Quantization {
                    scale,
                    zero_point,
                    quantized_dimension: q.quantized_dimension(),
                })
            }),
            producer: None,
            consumers: Vec::new(),
        })
        .collect();
    let to_index = |i: i32| usize::try_from(i).ok();
    let operators: Vec<Operator> = sg
        .operators()
        .iter()
        .flatten()
        .enumerate()
        .map(|(oi, op)| Operator {
            index: oi,
            opcode: codes[op.opcode_index() as usize].clone(),
            inputs: op.inputs().iter().flatten().map(to_index).collect(),
            outputs: op.outputs().iter().flatten().filter_map(to_index).collect(),
            fused: fused_activation(&op),
        })
        .collect();
    for op in &operators {
        for &o in &op.outputs {
            tensors[o].producer = Some(op.index);
        }
        for &i in op.inputs.iter().flatten() {
            if tensors[i].consumers.last() != Some(&op.index) {
                tensors[i].consumers.push(op.index);
            }
        }
    }
    Subgraph {
        index: si,
        name: sg.name(),
        tensors,
        operators,
        inputs: sg.inputs().iter().flatten().filter_map(to_index).collect(),
        outputs: sg.outputs().iter().flatten().filter_map(to_index).collect(),
    }
}

/// The activation fused into an operator, for the operators that have one.
fn fused_activation(op: &fb::Operator<'_>) -> Option<fb::ActivationFunctionType> {
    let f = op
        .builtin_options_as_conv_2_doptions()
        .map(|o| o.fused_activation_function())
        .or_else(|| {
            op.builtin_options_as_depthwise_conv_2_doptions()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_fully_connected_options()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_add_options()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_sub_options()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_mul_options()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_div_options()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_concatenation_options()
                .map(|o| o.fused_activation_function())
        })
        .or_else(|| {
            op.builtin_options_as_pool_2_doptions()
                .map(|o| o.fused_activation_function())
        })?;
    (f != fb::ActivationFunctionType::NONE).then_some(f)
}

/// The schema's name of a tensor type (`FLOAT32`, `UINT8`, ...).
pub fn dtype_name(t: fb::TensorType) -> &'static str {
    t.variant_name().unwrap_or("UNKNOWN")
}

/// Bytes per element, for the types with a fixed element size.
pub fn dtype_size(t: fb::TensorType) -> Option<usize> {
    use fb::TensorType as T;
    Some(match t {
        T::BOOL | T::INT8 | T::UINT8 => 1,
        T::FLOAT16 | T::INT16 | T::UINT16 => 2,
        T::FLOAT32 | T::INT32 | T::UINT32 => 4,
        T::FLOAT64 | T::INT64 | T::UINT64 | T::COMPLEX64 => 8,
        T::COMPLEX128 => 16,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_absurd_shapes_do_not_overflow() {
        let t = Tensor {
            id: TensorId {
                subgraph: 0,
                index: 0,
            },
            name: "huge",
            dtype: fb::TensorType::FLOAT64,
            shape: vec![i32::MAX, i32::MAX, 4],
            buffer: 0,
            data: None,
            quantization: None,
            producer: None,
            consumers: Vec::new(),
        };
        // The count fits in 64 bits; its size in bytes does not.
        assert_eq!(t.element_count(), Some((i32::MAX as u64).pow(2) * 4));
        assert_eq!(t.byte_size(), None);
    }
}
