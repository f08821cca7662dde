//! The quantized element types a qparam entry may name. int4 and uint4
//! values are saved one a byte (in an int8 and a uint8 npy file); the
//! model stores them packed (`crate::packed`).

use crate::model::fb::TensorType;
use crate::qparam::npy::NpyType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QDType {
    U4,
    I4,
    U8,
    I8,
    I16,
    I32,
    I64,
}

impl QDType {
    pub const ALL: [QDType; 7] = [
        QDType::U4,
        QDType::I4,
        QDType::U8,
        QDType::I8,
        QDType::I16,
        QDType::I32,
        QDType::I64,
    ];

    /// Parses a `dtype` value, ignoring case as the C++ tool does.
    pub fn parse(text: &str) -> Option<QDType> {
        QDType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(text))
    }

    pub fn name(self) -> &'static str {
        match self {
            QDType::U4 => "uint4",
            QDType::I4 => "int4",
            QDType::U8 => "uint8",
            QDType::I8 => "int8",
            QDType::I16 => "int16",
            QDType::I32 => "int32",
            QDType::I64 => "int64",
        }
    }

    /// The tensor type of a tensor holding these values one by one (for
    /// int4 and uint4, packed two a byte; blocks with their own scales
    /// are other types: `crate::plan::QuantParams::packing`).
    pub fn tensor_type(self) -> TensorType {
        match self {
            QDType::U4 => TensorType::UINT4,
            QDType::I4 => TensorType::INT4,
            QDType::U8 => TensorType::UINT8,
            QDType::I8 => TensorType::INT8,
            QDType::I16 => TensorType::INT16,
            QDType::I32 => TensorType::INT32,
            QDType::I64 => TensorType::INT64,
        }
    }

    /// The npy type a `value` of this dtype is saved as.
    pub fn npy_type(self) -> NpyType {
        match self {
            QDType::U4 | QDType::U8 => NpyType::U8,
            QDType::I4 | QDType::I8 => NpyType::I8,
            QDType::I16 => NpyType::I16,
            QDType::I32 => NpyType::I32,
            QDType::I64 => NpyType::I64,
        }
    }

    /// The values an element (and so a zero point) of this type can hold.
    pub fn range(self) -> (i64, i64) {
        match self {
            QDType::U4 => (0, 15),
            QDType::I4 => (-8, 7),
            QDType::U8 => (0, 255),
            QDType::I8 => (-128, 127),
            QDType::I16 => (-32768, 32767),
            QDType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
            QDType::I64 => (i64::MIN, i64::MAX),
        }
    }

    /// Bytes an element takes in a `value` npy file.
    pub fn size(self) -> usize {
        match self {
            QDType::U4 | QDType::I4 | QDType::U8 | QDType::I8 => 1,
            QDType::I16 => 2,
            QDType::I32 => 4,
            QDType::I64 => 8,
        }
    }
}

impl QDType {
    /// Whether values of this type take less than a byte in a model.
    pub fn is_sub_byte(self) -> bool {
        matches!(self, QDType::U4 | QDType::I4)
    }
}
