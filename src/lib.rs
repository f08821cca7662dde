//! q-implant: validate quantization parameters exported from a framework
//! against a circle model, and implant them.
//!
//! Data flows one way: [`model`] (the file) → [`graph`] (a view of tensors
//! and operators) → [`qparam`] (the parameter set, with typed problems) →
//! [`analysis`] (rules and the name matcher) → [`plan`] → [`report`],
//! [`fix`] or [`implant`] → [`model::save`]; [`extract`] reads a model's
//! parameters back as a set, and [`diff`] compares two sets or models. [`config`], [`files`], [`span`],
//! [`scan`], [`diagnostic`] and [`table`] are leaves every phase may use.
//! [`interpret`] runs a model's subgraph (float, or fake-quantized) on top
//! of [`model`] and [`graph`].

// The generated FlatBuffers bindings name `alloc::` paths.
extern crate alloc;

pub mod analysis;
pub mod calibrate;
#[cfg(feature = "cli")]
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod extract;
pub mod files;
pub mod fix;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod implant;
pub mod interpret;
pub mod model;
pub mod packed;
pub mod plan;
pub mod qparam;
pub mod report;
pub mod samples;
pub mod scan;
pub mod span;
pub mod table;
pub mod verify;
