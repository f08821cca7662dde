//! `check --fix --diff`: what `--fix` would change, as `ruff --fix --diff`
//! says it: the diff is exactly what `--fix` then writes, and nothing is
//! written, not even for a moment.

mod common;

use std::path::Path;

use common::{fixture, q_implant, snapshot, stderr_of, stdout_of};

fn copy_of(set: &str, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for e in std::fs::read_dir(fixture(set)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

/// Watches `dir` for any file created, written or removed in it (Linux
/// inotify), so that even a file removed again is seen.
#[cfg(target_os = "linux")]
struct Watch(i32);

#[cfg(target_os = "linux")]
impl Watch {
    fn new(dir: &Path) -> Watch {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: plain system calls on a descriptor we own.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_NONBLOCK);
            assert!(fd >= 0);
            let mask = libc::IN_CREATE | libc::IN_MODIFY | libc::IN_DELETE | libc::IN_MOVED_TO;
            assert!(libc::inotify_add_watch(fd, path.as_ptr(), mask) >= 0);
            Watch(fd)
        }
    }

    /// Whether anything happened in the directory since.
    fn saw_anything(&self) -> bool {
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a buffer we own from our descriptor.
        let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        n > 0
    }
}

#[cfg(target_os = "linux")]
impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: closing our own descriptor once.
        unsafe { libc::close(self.0) };
    }
}

#[test]
fn the_diff_is_what_the_fix_then_writes_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let (preview, fixed) = (root.path().join("preview"), root.path().join("fixed"));
    copy_of("story.torch-qparam", &preview);
    copy_of("story.torch-qparam", &fixed);
    let model = fixture("story.circle");
    let before = snapshot(&preview);
    #[cfg(target_os = "linux")]
    let watch = Watch::new(&preview);
    let run = q_implant()
        .current_dir(root.path())
        .args(["check", model.to_str().unwrap(), "preview/qparam.json"])
        .args(["--fix", "--diff", "--isolated"])
        .assert()
        .code(1);
    #[cfg(target_os = "linux")]
    assert!(!watch.saw_anything(), "--diff touched the set's directory");
    assert_eq!(snapshot(&preview), before, "nothing changed");
    assert!(stderr_of(&run).contains("would fix"), "{}", stderr_of(&run));
    let out = stdout_of(&run);

    q_implant()
        .current_dir(root.path())
        .args(["check", model.to_str().unwrap(), "fixed/qparam.json"])
        .args(["--fix", "--isolated", "-q"])
        .assert()
        .success();
    let original = std::fs::read_to_string(preview.join("qparam.json")).unwrap();
    let written = std::fs::read_to_string(fixed.join("qparam.json")).unwrap();
    let (minus, plus): (Vec<&str>, Vec<&str>) = (
        out.lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .map(|l| &l[1..])
            .collect(),
        out.lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .map(|l| &l[1..])
            .collect(),
    );
    // Every removed line was in the original, every added one is in the
    // file --fix wrote, and applying the hunks gives that file.
    assert!(minus.iter().all(|l| original.lines().any(|o| o == *l)));
    assert!(plus.iter().all(|l| written.lines().any(|w| w == *l)));
    assert_eq!(
        original.lines().count() - minus.len() + plus.len(),
        written.lines().count()
    );
    // The new files listed are the ones --fix wrote, with their sizes.
    let mut listed: Vec<(String, u64)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("new file "))
        .map(|l| {
            let path = l.split(" (").next().unwrap();
            let bytes: u64 = l
                .rsplit(", ")
                .next()
                .unwrap()
                .trim_end_matches(" bytes)")
                .parse()
                .unwrap();
            let name = Path::new(path).file_name().unwrap();
            (name.to_string_lossy().into_owned(), bytes)
        })
        .collect();
    let mut made: Vec<(String, u64)> = std::fs::read_dir(&fixed)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("fix-"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    listed.sort();
    made.sort();
    assert!(!made.is_empty());
    assert_eq!(listed, made);
}

#[test]
fn a_set_with_nothing_to_fix_gives_an_empty_diff_and_exit_0() {
    let run = q_implant()
        .args(["check", fixture("mlp.circle").to_str().unwrap()])
        .arg(fixture("mlp.qparam/qparam.json"))
        .args(["--fix", "--diff", "--isolated"])
        .assert()
        .code(0);
    assert_eq!(stdout_of(&run), "");
    q_implant()
        .args(["check", "m.circle", "q.json", "--diff"])
        .assert()
        .code(2);
}
