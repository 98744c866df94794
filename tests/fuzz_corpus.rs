//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`: seeds, and
//! every input that once crashed a target) through the fuzz targets' own
//! bodies, without a fuzz engine. The bodies are `fuzz/src/lib.rs`, included
//! here as a module, so the fuzz binaries and this test run the same code.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus", dir.display());
    files
}

fn replay(target: &str, body: fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{target}: {} breaks a property", file.display());
    }
}

#[test]
fn chain_verify() {
    replay("chain_verify", targets::chain_verify);
}

#[test]
fn policy_json() {
    replay("policy_json", targets::policy_json);
}

#[test]
fn policy_pem() {
    replay("policy_pem", targets::policy_pem);
}

#[test]
fn host_rules() {
    replay("host_rules", targets::host_rules);
}

#[test]
fn policy_update() {
    replay("policy_update", targets::policy_update);
}

#[test]
fn pin_parse() {
    replay("pin_parse", targets::pin_parse);
}

/// The PKI must come out the same on every run, or the committed chains
/// would stop reaching path building and pins.
#[test]
fn corpus_still_reaches_acceptance() {
    let accepted = corpus("chain_verify")
        .iter()
        .filter(|f| targets::vouched_somewhere(&std::fs::read(f).unwrap()))
        .count();
    assert!(
        accepted >= 2,
        "only {accepted} corpus chains are accepted: the fuzzing PKI changed"
    );
}

/// The fuzzing update keys must stay the same too, or the committed updates
/// would stop reaching the payload behind their signature.
#[test]
fn update_corpus_still_verifies() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/policy_update/seed-update");
    let keys = [targets::update_keys().trusted.public_key()];
    let loaded = certpin::Policy::from_update(&std::fs::read(file).unwrap(), &keys, 0, Some(targets::AT));
    assert!(loaded.is_ok(), "the fuzzing update keys changed: {:?}", loaded.err());
}

/// Writes the seeds into `fuzz/corpus/`; run it after changing the fuzzing PKI.
#[test]
#[ignore = "writes files; run explicitly to refresh the seeds"]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, name, data) in targets::seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    }
}
