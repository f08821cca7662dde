//! The order a subgraph's operators run in, when each tensor is last
//! needed, and how much memory the activations take at their peak.

use super::constants::kind_of;
use super::error::{InterpretError, Site};
use super::value::Kind;
use crate::graph::Subgraph;

/// When a tensor can be freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastUse {
    /// After the step at this position of [`Schedule::order`].
    Step(usize),
    /// Never: a graph output.
    Never,
    /// Nothing reads it: as soon as it exists.
    Unused,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    /// Operator indices in execution order.
    pub order: Vec<usize>,
    /// Per tensor of the subgraph.
    pub last_use: Vec<LastUse>,
    /// Peak bytes of live activations (graph inputs and operator outputs)
    /// for one sample, from the declared shapes; unknown dimensions (-1)
    /// count as 1. `None` when the figure overflows.
    pub peak_bytes: Option<u64>,
}

pub fn site(sg: &Subgraph<'_>, op: usize) -> Site {
    Site {
        opcode: sg.operators[op].opcode.to_string(),
        operator: op,
        subgraph: sg.index,
    }
}

impl Schedule {
    pub fn new(sg: &Subgraph<'_>) -> Result<Schedule, InterpretError> {
        check_indices(sg)?;
        let producer = producers(sg)?;
        let order = order(sg, &producer)?;
        let last_use = last_uses(sg, &order);
        let peak_bytes = peak(sg, &order, &last_use);
        Ok(Schedule {
            order,
            last_use,
            peak_bytes,
        })
    }

    /// The up-front estimate of activation memory for `samples` samples.
    pub fn estimate(&self, samples: usize) -> Option<u64> {
        self.peak_bytes?.checked_mul(samples as u64)
    }
}

fn check_indices(sg: &Subgraph<'_>) -> Result<(), InterpretError> {
    let count = sg.tensors.len();
    let bad = |place: String, index: usize| InterpretError::BadIndex {
        place,
        index,
        subgraph: sg.index,
        count,
    };
    for (what, list) in [
        ("a graph input", &sg.inputs),
        ("a graph output", &sg.outputs),
    ] {
        if let Some(&i) = list.iter().find(|&&i| i >= count) {
            return Err(bad(what.to_string(), i));
        }
    }
    for op in &sg.operators {
        let all = op.inputs.iter().flatten().chain(&op.outputs);
        if let Some(&i) = all.into_iter().find(|&&i| i >= count) {
            return Err(bad(site(sg, op.index).to_string(), i));
        }
    }
    Ok(())
}

/// The producing operator of each tensor, checking that nothing is written
/// twice and that no operator writes a graph input or a constant.
fn producers(sg: &Subgraph<'_>) -> Result<Vec<Option<usize>>, InterpretError> {
    let mut producer = vec![None; sg.tensors.len()];
    for op in &sg.operators {
        for &o in &op.outputs {
            let t = &sg.tensors[o];
            if t.is_constant() || sg.inputs.contains(&o) {
                return Err(InterpretError::WritesFixed {
                    site: site(sg, op.index),
                    tensor: t.name.to_string(),
                });
            }
            if let Some(first) = producer[o] {
                return Err(InterpretError::TwoProducers {
                    tensor: t.name.to_string(),
                    first: site(sg, first),
                    second: site(sg, op.index),
                });
            }
            producer[o] = Some(op.index);
        }
    }
    Ok(producer)
}

/// File order when it is topological, otherwise the topological order that
/// keeps file order wherever it can (the lowest ready operator first).
fn order(sg: &Subgraph<'_>, producer: &[Option<usize>]) -> Result<Vec<usize>, InterpretError> {
    let n = sg.operators.len();
    // Each operator's distinct producing operators.
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
    for op in &sg.operators {
        for &i in op.inputs.iter().flatten() {
            let t = &sg.tensors[i];
            match producer[i] {
                Some(p) => {
                    if !deps[op.index].contains(&p) {
                        deps[op.index].push(p);
                    }
                }
                None if t.is_constant() || sg.inputs.contains(&i) => {}
                None => {
                    return Err(InterpretError::Unproduced {
                        site: site(sg, op.index),
                        tensor: t.name.to_string(),
                    })
                }
            }
        }
    }
    if deps
        .iter()
        .enumerate()
        .all(|(i, d)| d.iter().all(|&p| p < i))
    {
        return Ok((0..n).collect());
    }
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &p in d {
            users[p].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        out.push(i);
        for &u in &users[i] {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if out.len() < n {
        return Err(cycle_error(sg, producer, &waiting));
    }
    Ok(out)
}

/// Names an operator left waiting and a tensor it waits for whose producer
/// is also left waiting (so on, or fed by, a cycle).
fn cycle_error(sg: &Subgraph<'_>, producer: &[Option<usize>], waiting: &[usize]) -> InterpretError {
    for op in sg.operators.iter().filter(|o| waiting[o.index] > 0) {
        for &i in op.inputs.iter().flatten() {
            if producer[i].is_some_and(|p| waiting[p] > 0) {
                return InterpretError::Cycle {
                    site: site(sg, op.index),
                    tensor: sg.tensors[i].name.to_string(),
                };
            }
        }
    }
    // Unreachable in a consistent graph: something waits, so it waits on
    // something that waits. Name the first waiting operator regardless.
    let op = waiting.iter().position(|&w| w > 0).unwrap_or(0);
    InterpretError::Cycle {
        site: site(sg, op),
        tensor: String::new(),
    }
}

fn last_uses(sg: &Subgraph<'_>, order: &[usize]) -> Vec<LastUse> {
    let mut last = vec![LastUse::Unused; sg.tensors.len()];
    for (pos, &op) in order.iter().enumerate() {
        for &i in sg.operators[op].inputs.iter().flatten() {
            last[i] = LastUse::Step(pos);
        }
    }
    for &o in &sg.outputs {
        last[o] = LastUse::Never;
    }
    last
}

/// Bytes one sample of a non-constant tensor takes, from its declared
/// shape (unknown dimensions count as 1).
pub fn declared_bytes(t: &crate::graph::Tensor<'_>) -> Option<u64> {
    let kind = kind_of(t.dtype, t.quantization.is_some()).unwrap_or(Kind::F32);
    t.shape
        .iter()
        .try_fold(kind.size() as u64, |n, &d| n.checked_mul(d.max(1) as u64))
}

fn peak(sg: &Subgraph<'_>, order: &[usize], last_use: &[LastUse]) -> Option<u64> {
    let mut live: u64 = 0;
    for &i in &sg.inputs {
        live = live.checked_add(declared_bytes(&sg.tensors[i])?)?;
    }
    let mut peak = live;
    for (pos, &op) in order.iter().enumerate() {
        let op = &sg.operators[op];
        for &o in &op.outputs {
            live = live.checked_add(declared_bytes(&sg.tensors[o])?)?;
        }
        peak = peak.max(live);
        let freed = op.inputs.iter().flatten().chain(&op.outputs).filter(|&&t| {
            !sg.tensors[t].is_constant()
                && match last_use[t] {
                    LastUse::Step(p) => p == pos,
                    LastUse::Unused => true,
                    LastUse::Never => false,
                }
        });
        let mut seen = Vec::new();
        for &t in freed {
            if !seen.contains(&t) {
                seen.push(t);
                live = live.saturating_sub(declared_bytes(&sg.tensors[t])?);
            }
        }
    }
    Some(peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{OpCode, Operator, Tensor, TensorId};
    use crate::model::fb;

    fn tensor(index: usize, shape: &[i32]) -> Tensor<'static> {
        Tensor {
            id: TensorId { subgraph: 0, index },
            name: ["x", "a", "b", "y"][index.min(3)],
            dtype: fb::TensorType::FLOAT32,
            shape: shape.to_vec(),
            buffer: 0,
            data: None,
            quantization: None,
            producer: None,
            consumers: Vec::new(),
        }
    }

    fn op(index: usize, inputs: &[usize], outputs: &[usize]) -> Operator {
        Operator {
            index,
            opcode: OpCode::Builtin(fb::BuiltinOperator::RELU),
            inputs: inputs.iter().map(|&i| Some(i)).collect(),
            outputs: outputs.to_vec(),
            fused: None,
        }
    }

    /// x -> a -> b, then y = f(a, b): a lives until the last operator.
    fn diamond() -> Subgraph<'static> {
        Subgraph {
            index: 0,
            name: None,
            tensors: vec![
                tensor(0, &[10]),
                tensor(1, &[20]),
                tensor(2, &[30]),
                tensor(3, &[-1, 5]),
            ],
            operators: vec![op(0, &[0], &[1]), op(1, &[1], &[2]), op(2, &[1, 2], &[3])],
            inputs: vec![0],
            outputs: vec![3],
        }
    }

    #[test]
    fn last_uses_and_the_peak_estimate() {
        let s = Schedule::new(&diamond()).unwrap();
        assert_eq!(s.order, vec![0, 1, 2]);
        assert_eq!(
            s.last_use,
            vec![
                LastUse::Step(0),
                LastUse::Step(2),
                LastUse::Step(2),
                LastUse::Never
            ]
        );
        // Peak at the last step: a, b and y (-1 counted as 1) live, x gone.
        assert_eq!(s.peak_bytes, Some(4 * (20 + 30 + 5)));
        assert_eq!(s.estimate(3), Some(3 * 4 * 55));
    }

    #[test]
    fn a_bad_index_names_the_operator() {
        let mut sg = diamond();
        sg.operators[1].inputs[0] = Some(9);
        let e = Schedule::new(&sg).unwrap_err();
        assert_eq!(
            e.to_string(),
            "RELU #1 (subgraph 0) names tensor 9, but subgraph 0 has 4 tensors"
        );
    }

    #[test]
    fn a_tensor_written_twice_is_refused() {
        let mut sg = diamond();
        sg.operators[1].outputs = vec![1];
        assert!(matches!(
            Schedule::new(&sg),
            Err(InterpretError::TwoProducers { .. })
        ));
    }
}
