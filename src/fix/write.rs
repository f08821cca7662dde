//! Saving a fixed qparam.json without ever losing data: the output may be
//! no input (the model, an npy file of the set) nor any existing file; in
//! place, the original is
//! first copied to a backup that never replaces an earlier one
//! (`qparam.json.bak`, then `.bak.1`, ...), written from the very bytes
//! that were analysed; a file changed since it was analysed is left alone;
//! the file keeps its permissions; and everything is written atomically.
//! A qparam file reached through a symbolic link is fixed where it is when
//! the link is beside it, and refused when it is elsewhere (the new npy
//! files could not be found from both places).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::files::{refuse_inputs, same_file, AtomicFile, OutputIsInput};
use crate::qparam::QParamFile;

/// Why the fixed file was not written (nothing was).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FixError {
    #[error("cannot write `{path}`")]
    #[diagnostic(code(fix::write))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--fix-output `{0}` must be in the directory of the qparam file, so that its npy paths still resolve")]
    #[diagnostic(
        code(fix::output_dir),
        help("pick a name beside qparam.json, e.g. qparam.fixed.json")
    )]
    OutputElsewhere(PathBuf),
    #[error("--fix-output `{0}` is the qparam file itself")]
    #[diagnostic(
        code(fix::output_is_qparam),
        help("leave out --fix-output to fix the file in place (a backup is kept)")
    )]
    OutputIsQParam(PathBuf),
    #[error("--fix-output `{0}` exists")]
    #[diagnostic(
        code(fix::output_exists),
        help("--fix-output never replaces a file; remove it or pick a new name, e.g. qparam.fixed.json")
    )]
    OutputExists(PathBuf),
    #[error("--fix-output `{0}` is a backup of the qparam file")]
    #[diagnostic(
        code(fix::output_is_backup),
        help("backups are never replaced; pick another name, e.g. qparam.fixed.json")
    )]
    OutputIsBackup(PathBuf),
    #[error(transparent)]
    #[diagnostic(transparent)]
    OutputIsInput(#[from] OutputIsInput),
    #[error("`{0}` is not UTF-8 text, so --fix cannot edit it without changing other keys")]
    #[diagnostic(
        code(fix::not_utf8),
        help("save the file as UTF-8 first (finding Q104 shows where it is not)")
    )]
    NotUtf8(PathBuf),
    #[error("the fixes for `{0}` would not give a valid qparam file; it was left as it is")]
    #[diagnostic(
        code(fix::broken),
        help("this is a bug in q-implant's --fix: please report it with the file; `check` without --fix still lists every finding")
    )]
    Broken(PathBuf),
    #[error("`{link}` is a symbolic link to `{target}`, in another directory, so the npy files the fixes add could not be found from both")]
    #[diagnostic(
        code(fix::link_elsewhere),
        help("write the fixed set beside the link with --fix-output (e.g. qparam.fixed.json), or run check --fix on the file the link names")
    )]
    LinkElsewhere { link: PathBuf, target: PathBuf },
    #[error("`{0}` changed after it was analysed; it was left as it is")]
    #[diagnostic(
        code(fix::changed),
        help("another program is writing it; run check --fix again when it is done")
    )]
    Changed(PathBuf),
}

/// Where the fixed text went.
#[derive(Debug, PartialEq, Eq)]
pub struct FixWritten {
    pub path: PathBuf,
    /// The backup of the original, when fixed in place.
    pub backup: Option<PathBuf>,
}

/// Writes `fixed`, the text of `qparam` after the fixes: to `output`, or
/// over the qparam file after backing it up. `inputs` are files that may
/// never be written (the model, every npy file of the set).
pub fn write(
    qparam: &QParamFile,
    fixed: &str,
    output: Option<&Path>,
    inputs: &[&Path],
) -> Result<FixWritten, FixError> {
    if !qparam.is_utf8 {
        return Err(FixError::NotUtf8(qparam.path.clone()));
    }
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FixError::Write { path, source }
    };
    let permissions = std::fs::metadata(&qparam.path)
        .map_err(write_err(&qparam.path))?
        .permissions();
    match output {
        Some(out) => {
            if dir_of(out) != dir_of(&qparam.path) {
                return Err(FixError::OutputElsewhere(out.to_path_buf()));
            }
            if same_file(out, &qparam.path) {
                return Err(FixError::OutputIsQParam(out.to_path_buf()));
            }
            if is_backup_of(out, &qparam.path) {
                return Err(FixError::OutputIsBackup(out.to_path_buf()));
            }
            refuse_inputs(out, inputs.iter().copied())?;
            if std::fs::symlink_metadata(out).is_ok() {
                return Err(FixError::OutputExists(out.to_path_buf()));
            }
            write_new(out, fixed.as_bytes())?;
            Ok(FixWritten {
                path: out.to_path_buf(),
                backup: None,
            })
        }
        None => {
            // Through a symbolic link, the file it names is replaced (and
            // backed up beside it); the link stays a link.
            let resolved =
                std::fs::canonicalize(&qparam.path).unwrap_or_else(|_| qparam.path.clone());
            // New npy files go beside the path the set was read through; a
            // link into another directory would leave them behind.
            if resolved.parent() != Some(dir_of(&qparam.path).as_path()) {
                return Err(FixError::LinkElsewhere {
                    link: qparam.path.clone(),
                    target: resolved,
                });
            }
            let path = &resolved;
            // The file on disk must still be the one analysed.
            let now = std::fs::read(path).map_err(write_err(path))?;
            if now != qparam.bytes {
                return Err(FixError::Changed(path.clone()));
            }
            // Prepare the fixed file first, so that a directory we cannot
            // write to fails before any backup exists.
            let file = AtomicFile::create(path).map_err(write_err(path))?;
            (&mut file.as_file())
                .write_all(fixed.as_bytes())
                .map_err(write_err(path))?;
            file.set_permissions(permissions.clone())
                .map_err(write_err(path))?;
            file.sync().map_err(write_err(path))?;
            let backup = new_backup(path, &qparam.bytes, permissions)?;
            if std::fs::read(path).map_err(write_err(path))? != qparam.bytes {
                let _ = std::fs::remove_file(&backup);
                return Err(FixError::Changed(path.clone()));
            }
            file.commit(true).map_err(write_err(path))?;
            Ok(FixWritten {
                // Read back through the path given, as the set was read.
                path: qparam.path.clone(),
                backup: Some(backup),
            })
        }
    }
}

/// Whether `out` is named like a backup `--fix` makes of `qparam`
/// (`qparam.json.bak`, `qparam.json.bak.3`).
fn is_backup_of(out: &Path, qparam: &Path) -> bool {
    let (Some(name), Some(original)) = (out.file_name(), qparam.file_name()) else {
        return false;
    };
    let (name, original) = (name.to_string_lossy(), original.to_string_lossy());
    name.strip_prefix(&*original)
        .and_then(|rest| rest.strip_prefix(".bak"))
        .is_some_and(|n| {
            n.is_empty()
                || n.strip_prefix('.')
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn dir_of(p: &Path) -> PathBuf {
    let parent = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf())
}

/// Writes `bytes` to the first free name of `qparam.json.bak`,
/// `qparam.json.bak.1`, ...; a name is taken only if it did not exist, so
/// no earlier backup is ever replaced, even by a concurrent run.
fn new_backup(
    path: &Path,
    bytes: &[u8],
    permissions: std::fs::Permissions,
) -> Result<PathBuf, FixError> {
    for n in 0u32.. {
        let mut name = path.as_os_str().to_owned();
        name.push(".bak");
        if n > 0 {
            name.push(format!(".{n}"));
        }
        let backup = PathBuf::from(name);
        if std::fs::symlink_metadata(&backup).is_ok() {
            continue;
        }
        let err = |source| FixError::Write {
            path: backup.clone(),
            source,
        };
        let file = AtomicFile::create(&backup).map_err(err)?;
        (&mut file.as_file()).write_all(bytes).map_err(err)?;
        file.set_permissions(permissions.clone()).map_err(err)?;
        file.sync().map_err(err)?;
        match file.commit(false) {
            Ok(()) => return Ok(backup),
            // Taken meanwhile by another run: try the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(e)),
        }
    }
    unreachable!("some backup name is free")
}

/// Writes `bytes` to `path`, which must not exist (not even when another
/// program creates it meanwhile).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), FixError> {
    let err = |source| FixError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = AtomicFile::create(path).map_err(err)?;
    (&mut file.as_file()).write_all(bytes).map_err(err)?;
    file.sync().map_err(err)?;
    file.commit(false).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            FixError::OutputExists(path.to_path_buf())
        } else {
            err(e)
        }
    })
}
