//! The `certpin` binary, run as a process: pins against OpenSSL's, inspect,
//! check against the library's own verdict, lint, and fetch from TLS servers
//! on 127.0.0.1 that this test starts and that stop by themselves.
#![cfg(feature = "cli")]

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use certpin::{verify, PinResult, Policy};
use common::*;
use rcgen::PublicKeyData;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;

/// What a run of the binary gave.
struct Run {
    code: i32,
    out: String,
    err: String,
}

fn certpin(args: &[&str]) -> Run {
    certpin_env(args, &[])
}

/// Runs certpin with extra environment variables (a faked system trust store).
fn certpin_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_certpin"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the certpin binary runs");
    let run = Run {
        code: output.status.code().expect("exited, not killed"),
        out: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        err: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.err.contains("panicked") && !run.err.contains("RUST_BACKTRACE"),
        "certpin {args:?} panicked:\n{}",
        run.err
    );
    run
}

/// A fresh folder for one test's files.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

fn b64(pin: &str) -> &str {
    pin.strip_prefix("sha256/").unwrap()
}

fn has_openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("openssl is not installed: skipping the comparison with OpenSSL's pins");
    }
    found
}

/// The pin as the OpenSSL command line computes it.
fn openssl_pin(cert_pem: &str) -> String {
    let script = format!(
        "openssl x509 -pubkey -noout -in '{cert_pem}' | openssl pkey -pubin -outform der \
         | openssl dgst -sha256 -binary | base64"
    );
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn pin_prints_three_spellings_for_every_format() {
    let dir = folder("pin");
    let r = root("Pin Root");
    let i = intermediate("Pin Inter", &r);
    let l = leaf(&["api.example.com"], &i);
    let cert_pem = write(&dir, "leaf.pem", &l.pem);
    let cert_der = write(&dir, "leaf.der", &l.der);
    let chain_der = write(&dir, "chain.der", chain(&[&l, &i]));
    let mixed_pem = write(
        &dir,
        "mixed.pem",
        format!("{}{}{}", l.key.serialize_pem(), i.pem, r.key.public_key_pem()),
    );
    let spki_der = write(&dir, "key.der", r.key.subject_public_key_info());

    let run = certpin(&["pin", &cert_pem, &cert_der, &chain_der, &mixed_pem, &spki_der]);
    assert_eq!(run.code, 0, "{}", run.err);
    for (file, pin) in [(&cert_pem, l.pin()), (&cert_der, l.pin()), (&spki_der, r.pin())] {
        let b = b64(&pin);
        assert!(
            run.out.contains(&format!("{file}: "))
                && run
                    .out
                    .contains(&format!("  sha256/{b}\n  sha256//{b}\n  pin-sha256=\"{b}\"\n")),
            "{file}:\n{}",
            run.out
        );
    }
    assert!(
        run.out.contains(&format!(
            "{chain_der} #1: CN=api.example.com\n  sha256/{}",
            b64(&l.pin())
        )),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains(&format!("{chain_der} #2: CN=Pin Inter\n  sha256/{}", b64(&i.pin()))),
        "{}",
        run.out
    );
    // The private key block carries no pin: the inter and the root's public key are items 1 and 2.
    assert!(
        run.out.contains(&format!("{mixed_pem} #1: CN=Pin Inter")),
        "{}",
        run.out
    );
    assert!(
        run.out.contains(&format!(
            "{mixed_pem} #2: public key, ECDSA P-256 (256 bits)\n  sha256/{}",
            b64(&r.pin())
        )),
        "{}",
        run.out
    );
    assert!(
        run.out.contains(&format!("{spki_der}: public key, ECDSA P-256")),
        "{}",
        run.out
    );

    if has_openssl() {
        assert_eq!(openssl_pin(&cert_pem), b64(&l.pin()));
        // A certificate OpenSSL made itself, RSA, generated now.
        let rsa_pem = dir.join("rsa.pem");
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=rsa.example",
            ])
            .arg("-keyout")
            .arg(dir.join("rsa.key"))
            .arg("-out")
            .arg(&rsa_pem)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let rsa_pem = rsa_pem.to_str().unwrap();
        let expected = openssl_pin(rsa_pem);
        let run = certpin(&["pin", rsa_pem]);
        assert_eq!(run.code, 0, "{}", run.err);
        assert!(
            run.out
                .contains(&format!("rsa.pem: CN=rsa.example\n  sha256/{expected}\n")),
            "{}",
            run.out
        );
        let run = certpin(&["inspect", rsa_pem]);
        assert!(run.out.contains("Key:         RSA (2048 bits)"), "{}", run.out);
        assert!(run.out.contains("sha256WithRSAEncryption"), "{}", run.out);
    }
}

#[test]
fn pin_goes_on_after_a_bad_file_and_says_so() {
    let dir = folder("pin-bad");
    let l = openssl_style_self_signed("ok.example");
    let good = write(&dir, "good.pem", &l.pem);
    let garbage = write(&dir, "garbage.bin", b"\x30\x03abcdef");
    let empty_pem = write(&dir, "key-only.pem", l.key.serialize_pem());
    let missing = dir.join("missing.pem").to_str().unwrap().to_string();
    let run = certpin(&["pin", &missing, &garbage, &empty_pem, &good]);
    assert_eq!(run.code, 3);
    assert!(
        run.out
            .contains(&format!("good.pem: CN=ok.example\n  sha256/{}", b64(&l.pin()))),
        "{}",
        run.out
    );
    assert_eq!(run.err.lines().count(), 3, "{}", run.err);
    assert!(run.err.contains("missing.pem"), "{}", run.err);
    assert!(run.err.contains("garbage.bin: not PEM, and as DER"), "{}", run.err);
    assert!(
        run.err
            .contains("key-only.pem: holds no CERTIFICATE or PUBLIC KEY block"),
        "{}",
        run.err
    );
}

#[test]
fn inspect_describes_each_certificate() {
    let dir = folder("inspect");
    let r = root("Inspect Root");
    let mut ip = ca_params("Inspect Inter");
    ip.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let i = make(ip, Some(&r), &rcgen::PKCS_ECDSA_P384_SHA384);
    let mut lp = leaf_params(&["api.example.com", "127.0.0.1"]);
    lp.not_before = rcgen::date_time_ymd(2020, 1, 1);
    lp.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let l = make(lp, Some(&i), &rcgen::PKCS_ED25519);
    let file = write(&dir, "chain.pem", format!("{}{}", l.pem, i.pem));

    let run = certpin(&["inspect", "--at", "2030-01-11T00:00:00Z", &file]);
    assert_eq!(run.code, 0, "{}", run.err);
    let blocks: Vec<&str> = run.out.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{}", run.out);
    let leaf_block = blocks[0];
    for line in [
        "Certificate 1 of 2",
        "  Subject:     CN=api.example.com",
        "  Issuer:      CN=Inspect Inter",
        "  Not before:  2020-01-01T00:00:00Z",
        "  Not after:   2030-01-01T00:00:00Z (expired 10 days ago)",
        "  SANs:        DNS:api.example.com, IP:127.0.0.1",
        "  Key:         Ed25519 (256 bits)",
        "  Signature:   ecdsa-with-SHA384",
        "  CA:          no",
    ] {
        assert!(leaf_block.contains(line), "{line:?} missing in:\n{leaf_block}");
    }
    assert!(
        leaf_block.contains(&format!("  Pin:         {}", l.pin())),
        "{leaf_block}"
    );
    let inter_block = blocks[1];
    assert!(inter_block.contains("Certificate 2 of 2"), "{inter_block}");
    assert!(
        inter_block.contains("  Key:         ECDSA P-384 (384 bits)"),
        "{inter_block}"
    );
    assert!(
        inter_block.contains("  CA:          yes (path length 0)"),
        "{inter_block}"
    );
    assert!(inter_block.contains("  SANs:        (none)"), "{inter_block}");
    assert!(
        inter_block.contains(&format!("  Pin:         {}", i.pin())),
        "{inter_block}"
    );

    let run = certpin(&["inspect", "--at", "2029-12-01T00:00:00Z", &file]);
    assert!(run.out.contains("(expires in 31 days)"), "{}", run.out);
    let run = certpin(&["inspect", "--at", "2019-12-30T00:00:00Z", &file]);
    assert!(run.out.contains("(not valid yet: valid in 2 days)"), "{}", run.out);
}

/// A policy file for one rule.
fn policy_file(dir: &Path, name: &str, hosts: &[&str], anchors: &[&Cert], pins: &[String], extra: &str) -> String {
    let json = one_rule_json(hosts, anchors, pins, extra);
    write(dir, name, json)
}

#[test]
fn check_says_what_verify_says() {
    let dir = folder("check");
    let r = root("Check Root");
    let i = intermediate("Check Inter", &r);
    let l = leaf(&["api.example.com"], &i);
    let stranger = root("Stranger");
    let pem_chain = write(&dir, "chain.pem", format!("{}{}", l.pem, i.pem));
    let der_chain = write(&dir, "chain.der", chain(&[&l, &i]));
    let good = policy_file(
        &dir,
        "good.json",
        &["api.example.com"],
        &[&r],
        &[i.pin(), stranger.pin()],
        "",
    );
    let wrong_pin = policy_file(
        &dir,
        "wrong-pin.json",
        &["api.example.com"],
        &[&r],
        &[stranger.pin()],
        r#""report_uri": "https://reports.example.net/pins""#,
    );
    let report_only = policy_file(
        &dir,
        "report-only.json",
        &["api.example.com"],
        &[&r],
        &[stranger.pin()],
        r#""report_only": true"#,
    );

    for chain_file in [&pem_chain, &der_chain] {
        let run = certpin(&["check", "--policy", &good, "--host", "api.example.com", chain_file]);
        assert_eq!(run.code, 0, "{}{}", run.out, run.err);
        assert_eq!(run.out, "result: PIN_OK (0)\nflags:  VOUCHED|NAME_VERIFIED (3)\n");
    }

    let run = certpin(&["check", "--policy", &wrong_pin, "--host", "api.example.com", &pem_chain]);
    assert_eq!(run.code, 1);
    let policy = Policy::from_file(&wrong_pin).unwrap();
    let verdict = verify(&policy, &chain(&[&l, &i]), "api.example.com", None);
    assert_eq!(verdict.result, PinResult::PIN_ERR_PIN_MISMATCH);
    assert_eq!(
        run.out,
        format!(
            "result: PIN_ERR_PIN_MISMATCH (320)\nflags:  none (0)\n{}\n",
            verdict.message()
        )
    );
    assert!(run.out.contains(&format!("{}: CN=Check Inter", i.pin())), "{}", run.out);

    // The report the rule's report_uri would receive.
    let run = certpin(&[
        "check",
        "--policy",
        &wrong_pin,
        "--host",
        "api.example.com",
        "--port",
        "8443",
        "--report",
        &der_chain,
    ]);
    assert_eq!(run.code, 1);
    let (_, after) = run
        .out
        .split_once("report to https://reports.example.net/pins:\n")
        .expect(&run.out);
    let report: Value = serde_json::from_str(after.trim()).unwrap();
    assert_eq!(report["certpin-result"], "PIN_ERR_PIN_MISMATCH");
    assert_eq!(report["hostname"], "api.example.com");
    assert_eq!(report["port"], 8443);
    assert_eq!(report["served-certificate-chain"].as_array().unwrap().len(), 2);
    assert_eq!(
        report["known-pins"][0],
        format!("pin-sha256=\"{}\"", b64(&stranger.pin()))
    );
    let run = certpin(&[
        "check",
        "--policy",
        &good,
        "--host",
        "api.example.com",
        "--report",
        &der_chain,
    ]);
    assert_eq!(run.code, 0);
    assert!(
        run.out.ends_with("report: none (no rule rejected the chain)\n"),
        "{}",
        run.out
    );

    // Report-only: PIN_OK, the flag, and the message of the rejection it would have been.
    let run = certpin(&[
        "check",
        "--policy",
        &report_only,
        "--host",
        "api.example.com",
        &pem_chain,
    ]);
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(
        run.out
            .starts_with("result: PIN_OK (0)\nflags:  REPORT_ONLY (8)\nPIN_ERR_PIN_MISMATCH: "),
        "{}",
        run.out
    );

    // Time: the leaf is valid from 1975; before that it is not valid yet, whatever the spelling.
    for at in ["100000", "1970-01-02T03:46:40Z"] {
        let run = certpin(&[
            "check",
            "--policy",
            &good,
            "--host",
            "api.example.com",
            "--at",
            at,
            &pem_chain,
        ]);
        assert_eq!(run.code, 1);
        assert!(
            run.out.starts_with("result: PIN_ERR_NOT_YET_VALID (312)\n"),
            "{}",
            run.out
        );
    }
    let run = certpin(&["check", "--policy", &good, "--host", "other.example.com", &pem_chain]);
    assert_eq!(run.code, 1);
    assert!(
        run.out.starts_with("result: PIN_ERR_HOST_NOT_COVERED (302)\n"),
        "{}",
        run.out
    );
    let malformed = write(&dir, "malformed.der", [0x30, 0x05, 1]);
    let run = certpin(&["check", "--policy", &good, "--host", "api.example.com", &malformed]);
    assert_eq!(run.code, 1);
    assert!(
        run.out.starts_with("result: PIN_ERR_CHAIN_MALFORMED (300)\n"),
        "{}",
        run.out
    );

    // The quick PEM policy, as pin_policy_load_pem reads it.
    let ss = openssl_style_self_signed("localhost");
    let pem_policy = write(&dir, "self.pem", &ss.pem);
    let ss_chain = write(&dir, "self-chain.pem", &ss.pem);
    let run = certpin(&["check", "--policy", &pem_policy, "--host", "localhost", &ss_chain]);
    assert_eq!(run.code, 0, "{}", run.out);
}

#[test]
fn check_exit_codes_for_policy_and_usage_errors() {
    let dir = folder("check-errors");
    let ss = openssl_style_self_signed("localhost");
    let chain_file = write(&dir, "chain.pem", &ss.pem);
    let typo = write(
        &dir,
        "typo.json",
        r#"{"version": 1, "rules": [{"hosts": ["a.example"], "system_roots": true, "pinz": []}]}"#,
    );
    let run = certpin(&["check", "--policy", &typo, "--host", "a.example", &chain_file]);
    assert_eq!(run.code, 2);
    let loader = Policy::from_file(&typo).unwrap_err();
    assert_eq!(run.err, format!("certpin: {typo}: {loader}\n"));
    assert!(
        run.err.contains("PIN_ERR_POLICY_INVALID") && run.err.contains("\"pinz\""),
        "{}",
        run.err
    );
    let missing = dir.join("none.json");
    let run = certpin(&[
        "check",
        "--policy",
        missing.to_str().unwrap(),
        "--host",
        "a.example",
        &chain_file,
    ]);
    assert_eq!(run.code, 2);
    assert!(run.err.contains("PIN_ERR_POLICY_IO"), "{}", run.err);

    let pem_policy = write(&dir, "self.pem", &ss.pem);
    for args in [
        vec!["check"],
        vec!["check", "--policy", &pem_policy, &chain_file],
        vec!["check", "--policy", &pem_policy, "--host", "bad host", &chain_file],
        vec![
            "check",
            "--policy",
            &pem_policy,
            "--host",
            "localhost",
            "--at",
            "yesterday",
            &chain_file,
        ],
        vec![
            "check",
            "--policy",
            &pem_policy,
            "--host",
            "localhost",
            "--bogus",
            &chain_file,
        ],
        vec!["frobnicate"],
        vec![],
    ] {
        let run = certpin(&args);
        assert_eq!(run.code, 64, "{args:?}: {}", run.err);
        assert!(!run.err.is_empty(), "{args:?}");
    }
    let run = certpin(&[
        "check",
        "--policy",
        &pem_policy,
        "--host",
        "localhost",
        dir.join("no-chain").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.err);
}

#[test]
fn help_and_version() {
    let run = certpin(&["--version"]);
    assert_eq!(
        (run.code, run.out.as_str()),
        (0, concat!("certpin ", env!("CARGO_PKG_VERSION"), "\n"))
    );
    let run = certpin(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.out.contains("64  bad usage"), "{}", run.out);
    for sub in ["pin", "inspect", "check", "fetch", "lint", "update"] {
        let run = certpin(&[sub, "--help"]);
        assert_eq!(run.code, 0, "{sub}");
        assert!(
            run.out.contains(&format!("Example:\n  certpin {sub} ")),
            "{sub}:\n{}",
            run.out
        );
    }
}

/// Findings of `lint --json`, as (severity, check) pairs.
fn lint_json(policy: &str) -> (i32, Vec<(String, String)>, Value) {
    let run = certpin(&["lint", "--json", policy]);
    let doc: Value = serde_json::from_str(&run.out).unwrap_or_else(|e| panic!("{e}: {}", run.out));
    let pairs = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["check"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (run.code, pairs, doc)
}

fn pair(severity: &str, check: &str) -> (String, String) {
    (severity.to_string(), check.to_string())
}

#[test]
fn lint_warns_about_a_ca_anchor_that_may_sign_no_server_chain() {
    let dir = folder("lint-anchor-usage");
    let mut p = ca_params("Signing Only Root");
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let no_cert_sign = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let server = make(leaf_params(&["api.example.com"]), None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let backup = root("Backup");
    let policy = policy_file(
        &dir,
        "usage.json",
        &["api.example.com"],
        &[&no_cert_sign, &server],
        &[server.pin(), backup.pin()],
        "",
    );
    let (code, found, doc) = lint_json(&policy);
    assert_eq!(code, 1, "{doc}");
    // The pinned server certificate (not a CA) is no finding.
    assert_eq!(found, vec![pair("warning", "anchor-cannot-issue")], "{doc}");
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("CN=Signing Only Root") && message.contains("keyUsage without keyCertSign"),
        "{message}"
    );
}

#[test]
fn lint_finds_each_risk() {
    let dir = folder("lint");
    let r = root("Lint Root");
    let backup = root("Backup");
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let mut short = ca_params("Short Root");
    short.not_after = soon;
    let short_root = make(short, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let mut old = ca_params("Old Root");
    old.not_before = rcgen::date_time_ymd(2000, 1, 1);
    old.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let old_root = make(old, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let soon_date = format!("{:04}-{:02}-{:02}", soon.year(), soon.month() as u8, soon.day());

    let clean = policy_file(
        &dir,
        "clean.json",
        &["api.example.com"],
        &[&r],
        &[r.pin(), backup.pin()],
        "",
    );
    let run = certpin(&["lint", &clean]);
    assert_eq!(
        (run.code, run.out.as_str()),
        (0, format!("{clean}: 0 warnings, 0 notes\n").as_str()),
        "{}",
        run.err
    );

    let json = format!(
        r#"{{"version": 1, "unlisted_hosts": "allow", "rules": [
            {{"hosts": ["*.example.com"], "anchors": [{r}, {short}, {old}], "pins": ["{p1}"], "pins_expire": "{soon_date}",
              "report_uri": "https://reports.example.org/pins"}},
            {{"hosts": ["**.example.org"], "anchors": [{r}], "pins": ["{p1}", "{p2}"], "pins_expire": "2001-01-01"}},
            {{"hosts": ["reports.example.org"], "anchors": [{r}], "pins": ["{p1}", "{p2}"], "verify_hostname": false}},
            {{"hosts": ["*.example.net"], "anchors": [{r}], "report_only": true}},
            {{"hosts": ["example.net"], "anchors": [{r}]}}
        ]}}"#,
        r = js(&r.pem),
        short = js(&short_root.pem),
        old = js(&old_root.pem),
        p1 = r.pin(),
        p2 = backup.pin(),
    );
    let risky = write(&dir, "risky.json", json);
    let (code, found, doc) = lint_json(&risky);
    assert_eq!(code, 1, "{doc}");
    let mut expected = vec![
        pair("warning", "unlisted-allowed"),
        pair("warning", "single-pin"),
        pair("warning", "pins-expire-soon"),
        pair("warning", "anchor-expires-soon"),
        pair("warning", "anchor-expired"),
        pair("warning", "parent-uncovered"),
        pair("warning", "report-uri-pinned"),
        pair("warning", "pins-expired"),
        pair("warning", "hostname-unverified"),
        pair("note", "report-only"),
    ];
    let mut found_sorted = found.clone();
    found_sorted.sort();
    expected.sort();
    assert_eq!(found_sorted, expected, "{doc}");
    assert_eq!(doc["warnings"], 9);
    assert_eq!(doc["notes"], 1);
    let message_of = |check: &str| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check)
            .map(|f| (f["rule"].clone(), f["message"].as_str().unwrap().to_string()))
            .unwrap()
    };
    let (rule, message) = message_of("parent-uncovered");
    assert_eq!(rule, 0);
    assert!(
        message.contains("\"*.example.com\"") && message.contains("example.com itself"),
        "{message}"
    );
    let (rule, message) = message_of("report-uri-pinned");
    assert_eq!(rule, 0);
    assert!(message.contains("rule 2 (reports.example.org)"), "{message}");
    let (_, message) = message_of("anchor-expired");
    assert!(
        message.contains("CN=Old Root") && message.contains(&old_root.pin()),
        "{message}"
    );
    // "*.example.net" has example.net covered: no finding for rule 3 but its note.
    assert!(found.iter().filter(|(_, c)| c == "parent-uncovered").count() == 1);

    let run = certpin(&["lint", &risky]);
    assert_eq!(run.code, 1);
    assert!(
        run.out
            .contains("warning: [single-pin] rule 0 (*.example.com): only one pin"),
        "{}",
        run.out
    );
    assert!(
        run.out.ends_with(&format!("{risky}: 9 warnings, 1 note\n")),
        "{}",
        run.out
    );

    // A note alone leaves the policy clean.
    let noted = policy_file(
        &dir,
        "noted.json",
        &["api.example.com"],
        &[&r],
        &[],
        r#""report_only": true"#,
    );
    let (code, found, _) = lint_json(&noted);
    assert_eq!((code, found), (0, vec![pair("note", "report-only")]));

    // Errors are the loader's, exit 2.
    let broken = write(
        &dir,
        "broken.json",
        r#"{"version": 1, "rules": [{"hosts": ["a.example"], "pins": ["sha1/AAAA"]}]}"#,
    );
    let loader = Policy::from_file(&broken).unwrap_err();
    let (code, found, doc) = lint_json(&broken);
    assert_eq!(code, 2);
    assert_eq!(found, vec![pair("error", loader.result.name())]);
    assert_eq!(doc["findings"][0]["message"], loader.detail.as_str());
    let run = certpin(&["lint", &broken]);
    assert_eq!((run.code, run.err), (2, format!("certpin: {broken}: {loader}\n")));
}

/// A TLS server on 127.0.0.1 for one connection: it completes the handshake,
/// waits for the client to close, and stops. It gives up on its own when no
/// client comes.
fn tls_server(certs: &[&Cert]) -> (u16, JoinHandle<()>) {
    let chain: Vec<CertificateDer<'static>> = certs.iter().map(|c| CertificateDer::from(c.der.clone())).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certs[0].key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    serve_once(move |mut stream| {
        let mut conn = rustls::ServerConnection::new(config).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut stream).is_err() {
                return;
            }
        }
        let _ = conn.complete_io(&mut stream);
    })
}

/// Serves the certificates of `certs` but signs the handshake with `signer`'s
/// key: a server that does not hold the key of the leaf it presents.
fn impostor_server(certs: &[&Cert], signer: &Cert) -> (u16, JoinHandle<()>) {
    #[derive(Debug)]
    struct Fixed(Arc<rustls::sign::CertifiedKey>);
    impl rustls::server::ResolvesServerCert for Fixed {
        fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = certs.iter().map(|c| CertificateDer::from(c.der.clone())).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signer.key.serialize_der()));
    let signing_key = provider.key_provider.load_private_key(key).unwrap();
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    let config = Arc::new(config);
    serve_once(move |mut stream| {
        let mut conn = rustls::ServerConnection::new(config).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut stream).is_err() {
                return;
            }
        }
    })
}

/// Listens on an OS-picked port of 127.0.0.1 and hands the first connection to
/// `handle`; gives up after 30 s without one.
fn serve_once(handle: impl FnOnce(TcpStream) + Send + 'static) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    handle(stream);
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (port, thread)
}

#[test]
fn fetch_self_signed_then_rule_lint_and_check() {
    let dir = folder("fetch-self");
    let mut params = leaf_params(&["localhost", "127.0.0.1"]);
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Loopback Self-Signed");
    let ss = make(params, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let (port, server) = tls_server(&[&ss]);
    let out_file = dir.join("chain.pem");
    let target = format!("127.0.0.1:{port}");
    let run = certpin(&[
        "fetch",
        &target,
        "--out",
        out_file.to_str().unwrap(),
        "--rule",
        "--timeout",
        "20",
    ]);
    server.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        certpin::report::pem(&ss.der)
    );

    // stdout: only the policy; stderr: the chain, the anchoring note and the backup-pin reminder.
    let doc: Value = serde_json::from_str(&run.out).unwrap();
    assert_eq!(doc["rules"][0]["hosts"], serde_json::json!(["127.0.0.1"]));
    assert_eq!(doc["rules"][0]["pins"], serde_json::json!([ss.pin()]));
    assert_eq!(
        doc["rules"][0]["anchors"],
        serde_json::json!([certpin::report::pem(&ss.der)])
    );
    assert!(
        run.err.contains(&format!("Connected to 127.0.0.1:{port} (TLSv1.3")),
        "{}",
        run.err
    );
    assert!(run.err.contains("Subject:     CN=Loopback Self-Signed"), "{}", run.err);
    assert!(run.err.contains("backup pin"), "{}", run.err);
    assert!(
        run.err.contains("does not lead to a root of the system trust store"),
        "{}",
        run.err
    );

    let policy = write(&dir, "policy.json", &run.out);
    let loaded = Policy::from_file(&policy).unwrap();
    assert_eq!(loaded.rules()[0].pins().len(), 1);
    let lint = certpin(&["lint", &policy]);
    assert_eq!(lint.code, 1, "{}", lint.out);
    assert!(lint.out.contains("[single-pin]"), "{}", lint.out);
    let check = certpin(&[
        "check",
        "--policy",
        &policy,
        "--host",
        "127.0.0.1",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(check.code, 0, "{}", check.out);
    assert_eq!(check.out, "result: PIN_OK (0)\nflags:  VOUCHED|NAME_VERIFIED (3)\n");
}

#[test]
fn fetch_private_ca_chain_pins_leaf_and_intermediate() {
    let dir = folder("fetch-ca");
    let r = root("Fetch Root");
    let i = intermediate("Fetch Inter", &r);
    let l = leaf(&["localhost"], &i);
    let (port, server) = tls_server(&[&l, &i]);
    let run = certpin(&["fetch", &format!("127.0.0.1:{port}"), "--sni", "localhost"]);
    server.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(run.out.contains("the server sent 2 certificates"), "{}", run.out);
    assert!(
        run.out
            .contains("Certificate 1 of 2\n  Subject:     CN=localhost\n  Issuer:      CN=Fetch Inter"),
        "{}",
        run.out
    );
    assert!(run.out.contains(&format!("  Pin:         {}", l.pin())), "{}", run.out);
    assert!(run.out.contains(&format!("  Pin:         {}", i.pin())), "{}", run.out);

    let (port, server) = tls_server(&[&l, &i]);
    let out_file = dir.join("chain.pem");
    let run = certpin(&[
        "fetch",
        &format!("127.0.0.1:{port}"),
        "--sni",
        "localhost",
        "--rule",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    server.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.err);
    let doc: Value = serde_json::from_str(&run.out).unwrap();
    assert_eq!(doc["rules"][0]["hosts"], serde_json::json!(["localhost"]));
    assert_eq!(doc["rules"][0]["pins"], serde_json::json!([l.pin(), i.pin()]));
    let policy = write(&dir, "policy.json", &run.out);
    let check = certpin(&[
        "check",
        "--policy",
        &policy,
        "--host",
        "localhost",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(check.code, 0, "{}", check.out);
    let lint = certpin(&["lint", &policy]);
    assert_eq!(lint.code, 0, "{}", lint.out);

    // When the system store (faked here, as on Linux, by SSL_CERT_FILE) has the
    // root, the rule relies on it and pins what the server sent.
    let store = write(&dir, "store.pem", &r.pem);
    let empty_dir = dir.join("no-certs");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let env = [
        ("SSL_CERT_FILE", store.as_str()),
        ("SSL_CERT_DIR", empty_dir.to_str().unwrap()),
    ];
    let (port, server) = tls_server(&[&l, &i]);
    let run = certpin_env(
        &["fetch", &format!("127.0.0.1:{port}"), "--sni", "localhost", "--rule"],
        &env,
    );
    server.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.err);
    let doc: Value = serde_json::from_str(&run.out).unwrap();
    assert_eq!(doc["rules"][0]["system_roots"], true);
    assert_eq!(doc["rules"][0].get("anchors"), None);
    assert_eq!(doc["rules"][0]["pins"], serde_json::json!([l.pin(), i.pin()]));
    assert!(!run.err.contains("does not lead to a root"), "{}", run.err);
    let policy = write(&dir, "system.json", &run.out);
    let check = certpin_env(
        &[
            "check",
            "--policy",
            &policy,
            "--host",
            "localhost",
            out_file.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(check.code, 0, "{}", check.out);
}

#[test]
fn fetch_rule_that_cannot_accept_exits_1() {
    // The certificate names another host: the rule is printed, with the verdict that rejects it.
    let ss = openssl_style_self_signed("elsewhere.example");
    let (port, server) = tls_server(&[&ss]);
    let run = certpin(&["fetch", &format!("127.0.0.1:{port}"), "--rule"]);
    server.join().unwrap();
    assert_eq!(run.code, 1, "{}", run.err);
    assert!(serde_json::from_str::<Value>(&run.out).is_ok(), "{}", run.out);
    assert!(
        run.err
            .contains("warning: this rule does not accept the fetched chain: PIN_ERR_HOSTNAME_MISMATCH"),
        "{}",
        run.err
    );
}

#[test]
fn fetch_failures_are_one_line() {
    // A server that accepts and closes at once.
    let (port, server) = serve_once(drop);
    let run = certpin(&["fetch", &format!("127.0.0.1:{port}"), "--timeout", "20"]);
    server.join().unwrap();
    assert_eq!(run.code, 4);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    assert!(
        run.err.starts_with("certpin: TLS handshake with 127.0.0.1:"),
        "{}",
        run.err
    );
    assert!(
        run.err.contains("closed the connection") || run.err.contains("reset"),
        "{}",
        run.err
    );

    // A server that accepts and never answers: the client gives up after --timeout.
    let (port, server) = serve_once(|mut stream| {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    let run = certpin(&["fetch", &format!("127.0.0.1:{port}"), "--timeout", "1"]);
    server.join().unwrap();
    assert_eq!(run.code, 4);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    assert!(run.err.contains("no answer within 1 s"), "{}", run.err);

    // A server that presents a certificate whose key it does not hold: the
    // chain's trust does not matter to fetch, the handshake signature does.
    let shown = openssl_style_self_signed("localhost");
    let signer = openssl_style_self_signed("impostor");
    let (port, server) = impostor_server(&[&shown], &signer);
    let run = certpin(&["fetch", &format!("127.0.0.1:{port}"), "--timeout", "20"]);
    server.join().unwrap();
    assert_eq!(run.code, 4, "{}", run.out);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    assert!(
        run.err.starts_with("certpin: TLS handshake with 127.0.0.1:"),
        "{}",
        run.err
    );
    assert!(run.err.contains("signature does not verify"), "{}", run.err);
    assert!(run.out.is_empty(), "{}", run.out);

    // A port nobody listens on.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let run = certpin(&["fetch", &format!("127.0.0.1:{port}"), "--timeout", "5"]);
    assert_eq!(run.code, 4);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    assert!(
        run.err
            .starts_with(&format!("certpin: cannot connect to 127.0.0.1:{port}: ")),
        "{}",
        run.err
    );

    for bad in ["[::1", "host:99999", "a b:443"] {
        let run = certpin(&["fetch", bad]);
        assert_eq!(run.code, 64, "{bad}: {}", run.err);
    }
}

/// 2030-01-01T00:00:00Z: the time updates are signed and checked at.
const UPDATE_AT: &str = "2030-01-01T00:00:00Z";

/// The mode bits of a file.
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `certpin update keygen --out <dir>/<name>`: the key file and the public key printed.
fn keygen(dir: &Path, name: &str) -> (String, certpin::TrustedKey) {
    let path = dir.join(name).to_str().unwrap().to_string();
    let run = certpin(&["update", "keygen", "--out", &path]);
    assert_eq!(run.code, 0, "{}", run.err);
    let key = certpin::TrustedKey::parse(run.out.trim_end()).unwrap_or_else(|e| panic!("{e}: {}", run.out));
    assert_eq!(run.out, format!("{key}\n"));
    (path, key)
}

#[test]
fn update_keygen_writes_an_owner_only_key_and_never_replaces_one_unasked() {
    let dir = folder("update-keygen");
    let (path, public) = keygen(&dir, "key.pem");
    assert_eq!(mode(&path), 0o600);
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    use rustls::pki_types::pem::PemObject;
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let key = certpin::SigningKey::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    assert_eq!(key.public_key(), public);

    // An existing file is never overwritten without --force, whatever it holds.
    let run = certpin(&["update", "keygen", "--out", &path]);
    assert_eq!(run.code, 3, "{}", run.err);
    assert!(run.err.contains("--force") && run.out.is_empty(), "{}", run.err);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
    let other = write(&dir, "notes.txt", "not a key");
    assert_eq!(certpin(&["update", "keygen", "--out", &other]).code, 3);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "not a key");

    // --force replaces it with a new key, owner-only even where the old file was not.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = certpin(&["update", "keygen", "--out", &path, "--force"]);
    assert_eq!(run.code, 0, "{}", run.err);
    assert_ne!(run.out.trim_end(), public.to_string());
    assert_eq!(mode(&path), 0o600);
    assert_ne!(std::fs::read_to_string(&path).unwrap(), pem);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let missing = dir.join("no/such/folder/key.pem");
    assert_eq!(
        certpin(&["update", "keygen", "--out", missing.to_str().unwrap()]).code,
        3
    );
}

#[test]
fn update_sign_then_check_as_an_application_loads_it() {
    let dir = folder("update-sign");
    let (key_path, key) = keygen(&dir, "key.pem");
    let (other_path, other) = keygen(&dir, "other.pem");
    let r = root("Update Root");
    let i = intermediate("Update Inter", &r);
    let l = leaf(&["api.example.com"], &i);
    let policy = policy_file(&dir, "pins.json", &["api.example.com"], &[&r], &[i.pin(), r.pin()], "");
    let sign = |keys: &[&str], sequence: &str, expires: &str, policy: &str| {
        let mut args = vec![
            "update",
            "sign",
            "--at",
            UPDATE_AT,
            "--sequence",
            sequence,
            "--expires",
            expires,
        ];
        for k in keys {
            args.extend(["--key", k]);
        }
        args.push(policy);
        certpin(&args)
    };
    let run = sign(&[&key_path], "7", "2999-12-31", &policy);
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(
        run.err.contains("signed sequence 7, expires 3000-01-01T00:00:00Z") && run.err.contains(&key.to_string()),
        "{}",
        run.err
    );
    let update = write(&dir, "update.json", &run.out);
    // What was written loads in the library, the policy pinning as written.
    let loaded = Policy::from_update(run.out.as_bytes(), &[key], 6, Some(1_893_456_000)).unwrap();
    assert_eq!(loaded.update().unwrap().sequence, 7);
    assert_vouched(
        &verify(&loaded, &chain(&[&l, &i]), "api.example.com", None),
        "signed policy",
    );

    let check = |args: &[&str], file: &str| {
        let mut all = vec!["update", "check", "--at", UPDATE_AT];
        all.extend_from_slice(args);
        all.push(file);
        certpin(&all)
    };
    let key_text = key.to_string();
    let run = check(&["--trusted-key", &key_text], &update);
    assert_eq!(run.code, 0, "{}", run.err);
    for line in [
        "update:    OK (PIN_OK)",
        "sequence:  7 (above --min-sequence 0)",
        "expires:   3000-01-01T00:00:00Z (in 354",
        &format!("signed by: {key}"),
        "policy:    1 rule, unlisted_hosts \"reject\", cache_size 1024",
        "  rule 0 (api.example.com): 1 anchor, 2 pins",
    ] {
        assert!(run.out.contains(line), "{line:?} not in\n{}", run.out);
    }
    // Each refusal: exit 2 and the reason.
    let tampered = write(
        &dir,
        "tampered.json",
        run_payload_changed(&std::fs::read_to_string(&update).unwrap()),
    );
    let other_text = other.to_string();
    for (args, file, reason) in [
        (
            vec!["--trusted-key", &key_text, "--min-sequence", "7"],
            &update,
            "PIN_ERR_UPDATE_ROLLBACK: sequence 7 is not above min_sequence 7",
        ),
        (
            vec!["--trusted-key", &key_text, "--min-sequence", "9"],
            &update,
            "PIN_ERR_UPDATE_ROLLBACK",
        ),
        (vec!["--trusted-key", &other_text], &update, "PIN_ERR_UPDATE_SIGNATURE"),
        (vec!["--trusted-key", &key_text], &tampered, "PIN_ERR_UPDATE_SIGNATURE"),
        (vec!["--trusted-key", &key_text], &policy, "PIN_ERR_POLICY_INVALID"),
    ] {
        let run = check(&args, file);
        assert_eq!(run.code, 2, "{args:?}: {}", run.err);
        assert!(run.err.contains(reason) && run.out.is_empty(), "{args:?}: {}", run.err);
    }
    let run = certpin(&[
        "update",
        "check",
        "--at",
        "3000-01-01T00:00:00Z",
        "--trusted-key",
        &key_text,
        &update,
    ]);
    assert_eq!(run.code, 2);
    assert!(run.err.contains("PIN_ERR_UPDATE_EXPIRED"), "{}", run.err);
    assert_eq!(check(&["--trusted-key", "ed25519/short"], &update).code, 64);
    assert_eq!(check(&["--trusted-key", &key_text], "/nonexistent/update.json").code, 3);

    // Two signers for a key rotation: whoever trusts either applies it.
    let run = sign(&[&key_path, &other_path], "8", "2999-12-31T12:00:00Z", &policy);
    assert_eq!(run.code, 0, "{}", run.err);
    let both = write(&dir, "both.json", &run.out);
    for trusted in [&key_text, &other_text] {
        assert_eq!(check(&["--trusted-key", trusted, "--min-sequence", "7"], &both).code, 0);
    }
}

/// The update with the first character of its payload's base64 changed.
fn run_payload_changed(update: &str) -> String {
    let at = update.find("\"payload\": \"").unwrap() + "\"payload\": \"".len();
    let mut bytes = update.as_bytes().to_vec();
    bytes[at + 1] = if bytes[at + 1] == b'y' { b'z' } else { b'y' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn update_sign_refuses_what_an_application_would_refuse() {
    let dir = folder("update-refuse");
    let (key_path, _) = keygen(&dir, "key.pem");
    let r = root("Refuse Root");
    let root_file = write(&dir, "root.pem", &r.pem);
    let inline = policy_file(&dir, "inline.json", &["a.example.com"], &[&r], &[], "");
    let by_file = write(
        &dir,
        "by-file.json",
        r#"{"version": 1, "rules": [{"hosts": ["a.example.com"], "anchors": ["root.pem"]}]}"#,
    );
    let misspelt = write(
        &dir,
        "misspelt.json",
        one_rule_json(&["a.example.com"], &[&r], &[], "\"pinz\": []"),
    );
    let not_a_key = write(&dir, "not-a-key.pem", &r.pem);
    let sign = |key: &str, sequence: &str, expires: &str, policy: &str| {
        certpin(&[
            "update",
            "sign",
            "--at",
            UPDATE_AT,
            "--key",
            key,
            "--sequence",
            sequence,
            "--expires",
            expires,
            policy,
        ])
    };
    for (key, sequence, expires, policy, code, reason) in [
        (
            &key_path,
            "1",
            "2999-01-01",
            &by_file,
            2,
            "file \"root.pem\": the anchors of a signed update are inline PEM",
        ),
        (&key_path, "1", "2999-01-01", &misspelt, 2, "\"pinz\""),
        (&key_path, "1", "2999-01-01", &root_file, 2, "PIN_ERR_POLICY_SYNTAX"),
        (&key_path, "0", "2999-01-01", &inline, 64, "--sequence 0"),
        (&key_path, "1", "2029-12-31", &inline, 64, "already past"),
        (&key_path, "1", "next year", &inline, 64, "--expires"),
        (&not_a_key, "1", "2999-01-01", &inline, 3, "no PRIVATE KEY"),
        (&root_file, "1", "2999-01-01", &inline, 3, "no PRIVATE KEY"),
    ] {
        let run = sign(key, sequence, expires, policy);
        assert_eq!(run.code, code, "{policy} {sequence} {expires}: {}", run.err);
        assert!(run.err.contains(reason), "{reason:?} not in {}", run.err);
        assert!(run.out.is_empty(), "nothing signed: {}", run.out);
    }
    let missing = dir.join("absent.pem");
    let run = sign(missing.to_str().unwrap(), "1", "2999-01-01", &inline);
    assert_eq!(run.code, 3, "{}", run.err);
    // The valid policy next to them signs.
    assert_eq!(sign(&key_path, "1", "2030-01-02", &inline).code, 0);
}
