//! `rewrite`: the same model written again, in the layout asked for.

use std::path::Path;

use super::Observer;
use crate::files::{self, OutputIsInput};
use crate::model::{self, CircleFile, Layout, ModelError, ModelParts, Written};

/// Why the model was not written (nothing was).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RewriteError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    OutputIsInput(#[from] OutputIsInput),
}

/// Reads `model` and writes it to `output` in `layout`, atomically; an
/// existing `output` is replaced only when `force`, the input never.
pub fn rewrite(
    model: &Path,
    output: &Path,
    layout: Layout,
    force: bool,
    observer: &dyn Observer,
) -> Result<Written, RewriteError> {
    files::refuse_inputs(output, [model])?;
    observer.phase(&format!("writing {}", output.display()));
    let file = CircleFile::open(model)?;
    let parts = ModelParts::from_file(&file)?;
    Ok(model::save(&parts, layout, output, force)?)
}
