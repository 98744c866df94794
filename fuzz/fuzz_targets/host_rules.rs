//! Fuzz target `host_rules`: the body lives in `certpin_fuzz::host_rules`, which
//! `tests/fuzz_corpus.rs` replays over the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certpin_fuzz::host_rules(data));
