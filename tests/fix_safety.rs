//! `check --fix` never loses data: its output is no input, backups are never
//! replaced and hold the bytes that were analysed, the file keeps its mode,
//! non-UTF-8 files are left alone, and nothing is reported as fixed before
//! the write commits (issue 9, item 9).

mod common;

use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

use common::{fixture, q_implant, snapshot, stderr_of, QSet};
use predicates::prelude::*;

/// The mlp set with `quantized_dimension` left out of `tico::x`: `--fix`
/// adds it (per-tensor parameters have no other axis), whatever the name
/// matcher concludes.
fn fixable() -> QSet {
    let mut set = QSet::copy_of("mlp");
    set.entry("tico::x").remove("quantized_dimension");
    set.save();
    set
}

fn fix(set: &QSet, extra: &[&str]) -> assert_cmd::assert::Assert {
    q_implant()
        .arg("check")
        .arg(fixture("mlp.circle"))
        .arg(set.path())
        .arg("--fix")
        .args(extra)
        .assert()
}

/// Names of the files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    names.sort();
    names
}

#[test]
fn fixing_adds_the_axis_and_keeps_a_backup() {
    let set = fixable();
    let original = std::fs::read(set.path()).unwrap();
    fix(&set, &[])
        .success()
        .stderr(predicate::str::contains("fixed `tico::x`"));
    let fixed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(set.path()).unwrap()).unwrap();
    assert_eq!(fixed["tico::x"]["quantized_dimension"], 0);
    let backup = set.dir.path().join("qparam.json.bak");
    assert_eq!(std::fs::read(backup).unwrap(), original);
}

#[test]
fn fix_output_may_be_no_input() {
    let set = fixable();
    // The model too, placed beside the set so that only the input guard
    // can refuse it.
    let model = set.dir.path().join("model.circle");
    std::fs::copy(fixture("mlp.circle"), &model).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("0.npy", set.dir.path().join("link.npy")).unwrap();
    let before = snapshot(set.dir.path());
    let mut outputs = vec!["0.npy", "17.npy", "model.circle", "./2.npy"];
    if cfg!(unix) {
        outputs.push("link.npy");
    }
    for output in outputs {
        let run = q_implant()
            .arg("check")
            .arg(&model)
            .arg(set.path())
            .args(["--fix", "--fix-output"])
            .arg(set.dir.path().join(output))
            .assert();
        let stderr = stderr_of(&run);
        run.code(2);
        assert!(stderr.contains("is the input"), "{output}: {stderr}");
        assert!(!stderr.contains("fixed `"), "{output}: {stderr}");
    }
    let run = q_implant()
        .arg("check")
        .arg(&model)
        .arg(set.path())
        .args(["--fix", "--fix-output"])
        .arg(set.path())
        .assert()
        .code(2);
    assert!(stderr_of(&run).contains("is the qparam file itself"));
    assert_eq!(snapshot(set.dir.path()), before, "nothing changed");
}

#[test]
fn an_existing_backup_is_never_replaced() {
    let set = fixable();
    let original = std::fs::read(set.path()).unwrap();
    let bak = set.dir.path().join("qparam.json.bak");
    std::fs::write(&bak, b"an earlier original").unwrap();
    fix(&set, &[])
        .success()
        .stderr(predicate::str::contains("the original is kept as"));
    assert_eq!(std::fs::read(&bak).unwrap(), b"an earlier original");
    let bak1 = set.dir.path().join("qparam.json.bak.1");
    assert_eq!(std::fs::read(&bak1).unwrap(), original);
    // A second export over the fixed file, fixed again: a third backup.
    std::fs::write(set.path(), &original).unwrap();
    fix(&set, &[]).success();
    assert_eq!(std::fs::read(&bak).unwrap(), b"an earlier original");
    assert_eq!(std::fs::read(&bak1).unwrap(), original);
    assert_eq!(
        std::fs::read(set.dir.path().join("qparam.json.bak.2")).unwrap(),
        original
    );
}

/// Several runs at once on one file: every backup holds the original,
/// never a fixed text, and the file ends up fixed.
#[test]
fn concurrent_runs_back_up_the_original_only() {
    for _ in 0..4 {
        let set = fixable();
        let original = std::fs::read(set.path()).unwrap();
        let runs: Vec<std::process::Child> = (0..4)
            .map(|_| {
                std::process::Command::new(assert_cmd::cargo::cargo_bin("q-implant"))
                    .arg("check")
                    .arg(fixture("mlp.circle"))
                    .arg(set.path())
                    .arg("--fix")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut run in runs {
            run.wait().unwrap();
        }
        let backups: Vec<String> = names(set.dir.path())
            .into_iter()
            .filter(|n| n.starts_with("qparam.json.bak"))
            .collect();
        assert!(!backups.is_empty());
        for b in &backups {
            assert_eq!(
                std::fs::read(set.dir.path().join(b)).unwrap(),
                original,
                "{b} must hold the original"
            );
        }
        let now: serde_json::Value =
            serde_json::from_slice(&std::fs::read(set.path()).unwrap()).unwrap();
        assert_eq!(now["tico::x"]["quantized_dimension"], 0);
        assert!(
            !names(set.dir.path()).iter().any(|n| n.ends_with(".tmp")),
            "no temporary file remains"
        );
    }
}

/// The same race, decided in-process: a file that changed after it was
/// analysed is left as it is, and no backup is made of it.
#[test]
fn a_file_changed_since_it_was_analysed_is_left_alone() {
    let set = fixable();
    let file = q_implant::model::CircleFile::open(fixture("mlp.circle")).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let analysis = q_implant::analysis::check(&graph, &set.path(), &Default::default()).unwrap();
    let plan = q_implant::fix::plan(&graph, &analysis, &Default::default()).unwrap();
    assert!(!plan.is_empty());
    let fixed = plan.text.clone();
    std::fs::write(set.path(), b"{\"meanwhile\": {}}").unwrap();
    let err = q_implant::fix::write(&analysis.qparam, &fixed, None, &[]).unwrap_err();
    assert!(
        err.to_string().contains("changed after it was analysed"),
        "{err}"
    );
    assert_eq!(std::fs::read(set.path()).unwrap(), b"{\"meanwhile\": {}}");
    assert!(!set.dir.path().join("qparam.json.bak").exists());
}

#[cfg(unix)]
#[test]
fn the_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o444, 0o640, 0o600] {
        let set = fixable();
        std::fs::set_permissions(set.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        // Root may write a read-only file; others get "permission denied"
        // from the rename's directory or the backup. Either way the mode
        // of what is left stays.
        let ok = fix(&set, &[]).get_output().status.success();
        let mode_of = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode_of(set.path()), mode, "qparam.json");
        if ok {
            assert_eq!(
                mode_of(set.dir.path().join("qparam.json.bak")),
                mode,
                "the backup"
            );
        }
    }
}

#[test]
fn a_file_that_is_not_utf8_is_refused() {
    let set = fixable();
    // A Latin-1 byte in a key that has nothing to do with the fix.
    let text = std::fs::read_to_string(set.path()).unwrap();
    let mut bytes = text
        .replacen('{', "{\n  \"caf\u{e9}\": {},", 1)
        .into_bytes();
    let at = bytes.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    bytes.splice(at..at + 2, [0xe9]);
    std::fs::write(set.path(), &bytes).unwrap();
    let before = snapshot(set.dir.path());
    let run = fix(&set, &[]).code(1);
    let stderr = stderr_of(&run);
    assert!(stderr.contains("not UTF-8 (Q104)"), "{stderr}");
    assert!(!stderr.contains("fixed `"), "{stderr}");
    assert_eq!(snapshot(set.dir.path()), before);
}

/// Runs `q-implant` as an unprivileged user when the tests run as root
/// (root writes to read-only directories); `None` if that is not possible.
#[cfg(unix)]
fn unprivileged() -> Option<std::process::Command> {
    let bin = assert_cmd::cargo::cargo_bin("q-implant");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(std::process::Command::new(bin));
    }
    let probe = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let mut c = std::process::Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin);
    Some(c)
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_reports_nothing_as_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let Some(mut command) = unprivileged() else {
        eprintln!("skipped: cannot run as an unprivileged user");
        return;
    };
    let set = fixable();
    let model = set.dir.path().join("model.circle");
    std::fs::copy(fixture("mlp.circle"), &model).unwrap();
    for entry in std::fs::read_dir(set.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(set.dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = snapshot(set.dir.path());
    let output = command
        .arg("check")
        .arg(&model)
        .arg(set.path())
        .arg("--fix")
        .output()
        .unwrap();
    std::fs::set_permissions(set.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert!(!stderr.contains("fixed `"), "{stderr}");
    assert_eq!(snapshot(set.dir.path()), before);
}

/// A write that fails midway (a file-size limit): nothing is reported as
/// fixed, the file and its directory stay as they were.
#[cfg(unix)]
#[test]
fn a_failed_write_reports_nothing_as_fixed() {
    let set = fixable();
    let before = snapshot(set.dir.path());
    let script = format!(
        "ulimit -f 0; exec '{}' check '{}' '{}' --fix",
        assert_cmd::cargo::cargo_bin("q-implant").display(),
        fixture("mlp.circle").display(),
        set.path().display()
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("fixed `"), "{stderr}");
    assert_eq!(snapshot(set.dir.path()), before);
}

/// The new npy files a fix writes exist only beside the fixed set that
/// names them: when the set cannot be written, they are removed again.
#[test]
fn new_arrays_are_removed_when_the_fixed_set_is_not_written() {
    let mut set = fixable();
    // A float64 scale: --fix writes its float32 repair as a new npy file.
    set.set_npy("tico::x", "scale", "<f8", &[1], &0.02f64.to_le_bytes());
    set.save();
    let before = names(set.dir.path());
    // An output the write refuses (a directory), after the arrays exist.
    std::fs::create_dir(set.dir.path().join("fixed.json")).unwrap();
    fix(
        &set,
        &[
            "--fix-output",
            set.dir.path().join("fixed.json").to_str().unwrap(),
        ],
    )
    .code(2)
    .stderr(predicate::str::contains("fixed `").not());
    let mut expected = before;
    expected.push("fixed.json".into());
    expected.sort();
    assert_eq!(names(set.dir.path()), expected, "no fix-N.npy may remain");
    // Written, they stay, and never over an existing file.
    std::fs::write(set.dir.path().join("fix-0.npy"), b"not ours").unwrap();
    fix(&set, &[]).success();
    assert_eq!(
        std::fs::read(set.dir.path().join("fix-0.npy")).unwrap(),
        b"not ours"
    );
    let fixed = std::fs::read_to_string(set.path()).unwrap();
    assert!(fixed.contains("\"fix-1.npy\""), "{fixed}");
    assert!(set.dir.path().join("fix-1.npy").exists());
}

#[test]
fn fix_output_may_not_name_a_backup() {
    let set = fixable();
    for name in ["qparam.json.bak", "qparam.json.bak.3"] {
        let backup = set.dir.path().join(name);
        std::fs::write(&backup, b"an earlier original").unwrap();
        fix(&set, &["--fix-output", backup.to_str().unwrap()])
            .code(2)
            .stderr(predicate::str::contains("is a backup"));
        assert_eq!(std::fs::read(&backup).unwrap(), b"an earlier original");
    }
}

#[test]
fn fix_output_never_replaces_an_existing_file() {
    let set = fixable();
    let notes = set.dir.path().join("notes.txt");
    std::fs::write(&notes, b"not the set's").unwrap();
    let before = snapshot(set.dir.path());
    let run = fix(&set, &["--fix-output", notes.to_str().unwrap()]).code(2);
    let stderr = stderr_of(&run);
    assert!(stderr.contains("exists"), "{stderr}");
    assert!(!stderr.contains("fixed `"), "{stderr}");
    assert_eq!(snapshot(set.dir.path()), before, "nothing changed");
    // A new name is written.
    let fixed = set.dir.path().join("fixed.json");
    fix(&set, &["--fix-output", fixed.to_str().unwrap()]).success();
    assert!(std::fs::read_to_string(&fixed)
        .unwrap()
        .contains("quantized_dimension"));
}

/// A model `--fix` completes with hundreds of new arrays: a chain of
/// MULs by float constants, each constant and each output without an entry.
#[cfg(unix)]
fn many_constants_model(path: &Path) -> PathBuf {
    let mut m = common::ModelBuilder::default();
    let x = m.tensor("x", &[1, 4], None);
    let mut prev = x;
    for i in 0..300 {
        // Distinct constants: equal small arrays would share one npy file.
        let k = 1.0 + i as f32 / 1000.0;
        let c = m.tensor(&format!("c{i}"), &[4], Some(&[0.5 * k, 1.0, 1.5, 2.0 * k]));
        let y = m.tensor(&format!("y{i}"), &[1, 4], None);
        m.op(q_implant::model::fb::BuiltinOperator::MUL, &[prev, c], &[y]);
        prev = y;
    }
    m.save(path, &[x], &[prev])
}

/// Ended by SIGTERM while it writes its new arrays, `--fix` leaves none of
/// them behind, however many there are.
#[cfg(unix)]
#[test]
fn a_signal_while_new_arrays_are_written_leaves_none() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};
    let fix_files = |dir: &Path| {
        names(dir)
            .into_iter()
            .filter(|n| n.starts_with("fix-"))
            .count()
    };
    for attempt in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let model = many_constants_model(&dir.path().join("m.circle"));
        let mut set = common::empty_set();
        set.add("x", "uint8", 0.02, 128, None);
        let path = set.save();
        let original = std::fs::read(&path).unwrap();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("q-implant"))
            .arg("check")
            .arg(&model)
            .arg(&path)
            .arg("--fix")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut sent = false;
        while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
            if fix_files(set.dir.path()) >= 40 {
                // SAFETY: signalling our own child, which has not been reaped.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                sent = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let status = child.wait().unwrap();
        if std::fs::read(&path).unwrap() != original {
            // The signal came after the fixed set was written (or never):
            // try again for one that lands while the arrays are written.
            continue;
        }
        if sent && status.signal() == Some(libc::SIGTERM) {
            assert_eq!(
                fix_files(set.dir.path()),
                0,
                "new arrays remain (attempt {attempt})"
            );
            return;
        }
    }
    panic!("SIGTERM never landed while the new arrays were written");
}

/// A qparam file reached through a symbolic link is fixed where it is: the
/// link stays a link, the file it names gets the fix, its backup is beside
/// it.
#[cfg(unix)]
#[test]
fn a_linked_qparam_file_is_fixed_through_the_link() {
    let set = fixable();
    let real = set.dir.path().join("real.json");
    std::fs::rename(set.path(), &real).unwrap();
    std::os::unix::fs::symlink("real.json", set.path()).unwrap();
    let original = std::fs::read(&real).unwrap();
    fix(&set, &[]).success();
    assert!(std::fs::symlink_metadata(set.path())
        .unwrap()
        .file_type()
        .is_symlink());
    let fixed = std::fs::read_to_string(&real).unwrap();
    assert!(fixed.contains("\"quantized_dimension\": 0"), "{fixed}");
    assert_eq!(
        std::fs::read(set.dir.path().join("real.json.bak")).unwrap(),
        original
    );
}

/// A link to a qparam file in another directory is not fixed in place:
/// the new npy files would be beside the link and the fixed text beside
/// the file, so neither would read back. Nothing changes, and the error
/// says what to do.
#[cfg(unix)]
#[test]
fn a_qparam_file_linked_from_another_directory_is_left_alone() {
    let set = fixable();
    let elsewhere = tempfile::tempdir().unwrap();
    let real = elsewhere.path().join("qparam.json");
    std::fs::rename(set.path(), &real).unwrap();
    std::os::unix::fs::symlink(&real, set.path()).unwrap();
    let (before, there) = (snapshot(set.dir.path()), snapshot(elsewhere.path()));
    let run = fix(&set, &[]).code(2);
    let stderr = stderr_of(&run);
    assert!(stderr.contains("is a symbolic link to"), "{stderr}");
    assert!(stderr.contains("--fix-output"), "{stderr}");
    assert!(
        snapshot(set.dir.path()) == before,
        "nothing beside the link changed"
    );
    assert!(
        snapshot(elsewhere.path()) == there,
        "nothing beside the file changed"
    );
}

/// With a key written twice, which copy an edit means is a guess: `--fix`
/// changes nothing, says why, and marks nothing fixable.
#[test]
fn a_key_written_twice_stops_the_fix_and_says_why() {
    let set = QSet::copy_of("mlp");
    let text = serde_json::to_string_pretty(&set.json).unwrap();
    let x = set.json["tico::x"].to_string();
    let qparam = set.save_raw(
        text.replacen('{', &format!("{{\n  \"tico::x\": {x},"), 1)
            .as_bytes(),
    );
    let before = snapshot(set.dir.path());
    let (doc, _) = common::check_json(&fixture("mlp.circle"), &qparam);
    assert_eq!(doc["summary"]["fixable"], 0);
    let run = fix(&set, &[]).code(1);
    let stderr = stderr_of(&run);
    assert!(stderr.contains("written more than once (Q103)"), "{stderr}");
    assert!(!stderr.contains("bug"), "{stderr}");
    assert!(snapshot(set.dir.path()) == before, "nothing was changed");
}

/// A float64 scale that float32 cannot hold is not "repaired" into an
/// infinite or zero one, and is not marked fixable.
#[test]
fn a_scale_float32_cannot_hold_is_left_as_it_is() {
    for value in [1e300f64, 1e-300] {
        let mut set = QSet::copy_of("mlp");
        let k = set.key("::relu");
        let bytes: Vec<u8> = value.to_le_bytes().to_vec();
        set.set_npy(&k, "scale", "<f8", &[1], &bytes);
        let qparam = set.save();
        let (doc, _) = common::check_json(&fixture("mlp.circle"), &qparam);
        let q306 = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "Q306")
            .unwrap();
        assert_eq!(q306["fixable"], false, "{value}");
        fix(&set, &[]);
        let (after, _) = common::check_json(&fixture("mlp.circle"), &set.path());
        assert!(
            !common::codes(&after).contains(&"Q401".to_string()),
            "{value}: {after:#}"
        );
    }
}

/// `--fix` never adds an entry for a tensor the user keeps float on
/// purpose, and marks no such finding fixable.
#[test]
fn fix_leaves_allowed_float_tensors_float() {
    let mut set = QSet::copy_of("story");
    let float = [
        "__main__.modules.<locals>.SubNet::relu_2",
        "torch.nn.modules.conv.Conv2d::permute_default_8",
        "torch.nn.modules.conv.Conv2d::conv2d_5",
        "tico::_prop_tensor_constant0",
        "tico::p_subnet_conv3_bias",
    ];
    for k in float {
        set.json.remove(k).unwrap();
    }
    set.save();
    let allow = float.join(",");
    let check = |extra: &[&str]| {
        q_implant()
            .arg("check")
            .arg(fixture("story.circle"))
            .arg(set.path())
            .args(["--allow-float", &allow, "--format", "json"])
            .args(extra)
            .output()
            .unwrap()
    };
    let before = check(&[]);
    assert_eq!(before.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(doc["summary"]["fixable"], 0, "{doc:#}");
    let fixed = check(&["--fix"]);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(set.path()).unwrap()).unwrap();
    for k in float {
        assert!(!json.contains_key(k), "--fix added `{k}`");
    }
}
