//! q-implant: validate quantization parameters exported from a framework
//! against a circle model, and implant them.
//!
//! Data flows one way: [`model`] (the file) → [`graph`] (a view of tensors and
//! operators) → analysis → report, or → implant → [`model::save`].

// The generated FlatBuffers bindings name `alloc::` paths.
extern crate alloc;

pub mod analysis;
pub mod apply;
pub mod atomic_file;
pub mod fix;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod implant;
pub mod inspect;
pub mod model;
pub mod paths;
pub mod qparam;
pub mod report;
