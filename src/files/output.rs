//! Files that appear whole or not at all: written under a temporary name in
//! the destination's directory, flushed, then renamed over it.
//!
//! The temporary file is removed on every way out: an error (dropped
//! without [`AtomicFile::commit`]) and, on Unix, SIGINT, SIGTERM or SIGHUP
//! (a handler unlinks every file still being written, then lets the signal
//! end the process) and a file-size limit (SIGXFSZ is ignored so that the
//! write fails with EFBIG, an ordinary error).

use std::fs::{File, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::input::kind_of;

/// A file being written; dropped without [`AtomicFile::commit`], it vanishes.
pub struct AtomicFile {
    temp: NamedTempFile,
    dest: PathBuf,
    cleanup: cleanup::Registration,
}

/// Refuses to replace anything but a regular file (or a link to one): a
/// FIFO, a device or a directory would otherwise be replaced by a regular
/// file (`-o /dev/null` run as root would replace `/dev/null`).
pub fn refuse_special(dest: &Path) -> io::Result<()> {
    match std::fs::metadata(dest) {
        Ok(meta) if !meta.is_file() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is {}, not a regular file; q-implant writes a new file and renames it into place, so it only replaces regular files",
                dest.display(),
                kind_of(&meta)
            ),
        )),
        _ => Ok(()),
    }
}

impl AtomicFile {
    /// Starts a temporary file next to `dest` (same filesystem, so the final
    /// rename is atomic).
    pub fn create(dest: &Path) -> io::Result<Self> {
        refuse_special(dest)?;
        cleanup::install();
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
        // A signal between the file's creation and its registration would
        // leave it behind: the ending signals wait until it is registered.
        let (temp, cleanup) = cleanup::deferring_signals(|| {
            let temp = builder.tempfile_in(dir)?;
            let cleanup = cleanup::register(temp.path());
            Ok::<_, io::Error>((temp, cleanup))
        })?;
        Ok(AtomicFile {
            temp,
            dest: dest.to_path_buf(),
            cleanup,
        })
    }

    pub fn as_file(&self) -> &File {
        self.temp.as_file()
    }

    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Gives the file these permissions (to keep a replaced file's mode).
    pub fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        self.temp.as_file().set_permissions(permissions)
    }

    /// Flushes the data to disk before the rename makes it visible.
    pub fn sync(&self) -> io::Result<()> {
        self.temp.as_file().sync_all()
    }

    /// Renames the file into place. Without `overwrite`, an existing
    /// destination is an error and stays as it was.
    pub fn commit(self, overwrite: bool) -> io::Result<()> {
        refuse_special(&self.dest)?;
        let AtomicFile {
            temp,
            dest,
            cleanup,
        } = self;
        let result = if overwrite {
            temp.persist(&dest)
        } else {
            temp.persist_noclobber(&dest)
        };
        // Only the Unix registration has a drop (it unregisters the name).
        #[cfg_attr(not(unix), allow(clippy::drop_non_drop))]
        drop(cleanup);
        result.map(drop).map_err(|e| e.error)
    }
}

/// A new file that is removed again (on drop, or when a signal ends the
/// process) unless [`Pending::keep`] is called: for files that only make
/// sense if another write commits (the new npy files of a fixed set).
pub struct Pending {
    file: File,
    path: PathBuf,
    cleanup: Option<cleanup::Registration>,
}

impl Pending {
    /// Creates `path`, which must not exist yet.
    pub fn create_new(path: &Path) -> io::Result<Pending> {
        cleanup::install();
        let (file, cleanup) = cleanup::deferring_signals(|| {
            let file = File::options().write(true).create_new(true).open(path)?;
            Ok::<_, io::Error>((file, cleanup::register(path)))
        })?;
        Ok(Pending {
            file,
            path: path.to_path_buf(),
            cleanup: Some(cleanup),
        })
    }

    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the file for good.
    pub fn keep(mut self) {
        self.cleanup.take();
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.cleanup.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removal of temporary files (and the temporary directories holding
/// them) when a signal ends the process.
pub(super) mod cleanup {
    use std::path::Path;

    #[cfg(unix)]
    mod imp {
        use std::ffi::{c_char, c_int, CString};
        use std::path::Path;
        use std::ptr;
        use std::sync::atomic::{AtomicPtr, Ordering};
        use std::sync::Once;

        /// One registered path: a slot of a list that only grows (`--fix`
        /// may have thousands of new files pending at once). A slot is
        /// never freed, so the handler may walk the list at any moment;
        /// an empty slot is taken again by the next registration.
        struct Slot {
            path: AtomicPtr<c_char>,
            next: AtomicPtr<Slot>,
        }

        /// The newest slot; each points to the one before.
        static HEAD: AtomicPtr<Slot> = AtomicPtr::new(ptr::null_mut());

        /// Removes every registered path (async-signal-safe: loads,
        /// unlink and rmdir only): files first, then the directories they
        /// were in, which are empty by then (rmdir removes nothing else).
        fn unlink_all() {
            type Remove = unsafe extern "C" fn(*const c_char) -> c_int;
            for remove in [libc::unlink as Remove, libc::rmdir as Remove] {
                let mut at = HEAD.load(Ordering::SeqCst);
                while !at.is_null() {
                    // SAFETY: slots are leaked, never freed or moved.
                    let slot = unsafe { &*at };
                    let p = slot.path.load(Ordering::SeqCst);
                    if !p.is_null() {
                        // SAFETY: `p` is a leaked, NUL-terminated path.
                        unsafe { remove(p) };
                    }
                    at = slot.next.load(Ordering::SeqCst);
                }
            }
        }

        const ENDING: [c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

        extern "C" fn on_signal(signal: c_int) {
            unlink_all();
            // SAFETY: restoring the default action and re-raising are
            // async-signal-safe; the process then ends as the signal says.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::raise(signal);
            }
        }

        pub fn install() {
            static ONCE: Once = Once::new();
            ONCE.call_once(|| {
                // SAFETY: installing handlers for signals whose previous
                // action is the default; an ignored signal (nohup) stays
                // ignored. SIGXFSZ is ignored so writes fail with EFBIG.
                unsafe {
                    for signal in ENDING {
                        let mut old: libc::sigaction = std::mem::zeroed();
                        libc::sigaction(signal, ptr::null(), &mut old);
                        if old.sa_sigaction == libc::SIG_DFL {
                            let mut action: libc::sigaction = std::mem::zeroed();
                            action.sa_sigaction = on_signal as *const () as usize;
                            libc::sigemptyset(&mut action.sa_mask);
                            libc::sigaction(signal, &action, ptr::null_mut());
                        }
                    }
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                }
            });
        }

        /// Runs `f` with the ending signals blocked; one that arrives
        /// meanwhile is delivered when they are unblocked.
        pub fn deferring_signals<T>(f: impl FnOnce() -> T) -> T {
            // SAFETY: sigset_t is plain data, initialized by sigemptyset;
            // the mask is changed for this thread only and restored.
            unsafe {
                let mut block: libc::sigset_t = std::mem::zeroed();
                let mut old: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut block);
                for signal in ENDING {
                    libc::sigaddset(&mut block, signal);
                }
                libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
                let out = f();
                libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
                out
            }
        }

        pub struct Registration(Option<&'static Slot>);

        pub fn register(path: &Path) -> Registration {
            use std::os::unix::ffi::OsStrExt;
            let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
                return Registration(None);
            };
            let raw = c.into_raw();
            // An empty slot first; a new one at the head otherwise.
            let mut at = HEAD.load(Ordering::SeqCst);
            while !at.is_null() {
                // SAFETY: slots are leaked, never freed or moved.
                let slot: &'static Slot = unsafe { &*at };
                if slot
                    .path
                    .compare_exchange(ptr::null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return Registration(Some(slot));
                }
                at = slot.next.load(Ordering::SeqCst);
            }
            let slot: &'static Slot = Box::leak(Box::new(Slot {
                path: AtomicPtr::new(raw),
                next: AtomicPtr::new(ptr::null_mut()),
            }));
            let new = slot as *const Slot as *mut Slot;
            loop {
                let head = HEAD.load(Ordering::SeqCst);
                slot.next.store(head, Ordering::SeqCst);
                if HEAD
                    .compare_exchange(head, new, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return Registration(Some(slot));
                }
            }
        }

        impl Drop for Registration {
            fn drop(&mut self) {
                if let Some(slot) = self.0 {
                    slot.path.store(ptr::null_mut(), Ordering::SeqCst);
                }
            }
        }
    }

    // Windows has none of these signals (Ctrl-C ends the process without
    // unwinding); a temporary file it interrupts is left behind there.
    #[cfg(not(unix))]
    mod imp {
        use std::path::Path;

        pub fn install() {}

        pub fn deferring_signals<T>(f: impl FnOnce() -> T) -> T {
            f()
        }

        pub struct Registration;

        pub fn register(_: &Path) -> Registration {
            Registration
        }
    }

    pub use imp::{deferring_signals, Registration};

    pub fn install() {
        imp::install();
    }

    pub fn register(path: &Path) -> Registration {
        imp::register(path)
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

    #[test]
    fn special_files_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(dir.path()).err().unwrap();
        assert!(err.to_string().contains("directory"), "{err}");
        #[cfg(unix)]
        {
            let err = AtomicFile::create(Path::new("/dev/null")).err().unwrap();
            assert!(err.to_string().contains("device"), "{err}");
        }
    }
}
