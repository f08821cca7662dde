//! Guards on the paths a command is given.

use std::path::{Path, PathBuf};

/// Refusals about where to write.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PathError {
    #[error("the output `{output}` is the input model `{input}`")]
    #[diagnostic(
        code(paths::output_is_input),
        help("write to a new file; q-implant never modifies its input")
    )]
    OutputIsInput { input: PathBuf, output: PathBuf },
}

/// Refuses to write `output` when it names the same file as `input` (also
/// through another spelling or a link), so the input can never be replaced.
pub fn refuse_same_file(input: &Path, output: &Path) -> Result<(), PathError> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(PathError::OutputIsInput {
            input: input.to_path_buf(),
            output: output.to_path_buf(),
        });
    }
    Ok(())
}
