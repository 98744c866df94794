//! Signed policy updates: what is accepted, and each way an update must never
//! be applied (a replay, an unknown signer, a changed payload, an expired
//! update, a corrupt, truncated, garbage or huge file), each with its precise
//! error. Keys are generated at test time with ring (the system's random
//! generator), certificates with rcgen; times are passed explicitly.

mod common;

use certpin::update::{self, MAX_SIGNATURES, MAX_UPDATE_BYTES};
use certpin::{verify, PinResult, Policy, PolicyError, SigningKey, TrustedKey};
use common::*;
use data_encoding::BASE64;
use serde_json::Value;

/// 2023-11-14T22:13:20Z, the time the updates are loaded at.
const NOW: i64 = 1_700_000_000;
/// 2999-01-01T00:00:00Z, their usual expiry.
const FAR: &str = "2999-01-01T00:00:00Z";
const FAR_UNIX: i64 = 32_472_144_000;

fn new_key() -> SigningKey {
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
}

/// A CA, a server under it, and a policy pinning the CA for that server.
struct World {
    root: Cert,
    served: Vec<u8>,
    policy: String,
}

fn world() -> World {
    let root = root("Update Root");
    let inter = intermediate("Update Inter", &root);
    let leaf = leaf(&["api.example.com"], &inter);
    let policy = one_rule_json(&["api.example.com"], &[&root], &[root.pin()], "");
    World {
        served: chain(&[&leaf, &inter]),
        policy,
        root,
    }
}

fn signed(sequence: u64, expires: &str, policy: &str, keys: &[&SigningKey]) -> Vec<u8> {
    let payload = update::payload(sequence, expires, policy.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    update::sign(&payload, keys)
}

fn load(file: &[u8], trusted: &[&SigningKey], min_sequence: u64, at: i64) -> Result<Policy, PolicyError> {
    let keys: Vec<TrustedKey> = trusted.iter().map(|k| k.public_key()).collect();
    Policy::from_update(file, &keys, min_sequence, Some(at))
}

#[track_caller]
fn refused(outcome: Result<Policy, PolicyError>, expected: PinResult, needles: &[&str]) -> PolicyError {
    let e = match outcome {
        Ok(p) => panic!("accepted (sequence {:?})", p.update().map(|u| u.sequence)),
        Err(e) => e,
    };
    assert_eq!(e.result, expected, "{e}");
    for n in needles {
        assert!(e.detail.contains(n), "{n:?} not in {:?}", e.detail);
    }
    e
}

/// The update file as JSON, to take apart and put together again.
fn parts(file: &[u8]) -> Value {
    serde_json::from_slice(file).unwrap()
}

fn payload_of(file: &[u8]) -> Vec<u8> {
    BASE64
        .decode(parts(file)["payload"].as_str().unwrap().as_bytes())
        .unwrap()
}

fn with_payload(file: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut doc = parts(file);
    doc["payload"] = Value::String(BASE64.encode(payload));
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn a_signed_update_loads_with_its_sequence_expiry_and_signer() {
    let w = world();
    let key = new_key();
    let file = signed(7, FAR, &w.policy, &[&key]);
    let policy = load(&file, &[&key], 6, NOW).unwrap();
    let info = policy.update().unwrap();
    assert_eq!(info.sequence, 7);
    assert_eq!(info.expires, FAR_UNIX);
    assert_eq!(info.expires_text, FAR);
    assert_eq!(info.signed_by, [key.public_key()]);
    assert_vouched(
        &verify(&policy, &w.served, "api.example.com", Some(NOW)),
        "the update's policy",
    );
    assert!(Policy::from_json(w.policy.as_bytes()).unwrap().update().is_none());
    // With `None`, now: the update expires in 2999.
    let keys = [key.public_key()];
    assert!(Policy::from_update(&file, &keys, 0, None).is_ok());
    // Any key of several trusted ones will do.
    let other = new_key();
    assert!(load(&file, &[&other, &key], 0, NOW).is_ok());
}

#[test]
fn a_replayed_or_older_update_is_never_applied() {
    let w = world();
    let key = new_key();
    let file = signed(5, FAR, &w.policy, &[&key]);
    refused(
        load(&file, &[&key], 5, NOW),
        PinResult::PIN_ERR_UPDATE_ROLLBACK,
        &["sequence 5", "min_sequence 5", "the same sequence"],
    );
    refused(
        load(&file, &[&key], 6, NOW),
        PinResult::PIN_ERR_UPDATE_ROLLBACK,
        &["sequence 5", "min_sequence 6", "older"],
    );
    refused(
        load(&file, &[&key], u64::MAX, NOW),
        PinResult::PIN_ERR_UPDATE_ROLLBACK,
        &[],
    );
    assert_eq!(load(&file, &[&key], 4, NOW).unwrap().update().unwrap().sequence, 5);
    let top = signed(u64::MAX, FAR, &w.policy, &[&key]);
    assert_eq!(
        load(&top, &[&key], u64::MAX - 1, NOW)
            .unwrap()
            .update()
            .unwrap()
            .sequence,
        u64::MAX
    );
}

#[test]
fn an_update_signed_by_an_unknown_key_is_never_applied() {
    let w = world();
    let (key, stranger) = (new_key(), new_key());
    let file = signed(1, FAR, &w.policy, &[&stranger]);
    let stranger_text = stranger.public_key().to_string();
    let key_text = key.public_key().to_string();
    refused(
        load(&file, &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &[&stranger_text, "none of which is trusted", &key_text],
    );
    // The stranger's key written into the signature entry in place of a trusted one.
    let mut doc = parts(&file);
    doc["signatures"][0]["key"] = Value::String(key_text.clone());
    refused(
        load(&serde_json::to_vec(&doc).unwrap(), &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &["does not verify", "a trusted key"],
    );
    // Signed by both: accepted for whoever trusts either, refused by whoever trusts neither.
    let both = signed(1, FAR, &w.policy, &[&stranger, &key]);
    assert_eq!(
        load(&both, &[&key], 0, NOW).unwrap().update().unwrap().signed_by,
        [key.public_key()]
    );
    assert!(load(&both, &[&stranger], 0, NOW).is_ok());
    refused(
        load(&both, &[&new_key()], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &[],
    );
}

#[test]
fn a_changed_payload_or_signature_is_never_applied() {
    let w = world();
    let key = new_key();
    let file = signed(3, FAR, &w.policy, &[&key]);
    let payload = payload_of(&file);
    // Every single bit of the payload flipped.
    for i in 0..payload.len() {
        for bit in [0x01u8, 0x80] {
            let mut changed = payload.clone();
            changed[i] ^= bit;
            refused(
                load(&with_payload(&file, &changed), &[&key], 0, NOW),
                PinResult::PIN_ERR_UPDATE_SIGNATURE,
                &["does not verify"],
            );
        }
    }
    // A higher sequence written in, with the signature left as it was.
    let text = String::from_utf8(payload.clone()).unwrap();
    let bumped = text.replacen("\"sequence\": 3", "\"sequence\": 9", 1);
    assert_ne!(bumped, text);
    refused(
        load(&with_payload(&file, bumped.as_bytes()), &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &[],
    );
    // The same policy with white space added: other bytes, so not signed.
    let spaced = format!(" {text}");
    refused(
        load(&with_payload(&file, spaced.as_bytes()), &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &[],
    );
    // A signature byte changed.
    let mut doc = parts(&file);
    let mut sig = BASE64
        .decode(doc["signatures"][0]["sig"].as_str().unwrap().as_bytes())
        .unwrap();
    sig[10] ^= 0x20;
    doc["signatures"][0]["sig"] = Value::String(BASE64.encode(&sig));
    refused(
        load(&serde_json::to_vec(&doc).unwrap(), &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &["signatures\"[0]"],
    );
    // A second, broken signature beside a good one: a corrupt file, refused.
    let other = new_key();
    let mut doc = parts(&signed(3, FAR, &w.policy, &[&key, &other]));
    doc["signatures"][1]["sig"] = Value::String(BASE64.encode(&[0u8; 64]));
    refused(
        load(&serde_json::to_vec(&doc).unwrap(), &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &["signatures\"[1]", "not trusted", "does not verify"],
    );
}

#[test]
fn an_expired_update_is_never_applied() {
    let w = world();
    let key = new_key();
    let expires = "2023-11-14T22:13:20Z"; // NOW
    let file = signed(2, expires, &w.policy, &[&key]);
    assert!(load(&file, &[&key], 0, NOW - 1).is_ok());
    refused(
        load(&file, &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_EXPIRED,
        &["expired at 2023-11-14T22:13:20Z", "sequence 2"],
    );
    refused(
        load(&file, &[&key], 0, NOW + 86_400),
        PinResult::PIN_ERR_UPDATE_EXPIRED,
        &["2023-11-15T22:13:20Z now"],
    );
    // Another spelling of an instant: an offset.
    let offset = signed(2, "2023-11-15T00:13:20+02:00", &w.policy, &[&key]);
    assert_eq!(
        load(&offset, &[&key], 0, NOW - 1).unwrap().update().unwrap().expires,
        NOW
    );
    // Before 1970 is expired too; a negative time is the caller's mistake.
    let old = signed(2, "1969-12-31T23:59:59Z", &w.policy, &[&key]);
    refused(load(&old, &[&key], 0, 0), PinResult::PIN_ERR_UPDATE_EXPIRED, &[]);
    refused(
        load(&file, &[&key], 0, -1),
        PinResult::PIN_ERR_INVALID_ARGUMENT,
        &["1970"],
    );
    // A replay is told as a replay even when it has also expired.
    refused(load(&file, &[&key], 2, NOW), PinResult::PIN_ERR_UPDATE_ROLLBACK, &[]);
}

#[test]
fn corrupt_truncated_garbage_and_huge_files_are_precise_errors() {
    let w = world();
    let key = new_key();
    let file = signed(4, FAR, &w.policy, &[&key]);
    refused(load(b"", &[&key], 0, NOW), PinResult::PIN_ERR_POLICY_SYNTAX, &["empty"]);
    // Cut anywhere before its closing brace: not JSON.
    let last_brace = file.iter().rposition(|&b| b == b'}').unwrap();
    for cut in 0..=last_brace {
        let e = load(&file[..cut], &[&key], 0, NOW).map(|_| ()).unwrap_err();
        assert_eq!(e.result, PinResult::PIN_ERR_POLICY_SYNTAX, "cut at {cut}: {e}");
        assert!(e.detail.contains("not valid JSON") || e.detail.contains("empty"), "{e}");
    }
    // The payload cut short (its base64 still well-formed): a payload that is not JSON, yet signed.
    let payload = payload_of(&file);
    let short = &payload[..payload.len() / 2];
    let file_short = update::sign(short, &[&key]);
    refused(
        load(&file_short, &[&key], 0, NOW),
        PinResult::PIN_ERR_POLICY_SYNTAX,
        &["payload is not valid JSON"],
    );
    refused(
        load(&with_payload(&file, short), &[&key], 0, NOW),
        PinResult::PIN_ERR_UPDATE_SIGNATURE,
        &[],
    );
    for garbage in [
        &b"\x00\x01\x02\xff"[..],
        b"certpin",
        b"[]",
        b"null",
        b"\xef\xbb\xbf{}",
        b"{\"certpin_update\": 1, \"payload\": \"\", \"signatures\": [{\"key\": 1}]",
    ] {
        let e = load(garbage, &[&key], 0, NOW).map(|_| ()).unwrap_err();
        assert!(
            matches!(
                e.result,
                PinResult::PIN_ERR_POLICY_SYNTAX | PinResult::PIN_ERR_POLICY_INVALID
            ),
            "{garbage:?}: {e}"
        );
    }
    let mut huge = file.clone();
    huge.resize(MAX_UPDATE_BYTES + 1, b' ');
    refused(
        load(&huge, &[&key], 0, NOW),
        PinResult::PIN_ERR_POLICY_SYNTAX,
        &[&format!("{} bytes; at most {MAX_UPDATE_BYTES}", MAX_UPDATE_BYTES + 1)],
    );
    // White space after the object is still the same update.
    let mut spaced = file.clone();
    spaced.resize(MAX_UPDATE_BYTES, b' ');
    assert!(load(&spaced, &[&key], 0, NOW).is_ok());
}

#[test]
fn unknown_and_wrong_keys_of_the_file_are_errors() {
    let w = world();
    let key = new_key();
    let file = signed(4, FAR, &w.policy, &[&key]);
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut doc = parts(&file);
        f(&mut doc);
        serde_json::to_vec(&doc).unwrap()
    };
    let cases: Vec<(Vec<u8>, PinResult, &[&str])> = vec![
        (
            edit(&|d| d["signature"] = Value::Null),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["unknown key \"signature\""],
        ),
        (
            edit(&|d| d["signatures"][0]["comment"] = "x".into()),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["\"signatures\"[0]", "unknown key \"comment\""],
        ),
        (
            edit(&|d| d["certpin_update"] = 2.into()),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["certpin_update", "version 1"],
        ),
        (
            edit(&|d| {
                d.as_object_mut().unwrap().remove("certpin_update");
            }),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["\"certpin_update\": 1 is missing"],
        ),
        (
            edit(&|d| d["payload"] = "not base64!".into()),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["\"payload\" is not base64"],
        ),
        (
            edit(&|d| d["payload"] = 5.into()),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["\"payload\" is a number"],
        ),
        (
            edit(&|d| d["signatures"] = Value::Array(vec![])),
            PinResult::PIN_ERR_UPDATE_SIGNATURE,
            &["not signed"],
        ),
        (
            edit(&|d| {
                d.as_object_mut().unwrap().remove("signatures");
            }),
            PinResult::PIN_ERR_UPDATE_SIGNATURE,
            &["not signed"],
        ),
        (
            edit(&|d| d["signatures"][0]["key"] = "sha256/AAAA".into()),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["\"key\"", "ed25519/"],
        ),
        (
            edit(&|d| d["signatures"][0]["sig"] = BASE64.encode(&[1u8; 63]).into()),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["63 bytes"],
        ),
        (
            edit(&|d| {
                let first = d["signatures"][0].clone();
                d["signatures"].as_array_mut().unwrap().push(first);
            }),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["already signed"],
        ),
        (
            edit(&|d| {
                let first = d["signatures"][0].clone();
                d["signatures"] = Value::Array(vec![first; MAX_SIGNATURES + 1]);
            }),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["at most 16"],
        ),
    ];
    for (file, expected, needles) in cases {
        refused(load(&file, &[&key], 0, NOW), expected, needles);
    }
    // A plain policy is not an update.
    refused(
        load(w.policy.as_bytes(), &[&key], 0, NOW),
        PinResult::PIN_ERR_POLICY_INVALID,
        &["\"certpin_update\": 1 is missing", "certpin update sign"],
    );
    // A key given twice in the file's object: refused, not the last one kept.
    let text = String::from_utf8(file.clone()).unwrap();
    let twice = text.replacen(
        "\"certpin_update\": 1,",
        "\"certpin_update\": 1, \"certpin_update\": 1,",
        1,
    );
    refused(
        load(twice.as_bytes(), &[&key], 0, NOW),
        PinResult::PIN_ERR_POLICY_INVALID,
        &["the update", "duplicate key \"certpin_update\"", "line 2, column"],
    );
}

#[test]
fn the_signed_payload_is_checked_like_a_policy() {
    let w = world();
    let key = new_key();
    let sign_payload = |text: &str| update::sign(text.as_bytes(), &[&key]);
    let policy = &w.policy;
    let cases: Vec<(String, PinResult, Vec<&str>)> = vec![
        (
            format!(r#"{{"sequence": 1, "expires": "{FAR}", "policy": {policy}, "note": 1}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["payload", "unknown key \"note\""],
        ),
        (
            format!(r#"{{"sequence": 1, "sequence": 2, "expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["the update's payload", "duplicate key \"sequence\""],
        ),
        (
            format!(r#"{{"sequence": 0, "expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"sequence\" is 0"],
        ),
        (
            format!(r#"{{"sequence": -1, "expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"sequence\" is -1"],
        ),
        (
            format!(r#"{{"sequence": 1.5, "expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"sequence\" is 1.5"],
        ),
        (
            format!(r#"{{"sequence": 18446744073709551616, "expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"sequence\""],
        ),
        (
            format!(r#"{{"sequence": "1", "expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"sequence\" is a string"],
        ),
        (
            format!(r#"{{"expires": "{FAR}", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"sequence\" is missing"],
        ),
        (
            format!(r#"{{"sequence": 1, "expires": "2999-01-01", "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"expires\" is \"2999-01-01\"", "RFC 3339"],
        ),
        (
            format!(r#"{{"sequence": 1, "policy": {policy}}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"expires\" is missing"],
        ),
        (
            format!(r#"{{"sequence": 1, "expires": "{FAR}"}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["\"policy\" is missing"],
        ),
        (
            format!(r#"{{"sequence": 1, "expires": "{FAR}", "policy": "{{}}"}}"#),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["the update's policy: the policy is a string"],
        ),
        (
            format!(
                r#"{{"sequence": 1, "expires": "{FAR}", "policy": {}}}"#,
                policy.replace("\"pins\"", "\"pinz\"")
            ),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["the update's policy: rule 0 (api.example.com)", "\"pinz\""],
        ),
        (
            "[1, 2]".into(),
            PinResult::PIN_ERR_POLICY_INVALID,
            vec!["payload is an array"],
        ),
        (
            "".into(),
            PinResult::PIN_ERR_POLICY_SYNTAX,
            vec!["payload is not valid JSON"],
        ),
    ];
    for (payload, expected, needles) in cases {
        refused(load(&sign_payload(&payload), &[&key], 0, NOW), expected, &needles);
    }
}

#[test]
fn anchors_of_an_update_are_inline_only() {
    let w = world();
    let key = new_key();
    let dir = std::env::temp_dir();
    let root_file = dir.join(format!("certpin-update-root-{}.pem", std::process::id()));
    std::fs::write(&root_file, &w.root.pem).unwrap();
    let path = root_file.to_str().unwrap();
    for entry in [path, "root.pem", "certs/root.pem"] {
        let policy = format!(
            r#"{{"version": 1, "rules": [{{"hosts": ["*"], "anchors": [{}]}}]}}"#,
            js(entry)
        );
        let e = update::payload(1, FAR, policy.as_bytes()).unwrap_err();
        assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID, "{e}");
        assert!(e.detail.contains(entry) && e.detail.contains("inline PEM"), "{e}");
        let text = format!(r#"{{"sequence": 1, "expires": "{FAR}", "policy": {policy}}}"#);
        refused(
            load(&update::sign(text.as_bytes(), &[&key]), &[&key], 0, NOW),
            PinResult::PIN_ERR_POLICY_INVALID,
            &["the update's policy: rule 0 (*)", entry, "inline PEM"],
        );
    }
    std::fs::remove_file(root_file).unwrap();
}

#[test]
fn the_payload_a_signer_makes_is_the_policy_text_as_written() {
    let w = world();
    let pretty = format!("\n  {}  \n", w.policy);
    let payload = update::payload(12, FAR, pretty.as_bytes()).unwrap();
    let text = String::from_utf8(payload).unwrap();
    assert_eq!(
        text,
        format!(r#"{{"sequence": 12, "expires": "{FAR}", "policy": {}}}"#, w.policy)
    );
    for (sequence, expires, policy, expected) in [
        (0, FAR, w.policy.as_str(), PinResult::PIN_ERR_POLICY_INVALID),
        (1, "tomorrow", w.policy.as_str(), PinResult::PIN_ERR_POLICY_INVALID),
        (1, FAR, "{\"version\": 1,", PinResult::PIN_ERR_POLICY_SYNTAX),
        (1, FAR, "{} {}", PinResult::PIN_ERR_POLICY_SYNTAX),
        (
            1,
            FAR,
            "{\"version\": 1, \"rules\": []}",
            PinResult::PIN_ERR_POLICY_INVALID,
        ),
    ] {
        let e = update::payload(sequence, expires, policy.as_bytes()).unwrap_err();
        assert_eq!(e.result, expected, "{sequence} {expires} {policy}: {e}");
    }
    assert_eq!(
        update::payload(1, FAR, b"\xff").unwrap_err().result,
        PinResult::PIN_ERR_POLICY_SYNTAX
    );
}

#[test]
fn trusted_keys_are_the_callers_business() {
    let w = world();
    let key = new_key();
    let file = signed(1, FAR, &w.policy, &[&key]);
    refused(
        Policy::from_update(&file, &[], 0, Some(NOW)),
        PinResult::PIN_ERR_INVALID_ARGUMENT,
        &["no trusted key"],
    );
    let many = vec![key.public_key(); 65];
    refused(
        Policy::from_update(&file, &many, 0, Some(NOW)),
        PinResult::PIN_ERR_INVALID_ARGUMENT,
        &["at most 64"],
    );
    // A key made by OpenSSL (PKCS#8 v1, the seed only) loads and signs too.
    let mut v1 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    v1.extend([9u8; 32]);
    let openssl_key = SigningKey::from_pkcs8(&v1).unwrap();
    let file = signed(1, FAR, &w.policy, &[&openssl_key]);
    assert!(load(&file, &[&openssl_key], 0, NOW).is_ok());
    assert!(SigningKey::from_pkcs8(b"not a key").is_err());
}
