//! The float model and the quantized one, run side by side on the same
//! samples, compared tensor by tensor as the quantized run produces them.
//!
//! Tensors are paired by name (apply keeps every name; the tensors it
//! inserts for QUANTIZE and DEQUANTIZE have new names and no partner). The
//! quantized run leads; the float run is stepped just far enough to have
//! each partner, and holds a partner only until it is compared, so memory
//! stays the live tensors of both runs.

use std::collections::HashMap;

use super::metrics::{TensorError, TopK};
use super::report::{self, OutputRow, PairingCount, Report, TensorRow, Unsupported};
use crate::graph::{Graph, Subgraph};
use crate::interpret::session::{Options, Session, Skipped, State};
use crate::interpret::value::Tensor;
use crate::interpret::{InterpretError, Schedule};
use crate::model::fb::TensorType;

/// A tensor of the quantized model and its partner in the float one.
struct Pair {
    quantized: usize,
    reference: usize,
    error: TensorError,
    evaluated: bool,
}

/// Each graph output's values per sample: the float run's, then the
/// quantized run's (dequantized); `None` where a run could not compute it.
pub type OutputValues = Vec<(Option<Vec<Tensor>>, Option<Vec<Tensor>>)>;

/// Runs both models (subgraph 0) on `samples` and measures every pair.
pub fn compare(
    reference: &Graph<'_>,
    quantized: &Graph<'_>,
    samples: Vec<Vec<Tensor>>,
    options: &Options,
    random: bool,
) -> Result<(Report, OutputValues), InterpretError> {
    let count = samples.len();
    budget(reference, quantized, count, options.max_memory)?;
    let mut f = Session::new(reference, 0, options.clone())?;
    let mut q = Session::new(quantized, 0, options.clone())?;
    f.feed(samples.clone())?;
    q.feed(samples)?;
    let (fs, qs) = (f.subgraph(), q.subgraph());
    let mut pairing = Pairing::new(pairs(fs, qs));
    let count_pairs = PairingCount {
        paired: pairing.pairs.len(),
        activations: qs.tensors.iter().filter(|t| !t.is_constant()).count(),
    };
    for p in &pairing.pairs {
        f.keep(p.reference);
    }
    for &t in &qs.inputs {
        pairing.measure(&q, &mut f, t)?;
    }
    while let Some(step) = q.step()? {
        refused_values(&q)?;
        for &o in &step.outputs {
            pairing.measure(&q, &mut f, o)?;
        }
    }
    while f.step()?.is_some() {
        refused_values(&f)?;
    }
    let values: OutputValues = f.outputs().into_iter().zip(q.outputs()).collect();
    let outputs = outputs(q.subgraph(), &values, count);
    let unsupported = unsupported(&f, &q);
    let tensors = rows(qs, &pairing.pairs, &pairing.order);
    let report = Report {
        version: report::VERSION,
        samples: count,
        random_inputs: random,
        tensors,
        outputs,
        unsupported,
        pairing: count_pairs,
    };
    Ok((report, values))
}

/// Refuses `count` samples when the two runs, alive at once, would need
/// more than `max_memory` by the estimate from the declared shapes (each
/// run's peak of live tensors per sample, its inputs included). Cheap: the
/// caller checks it before it reads or draws a single sample.
pub fn budget(
    reference: &Graph<'_>,
    quantized: &Graph<'_>,
    count: usize,
    max_memory: u64,
) -> Result<(), InterpretError> {
    let per_sample = |g: &Graph<'_>| -> Result<Option<u64>, InterpretError> {
        let sg = g
            .subgraphs
            .first()
            .ok_or(InterpretError::NoSubgraph { index: 0, count: 0 })?;
        Ok(Schedule::new(sg)?.estimate(1))
    };
    let one = per_sample(reference)?
        .zip(per_sample(quantized)?)
        .and_then(|(a, b)| a.checked_add(b));
    let all = one.and_then(|b| b.checked_mul(count as u64));
    if all.is_none_or(|b| b > max_memory) {
        return Err(InterpretError::OverBudget {
            what: format!(
                "running the float and the quantized model side by side on {count} samples ({} bytes per sample, inputs included, estimated from the declared shapes)",
                one.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string())
            ),
            needed: all.unwrap_or(u64::MAX),
            budget: max_memory,
        });
    }
    Ok(())
}

/// Ends the run when an operator refused a sample's values (an index past
/// its table): that is bad input to report, not an operator to leave out.
fn refused_values(run: &Session<'_>) -> Result<(), InterpretError> {
    match run.skipped().iter().find_map(Skipped::sample_error) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The pairs, found by the quantized tensor, and the order they were
/// measured in.
struct Pairing {
    pairs: Vec<Pair>,
    index: HashMap<usize, usize>,
    order: Vec<usize>,
}

impl Pairing {
    fn new(pairs: Vec<Pair>) -> Pairing {
        let index = pairs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.quantized, i))
            .collect();
        Pairing {
            pairs,
            index,
            order: Vec::new(),
        }
    }

    /// Compares quantized tensor `t`, just produced, with its partner,
    /// stepping the float run until it has it; then lets the partner go.
    fn measure(
        &mut self,
        q: &Session<'_>,
        f: &mut Session<'_>,
        t: usize,
    ) -> Result<(), InterpretError> {
        let Some(&i) = self.index.get(&t) else {
            return Ok(());
        };
        let pair = &mut self.pairs[i];
        while f.state(pair.reference) == Some(State::Pending) {
            if f.step()?.is_none() {
                break;
            }
            refused_values(f)?;
        }
        if let (Some(qv), Some(fv)) = (q.value(t), f.value(pair.reference)) {
            let params = q.params(t);
            for (reference, quantized) in fv.iter().zip(qv) {
                if let (Some(a), Some(b)) = (reference.as_f32(), quantized.as_f32()) {
                    pair.error.add(a, b, &quantized.shape, params);
                }
            }
            pair.evaluated = true;
        }
        f.release(pair.reference);
        self.order.push(i);
        Ok(())
    }
}

/// The quantized model's activations (float, or quantized from float) with
/// a float activation of the same name in the reference.
fn pairs(reference: &Subgraph<'_>, quantized: &Subgraph<'_>) -> Vec<Pair> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for t in reference.tensors.iter().rev() {
        if !t.is_constant() && t.dtype == TensorType::FLOAT32 {
            by_name.insert(t.name, t.id.index);
        }
    }
    quantized
        .tensors
        .iter()
        .filter(|t| !t.is_constant())
        .filter_map(|t| {
            let partner = *by_name.get(t.name)?;
            // A tensor of another shape is another tensor, whatever its name.
            if reference.tensors[partner].shape != t.shape {
                return None;
            }
            let reference = partner;
            Some(Pair {
                quantized: t.id.index,
                reference,
                error: TensorError::default(),
                evaluated: false,
            })
        })
        .collect()
}

/// The measured tensors, in the order the quantized run produced them, each
/// with its likely cause (from the best SQNR among its producer's inputs).
fn rows(qs: &Subgraph<'_>, pairs: &[Pair], order: &[usize]) -> Vec<TensorRow> {
    let mut rows: Vec<TensorRow> = Vec::with_capacity(order.len());
    let mut sqnr_of: HashMap<usize, Option<f64>> = HashMap::new();
    for &i in order {
        let p = &pairs[i];
        let t = &qs.tensors[p.quantized];
        let has_grid = crate::interpret::quant::Params::of(t).is_some();
        let mut row = TensorRow {
            name: t.name.to_string(),
            subgraph: qs.index,
            index: p.quantized,
            dtype: t.dtype_name().to_lowercase(),
            sqnr_db: p.error.sqnr_db(),
            max_error_steps: p.error.max_error_steps(has_grid),
            clipped: p.error.clipped(has_grid),
            mpeir: p.error.mpeir(),
            evaluated: p.evaluated,
            cause: None,
        };
        if p.evaluated {
            let inputs = t
                .producer
                .map(|op| {
                    qs.operators[op]
                        .inputs
                        .iter()
                        .flatten()
                        .copied()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let before = inputs
                .iter()
                .filter_map(|i| sqnr_of.get(i).copied())
                .map(|s| s.unwrap_or(f64::INFINITY))
                .fold(None, |best: Option<f64>, s| {
                    Some(best.map_or(s, |b| b.max(s)))
                });
            row.cause = report::cause(&row, before.filter(|b| b.is_finite()));
            sqnr_of.insert(p.quantized, row.sqnr_db);
        }
        rows.push(row);
    }
    rows
}

/// Each graph output of the quantized model against the float model's at
/// the same position.
fn outputs(qs: &Subgraph<'_>, values: &OutputValues, samples: usize) -> Vec<OutputRow> {
    qs.outputs
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let mut error = TensorError::default();
            let mut top = TopK::default();
            let mut classes = None;
            let evaluated = matches!(values.get(k), Some((Some(_), Some(_))));
            if let Some((Some(fv), Some(qv))) = values.get(k) {
                for (a, b) in fv.iter().zip(qv).take(samples) {
                    if let (Some(x), Some(y)) = (a.as_f32(), b.as_f32()) {
                        error.add(x, y, &a.shape, None);
                        if let [_, c] = a.shape[..] {
                            if c > 1 {
                                top.add(x, y, c);
                                classes = Some(c);
                            }
                        }
                    }
                }
            }
            OutputRow {
                name: qs.tensors[t].name.to_string(),
                mae: error.mae(),
                max_abs_error: error.max_abs_error(),
                psnr_db: error.psnr_db(),
                sqnr_db: error.sqnr_db(),
                top1: classes.and(top.top1()),
                top5: classes.and(top.top5()),
                evaluated,
            }
        })
        .collect()
}

/// The operators either run could not evaluate (the quantized model's
/// first, then the float model's that it does not share).
fn unsupported(f: &Session<'_>, q: &Session<'_>) -> Vec<Unsupported> {
    let mut out: Vec<Unsupported> = Vec::new();
    for s in q.skipped().iter().chain(f.skipped()) {
        let operator = s.site.opcode.clone();
        if out
            .iter()
            .any(|u| u.operator == operator && u.index == s.site.operator)
        {
            continue;
        }
        out.push(Unsupported {
            operator,
            index: s.site.operator,
            subgraph: s.site.subgraph,
        });
    }
    out
}
