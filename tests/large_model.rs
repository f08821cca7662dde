//! A model over 2 GiB round-trips in the large-model layout.
//!
//! Needs about 5 GiB of disk and a minute; not part of the default run:
//!
//!     cargo test --release --test large_model -- --ignored

use std::io::Read;

use q_implant::model::{self, fb, CircleFile, Layout, ModelParts};

const PIECE: usize = 768 << 20;

fn payload(seed: u8) -> Vec<u8> {
    (0..PIECE)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
#[ignore = "writes over 4 GiB; run with --ignored"]
fn over_two_gib_round_trips_in_the_large_layout() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3;
    let tensors = (0..n)
        .map(|i| {
            let mut t = fb::TensorT::default();
            t.name = Some(format!("weight{i}"));
            t.shape = Some(vec![PIECE as i32 / 4]);
            t.type_ = fb::TensorType::FLOAT32;
            t.buffer = i as u32 + 1;
            t
        })
        .collect();
    let mut subgraph = fb::SubGraphT::default();
    subgraph.tensors = Some(tensors);
    let mut tree = fb::ModelT::default();
    tree.subgraphs = Some(vec![subgraph]);
    tree.buffers = Some(vec![fb::BufferT::default(); n + 1]);
    let mut payloads = vec![None];
    payloads.extend((0..n).map(|i| Some(payload(i as u8).into())));
    let parts = ModelParts {
        model: tree,
        payloads,
    };
    let first = dir.path().join("first.circle");
    let written = model::save(&parts, Layout::Auto, &first, false).unwrap();
    assert!(written.large, "auto must pick the large layout past 2 GiB");
    assert!(written.bytes > 2 << 30);
    drop(parts);

    let file = CircleFile::open(&first).unwrap();
    assert!(file.is_large_layout());
    for i in 0..n {
        assert!(
            file.read_payload(file.payload(i + 1).unwrap()).unwrap() == payload(i as u8),
            "buffer {} differs",
            i + 1
        );
    }
    assert_eq!(
        file.model()
            .subgraphs()
            .unwrap()
            .get(0)
            .tensors()
            .unwrap()
            .len(),
        n
    );

    // Read and written again, the file must come out byte for byte the same.
    let second = dir.path().join("second.circle");
    model::save(
        &ModelParts::from_file(&file).unwrap(),
        Layout::Auto,
        &second,
        false,
    )
    .unwrap();
    assert!(same_bytes(&first, &second));

    // The plain layout cannot hold it and says so instead of failing midway.
    let err = model::save(
        &ModelParts::from_file(&file).unwrap(),
        Layout::Plain,
        &dir.path().join("plain.circle"),
        false,
    );
    assert!(matches!(err, Err(model::ModelError::PlainTooLarge { .. })));
    assert!(!dir.path().join("plain.circle").exists());
}

fn same_bytes(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if na != nb || ba[..na] != bb[..nb] {
            return false;
        }
        if na == 0 {
            return true;
        }
    }
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}
