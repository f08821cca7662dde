//! Copying a range of one file to the end of another: by the kernel where
//! the platform has a call for it (Linux `copy_file_range`), otherwise
//! through a fixed 1 MiB buffer, so memory never grows with the size.

use std::fs::File;
use std::io::{self, Write};

use super::input::read_exact_at;

/// The most a copy holds in memory at once.
const CHUNK: u64 = 1 << 20;

/// Copies `len` bytes of `src` from `offset` to `out`, through memory.
pub fn through_memory<W: Write + ?Sized>(
    src: &File,
    offset: u64,
    len: u64,
    out: &mut W,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK.min(len) as usize];
    let mut done = 0u64;
    while done < len {
        let n = buf.len().min((len - done) as usize);
        read_exact_at(src, &mut buf[..n], offset + done)?;
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

/// Appends `len` bytes of `src` from `offset` at `dst`'s current position
/// (which advances). The caller has flushed anything buffered for `dst`.
pub fn append(src: &File, offset: u64, len: u64, dst: &File) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        kernel_copy(src, offset, len, dst)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut dst = dst;
        through_memory(src, offset, len, &mut dst)
    }
}

#[cfg(target_os = "linux")]
fn kernel_copy(src: &File, offset: u64, len: u64, dst: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut from = offset as libc::loff_t;
    let mut left = len;
    while left > 0 {
        let chunk = left.min(1 << 30) as usize;
        // SAFETY: both descriptors are open for the duration of the call; a
        // null output offset writes at (and advances) the file position.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut from,
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                chunk,
                0,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                // Not supported between these files: copy through memory.
                Some(libc::EXDEV | libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP) => {
                    let mut dst = dst;
                    through_memory(src, from as u64, left, &mut dst)
                }
                _ => Err(err),
            };
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the source file ended early",
            ));
        }
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    fn source() -> (File, Vec<u8>) {
        let mut f = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = (0..(3 << 20) + 17u32).map(|i| (i * 31) as u8).collect();
        f.write_all(&bytes).unwrap();
        (f, bytes)
    }

    /// `append` is the kernel copy on Linux and `through_memory` elsewhere;
    /// here both run, on ranges that start and end inside a buffer's worth.
    #[test]
    fn the_kernel_copy_and_the_portable_copy_agree() {
        let (src, bytes) = source();
        let read_all = |f: &mut File| {
            let mut v = Vec::new();
            f.seek(SeekFrom::Start(0)).unwrap();
            f.read_to_end(&mut v).unwrap();
            v
        };
        let total = bytes.len() as u64;
        for (offset, len) in [
            (5, (2 << 20) + 3),
            (0, CHUNK),
            (CHUNK - 1, CHUNK + 1),
            (7, 0),
            (total - 1, 1),
            (0, total),
        ] {
            let mut fast = tempfile::tempfile().unwrap();
            fast.write_all(b"head").unwrap();
            append(&src, offset, len, &fast).unwrap();
            let mut slow = tempfile::tempfile().unwrap();
            slow.write_all(b"head").unwrap();
            through_memory(&src, offset, len, &mut slow).unwrap();
            let range = offset as usize..(offset + len) as usize;
            let expected = [b"head".as_slice(), &bytes[range]].concat();
            assert!(read_all(&mut fast) == expected, "append {offset}+{len}");
            assert!(
                read_all(&mut slow) == expected,
                "through memory {offset}+{len}"
            );
        }
    }

    #[test]
    fn a_source_too_short_is_an_error() {
        let (src, bytes) = source();
        let dst = tempfile::tempfile().unwrap();
        assert!(append(&src, 0, bytes.len() as u64 + 1, &dst).is_err());
        let mut out = Vec::new();
        assert!(through_memory(&src, 0, bytes.len() as u64 + 1, &mut out).is_err());
    }
}
