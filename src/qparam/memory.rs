//! Parameter sets held in memory: the entries of a qparam.json with their
//! arrays in memory instead of npy files (what the Python module makes of a
//! mapping `{name: {"dtype": "uint8", "scale": array, ...}}`).
//!
//! The set is written as a JSON text of its own in which every array, and
//! every value JSON has no word for, stands as a reference; the reader of
//! qparam.json reads that text and resolves the references. So every
//! entry, field and problem is typed exactly as for the same set on disk,
//! and every rule sees the same thing. The text's spans order the findings
//! as the mapping orders its keys; reports give them no line or column (see
//! [`super::QParamFile::place`]), since nobody wrote that text.

use std::any::Any;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::json::{self, Json};
use super::npy;
use crate::files::SharedBytes;

/// A value of the caller's, kept so that it can be given back as it was.
pub type Given = Arc<dyn Any + Send + Sync>;

/// A value of an entry's field (or an entry that is not a mapping).
#[derive(Clone, Debug)]
pub enum MemoryValue {
    /// An array: numpy's type descriptor (`<f4`), whether it is in Fortran
    /// order, its shape, and its element bytes.
    Array {
        descr: String,
        fortran_order: bool,
        shape: Vec<usize>,
        bytes: SharedBytes,
    },
    Text(String),
    /// An integer, as its decimal digits (any size: it is range-checked
    /// where it is used, as a number in a file is).
    Integer(String),
    /// Anything else: its kind as the caller names it for messages (`a
    /// float`, `None`, `a list`), and the value itself.
    Other {
        kind: String,
        given: Given,
    },
}

impl MemoryValue {
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &str {
        match self {
            MemoryValue::Array { .. } => "an array",
            MemoryValue::Text(_) => "a string",
            MemoryValue::Integer(_) => "an integer",
            MemoryValue::Other { kind, .. } => kind,
        }
    }
}

/// One entry: its fields, in the caller's order, or a value that is not a
/// mapping of fields.
#[derive(Clone, Debug)]
pub enum MemoryEntry {
    Fields(Vec<(String, MemoryValue)>),
    Value(MemoryValue),
}

/// A parameter set in memory: its entries in the caller's order.
#[derive(Clone, Debug, Default)]
pub struct MemorySet {
    pub entries: Vec<(String, MemoryEntry)>,
}

/// The values a set's text refers to, by index.
#[derive(Debug, Default)]
pub struct References(Vec<MemoryValue>);

/// A reference starts with a NUL character: no npy path can hold one, so
/// no file set's text ever resolves to memory, and a fix's new npy file
/// names (plain paths) stay files.
const MARK: &str = "\0ref ";

impl References {
    /// The value a string of the text refers to, if it is a reference.
    pub fn resolve(&self, text: &str) -> Option<&MemoryValue> {
        self.0.get(text.strip_prefix(MARK)?.parse::<usize>().ok()?)
    }

    fn add(&mut self, value: MemoryValue) -> String {
        self.0.push(value);
        json_string(&format!("{MARK}{}", self.0.len() - 1))
    }
}

/// Where an array of the set is, as messages name it: the key and the
/// field, as a caller would index the mapping (`["conv1"]["scale"]`).
pub fn place(key: &str, field: &str) -> String {
    format!("[{}][{}]", json_string(key), json_string(field))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

impl MemorySet {
    /// The set as JSON text, and what its references refer to. A field's
    /// value is written as JSON only where the field takes that kind (a
    /// `dtype` string, a `quantized_dimension` or `block_size` integer), so
    /// that everything else is reported by the kind the caller gave, not by
    /// what JSON would have made of it.
    pub fn render(&self) -> (String, References) {
        let mut refs = References::default();
        let mut text = String::from("{");
        for (i, (key, entry)) in self.entries.iter().enumerate() {
            text.push_str(if i == 0 { "\n  " } else { ",\n  " });
            text.push_str(&json_string(key));
            text.push_str(": ");
            match entry {
                MemoryEntry::Value(v) => text.push_str(&refs.add(v.clone())),
                MemoryEntry::Fields(fields) => {
                    text.push('{');
                    for (j, (name, value)) in fields.iter().enumerate() {
                        text.push_str(if j == 0 { "\n    " } else { ",\n    " });
                        text.push_str(&json_string(name));
                        text.push_str(": ");
                        let written = match (name.as_str(), value) {
                            ("dtype", MemoryValue::Text(t)) => json_string(t),
                            (
                                "quantized_dimension" | "block_size",
                                MemoryValue::Integer(digits),
                            ) if is_integer(digits) => digits.clone(),
                            _ => refs.add(value.clone()),
                        };
                        text.push_str(&written);
                    }
                    text.push_str(if fields.is_empty() { "}" } else { "\n  }" });
                }
            }
        }
        text.push_str(if self.entries.is_empty() {
            "}\n"
        } else {
            "\n}\n"
        });
        (text, refs)
    }
}

impl super::QParamFile {
    /// The set as its text now says (after a fix's edits), with every
    /// array in memory: the caller's arrays as they were given, and the
    /// npy files a fix wrote read into memory.
    pub fn to_memory(&self) -> io::Result<MemorySet> {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
        let root = json::parse(&self.text).map_err(|e| invalid(e.message))?;
        let Json::Object(members) = root.value else {
            return Err(invalid("the set is not an object".into()));
        };
        let mut entries = Vec::with_capacity(members.len());
        for member in members {
            let entry = match &member.value.value {
                Json::Object(fields) => {
                    let mut out = Vec::with_capacity(fields.len());
                    for f in fields {
                        let value = self.memory_value(&f.key.value, &f.value.value)?;
                        out.push((f.key.value.clone(), value));
                    }
                    MemoryEntry::Fields(out)
                }
                other => MemoryEntry::Value(self.memory_value("", other)?),
            };
            entries.push((member.key.value, entry));
        }
        Ok(MemorySet { entries })
    }

    fn memory_value(&self, field: &str, value: &Json) -> io::Result<MemoryValue> {
        if let (Json::String(text), Some(refs)) = (value, &self.memory) {
            if let Some(v) = refs.resolve(text) {
                return Ok(v.clone());
            }
        }
        Ok(match value {
            Json::String(rel) if matches!(field, "scale" | "zerop" | "value") => {
                read_npy(&self.dir.join(rel))?
            }
            Json::String(text) => MemoryValue::Text(text.clone()),
            Json::Number(n) if is_integer(n) => MemoryValue::Integer(n.clone()),
            other => MemoryValue::Other {
                kind: other.kind().to_string(),
                given: Arc::new(()),
            },
        })
    }
}

/// An npy file's array, read into memory.
fn read_npy(path: &Path) -> io::Result<MemoryValue> {
    let bytes = std::fs::read(path)?;
    let header = npy::parse_header(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("`{}`: {e}", path.display()),
        )
    })?;
    Ok(MemoryValue::Array {
        descr: header.dtype.descr().to_string(),
        fortran_order: header.fortran_order,
        shape: header.shape,
        bytes: bytes[header.data_offset..].to_vec().into(),
    })
}

/// Whether `digits` is an integer as JSON writes one.
fn is_integer(digits: &str) -> bool {
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && (unsigned == "0" || !unsigned.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_json_with_references_for_arrays_and_foreign_values() {
        let array = MemoryValue::Array {
            descr: "<f4".into(),
            fortran_order: false,
            shape: vec![1],
            bytes: vec![0; 4].into(),
        };
        let set = MemorySet {
            entries: vec![
                (
                    "a\"b".into(),
                    MemoryEntry::Fields(vec![
                        ("dtype".into(), MemoryValue::Text("uint8".into())),
                        ("scale".into(), array),
                        ("zerop".into(), MemoryValue::Text("0.npy".into())),
                        (
                            "quantized_dimension".into(),
                            MemoryValue::Integer("-3".into()),
                        ),
                    ]),
                ),
                (
                    "c".into(),
                    MemoryEntry::Value(MemoryValue::Other {
                        kind: "None".into(),
                        given: Arc::new(()),
                    }),
                ),
                ("d".into(), MemoryEntry::Fields(Vec::new())),
            ],
        };
        let (text, refs) = set.render();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["a\"b"]["dtype"], "uint8");
        assert_eq!(parsed["a\"b"]["quantized_dimension"], -3);
        let scale = parsed["a\"b"]["scale"].as_str().unwrap();
        assert!(matches!(
            refs.resolve(scale),
            Some(MemoryValue::Array { .. })
        ));
        // A string where an array belongs is the caller's string, not a path.
        let zerop = parsed["a\"b"]["zerop"].as_str().unwrap();
        assert_eq!(refs.resolve(zerop).unwrap().kind(), "a string");
        assert_eq!(
            refs.resolve(parsed["c"].as_str().unwrap()).unwrap().kind(),
            "None"
        );
        assert!(parsed["d"].as_object().unwrap().is_empty());
        assert!(refs.resolve("0.npy").is_none());
        assert_eq!(place("k", "scale"), "[\"k\"][\"scale\"]");
    }

    #[test]
    fn only_json_integers_are_written_as_numbers() {
        for ok in ["0", "7", "-1", "4294967296"] {
            assert!(is_integer(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.0", "1e3", "+1", " 1"] {
            assert!(!is_integer(bad), "{bad}");
        }
    }
}
