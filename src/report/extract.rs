//! What `extract` says about the set it wrote: for people, the summary
//! lines (entries by type, the tensors `apply` inserted, those the format
//! cannot carry); for tools, the versioned JSON record of docs/extract.md.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{plural, printable};
use crate::extract::{Extracted, InsertedTensor, Left, WrittenSet};
use crate::table;

/// The JSON record's version: raised when a field changes meaning or goes.
const VERSION: u32 = 1;

/// What an extraction did, as reports take it.
pub struct Summary<'a> {
    pub model: &'a Path,
    /// The directory written; `None` for a set returned in memory.
    pub dir: Option<&'a Path>,
    pub extracted: &'a Extracted,
    pub written: Option<WrittenSet>,
    pub renamed: usize,
    pub unresolved: &'a [String],
    pub keys_from: Option<&'a Path>,
}

/// Entries per dtype, in the order of [`crate::qparam::QDType::ALL`].
fn by_dtype(extracted: &Extracted) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for e in &extracted.entries {
        *out.entry(e.dtype.name()).or_default() += 1;
    }
    out
}

/// The status lines after a write.
pub fn lines(s: &Summary<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for i in &s.extracted.inserted {
        out.push(printable(&match &i.params_to {
            Some(to) => format!(
                "inserted by apply, not a key: `{}` ({}, subgraph {}); its parameters are written under `{}`",
                table::shorten(&i.tensor),
                i.op,
                i.subgraph,
                table::shorten(to)
            ),
            None => format!(
                "inserted by apply, not a key: `{}` ({}, subgraph {})",
                table::shorten(&i.tensor),
                i.op,
                i.subgraph
            ),
        })
        .into_owned());
    }
    for l in &s.extracted.left {
        out.push(
            printable(&format!(
                "left out: `{}` (subgraph {}): {}",
                table::shorten(&l.tensor),
                l.subgraph,
                l.why
            ))
            .into_owned(),
        );
    }
    if let Some(keys_from) = s.keys_from {
        let mut line = format!(
            "{} keyed as in {}",
            plural(s.renamed, "entry", "entries"),
            keys_from.display()
        );
        if !s.unresolved.is_empty() {
            line += &format!(
                "; {} of it resolve to no tensor (see `q-implant check`), so their tensors keep their names",
                plural(s.unresolved.len(), "key", "keys")
            );
        }
        out.push(printable(&line).into_owned());
    }
    let dtypes: Vec<String> = by_dtype(s.extracted)
        .iter()
        .map(|(d, n)| format!("{n} {d}"))
        .collect();
    let inserted = if s.extracted.inserted.is_empty() {
        String::new()
    } else {
        format!(
            "; {} inserted by apply",
            plural(s.extracted.inserted.len(), "tensor", "tensors")
        )
    };
    let entries = format!(
        "{} ({})",
        plural(s.extracted.entries.len(), "entry", "entries"),
        dtypes.join(", ")
    );
    let line = match (s.dir, s.written) {
        (Some(dir), Some(written)) => format!(
            "wrote {}: {entries}, {} and qparam.json, {} bytes{inserted}",
            dir.display(),
            plural(written.files.saturating_sub(1), "npy file", "npy files"),
            written.bytes,
        ),
        _ => format!("read {entries} into memory{inserted}"),
    };
    out.push(printable(&line).into_owned());
    out
}

#[derive(Serialize)]
struct Record<'a> {
    version: u32,
    model: &'a Path,
    output: Option<&'a Path>,
    entries: usize,
    by_dtype: BTreeMap<&'static str, usize>,
    files: Option<usize>,
    bytes: Option<u64>,
    keys_from: Option<&'a Path>,
    renamed: usize,
    unresolved: &'a [String],
    inserted: &'a [InsertedTensor],
    left: &'a [Left],
}

/// `--format json`: the record of what was written.
pub fn json(s: &Summary<'_>) -> String {
    serde_json::to_string_pretty(&Record {
        version: VERSION,
        model: s.model,
        output: s.dir,
        entries: s.extracted.entries.len(),
        by_dtype: by_dtype(s.extracted),
        files: s.written.map(|w| w.files),
        bytes: s.written.map(|w| w.bytes),
        keys_from: s.keys_from,
        renamed: s.renamed,
        unresolved: s.unresolved,
        inserted: &s.extracted.inserted,
        left: &s.extracted.left,
    })
    .expect("the extract record serializes")
        + "\n"
}
