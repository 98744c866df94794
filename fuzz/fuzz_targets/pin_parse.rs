//! Fuzz target `pin_parse`: the body lives in `certpin_fuzz::pin_parse`, which
//! `tests/fuzz_corpus.rs` replays over the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certpin_fuzz::pin_parse(data));
