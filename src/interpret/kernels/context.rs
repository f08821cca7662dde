//! What a kernel knows about its operator: the options (read from the
//! FlatBuffer once), the fused activation, and the declared outputs; and
//! its inputs, with typed accessors whose errors name the position.

use super::super::error::{KernelError, Site};
use super::super::value::{element_count, Kind, Tensor};
use crate::graph::OpCode;
use crate::model::fb;

/// A declared output of the operator.
#[derive(Clone, Debug)]
pub struct Declared {
    pub name: String,
    pub dtype: fb::TensorType,
    /// The kind of value the output holds during a run, if the type is one
    /// the interpreter computes with.
    pub kind: Option<Kind>,
    pub shape: Vec<i32>,
}

/// One operator, as its kernel sees it.
#[derive(Clone, Debug)]
pub struct OpContext {
    pub site: Site,
    pub opcode: OpCode,
    pub options: fb::BuiltinOptionsT,
    pub activation: fb::ActivationFunctionType,
    pub outputs: Vec<Declared>,
    /// The stored type of each input (`None`: omitted), when known: a
    /// kernel whose runtime computes differently for a packed weight (a
    /// GGML FullyConnected) reads it here.
    pub input_types: Vec<Option<fb::TensorType>>,
}

impl OpContext {
    pub fn new(
        site: Site,
        opcode: OpCode,
        options: fb::BuiltinOptionsT,
        outputs: Vec<Declared>,
    ) -> OpContext {
        let activation = fused_of(&options);
        OpContext {
            site,
            opcode,
            options,
            activation,
            outputs,
            input_types: Vec::new(),
        }
    }

    /// The same, knowing its inputs' stored types.
    pub fn with_input_types(mut self, types: Vec<Option<fb::TensorType>>) -> OpContext {
        self.input_types = types;
        self
    }

    /// The stored type of input `i`, when known.
    pub fn input_type(&self, i: usize) -> Option<fb::TensorType> {
        self.input_types.get(i).copied().flatten()
    }

    /// The declared kind of output `i`.
    pub fn output_kind(&self, i: usize) -> Result<Kind, KernelError> {
        let d = self
            .outputs
            .get(i)
            .ok_or_else(|| KernelError::Invalid(format!("the operator has no output {i}")))?;
        d.kind.ok_or_else(|| {
            KernelError::Unsupported(format!(
                "output `{}` has type {}, which the interpreter does not compute with",
                d.name,
                crate::graph::dtype_name(d.dtype)
            ))
        })
    }

    /// An error for options this operator should have but does not.
    pub fn missing_options(&self) -> KernelError {
        KernelError::Unsupported(format!("{} has no options", self.opcode))
    }
}

/// The activation options declare, for the operators that have one.
fn fused_of(options: &fb::BuiltinOptionsT) -> fb::ActivationFunctionType {
    use fb::BuiltinOptionsT as O;
    match options {
        O::Conv2DOptions(o) => o.fused_activation_function,
        O::DepthwiseConv2DOptions(o) => o.fused_activation_function,
        O::TransposeConvOptions(o) => o.fused_activation_function,
        O::FullyConnectedOptions(o) => o.fused_activation_function,
        O::AddOptions(o) => o.fused_activation_function,
        O::SubOptions(o) => o.fused_activation_function,
        O::MulOptions(o) => o.fused_activation_function,
        O::DivOptions(o) => o.fused_activation_function,
        O::ConcatenationOptions(o) => o.fused_activation_function,
        O::Pool2DOptions(o) => o.fused_activation_function,
        O::InstanceNormOptions(o) => o.fused_activation_function,
        _ => fb::ActivationFunctionType::NONE,
    }
}

/// The shape and kind of an output, before it is computed.
#[derive(Clone, Debug, PartialEq)]
pub struct OutSpec {
    pub shape: Vec<usize>,
    pub kind: Kind,
}

impl OutSpec {
    /// Checks that the element count and byte size fit in memory's address
    /// space, so that allocating it later cannot overflow.
    pub fn new(shape: Vec<usize>, kind: Kind) -> Result<OutSpec, KernelError> {
        match element_count(&shape).and_then(|n| n.checked_mul(kind.size())) {
            Some(b) if isize::try_from(b).is_ok() => Ok(OutSpec { shape, kind }),
            _ => Err(KernelError::Overflow { shape }),
        }
    }

    pub fn f32(shape: Vec<usize>) -> Result<OutSpec, KernelError> {
        OutSpec::new(shape, Kind::F32)
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of one sample of this output.
    pub fn bytes(&self) -> u64 {
        (self.len() as u64).saturating_mul(self.kind.size() as u64)
    }
}

/// The operator's inputs; `None` for an omitted optional input.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub list: &'a [Option<&'a Tensor>],
}

impl<'a> Inputs<'a> {
    pub fn new(list: &'a [Option<&'a Tensor>]) -> Inputs<'a> {
        Inputs { list }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Input `i`, which must be given.
    pub fn get(&self, i: usize) -> Result<&'a Tensor, KernelError> {
        self.opt(i)
            .ok_or_else(|| KernelError::Invalid(format!("input {i} is missing")))
    }

    /// Input `i`, if given.
    pub fn opt(&self, i: usize) -> Option<&'a Tensor> {
        self.list.get(i).copied().flatten()
    }

    /// Input `i` as floats.
    pub fn f32(&self, i: usize) -> Result<(&'a [usize], &'a [f32]), KernelError> {
        let t = self.get(i)?;
        match t.as_f32() {
            Some(v) => Ok((&t.shape, v)),
            None => Err(KernelError::Unsupported(format!(
                "input {i} holds {} values; this operator computes on float32",
                t.kind()
            ))),
        }
    }

    /// Input `i` as integers (int32 or int64), for shapes, axes, indices.
    pub fn ints(&self, i: usize) -> Result<Vec<i64>, KernelError> {
        let t = self.get(i)?;
        t.data.to_i64().ok_or_else(|| {
            KernelError::Invalid(format!(
                "input {i} holds {} values where integers were expected",
                t.kind()
            ))
        })
    }
}

/// `axis` (negative counts from the end) as an index into `rank`
/// dimensions.
pub fn axis_index(axis: i64, rank: usize) -> Result<usize, KernelError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(KernelError::Invalid(format!(
            "axis {axis} is out of range for a tensor of rank {rank}"
        )))
    }
}

/// A dimension value read from a tensor, which must be non-negative.
pub fn dim(value: i64, what: &str) -> Result<usize, KernelError> {
    usize::try_from(value).map_err(|_| KernelError::Invalid(format!("{what} {value} is negative")))
}
