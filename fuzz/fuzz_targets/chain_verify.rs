//! Fuzz target `chain_verify`: the body lives in `certpin_fuzz::chain_verify`, which
//! `tests/fuzz_corpus.rs` replays over the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certpin_fuzz::chain_verify(data));
