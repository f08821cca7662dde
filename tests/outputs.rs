//! Outputs: only a regular file is ever replaced, and a run ended by a
//! signal or a file-size limit leaves neither a temporary file nor an
//! output behind (issue 9, item 10).

#![cfg(unix)]

mod common;

use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{empty_set, stderr_of, ModelBuilder, QSet, Scene};
use q_implant::model::fb;

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A character device of our own (a copy of /dev/null's numbers) when we
/// may make one, so that a failure of the guard cannot harm the system's;
/// /dev/null itself otherwise (which an unprivileged run cannot replace).
fn a_device(dir: &Path) -> PathBuf {
    let path = dir.join("null");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; makedev has no preconditions.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if made == 0 {
        path
    } else {
        PathBuf::from("/dev/null")
    }
}

/// Runs `command`, killing it and failing the test after `limit`.
fn output_within(mut command: Command, limit: Duration) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn apply_command(sc: &Scene, output: &Path, extra: &[&str]) -> Command {
    sc.set.save();
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("q-implant"));
    c.arg("apply")
        .arg(&sc.model)
        .arg(sc.set.path())
        .arg("-o")
        .arg(output)
        .args(extra);
    c
}

#[test]
fn a_fifo_output_is_refused_and_left_as_it_is() {
    let sc = Scene::mlp();
    let fifo = sc.dir.path().join("out.fifo");
    mkfifo(&fifo);
    for extra in [&[][..], &["--force"], &["--dry-run"]] {
        let output = output_within(apply_command(&sc, &fifo, extra), Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains("FIFO"), "{stderr}");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }
    let rewrite = output_within(
        {
            let mut c = Command::new(assert_cmd::cargo::cargo_bin("q-implant"));
            c.arg("rewrite")
                .arg(&sc.model)
                .arg("-o")
                .arg(&fifo)
                .arg("--force");
            c
        },
        Duration::from_secs(20),
    );
    assert_eq!(rewrite.status.code(), Some(2));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_device_output_is_refused_and_left_as_it_is() {
    let sc = Scene::mlp();
    let device = a_device(sc.dir.path());
    for extra in [&["--force"][..], &[]] {
        let output = output_within(apply_command(&sc, &device, extra), Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("a device, not a regular file"), "{stderr}");
        assert!(std::fs::metadata(&device)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    let run = common::q_implant()
        .arg("rewrite")
        .arg(&sc.model)
        .arg("-o")
        .arg(&device)
        .arg("--force")
        .assert()
        .code(2);
    assert!(stderr_of(&run).contains("device"));
    assert!(std::fs::metadata(&device)
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn a_directory_output_is_refused() {
    let sc = Scene::mlp();
    let dir = sc.dir.path().join("out.circle");
    std::fs::create_dir(&dir).unwrap();
    let run = sc.apply(&["--force"]).code(2);
    assert!(
        stderr_of(&run).contains("a directory"),
        "{}",
        stderr_of(&run)
    );
    assert!(dir.is_dir());
}

/// A model whose output takes long enough to write that a signal can land
/// while it is written: a quantized FULLY_CONNECTED, and a float constant
/// of 96 MiB that nothing reads (copied as it is).
fn slow_to_write(path: &Path) -> PathBuf {
    let mut b = ModelBuilder::default();
    let x = b.tensor("x", &[1, 4], None);
    let w = b.tensor("w", &[2, 4], Some(&[0.01; 8]));
    let y = b.tensor("y", &[1, 2], None);
    b.op(fb::BuiltinOperator::FULLY_CONNECTED, &[x, w, -1], &[y]);
    b.typed(
        "ballast",
        &[24 << 20],
        fb::TensorType::FLOAT32,
        Some(vec![0x3f; 96 << 20]),
    );
    b.save(path, &[x], &[y])
}

fn slow_set() -> QSet {
    let mut set = empty_set();
    set.add("x", "uint8", 0.02, 128, None);
    set.add("w", "uint8", 0.01, 128, Some(("|u1", &[2, 4], &[129; 8])));
    set.add("y", "uint8", 0.05, 128, None);
    set
}

/// Temporary files `apply` made beside `out`.
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out.circle.") && n.ends_with(".tmp"))
        .collect()
}

/// Sends `signal` to `apply` once its temporary file exists; retries
/// until the signal lands while the output is being written.
fn killed_mid_write(signal: libc::c_int) {
    let sc = Scene::built(slow_to_write, slow_set());
    sc.set.save();
    for attempt in 0..20 {
        let mut command = apply_command(&sc, &sc.out(), &[]);
        // A run started in the background inherits SIGINT ignored, and
        // `apply` rightly keeps an inherited ignore: give the child the
        // default, as a terminal would.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                libc::signal(signal, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut sent = false;
        while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
            if !temps(sc.dir.path()).is_empty() {
                // SAFETY: signalling our own child, which has not been reaped.
                unsafe { libc::kill(child.id() as libc::pid_t, signal) };
                sent = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let status = child.wait().unwrap();
        assert!(
            temps(sc.dir.path()).is_empty(),
            "signal {signal}: a temporary file remains (attempt {attempt}, {status:?})"
        );
        if sc.out().exists() {
            // The signal landed just after the rename, or not at all: the
            // output is complete. Try again for one that lands mid-write.
            q_implant::model::CircleFile::open(sc.out()).unwrap();
            std::fs::remove_file(sc.out()).unwrap();
            continue;
        }
        if sent && status.signal() == Some(signal) {
            return;
        }
    }
    panic!("signal {signal} never landed while the output was written");
}

#[test]
fn sigterm_mid_write_leaves_nothing() {
    killed_mid_write(libc::SIGTERM);
}

#[test]
fn sigint_and_sighup_mid_write_leave_nothing() {
    killed_mid_write(libc::SIGINT);
    killed_mid_write(libc::SIGHUP);
}

/// A file-size limit with SIGXFSZ at its default action (which would kill
/// the process): the write fails as an error, and nothing remains.
#[test]
fn a_file_size_limit_is_an_error_not_a_kill() {
    let sc = Scene::mlp();
    sc.set.save();
    let before = sc.inputs();
    let script = format!(
        "trap - XFSZ; ulimit -f 1; exec '{}' apply '{}' '{}' -o '{}'",
        assert_cmd::cargo::cargo_bin("q-implant").display(),
        sc.model.display(),
        sc.set.path().display(),
        sc.out().display()
    );
    let output = Command::new("bash").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.signal(), None, "killed: {stderr}");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert!(sc.inputs() == before);
    sc.assert_nothing_written();
}
