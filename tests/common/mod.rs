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
}

impl ModelBuilder {
    /// Adds a float32 tensor (a constant when `data` is given); returns its index.
    pub fn tensor(&mut self, name: &str, shape: &[i32], data: Option<&[f32]>) -> i32 {
        if self.payloads.is_empty() {
            self.payloads.push(None);
        }
        let mut t = q_implant::model::fb::TensorT::default();
        t.name = Some(name.into());
        t.shape = Some(shape.to_vec());
        if let Some(data) = data {
            self.payloads.push(Some(f32s(data).into()));
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

    /// Writes the model with these graph inputs and outputs.
    pub fn save(self, path: &Path, inputs: &[i32], outputs: &[i32]) -> PathBuf {
        use q_implant::model::{self, fb, Layout, ModelParts};
        let mut sg = fb::SubGraphT::default();
        sg.tensors = Some(self.tensors);
        sg.inputs = Some(inputs.to_vec());
        sg.outputs = Some(outputs.to_vec());
        sg.operators = Some(self.ops);
        let mut m = fb::ModelT::default();
        m.version = 3;
        m.operator_codes = Some(self.codes);
        m.subgraphs = Some(vec![sg]);
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
