//! `verify`: the float model and the quantized one run side by side in
//! the interpreter, and what quantization costs, tensor by tensor: the
//! samples ([`inputs`]), the run and its pairing of tensors ([`compare`]),
//! the measures ([`metrics`]), the report ([`report`]) and its forms for
//! people ([`human`]) and as a page ([`html`]), and the outputs saved as
//! npy files ([`save`]).

pub mod compare;
pub mod html;
pub mod human;
pub mod inputs;
pub mod metrics;
pub mod report;
pub mod save;
