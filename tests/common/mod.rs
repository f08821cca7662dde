//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn q_implant() -> Command {
    Command::cargo_bin("q-implant").unwrap()
}

/// Every file below `dir` with its bytes, to prove a command changed nothing.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A qparam set in a temporary directory, copied from a fixture, to mutate.
pub struct QSet {
    pub dir: tempfile::TempDir,
    pub json: serde_json::Map<String, serde_json::Value>,
}

impl QSet {
    /// A copy of `fixtures/<name>.qparam`.
    pub fn copy_of(name: &str) -> QSet {
        let dir = tempfile::tempdir().unwrap();
        let src = fixture(&format!("{name}.qparam"));
        for entry in std::fs::read_dir(&src).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
        let json =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("qparam.json")).unwrap())
                .unwrap();
        QSet { dir, json }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("qparam.json")
    }

    /// The first key ending with `suffix`.
    pub fn key(&self, suffix: &str) -> String {
        self.json
            .keys()
            .find(|k| k.ends_with(suffix))
            .unwrap_or_else(|| panic!("no key ends with {suffix}"))
            .clone()
    }

    pub fn entry(&mut self, key: &str) -> &mut serde_json::Map<String, serde_json::Value> {
        self.json.get_mut(key).unwrap().as_object_mut().unwrap()
    }

    /// Writes an npy file into the set and points `key`.`field` at it.
    pub fn set_npy(&mut self, key: &str, field: &str, descr: &str, shape: &[usize], data: &[u8]) {
        let name = format!(
            "{}-{field}.npy",
            self.json.keys().position(|k| k == key).unwrap()
        );
        std::fs::write(
            self.dir.path().join(&name),
            q_implant::qparam::npy::encode(descr, false, shape, data),
        )
        .unwrap();
        self.entry(key).insert(field.into(), name.into());
    }

    pub fn save(&self) -> PathBuf {
        std::fs::write(
            self.path(),
            serde_json::to_string_pretty(&self.json).unwrap(),
        )
        .unwrap();
        self.path()
    }

    /// Replaces qparam.json with raw bytes.
    pub fn save_raw(&self, bytes: &[u8]) -> PathBuf {
        std::fs::write(self.path(), bytes).unwrap();
        self.path()
    }
}

/// Runs `check --format json` and returns the document and the exit code.
pub fn check_json(model: &Path, qparam: &Path) -> (serde_json::Value, i32) {
    let out = q_implant()
        .args([
            "check",
            model.to_str().unwrap(),
            qparam.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (doc, out.status.code().unwrap())
}

/// The codes a check reports.
pub fn codes(doc: &serde_json::Value) -> Vec<String> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

pub fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn i64s(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Small float models written with our own writer, for cases the real
/// fixtures do not have.
#[derive(Default)]
pub struct ModelBuilder {
    tensors: Vec<q_implant::model::fb::TensorT>,
    payloads: Vec<Option<q_implant::model::Payload<'static>>>,
    codes: Vec<q_implant::model::fb::OperatorCodeT>,
    ops: Vec<q_implant::model::fb::OperatorT>,
    /// Subgraphs finished with [`ModelBuilder::next_subgraph`].
    done: Vec<q_implant::model::fb::SubGraphT>,
}

impl ModelBuilder {
    /// Adds a float32 tensor (a constant when `data` is given); returns its index.
    pub fn tensor(&mut self, name: &str, shape: &[i32], data: Option<&[f32]>) -> i32 {
        self.typed(
            name,
            shape,
            q_implant::model::fb::TensorType::FLOAT32,
            data.map(f32s),
        )
    }

    /// Adds a tensor of any type, a constant holding `data` when given.
    pub fn typed(
        &mut self,
        name: &str,
        shape: &[i32],
        dtype: q_implant::model::fb::TensorType,
        data: Option<Vec<u8>>,
    ) -> i32 {
        if self.payloads.is_empty() {
            self.payloads.push(None);
        }
        let mut t = q_implant::model::fb::TensorT::default();
        t.name = Some(name.into());
        t.shape = Some(shape.to_vec());
        t.type_ = dtype;
        if let Some(data) = data {
            self.payloads.push(Some(data.into()));
            t.buffer = (self.payloads.len() - 1) as u32;
        }
        self.tensors.push(t);
        (self.tensors.len() - 1) as i32
    }

    pub fn op(
        &mut self,
        op: q_implant::model::fb::BuiltinOperator,
        inputs: &[i32],
        outputs: &[i32],
    ) {
        let index = match self.codes.iter().position(|c| c.builtin_code == op) {
            Some(i) => i,
            None => {
                let mut code = q_implant::model::fb::OperatorCodeT::default();
                code.builtin_code = op;
                code.deprecated_builtin_code = op.0.min(127) as i8;
                code.version = 1;
                self.codes.push(code);
                self.codes.len() - 1
            }
        };
        let mut o = q_implant::model::fb::OperatorT::default();
        o.opcode_index = index as u32;
        o.inputs = Some(inputs.to_vec());
        o.outputs = Some(outputs.to_vec());
        self.ops.push(o);
    }

    /// Gives the operator added last its builtin options.
    pub fn options(&mut self, options: q_implant::model::fb::BuiltinOptionsT) {
        if let Some(o) = self.ops.last_mut() {
            o.builtin_options = options;
        }
    }

    /// Ends the current subgraph with these graph inputs and outputs; the
    /// tensors and operators added next form a new one (tensor indices
    /// start again at 0).
    pub fn next_subgraph(&mut self, inputs: &[i32], outputs: &[i32]) {
        let mut sg = q_implant::model::fb::SubGraphT::default();
        sg.tensors = Some(std::mem::take(&mut self.tensors));
        sg.inputs = Some(inputs.to_vec());
        sg.outputs = Some(outputs.to_vec());
        sg.operators = Some(std::mem::take(&mut self.ops));
        self.done.push(sg);
    }

    /// Writes the model with these graph inputs and outputs (of the last
    /// subgraph).
    pub fn save(mut self, path: &Path, inputs: &[i32], outputs: &[i32]) -> PathBuf {
        use q_implant::model::{self, fb, Layout, ModelParts};
        self.next_subgraph(inputs, outputs);
        let mut m = fb::ModelT::default();
        m.version = 3;
        m.operator_codes = Some(self.codes);
        m.subgraphs = Some(self.done);
        m.buffers = Some(vec![fb::BufferT::default(); self.payloads.len().max(1)]);
        let payloads = if self.payloads.is_empty() {
            vec![None]
        } else {
            self.payloads
        };
        model::save(
            &ModelParts { model: m, payloads },
            Layout::Plain,
            path,
            false,
        )
        .unwrap();
        path.to_path_buf()
    }
}

/// An empty qparam set in a temporary directory, to fill entry by entry.
pub fn empty_set() -> QSet {
    let mut s = QSet::copy_of("mlp");
    s.json.clear();
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    s
}

impl QSet {
    /// Adds an entry with per-tensor parameters (and `value`, an npy of
    /// `descr`, for constants).
    pub fn add(
        &mut self,
        key: &str,
        dtype: &str,
        scale: f32,
        zero_point: i64,
        value: Option<(&str, &[usize], &[u8])>,
    ) {
        self.json.insert(
            key.into(),
            serde_json::json!({"dtype": dtype, "quantized_dimension": 0}),
        );
        self.set_npy(key, "scale", "<f4", &[1], &f32s(&[scale]));
        self.set_npy(key, "zerop", "<i8", &[1], &i64s(&[zero_point]));
        if let Some((descr, shape, data)) = value {
            self.set_npy(key, "value", descr, shape, data);
        }
    }
}

/// A model and a qparam set in one temporary directory, and `apply` on them
/// writing `out.circle` there.
pub struct Scene {
    pub dir: tempfile::TempDir,
    pub model: PathBuf,
    pub set: QSet,
}

impl Scene {
    /// The mlp fixture and its correct set.
    pub fn mlp() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.circle");
        std::fs::copy(fixture("mlp.circle"), &model).unwrap();
        Scene {
            dir,
            model,
            set: QSet::copy_of("mlp"),
        }
    }

    /// A model made by `build` (given the path to write) and a set.
    pub fn built(build: impl FnOnce(&Path) -> PathBuf, set: QSet) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let model = build(&dir.path().join("model.circle"));
        Scene { dir, model, set }
    }

    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out.circle")
    }

    pub fn apply(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.set.save();
        q_implant()
            .arg("apply")
            .arg(&self.model)
            .arg(self.set.path())
            .arg("-o")
            .arg(self.out())
            .args(extra)
            .assert()
    }

    pub fn check(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.set.save();
        q_implant()
            .arg("check")
            .arg(&self.model)
            .arg(self.set.path())
            .args(extra)
            .assert()
    }

    /// The model and the set's files, to show that nothing changed them.
    pub fn inputs(&self) -> (Vec<u8>, Vec<(PathBuf, Vec<u8>)>) {
        (
            std::fs::read(&self.model).unwrap(),
            snapshot(self.set.dir.path()),
        )
    }

    /// The directory holds the model and nothing else: no output, no
    /// temporary file.
    pub fn assert_nothing_written(&self) {
        let names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        assert_eq!(
            names,
            ["model.circle"],
            "no output or temporary file may remain"
        );
    }
}

/// The text a command printed on stderr.
pub fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// The text a command printed on stdout.
pub fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// The architecture families fixtures/families.py makes, each with a
/// PyTorch-named export and an answer key.
pub const FAMILIES: [&str; 13] = [
    "mobilenetv2",
    "mobilenetv3",
    "efficientnet",
    "vgg",
    "squeezenet",
    "unet",
    "shufflenetv2",
    "convnext",
    "vit",
    "espcn",
    "m5",
    "mixer",
    "densenet",
];

/// The input shape of `model`'s first subgraph.
pub fn input_shape(model: &Path) -> Vec<usize> {
    let file = q_implant::model::CircleFile::open(model).unwrap();
    let graph = q_implant::graph::Graph::new(&file);
    let sg = &graph.subgraphs[0];
    sg.tensors[sg.inputs[0]]
        .shape
        .iter()
        .map(|&d| d as usize)
        .collect()
}

/// Standard normal values for a tensor of `shape`.
pub fn normal(shape: &[usize], rng: &mut q_implant::samples::Rng) -> Vec<f32> {
    (0..shape.iter().product::<usize>())
        .map(|_| rng.normal() as f32)
        .collect()
}

/// Writes `count` standard normal samples for `model`'s one input into
/// `dir`, as `00.npy`, `01.npy`, ...
pub fn write_samples(model: &Path, dir: &Path, count: usize, seed: u64) {
    let shape = input_shape(model);
    let mut rng = q_implant::samples::Rng::new(seed);
    for i in 0..count {
        let bytes: Vec<u8> = normal(&shape, &mut rng)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let data = q_implant::qparam::npy::encode("<f4", false, &shape, &bytes);
        std::fs::write(dir.join(format!("{i:02}.npy")), data).unwrap();
    }
}
