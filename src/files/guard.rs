//! Guards on the paths a command writes: an output may never be one of
//! the command's inputs, whatever flags are given.

use std::path::{Path, PathBuf};

/// A write that would replace one of the inputs.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the output `{output}` is the input `{input}`")]
#[diagnostic(
    code(paths::output_is_input),
    help("write to a new file; q-implant never modifies its inputs, even with --force")
)]
pub struct OutputIsInput {
    pub input: PathBuf,
    pub output: PathBuf,
}

/// Whether `a` and `b` name the same existing file, through any spelling,
/// symbolic link or hard link.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Refuses `output` when it is any of `inputs`.
pub fn refuse_inputs<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), OutputIsInput> {
    for input in inputs {
        if same_file(input, output) {
            return Err(OutputIsInput {
                input: input.to_path_buf(),
                output: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_and_link_of_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.circle");
        std::fs::write(&model, b"x").unwrap();
        let dotted = dir.path().join(".").join("m.circle");
        let hard = dir.path().join("hard.circle");
        std::fs::hard_link(&model, &hard).unwrap();
        for spelling in [&model, &dotted, &hard] {
            assert!(refuse_inputs(spelling, [model.as_path()]).is_err());
        }
        #[cfg(unix)]
        {
            let soft = dir.path().join("soft.circle");
            std::os::unix::fs::symlink(&model, &soft).unwrap();
            assert!(refuse_inputs(&soft, [model.as_path()]).is_err());
        }
        assert!(refuse_inputs(&dir.path().join("new.circle"), [model.as_path()]).is_ok());
    }
}
