//! The order of modules: where keys without a value (module outputs) sit
//! among the graph's operators.
//!
//! Keys are taken in the exporter's order, with each container moved after
//! its last descendant (so hook order and definition order read alike).
//! Keys whose operator is known for sure (named exactly, the output of a
//! matched weight's operator, the input stub) are anchors; the longest run
//! of anchors that agrees with execution order cuts the keys into segments,
//! and within a segment the keys are aligned with the operators between
//! its anchors by dynamic programming: in order, each key on an operator
//! its module kind could have produced (a BatchNorm's last ADD, a
//! LayerNorm's end, a pool lowered to MEAN, a residual block's merge), or
//! on the same tensor as the key before it when the module passes its
//! input on (dropout, identity, an activation fused into the operator, a
//! container ending with its last child).

use std::collections::{HashMap, HashSet};

use super::judge::{Judge, CONTRADICTED, CONTRADICTED_CAP};
use super::kinds::{aliases, kind_of, Kind};
use super::ops::Ops;
use super::values::{KeyRange, Values};
use crate::graph::{Graph, TensorId};
use crate::model::fb::TensorType;
use crate::qparam::Entry;

/// A placement whose module kind fits its operator exactly.
const PLACED: f64 = 0.9;

/// A module whose value the converter fused away (a BatchNorm followed by a
/// ReLU fused into its ADD), placed on the fused output because no other
/// key holds it: its parameters cover the values after the activation too.
const FUSED_ALONE: f64 = 0.82;

/// The share of anchors out of execution order above which the exporter's
/// order is no longer trusted to place keys confidently.
const DISORDER: f64 = 0.1;

/// What placements are worth when the order is not trusted: still listed,
/// never renamed by `--fix`.
const UNTRUSTED_ORDER: f64 = 0.85;

/// A block ending with a merge after its last part (a residual ADD).
const BLOCK_MERGE: f64 = 0.95;

/// A block ending with a reordering after its merge (a channel shuffle):
/// the reordered value is the block's output, so it is preferred to the
/// merge before it.
const BLOCK_SHUFFLE: f64 = 0.96;

/// A value-less key placed on an operator's output.
pub struct Placement {
    pub entry: usize,
    pub tensor: TensorId,
    pub confidence: f64,
    pub reason: String,
    /// Placed on the tensor of the key before it (the module passes its
    /// value on), so the two keys legitimately share one tensor.
    pub shared: bool,
}

/// A value-less key whose module's value the converter fused into the next
/// operator, with a later key holding the fused result.
pub struct FusedAway {
    pub entry: usize,
    pub tensor: TensorId,
    pub reason: String,
}

/// Where each key sits: its (sub)graph position once known.
#[derive(Clone, Copy, Debug)]
struct Slot {
    entry: usize,
    kind: Kind,
    /// The operator whose output the key is known to be (graph input: None).
    known: Option<Option<usize>>,
    /// Value keys: the operator of their layer, for container references.
    value_op: Option<usize>,
}

impl Slot {
    /// The key's place when it is an anchor: its operator, -1 for the
    /// graph input.
    fn anchor(&self) -> Option<i64> {
        match (self.known, self.value_op) {
            (Some(Some(op)), _) => Some(op as i64),
            (Some(None), _) => Some(-1),
            (None, Some(op)) => Some(op as i64),
            _ => None,
        }
    }
}

/// A key placed on an operator by the alignment: the operator, how well
/// the key's kind fits it, and whether it shares the tensor of the key
/// before it.
type Placed = (usize, f64, bool);

/// Places the unknown value-less keys of `entries` on subgraph `si`.
/// `known` holds value-less keys whose tensor is certain; `value_ops` the
/// operator each matched value key's tensor feeds (a weight's layer).
pub fn place(
    graph: &Graph<'_>,
    si: usize,
    entries: &[Entry],
    known: &HashMap<usize, TensorId>,
    value_ops: &HashMap<usize, usize>,
    values: Option<&Values>,
) -> (Vec<Placement>, Vec<FusedAway>) {
    let ops = Ops::new(&graph.subgraphs[si]);
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let slots = module_order(graph, si, entries, known, value_ops);
    let anchored: Vec<(usize, i64)> = slots
        .iter()
        .enumerate()
        .filter_map(|(k, s)| Some((k, s.anchor()?)))
        .collect();
    let trusted = trusted_anchors(&slots, &anchored);
    let order_trust = if out_of_order(&slots, &anchored) > DISORDER {
        UNTRUSTED_ORDER
    } else {
        1.0
    };
    let ranges: Vec<Option<KeyRange>> = entries
        .iter()
        .map(|e| (!e.has_value_field).then(|| KeyRange::of(e)).flatten())
        .collect();
    let judge = Judge {
        ops: &ops,
        values,
        ranges: &ranges,
    };
    let assigned = align_segments(&judge, entries, &slots, &trusted);
    let on_op = keys_on_operators(entries, &slots, &assigned);
    let placing = Placing {
        judge: &judge,
        si,
        keys: &keys,
        slots: &slots,
        on_op: &on_op,
    };
    let (fused_away, away) = placing.fused_away();
    let placements = assigned
        .iter()
        .filter(|(k, _)| !away.contains(k))
        .filter_map(|(&k, &placed)| placing.placement(k, placed, order_trust))
        .collect();
    (placements, fused_away)
}

/// The keys that can be placed or anchor others (value-less keys, and
/// value keys whose layer is known), in the exporter's order with each
/// container moved after its last descendant.
fn module_order(
    graph: &Graph<'_>,
    si: usize,
    entries: &[Entry],
    known: &HashMap<usize, TensorId>,
    value_ops: &HashMap<usize, usize>,
) -> Vec<Slot> {
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let containers = containers(&keys);
    let mut last_descendant: HashMap<String, usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        let parts: Vec<&str> = k.split('.').collect();
        for n in 1..parts.len() {
            last_descendant.insert(parts[..n].join("."), i);
        }
    }
    let mut order: Vec<(usize, usize, usize)> = (0..entries.len())
        .map(|i| {
            let depth = keys[i].matches('.').count();
            let after = last_descendant.get(keys[i]).copied().unwrap_or(i).max(i);
            (after, usize::MAX - depth, i)
        })
        .collect();
    order.sort();
    order
        .into_iter()
        .map(|(_, _, i)| i)
        .filter(|&i| !entries[i].has_value_field || value_ops.contains_key(&i))
        .map(|i| {
            let with_value = entries[i].has_value_field;
            let named = kind_of(keys[i], containers.contains(keys[i]));
            Slot {
                entry: i,
                kind: known_kind(graph, known.get(&i)).unwrap_or(named),
                known: if with_value {
                    None
                } else {
                    known
                        .get(&i)
                        .filter(|t| t.subgraph == si)
                        .map(|t| graph.tensor(*t).producer)
                },
                value_op: value_ops.get(&i).copied(),
            }
        })
        .collect()
}

/// The kind of a key whose tensor is certain, when its operator says it
/// better than its name: a layer's output (a SqueezeNet `squeeze` is a
/// convolution).
fn known_kind(graph: &Graph<'_>, tensor: Option<&TensorId>) -> Option<Kind> {
    let t = graph.tensor(*tensor?);
    let op = &graph.subgraphs[t.id.subgraph].operators[t.producer?];
    op.layer_slots()?;
    Some(
        if op
            .opcode
            .is(crate::model::fb::BuiltinOperator::FULLY_CONNECTED)
        {
            Kind::Linear
        } else {
            Kind::Conv
        },
    )
}

/// Containers: keys with a submodule among the keys (a module's own
/// parameters, `<m>.weight`, do not make it one).
fn containers(keys: &[&str]) -> HashSet<String> {
    keys.iter()
        .flat_map(|k| {
            let parts: Vec<&str> = k.split('.').collect();
            let own = parts.len().saturating_sub(1);
            let last_is_param = parts.last().is_some_and(|p| is_parameter(p));
            (1..parts.len())
                .filter(move |&n| !(last_is_param && n == own))
                .map(move |n| parts[..n].join("."))
        })
        .collect()
}

/// The anchors (slot, place) whose run agrees with execution order and is
/// trusted to cut the keys into segments.
fn trusted_anchors(slots: &[Slot], anchored: &[(usize, i64)]) -> Vec<usize> {
    // Module outputs in order are what the segments need: a run keeps as
    // many of them as it can, then as many weights (an exporter may write
    // every parameter before every output, or the other way round).
    let places: Vec<i64> = anchored.iter().map(|&(_, at)| at).collect();
    let weights: Vec<u64> = anchored
        .iter()
        .map(|&(k, _)| {
            if slots[k].known.is_some() {
                OUTPUT_ANCHOR
            } else {
                1
            }
        })
        .collect();
    heaviest_nondecreasing(&places, &weights)
        .into_iter()
        .map(|j| anchored[j].0)
        .collect()
}

/// How far the exporter's order is from execution order: the share of
/// anchors, outputs and parameters each taken in their own order, that no
/// run in order keeps (keys sorted by name, or reversed, lose many).
fn out_of_order(slots: &[Slot], anchored: &[(usize, i64)]) -> f64 {
    let (mut kept, mut all) = (0usize, 0usize);
    for outputs in [true, false] {
        let values: Vec<i64> = anchored
            .iter()
            .filter(|&&(k, _)| slots[k].known.is_some() == outputs)
            .map(|&(_, at)| at)
            .collect();
        kept += heaviest_nondecreasing(&values, &vec![1; values.len()]).len();
        all += values.len();
    }
    if all == 0 {
        0.0
    } else {
        (all - kept) as f64 / all as f64
    }
}

/// Aligns the keys of each segment between consecutive trusted anchors
/// with the operators between them: each placed key's slot and placement.
fn align_segments(
    judge: &Judge<'_, '_>,
    entries: &[Entry],
    slots: &[Slot],
    trusted: &[usize],
) -> HashMap<usize, Placed> {
    let sg = judge.ops.sg;
    let mut assigned = HashMap::new();
    let mut bounds: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    let mut prev: Option<usize> = None;
    for &t in trusted {
        bounds.push((prev, Some(t)));
        prev = Some(t);
    }
    bounds.push((prev, None));
    for (left, right) in bounds {
        let from = left.map_or(0, |l| l + 1);
        let to = right.unwrap_or(slots.len());
        let segment: Vec<usize> = (from..to)
            .filter(|&k| slots[k].anchor().is_none() && !entries[slots[k].entry].has_value_field)
            .collect();
        if segment.is_empty() {
            continue;
        }
        let lo = left.and_then(|l| slots[l].anchor()).unwrap_or(-1);
        let hi = right
            .and_then(|r| slots[r].anchor())
            .unwrap_or(sg.operators.len() as i64);
        let start_op = (lo >= 0).then_some(lo as usize);
        // A parameter's operator: its output has no key of its own yet, so
        // the segment's first key may be that output (a layer whose weight
        // other layers read too, and so gave no certain output).
        let start_free = left.is_some_and(|l| slots[l].known.is_none());
        let candidates: Vec<usize> = ((lo + 1).max(0) as usize..hi.max(0) as usize)
            .filter(|&i| {
                sg.operators[i]
                    .outputs
                    .iter()
                    .any(|&t| sg.tensors[t].dtype == TensorType::FLOAT32)
            })
            .collect();
        let keys: Vec<SegmentKey> = segment
            .iter()
            .map(|&k| {
                let before = key_before(entries, slots, k);
                SegmentKey {
                    kind: slots[k].kind,
                    entry: slots[k].entry,
                    echoes: before
                        .is_some_and(|b| same_params(&entries[slots[k].entry], &entries[b])),
                    before,
                }
            })
            .collect();
        for (n, choice) in align(judge, &keys, start_op, start_free, &candidates)
            .into_iter()
            .enumerate()
        {
            if let Some(placed) = choice {
                assigned.insert(segment[n], placed);
            }
        }
    }
    assigned
}

/// A key of a segment, as the alignment sees it.
#[derive(Clone, Copy)]
struct SegmentKey {
    kind: Kind,
    entry: usize,
    /// Its parameters are those of the value-less key before it: the
    /// exporter saw the same values (a pass-through), or a max pool's
    /// (which keeps its input's extremes).
    echoes: bool,
    /// The value-less key before it in module order.
    before: Option<usize>,
}

/// The entry of the value-less key before slot `k` in module order.
fn key_before(entries: &[Entry], slots: &[Slot], k: usize) -> Option<usize> {
    slots[..k]
        .iter()
        .rev()
        .find(|s| !entries[s.entry].has_value_field)
        .map(|s| s.entry)
}

/// Whether two entries have the same (usable) parameters.
fn same_params(a: &Entry, b: &Entry) -> bool {
    a.dtype.as_ref().map(|d| d.value) == b.dtype.as_ref().map(|d| d.value)
        && a.scales().is_some()
        && a.scales() == b.scales()
        && a.zero_points() == b.zero_points()
}

/// Every value-less key's operator, placed or known, in module order.
fn keys_on_operators(
    entries: &[Entry],
    slots: &[Slot],
    assigned: &HashMap<usize, Placed>,
) -> Vec<OnOp> {
    let mut on_op = Vec::new();
    for (k, s) in slots.iter().enumerate() {
        if entries[s.entry].has_value_field {
            continue;
        }
        if let Some((op, _, shared)) = assigned.get(&k) {
            on_op.push((k, *op, *shared));
        } else if let Some(Some(op)) = s.known {
            on_op.push((k, op, false));
        }
    }
    on_op
}

/// A value-less key's slot, its operator, and whether it shares the tensor
/// of the key before it.
type OnOp = (usize, usize, bool);

/// What turning placements into candidates reads.
struct Placing<'a, 'g> {
    judge: &'a Judge<'a, 'g>,
    si: usize,
    keys: &'a [&'a str],
    slots: &'a [Slot],
    /// Every value-less key's operator, in module order.
    on_op: &'a [OnOp],
}

impl Placing<'_, '_> {
    /// Keys on an operator whose activation was fused into it, followed by
    /// a key on the same operator that takes the activated value: their
    /// own value exists in no tensor. Also their slots.
    fn fused_away(&self) -> (Vec<FusedAway>, HashSet<usize>) {
        let ops = self.judge.ops;
        let sg = ops.sg;
        let mut fused_away = Vec::new();
        let mut away = HashSet::new();
        for (w, &(k, op, shared)) in self.on_op.iter().enumerate() {
            // A key on the tensor of the one before holds that value: it is
            // the activation, or passes it on.
            if ops.fused(op).is_none() || aliases(self.slots[k].kind) || shared {
                continue;
            }
            // A later key on the same operator that takes the activated
            // value: an activation, a pass-through, or a key of unknown kind
            // placed as the activation.
            let takes = |&&(l, _, shared): &&OnOp| match self.slots[l].kind {
                Kind::Activation(_) | Kind::Identity => true,
                Kind::Unknown => shared,
                _ => false,
            };
            let Some(&(later, _, _)) = self.on_op[w + 1..]
                .iter()
                .take_while(|(_, o, _)| *o == op)
                .find(takes)
            else {
                continue;
            };
            away.insert(k);
            let out = sg.operators[op].outputs[0];
            fused_away.push(FusedAway {
                entry: self.slots[k].entry,
                tensor: TensorId {
                    subgraph: self.si,
                    index: out,
                },
                reason: format!(
                    "{} #{op} has the activation after it fused in, so the value of `{}` before it exists in no tensor; `{}` holds the activated output",
                    sg.operators[op].opcode,
                    self.keys[self.slots[k].entry],
                    self.keys[self.slots[later].entry]
                ),
            });
        }
        (fused_away, away)
    }

    /// The candidate for the key at slot `k`, placed on `op`: its
    /// confidence (how sure the alignment is of it, the order's trust,
    /// capped when an activation is fused in or the values contradict it)
    /// and its reason.
    fn placement(
        &self,
        k: usize,
        (op, sure, shared): Placed,
        order_trust: f64,
    ) -> Option<Placement> {
        let ops = self.judge.ops;
        let s = &self.slots[k];
        let o = &ops.sg.operators[op];
        let &out = o.outputs.first()?;
        let mut confidence = PLACED * sure * order_trust;
        let mut reason = match s.kind {
            Kind::Identity => format!(
                "output of {} #{op}, passed on unchanged (the module before it in order)",
                o.opcode
            ),
            Kind::Block | Kind::Container => format!(
                "output of {} #{op}, where the module's last part ends",
                o.opcode
            ),
            Kind::Unknown if shared => format!(
                "output of {} #{op}, whose fused activation the module may be (the module before it in order)",
                o.opcode
            ),
            _ => format!(
                "output of {} #{op}, in order between the modules around it",
                o.opcode
            ),
        };
        if sure < 0.99 {
            reason.push_str(&format!(
                " ({:.0}% sure against the next best alignment)",
                sure * 100.0
            ));
        }
        let fused_alone = ops.fused(op).is_some() && !aliases(s.kind) && !shared;
        if fused_alone {
            confidence = confidence.min(FUSED_ALONE);
            reason.push_str(&format!(
                "; the activation after `{}` is fused into it, so it holds the activated values, which the key's parameters cover",
                self.keys[s.entry]
            ));
        }
        match self.judge.agreement(s.entry, op) {
            Some(a) if a.score < CONTRADICTED && !fused_alone => {
                confidence = confidence.min(CONTRADICTED_CAP);
                reason.push_str(&format!("; but {}", a.describe()));
            }
            Some(a) if !fused_alone => reason.push_str(&format!("; {}", a.describe())),
            _ => {}
        }
        Some(Placement {
            entry: s.entry,
            tensor: TensorId {
                subgraph: self.si,
                index: out,
            },
            confidence,
            reason,
            shared,
        })
    }
}

/// Aligns `keys` (each its kind and entry, in order) with `candidates`
/// (operators in order): each key on an operator after the previous key's
/// (or, for keys that pass a value on, the same one; the first may share
/// `start`, the segment's anchor operator, or, when `start_free`, be its
/// output), maximizing the product of the placements' fits, each fit
/// weighed by how the key's range agrees with the operator's values.
/// Returns each key's operator, how sure its placement is (the chance it
/// beats the best alignment that puts the key elsewhere, from the two
/// scores' difference) and whether it shares the tensor of the key before,
/// `None` for keys left out.
fn align(
    judge: &Judge<'_, '_>,
    keys: &[SegmentKey],
    start: Option<usize>,
    start_free: bool,
    candidates: &[usize],
) -> Vec<Option<Placed>> {
    // skipped[p]: the log price of leaving the operators at positions
    // 1..=p without a key.
    let mut skipped = vec![0.0; candidates.len() + 1];
    for (p, &op) in candidates.iter().enumerate() {
        let price = if judge.ops.ends_module(op) && !judge.ops.feeds_shuffle(op) {
            SKIPPED.ln()
        } else {
            0.0
        };
        skipped[p + 1] = skipped[p] + price;
    }
    let alignment = Alignment {
        judge,
        start,
        start_free,
        candidates,
        skipped,
    };
    let solution = alignment.solve(keys, None);
    let (end, score) = alignment.end(&solution.best);
    let path = alignment.trace_back(&solution, end);
    path.iter()
        .enumerate()
        .map(|(k, placed)| {
            let &(p, op, shared) = placed.as_ref()?;
            let other = alignment.solve(keys, Some((k, p)));
            let (_, other_score) = alignment.end(&other.best);
            let sure = 1.0 / (1.0 + (MARGIN_WEIGHT * (other_score - score)).exp());
            Some((op, sure, shared))
        })
        .collect()
}

/// The dynamic programme's tables: per key, the best score per position
/// and where each came from, and whether it went on the anchor's own
/// output.
struct Solution {
    best: Vec<f64>,
    back: Vec<Vec<Step>>,
    own_start: Vec<bool>,
}

/// A score no placement reaches.
const UNREACHED: f64 = f64::NEG_INFINITY;

/// What leaving an operator that could end a module without a key costs:
/// a module (a max pool after a ReLU) is likelier to have its key than to
/// be skipped for a key sharing the tensor before it. Not much likelier:
/// blocks compute steps no module names (a layer scale, a position
/// embedding's ADD). Measured on the family fixtures, 0.9 and 0.7 map the
/// same keys right; 0.7 is sure of 14 more, 0.5 of one more than that.
const SKIPPED: f64 = 0.7;

/// How much a placement's lead over the best alignment that puts its key
/// elsewhere (the log of the ratio of their products of fits) counts:
/// 1.5 makes a lead of 4 to 1 exactly confident (0.9 × 8/9 = 0.8). The
/// fits are cautious guesses, not frequencies; measured on the thirteen
/// family fixtures, with the values and without, no placement led by more
/// than 3 to 2 was wrong.
const MARGIN_WEIGHT: f64 = 1.5;

/// How likely a key is to hold no tensor of its segment (its value fused
/// away, or the order wrong there): a placement fitting worse than this
/// (a kind that does not fit, values that contradict) is left out.
const LEFT_OUT: f64 = 0.01;

/// Where a key's best score at a position came from: the position of the
/// key (or anchor) before it, and the position it was placed on (`None`:
/// left out).
type Step = (usize, Option<usize>);

/// The dynamic programme of [`align`]. Positions: 0 is the anchor (if
/// any), 1..=n the candidates.
struct Alignment<'a, 'b, 'g> {
    judge: &'a Judge<'b, 'g>,
    start: Option<usize>,
    start_free: bool,
    candidates: &'a [usize],
    /// The log price of leaving positions 1..=p without a key.
    skipped: Vec<f64>,
}

impl Alignment<'_, '_, '_> {
    /// The best alignment of `keys`, never placing key `forbid.0` at
    /// position `forbid.1`.
    fn solve(&self, keys: &[SegmentKey], forbid: Option<(usize, usize)>) -> Solution {
        // best[p] after k keys: the best score (the log of the product of
        // the placements' fits) with the last placed key (or the anchor)
        // at position p.
        let mut best = vec![UNREACHED; self.candidates.len() + 1];
        best[0] = 0.0;
        let mut back: Vec<Vec<Step>> = Vec::with_capacity(keys.len());
        let mut own_start: Vec<bool> = Vec::with_capacity(keys.len());
        // Whether the best path ending at the anchor has a key on it.
        let mut held = false;
        for (k, &key) in keys.iter().enumerate() {
            let banned = forbid.filter(|f| f.0 == k).map(|f| f.1);
            let (next, from, on_start) = self.step(key, &best, held, banned);
            own_start.push(on_start && from[0] == (0, Some(0)));
            held |= from[0].1.is_some();
            back.push(from);
            best = next;
        }
        Solution {
            best,
            back,
            own_start,
        }
    }

    /// The best final position and the score there, the operators after
    /// it left without a key.
    fn end(&self, best: &[f64]) -> (usize, f64) {
        let last = self.skipped.last().copied().unwrap_or(0.0);
        let total = |p: usize| best[p] + last - self.skipped[p];
        let p = (0..best.len())
            .max_by(|&a, &b| total(a).total_cmp(&total(b)).then(b.cmp(&a)))
            .unwrap_or(0);
        (p, total(p))
    }

    fn op_at(&self, p: usize) -> Option<usize> {
        if p == 0 {
            self.start
        } else {
            Some(self.candidates[p - 1])
        }
    }

    /// The fit of a block ending at `op`, after the key (or anchor) on
    /// `prev_op`: the merge after its last part, or a reordering after that
    /// (0: neither).
    fn block_end(&self, op: usize, prev_op: usize) -> f64 {
        let ops = self.judge.ops;
        if !ops.reads(op, prev_op) {
            0.0
        } else if ops.is_shuffle(op) {
            BLOCK_SHUFFLE
        } else if ops.is_merge(op) {
            BLOCK_MERGE
        } else {
            0.0
        }
    }

    /// One key more after the scores `best`: the new best score per
    /// position, where each came from, and whether the key went on the
    /// anchor's own output (possible while no key is `held` there).
    fn step(
        &self,
        key: SegmentKey,
        best: &[f64],
        held: bool,
        banned: Option<usize>,
    ) -> (Vec<f64>, Vec<Step>, bool) {
        let judge = self.judge;
        let (kind, entry) = (key.kind, key.entry);
        // Leaving the key out keeps the position, at a price.
        let mut next: Vec<f64> = best.iter().map(|b| b + LEFT_OUT.ln()).collect();
        let mut from: Vec<Step> = (0..best.len()).map(|p| (p, None)).collect();
        let mut on_start = false;
        // Running maximum of best[q] − skipped[q] for q < p: with
        // skipped[p − 1] added, the best score after q with the operators
        // between q and p left without a key.
        let mut run = (UNREACHED, 0usize);
        for p in 0..best.len() {
            let Some(op) = self.op_at(p).filter(|_| banned != Some(p)) else {
                if best[p] - self.skipped[p] > run.0 {
                    run = (best[p] - self.skipped[p], p);
                }
                continue;
            };
            let factor = judge.factor(entry, op);
            let gain = |fit: f64| (fit > 0.0).then(|| (fit * factor).ln());
            // On its own operator, after the previous position.
            let own = if p > 0 {
                gain(judge.fits(kind, op, key.echoes))
            } else {
                None
            };
            let reached = if p > 0 {
                run.0 + self.skipped[p - 1]
            } else {
                UNREACHED
            };
            if let Some(g) = own.filter(|g| reached > UNREACHED && reached + g > next[p]) {
                next[p] = reached + g;
                from[p] = (run.1, Some(p));
            }
            // On the same tensor as the previous key.
            let contradicted = key.before.is_some_and(|b| judge.contradicts(b, op));
            let shared = gain(judge.shared_fit(kind, op, key.echoes, contradicted));
            if let Some(g) = shared.filter(|g| best[p] > UNREACHED && best[p] + g > next[p]) {
                next[p] = best[p] + g;
                from[p] = (p, Some(p));
            }
            // The output of the anchor's own operator, while no key holds it.
            if p == 0 && self.start_free && !held {
                if let Some(g) =
                    gain(judge.fits(kind, op, key.echoes)).filter(|g| best[0] + g > next[0])
                {
                    next[0] = best[0] + g;
                    from[0] = (0, Some(0));
                    on_start = true;
                }
            }
            // A block may end with the merge after its last part.
            if kind == Kind::Block && p > 0 {
                for (q, &score) in best.iter().enumerate().take(p) {
                    let Some(prev_op) = self.op_at(q) else {
                        continue;
                    };
                    let Some(g) = gain(self.block_end(op, prev_op)) else {
                        continue;
                    };
                    let score = score + self.skipped[p - 1] - self.skipped[q];
                    if score > UNREACHED && score + g > next[p] {
                        next[p] = score + g;
                        from[p] = (q, Some(p));
                    }
                }
            }
            if best[p] - self.skipped[p] > run.0 {
                run = (best[p] - self.skipped[p], p);
            }
        }
        (next, from, on_start)
    }

    /// Each key's placement on the best path ending at `end`: its
    /// position, operator and whether it shares the tensor of the key
    /// before.
    fn trace_back(&self, solution: &Solution, end: usize) -> Vec<Option<(usize, usize, bool)>> {
        let keys = solution.back.len();
        let mut p = end;
        let mut out = vec![None; keys];
        for k in (0..keys).rev() {
            let (prev, placed) = solution.back[k][p];
            if let Some((q, op)) = placed.and_then(|q| Some((q, self.op_at(q)?))) {
                let own = q == 0 && solution.own_start[k];
                out[k] = Some((q, op, prev == q && !own));
            }
            p = prev;
        }
        out
    }
}

/// Whether a key's last segment names a parameter (`weight`, `bias`,
/// `in_proj_weight`, ...), not a submodule.
fn is_parameter(segment: &str) -> bool {
    let s = segment.to_lowercase();
    s.ends_with("weight") || s.ends_with("bias") || s == "kernel" || s.starts_with("running_")
}

/// An anchor that is a module output weighs as much as this many weights
/// when the run of anchors in order is chosen.
const OUTPUT_ANCHOR: u64 = 1 << 20;

/// Indices of a non-decreasing subsequence of `values` with the largest
/// summed `weights` (the earliest such on ties), in O(n log n).
fn heaviest_nondecreasing(values: &[i64], weights: &[u64]) -> Vec<usize> {
    let mut sorted: Vec<i64> = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    // A Fenwick tree over the values: the best run ending at a value at or
    // below each rank, as (weight, index of its last element).
    let mut tree: Vec<(u64, Option<usize>)> = vec![(0, None); sorted.len() + 1];
    let mut prev: Vec<Option<usize>> = vec![None; values.len()];
    let mut total: Vec<u64> = vec![0; values.len()];
    for i in 0..values.len() {
        let rank = sorted.partition_point(|&v| v < values[i]) + 1;
        let mut best = (0, None);
        let mut r = rank;
        while r > 0 {
            if tree[r].0 > best.0 {
                best = tree[r];
            }
            r &= r - 1;
        }
        prev[i] = best.1;
        total[i] = best.0 + weights[i];
        let mut r = rank;
        while r < tree.len() {
            if total[i] > tree[r].0 {
                tree[r] = (total[i], Some(i));
            }
            r += r & r.wrapping_neg();
        }
    }
    let mut at = (0..values.len()).max_by(|&a, &b| total[a].cmp(&total[b]).then(b.cmp(&a)));
    let mut out = Vec::new();
    while let Some(i) = at {
        out.push(i);
        at = prev[i];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_run_in_order() {
        let ones = |n| vec![1; n];
        assert_eq!(
            heaviest_nondecreasing(&[2, 5, 5, 9, -1], &ones(5)),
            vec![0, 1, 2, 3]
        );
        assert_eq!(heaviest_nondecreasing(&[], &[]), Vec::<usize>::new());
    }

    #[test]
    fn module_outputs_outweigh_parameters() {
        // Parameters first (their layers 1, 2, 3, 4), then the outputs of
        // the input stub and of layers 2 and 4.
        let values = [1, 2, 3, 4, -1, 2, 4];
        let w = OUTPUT_ANCHOR;
        let weights = [1, 1, 1, 1, w, w, w];
        assert_eq!(heaviest_nondecreasing(&values, &weights), vec![4, 5, 6]);
    }
}
