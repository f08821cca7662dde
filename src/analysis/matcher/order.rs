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

use crate::graph::{Graph, Operator, Subgraph, TensorId};
use crate::model::fb::{ActivationFunctionType as Act, BuiltinOperator as Op, TensorType};
use crate::qparam::Entry;

/// A placement whose module kind fits its operator exactly.
const PLACED: f64 = 0.9;

/// A key of unknown kind placed on the only operator left that ends a
/// module: the structure decides it, not the name.
const BY_ELIMINATION: f64 = 0.82;

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

/// What a key's name says its module is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    BatchNorm,
    LayerNorm,
    /// `norm`: a BatchNorm or a LayerNorm.
    Norm,
    Activation(Activation),
    MaxPool,
    AvgPool,
    /// `pool`: either.
    Pool,
    Softmax,
    /// Passes its input on unchanged (dropout, identity).
    Identity,
    Add {
        relu: bool,
    },
    Mul,
    Cat,
    Pad,
    Layout,
    Linear,
    Conv,
    /// A numbered or block-like container: ends with its last child, or
    /// with the merge (a residual ADD) that follows it.
    Block,
    /// Any other container: ends with its last child.
    Container,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activation {
    Relu,
    Relu6,
    Sigmoid,
    Tanh,
    Gelu,
    Any,
}

fn kind_of(key: &str, is_container: bool) -> Kind {
    let last = key.rsplit(['.', '/']).next().unwrap_or(key).to_lowercase();
    let word = last.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    if is_container {
        let block_like = [
            "layer",
            "layers",
            "block",
            "blocks",
            "stage",
            "stages",
            "res",
            "resblock",
            "bottleneck",
            "basicblock",
            "encoder_layer",
            "decoder_layer",
        ];
        return if word.is_empty() || block_like.contains(&word) {
            Kind::Block
        } else {
            Kind::Container
        };
    }
    if last == "relu6" {
        return Kind::Activation(Activation::Relu6);
    }
    match word {
        "bn" | "batchnorm" | "batch_norm" | "bnorm" => Kind::BatchNorm,
        "ln" | "layernorm" | "layer_norm" | "lnorm" => Kind::LayerNorm,
        "norm" | "normalization" => Kind::Norm,
        "relu" => Kind::Activation(Activation::Relu),
        "sigmoid" | "logistic" => Kind::Activation(Activation::Sigmoid),
        "tanh" => Kind::Activation(Activation::Tanh),
        "gelu" => Kind::Activation(Activation::Gelu),
        "act" | "activation" | "silu" | "swish" | "hardswish" | "hswish" | "leakyrelu"
        | "leaky_relu" | "elu" | "prelu" | "mish" => Kind::Activation(Activation::Any),
        "maxpool" | "max_pool" | "mp" => Kind::MaxPool,
        "avgpool" | "avg_pool" | "adaptiveavgpool" | "adaptive_avg_pool" | "gap"
        | "global_pool" | "globalpool" => Kind::AvgPool,
        "pool" | "pooling" => Kind::Pool,
        "softmax" | "log_softmax" | "logsoftmax" => Kind::Softmax,
        "dropout" | "drop" | "identity" | "drop_path" | "droppath" => Kind::Identity,
        "add_relu" => Kind::Add { relu: true },
        "add" | "skip_add" | "residual" | "shortcut" | "ff" | "functional" => {
            Kind::Add { relu: false }
        }
        "mul" | "mult" => Kind::Mul,
        "cat" | "concat" => Kind::Cat,
        "pad" | "padding" | "zeropad" | "zero_pad" => Kind::Pad,
        "flatten" | "reshape" | "view" | "permute" | "transpose" => Kind::Layout,
        "conv" | "downsample" => Kind::Conv,
        w if w.contains("linear")
            || w.contains("proj")
            || w == "fc"
            || w == "dense"
            || w == "classifier"
            || w == "head" =>
        {
            Kind::Linear
        }
        w if w.starts_with("conv") => Kind::Conv,
        _ => Kind::Unknown,
    }
}

/// How a module kind passes on a value: on the same tensor as the key
/// before it, or on an operator of its own.
fn aliases(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Identity | Kind::Container | Kind::Block | Kind::Activation(_)
    )
}

/// The operators of one subgraph, with what the alignment asks of them.
struct Ops<'g> {
    sg: &'g Subgraph<'g>,
    /// Operators inside a decomposed LayerNorm, other than its end.
    ln_internal: HashSet<usize>,
    /// The last operator of each decomposed LayerNorm.
    ln_ends: HashSet<usize>,
}

impl<'g> Ops<'g> {
    fn new(sg: &'g Subgraph<'g>) -> Self {
        let mut ops = Ops {
            sg,
            ln_internal: HashSet::new(),
            ln_ends: HashSet::new(),
        };
        (ops.ln_internal, ops.ln_ends) = ops.layer_norms();
        ops
    }

    fn op(&self, i: usize) -> &Operator {
        &self.sg.operators[i]
    }

    fn is(&self, i: usize, code: Op) -> bool {
        self.op(i).opcode.is(code)
    }

    fn is_const(&self, t: usize) -> bool {
        self.sg.tensors[t].is_constant()
    }

    /// The non-constant float inputs of operator `i`.
    fn activations_in(&self, i: usize) -> Vec<usize> {
        self.op(i)
            .inputs
            .iter()
            .flatten()
            .copied()
            .filter(|&t| !self.is_const(t) && self.sg.tensors[t].dtype == TensorType::FLOAT32)
            .collect()
    }

    fn has_const_float_input(&self, i: usize) -> bool {
        self.op(i)
            .inputs
            .iter()
            .flatten()
            .any(|&t| self.is_const(t) && self.sg.tensors[t].dtype == TensorType::FLOAT32)
    }

    fn producer(&self, t: usize) -> Option<usize> {
        self.sg.tensors[t].producer
    }

    fn consumers_of_op(&self, i: usize) -> Vec<usize> {
        self.op(i)
            .outputs
            .iter()
            .flat_map(|&t| self.sg.tensors[t].consumers.iter().copied())
            .collect()
    }

    fn is_layout(&self, i: usize) -> bool {
        [Op::TRANSPOSE, Op::RESHAPE, Op::SQUEEZE, Op::EXPAND_DIMS]
            .iter()
            .any(|&c| self.is(i, c))
    }

    fn is_pad(&self, i: usize) -> bool {
        [Op::PAD, Op::PADV2, Op::MIRROR_PAD]
            .iter()
            .any(|&c| self.is(i, c))
    }

    /// An elementwise MUL/ADD/SUB with a constant: one step of an affine
    /// transform (a BatchNorm's scale or shift).
    fn is_affine(&self, i: usize) -> bool {
        [Op::MUL, Op::ADD, Op::SUB].iter().any(|&c| self.is(i, c))
            && self.has_const_float_input(i)
            && self.activations_in(i).len() == 1
    }

    /// A merge of two branches (a residual ADD).
    fn is_merge(&self, i: usize) -> bool {
        [Op::ADD, Op::MUL, Op::SUB, Op::CONCATENATION]
            .iter()
            .any(|&c| self.is(i, c))
            && self.activations_in(i).len() >= 2
    }

    /// The ADD (or SUB) of a BatchNorm decomposed into MUL then ADD, each
    /// with a constant.
    fn is_batch_norm_end(&self, i: usize) -> bool {
        (self.is(i, Op::ADD) || self.is(i, Op::SUB))
            && self.is_affine(i)
            && self
                .activations_in(i)
                .first()
                .and_then(|&x| self.producer(x))
                .is_some_and(|p| self.is(p, Op::MUL) && self.is_affine(p))
    }

    /// An affine MUL whose only use is the affine ADD finishing it.
    fn is_affine_half(&self, i: usize) -> bool {
        self.is(i, Op::MUL) && self.is_affine(i) && {
            let c = self.consumers_of_op(i);
            c.len() == 1 && self.is_affine(c[0]) && !self.is(c[0], Op::MUL)
        }
    }

    /// Operators of decomposed LayerNorms (MEAN, SUB, MUL, RSQRT, ...):
    /// those inside, and the last of each.
    fn layer_norms(&self) -> (HashSet<usize>, HashSet<usize>) {
        let mut internal = HashSet::new();
        let mut ends = HashSet::new();
        for r in (0..self.sg.operators.len()).filter(|&i| self.is(i, Op::RSQRT)) {
            // Back from the RSQRT through the variance to the means, never
            // past the mean of the input itself.
            let mut stack = vec![r];
            while let Some(i) = stack.pop() {
                if !internal.insert(i) {
                    continue;
                }
                for x in self.activations_in(i) {
                    let Some(p) = self.producer(x) else { continue };
                    let follow = if self.is(i, Op::SUB) {
                        // x - mean(x): only the mean belongs to the norm.
                        self.is(p, Op::MEAN)
                    } else if self.is(i, Op::MEAN) {
                        // The variance's mean, of a square; not the input's.
                        [Op::MUL, Op::SQUARED_DIFFERENCE, Op::POW, Op::SQUARE]
                            .iter()
                            .any(|&c| self.is(p, c))
                    } else {
                        [
                            Op::MEAN,
                            Op::SUB,
                            Op::MUL,
                            Op::ADD,
                            Op::SQUARED_DIFFERENCE,
                            Op::POW,
                            Op::SQUARE,
                        ]
                        .iter()
                        .any(|&c| self.is(p, c))
                    };
                    if follow {
                        stack.push(p);
                    }
                }
            }
            // Forward from the RSQRT: the normalizing MUL (or DIV), then the
            // affine steps; the last of them is the end.
            let mut at = r;
            // A malformed graph may lead back to an operator already passed
            // (one that writes the tensor it reads): the walk stops there.
            let mut walked = HashSet::from([r]);
            loop {
                let next: Vec<usize> = self
                    .consumers_of_op(at)
                    .into_iter()
                    .filter(|&c| {
                        if at == r {
                            self.is(c, Op::MUL) || self.is(c, Op::DIV)
                        } else {
                            (self.is(c, Op::MUL) || self.is(c, Op::ADD)) && self.is_affine(c)
                        }
                    })
                    .collect();
                match next[..] {
                    [n] if walked.insert(n) => {
                        internal.insert(at);
                        at = n;
                    }
                    _ => break,
                }
            }
            internal.remove(&at);
            ends.insert(at);
        }
        (internal, ends)
    }

    fn is_layer_norm_end(&self, i: usize) -> bool {
        self.ln_ends.contains(&i)
    }

    /// Whether operator `i`'s output can end a module: not a layout copy,
    /// not padding, not the first half of an affine pair, not inside a
    /// LayerNorm.
    fn ends_module(&self, i: usize) -> bool {
        !self.is_layout(i)
            && !self.is_pad(i)
            && !self.is_affine_half(i)
            && !self.ln_internal.contains(&i)
    }

    fn fused(&self, i: usize) -> Option<Act> {
        self.op(i).fused
    }

    fn activation_fits(&self, i: usize, a: Activation) -> Option<f64> {
        let op_kind = |code: Op| self.is(i, code);
        let standalone = match a {
            Activation::Relu => op_kind(Op::RELU),
            Activation::Relu6 => op_kind(Op::RELU6),
            Activation::Sigmoid => op_kind(Op::LOGISTIC),
            Activation::Tanh => op_kind(Op::TANH),
            Activation::Gelu => op_kind(Op::GELU),
            Activation::Any => [
                Op::RELU,
                Op::RELU6,
                Op::LOGISTIC,
                Op::TANH,
                Op::GELU,
                Op::HARD_SWISH,
                Op::LEAKY_RELU,
                Op::PRELU,
                Op::ELU,
                Op::RELU_N1_TO_1,
                Op::RELU_0_TO_1,
            ]
            .iter()
            .any(|&c| op_kind(c)),
        };
        standalone.then_some(1.0)
    }

    fn fused_fits(&self, i: usize, a: Activation) -> bool {
        match (self.fused(i), a) {
            (Some(f), Activation::Relu) => f == Act::RELU,
            (Some(f), Activation::Relu6) => f == Act::RELU6,
            (Some(f), Activation::Tanh) => f == Act::TANH,
            (Some(_), Activation::Any) => true,
            _ => false,
        }
    }

    /// How well an operator of its own fits a module kind (0: not at all).
    fn fits(&self, kind: Kind, i: usize) -> f64 {
        let any = |codes: &[Op]| codes.iter().any(|&c| self.is(i, c));
        let yes = |b: bool| if b { 1.0 } else { 0.0 };
        match kind {
            Kind::BatchNorm => {
                if self.is_batch_norm_end(i) {
                    1.0
                } else if self.is(i, Op::MUL) && self.is_affine(i) && !self.is_affine_half(i) {
                    0.8
                } else {
                    0.0
                }
            }
            Kind::LayerNorm => yes(self.is_layer_norm_end(i)),
            Kind::Norm => yes(self.is_layer_norm_end(i) || self.is_batch_norm_end(i)),
            Kind::Activation(a) => self.activation_fits(i, a).unwrap_or(0.0),
            Kind::MaxPool => yes(any(&[Op::MAX_POOL_2D])),
            Kind::AvgPool => yes(any(&[Op::AVERAGE_POOL_2D, Op::MEAN])),
            Kind::Pool => yes(any(&[Op::MAX_POOL_2D, Op::AVERAGE_POOL_2D, Op::MEAN])),
            Kind::Softmax => yes(any(&[Op::SOFTMAX, Op::LOG_SOFTMAX])),
            Kind::Add { relu } => {
                if any(&[Op::ADD]) && self.is_merge(i) {
                    if !relu || self.fused_fits(i, Activation::Relu) {
                        1.0
                    } else {
                        0.8
                    }
                } else {
                    0.0
                }
            }
            Kind::Mul => yes(any(&[Op::MUL]) && self.ends_module(i)),
            Kind::Cat => yes(any(&[Op::CONCATENATION])),
            Kind::Pad => yes(self.is_pad(i)),
            Kind::Layout => yes(self.is_layout(i)),
            Kind::Linear => {
                if any(&[Op::FULLY_CONNECTED]) {
                    1.0
                } else if any(&[Op::BATCH_MATMUL]) {
                    0.8
                } else {
                    0.0
                }
            }
            Kind::Conv => yes(any(&[
                Op::CONV_2D,
                Op::DEPTHWISE_CONV_2D,
                Op::TRANSPOSE_CONV,
            ])),
            Kind::Unknown => {
                if !self.ends_module(i) {
                    0.05
                } else {
                    0.35
                }
            }
            Kind::Identity | Kind::Block | Kind::Container => 0.0,
        }
    }

    /// Whether operator `later` reads (through at most a few operators)
    /// the output of operator `earlier`.
    fn reads(&self, later: usize, earlier: usize) -> bool {
        let mut frontier = vec![later];
        for _ in 0..4 {
            let mut next = Vec::new();
            for j in frontier {
                for x in self.activations_in(j) {
                    match self.producer(x) {
                        Some(p) if p == earlier => return true,
                        Some(p) if p > earlier => next.push(p),
                        _ => {}
                    }
                }
            }
            frontier = next;
        }
        false
    }
}

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
    let assigned = align_segments(&ops, entries, &slots, &trusted);
    let on_op = keys_on_operators(entries, &slots, &assigned);
    let placing = Placing {
        ops: &ops,
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
            Slot {
                entry: i,
                kind: kind_of(keys[i], containers.contains(keys[i])),
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
    ops: &Ops<'_>,
    entries: &[Entry],
    slots: &[Slot],
    trusted: &[usize],
) -> HashMap<usize, Placed> {
    let sg = ops.sg;
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
        let kinds: Vec<Kind> = segment.iter().map(|&k| slots[k].kind).collect();
        for (n, choice) in align(ops, &kinds, start_op, start_free, &candidates)
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

/// Every value-less key's operator, placed or known, in module order.
fn keys_on_operators(
    entries: &[Entry],
    slots: &[Slot],
    assigned: &HashMap<usize, Placed>,
) -> Vec<(usize, usize)> {
    let mut on_op = Vec::new();
    for (k, s) in slots.iter().enumerate() {
        if entries[s.entry].has_value_field {
            continue;
        }
        if let Some((op, _, _)) = assigned.get(&k) {
            on_op.push((k, *op));
        } else if let Some(Some(op)) = s.known {
            on_op.push((k, op));
        }
    }
    on_op
}

/// What turning placements into candidates reads.
struct Placing<'a, 'g> {
    ops: &'a Ops<'g>,
    si: usize,
    keys: &'a [&'a str],
    slots: &'a [Slot],
    /// Every value-less key's operator, in module order.
    on_op: &'a [(usize, usize)],
}

impl Placing<'_, '_> {
    /// Keys on an operator whose activation was fused into it, followed by
    /// a key on the same operator that takes the activated value: their
    /// own value exists in no tensor. Also their slots.
    fn fused_away(&self) -> (Vec<FusedAway>, HashSet<usize>) {
        let sg = self.ops.sg;
        let mut fused_away = Vec::new();
        let mut away = HashSet::new();
        for (w, &(k, op)) in self.on_op.iter().enumerate() {
            if self.ops.fused(op).is_none() || aliases(self.slots[k].kind) {
                continue;
            }
            // A later key on the same operator that takes the activated value.
            let Some(&(later, _)) = self.on_op[w + 1..]
                .iter()
                .take_while(|(_, o)| *o == op)
                .find(|(l, _)| matches!(self.slots[*l].kind, Kind::Activation(_) | Kind::Identity))
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
    /// confidence (the fit, the order's trust, by elimination for a key of
    /// unknown kind, capped when an activation is fused in) and reason.
    fn placement(
        &self,
        k: usize,
        (op, fit, shared): Placed,
        order_trust: f64,
    ) -> Option<Placement> {
        let s = &self.slots[k];
        let o = &self.ops.sg.operators[op];
        let &out = o.outputs.first()?;
        let mut confidence = PLACED * fit * order_trust;
        let mut reason = match s.kind {
            Kind::Identity => format!(
                "output of {} #{op}, passed on unchanged (the module before it in order)",
                o.opcode
            ),
            Kind::Block | Kind::Container => format!(
                "output of {} #{op}, where the module's last part ends",
                o.opcode
            ),
            _ => format!(
                "output of {} #{op}, in order between the modules around it",
                o.opcode
            ),
        };
        if s.kind == Kind::Unknown {
            let alone = candidates_between(self.ops, self.on_op, k, self.ops.sg.operators.len());
            if alone == Some(op) {
                confidence = BY_ELIMINATION;
                reason = format!(
                    "output of {} #{op}, the only operator ending a module between its neighbours",
                    o.opcode
                );
            }
        }
        if self.ops.fused(op).is_some() && !aliases(s.kind) {
            confidence = confidence.min(FUSED_ALONE);
            reason.push_str(&format!(
                "; the activation after `{}` is fused into it, so it holds the activated values, which the key's parameters cover",
                self.keys[s.entry]
            ));
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

/// For a key of unknown kind at `k`: the one operator ending a module
/// strictly between its neighbours' operators, if there is exactly one.
fn candidates_between(
    ops: &Ops<'_>,
    on_op: &[(usize, usize)],
    k: usize,
    n_ops: usize,
) -> Option<usize> {
    let at = on_op.iter().position(|(key, _)| *key == k)?;
    let lo = at.checked_sub(1).map(|p| on_op[p].1 as i64).unwrap_or(-1);
    let hi = on_op.get(at + 1).map_or(n_ops as i64, |n| n.1 as i64);
    let ends: Vec<usize> = ((lo + 1).max(0) as usize..hi.max(0) as usize)
        .filter(|&i| ops.ends_module(i))
        .collect();
    match ends[..] {
        [only] => Some(only),
        _ => None,
    }
}

/// Aligns `kinds` (keys in order) with `candidates` (operators in order):
/// each key on an operator after the previous key's (or, for keys that
/// pass a value on, the same one; the first may share `start`, the
/// segment's anchor operator, or, when `start_free`, be its output),
/// maximizing the summed fit. Returns each key's operator, fit and whether
/// it shares the tensor of the key before, `None` for keys left out.
fn align(
    ops: &Ops<'_>,
    kinds: &[Kind],
    start: Option<usize>,
    start_free: bool,
    candidates: &[usize],
) -> Vec<Option<Placed>> {
    let alignment = Alignment {
        ops,
        start,
        start_free,
        candidates,
    };
    // best[p] after k keys: the best score with the last placed key (or the
    // anchor) at position p.
    let mut best = vec![UNREACHED; candidates.len() + 1];
    best[0] = 0.0;
    let mut back: Vec<Vec<Step>> = Vec::with_capacity(kinds.len());
    // Per key: whether it was placed as the output of the anchor's own
    // operator (not sharing a tensor with the key before).
    let mut own_start: Vec<bool> = Vec::with_capacity(kinds.len());
    for &kind in kinds {
        let (next, from, on_start) = alignment.step(kind, &best);
        own_start.push(on_start && from[0] == (0, Some(0)));
        back.push(from);
        best = next;
    }
    let mut out = alignment.trace_back(kinds, &best, &back, &own_start);
    // A key on the tensor of the key before it is no surer than that key's
    // placement (a dropout after a module placed by a guess).
    let mut before = start.map(|_| 1.0);
    for (fit, shared) in out.iter_mut().flatten().map(|(_, f, s)| (f, *s)) {
        if shared {
            if let Some(b) = before {
                *fit = fit.min(b);
            }
        }
        before = Some(*fit);
    }
    out
}

/// A score no placement reaches.
const UNREACHED: f64 = f64::NEG_INFINITY;

/// Where a key's best score at a position came from: the position of the
/// key (or anchor) before it, and the position it was placed on (`None`:
/// left out).
type Step = (usize, Option<usize>);

/// The dynamic programme of [`align`]. Positions: 0 is the anchor (if
/// any), 1..=n the candidates.
struct Alignment<'a, 'g> {
    ops: &'a Ops<'g>,
    start: Option<usize>,
    start_free: bool,
    candidates: &'a [usize],
}

impl Alignment<'_, '_> {
    fn op_at(&self, p: usize) -> Option<usize> {
        if p == 0 {
            self.start
        } else {
            Some(self.candidates[p - 1])
        }
    }

    /// The fit of a key of `kind` on the same tensor as the key before it,
    /// on operator `op`: 0 for a kind that does not pass a value on.
    fn shared_fit(&self, kind: Kind, op: usize) -> f64 {
        if !aliases(kind) {
            return 0.0;
        }
        match kind {
            Kind::Activation(a) => {
                if self.ops.fused_fits(op, a) {
                    0.95
                } else {
                    0.0
                }
            }
            Kind::Block | Kind::Container => 0.9,
            _ => 1.0,
        }
    }

    /// One key more, of `kind`, after the scores `best`: the new best
    /// score per position, where each came from, and whether the key went
    /// on the anchor's own output.
    fn step(&self, kind: Kind, best: &[f64]) -> (Vec<f64>, Vec<Step>, bool) {
        let ops = self.ops;
        let mut next = best.to_vec(); // leaving the key out keeps the position
        let mut from: Vec<Step> = (0..best.len()).map(|p| (p, None)).collect();
        let mut on_start = false;
        // Running maximum of best[q] for q < p.
        let mut run = (UNREACHED, 0usize);
        for p in 0..best.len() {
            let Some(op) = self.op_at(p) else {
                if best[p] > run.0 {
                    run = (best[p], p);
                }
                continue;
            };
            // On its own operator, after the previous position.
            let own = if p > 0 { ops.fits(kind, op) } else { 0.0 };
            if own > 0.0 && run.0 > UNREACHED && run.0 + own > next[p] {
                next[p] = run.0 + own;
                from[p] = (run.1, Some(p));
            }
            // On the same tensor as the previous key.
            let shared = self.shared_fit(kind, op);
            if shared > 0.0 && best[p] > UNREACHED && best[p] + shared > next[p] {
                next[p] = best[p] + shared;
                from[p] = (p, Some(p));
            }
            // The output of the anchor's own operator, while no key holds it
            // (every score placed adds a positive fit).
            if p == 0 && self.start_free && best[0] == 0.0 {
                let fit = ops.fits(kind, op);
                if fit > 0.0 && fit > next[0] {
                    next[0] = fit;
                    from[0] = (0, Some(0));
                    on_start = true;
                }
            }
            // A block may end with the merge after its last part.
            if kind == Kind::Block && p > 0 {
                for (q, &score) in best.iter().enumerate().take(p) {
                    if let Some(prev_op) = self.op_at(q) {
                        if score > UNREACHED
                            && ops.is_merge(op)
                            && ops.reads(op, prev_op)
                            && score + 0.95 > next[p]
                        {
                            next[p] = score + 0.95;
                            from[p] = (q, Some(p));
                        }
                    }
                }
            }
            if best[p] > run.0 {
                run = (best[p], p);
            }
        }
        (next, from, on_start)
    }

    /// Each key's placement, traced back from the best final position.
    fn trace_back(
        &self,
        kinds: &[Kind],
        best: &[f64],
        back: &[Vec<Step>],
        own_start: &[bool],
    ) -> Vec<Option<Placed>> {
        let mut p = (0..best.len())
            .max_by(|&a, &b| best[a].total_cmp(&best[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        let mut out = vec![None; kinds.len()];
        for k in (0..kinds.len()).rev() {
            let (prev, placed) = back[k][p];
            if let Some((q, op)) = placed.and_then(|q| Some((q, self.op_at(q)?))) {
                let own = q == 0 && own_start[k];
                let fit = match kinds[k] {
                    _ if own => self.ops.fits(kinds[k], op),
                    // Shared with the key before (only kinds that pass a
                    // value on get there, an activation only where it
                    // fits the fused one).
                    kind if prev == q => self.shared_fit(kind, op),
                    Kind::Block => 0.95,
                    kind => self.ops.fits(kind, op),
                };
                out[k] = Some((op, fit, prev == q && !own));
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
    fn names_say_what_modules_are() {
        assert_eq!(kind_of("layer1.0.bn1", false), Kind::BatchNorm);
        assert_eq!(kind_of("layers.0.norm2", false), Kind::Norm);
        assert_eq!(
            kind_of("features.relu6", false),
            Kind::Activation(Activation::Relu6)
        );
        assert_eq!(
            kind_of("layer1.0.add_relu", false),
            Kind::Add { relu: true }
        );
        assert_eq!(kind_of("avgpool", false), Kind::AvgPool);
        assert_eq!(kind_of("layers.0.self_attn.q_proj", false), Kind::Linear);
        assert_eq!(kind_of("layer1.0", true), Kind::Block);
        assert_eq!(kind_of("layers.0.self_attn", true), Kind::Container);
        assert_eq!(kind_of("layer2.0.downsample.1", false), Kind::Unknown);
    }

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
