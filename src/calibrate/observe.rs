//! Running a float model over samples and recording, for every float
//! tensor, the smallest and largest value each sample gives it. Values
//! that are not finite (NaN, the infinite padding in front of a max pool)
//! and float32's extremes (which converters use as such padding too) are
//! left out, as ONE's record-minmax leaves them out.

use crate::graph::Graph;
use crate::interpret::session::SkipReason;
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

/// Why a run over samples gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(transparent)]
    Interpret(#[from] InterpretError),
    /// Sample `sample` (an index into the samples) makes an operator's
    /// kernel fail where other samples run it: the sample is at fault.
    #[error("sample {sample} makes {skipped}")]
    Sample { sample: usize, skipped: Skipped },
    /// Random samples could not be drawn.
    #[error(transparent)]
    Samples(#[from] crate::samples::SampleError),
}

/// Runs subgraph `subgraph` of `graph` on `samples` (each a tensor per
/// graph input), in batches that fit the memory budget. A kernel that
/// fails on some samples and not on others is an error naming the first
/// such sample (one bad sample would leave every tensor after it without
/// a range, for the whole batch); one that fails on every sample is the
/// model's operator, left "not evaluated".
pub fn observe(
    graph: &Graph<'_>,
    subgraph: usize,
    samples: &[Vec<Tensor>],
    max_memory: u64,
) -> Result<Observed, ObserveError> {
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
    // Samples on which a kernel failed, with the failure.
    let mut failing: Vec<(usize, Skipped)> = Vec::new();
    let mut always: Vec<Skipped> = Vec::new();
    for (c, chunk) in samples.chunks(batch).enumerate() {
        let mut session = Session::new(graph, subgraph, options.clone())?;
        session.feed(chunk.to_vec())?;
        session.run_all(&mut |t, values| record(&mut observed.ranges, t, values))?;
        let failed: Vec<&Skipped> = session
            .skipped()
            .iter()
            .filter(|s| is_kernel_failure(s))
            .collect();
        let first = c * batch;
        if failed.iter().all(|s| always.contains(*s)) {
            // Operators failing on every sample so far: the model's.
            if let Some(&s) = failed.first() {
                failing.extend((first..first + chunk.len()).map(|i| (i, s.clone())));
            }
        } else {
            let found = failures(graph, subgraph, chunk, &options, first)?;
            if found.len() == chunk.len() && failing.len() == first {
                always.extend(found.iter().map(|(_, s)| s.clone()));
            }
            failing.extend(found);
        }
        if observed.skipped.is_empty() {
            observed.skipped = session.skipped().to_vec();
        }
    }
    if failing.len() < samples.len() {
        if let Some((sample, skipped)) = failing.into_iter().next() {
            return Err(ObserveError::Sample { sample, skipped });
        }
    }
    Ok(observed)
}

fn is_kernel_failure(s: &Skipped) -> bool {
    matches!(s.reason, SkipReason::Kernel(_))
}

/// The samples of `chunk` (numbered from `first`) on which a kernel fails
/// when each runs alone, with the first failure.
fn failures(
    graph: &Graph<'_>,
    subgraph: usize,
    chunk: &[Vec<Tensor>],
    options: &Options,
    first: usize,
) -> Result<Vec<(usize, Skipped)>, InterpretError> {
    let mut out = Vec::new();
    for (i, sample) in chunk.iter().enumerate() {
        let mut session = Session::new(graph, subgraph, options.clone())?;
        session.feed(vec![sample.clone()])?;
        session.run_all(&mut |_, _| {})?;
        if let Some(s) = session.skipped().iter().find(|s| is_kernel_failure(s)) {
            out.push((first + i, s.clone()));
        }
    }
    Ok(out)
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

    /// y = GATHER(table, ids): one sample's id past the table makes the
    /// kernel fail where the others run; that sample is named.
    #[test]
    fn a_sample_that_makes_a_kernel_fail_is_named() {
        use crate::analysis::test_sets::model_typed;
        use crate::model::fb::{BuiltinOperator as Op, TensorType};
        let file = model_typed(
            &[
                ("table", Some((0..10).map(|v| v as f32).collect())),
                ("ids", None),
                ("y", None),
            ],
            &[(1, TensorType::INT32)],
            &[(Op::GATHER, vec![0, 1], vec![2])],
            &[1],
            &[2],
        );
        let graph = Graph::new(&file);
        let sample = |ids: Vec<i32>| {
            vec![Tensor {
                shape: vec![4],
                data: Data::I32(ids),
            }]
        };
        let mut samples: Vec<Vec<Tensor>> = (0..3).map(|_| sample(vec![0, 1, 2, 3])).collect();
        let fine = observe(&graph, 0, &samples, 1 << 20).unwrap();
        assert_eq!(fine.of(2), Some(&[(0.0, 3.0); 3][..]));
        samples.insert(1, sample(vec![0, 1, 2, 50]));
        match observe(&graph, 0, &samples, 1 << 20) {
            Err(ObserveError::Sample { sample, skipped }) => {
                assert_eq!(sample, 1);
                assert!(skipped.to_string().contains("GATHER #0"), "{skipped}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn padding_and_nan_are_left_out() {
        let data = [f32::NEG_INFINITY, -f32::MAX, 1.0, f32::NAN, -2.0, 3.5];
        assert_eq!(finite_range(&data), Some((-2.0, 3.5)));
        assert_eq!(finite_range(&[f32::NAN, f32::INFINITY]), None);
    }
}
