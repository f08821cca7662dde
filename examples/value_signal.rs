//! Measures the value signal of the name matcher on fixtures with answer
//! keys (docs/name-mapping.md quotes its figures): for every module-output
//! key, how the key's range agrees with its answer's observed range, and
//! with the operators within four of the answer's (layout copies and
//! tensors holding the answer's values aside).
//!
//!     cargo run --release --example value_signal -- mobilenetv2 vgg ...
//!
//! The model runs as `check` runs it: eight random samples drawn over the
//! range the input key represents; the inputs' scale is learned from the
//! input key and the layer outputs (keys with a `.weight` beside them).

use std::path::Path;

use q_implant::analysis::matcher::values::{KeyRange, Values};
use q_implant::calibrate::inputs::draws;
use q_implant::calibrate::{ModelRuns, MATCHING_SAMPLES};
use q_implant::graph::{Graph, TensorId};
use q_implant::model::CircleFile;
use q_implant::qparam::{self, Entry};
use serde_json::Value;

/// Operators on either side of an answer's compared with it.
const REACH: usize = 4;

#[derive(Default)]
struct Tally {
    /// |ln ratio| of each key against its answer.
    answers: Vec<f64>,
    /// |ln ratio| against the neighbours whose sign structure agrees.
    neighbours: Vec<f64>,
    sign_conflicts: usize,
    compared: usize,
    /// Keys whose answer agrees better than every neighbour.
    won: usize,
    keys: usize,
}

fn main() {
    let mut tally = Tally::default();
    for name in std::env::args().skip(1) {
        measure(&name, &mut tally);
    }
    let q = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let t = &mut tally;
    println!(
        "answers {}: |ln ratio| p50 {:.3} p90 {:.3} p95 {:.3}",
        t.answers.len(),
        q(&mut t.answers, 0.5),
        q(&mut t.answers, 0.9),
        q(&mut t.answers, 0.95)
    );
    println!(
        "neighbours {}: sign conflicts {}; |ln ratio| of the rest p10 {:.3} p25 {:.3} p50 {:.3}",
        t.compared,
        t.sign_conflicts,
        q(&mut t.neighbours, 0.1),
        q(&mut t.neighbours, 0.25),
        q(&mut t.neighbours, 0.5)
    );
    println!(
        "the answer agrees best within {REACH} operators: {}/{}",
        t.won, t.keys
    );
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The values of fixture `name`'s first subgraph as `check` observes them.
fn observed(graph: &Graph<'_>, entries: &[Entry]) -> Values {
    let sg = &graph.subgraphs[0];
    let input = entries
        .iter()
        .find(|e| e.key == "quant")
        .and_then(KeyRange::of);
    let run = ModelRuns::default().observe(graph, 0, MATCHING_SAMPLES, &|| {
        draws(sg, MATCHING_SAMPLES, &|_| input.map(|r| (r.lo, r.hi)))
    });
    Values::new(run.as_ref().as_ref().unwrap(), entries)
}

fn measure(name: &str, tally: &mut Tally) {
    let file = CircleFile::open(Path::new(&format!("fixtures/{name}.circle"))).unwrap();
    let graph = Graph::new(&file);
    let dir = format!("fixtures/{name}.torch-qparam");
    let (q, _) =
        qparam::load(Path::new(&format!("{dir}/qparam.json")), Default::default()).unwrap();
    let expected = read_json(&format!("{dir}/expected.json"));
    let answer = |key: &str| -> Option<TensorId> {
        graph.named(expected.get(key)?.as_str()?).first().copied()
    };
    let at = |t: TensorId| graph.tensor(t).producer.map_or(-1.0, |p| p as f64);
    let mut values = observed(&graph, &q.entries);
    let certain = q.entries.iter().enumerate().filter_map(|(i, e)| {
        let layer = q
            .entries
            .iter()
            .any(|w| w.key == format!("{}.weight", e.key));
        let t = answer(&e.key).filter(|_| e.key == "quant" || layer)?;
        Some((i, t.index, at(t)))
    });
    values.learn_offsets(certain.collect::<Vec<_>>());
    for (i, e) in q.entries.iter().enumerate() {
        let Some(t) = answer(&e.key).filter(|_| !e.has_value_field) else {
            continue;
        };
        let Some(a) = values.agreement(i, t.index, at(t)) else {
            continue;
        };
        tally.answers.push(a.ratio.ln().abs());
        let copies = &expected["equivalents"][&e.key];
        let best = neighbours(&graph, t, copies, |tensor, op| {
            let b = values.agreement(i, tensor, op as f64)?;
            tally.compared += 1;
            if b.sign_conflict {
                tally.sign_conflicts += 1;
            } else {
                tally.neighbours.push(b.ratio.ln().abs());
            }
            Some(b.score)
        });
        tally.keys += 1;
        tally.won += usize::from(a.score > best);
    }
}

/// The best of `score(tensor, operator)` over the operators within
/// [`REACH`] of `t`'s producer, layout copies and `copies` of `t` aside.
fn neighbours(
    graph: &Graph<'_>,
    t: TensorId,
    copies: &Value,
    mut score: impl FnMut(usize, usize) -> Option<f64>,
) -> f64 {
    let sg = &graph.subgraphs[t.subgraph];
    let Some(p) = graph.tensor(t).producer else {
        return 0.0;
    };
    let is_copy = |name: &str| {
        copies
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x.as_str() == Some(name)))
    };
    let layout = ["TRANSPOSE", "RESHAPE", "PAD", "PADV2"];
    let mut best: f64 = 0.0;
    for o in p.saturating_sub(REACH)..(p + REACH + 1).min(sg.operators.len()) {
        let op = &sg.operators[o];
        let Some(&out) = op.outputs.first() else {
            continue;
        };
        if o == p
            || is_copy(sg.tensors[out].name)
            || layout.contains(&op.opcode.to_string().as_str())
        {
            continue;
        }
        if let Some(s) = score(out, o) {
            best = best.max(s);
        }
    }
    best
}
