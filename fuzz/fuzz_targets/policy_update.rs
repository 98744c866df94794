//! Fuzz target `policy_update`: the body lives in `certpin_fuzz::policy_update`, which
//! `tests/fuzz_corpus.rs` replays over the committed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certpin_fuzz::policy_update(data));
