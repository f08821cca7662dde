//! Files that appear whole or not at all: written under a temporary name in
//! the destination's directory, then renamed over it.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file being written; dropped without [`AtomicFile::commit`], it vanishes.
pub struct AtomicFile {
    temp: NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// Starts a temporary file next to `dest` (same filesystem, so the final
    /// rename is atomic).
    pub fn create(dest: &Path) -> io::Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A model is an ordinary file: readable by others, as `cp` would make it
        // (the process umask still applies), not the private mode temp files get.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir)?;
        Ok(AtomicFile {
            temp,
            dest: dest.to_path_buf(),
        })
    }

    pub fn as_file(&self) -> &File {
        self.temp.as_file()
    }

    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Flushes the data to disk before the rename makes it visible.
    pub fn sync(&self) -> io::Result<()> {
        self.temp.as_file().sync_all()
    }

    /// Renames the file into place. Without `overwrite`, an existing
    /// destination is an error and stays as it was.
    pub fn commit(self, overwrite: bool) -> io::Result<()> {
        let result = if overwrite {
            self.temp.persist(&self.dest)
        } else {
            self.temp.persist_noclobber(&self.dest)
        };
        result.map(drop).map_err(|e| e.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        {
            let f = AtomicFile::create(&dest).unwrap();
            io::Write::write_all(&mut f.as_file(), b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_refuses_to_clobber_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        std::fs::write(&dest, b"old").unwrap();
        let f = AtomicFile::create(&dest).unwrap();
        io::Write::write_all(&mut f.as_file(), b"new").unwrap();
        assert!(f.commit(false).is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let f = AtomicFile::create(&dest).unwrap();
        io::Write::write_all(&mut f.as_file(), b"new").unwrap();
        f.commit(true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
    }
}
