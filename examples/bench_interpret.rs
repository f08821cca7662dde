//! Times the interpreter on a model: float inference per sample, then the
//! quantized run with uint8 parameters for every float tensor (from the
//! float run's ranges, as a calibration would give them; int32 biases),
//! fake-quantized and on the integer kernels.
//!
//!     cargo run --release --example bench_interpret -- [MODEL] [--samples N] [--repeat N]
//!
//! MODEL defaults to fixtures/resnet18.circle; inputs are fixed random
//! values of the declared shapes. Prints the best time per sample of
//! `--repeat` runs (default 5) of `--samples` samples (default 8), in CPU
//! time of the running thread on Unix.
//! `--profile` also prints the time spent per opcode in one float run.

use std::time::Instant;

use q_implant::graph::Graph;
use q_implant::interpret::{constants, Arithmetic, Data, Options, Params, Session, Tensor};
use q_implant::model::CircleFile;

fn inputs(graph: &Graph<'_>, samples: usize) -> Vec<Vec<Tensor>> {
    let sg = &graph.subgraphs[0];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    (0..samples)
        .map(|_| {
            sg.inputs
                .iter()
                .map(|&i| {
                    let shape: Vec<usize> = sg.tensors[i]
                        .shape
                        .iter()
                        .map(|&d| d.max(1) as usize)
                        .collect();
                    let n = shape.iter().product();
                    Tensor::f32(shape, (0..n).map(|_| next()).collect()).unwrap()
                })
                .collect()
        })
        .collect()
}

/// uint8 parameters covering `lo..hi` (and 0).
fn uint8(lo: f32, hi: f32) -> Params {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let scale = ((hi - lo) / 255.0).max(1e-8);
    Params {
        scale: vec![scale],
        zero_point: vec![(-lo / scale).round() as i64],
        axis: 0,
        qmin: 0,
        qmax: 255,
    }
}

fn range(v: &[f32], (lo, hi): (f32, f32)) -> (f32, f32) {
    v.iter().fold((lo, hi), |(l, h), &x| (l.min(x), h.max(x)))
}

/// Seconds of CPU time this thread has used (on Unix; elsewhere seconds
/// of wall time since the first call): a measure other work on a shared
/// machine inflates much less than the wall clock.
fn clock() -> f64 {
    #[cfg(unix)]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid timespec for the call to fill.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Runs `samples` and returns the best seconds per sample of `repeat` runs.
fn time(
    graph: &Graph<'_>,
    params: Option<&[Option<Params>]>,
    arithmetic: Arithmetic,
    samples: usize,
    repeat: usize,
) -> f64 {
    let mut best = f64::INFINITY;
    let options = Options {
        arithmetic,
        ..Options::default()
    };
    for _ in 0..repeat {
        let mut s = Session::new(graph, 0, options.clone()).unwrap();
        if let Some(p) = params {
            s = s.with_params(|t| p[t].clone());
        }
        s.feed(inputs(graph, samples)).unwrap();
        let t0 = clock();
        s.run_all(&mut |_, _| {}).unwrap();
        best = best.min((clock() - t0) / samples as f64);
        assert!(s.skipped().is_empty(), "{:?}", s.skipped());
    }
    best
}

/// Biases as a quantizer writes them: int32, with the scale of the input
/// times the weights, so that the weighted operators run in integers.
fn int32_biases(graph: &Graph<'_>, params: &mut [Option<Params>]) {
    for op in &graph.subgraphs[0].operators {
        let weighted = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]
            .contains(&op.opcode.to_string().as_str());
        let (Some(Some(x)), Some(Some(w)), Some(Some(b))) =
            (op.inputs.first(), op.inputs.get(1), op.inputs.get(2))
        else {
            continue;
        };
        let scale = |t: usize| params[t].as_ref().map(|p| p.scale[0]);
        if let (true, Some(sx), Some(sw)) = (weighted, scale(*x), scale(*w)) {
            params[*b] = Some(Params {
                scale: vec![sx * sw],
                zero_point: vec![0],
                axis: 0,
                qmin: i32::MIN.into(),
                qmax: i32::MAX.into(),
            });
        }
    }
}

/// Time per opcode over one run (float, or quantized with `params`), most
/// expensive first.
fn profile(graph: &Graph<'_>, samples: usize, params: Option<&[Option<Params>]>) {
    let sg = &graph.subgraphs[0];
    let mut s = Session::new(graph, 0, Options::default()).unwrap();
    if let Some(p) = params {
        s = s.with_params(|t| p[t].clone());
    }
    s.feed(inputs(graph, samples)).unwrap();
    let mut per_op: Vec<(String, f64, usize)> = Vec::new();
    loop {
        let t0 = clock();
        let Some(step) = s.step().unwrap() else { break };
        let dt = (clock() - t0) / samples as f64;
        let name = sg.operators[step.operator].opcode.to_string();
        match per_op.iter_mut().find(|(n, _, _)| *n == name) {
            Some(e) => {
                e.1 += dt;
                e.2 += 1;
            }
            None => per_op.push((name, dt, 1)),
        }
    }
    per_op.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, t, n) in per_op {
        println!("  {name:<20} {n:>4} ops {:>8.3} ms per sample", t * 1e3);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut model, mut samples, mut repeat) = ("fixtures/resnet18.circle".to_string(), 8, 5);
    let mut show_profile = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--samples" => {
                samples = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--samples N")
            }
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--repeat N")
            }
            "--profile" => show_profile = true,
            _ => model = a,
        }
    }
    let file = CircleFile::open(&model).unwrap();
    let graph = Graph::new(&file);
    let sg = &graph.subgraphs[0];
    let float = time(&graph, None, Arithmetic::FakeQuant, samples, repeat);
    println!(
        "float:      {:.3} ms per sample ({samples} samples, best of {repeat})",
        float * 1e3
    );
    if show_profile {
        profile(&graph, samples, None);
    }

    // Ranges of every float tensor, activations from a run and constants
    // read directly; the run also shows the memory held at the peak.
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); sg.tensors.len()];
    let mut s = Session::new(&graph, 0, Options::default()).unwrap();
    s.feed(inputs(&graph, samples)).unwrap();
    s.run_all(&mut |t, values| {
        for v in values {
            if let Data::F32(v) = &v.data {
                ranges[t] = range(v, ranges[t]);
            }
        }
    })
    .unwrap();
    println!(
        "memory:     {} bytes at the peak (activations estimated from declared shapes: {})",
        s.memory().1,
        s.schedule().estimate(samples).unwrap_or(u64::MAX)
    );
    for t in sg.tensors.iter().filter(|t| t.is_constant()) {
        if let Ok(Tensor {
            data: Data::F32(v), ..
        }) = constants::read(&graph, t, None)
        {
            ranges[t.id.index] = range(&v, ranges[t.id.index]);
        }
    }
    let mut params: Vec<Option<Params>> = ranges
        .iter()
        .map(|&(lo, hi)| (lo <= hi).then(|| uint8(lo, hi)))
        .collect();
    int32_biases(&graph, &mut params);
    if show_profile {
        println!("integer run:");
        profile(&graph, samples, Some(&params));
    }
    for (name, arithmetic) in [
        ("fake-quant", Arithmetic::FakeQuant),
        ("integer", Arithmetic::Integer),
    ] {
        let t = time(&graph, Some(&params), arithmetic, samples, repeat);
        println!(
            "{name:<11} {:.3} ms per sample ({samples} samples, best of {repeat}; {:.2}x the float run)",
            t * 1e3,
            t / float
        );
    }
}
