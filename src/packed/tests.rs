use super::*;
use crate::files::DataSource;

/// Block 0 of the layout: scale 0.5, values -8..=7 then 7..=-8.
fn q4_block() -> (Vec<i8>, Vec<u8>) {
    let values: Vec<i8> = (-8..8).chain((-8..8).rev()).collect();
    let mut bytes = f16::from_f32(0.5).to_le_bytes().to_vec();
    // Element j is the low nibble of byte j, element j + 16 the high one,
    // each stored + 8.
    bytes.extend((0..16).map(|j| (j as u8) | ((15 - j as u8) << 4)));
    (values, bytes)
}

#[test]
fn q4_0_packs_to_the_llama_cpp_layout_and_back() {
    let (values, bytes) = q4_block();
    let mut out = Vec::new();
    pack(Packing::GgmlQ4_0, &values, &[0.5], &mut out).unwrap();
    assert_eq!(out, bytes);
    let u = unpack(Packing::GgmlQ4_0, &out, 32).unwrap();
    assert_eq!(u.values, values);
    assert_eq!(u.scales, [0.5]);
    let real = dequantize_blocks(&u);
    assert_eq!(real[0], -4.0);
    assert_eq!(real[31], -4.0);
    assert_eq!(real[15], 3.5);
}

#[test]
fn q8_0_is_the_scale_then_the_bytes() {
    let values: Vec<i8> = (0..64).map(|i| (i * 4 - 128) as i8).collect();
    let mut out = Vec::new();
    pack(Packing::GgmlQ8_0, &values, &[0.25, 3.0], &mut out).unwrap();
    assert_eq!(out.len(), 68);
    assert_eq!(&out[..2], &f16::from_f32(0.25).to_le_bytes());
    assert_eq!(out[2] as i8, -128);
    assert_eq!(&out[34..36], &f16::from_f32(3.0).to_le_bytes());
    let u = unpack(Packing::GgmlQ8_0, &out, 64).unwrap();
    assert_eq!((u.values, u.scales), (values, vec![0.25, 3.0]));
}

#[test]
fn nibbles_go_low_first_and_an_odd_count_pads_with_zero() {
    let mut out = Vec::new();
    pack(Packing::Int4, &[-8, 7, -1], &[], &mut out).unwrap();
    assert_eq!(out, [0x78, 0x0f]);
    let u = unpack(Packing::Int4, &out, 3).unwrap();
    assert_eq!(u.values, [-8, 7, -1]);
    assert!(u.scales.is_empty());
    out.clear();
    pack(Packing::Uint4, &[15, 0, 9, 1], &[], &mut out).unwrap();
    assert_eq!(out, [0x0f, 0x19]);
    assert_eq!(
        unpack(Packing::Uint4, &out, 4).unwrap().values,
        [15, 0, 9, 1]
    );
}

#[test]
fn values_outside_the_format_are_refused_not_wrapped() {
    let mut out = Vec::new();
    assert_eq!(
        pack(Packing::Int4, &[0, 8], &[], &mut out),
        Err(OutOfRange { index: 1, value: 8 })
    );
    assert_eq!(
        pack(Packing::Uint4, &[-1], &[], &mut out),
        Err(OutOfRange {
            index: 0,
            value: -1
        })
    );
    let mut block = vec![0i8; 32];
    block[5] = -9;
    assert!(pack(Packing::GgmlQ4_0, &block, &[1.0], &mut out).is_err());
}

#[test]
fn lengths_are_checked_before_reading() {
    assert_eq!(Packing::GgmlQ4_0.stored_len(64), Some(36));
    assert_eq!(Packing::GgmlQ8_0.stored_len(64), Some(68));
    assert_eq!(Packing::GgmlQ8_0.stored_len(48), None);
    assert_eq!(Packing::Int4.stored_len(5), Some(3));
    assert_eq!(Packing::Int4.stored_len(u64::MAX), Some(u64::MAX / 2 + 1));
    assert_eq!(
        Packing::GgmlQ8_0.stored_len(u64::MAX - 31),
        None,
        "overflows"
    );
    assert!(matches!(
        unpack(Packing::GgmlQ4_0, &[0; 17], 32),
        Err(UnpackError::Length { found: 17, .. })
    ));
    assert!(unpack(Packing::Int4, &[0; 2], 5).is_err());
}

#[test]
fn inputs_round_to_q8_0_blocks_as_ggml_does() {
    // max |x| = 127: the scale is 1 and values round half to even.
    let mut row = vec![0f32; 32];
    row[0] = 127.0;
    row[1..6].copy_from_slice(&[2.5, 3.5, -2.5, 0.5, 1.49]);
    round_to_q8_0(&mut row);
    assert_eq!(&row[..6], &[127.0, 2.0, 4.0, -2.0, 0.0, 1.0]);
    // A scale float16 cannot hold exactly is read back as float16.
    let mut row: Vec<f32> = (0..32).map(|i| i as f32 * 0.01).collect();
    let d = f16::round(0.31 / 127.0);
    round_to_q8_0(&mut row);
    assert_eq!(row[31], 127.0 * d);
    let mut zeros = vec![0f32; 32];
    round_to_q8_0(&mut zeros);
    assert!(zeros.iter().all(|&v| v == 0.0));
}

#[test]
fn streamed_packing_equals_packing_at_once() {
    // Three chunks and a bit, with a scale per block.
    let count = 3 * super::stream::tests_chunk() + 64;
    let values: Vec<i8> = (0..count).map(|i| ((i * 7) % 16) as i8 - 8).collect();
    let scales: Vec<f32> = (0..count / 32).map(|b| 0.01 + b as f32 * 1e-4).collect();
    for packing in [Packing::GgmlQ4_0, Packing::Int4] {
        let mut whole = Vec::new();
        pack(packing, &values, &scales, &mut whole).unwrap();
        let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        let p = PackedValues {
            packing,
            values: DataSource::Memory(bytes.into()),
            count: count as u64,
            scales: scales.clone().into(),
        };
        let mut streamed = Vec::new();
        p.write_to(&mut streamed).unwrap();
        assert_eq!(p.len(), whole.len() as u64);
        assert_eq!(streamed, whole, "{packing:?}");
    }
}

#[test]
fn a_streamed_value_out_of_range_fails_the_write_naming_it() {
    let mut bytes = vec![0u8; 64];
    bytes[40] = 9;
    let p = PackedValues {
        packing: Packing::GgmlQ4_0,
        values: DataSource::Memory(bytes.into()),
        count: 64,
        scales: vec![1.0, 1.0].into(),
    };
    let e = p.write_to(&mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("value 9 at element 40"), "{e}");
}
