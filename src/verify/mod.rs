//! `verify`: the float model and the quantized one run side by side in
//! the interpreter, and what quantization costs, tensor by tensor.

pub mod html;
pub mod human;
pub mod metrics;
pub mod report;
