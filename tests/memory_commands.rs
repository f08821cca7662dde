//! `extract`, `diff` and `verify` with sets and samples held in memory (the
//! Python module's) give what they give from files: the extracted set in
//! memory is the set written, a side in memory compares as its files, and
//! `verify` reports the same from a set or samples in memory.

mod common;

use std::path::Path;

use q_implant::commands::{
    self, ApplyRequest, ExtractRequest, Outcome, Overrides, Silent, Subject, VerifyRequest,
};
use q_implant::diff::{Side, Tolerance};
use q_implant::files::SharedBytes;
use q_implant::interpret::session::DEFAULT_MAX_MEMORY;
use q_implant::model::Layout;
use q_implant::qparam::{npy, LoadOptions};
use q_implant::samples::{MemoryArray, MemorySample};
use q_implant::verify::inputs::Source;

use common::fixture;

fn verified(subject: Subject<'_>, inputs: Source) -> String {
    let request = VerifyRequest {
        subject,
        inputs,
        max_memory: DEFAULT_MAX_MEMORY,
        save_outputs: None,
        keep_outputs: false,
    };
    commands::verify(&request, &Silent)
        .unwrap()
        .report
        .to_json()
}

#[test]
fn extract_diff_and_verify_agree_in_memory_and_on_disk() {
    let model = fixture("convnet.circle");
    let qparam = fixture("convnet.qparam/qparam.json");
    let settings = Overrides::default().resolve(&model, &qparam).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let quantized = dir.path().join("q.circle");
    let applied = commands::apply(
        &ApplyRequest {
            model: &model,
            qparam: &qparam,
            output: &quantized,
            settings: &settings,
            layout: Layout::Auto,
            force: false,
            dry_run: false,
            deny_warnings: false,
        },
        &Silent,
    );
    assert!(matches!(applied, Ok(Outcome::Written { .. })));

    // extract: in memory, the set it writes.
    let in_memory = commands::extract_memory(&quantized, None, &Silent).unwrap();
    let written = dir.path().join("extracted");
    let request = ExtractRequest {
        model: &quantized,
        output: &written,
        force: false,
        keys_from: None,
    };
    let on_disk = commands::extract(&request, &Silent).unwrap();
    assert_eq!(in_memory.extracted.entries, on_disk.extracted.entries);
    let name = Path::new("extracted in memory");
    let a = Side::memory(&in_memory.set, name, LoadOptions::default()).unwrap();
    for other in [written.clone(), qparam.clone()] {
        let b = Side::open(&other, LoadOptions::default()).unwrap();
        let outcome = commands::compare_sides(&a, &b, Tolerance::default(), &Silent).unwrap();
        assert!(outcome.comparison.differences.is_empty(), "{other:?}");
        assert_eq!(outcome.comparison.same, in_memory.set.entries.len());
    }

    // verify: the set in memory plans the model its file plans.
    let random = || Source::Random {
        samples: 2,
        seed: 5,
    };
    let from_file = verified(
        Subject::Planned {
            model: &model,
            qparam: &qparam,
            settings: &settings,
        },
        random(),
    );
    let from_memory = verified(
        Subject::PlannedMemory {
            model: &model,
            set: &in_memory.set,
            name,
            settings: &settings,
        },
        random(),
    );
    assert_eq!(from_file, from_memory);

    // Samples in memory are the samples their files hold.
    let shape = [1usize, 3, 16, 16];
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let file = dir.path().join("x.npy");
    std::fs::write(&file, npy::encode("<f4", false, &shape, &bytes)).unwrap();
    let subject = || Subject::Quantized {
        model: &quantized,
        reference: &model,
    };
    let by_file = verified(subject(), Source::Files(vec![file]));
    let array = MemoryArray {
        descr: "<f4".into(),
        shape: shape.to_vec(),
        bytes: SharedBytes::from(bytes),
    };
    let by_memory = verified(
        subject(),
        Source::Memory(vec![MemorySample::Positional(vec![array])]),
    );
    assert_eq!(by_file, by_memory);
    assert!(by_memory.contains("\"random_inputs\": false"));
}
