//! Proposes circle tensors for qparam keys that name none, from every
//! signal available, and decides all keys jointly.
//!
//! - [`content`]: an entry's `value`, dequantized, against constants' float
//!   data, under the layouts converters give framework arrays ([`layout`]).
//! - [`structure`]: where a key's module sits in the graph: a layer's bias
//!   and output next to its weight, the input stub at the graph input, a
//!   module kind the model has one operator of, the order of modules
//!   between confidently matched layers.
//! - [`names`]: the names, reduced to their words.
//! - [`values`]: a key's range against the range its tensor takes when
//!   the float model runs (only for keys the others leave to the order).
//!
//! A key with a `value` is only ever offered constants, and a key without
//! one only activations. Signals for the same tensor combine as independent
//! evidence (1 − Π(1 − c)), so agreeing signals beat any one alone.

mod alignment;
pub mod content;
mod crowd;
mod folded;
mod judge;
pub mod kinds;
pub mod layout;
pub mod names;
mod ops;
mod order;
mod structure;
pub mod values;

use std::collections::{HashMap, HashSet};

use crate::calibrate::inputs::draws;
use crate::calibrate::{ModelRuns, MATCHING_SAMPLES};
use crate::diagnostic::Suggestion;
use crate::graph::{Graph, Tensor, TensorId};
use crate::model::fb::TensorType;
use crate::qparam::{Entry, QParamFile};
use content::{Fingerprints, FirstElements, Quantized, ValueSample};
use crowd::{Crowd, Crowds};
use layout::IndexMap;
pub use layout::{layout_change, layout_changes, LayoutChange};

/// Confidence from which a suggestion is offered as the fix.
pub const CONFIDENT: f64 = 0.8;

/// Candidates closer than this in confidence are equally good...
const TIE: f64 = 0.02;

/// ...unless one is this many times as likely to be wrong as the other: near
/// certainty, a signal that agrees (the exact name beside identical data)
/// tells candidates apart that fuzzy names alone would not.
const TIE_ODDS: f64 = 2.0;

/// A key's candidates, best first: each with its confidence and reason.
type Ranked = Vec<(TensorId, f64, String)>;

/// Candidates of a key not listed (alike members of its crowd): how many,
/// and their confidence.
type Unlisted = (usize, f64);

/// How many candidates a finding lists.
const SHOWN: usize = 3;

/// Candidates below this are not worth listing.
const LISTED: f64 = 0.05;

/// Every element of the value within tolerance of the tensor's data: only
/// identical data (shared or equal tensors) competes with it.
const CONTENT_MATCH: f64 = 0.97;

/// Every element within a step but not all within rounding's half step:
/// the values were truncated, or computed with other parameters.
const CONTENT_NEAR: f64 = 0.9;

/// The right shape under some layout, with data that cannot be compared.
const SHAPE_ONLY: f64 = 0.35;

/// The same name once converter prefixes and separators are ignored.
const NAME_SAME: f64 = 0.85;

/// Fuzzy name similarity is scaled to at most this: names alone never
/// decide.
const NAME_WEIGHT: f64 = 0.45;

/// How many fingerprint matches per key are confirmed in full; more than
/// this are equal data the content cannot tell apart anyway.
const CONFIRM_MAX: usize = 8;

/// What the matcher concludes for one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The key names tensors of the model; nothing to match.
    Named,
    /// This tensor, confidently, and no other key claims it.
    Match(Suggestion),
    /// Several tensors are equally good: the data cannot tell. `more`
    /// counts those as good not listed in `ties` (constants equal to
    /// them).
    Ambiguous { ties: Vec<Suggestion>, more: usize },
    /// Nothing confident.
    Unmatched,
}

/// The words for an ambiguous key's ties not listed: " and 12 more".
pub fn more_equal(more: usize) -> String {
    if more == 0 {
        String::new()
    } else {
        format!(" and {more} more")
    }
}

/// A key's verdict and the candidates worth listing, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    pub verdict: Verdict,
    pub candidates: Vec<Suggestion>,
    /// Why the key has no tensor, when the graph says why (its value was
    /// fused into the next operator, another key holding the result).
    pub note: Option<String>,
}

impl Resolution {
    pub fn matched(&self) -> Option<&Suggestion> {
        match &self.verdict {
            Verdict::Match(s) => Some(s),
            _ => None,
        }
    }
}

/// Signals for one candidate tensor.
#[derive(Clone, Debug, Default)]
struct Evidence {
    /// Each signal's confidence and reason.
    signals: Vec<(f64, String)>,
}

impl Evidence {
    fn add(&mut self, confidence: f64, reason: impl Into<String>) {
        self.signals.push((confidence, reason.into()));
    }

    fn has_content_match(&self) -> bool {
        self.signals.iter().any(|(c, _)| *c >= CONTENT_MATCH)
    }

    fn confidence(&self) -> f64 {
        1.0 - self
            .signals
            .iter()
            .map(|(c, _)| 1.0 - c.clamp(0.0, 1.0))
            .product::<f64>()
    }

    /// The strongest signal's reason, then the others that agree.
    fn reason(&self) -> String {
        let mut signals = self.signals.clone();
        signals.sort_by(|a, b| b.0.total_cmp(&a.0));
        signals.dedup_by(|a, b| a.1 == b.1);
        signals
            .iter()
            .enumerate()
            .filter(|(n, (c, _))| *n == 0 || *c >= 0.5)
            .map(|(_, (_, r))| r.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The evidence gathered for every key that names no tensor.
struct Board<'g> {
    graph: &'g Graph<'g>,
    /// Per entry: evidence per candidate tensor.
    evidence: Vec<HashMap<TensorId, Evidence>>,
    /// (entry, tensor name) claims that may share their tensor with
    /// another key's: the module passes on the value of the one before.
    shared: HashSet<(usize, String)>,
    /// Per entry: why it has no tensor of its own.
    notes: HashMap<usize, String>,
    /// (entry, tensor) pairs certainly not meant, whatever else says so
    /// (a module's value the converter fused away).
    excluded: HashSet<(usize, TensorId)>,
    /// Per entry whose value was compared with every constant of a fitting
    /// shape: that value's shape. Such a constant without evidence had data
    /// that differ. Rejections are kept this way, not pair by pair, so that
    /// keys × same-shape constants cost no memory.
    compared: Vec<Option<Vec<usize>>>,
    /// The entry being compared now, and the constants whose data differ
    /// from its value so far.
    comparing: Option<(usize, HashSet<TensorId>)>,
    /// Per entry: the constants its value matches beyond those confirmed
    /// one by one, as one piece of evidence.
    crowds: Vec<Option<Crowd>>,
    crowd_lists: Crowds,
}

impl Board<'_> {
    fn add(&mut self, entry: usize, tensor: TensorId, confidence: f64, reason: impl Into<String>) {
        if confidence >= CONTENT_MATCH {
            // Data that match under one layout outweigh a mismatch under
            // another.
            self.excluded.remove(&(entry, tensor));
            if let Some((e, differ)) = &mut self.comparing {
                if *e == entry {
                    differ.remove(&tensor);
                }
            }
        } else if self.is_excluded(entry, tensor) {
            return;
        }
        self.evidence[entry]
            .entry(tensor)
            .or_default()
            .add(confidence, reason);
    }

    fn is_excluded(&self, entry: usize, tensor: TensorId) -> bool {
        if self.excluded.contains(&(entry, tensor)) {
            return true;
        }
        if let Some((e, differ)) = &self.comparing {
            if *e == entry {
                return differ.contains(&tensor);
            }
        }
        self.compared[entry].as_ref().is_some_and(|vshape| {
            !self.has_evidence(entry, tensor) && is_option(vshape, self.graph.tensor(tensor))
        })
    }

    /// Whether anything speaks for `tensor` as entry's: a signal of its
    /// own, or the entry's crowd.
    fn has_evidence(&self, entry: usize, tensor: TensorId) -> bool {
        self.evidence[entry].contains_key(&tensor)
            || self.crowds[entry]
                .as_ref()
                .is_some_and(|c| c.contains(tensor))
    }

    /// The best confidence any candidate of entry's has.
    fn best_confidence(&self, entry: usize) -> f64 {
        let crowd = self.crowds[entry].as_ref().map_or(0.0, |c| c.confidence);
        self.evidence[entry]
            .values()
            .map(Evidence::confidence)
            .fold(crowd, f64::max)
    }

    fn exclude(&mut self, entry: usize, tensor: TensorId) {
        let matched = self.evidence[entry]
            .get(&tensor)
            .is_some_and(Evidence::has_content_match);
        if !matched {
            self.evidence[entry].remove(&tensor);
            match &mut self.comparing {
                Some((e, differ)) if *e == entry => {
                    differ.insert(tensor);
                }
                _ => {
                    self.excluded.insert((entry, tensor));
                }
            }
        }
    }

    /// Starts comparing `entry`'s value with the constants.
    fn begin_comparing(&mut self, entry: usize) {
        self.comparing = Some((entry, HashSet::new()));
    }

    /// Every constant of a shape fitting `vshape` was compared with
    /// `entry`'s value: those left without evidence differ.
    fn end_comparing(&mut self, entry: usize, vshape: &[usize]) {
        self.comparing = None;
        self.compared[entry] = Some(vshape.to_vec());
    }

    /// The key's candidates worth deciding on or listing, best first, and
    /// how many more its crowd holds, with their confidence.
    fn ranked(&self, entry: usize) -> (Ranked, Unlisted) {
        let crowd = self.crowds[entry].as_ref();
        let evidence = |id: TensorId| {
            let own = self.evidence[entry].get(&id);
            let mut e = own.cloned().unwrap_or_default();
            if let Some(c) = crowd.filter(|c| c.contains(id) && !self.is_excluded(entry, id)) {
                e.add(c.confidence, c.reason.as_str());
            }
            e
        };
        let mut scored: Vec<(TensorId, f64)> = self.evidence[entry]
            .keys()
            .map(|&id| (id, evidence(id).confidence()))
            .filter(|(_, c)| *c > LISTED)
            .collect();
        // Crowd members without a signal of their own are all alike: a
        // few are listed, the others counted.
        let mut more = 0;
        if let Some(c) = crowd.filter(|c| c.confidence > LISTED) {
            for &id in c.members() {
                if self.evidence[entry].contains_key(&id) || self.is_excluded(entry, id) {
                    continue;
                }
                if scored.len() < self.evidence[entry].len() + SHOWN {
                    scored.push((id, c.confidence));
                } else {
                    more += 1;
                }
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // One suggestion per name (the same name in several subgraphs).
        let mut seen: HashSet<&str> = HashSet::new();
        scored.retain(|(id, _)| seen.insert(self.graph.tensor(*id).name));
        // The listed ones, and every one confident enough to decide on.
        let ranked = scored
            .into_iter()
            .enumerate()
            .take_while(|(n, (_, c))| *n < SHOWN || *c >= CONFIDENT)
            .map(|(_, (id, c))| (id, c, evidence(id).reason()))
            .collect();
        (ranked, (more, crowd.map_or(0.0, |c| c.confidence)))
    }
}

/// Whether `t` may be offered to a key with (`with_value`) or without a
/// value: constants for the one, activations for the other, float32 both.
fn kind_fits(t: &Tensor<'_>, with_value: bool) -> bool {
    t.dtype == TensorType::FLOAT32 && t.is_constant() == with_value
}

/// Resolves every entry: `Named` for keys naming a tensor, a verdict for
/// the others. `targets[i]` are the tensors entry i names; `by_tensor`
/// maps each named tensor to its entry. `runs` says whether the model may
/// be run for the keys the order of modules places.
pub fn resolve(
    graph: &Graph<'_>,
    qparam: &QParamFile,
    targets: &[Vec<TensorId>],
    by_tensor: &HashMap<TensorId, usize>,
    runs: &ModelRuns,
) -> Vec<Resolution> {
    let entries = &qparam.entries;
    let unknown: Vec<usize> = (0..entries.len())
        .filter(|&i| targets[i].is_empty())
        .collect();
    let mut board = Board {
        graph,
        evidence: vec![HashMap::new(); entries.len()],
        shared: HashSet::new(),
        notes: HashMap::new(),
        excluded: HashSet::new(),
        compared: vec![None; entries.len()],
        comparing: None,
        crowds: vec![None; entries.len()],
        crowd_lists: Crowds::default(),
    };
    if !unknown.is_empty() {
        let free = |t: &Tensor<'_>| !by_tensor.contains_key(&t.id);
        content_signals(graph, entries, &unknown, &free, &mut board);
        let folded = folded_signals(&mut board, (entries, &unknown), &free);
        let anchors =
            structure::Anchors::new(graph, entries, targets, &board_matches(&board, &unknown));
        structure::signals(graph, entries, &unknown, &anchors, &mut |i, id, c, r| {
            if free(graph.tensor(id)) && kind_fits(graph.tensor(id), entries[i].has_value_field) {
                board.add(i, id, c, r);
            }
        });
        let keys = Keys {
            entries,
            targets,
            unknown: &unknown,
            folded: &folded,
        };
        let values = order_signals(graph, &keys, &anchors, &free, runs, &mut board);
        let names = NameKeys {
            entries,
            unknown: &unknown,
            values: values.as_ref().map(|(si, v)| (*si, v)),
        };
        name_signals(graph, &names, &free, &mut board);
    }
    let (ranked, crowded): (Vec<Ranked>, Vec<Unlisted>) = (0..entries.len())
        .map(|i| {
            if targets[i].is_empty() {
                board.ranked(i)
            } else {
                (Vec::new(), (0, 0.0))
            }
        })
        .unzip();
    let suggestions: Vec<Vec<Suggestion>> = ranked
        .iter()
        .map(|r| {
            r.iter()
                .map(|(id, c, reason)| Suggestion {
                    name: graph.tensor(*id).name.to_string(),
                    confidence: *c,
                    reason: reason.clone(),
                })
                .collect()
        })
        .collect();
    // Grouped in one pass: a scan of every claim per entry is entries ×
    // claims when thousands of keys pass a value on.
    let mut shared: Vec<HashSet<String>> = vec![HashSet::new(); entries.len()];
    for (e, n) in &board.shared {
        if let Some(names) = shared.get_mut(*e) {
            names.insert(n.clone());
        }
    }
    let verdicts = decide_sharing(&suggestions, &shared, &crowded);
    verdicts
        .into_iter()
        .zip(suggestions)
        .enumerate()
        .map(|(i, (verdict, mut candidates))| {
            candidates.truncate(SHOWN);
            Resolution {
                verdict: if targets[i].is_empty() {
                    verdict
                } else {
                    Verdict::Named
                },
                candidates,
                note: board.notes.remove(&i),
            }
        })
        .collect()
}

/// Each key's confirmed content match, when it has exactly one.
fn board_matches(board: &Board<'_>, unknown: &[usize]) -> HashMap<usize, TensorId> {
    let mut out = HashMap::new();
    for &i in unknown {
        let confirmed: Vec<TensorId> = board.evidence[i]
            .iter()
            .filter(|(_, e)| e.has_content_match())
            .map(|(id, _)| *id)
            .collect();
        if let [only] = confirmed[..] {
            out.insert(i, only);
        }
    }
    out
}

/// The keys being resolved.
struct Keys<'a> {
    entries: &'a [Entry],
    targets: &'a [Vec<TensorId>],
    unknown: &'a [usize],
    /// Linear layers a normalization was folded into.
    folded: &'a [folded::Folded],
}

/// Order: the keys without a value placed among the operators between the
/// keys whose tensors are certain, judged by their values too when the
/// model may run and some key is left to the order. Returns the subgraph
/// it placed keys in and, when the model ran, its observed values.
fn order_signals(
    graph: &Graph<'_>,
    keys: &Keys<'_>,
    anchors: &structure::Anchors,
    free: &dyn Fn(&Tensor<'_>) -> bool,
    runs: &ModelRuns,
    board: &mut Board<'_>,
) -> Option<(usize, values::Values)> {
    let entries = keys.entries;
    let known = certain_outputs(entries, keys.targets, board);
    // The subgraph most keys are known in.
    let mut count = vec![0usize; graph.subgraphs.len()];
    for t in known.values().chain(anchors.value_ops.values()) {
        count[t.subgraph] += 1;
    }
    let si = (0..count.len()).max_by_key(|&s| (count[s], std::cmp::Reverse(s)))?;
    let value_ops: HashMap<usize, usize> = anchors
        .value_ops
        .iter()
        .filter(|(_, t)| t.subgraph == si)
        .filter_map(|(&i, t)| Some((i, *graph.tensor(*t).consumers.first()?)))
        .collect();
    let left_to_order = keys
        .unknown
        .iter()
        .any(|&i| !entries[i].has_value_field && !known.contains_key(&i));
    let values = if runs.map_by_value && left_to_order {
        observed_values(graph, si, entries, &known, runs)
    } else {
        None
    };
    let (placements, fused) = order::place(graph, si, entries, &known, &value_ops, values.as_ref());
    let unknown: HashSet<usize> = keys.unknown.iter().copied().collect();
    for p in placements {
        let t = graph.tensor(p.tensor);
        if !unknown.contains(&p.entry) || !free(t) || !kind_fits(t, false) {
            continue;
        }
        if p.shared {
            board.shared.insert((p.entry, t.name.to_string()));
        }
        board.add(p.entry, p.tensor, p.confidence, p.reason);
    }
    for f in fused {
        if unknown.contains(&f.entry) {
            board.exclude(f.entry, f.tensor);
            board.notes.insert(f.entry, f.reason);
        }
    }
    normalizations_folded(graph, keys, board);
    values.map(|v| (si, v))
}

/// A key whose best candidate is the input of a Linear layer a
/// normalization was folded into, where that input is a normalization's
/// end: the key is that normalization, whose output (after its scale and
/// shift) is in no tensor.
fn normalizations_folded(graph: &Graph<'_>, keys: &Keys<'_>, board: &mut Board<'_>) {
    for &i in keys.unknown {
        if keys.entries[i].has_value_field {
            continue;
        }
        let Some((best, _, _)) = board.ranked(i).0.first().cloned() else {
            continue;
        };
        let Some(f) = keys.folded.iter().find(|f| f.input == best) else {
            continue;
        };
        let sg = &graph.subgraphs[f.subgraph];
        let is_norm_end = graph
            .tensor(best)
            .producer
            .is_some_and(|p| ops::Ops::new(sg).is_norm_end(p));
        if !is_norm_end {
            continue;
        }
        board.exclude(i, best);
        board.notes.insert(
            i,
            format!(
                "the converter folded this normalization's scale and shift into the weight and bias of {} #{}, so its output is in no tensor (`{}` holds the value before them)",
                sg.operators[f.op].opcode,
                f.op,
                graph.tensor(best).name
            ),
        );
    }
}

/// Weight keys whose value a FULLY_CONNECTED weight holds with a
/// normalization's scale folded in, and their bias keys: noted (their
/// values are in no tensor), the layers returned.
fn folded_signals(
    board: &mut Board<'_>,
    keys: (&[Entry], &[usize]),
    free: &dyn Fn(&Tensor<'_>) -> bool,
) -> Vec<folded::Folded> {
    let graph = board.graph;
    let (entries, unknown) = keys;
    let unmatched: Vec<usize> = unknown
        .iter()
        .copied()
        .filter(|&i| entries[i].value.is_some())
        .filter(|&i| board.best_confidence(i) < CONTENT_NEAR)
        .collect();
    if unmatched.is_empty() {
        return Vec::new();
    }
    let layers = folded::folded_layers(graph, entries, &unmatched, &|id| free(graph.tensor(id)));
    for f in &layers {
        let op = &graph.subgraphs[f.subgraph].operators[f.op];
        let weight = graph.tensor(f.weight).name;
        let key = &entries[f.weight_entry].key;
        board.notes.insert(
            f.weight_entry,
            format!(
                "the converter folded a normalization's scale into this weight: `{weight}`, the weight of {} #{}, holds its columns, each scaled (`check --fix` quantizes `{weight}` from the model's data)",
                op.opcode, f.op
            ),
        );
        let layer = key.strip_suffix("weight").unwrap_or(key);
        let bias_key = format!("{layer}bias");
        let bias = unmatched.iter().find(|&&b| entries[b].key == bias_key);
        if let (Some(&b), Some(bt)) = (bias, f.bias) {
            board.exclude(b, bt);
            board.notes.insert(
                b,
                format!(
                    "the converter folded a normalization's shift into this bias: `{}`, the bias of {} #{}, holds it plus the weight times that shift (`check --fix` quantizes it from the model's data)",
                    graph.tensor(bt).name, op.opcode, f.op
                ),
            );
        }
    }
    layers
}

/// Value-less keys whose tensor is certain: named exactly, or a single
/// candidate from the layer and stub signals.
fn certain_outputs(
    entries: &[Entry],
    targets: &[Vec<TensorId>],
    board: &Board<'_>,
) -> HashMap<usize, TensorId> {
    let mut known: HashMap<usize, TensorId> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if e.has_value_field {
            continue;
        }
        if let [only] = targets[i].as_slice() {
            known.insert(i, *only);
            continue;
        }
        let strong: Vec<TensorId> = board.evidence[i]
            .iter()
            .filter(|(_, ev)| ev.confidence() >= structure::ANCHORING)
            .map(|(id, _)| *id)
            .collect();
        if let [only] = strong[..] {
            known.insert(i, only);
        }
    }
    known
}

/// The ranges subgraph `si` takes when run (on the samples given, or on
/// random ones drawn over the range the input keys represent), with the
/// offsets the certain keys show; `None` when it cannot run.
fn observed_values(
    graph: &Graph<'_>,
    si: usize,
    entries: &[Entry],
    known: &HashMap<usize, TensorId>,
    runs: &ModelRuns,
) -> Option<values::Values> {
    let sg = &graph.subgraphs[si];
    // Without samples: over the range each input's key represents.
    let draws = || {
        draws(sg, MATCHING_SAMPLES, &|x| {
            let (&i, _) = known.iter().find(|(_, t)| **t == sg.id(x))?;
            values::KeyRange::of(&entries[i]).map(|r| (r.lo, r.hi))
        })
    };
    let observed = runs.observe(graph, si, MATCHING_SAMPLES, &draws);
    let observed = observed.as_ref().as_ref().ok()?;
    let mut values = values::Values::new(observed, entries);
    values.learn_offsets(
        known
            .iter()
            .filter(|(_, t)| t.subgraph == si)
            .map(|(&i, t)| {
                let at = graph.tensor(*t).producer.map_or(-1.0, |p| p as f64);
                (i, t.index, at)
            }),
    );
    Some(values)
}

/// Content: fingerprints against every constant of a fitting shape, then
/// the survivors compared in full, under every reading of the value.
fn content_signals(
    graph: &Graph<'_>,
    entries: &[Entry],
    unknown: &[usize],
    free: &dyn Fn(&Tensor<'_>) -> bool,
    board: &mut Board<'_>,
) {
    let mut shapes = ShapeGroups::new(graph, free);
    let mut fingerprints = Fingerprints::default();
    for &i in unknown {
        let entry = &entries[i];
        let Some(value) = &entry.value else { continue };
        let vshape = &value.value.header.shape;
        board.begin_comparing(i);
        let options = shapes.options(vshape);
        let readings = Quantized::readings(entry);
        if readings.is_empty() {
            // Nothing can be compared: every option gets the shape's evidence.
            for (id, change) in shapes.every_option(graph, &options) {
                board.add(i, id, SHAPE_ONLY, how_it_fits(graph, id, change.as_ref()));
            }
            board.comparing = None;
            continue;
        }
        let mut samples = Samples::new();
        let options = shapes.worth_comparing(
            graph,
            i,
            (&readings, &mut samples),
            &options,
            &mut fingerprints,
            board,
        );
        let agreeing = sift(
            graph,
            i,
            (&readings, &mut samples),
            options,
            &mut fingerprints,
            board,
        );
        confirm(graph, i, &readings, agreeing, board);
        board.end_comparing(i, vshape);
    }
}

/// Float constants grouped by shape with axes of size 1 dropped (the
/// identity layout allows those) and by exact shape (for layout changes).
struct ShapeGroups {
    groups: Vec<ShapeGroup>,
    by_squeezed: HashMap<Vec<usize>, usize>,
    by_shape: HashMap<Vec<usize>, usize>,
}

/// Constants of one shape.
struct ShapeGroup {
    tensors: Vec<TensorId>,
    /// Each tensor's position in `tensors`.
    at: HashMap<TensorId, usize>,
    /// Their element count, when they all have the same.
    count: Option<usize>,
    /// Their fingerprints' first elements in order, once asked for.
    first: Option<FirstElements>,
}

/// A group of constants a value is compared with, under a layout change
/// (`None`: the identity), leaving out those of rank `not_rank`.
struct OptionGroup {
    group: usize,
    change: Option<LayoutChange>,
    not_rank: Option<usize>,
}

impl ShapeGroups {
    fn new(graph: &Graph<'_>, free: &dyn Fn(&Tensor<'_>) -> bool) -> Self {
        let mut shapes = ShapeGroups {
            groups: Vec::new(),
            by_squeezed: HashMap::new(),
            by_shape: HashMap::new(),
        };
        for t in graph.tensors().filter(|t| kind_fits(t, true) && free(t)) {
            let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
            let count = t.element_count().unwrap_or(0) as usize;
            for (map, key) in [(0, squeeze(&shape)), (1, shape)] {
                let groups = &mut shapes.groups;
                let map = if map == 0 {
                    &mut shapes.by_squeezed
                } else {
                    &mut shapes.by_shape
                };
                let g = *map.entry(key).or_insert_with(|| {
                    groups.push(ShapeGroup {
                        tensors: Vec::new(),
                        at: HashMap::new(),
                        count: Some(count),
                        first: None,
                    });
                    groups.len() - 1
                });
                let group = &mut groups[g];
                group.at.insert(t.id, group.tensors.len());
                group.tensors.push(t.id);
                if group.count != Some(count) {
                    group.count = None;
                }
            }
        }
        shapes
    }

    /// The groups a value of shape `vshape` is compared with, in order.
    fn options(&self, vshape: &[usize]) -> Vec<OptionGroup> {
        let mut options = Vec::new();
        if !vshape.contains(&0) {
            if let Some(&group) = self.by_squeezed.get(&squeeze(vshape)) {
                options.push(OptionGroup {
                    group,
                    change: None,
                    not_rank: None,
                });
            }
        }
        // Where dimensions coincide, the identity and a change offer the
        // same tensor; the content tells the layouts apart.
        for change in layout::changes_for_rank(vshape.len()) {
            let tshape: Vec<usize> = change.perm.iter().map(|&p| vshape[p]).collect();
            if let Some(&group) = self.by_shape.get(&tshape) {
                options.push(OptionGroup {
                    group,
                    change: Some(change.clone()),
                    not_rank: None,
                });
            }
            // The same with axes of size 1 added (a Conv1d's weight run as
            // a CONV_2D's).
            if !vshape.contains(&0) {
                if let Some(&group) = self.by_squeezed.get(&squeeze(&tshape)) {
                    options.push(OptionGroup {
                        group,
                        change: Some(change.clone()),
                        not_rank: Some(tshape.len()),
                    });
                }
            }
        }
        options
    }

    /// Whether `id`, a tensor of `o`'s group, is an option of `o`.
    fn is_option(&self, graph: &Graph<'_>, o: &OptionGroup, id: TensorId) -> bool {
        o.not_rank != Some(graph.tensor(id).shape.len())
    }

    /// Every option of `options`, in order.
    fn every_option(
        &self,
        graph: &Graph<'_>,
        options: &[OptionGroup],
    ) -> Vec<(TensorId, Option<LayoutChange>)> {
        options
            .iter()
            .flat_map(|o| {
                self.groups[o.group]
                    .tensors
                    .iter()
                    .filter(|&&id| self.is_option(graph, o, id))
                    .map(|&id| (id, o.change.clone()))
            })
            .collect()
    }

    /// The options of `options` worth comparing one by one with entry
    /// `i`'s value, in order: the constants whose fingerprint's first
    /// element may agree with the value's under some layout and reading,
    /// those without a fingerprint, and those with evidence already. The
    /// others would differ at their first element under every layout and
    /// reading: left without evidence, they count as differing once the
    /// comparison ends (see [`Board::end_comparing`]).
    fn worth_comparing(
        &mut self,
        graph: &Graph<'_>,
        i: usize,
        (readings, samples): (&[Quantized<'_>], &mut Samples),
        options: &[OptionGroup],
        fingerprints: &mut Fingerprints,
        board: &Board<'_>,
    ) -> Vec<(TensorId, Option<LayoutChange>)> {
        let mut chosen: HashSet<TensorId> = board.evidence[i].keys().copied().collect();
        for o in options {
            let group = &mut self.groups[o.group];
            let near = group.count.and_then(|count| {
                let first = group
                    .first
                    .get_or_insert_with(|| FirstElements::new(graph, fingerprints, &group.tensors));
                let mut near = Vec::new();
                let mut sampled = false;
                for (r, q) in readings.iter().enumerate() {
                    let Some(sample) = sample_of(samples, q, o.change.as_ref(), count, r) else {
                        continue;
                    };
                    sampled = true;
                    near.extend(first.near(sample)?);
                }
                sampled.then_some(near)
            });
            match near {
                Some(near) => chosen.extend(near.into_iter().map(|p| group.tensors[p])),
                None => chosen.extend(group.tensors.iter().copied()),
            }
        }
        let mut picked: Vec<(usize, usize, TensorId)> = Vec::new();
        for (n, o) in options.iter().enumerate() {
            let group = &self.groups[o.group];
            for &id in &chosen {
                if let Some(&pos) = group.at.get(&id) {
                    if self.is_option(graph, o, id) {
                        picked.push((n, pos, id));
                    }
                }
            }
        }
        picked.sort_unstable_by_key(|&(n, pos, _)| (n, pos));
        picked
            .into_iter()
            .map(|(n, _, id)| (id, options[n].change.clone()))
            .collect()
    }
}

/// A value's samples, per layout (its permutation), element count and
/// reading.
type Samples = HashMap<(Option<Vec<usize>>, usize, usize), Option<ValueSample>>;

/// The sample of reading `q` (number `r`) for a constant of `count`
/// elements under `change`, read once.
fn sample_of<'s>(
    samples: &'s mut Samples,
    q: &Quantized<'_>,
    change: Option<&LayoutChange>,
    count: usize,
    r: usize,
) -> Option<&'s ValueSample> {
    let perm = change.map(|c| c.perm.clone());
    samples
        .entry((perm, count, r))
        .or_insert_with(|| {
            let map = IndexMap::new(&q.npy.header.shape, change);
            ValueSample::new(q, &map, count)
        })
        .as_ref()
}

/// "same shape", or the shape after a layout change, for reasons.
fn how_it_fits(graph: &Graph<'_>, id: TensorId, change: Option<&LayoutChange>) -> String {
    change.map_or("same shape".to_string(), |c| {
        format!("shape {:?} after {}", graph.tensor(id).shape, c.name)
    })
}

/// The options whose fingerprint agrees with the value under some reading
/// (the first that agrees, by its index in `readings`); the others are
/// excluded, or get the shape's evidence when they cannot be compared.
fn sift(
    graph: &Graph<'_>,
    i: usize,
    (readings, samples): (&[Quantized<'_>], &mut Samples),
    options: Vec<(TensorId, Option<LayoutChange>)>,
    fingerprints: &mut Fingerprints,
    board: &mut Board<'_>,
) -> Vec<(TensorId, Option<LayoutChange>, usize)> {
    let mut agreeing = Vec::new();
    for (id, change) in options {
        let t = graph.tensor(id);
        let count = t.element_count().unwrap_or(0) as usize;
        let mut comparable = false;
        let mut agrees = None;
        for (r, q) in readings.iter().enumerate() {
            match sample_of(samples, q, change.as_ref(), count, r)
                .and_then(|s| fingerprints.agrees(graph, t, s))
            {
                Some(true) => {
                    agrees = Some(r);
                    break;
                }
                Some(false) => comparable = true,
                None => {}
            }
        }
        match agrees {
            Some(r) => agreeing.push((id, change, r)),
            None if comparable => board.exclude(i, id),
            None => board.add(i, id, SHAPE_ONLY, how_it_fits(graph, id, change.as_ref())),
        }
    }
    agreeing
}

/// The options whose fingerprint agreed, compared in full (up to
/// [`CONFIRM_MAX`] of them) under the reading that agreed.
fn confirm(
    graph: &Graph<'_>,
    i: usize,
    readings: &[Quantized<'_>],
    agreeing: Vec<(TensorId, Option<LayoutChange>, usize)>,
    board: &mut Board<'_>,
) {
    let mut crowd = Vec::new();
    let mut crowd_reason = None;
    for (n, (id, change, r)) in agreeing.into_iter().enumerate() {
        let t = graph.tensor(id);
        let q = &readings[r];
        // A float value that holds quantized numbers: say so, since the
        // exporter wrote something else than it meant.
        let read = if q.float_read_as_quantized() {
            ", read as quantized numbers (the float value holds real / scale + zero point, unrounded)"
        } else {
            ""
        };
        if n >= CONFIRM_MAX {
            crowd.push(id);
            crowd_reason.get_or_insert_with(|| {
                let how = how_it_fits(graph, id, change.as_ref());
                format!("{how}, sampled data within tolerance{read}")
            });
            continue;
        }
        let how = how_it_fits(graph, id, change.as_ref());
        match content::full(graph, q, t, change.as_ref()) {
            Ok(Some(steps)) if steps.within_tolerance() => board.add(
                i,
                id,
                CONTENT_MATCH,
                format!("{how}, data within {:.2} quantization steps{read}", steps.max),
            ),
            Ok(Some(steps)) if steps.near => board.add(
                i,
                id,
                CONTENT_NEAR,
                format!(
                    "{how}, data within {:.2} quantization steps (more than rounding gives: truncated values?){read}",
                    steps.max
                ),
            ),
            Ok(Some(_)) => board.exclude(i, id),
            _ => board.add(i, id, SHAPE_ONLY, how),
        }
    }
    if let Some(reason) = crowd_reason {
        board.crowds[i] = Some(board.crowd_lists.crowd(crowd, CONTENT_MATCH, reason));
    }
}

fn squeeze(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

/// Whether the content comparison of a value of shape `vshape` looks at
/// `t`: a float constant of the same shape (axes of size 1 aside), or of
/// the shape a converter layout change gives it.
fn is_option(vshape: &[usize], t: &Tensor<'_>) -> bool {
    if !kind_fits(t, true) {
        return false;
    }
    let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
    (!vshape.contains(&0) && squeeze(&shape) == squeeze(vshape))
        || !layout::layout_changes(vshape, &shape).is_empty()
}

/// Names: the same normalized name, then similar ones (among tensors of
/// the right kind that already are candidates, or share a word).
/// The keys names are compared for, and the values the order's run
/// observed (in which subgraph), to doubt a name the values contradict.
struct NameKeys<'a> {
    entries: &'a [Entry],
    unknown: &'a [usize],
    values: Option<(usize, &'a values::Values)>,
}

/// An agreement of a key's range with a same-named tensor's values below
/// this (a width off by about 1.45× either way, or the sign wrong) makes
/// the name doubtful in proportion: converters name operators by type and
/// counter (tico's `linear`, `linear_1`, ...), so a module named `linear`
/// shares its name with the first FULLY_CONNECTED's output.
const NAME_VALUES_DOUBT: f64 = 0.5;

fn name_signals(
    graph: &Graph<'_>,
    keys: &NameKeys<'_>,
    free: &dyn Fn(&Tensor<'_>) -> bool,
    board: &mut Board<'_>,
) {
    let (entries, unknown) = (keys.entries, keys.unknown);
    let index = names::NameIndex::new(graph);
    // How key `i`'s range agrees with tensor `id`'s observed values.
    let agreement = |i: usize, id: TensorId| {
        let (si, values) = keys.values?;
        let at = graph.tensor(id).producer.map_or(-1.0, |p| p as f64);
        (id.subgraph == si)
            .then(|| values.agreement(i, id.index, at))
            .flatten()
    };
    for &i in unknown {
        let entry = &entries[i];
        let with_value = entry.has_value_field;
        // A value key's candidates are the constants of a fitting shape
        // found above; names only rank those.
        let fits = |board: &Board<'_>, id: TensorId| {
            let t = graph.tensor(id);
            free(t)
                && kind_fits(t, with_value)
                && (!with_value || entry.value.is_none() || board.has_evidence(i, id))
        };
        // A name, doubted in proportion when the values disagree.
        let add =
            |board: &mut Board<'_>, id: TensorId, confidence: f64, reason: String| match agreement(
                i, id,
            )
            .filter(|a| a.score < NAME_VALUES_DOUBT)
            {
                Some(a) => board.add(
                    i,
                    id,
                    confidence * a.score / NAME_VALUES_DOUBT,
                    format!("{reason}; but {}", a.describe()),
                ),
                None => board.add(i, id, confidence, reason),
            };
        for &id in index.same(&entry.key) {
            if fits(board, id) {
                let same = "same name once converter prefixes and separators are ignored";
                add(board, id, NAME_SAME, same.to_string());
            }
        }
        for (id, similarity) in index.similar(graph, &entry.key) {
            if fits(board, id) && similarity > 0.0 {
                let reason = format!("name similarity {similarity:.2}");
                add(board, id, NAME_WEIGHT * similarity, reason);
            }
        }
    }
}

/// Decides all unknown keys jointly: each tensor goes to at most one key,
/// the most confident first; a key whose best candidates tie is ambiguous.
/// `candidates[i]` are key i's suggestions, best first (empty for keys
/// that name a tensor).
pub fn decide(candidates: &[Vec<Suggestion>]) -> Vec<Verdict> {
    let n = candidates.len();
    decide_sharing(candidates, &vec![HashSet::new(); n], &vec![(0, 0.0); n])
}

/// [`decide`], where `shared[i]` names the tensors key i may share with
/// other keys (it holds the value of the module before it), and
/// `crowded[i]` the candidates of key i not listed.
fn decide_sharing(
    candidates: &[Vec<Suggestion>],
    shared: &[HashSet<String>],
    crowded: &[Unlisted],
) -> Vec<Verdict> {
    let mut verdicts = vec![Verdict::Unmatched; candidates.len()];
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&i| !candidates[i].is_empty())
        .collect();
    order.sort_by(|&a, &b| {
        candidates[b][0]
            .confidence
            .total_cmp(&candidates[a][0].confidence)
            .then(a.cmp(&b))
    });
    // Each taken tensor, and whether its taker may share it.
    let mut taken: HashMap<&str, bool> = HashMap::new();
    for i in order {
        let free: Vec<&Suggestion> = candidates[i]
            .iter()
            .filter(|s| s.confidence >= CONFIDENT)
            .filter(|s| match taken.get(s.name.as_str()) {
                None => true,
                Some(&sharing) => sharing || shared[i].contains(&s.name),
            })
            .collect();
        let Some(best) = free.first() else { continue };
        let tied = |confidence: f64| {
            best.confidence - confidence < TIE
                && 1.0 - confidence < TIE_ODDS * (1.0 - best.confidence)
        };
        let ties: Vec<Suggestion> = free
            .iter()
            .filter(|s| tied(s.confidence))
            .map(|s| (*s).clone())
            .collect();
        // Unlisted candidates tie with the best as listed ones would.
        let (unlisted, confidence) = crowded[i];
        let unlisted_tie = unlisted > 0 && tied(confidence);
        verdicts[i] = if ties.len() > 1 || unlisted_tie {
            Verdict::Ambiguous {
                ties,
                more: if unlisted_tie { unlisted } else { 0 },
            }
        } else {
            let sharing = shared[i].contains(&best.name);
            let was = taken.entry(&best.name).or_insert(sharing);
            *was |= sharing;
            Verdict::Match((*best).clone())
        };
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sug(name: &str, confidence: f64) -> Suggestion {
        Suggestion {
            name: name.into(),
            confidence,
            reason: String::new(),
        }
    }

    #[test]
    fn resolution_is_one_to_one_and_admits_ties() {
        let candidates = vec![
            vec![sug("a", 0.97), sug("b", 0.90)],
            vec![sug("a", 0.99)],
            vec![sug("c", 0.95), sug("d", 0.95)],
            vec![],
            vec![sug("e", 0.5)],
        ];
        let v = decide(&candidates);
        assert_eq!(v[1], Verdict::Match(sug("a", 0.99)));
        assert_eq!(
            v[0],
            Verdict::Match(sug("b", 0.90)),
            "the second claimant takes its next candidate"
        );
        assert!(matches!(&v[2], Verdict::Ambiguous { ties, more: 0 } if ties.len() == 2));
        assert_eq!(v[3], Verdict::Unmatched);
        assert_eq!(v[4], Verdict::Unmatched);
    }

    /// Crowd members not listed tie with the best as listed ones would, and
    /// are counted in the verdict.
    #[test]
    fn unlisted_alike_candidates_are_counted_among_the_ties() {
        let candidates = vec![vec![sug("a", 0.97), sug("b", 0.97)], vec![sug("c", 0.99)]];
        let shared = vec![HashSet::new(); 2];
        let v = decide_sharing(&candidates, &shared, &[(9, 0.97), (4, 0.5)]);
        assert!(matches!(&v[0], Verdict::Ambiguous { ties, more: 9 } if ties.len() == 2));
        assert_eq!(v[1], Verdict::Match(sug("c", 0.99)), "no tie at 0.5");
    }

    #[test]
    fn agreeing_signals_beat_one_alone() {
        let mut one = Evidence::default();
        one.add(CONTENT_MATCH, "content");
        let mut two = one.clone();
        two.add(0.92, "bias of the layer");
        assert!(two.confidence() - one.confidence() > TIE);
    }
}
