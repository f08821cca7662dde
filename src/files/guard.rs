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
    #[cfg(windows)]
    {
        let _ = (ma, mb);
        match (windows::file_id(a), windows::file_id(b)) {
            (Some(a), Some(b)) => a == b,
            _ => same_canonical_path(a, b),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (ma, mb);
        same_canonical_path(a, b)
    }
}

/// The fallback where a file's identity is unknown: it sees every spelling
/// and symbolic link, but no hard link.
#[cfg(not(unix))]
fn same_canonical_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A file's identity on Windows, its volume and file index (what device
/// and inode are on Unix), which std has no stable call for.
#[cfg(windows)]
mod windows {
    use std::ffi::c_void;
    use std::mem::MaybeUninit;
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    use std::path::Path;

    /// `BY_HANDLE_FILE_INFORMATION`; only the identity is read.
    #[allow(dead_code)]
    #[repr(C)]
    struct Information {
        attributes: u32,
        times: [u32; 6],
        volume_serial_number: u32,
        size_high: u32,
        size_low: u32,
        links: u32,
        index_high: u32,
        index_low: u32,
    }

    #[link(name = "kernel32")]
    extern "system" {
        fn GetFileInformationByHandle(file: *mut c_void, info: *mut Information) -> i32;
    }

    /// Opens a directory too, as `std::fs::metadata` does.
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;

    pub fn file_id(path: &Path) -> Option<(u32, u64)> {
        // No access right: reading attributes needs none, and the file
        // stays usable by anyone else.
        let file = std::fs::OpenOptions::new()
            .access_mode(0)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
            .open(path)
            .ok()?;
        let mut info = MaybeUninit::<Information>::uninit();
        // SAFETY: an open handle, and a buffer of the layout the call fills.
        if unsafe { GetFileInformationByHandle(file.as_raw_handle(), info.as_mut_ptr()) } == 0 {
            return None;
        }
        // SAFETY: the call succeeded, so it filled the buffer.
        let info = unsafe { info.assume_init() };
        let index = (u64::from(info.index_high) << 32) | u64::from(info.index_low);
        Some((info.volume_serial_number, index))
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

/// A directory output that holds one of the inputs: replacing it would
/// delete the input.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the output directory `{output}` holds the input `{input}`")]
#[diagnostic(
    code(paths::output_holds_input),
    help("write to a new directory; q-implant never removes its inputs, even with --force")
)]
pub struct OutputHoldsInput {
    pub input: PathBuf,
    pub output: PathBuf,
}

/// Refuses a directory `output` that is, or holds, any of `inputs`
/// (resolving links; an output that does not exist yet holds nothing).
pub fn refuse_inputs_within<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), OutputHoldsInput> {
    let Ok(dir) = output.canonicalize() else {
        return Ok(());
    };
    for input in inputs {
        if input.canonicalize().is_ok_and(|i| i.starts_with(&dir)) {
            return Err(OutputHoldsInput {
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
    fn a_directory_holding_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.circle");
        std::fs::write(&model, b"x").unwrap();
        assert!(refuse_inputs_within(dir.path(), [model.as_path()]).is_err());
        let other = tempfile::tempdir().unwrap();
        assert!(refuse_inputs_within(other.path(), [model.as_path()]).is_ok());
        assert!(refuse_inputs_within(&dir.path().join("new"), [model.as_path()]).is_ok());
    }

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
