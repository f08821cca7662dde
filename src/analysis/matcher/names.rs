//! Names: the weakest signal. Exporters and converters spell the same
//! tensor differently, so names are reduced to their words first; fuzzy
//! comparison is limited to tensors sharing a word with the key, so its
//! cost does not grow with keys × tensors.

use std::collections::HashMap;

use crate::graph::{Graph, TensorId};

/// A name reduced to its words: lower case, converter prefixes dropped,
/// separators as spaces, `kernel` read as `weight`.
pub fn normalize(name: &str) -> String {
    let lower = name.to_lowercase();
    let tail = lower.rsplit("::").next().unwrap_or(&lower);
    let tail = tail.strip_prefix("p_").unwrap_or(tail);
    tail.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| if w == "kernel" { "weight" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words shared by this many tensors say nothing about which one is meant.
const COMMON_WORD: usize = 64;

/// Fuzzy comparison looks at no more tensors than this per key.
const MAX_FUZZY: usize = 256;

/// The model's tensor names, indexed by normalized name and by word.
pub struct NameIndex {
    normalized: HashMap<String, Vec<TensorId>>,
    words: HashMap<String, Vec<TensorId>>,
}

impl NameIndex {
    pub fn new(graph: &Graph<'_>) -> NameIndex {
        let mut normalized: HashMap<String, Vec<TensorId>> = HashMap::new();
        let mut words: HashMap<String, Vec<TensorId>> = HashMap::new();
        for t in graph.tensors() {
            let n = normalize(t.name);
            for w in n.split(' ').filter(|w| !w.is_empty()) {
                let list = words.entry(w.to_string()).or_default();
                if list.last() != Some(&t.id) {
                    list.push(t.id);
                }
            }
            normalized.entry(n).or_default().push(t.id);
        }
        NameIndex { normalized, words }
    }

    /// Tensors whose normalized name is the key's.
    pub fn same(&self, key: &str) -> &[TensorId] {
        self.normalized
            .get(&normalize(key))
            .map_or(&[], Vec::as_slice)
    }

    /// Tensors sharing an uncommon word with `key`, with the edit
    /// similarity of the normalized names (0 to 1).
    pub fn similar(&self, graph: &Graph<'_>, key: &str) -> Vec<(TensorId, f64)> {
        let n = normalize(key);
        let mut seen: Vec<TensorId> = Vec::new();
        for w in n.split(' ') {
            if let Some(list) = self.words.get(w).filter(|l| l.len() <= COMMON_WORD) {
                seen.extend(list);
            }
        }
        seen.sort();
        seen.dedup();
        seen.truncate(MAX_FUZZY);
        seen.into_iter()
            .map(|id| {
                let s = strsim::normalized_levenshtein(&n, &normalize(graph.tensor(id).name));
                (id, s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_reduce_to_words() {
        assert_eq!(normalize("tico::p_conv1_bias"), "conv1 bias");
        assert_eq!(normalize("conv1.bias"), "conv1 bias");
        assert_eq!(normalize("subnet.conv2.kernel"), "subnet conv2 weight");
    }
}
