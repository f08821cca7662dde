//! The quantized element types a qparam entry may name.

use crate::model::fb::TensorType;
use crate::qparam::npy::NpyType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QDType {
    U8,
    I8,
    I16,
    I32,
    I64,
}

impl QDType {
    pub const ALL: [QDType; 5] = [
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
            QDType::U8 => "uint8",
            QDType::I8 => "int8",
            QDType::I16 => "int16",
            QDType::I32 => "int32",
            QDType::I64 => "int64",
        }
    }

    pub fn tensor_type(self) -> TensorType {
        match self {
            QDType::U8 => TensorType::UINT8,
            QDType::I8 => TensorType::INT8,
            QDType::I16 => TensorType::INT16,
            QDType::I32 => TensorType::INT32,
            QDType::I64 => TensorType::INT64,
        }
    }

    pub fn npy_type(self) -> NpyType {
        match self {
            QDType::U8 => NpyType::U8,
            QDType::I8 => NpyType::I8,
            QDType::I16 => NpyType::I16,
            QDType::I32 => NpyType::I32,
            QDType::I64 => NpyType::I64,
        }
    }

    /// The values an element (and so a zero point) of this type can hold.
    pub fn range(self) -> (i64, i64) {
        match self {
            QDType::U8 => (0, 255),
            QDType::I8 => (-128, 127),
            QDType::I16 => (-32768, 32767),
            QDType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
            QDType::I64 => (i64::MIN, i64::MAX),
        }
    }

    pub fn size(self) -> usize {
        match self {
            QDType::U8 | QDType::I8 => 1,
            QDType::I16 => 2,
            QDType::I32 => 4,
            QDType::I64 => 8,
        }
    }
}
