//! Reading input files that may be untrusted: only regular files are opened
//! (a FIFO or a device never blocks or streams forever), and reads are
//! positioned and exact, so a file that shrank is an error, never a crash.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// An open regular file and the length it had when opened.
#[derive(Debug)]
pub struct InputFile {
    pub file: File,
    pub len: u64,
}

/// Opens `path` for reading, refusing anything but a regular file.
///
/// On Unix the file is opened non-blocking first, so that opening a FIFO
/// without a writer returns at once instead of waiting; the mode check on
/// the open descriptor then refuses it.
pub fn open_regular(path: &Path) -> io::Result<InputFile> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        // Windows opens no directory for reading: say what it is instead
        // of "access denied".
        #[cfg(not(unix))]
        Err(err) => {
            return match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() => Err(not_regular(&meta)),
                _ => Err(err),
            }
        }
        #[cfg(unix)]
        Err(err) => return Err(err),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok(InputFile {
        file,
        len: meta.len(),
    })
}

fn not_regular(meta: &std::fs::Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {}, not a regular file", kind_of(meta)),
    )
}

/// What kind of file system object `meta` describes, for messages.
pub fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
    }
    if ft.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Reads exactly `buf.len()` bytes of `src` from `offset`, as
/// [`read_exact_at`] reads a file: past the end is `UnexpectedEof`.
pub fn read_exact_in(src: &[u8], buf: &mut [u8], offset: u64) -> io::Result<()> {
    let bytes = usize::try_from(offset)
        .ok()
        .and_then(|start| src.get(start..start.checked_add(buf.len())?))
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "past the end of the bytes"))?;
    buf.copy_from_slice(bytes);
    Ok(())
}

/// Reads exactly `buf.len()` bytes at `offset`; a short file is
/// `UnexpectedEof`.
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ended early",
                    ))
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// `len` bytes of a file from `offset`, named by its path: opened only
/// while read or copied (a set of thousands of npy files never holds
/// thousands of descriptors), and refused if it no longer has the length it
/// had when checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRange {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
    /// The file's length when its contents were checked.
    pub file_len: u64,
}

impl PathRange {
    /// Opens the file again and checks that it is still what was checked.
    pub fn open(&self) -> io::Result<File> {
        let input = open_regular(&self.path)?;
        if input.len != self.file_len {
            return Err(io::Error::other(format!(
                "`{}` changed while q-implant was running: it was {} bytes, now {}",
                self.path.display(),
                self.file_len,
                input.len
            )));
        }
        Ok(input.file)
    }

    /// The bytes, read now.
    pub fn read(&self) -> io::Result<Vec<u8>> {
        let file = self.open()?;
        let mut out = vec![0; usize::try_from(self.len).map_err(io::Error::other)?];
        read_exact_at(&file, &mut out, self.offset)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_directories_and_fifos_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_regular(dir.path()).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("pipe");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let err = open_regular(&fifo).unwrap_err();
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
    }

    #[test]
    fn a_range_of_a_file_that_changed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let range = PathRange {
            path: path.clone(),
            offset: 2,
            len: 3,
            file_len: 10,
        };
        assert_eq!(range.read().unwrap(), b"234");
        std::fs::write(&path, b"01234").unwrap();
        assert!(range.read().unwrap_err().to_string().contains("changed"));
    }
}
