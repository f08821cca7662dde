//! A float interpreter for circle models, with quantized modes.
//!
//! [`Session`] runs one subgraph over N samples on float32 NHWC kernels,
//! operator by operator, and exposes every tensor's value as it is
//! produced (for layer-by-layer comparison and calibration). Quantized
//! tensors are held by their real values. Operators between 8-bit tensors
//! run on integer kernels that compute what TFLite's and onert's do
//! ([`integer`]); the others run their float kernel and their quantized
//! outputs are moved onto their grid ("fake quantization", which
//! [`Arithmetic::FakeQuant`] uses throughout). Parameters can also be
//! supplied for a float model ([`Session::with_params`]).
//!
//! - [`value`]: tensors as the interpreter holds them;
//! - [`constants`]: constant tensors read from the model;
//! - [`quant`]: fake quantization;
//! - [`integer`]: the integer kernels;
//! - [`schedule`]: execution order, last uses, the memory estimate;
//! - [`kernels`]: one file per operator, and the registry;
//! - [`gemm`]: matrix products;
//! - [`session`]: the run.

pub mod constants;
pub mod error;
pub mod gemm;
pub mod integer;
pub mod kernels;
pub mod quant;
pub mod schedule;
pub mod session;
pub mod value;

pub use error::{InterpretError, KernelError, Site};
pub use quant::Params;
pub use schedule::Schedule;
pub use session::{Arithmetic, Options, Outputs, Session, SkipReason, Skipped, State, Step};
pub use value::{Data, Kind, Tensor};
