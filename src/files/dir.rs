//! Directories that appear whole or not at all: their files are written
//! into a temporary sibling directory, which is renamed into place at the
//! end (swapped with the one it replaces, which is then removed).
//!
//! The temporary directory and every file in it are registered for removal
//! when SIGINT, SIGTERM or SIGHUP ends the process, and removed when the
//! value is dropped without [`AtomicDir::commit`]; the rename and the
//! removal of a replaced directory run with those signals held back, so a
//! signal never leaves half of either behind.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::input::kind_of;
use super::output::cleanup;

/// What is at a destination directory's path now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirState {
    Absent,
    Empty,
    /// A directory holding something.
    NotEmpty,
    /// Something that is not a directory (its kind, for messages).
    NotADirectory(&'static str),
}

/// What is at `path`, following a symbolic link.
pub fn dir_state(path: &Path) -> io::Result<DirState> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DirState::Absent),
        Err(e) => Err(e),
        Ok(meta) if !meta.is_dir() => Ok(DirState::NotADirectory(kind_of(&meta))),
        Ok(_) => Ok(if std::fs::read_dir(path)?.next().is_none() {
            DirState::Empty
        } else {
            DirState::NotEmpty
        }),
    }
}

/// A directory being written; dropped without [`AtomicDir::commit`], it
/// vanishes with everything in it.
pub struct AtomicDir {
    temp: PathBuf,
    dest: PathBuf,
    registrations: Vec<cleanup::Registration>,
    /// The files created in it, removed on drop.
    files: Vec<PathBuf>,
    /// The subdirectories created in it, removed on drop (after the files).
    dirs: Vec<PathBuf>,
    committed: bool,
}

impl AtomicDir {
    /// Starts a temporary directory beside `dest` (on the same file system,
    /// so that the final rename is atomic). Through a symbolic link, the
    /// directory it names is the one replaced.
    pub fn create(dest: &Path) -> io::Result<AtomicDir> {
        cleanup::install();
        let dest = std::fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf());
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        for n in 0u32.. {
            let temp = parent.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
            let made = cleanup::deferring_signals(|| {
                std::fs::create_dir(&temp)?;
                Ok::<_, io::Error>(cleanup::register(&temp))
            });
            match made {
                Ok(registration) => {
                    return Ok(AtomicDir {
                        temp,
                        dest,
                        registrations: vec![registration],
                        files: Vec::new(),
                        dirs: Vec::new(),
                        committed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("some temporary name is free")
    }

    /// Where the directory is being built.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The directory it will become.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Creates the new file `name` in the directory.
    pub fn create_file(&mut self, name: &str) -> io::Result<File> {
        let path = self.temp.join(name);
        let (file, registration) = cleanup::deferring_signals(|| {
            let file = File::options().write(true).create_new(true).open(&path)?;
            Ok::<_, io::Error>((file, cleanup::register(&path)))
        })?;
        self.registrations.push(registration);
        self.files.push(path);
        Ok(file)
    }

    /// Creates the subdirectory `name` in the directory, for files named
    /// `name/...`.
    pub fn create_dir(&mut self, name: &str) -> io::Result<()> {
        let path = self.temp.join(name);
        let registration = cleanup::deferring_signals(|| {
            std::fs::create_dir(&path)?;
            Ok::<_, io::Error>(cleanup::register(&path))
        })?;
        self.registrations.push(registration);
        self.dirs.push(path);
        Ok(())
    }

    /// Renames the directory into place. A directory already there is
    /// replaced only when `replace`, and only an empty one otherwise.
    pub fn commit(mut self, replace: bool) -> io::Result<()> {
        let result: io::Result<()> = cleanup::deferring_signals(|| {
            match std::fs::rename(&self.temp, &self.dest) {
                Ok(()) => Ok(None),
                Err(e) if replace && dir_state(&self.dest)? == DirState::NotEmpty => {
                    swap(&self.temp, &self.dest).map(Some).map_err(|_| e)
                }
                Err(e) => Err(e),
            }
            .map(|replaced| {
                // Nothing of ours is at the temporary paths any more.
                self.registrations.clear();
                self.committed = true;
                if let Some(old) = replaced {
                    let _ = std::fs::remove_dir_all(old);
                }
            })
        });
        // Not committed on an error: dropping removes the temporary
        // directory.
        result
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir(&self.temp);
        self.registrations.clear();
    }
}

/// Puts the directory `new` at `dest`, where a directory already is;
/// returns where the old one went (to be removed).
fn swap(new: &Path, dest: &Path) -> io::Result<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        if exchange(new, dest).is_ok() {
            return Ok(new.to_path_buf());
        }
    }
    // Two renames: the old directory aside, the new one in; put back on
    // failure.
    let mut aside = new.as_os_str().to_owned();
    aside.push(".old");
    let aside = PathBuf::from(aside);
    std::fs::rename(dest, &aside)?;
    if let Err(e) = std::fs::rename(new, dest) {
        let _ = std::fs::rename(&aside, dest);
        return Err(e);
    }
    Ok(aside)
}

/// Swaps two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn fill(d: &mut AtomicDir, files: &[(&str, &[u8])]) {
        for (name, bytes) in files {
            io::Write::write_all(&mut d.create_file(name).unwrap(), bytes).unwrap();
        }
    }

    #[test]
    fn a_dropped_directory_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        {
            let mut d = AtomicDir::create(&root.path().join("out")).unwrap();
            fill(&mut d, &[("a", b"1"), ("b", b"2")]);
        }
        assert!(names(root.path()).is_empty());
    }

    #[test]
    fn a_committed_directory_appears_whole() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let mut d = AtomicDir::create(&dest).unwrap();
        fill(&mut d, &[("a", b"1")]);
        d.commit(false).unwrap();
        assert_eq!(names(root.path()), ["out"]);
        assert_eq!(std::fs::read(dest.join("a")).unwrap(), b"1");
    }

    #[test]
    fn an_existing_directory_is_replaced_only_when_asked() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old"), b"x").unwrap();
        let mut d = AtomicDir::create(&dest).unwrap();
        fill(&mut d, &[("new", b"y")]);
        assert!(d.commit(false).is_err());
        assert_eq!(
            names(root.path()),
            ["out"],
            "no temporary directory remains"
        );
        assert_eq!(names(&dest), ["old"]);
        let mut d = AtomicDir::create(&dest).unwrap();
        fill(&mut d, &[("new", b"y")]);
        d.commit(true).unwrap();
        assert_eq!(names(root.path()), ["out"]);
        assert_eq!(names(&dest), ["new"]);
    }

    #[test]
    fn an_empty_directory_is_taken_without_asking() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        assert_eq!(dir_state(&dest).unwrap(), DirState::Empty);
        let mut d = AtomicDir::create(&dest).unwrap();
        fill(&mut d, &[("a", b"1")]);
        d.commit(false).unwrap();
        assert_eq!(names(&dest), ["a"]);
        std::fs::write(root.path().join("file"), b"").unwrap();
        assert_eq!(
            dir_state(&root.path().join("file")).unwrap(),
            DirState::NotADirectory("a regular file")
        );
    }
}
