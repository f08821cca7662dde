//! How well a key fits an operator's output, for the order of modules:
//! what its module kind allows ([`Ops`]) and, when the model was run,
//! whether the key's range agrees with the values the operator produced
//! ([`Values`]).

use super::kinds::Kind;
use super::ops::Ops;
use super::values::{Agreement, KeyRange, Values, NEGATIVE_STEPS};
use crate::model::fb::{ActivationFunctionType as Act, BuiltinOperator as Op};

/// What agreement leaves of a placement's fit in the alignment: a range
/// that contradicts the tensor's values cuts the fit to a tenth (another
/// placement, or none, wins), a perfect one keeps it whole.
const AGREEMENT_FLOOR: f64 = 0.1;

/// Agreement below which the values contradict a placement: it is listed,
/// never confident.
pub const CONTRADICTED: f64 = 0.1;

/// The confidence a contradicted placement keeps at most.
pub const CONTRADICTED_CAP: f64 = 0.5;

/// How likely a key whose kind does not say it passes a value on (a key
/// of unknown kind, mostly) is on the tensor of the key before it, by what
/// the graph and the two keys say.
struct SharedFits {
    /// That tensor's operator has an activation fused in and the key
    /// before holds the value before it (its range goes below zero; the
    /// tensor never does): the key is the activation.
    activation: f64,
    /// The key has the parameters of the key before: the exporter saw the
    /// same values (a dropout, a permute that needs no operator). As
    /// likely as an operator of its own (a max pool also keeps its input's
    /// extremes); an operator left without a key then decides.
    echo: f64,
    /// The operator has an activation fused in, which the key may be: as
    /// likely as an operator of its own, the values tell them apart.
    fused: f64,
    /// A key whose name says another kind of module, with the parameters
    /// of the key before: an identity standing in for the module (timm's
    /// optional norms and activations).
    stand_in: f64,
}

const SHARED: SharedFits = SharedFits {
    activation: 0.9,
    echo: 0.35,
    fused: 0.3,
    stand_in: 0.3,
};

/// A pass-through (a dropout) on an operator of its own rather than on
/// the tensor of the key before it: `[otherwise, with the parameters of
/// the key before]` (half as likely; hardly ever when the exporter saw the
/// same values).
const IDENTITY_OWN: [f64; 2] = [0.5, 0.05];

/// The kind and value judge of one subgraph's operators.
pub struct Judge<'a, 'g> {
    pub ops: &'a Ops<'g>,
    pub values: Option<&'a Values>,
    /// Per entry: its range, for what needs no run (the sign a fused
    /// activation or an operator guarantees).
    pub ranges: &'a [Option<KeyRange>],
}

impl Judge<'_, '_> {
    /// How a key's range agrees with operator `op`'s output.
    pub fn agreement(&self, entry: usize, op: usize) -> Option<Agreement> {
        let values = self.values?;
        let &out = self.ops.op(op).outputs.first()?;
        values.agreement(entry, out, op as f64)
    }

    /// The value factor of a placement in the alignment (1 without values).
    pub fn factor(&self, entry: usize, op: usize) -> f64 {
        self.agreement(entry, op)
            .map_or(1.0, |a| AGREEMENT_FLOOR + (1.0 - AGREEMENT_FLOOR) * a.score)
    }

    /// How well an operator of its own fits a module kind (0: not at all).
    /// A pass-through may also take the value of a step no key names (a
    /// layer scale computed in the block's `forward`), unless it `echoes`
    /// the key before.
    pub fn fits(&self, kind: Kind, op: usize, echoes: bool) -> f64 {
        match kind {
            Kind::Identity if self.ops.ends_module(op) => IDENTITY_OWN[usize::from(echoes)],
            _ => self.ops.fits(kind, op),
        }
    }

    /// Whether key `entry`'s range contradicts operator `op`'s output: by
    /// the values observed, or (without a run) because the operator never
    /// gives a negative value where the key's range holds some.
    pub fn contradicts(&self, entry: usize, op: usize) -> bool {
        if let Some(a) = self.agreement(entry, op) {
            return a.sign_conflict;
        }
        let Some(Some(range)) = self.ranges.get(entry) else {
            return false;
        };
        let o = self.ops.op(op);
        let never_negative = matches!(o.fused, Some(Act::RELU | Act::RELU6))
            || [Op::RELU, Op::RELU6, Op::LOGISTIC, Op::SOFTMAX]
                .iter()
                .any(|&c| o.opcode.is(c));
        never_negative && !range.symmetric && range.below_zero >= NEGATIVE_STEPS
    }

    /// The fit of a key of `kind` on the same tensor as the key before it,
    /// on operator `op`: 0 for a kind that does not pass a value on. A key
    /// of unknown kind may be the activation fused into `op` (surely so
    /// when `before_contradicts`: the key before holds the value before
    /// the activation), or pass the value on when it `echoes` the key
    /// before (has its parameters).
    pub fn shared_fit(&self, kind: Kind, op: usize, echoes: bool, before_contradicts: bool) -> f64 {
        let fused = self.ops.fused(op).is_some();
        match kind {
            Kind::Activation(a) if self.ops.fused_fits(op, a) => 0.95,
            Kind::Activation(_) => 0.0,
            Kind::Block | Kind::Container => 0.9,
            // Parameters unlike the key before's: that key's value may be
            // fused away, or an unkeyed step came between (a layer scale).
            Kind::Identity if echoes => 1.0,
            Kind::Identity => 0.6,
            // A flatten or permute is the tensor before it only when no
            // layout operator follows to hold the new layout.
            Kind::Layout => 0.5,
            Kind::Unknown if fused && before_contradicts => SHARED.activation,
            Kind::Unknown if echoes => SHARED.echo,
            Kind::Unknown if fused => SHARED.fused,
            _ if echoes => SHARED.stand_in,
            _ => 0.0,
        }
    }
}
