//! Running a float model over samples and recording, for every float
//! tensor, the smallest and largest value each sample gives it. Values
//! that are not finite (NaN, the infinite padding in front of a max pool)
//! and float32's extremes (which converters use as such padding too) are
//! left out, as ONE's record-minmax leaves them out.

use crate::graph::Graph;
use crate::interpret::{Data, InterpretError, Options, Session, Skipped, Tensor};

/// At most this many samples run in one session: more would only hold
/// more memory at once.
const MAX_BATCH: usize = 32;

/// What a run over some samples showed.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The subgraph that ran.
    pub subgraph: usize,
    /// How many samples ran.
    pub samples: usize,
    /// Whether the samples were drawn at random (not the user's data).
    pub random: bool,
    /// Per tensor index: per sample, in order, the (min, max) of its
    /// finite values; `None` for tensors never computed as floats (integer
    /// tensors, constants, outputs of operators that could not run).
    pub ranges: Vec<Option<Vec<(f32, f32)>>>,
    /// Operators that could not be evaluated, and why.
    pub skipped: Vec<Skipped>,
}

impl Observed {
    /// The per-sample ranges of tensor `t`, if it was observed.
    pub fn of(&self, t: usize) -> Option<&[(f32, f32)]> {
        self.ranges
            .get(t)?
            .as_deref()
            .filter(|ranges| !ranges.is_empty())
    }

    /// The smallest and largest value tensor `t` took over every sample.
    pub fn extent(&self, t: usize) -> Option<(f32, f32)> {
        self.of(t)?
            .iter()
            .copied()
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }
}

/// Runs subgraph `subgraph` of `graph` on `samples` (each a tensor per
/// graph input), in batches that fit the memory budget.
pub fn observe(
    graph: &Graph<'_>,
    subgraph: usize,
    samples: &[Vec<Tensor>],
    max_memory: u64,
) -> Result<Observed, InterpretError> {
    let options = Options {
        max_memory,
        ..Options::default()
    };
    let probe = Session::new(graph, subgraph, options.clone())?;
    let per_sample = probe.schedule().estimate(1).unwrap_or(u64::MAX).max(1);
    let batch = usize::try_from(max_memory / per_sample)
        .unwrap_or(usize::MAX)
        .clamp(1, MAX_BATCH);
    let tensors = probe.subgraph().tensors.len();
    drop(probe);
    let mut observed = Observed {
        subgraph,
        samples: samples.len(),
        random: false,
        ranges: vec![None; tensors],
        skipped: Vec::new(),
    };
    for chunk in samples.chunks(batch) {
        let mut session = Session::new(graph, subgraph, options.clone())?;
        session.feed(chunk.to_vec())?;
        session.run_all(&mut |t, values| record(&mut observed.ranges, t, values))?;
        if observed.skipped.is_empty() {
            observed.skipped = session.skipped().to_vec();
        }
    }
    Ok(observed)
}

/// Adds each sample's range of tensor `t` (when it holds floats).
fn record(ranges: &mut [Option<Vec<(f32, f32)>>], t: usize, values: &[Tensor]) {
    let Some(slot) = ranges.get_mut(t) else {
        return;
    };
    for v in values {
        let Data::F32(data) = &v.data else { return };
        let list = slot.get_or_insert_with(Vec::new);
        if let Some(range) = finite_range(data) {
            list.push(range);
        }
    }
}

/// The smallest and largest ordinary value of `data`, if it has any.
pub fn finite_range(data: &[f32]) -> Option<(f32, f32)> {
    let mut range: Option<(f32, f32)> = None;
    for &x in data {
        if !x.is_finite() || x.abs() == f32::MAX {
            continue;
        }
        range = Some(match range {
            None => (x, x),
            Some((lo, hi)) => (lo.min(x), hi.max(x)),
        });
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_nan_are_left_out() {
        let data = [f32::NEG_INFINITY, -f32::MAX, 1.0, f32::NAN, -2.0, 3.5];
        assert_eq!(finite_range(&data), Some((-2.0, 3.5)));
        assert_eq!(finite_range(&[f32::NAN, f32::INFINITY]), None);
    }
}
