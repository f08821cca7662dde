//! Weights requantized exactly for a target that reads a layer's weights as
//! its input's type (onert: Q807). Symmetric int8 weights (zero point 0,
//! per tensor or per channel) under uint8 activations are the same real
//! values as uint8 with zero point 128, each value plus 128 and the same
//! scales: `(q + 128) − 128 = q − 0`, and int8's −128..127 lands on
//! uint8's 0..255. Nothing is rounded, so nothing is lost; a weight for
//! which that is not the case (a zero point other than 0, a value that is
//! not int8) is left for the user with the reason, and so is one whose
//! uint8 form the target computes wrongly (per-channel scales it reads
//! channel 0 of).

use crate::analysis::rules::target::site::{layer, weight_as_uint8, UINT8_SHIFT};
use crate::analysis::rules::target::{self, support::Support};
use crate::analysis::Context;
use crate::graph::Operator;
use crate::qparam::{Entry, QDType};

use super::arrays::Data;

/// A weight entry to rewrite: its new zero points and values, and why.
pub struct Requantized<'a> {
    pub entry: &'a Entry,
    pub zero_points: Vec<i64>,
    pub values: Vec<u8>,
    pub shape: Vec<usize>,
    pub what: String,
}

/// A weight the target reads wrongly that is left as it is, and why.
pub struct Left {
    pub key: String,
    pub why: String,
}

/// Every weight of `ctx`'s set (a check with the target and propagation)
/// that the target reads as its input's type and that can be rewritten
/// exactly, and those that cannot, with the reason.
pub fn weights<'a>(ctx: &Context<'a>) -> (Vec<Requantized<'a>>, Vec<Left>) {
    let (mut rewrite, mut left) = (Vec::new(), Vec::new());
    let Some(target) = ctx.options.target else {
        return (rewrite, left);
    };
    let support = target::support(target);
    // A weight several layers share is rewritten (or left) once.
    let mut seen = std::collections::HashSet::new();
    for sg in &ctx.graph.subgraphs {
        for op in &sg.operators {
            let Some(layer) = layer(ctx, sg, op) else {
                continue;
            };
            let w = layer.weight;
            // Only int8 under uint8, where the target reads the weights as
            // uint8; only the weight's own entry can be rewritten.
            if (layer.input_type, layer.weight_type) != (QDType::U8, QDType::I8)
                || !support.reads_weights_as_input_type(&op.opcode, layer.input_type)
                || !layer.own_entry
                || !seen.insert(w.key.as_str())
            {
                continue;
            }
            match exact(op, w, support) {
                Ok(r) => rewrite.push(r),
                Err(why) => left.push(Left {
                    key: w.key.clone(),
                    why,
                }),
            }
        }
    }
    (rewrite, left)
}

/// `w` as uint8 with the same real values, or why it cannot be.
fn exact<'a>(op: &Operator, w: &'a Entry, support: &Support) -> Result<Requantized<'a>, String> {
    weight_as_uint8(op, w, support)?;
    let npy = &w.value.as_ref().ok_or("it has no value")?.value;
    let bytes = npy
        .read_data()
        .map_err(|e| format!("its value cannot be read: {e}"))?;
    // Each int8 byte plus 128, as uint8: exact over int8's whole range.
    let values = bytes
        .iter()
        .map(|&b| (i64::from(b as i8) + UINT8_SHIFT) as u8)
        .collect();
    let channels = w.zero_points().map_or(1, <[i64]>::len);
    Ok(Requantized {
        entry: w,
        zero_points: vec![UINT8_SHIFT; channels],
        values,
        shape: npy.header.shape.clone(),
        what: format!(
            "requantized for {}, which reads {} #{}'s weights as its uint8 input's type (Q807): int8 with zero point 0 is uint8 with zero point {UINT8_SHIFT}, each value + {UINT8_SHIFT}, the same scales (the same real values, exactly)",
            support.runtime, op.opcode, op.index
        ),
    })
}

/// The new arrays of a rewrite, as the fix writes them.
pub fn arrays(r: &Requantized<'_>) -> [(Vec<usize>, Data); 2] {
    [
        (vec![r.zero_points.len()], Data::I64(r.zero_points.clone())),
        (r.shape.clone(), Data::U8(r.values.clone())),
    ]
}
