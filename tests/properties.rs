//! Properties of the readers and deciders `check` is built on, on generated
//! inputs: our span-keeping JSON reader agrees with serde_json, a text
//! fixed by `--fix` reads back as the same entries under the new keys, and
//! the name matcher's decision is one-to-one.

mod common;

use std::collections::HashSet;

use proptest::prelude::*;
use q_implant::analysis::matcher::{decide, Verdict, CONFIDENT};
use q_implant::diagnostic::Suggestion;
use q_implant::qparam::json::{self, Json};
use serde_json::Value;

// ---------------------------------------------------------------------------
// The JSON reader against serde_json.

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Floats with short decimal forms: serde_json (without its
        // float_roundtrip feature) may read the last digit of others
        // differently from the text it wrote.
        (any::<i16>(), 0u32..9).prop_map(|(m, e)| Value::from(f64::from(m) / f64::from(1u32 << e))),
        any::<String>().prop_map(Value::String),
        "[a-z\"\\\\/\u{0}-\u{1f}é😀]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (prop_oneof![any::<String>(), "[a-z:.\"\\\\😀]{0,8}"], inner),
                0..6
            )
            .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Writes `v` as JSON text, choosing whitespace and how each character of
/// each string is written (as itself where allowed, or escaped) from
/// `style`, so that the reader meets every spelling JSON permits.
struct Writer<'a> {
    out: String,
    style: &'a [u8],
    at: usize,
}

impl Writer<'_> {
    fn pick(&mut self) -> u8 {
        let b = self
            .style
            .get(self.at % self.style.len().max(1))
            .copied()
            .unwrap_or(0);
        self.at += 1;
        b
    }

    fn ws(&mut self) {
        let ws = [" ", "", "\n  ", "\t", "\r\n", ""];
        let w = ws[self.pick() as usize % ws.len()];
        self.out.push_str(w);
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            let escape = self.pick().is_multiple_of(4);
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str(if escape { "\\u005c" } else { "\\\\" }),
                '/' if escape => self.out.push_str("\\/"),
                '\n' if escape => self.out.push_str("\\n"),
                c if (c as u32) < 0x20 || escape => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        self.out.push_str(&format!("\\u{u:04x}"));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => {
                self.out.push_str(&serde_json::to_string(v).unwrap())
            }
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.ws();
                    self.value(item);
                    self.ws();
                }
                self.out.push(']');
            }
            Value::Object(members) => {
                self.out.push('{');
                for (i, (k, item)) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.ws();
                    self.string(k);
                    self.ws();
                    self.out.push(':');
                    self.ws();
                    self.value(item);
                    self.ws();
                }
                self.out.push('}');
            }
        }
    }
}

fn to_serde(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => (*b).into(),
        Json::Number(n) => serde_json::from_str(n).unwrap(),
        Json::String(s) => s.clone().into(),
        Json::Array(a) => a.iter().map(|v| to_serde(&v.value)).collect(),
        Json::Object(m) => m
            .iter()
            .map(|m| (m.key.value.clone(), to_serde(&m.value.value)))
            .collect(),
    }
}

/// Every span lies in the text and slices to exactly what it stands for:
/// a key's span to its quoted text, a value's span to its JSON text.
fn check_spans(text: &str, v: &json::Spanned<Json>) -> Result<(), TestCaseError> {
    prop_assert!(v.span.end <= text.len());
    let slice = text
        .get(v.span.clone())
        .ok_or_else(|| TestCaseError::fail(format!("span {:?} cuts a character", v.span)))?;
    prop_assert_eq!(
        serde_json::from_str::<Value>(slice).unwrap(),
        to_serde(&v.value)
    );
    match &v.value {
        Json::Array(items) => items.iter().try_for_each(|i| check_spans(text, i)),
        Json::Object(members) => members.iter().try_for_each(|m| {
            let key = text.get(m.key.span.clone()).ok_or_else(|| {
                TestCaseError::fail(format!("key span {:?} cuts a character", m.key.span))
            })?;
            prop_assert!(key.starts_with('"') && key.ends_with('"') && key.len() >= 2);
            prop_assert_eq!(&serde_json::from_str::<String>(key).unwrap(), &m.key.value);
            check_spans(text, &m.value)
        }),
        _ => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_json_reader_agrees_with_serde_json(
        value in any_json(),
        style in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let mut w = Writer { out: String::new(), style: &style, at: 0 };
        w.ws();
        w.value(&value);
        w.ws();
        let text = w.out;
        prop_assert_eq!(&serde_json::from_str::<Value>(&text).unwrap(), &value, "the writer is wrong");
        let ours = json::parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?} in {text:?}")))?;
        prop_assert_eq!(&to_serde(&ours.value), &value);
        check_spans(&text, &ours)?;
    }

    /// Broken texts: both readers refuse them, or both accept them alike.
    #[test]
    fn the_json_reader_refuses_what_serde_json_refuses(
        value in any_json(),
        cut in any::<prop::sample::Index>(),
        junk in "[\\[\\]{},:\"a-z0-9 ]{0,3}",
    ) {
        let text = serde_json::to_string(&value).unwrap();
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let broken = format!("{}{junk}{}", &text[..at], &text[at..]);
        // serde_json keeps the last of duplicate keys; ours keeps both, and
        // the qparam reader reports the duplicate. Compare with that in mind.
        let theirs = serde_json::from_str::<Value>(&broken);
        let ours = json::parse(&broken);
        // JSON sets no range on numbers (Python reads 1e400 as inf);
        // serde_json refuses those beyond f64. Ours keeps their text.
        let out_of_range = theirs
            .as_ref()
            .is_err_and(|e| e.to_string().contains("number out of range"));
        prop_assume!(!(out_of_range && ours.is_ok()));
        prop_assert_eq!(theirs.is_ok(), ours.is_ok(), "{:?}", broken);
        if let (Ok(t), Ok(o)) = (theirs, ours) {
            let mut keys = Vec::new();
            collect_keys(&o.value, &mut keys);
            if keys.iter().all(|k| k.len() == 1) {
                prop_assert_eq!(to_serde(&o.value), t);
            }
        }
    }
}

/// For each object, its keys grouped by name (to spot duplicates).
fn collect_keys(j: &Json, out: &mut Vec<Vec<String>>) {
    match j {
        Json::Array(a) => a.iter().for_each(|v| collect_keys(&v.value, out)),
        Json::Object(m) => {
            let mut names: Vec<String> = m.iter().map(|m| m.key.value.clone()).collect();
            names.sort();
            for group in names.chunk_by(|a, b| a == b) {
                out.push(group.to_vec());
            }
            m.iter().for_each(|m| collect_keys(&m.value.value, out));
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// --fix: the fixed text is the same set under the new keys.

/// The PyTorch-keyed mlp set, as a map, and a directory with its npy files.
fn torch_mlp() -> (tempfile::TempDir, serde_json::Map<String, Value>) {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("mlp.torch-qparam");
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let map = serde_json::from_slice(&std::fs::read(src.join("qparam.json")).unwrap()).unwrap();
    (dir, map)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_fixed_text_reads_back_as_the_same_entries_under_the_new_keys(
        order in Just(()).prop_perturb(|_, mut rng| {
            let mut v: Vec<u32> = (0..64).map(|_| rng.next_u32()).collect();
            v.sort_unstable();
            v
        }),
        drop_axis in prop::collection::vec(any::<bool>(), 7),
        drop_entry in prop::collection::vec(prop::bool::weighted(0.15), 7),
        style in prop::collection::vec(any::<u8>(), 1..32),
        seed in any::<u64>(),
    ) {
        let (dir, original) = torch_mlp();
        // Reorder, drop some entries and some axes.
        let mut entries: Vec<(String, Value)> = original.into_iter().collect();
        let n = entries.len();
        let mut keyed: Vec<(u64, (String, Value))> = entries
            .drain(..)
            .enumerate()
            .map(|(i, e)| (seed.rotate_left(i as u32 * 7) ^ u64::from(order[i % order.len()]), e))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let mut doc = serde_json::Map::new();
        for (i, (_, (key, mut value))) in keyed.into_iter().enumerate() {
            if drop_entry[i % n] {
                continue;
            }
            if drop_axis[i % n] {
                value.as_object_mut().unwrap().remove("quantized_dimension");
            }
            doc.insert(key, value);
        }
        let mut w = Writer { out: String::new(), style: &style, at: 0 };
        w.value(&Value::Object(doc.clone()));
        let qparam = dir.path().join("qparam.json");
        std::fs::write(&qparam, &w.out).unwrap();

        let file = q_implant::model::CircleFile::open(common::fixture("mlp.circle")).unwrap();
        let graph = q_implant::graph::Graph::new(&file);
        let options = Default::default();
        let analysis = q_implant::analysis::check(&graph, &qparam, &options).unwrap();
        let plan = q_implant::fix::plan(&graph, &analysis, &options).unwrap();
        let fixed_text = plan.text.clone();
        let new_files: Vec<String> = plan
            .new_files()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();

        // Valid JSON with no duplicate key.
        let parsed = json::parse(&fixed_text)
            .map_err(|e| TestCaseError::fail(format!("{e:?}: {fixed_text}")))?;
        let mut groups = Vec::new();
        collect_keys(&parsed.value, &mut groups);
        prop_assert!(groups.iter().all(|g| g.len() == 1), "a duplicate key: {}", fixed_text);
        let fixed: serde_json::Map<String, Value> = serde_json::from_str(&fixed_text).unwrap();

        let said = |key: &str, what: &str| plan.fixed.iter().any(|f| f.key == key && f.what.starts_with(what));
        let mut accounted: HashSet<String> = HashSet::new();
        for (entry, resolution) in analysis.qparam.entries.iter().zip(&analysis.resolutions) {
            let new_key = match &resolution.verdict {
                Verdict::Match(m) => m.name.clone(),
                _ => entry.key.clone(),
            };
            accounted.insert(new_key.clone());
            let Some(got) = fixed.get(&new_key) else {
                // Gone only where the plan says so: removed, or replaced
                // by an entry it added.
                prop_assert!(
                    said(&entry.key, "removed") || plan.fixed.iter().any(|f| f.what.starts_with("added")),
                    "`{}` (as `{}`) vanished: {}", entry.key, new_key, fixed_text
                );
                continue;
            };
            if said(&new_key, "added") {
                continue; // replaced by a new entry for the same tensor
            }
            let original = doc[&entry.key].as_object().unwrap();
            let got = got.as_object().unwrap();
            for (field, value) in original {
                let now = got.get(field);
                let repaired = ["scale", "zerop", "value"].contains(&field.as_str())
                    && now.and_then(Value::as_str).is_some_and(|n| new_files.iter().any(|f| f == n));
                prop_assert!(now == Some(value) || repaired, "`{}`.{} became {:?}", new_key, field, now);
            }
            for (field, value) in got {
                if !original.contains_key(field) {
                    prop_assert_eq!((field.as_str(), value), ("quantized_dimension", &Value::from(0)));
                    prop_assert!(said(&entry.key, "added \"quantized_dimension\""));
                }
            }
        }
        for key in fixed.keys().filter(|k| !accounted.contains(*k)) {
            prop_assert!(said(key, "added"), "`{}` appeared unannounced", key);
            prop_assert!(!graph.named(key).is_empty(), "`{}` names no tensor", key);
        }
    }
}

// ---------------------------------------------------------------------------
// The matcher's joint decision.

fn candidates() -> impl Strategy<Value = Vec<Vec<Suggestion>>> {
    let names = ["a", "b", "c", "d", "e", "f"];
    let confidence = prop_oneof![
        0.0..1.0f64,
        0.78..0.86f64,
        Just(0.9),
        Just(0.91),
        Just(0.97)
    ];
    let key = prop::sample::subsequence(names.to_vec(), 0..=names.len())
        .prop_flat_map(move |picked| {
            let n = picked.len();
            (Just(picked), prop::collection::vec(confidence.clone(), n))
        })
        .prop_map(|(picked, confidences)| {
            let mut s: Vec<Suggestion> = picked
                .into_iter()
                .zip(confidences)
                .map(|(name, confidence)| Suggestion {
                    name: name.into(),
                    confidence,
                    reason: String::new(),
                })
                .collect();
            // Best first, as the matcher hands them over.
            s.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            s
        });
    prop::collection::vec(key, 0..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_decision_is_one_to_one(keys in candidates()) {
        let verdicts = decide(&keys);
        prop_assert_eq!(verdicts.len(), keys.len());
        let mut taken = HashSet::new();
        for (i, v) in verdicts.iter().enumerate() {
            let offered = |s: &Suggestion| keys[i].iter().any(|c| c.name == s.name && c.confidence == s.confidence);
            match v {
                Verdict::Match(m) => {
                    prop_assert!(taken.insert(m.name.clone()), "`{}` matched twice", m.name);
                    prop_assert!(offered(m) && m.confidence >= CONFIDENT);
                }
                Verdict::Ambiguous { ties, .. } => {
                    prop_assert!(ties.len() > 1);
                    prop_assert!(ties.iter().all(|t| offered(t) && t.confidence >= CONFIDENT));
                }
                Verdict::Unmatched => {}
                Verdict::Named => prop_assert!(false, "decide never says Named"),
            }
        }
        // Nothing confident is left on the table: a key without a verdict
        // had every confident candidate taken by another key.
        for (i, v) in verdicts.iter().enumerate() {
            if *v == Verdict::Unmatched {
                for c in keys[i].iter().filter(|c| c.confidence >= CONFIDENT) {
                    prop_assert!(taken.contains(&c.name), "key {} left `{}` free", i, c.name);
                }
            }
        }
    }
}
