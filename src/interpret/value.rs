//! Values as the interpreter holds them: a shape and its elements in C
//! order. Quantized tensors are held by their real values (float), so one
//! set of float kernels serves float and fake-quantized runs; integer tensors
//! without quantization (shapes, indices) keep integer data.

use std::fmt;

/// Elements of a tensor, in C order.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

/// Which variant of [`Data`] a tensor holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    F32,
    I32,
    I64,
    Bool,
}

impl Kind {
    /// Bytes one element takes in memory.
    pub fn size(self) -> usize {
        match self {
            Kind::F32 | Kind::I32 => 4,
            Kind::I64 => 8,
            Kind::Bool => 1,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::F32 => "float32",
            Kind::I32 => "int32",
            Kind::I64 => "int64",
            Kind::Bool => "bool",
        })
    }
}

/// Applies a generic expression to whichever vector `data` holds, giving
/// data of the same kind: `map_data!(data, v => take(v, &idx))`.
macro_rules! map_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::interpret::value::Data::F32($v) => $crate::interpret::value::Data::F32($body),
            $crate::interpret::value::Data::I32($v) => $crate::interpret::value::Data::I32($body),
            $crate::interpret::value::Data::I64($v) => $crate::interpret::value::Data::I64($body),
            $crate::interpret::value::Data::Bool($v) => $crate::interpret::value::Data::Bool($body),
        }
    };
}
pub(crate) use map_data;

impl Data {
    pub fn kind(&self) -> Kind {
        match self {
            Data::F32(_) => Kind::F32,
            Data::I32(_) => Kind::I32,
            Data::I64(_) => Kind::I64,
            Data::Bool(_) => Kind::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` copies of the zero of `kind`.
    pub fn zeros(kind: Kind, n: usize) -> Data {
        match kind {
            Kind::F32 => Data::F32(vec![0.0; n]),
            Kind::I32 => Data::I32(vec![0; n]),
            Kind::I64 => Data::I64(vec![0; n]),
            Kind::Bool => Data::Bool(vec![false; n]),
        }
    }

    /// The elements as 64-bit integers, for index and shape inputs.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        match self {
            Data::I32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            Data::I64(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The elements as floats (integers and booleans converted), for
    /// comparisons and statistics.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        }
    }
}

/// A value: its shape and its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Data,
}

impl Tensor {
    /// A tensor of `shape` holding `data`; `None` when the element count
    /// does not match the shape.
    pub fn new(shape: Vec<usize>, data: Data) -> Option<Tensor> {
        (element_count(&shape) == Some(data.len())).then_some(Tensor { shape, data })
    }

    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Option<Tensor> {
        Tensor::new(shape, Data::F32(data))
    }

    pub fn kind(&self) -> Kind {
        self.data.kind()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The float elements, if the tensor holds floats.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Bytes of memory the elements take.
    pub fn bytes(&self) -> u64 {
        (self.len() as u64).saturating_mul(self.kind().size() as u64)
    }
}

/// The number of elements of `shape`, if it fits in `usize`.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Row-major strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_must_match_its_shape() {
        assert!(Tensor::f32(vec![2, 3], vec![0.0; 6]).is_some());
        assert!(Tensor::f32(vec![2, 3], vec![0.0; 5]).is_none());
        assert!(Tensor::f32(vec![], vec![1.0]).is_some());
        assert!(Tensor::f32(vec![usize::MAX, 3], vec![]).is_none());
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
    }
}
