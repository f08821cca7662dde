//! The circle file format: reading (the FlatBuffer verified in memory of
//! our own, payloads read by range), the generated FlatBuffers bindings,
//! and writing in either layout.

#[allow(
    clippy::all,
    clippy::pedantic,
    unused_imports,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    deprecated,
    unsafe_op_in_unsafe_fn,
    mismatched_lifetime_syntaxes
)]
#[rustfmt::skip]
mod circle_generated;
mod error;
mod payload;
mod reader;
pub mod writer;

use std::path::Path;

pub use circle_generated::circle as fb;
pub use error::ModelError;
pub use payload::{FileRange, Payload};
pub use reader::{CircleFile, PayloadRef, FLATBUFFER_LIMIT};
pub use writer::{Layout, ModelParts, Written};

use crate::files::AtomicFile;

/// Writes `parts` to `dest` atomically: into a temporary file beside it,
/// verified by reading it back, then renamed into place. On any failure
/// `dest` is untouched and no temporary file remains.
pub fn save(
    parts: &ModelParts<'_>,
    layout: Layout,
    dest: &Path,
    overwrite: bool,
) -> Result<Written, ModelError> {
    let write_err = |source| ModelError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let file = AtomicFile::create(dest).map_err(write_err)?;
    let written = writer::write(parts, layout, &mut writer::FileSink::new(file.as_file()))
        .map_err(|e| e.at(dest))?;
    file.sync().map_err(write_err)?;
    CircleFile::open(file.temp_path()).map_err(|e| ModelError::Corrupt {
        path: dest.to_path_buf(),
        reason: format!("the written model did not read back ({e}); nothing was written"),
    })?;
    file.commit(overwrite).map_err(write_err)?;
    Ok(written)
}
