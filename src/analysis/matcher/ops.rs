//! The operators of one subgraph as the order of modules sees them: which
//! can end a module (not a layout copy, not padding, not an inner step of
//! a lowered module) and how well each fits a module kind. The lowerings
//! are tico's (fixtures/lowerings.json): a BatchNorm's MUL then ADD, a
//! LayerNorm's or GroupNorm's MEAN ... RSQRT, MUL (RESHAPEs around it for a
//! GroupNorm) and affine MUL, ADD; SiLU's LOGISTIC then MUL; Hardswish's
//! ADD+RELU6, MUL, DIV; Hardsigmoid's ADD+RELU6, DIV; a pixel or channel
//! shuffle's RESHAPE, TRANSPOSE, RESHAPE.

use std::collections::HashSet;

use super::kinds::{Activation, Kind};
use crate::graph::{Operator, Subgraph};
use crate::model::fb::{ActivationFunctionType as Act, BuiltinOperator as Op, TensorType};

/// The operators of one subgraph, with what the alignment asks of them.
pub struct Ops<'g> {
    pub sg: &'g Subgraph<'g>,
    /// Operators inside a lowered module, other than its end.
    internal: HashSet<usize>,
    /// The last operator of each decomposed normalization.
    norm_ends: HashSet<usize>,
    /// The last operator of each lowered activation, with its kind.
    activation_ends: Vec<(usize, Activation)>,
}

impl<'g> Ops<'g> {
    pub fn new(sg: &'g Subgraph<'g>) -> Self {
        let mut ops = Ops {
            sg,
            internal: HashSet::new(),
            norm_ends: HashSet::new(),
            activation_ends: Vec::new(),
        };
        let (internal, ends) = ops.layer_norms();
        ops.internal = internal;
        ops.norm_ends = ends;
        ops.lowered_activations();
        ops
    }

    pub fn op(&self, i: usize) -> &Operator {
        &self.sg.operators[i]
    }

    pub fn is(&self, i: usize, code: Op) -> bool {
        self.op(i).opcode.is(code)
    }

    fn is_const(&self, t: usize) -> bool {
        self.sg.tensors[t].is_constant()
    }

    /// The non-constant float inputs of operator `i`.
    pub fn activations_in(&self, i: usize) -> Vec<usize> {
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

    pub fn producer(&self, t: usize) -> Option<usize> {
        self.sg.tensors[t].producer
    }

    pub fn consumers_of_op(&self, i: usize) -> Vec<usize> {
        self.op(i)
            .outputs
            .iter()
            .flat_map(|&t| self.sg.tensors[t].consumers.iter().copied())
            .collect()
    }

    fn rank(&self, t: usize) -> usize {
        self.sg.tensors[t].shape.len()
    }

    pub fn is_layout(&self, i: usize) -> bool {
        [Op::TRANSPOSE, Op::RESHAPE, Op::SQUEEZE, Op::EXPAND_DIMS]
            .iter()
            .any(|&c| self.is(i, c))
            && !self.is_shuffle(i)
    }

    /// A TRANSPOSE between a RESHAPE that splits axes and one that merges
    /// them: a pixel or channel shuffle, which reorders the values (a
    /// module's work, not a layout change).
    pub fn is_shuffle(&self, i: usize) -> bool {
        if !self.is(i, Op::TRANSPOSE) {
            return false;
        }
        let Some(&x) = self.op(i).inputs.first().and_then(Option::as_ref) else {
            return false;
        };
        let split = self.producer(x).is_some_and(|p| {
            self.is(p, Op::RESHAPE)
                && self
                    .activations_in(p)
                    .first()
                    .is_some_and(|&before| self.rank(before) < self.rank(x))
        });
        let merged = self.consumers_of_op(i).iter().any(|&c| {
            self.is(c, Op::RESHAPE)
                && self
                    .op(c)
                    .outputs
                    .first()
                    .is_some_and(|&y| self.rank(y) < self.rank(x))
        });
        split && merged
    }

    /// Whether operator `i`'s value is reordered by a shuffle right after
    /// it (through the RESHAPE that splits its axes): the shuffle's key
    /// covers it.
    pub fn feeds_shuffle(&self, i: usize) -> bool {
        let mut at = i;
        for _ in 0..2 {
            match self.only_consumer(at) {
                Some(c) if self.is_shuffle(c) => return true,
                Some(c) if self.is(c, Op::RESHAPE) => at = c,
                _ => return false,
            }
        }
        false
    }

    pub fn is_pad(&self, i: usize) -> bool {
        [Op::PAD, Op::PADV2, Op::MIRROR_PAD]
            .iter()
            .any(|&c| self.is(i, c))
    }

    /// An elementwise MUL/ADD/SUB with a constant: one step of an affine
    /// transform (a BatchNorm's scale or shift).
    pub fn is_affine(&self, i: usize) -> bool {
        [Op::MUL, Op::ADD, Op::SUB].iter().any(|&c| self.is(i, c))
            && self.has_const_float_input(i)
            && self.activations_in(i).len() == 1
    }

    /// A merge of two branches (a residual ADD), not a step of a lowered
    /// module (a normalization's x − mean, SiLU's x · sigmoid(x)).
    pub fn is_merge(&self, i: usize) -> bool {
        [Op::ADD, Op::MUL, Op::SUB, Op::CONCATENATION]
            .iter()
            .any(|&c| self.is(i, c))
            && self.activations_in(i).len() >= 2
            && !self.internal.contains(&i)
            && !self.norm_ends.contains(&i)
            && self.lowered_activation(i).is_none()
    }

    /// The ADD (or SUB) of a BatchNorm decomposed into MUL then ADD, each
    /// with a constant.
    pub fn is_batch_norm_end(&self, i: usize) -> bool {
        (self.is(i, Op::ADD) || self.is(i, Op::SUB))
            && self.is_affine(i)
            && self
                .activations_in(i)
                .first()
                .and_then(|&x| self.producer(x))
                .is_some_and(|p| self.is(p, Op::MUL) && self.is_affine(p))
    }

    /// An affine MUL whose only use is the affine ADD finishing it.
    pub fn is_affine_half(&self, i: usize) -> bool {
        self.is(i, Op::MUL) && self.is_affine(i) && {
            let c = self.consumers_of_op(i);
            c.len() == 1 && self.is_affine(c[0]) && !self.is(c[0], Op::MUL)
        }
    }

    /// The single consumer of operator `i`'s output, if it has exactly one.
    fn only_consumer(&self, i: usize) -> Option<usize> {
        match self.consumers_of_op(i)[..] {
            [c] => Some(c),
            _ => None,
        }
    }

    /// Finds SiLU (LOGISTIC(x), MUL(x, ·)), Hardswish (ADD(x, 3)+RELU6,
    /// MUL(x, ·), DIV by a constant) and Hardsigmoid (ADD(x, 3)+RELU6, DIV
    /// by a constant) lowerings: their inner operators, and their ends.
    fn lowered_activations(&mut self) {
        for i in 0..self.sg.operators.len() {
            let x = self.activations_in(i).first().copied();
            let Some(x) = x else { continue };
            let Some(c) = self.only_consumer(i) else {
                continue;
            };
            let reads_x = |op: usize| self.activations_in(op).contains(&x);
            if self.is(i, Op::LOGISTIC) && self.is(c, Op::MUL) && reads_x(c) {
                self.internal.insert(i);
                self.activation_ends.push((c, Activation::Silu));
            } else if self.is(i, Op::ADD)
                && self.is_affine(i)
                && self.op(i).fused == Some(Act::RELU6)
            {
                let scaled = |d: usize| {
                    (self.is(d, Op::DIV) || self.is(d, Op::MUL)) && self.is_affine_or_div(d)
                };
                if self.is(c, Op::MUL) && reads_x(c) {
                    if let Some(d) = self.only_consumer(c).filter(|&d| scaled(d)) {
                        self.internal.extend([i, c]);
                        self.activation_ends.push((d, Activation::Hardswish));
                    }
                } else if scaled(c) {
                    self.internal.insert(i);
                    self.activation_ends.push((c, Activation::Sigmoid));
                }
            }
        }
    }

    /// A DIV or MUL of one activation by a constant.
    fn is_affine_or_div(&self, i: usize) -> bool {
        self.has_const_float_input(i) && self.activations_in(i).len() == 1
    }

    /// The activation a lowering ending at operator `i` computes.
    fn lowered_activation(&self, i: usize) -> Option<Activation> {
        self.activation_ends
            .iter()
            .find(|(end, _)| *end == i)
            .map(|(_, a)| *a)
    }

    /// Operators of decomposed normalizations (MEAN, SUB, MUL, RSQRT, ...):
    /// those inside, and the last of each.
    fn layer_norms(&self) -> (HashSet<usize>, HashSet<usize>) {
        let mut internal = HashSet::new();
        let mut ends = HashSet::new();
        for r in (0..self.sg.operators.len()).filter(|&i| self.is(i, Op::RSQRT)) {
            self.norm_inputs(r, &mut internal);
            // Forward from the RSQRT: the normalizing MUL (or DIV), layout
            // copies (a GroupNorm's RESHAPE back), then the affine steps;
            // the last of them is the end.
            let mut at = r;
            // A malformed graph may lead back to an operator already passed
            // (one that writes the tensor it reads): the walk stops there.
            let mut walked = HashSet::from([r]);
            let mut normalized = false;
            loop {
                let next: Vec<usize> = self
                    .consumers_of_op(at)
                    .into_iter()
                    .filter(|&c| {
                        if !normalized {
                            self.is(c, Op::MUL) || self.is(c, Op::DIV)
                        } else {
                            ((self.is(c, Op::MUL) || self.is(c, Op::ADD)) && self.is_affine(c))
                                || (self.is(c, Op::RESHAPE) && self.only_consumer(c).is_some())
                        }
                    })
                    .collect();
                match next[..] {
                    [n] if walked.insert(n) => {
                        internal.insert(at);
                        normalized = true;
                        at = n;
                    }
                    _ => break,
                }
            }
            // A layout copy at the end is the next module's input.
            while self.is(at, Op::RESHAPE) {
                internal.remove(&at);
                let Some(p) = self
                    .activations_in(at)
                    .first()
                    .and_then(|&x| self.producer(x))
                else {
                    break;
                };
                at = p;
            }
            internal.remove(&at);
            ends.insert(at);
        }
        (internal, ends)
    }

    /// Back from an RSQRT through the variance to the means, never past
    /// the mean of the input itself.
    fn norm_inputs(&self, r: usize, internal: &mut HashSet<usize>) {
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
    }

    pub fn is_norm_end(&self, i: usize) -> bool {
        self.norm_ends.contains(&i)
    }

    /// Whether operator `i`'s output can end a module: not a layout copy,
    /// not padding, not the first half of an affine pair, not inside a
    /// lowered module.
    pub fn ends_module(&self, i: usize) -> bool {
        !self.is_layout(i)
            && !self.is_pad(i)
            && !self.is_affine_half(i)
            && !self.internal.contains(&i)
    }

    pub fn fused(&self, i: usize) -> Option<Act> {
        self.op(i).fused
    }

    fn activation_fits(&self, i: usize, a: Activation) -> bool {
        let op_kind = |code: Op| self.is(i, code);
        let lowered = self.lowered_activation(i);
        match a {
            Activation::Relu => op_kind(Op::RELU),
            Activation::Relu6 => op_kind(Op::RELU6),
            Activation::Sigmoid => op_kind(Op::LOGISTIC) || lowered == Some(Activation::Sigmoid),
            Activation::Tanh => op_kind(Op::TANH),
            Activation::Gelu => op_kind(Op::GELU),
            Activation::Silu => lowered == Some(Activation::Silu),
            Activation::Hardswish => {
                op_kind(Op::HARD_SWISH) || lowered == Some(Activation::Hardswish)
            }
            Activation::Any => {
                lowered.is_some()
                    || [
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
                    .any(|&c| op_kind(c))
            }
        }
    }

    pub fn fused_fits(&self, i: usize, a: Activation) -> bool {
        match (self.fused(i), a) {
            // A module named `relu` may be a ReLU6 (M5's first stage).
            (Some(f), Activation::Relu) => f == Act::RELU || f == Act::RELU6,
            (Some(f), Activation::Relu6) => f == Act::RELU6,
            (Some(f), Activation::Tanh) => f == Act::TANH,
            (Some(_), Activation::Any) => true,
            _ => false,
        }
    }

    /// How well an operator of its own fits a module kind (0: not at all).
    pub fn fits(&self, kind: Kind, i: usize) -> f64 {
        if self.internal.contains(&i) {
            return if kind == Kind::Unknown { 0.05 } else { 0.0 };
        }
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
            Kind::LayerNorm => yes(self.is_norm_end(i)),
            Kind::Norm => yes(self.is_norm_end(i) || self.is_batch_norm_end(i)),
            Kind::Activation(a) => yes(self.activation_fits(i, a)),
            Kind::MaxPool => yes(any(&[Op::MAX_POOL_2D, Op::REDUCE_MAX])),
            Kind::AvgPool => yes(any(&[Op::AVERAGE_POOL_2D, Op::MEAN])),
            Kind::Pool => yes(any(&[
                Op::MAX_POOL_2D,
                Op::AVERAGE_POOL_2D,
                Op::MEAN,
                Op::REDUCE_MAX,
            ])),
            Kind::Softmax => yes(any(&[Op::SOFTMAX, Op::LOG_SOFTMAX])),
            Kind::Resize => {
                if any(&[Op::RESIZE_NEAREST_NEIGHBOR, Op::RESIZE_BILINEAR]) {
                    1.0
                } else if any(&[Op::TRANSPOSE_CONV]) {
                    0.8
                } else {
                    0.0
                }
            }
            Kind::Shuffle => yes(self.is_shuffle(i)),
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
            Kind::Linear | Kind::Attention => {
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
    pub fn reads(&self, later: usize, earlier: usize) -> bool {
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
