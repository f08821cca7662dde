//! A float interpreter for circle models, with a fake-quantized mode.
//!
//! [`Session`] runs one subgraph over N samples on float32 NHWC kernels,
//! operator by operator, and exposes every tensor's value as it is
//! produced (for layer-by-layer comparison and calibration). Quantized
//! tensors are held by their real values and moved onto their grid after
//! each operator, so running a quantized model simulates an integer
//! runtime; parameters can also be supplied for a float model
//! ([`Session::with_params`]).
//!
//! - [`value`]: tensors as the interpreter holds them;
//! - [`constants`]: constant tensors read from the model;
//! - [`quant`]: fake quantization;
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
