//! Any bytes as a model, verified against itself: run or refused, never a
//! panic, and the report's JSON always parses.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| q_implant::fuzzing::verify_model(data));
