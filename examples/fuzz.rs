//! A fuzz driver for the stable toolchain (no cargo-fuzz, no sanitizers):
//! feeds each target of `q_implant::fuzzing` with seeded random mutations
//! of the fixtures for a bounded time and reports the runs per target.
//!
//! ```sh
//! cargo run --release --example fuzz -- --seconds 60
//! cargo run --release --example fuzz -- --target check_set --seconds 300 --seed 7
//! cargo run --release --example fuzz -- --replay target/fuzz-crashes/check_set-1f2e3d4c5b6a7988
//! ```
//!
//! Mutations: bit flips, interesting bytes, insertions, deletions,
//! duplications, splices of two inputs, truncations, and JSON-aware edits
//! (strings, numbers and members replaced, dropped or duplicated), stacked
//! one to four at a time. Inputs that ran cleanly join the corpus now and
//! then, so mutations build on each other. A panic saves the input under
//! `target/fuzz-crashes/` and fails the run (exit code 1); so does an input
//! that runs for more than `--timeout` seconds. The same `--seed` replays
//! the same inputs (with `--runs` instead of `--seconds`, exactly).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use q_implant::fuzzing::{self, SET_MAX_FILES, SET_SEPARATOR};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 7] = [
    ("read_model", fuzzing::read_model),
    ("parse_qparam", fuzzing::parse_qparam),
    ("check_set", fuzzing::check_set),
    ("extract_model", fuzzing::extract_model),
    ("diff_sets", fuzzing::diff_sets),
    ("verify_model", fuzzing::verify_model),
    ("read_samples", fuzzing::read_samples),
];

/// The corpus never grows past this many inputs per target.
const CORPUS_MAX: usize = 4096;

/// One in this many clean runs adds its input to the corpus.
const KEEP_ONE_IN: u64 = 32;

/// Inputs are cut to this size: larger ones only slow the search.
const INPUT_MAX: usize = 1 << 20;

/// splitmix64: small, fast, and the same sequence for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

struct Options {
    seconds: f64,
    runs: Option<u64>,
    seed: u64,
    targets: Vec<String>,
    timeout: u64,
    replay: Vec<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 60.0,
        runs: None,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        targets: Vec::new(),
        timeout: 30,
        replay: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--seconds" => o.seconds = value().parse().unwrap_or_else(|_| usage("--seconds N")),
            "--runs" => o.runs = Some(value().parse().unwrap_or_else(|_| usage("--runs N"))),
            "--seed" => o.seed = value().parse().unwrap_or_else(|_| usage("--seed N")),
            "--target" => o.targets.push(value()),
            "--timeout" => o.timeout = value().parse().unwrap_or_else(|_| usage("--timeout N")),
            "--replay" => o.replay.push(PathBuf::from(value())),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument `{other}`")),
        }
    }
    for t in &o.targets {
        if !TARGETS.iter().any(|(n, _)| n == t) {
            usage(&format!("no target `{t}`"));
        }
    }
    o
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("fuzz: {problem}");
    }
    eprintln!(
        "usage: cargo run --release --example fuzz -- [--seconds N | --runs N] [--seed N] \
         [--target {}]... [--timeout SECONDS] [--replay FILE]...",
        TARGETS.map(|(n, _)| n).join("|")
    );
    std::process::exit(2)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture parameter set as a [`fuzzing::check_set`] input.
fn set_input(model: &str, set: &Path) -> Option<Vec<u8>> {
    let mut out = vec![fuzzing::set_model_options(model)?];
    out.extend(std::fs::read(set.join("qparam.json")).ok()?);
    for i in 0..SET_MAX_FILES {
        let Ok(npy) = std::fs::read(set.join(format!("{i}.npy"))) else {
            break;
        };
        out.extend_from_slice(SET_SEPARATOR);
        out.extend(npy);
    }
    Some(out)
}

/// An `.npz` archive holding `npy` as the array `name`, as numpy's
/// `savez` writes it.
fn npz(name: &str, npy: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if zip.start_file(format!("{name}.npy"), options).is_ok() {
        let _ = zip.write_all(npy);
    }
    let _ = zip.finish();
    out.into_inner()
}

/// The starting inputs of a target: the fixtures it reads, and what the
/// fuzzers once found.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let fixtures = root().join("fixtures");
    let mut out = Vec::new();
    match target {
        "read_model" => {
            for m in ["mlp", "convnet", "story", "multi", "encoder", "decoder"] {
                out.extend(std::fs::read(fixtures.join(format!("{m}.circle"))).ok());
            }
            // Packed weights: GGML_Q4_0 and GGML_Q8_0.
            out.extend(fuzzing::quantized_fixture("decoder", "decoder.qparam"));
        }
        "verify_model" => {
            for m in [
                "mlp",
                "convnet",
                "story",
                "story_onnxtf",
                "encoder",
                "mobilenetv3",
            ] {
                out.extend(std::fs::read(fixtures.join(format!("{m}.circle"))).ok());
            }
            for (model, set) in [
                ("mlp", "mlp.qparam"),
                ("convnet", "convnet.qparam"),
                ("decoder", "decoder.qparam"),
            ] {
                out.extend(fuzzing::quantized_fixture(model, set));
            }
        }
        "read_samples" => {
            // Real samples as npy files (first byte 0: one float input;
            // 1: token ids), each also offered as an npz member's bytes.
            for (choice, path, name) in [
                (0u8, "story_onnxtf.reference/input_0.npy", "x"),
                (1, "decoder.reference/ids.npy", "ids"),
                (3, "espcn.reference/input_0.npy", "arr_0"),
            ] {
                if let Ok(bytes) = std::fs::read(fixtures.join(path)) {
                    out.push([&[choice][..], &bytes].concat());
                    out.push([&[choice | 4][..], &npz(name, &bytes)].concat());
                }
            }
        }
        "extract_model" => {
            for (model, set) in [
                ("mlp", "mlp.qparam"),
                ("convnet", "convnet.qparam"),
                ("story", "story.qparam"),
                ("multi", "mlp.qparam"),
                ("decoder", "decoder.qparam"),
            ] {
                out.extend(fuzzing::quantized_fixture(model, set));
            }
        }
        "parse_qparam" => {
            for set in [
                "mlp.qparam",
                "story.torch-qparam",
                "convnet.torch-qparam",
                "decoder.qparam",
            ] {
                let dir = fixtures.join(set);
                out.extend(std::fs::read(dir.join("qparam.json")).ok());
                for i in 0..4 {
                    out.extend(std::fs::read(dir.join(format!("{i}.npy"))).ok());
                }
            }
        }
        _ => {
            for (model, set) in [
                ("mlp", "mlp.qparam"),
                ("mlp", "mlp.torch-qparam"),
                ("convnet", "convnet.qparam"),
                ("convnet", "convnet.torch-qparam"),
                ("story", "story.qparam"),
                ("story", "story.torch-qparam"),
                ("multi", "mlp.qparam"),
                ("decoder", "decoder.qparam"),
                ("decoder", "decoder.torch-qparam"),
            ] {
                out.extend(set_input(model, &fixtures.join(set)));
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(root().join("tests/fuzz-regressions")) {
        let mut found: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        found.sort();
        out.extend(found.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    out
}

/// Words the JSON-aware mutations write: names the models have, field
/// names, dtypes, paths, and values at the edges of what is valid.
const STRINGS: &[&str] = &[
    "dtype",
    "scale",
    "zerop",
    "quantized_dimension",
    "value",
    "block_size",
    "int4",
    "uint4",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float32",
    "0.npy",
    "1.npy",
    "2.npy",
    "../0.npy",
    "/dev/null",
    ".",
    "",
    "tico::x",
    "tico::p_fc1_weight",
    "tico::p_fc1_bias",
    "torch.nn.modules.linear.Linear::linear_1",
    "tico::_prop_tensor_constant2",
    "unknown::permute_default",
    "conv1.weight",
    "fc1.weight",
    "tico::p_embed_weight",
    "tico::p_blocks_1_up_weight",
    "quant",
    "\u{e9}\u{1F600}",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "3",
    "255",
    "32",
    "64",
    "4294967296",
    "18446744073709551616",
    "1e309",
    "0.5",
    "-0",
    "1E2",
];

/// Interesting npy header fragments to write over a header's text.
const NPY_WORDS: &[&str] = &[
    "'<f4'",
    "'<f8'",
    "'<i8'",
    "'|u1'",
    "'>f4'",
    "'<U3'",
    "True",
    "False",
    "(1,)",
    "()",
    "(0,)",
    "(16777217,)",
    "(2, 3)",
    "(18446744073709551615,)",
];

/// Byte ranges, start and end.
type Ranges = Vec<(usize, usize)>;

/// Byte ranges of string literals and numbers in a JSON-like text.
fn tokens(text: &[u8]) -> (Ranges, Ranges) {
    let (mut strings, mut numbers) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                strings.push((start, (i + 1).min(text.len())));
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len()
                    && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                numbers.push((start, i));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (strings, numbers)
}

/// One JSON-aware edit of `text`: a string or number replaced, two strings
/// swapped, a member dropped or duplicated, an object nested or emptied.
fn mutate_json(rng: &mut Rng, text: &mut Vec<u8>) {
    let (strings, numbers) = tokens(text);
    match rng.below(7) {
        0 if !strings.is_empty() => {
            let (a, b) = strings[rng.below(strings.len())];
            let word = STRINGS[rng.below(STRINGS.len())];
            let quoted = serde_json::to_string(word).unwrap();
            text.splice(a..b, quoted.into_bytes());
        }
        1 if !numbers.is_empty() => {
            let (a, b) = numbers[rng.below(numbers.len())];
            let n = NUMBERS[rng.below(NUMBERS.len())];
            text.splice(a..b, n.bytes());
        }
        2 if strings.len() > 1 => {
            let (i, j) = (rng.below(strings.len()), rng.below(strings.len()));
            let (first, second) = if strings[i].0 < strings[j].0 {
                (strings[i], strings[j])
            } else {
                (strings[j], strings[i])
            };
            if first.1 <= second.0 {
                let a = text[first.0..first.1].to_vec();
                let b = text[second.0..second.1].to_vec();
                text.splice(second.0..second.1, a);
                text.splice(first.0..first.1, b);
            }
        }
        3 | 4 if !strings.is_empty() => {
            // A member: a key string, its `:`, and its value up to the
            // next `,` or `}` at the same depth.
            let (a, b) = strings[rng.below(strings.len())];
            if text[b..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b':') {
                let mut depth = 0i32;
                let mut end = b;
                while end < text.len() {
                    match text[end] {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth == 0 => break,
                        b'}' | b']' => depth -= 1,
                        b',' if depth == 0 => break,
                        _ => {}
                    }
                    end += 1;
                }
                let member = text[a..end].to_vec();
                if rng.chance(2) {
                    // Drop it, with its comma.
                    let end = if text.get(end) == Some(&b',') {
                        end + 1
                    } else {
                        end
                    };
                    text.drain(a..end);
                } else {
                    let mut copy = member;
                    copy.push(b',');
                    text.splice(a..a, copy);
                }
            }
        }
        5 => {
            if let Some(at) = text.iter().position(|&c| c == b'{') {
                let open = at + rng.below(text.len() - at);
                if let Some(p) = text[open..].iter().position(|&c| c == b'{') {
                    let at = open + p;
                    if rng.chance(2) {
                        text.splice(at..at, *b"{\"k\": ");
                        text.push(b'}');
                    } else if let Some(close) = text[at..].iter().position(|&c| c == b'}') {
                        text.drain(at + 1..at + close);
                    }
                }
            }
        }
        _ => {
            let n = NUMBERS[rng.below(NUMBERS.len())];
            let at = rng.below(text.len() + 1);
            text.splice(at..at, n.bytes());
        }
    }
}

/// One byte-level edit.
fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = [0, 0xff, 0x7f, 0x80, 0x01, b'"', b'\\', rng.next() as u8][rng.below(8)];
        }
        2 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        3 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            data.drain(a..b);
        }
        4 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            let copy = data[a..b].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, copy);
        }
        5 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        6 if len > 0 => data.truncate(rng.below(len)),
        _ if len >= 4 => {
            // A little-endian integer at the edge of its range: offsets,
            // lengths, counts.
            let i = rng.below(len - 3);
            let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000, 16, 4096][rng.below(7)];
            data[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        _ => data.push(rng.next() as u8),
    }
}

/// One edit of an npy file: its header's words, or its data's length.
fn mutate_npy(rng: &mut Rng, npy: &mut Vec<u8>) {
    let header_end = npy.iter().position(|&c| c == b'\n').unwrap_or(npy.len());
    match rng.below(4) {
        0 => {
            let (strings, _) = tokens(&npy[..header_end]);
            let quoted: Ranges = {
                // npy headers quote with `'`.
                let mut v = Vec::new();
                let mut i = 0;
                while i < header_end {
                    if npy[i] == b'\'' {
                        if let Some(j) = npy[i + 1..header_end].iter().position(|&c| c == b'\'') {
                            v.push((i, i + j + 2));
                            i += j + 2;
                            continue;
                        }
                    }
                    i += 1;
                }
                v
            };
            let spots: Ranges = quoted.into_iter().chain(strings).collect();
            if let Some(&(a, b)) = spots.get(rng.below(spots.len().max(1))) {
                let word = NPY_WORDS[rng.below(NPY_WORDS.len())];
                npy.splice(a..b, word.bytes());
            }
        }
        1 => {
            if let Some(a) = npy[..header_end].iter().position(|&c| c == b'(') {
                if let Some(b) = npy[a..header_end].iter().position(|&c| c == b')') {
                    let word = NPY_WORDS[8 + rng.below(NPY_WORDS.len() - 8)];
                    npy.splice(a..a + b + 1, word.bytes());
                }
            }
        }
        2 => {
            let keep = header_end + rng.below(npy.len() - header_end + 1);
            npy.truncate(keep);
        }
        _ => {
            let n = 1 + rng.below(16);
            npy.extend((0..n).map(|_| rng.next() as u8));
        }
    }
}

/// Parts of a `check_set` input: options byte, JSON text, npy files.
fn set_parts(data: &[u8]) -> (u8, Vec<Vec<u8>>) {
    let Some((&options, rest)) = data.split_first() else {
        return (0, vec![Vec::new()]);
    };
    let mut parts = Vec::new();
    let mut rest = rest;
    loop {
        match rest
            .windows(SET_SEPARATOR.len())
            .position(|w| w == SET_SEPARATOR)
        {
            Some(at) => {
                parts.push(rest[..at].to_vec());
                rest = &rest[at + SET_SEPARATOR.len()..];
            }
            None => {
                parts.push(rest.to_vec());
                break;
            }
        }
    }
    (options, parts)
}

fn join_parts(options: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![options];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SET_SEPARATOR);
        }
        out.extend_from_slice(p);
    }
    out
}

/// A new input from `base`: one to four stacked edits fitting the target.
fn mutate(rng: &mut Rng, target: &str, base: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match target {
            "check_set" | "diff_sets" => {
                let (mut options, mut parts) = set_parts(&data);
                match rng.below(10) {
                    0 => options ^= 1 << rng.below(8),
                    1..=4 => mutate_json(rng, &mut parts[0]),
                    5 => mutate_bytes(rng, &mut parts[0], &[]),
                    6..=8 if parts.len() > 1 => {
                        let i = 1 + rng.below(parts.len() - 1);
                        mutate_npy(rng, &mut parts[i]);
                    }
                    _ if parts.len() > 1 => {
                        let i = 1 + rng.below(parts.len() - 1);
                        mutate_bytes(rng, &mut parts[i], &[]);
                    }
                    _ => mutate_json(rng, &mut parts[0]),
                }
                data = join_parts(options, &parts);
            }
            "parse_qparam" if rng.chance(2) => {
                if data.starts_with(b"\x93NUMPY") {
                    mutate_npy(rng, &mut data)
                } else {
                    mutate_json(rng, &mut data)
                }
            }
            _ => mutate_bytes(rng, &mut data, corpus),
        }
    }
    data.truncate(INPUT_MAX);
    data
}

/// A stable name for an input.
fn digest(data: &[u8]) -> String {
    // FNV-1a, 64 bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn save_crash(target: &str, kind: &str, data: &[u8]) -> PathBuf {
    let dir = root().join("target/fuzz-crashes");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{kind}-{}", digest(data)));
    std::fs::write(&path, data).expect("the crash directory is writable");
    path
}

/// What the last panic said (the hook keeps it instead of printing it).
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = format!("{message}{place}");
    }));
}

/// Ends the process if one input runs for longer than `timeout`, saving it.
struct Watchdog {
    epoch: Instant,
    /// When the running input started, in milliseconds since `epoch` plus
    /// one; 0 while none runs.
    started: Arc<AtomicU64>,
    input: Arc<Mutex<(String, Vec<u8>)>>,
}

impl Watchdog {
    fn start(timeout: Duration) -> Watchdog {
        let started = Arc::new(AtomicU64::new(0));
        let input = Arc::new(Mutex::new((String::new(), Vec::new())));
        let (s, i) = (started.clone(), input.clone());
        let epoch = Instant::now();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let at = s.load(Ordering::SeqCst);
            if at == 0 {
                continue;
            }
            let running = (epoch.elapsed().as_millis() as u64).saturating_sub(at);
            if running > timeout.as_millis() as u64 {
                let (target, data) = &*i.lock().unwrap_or_else(|e| e.into_inner());
                let path = save_crash(target, "timeout", data);
                eprintln!(
                    "fuzz: {target}: an input ran for over {timeout:?}; saved as {}",
                    path.display()
                );
                std::process::exit(1);
            }
        });
        Watchdog {
            epoch,
            started,
            input,
        }
    }

    /// Marks the start of a run of `data` on `target`.
    fn running(&self, target: &str, data: &[u8]) {
        let mut slot = self.input.lock().unwrap_or_else(|e| e.into_inner());
        slot.0 = target.to_string();
        slot.1.clear();
        slot.1.extend_from_slice(data);
        drop(slot);
        self.started.store(
            self.epoch.elapsed().as_millis() as u64 + 1,
            Ordering::SeqCst,
        );
    }

    fn idle(&self) {
        self.started.store(0, Ordering::SeqCst);
    }
}

/// Runs `f` on `data`; the panic message if it panicked.
fn run_one(f: Target, data: &[u8]) -> Option<String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(data))) {
        Ok(()) => None,
        Err(_) => Some(std::mem::take(
            &mut *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()),
        )),
    }
}

fn main() {
    let o = options();
    quiet_panics();
    if !o.replay.is_empty() {
        let mut failed = false;
        for path in &o.replay {
            let data =
                std::fs::read(path).unwrap_or_else(|e| usage(&format!("{}: {e}", path.display())));
            for (name, f) in TARGETS {
                if let Some(message) = run_one(f, &data) {
                    eprintln!("fuzz: {}: {name} panicked: {message}", path.display());
                    failed = true;
                }
            }
        }
        std::process::exit(i32::from(failed));
    }
    let chosen: Vec<(&str, Target)> = TARGETS
        .iter()
        .copied()
        .filter(|(n, _)| o.targets.is_empty() || o.targets.iter().any(|t| t == n))
        .collect();
    eprintln!(
        "fuzz: seed {}, {} per target",
        o.seed,
        match o.runs {
            Some(r) => format!("{r} runs"),
            None => format!("{:.0} s", o.seconds / chosen.len() as f64),
        }
    );
    let watchdog = Watchdog::start(Duration::from_secs(o.timeout));
    let mut failed = false;
    for (i, (name, f)) in chosen.iter().enumerate() {
        let mut rng = Rng(o.seed ^ (i as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut corpus = seeds(name);
        let seeded = corpus.len();
        assert!(seeded > 0, "{name} has no seeds");
        let budget = Duration::from_secs_f64(o.seconds / chosen.len() as f64);
        let start = Instant::now();
        let mut runs = 0u64;
        let mut crashes = 0u64;
        // The seeds themselves first.
        let mut queue: Vec<Vec<u8>> = corpus.clone();
        loop {
            let done = match o.runs {
                Some(r) => runs >= r,
                None => start.elapsed() >= budget,
            };
            if done {
                break;
            }
            let data = match queue.pop() {
                Some(d) => d,
                None => {
                    // Half the time a seed: kept inputs are mostly ones the
                    // target refused early, and must not crowd them out.
                    let base = if rng.chance(2) {
                        &corpus[rng.below(seeded)]
                    } else {
                        &corpus[rng.below(corpus.len())]
                    };
                    mutate(&mut rng, name, base, &corpus)
                }
            };
            watchdog.running(name, &data);
            let outcome = run_one(*f, &data);
            watchdog.idle();
            runs += 1;
            if let Some(message) = outcome {
                let path = save_crash(name, "crash", &data);
                eprintln!(
                    "fuzz: {name} panicked: {message}\n  input saved as {}",
                    path.display()
                );
                crashes += 1;
                failed = true;
                if crashes >= 10 {
                    break;
                }
            } else if runs.is_multiple_of(KEEP_ONE_IN) && corpus.len() < CORPUS_MAX {
                corpus.push(data);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "fuzz: {name}: {runs} runs in {secs:.1} s ({:.0}/s), corpus {}, {crashes} crashes",
            runs as f64 / secs.max(1e-9),
            corpus.len()
        );
    }
    std::process::exit(i32::from(failed));
}
