//! One policy shared by eight threads, as the C API promises: every answer
//! must equal the one a single thread gets without a cache, while the
//! policy's small cache fills, hits and evicts under contention.
//!
//! Why this test and not ThreadSanitizer on the Rust side: see SECURITY.md
//! ("Concurrency").

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use certpin::{flags, verify, PinResult, Policy};
use common::*;
use rcgen::date_time_ymd;

const THREADS: usize = 8;
const ROUNDS: usize = 400;
const CACHE_SIZE: usize = 4;

struct Case {
    chain: Vec<u8>,
    host: String,
}

fn policy_json(ca: &Cert, pins: &[String], cache_size: usize) -> String {
    let pins: Vec<String> = pins.iter().map(|p| js(p)).collect();
    format!(
        r#"{{"version": 1, "cache_size": {cache_size}, "rules": [
            {{"hosts": ["**.example.com"], "anchors": [{}], "pins": [{}]}},
            {{"hosts": ["report.example.net"], "anchors": [{}], "pins": [{}], "report_only": true}}
        ]}}"#,
        js(&ca.pem),
        pins.join(","),
        js(&ca.pem),
        js(&root("Unrelated").pin()),
    )
}

#[test]
fn one_policy_shared_by_eight_threads() {
    let ca = root("Root");
    let inter = intermediate("Inter", &ca);
    let shared = Policy::from_json(policy_json(&ca, &[inter.pin()], CACHE_SIZE).as_bytes()).unwrap();
    let uncached = Policy::from_json(policy_json(&ca, &[inter.pin()], 0).as_bytes()).unwrap();

    // Accepted chains: more distinct ones than the cache holds, so it evicts.
    let mut cases: Vec<Case> = (0..3 * CACHE_SIZE)
        .map(|i| {
            let host = format!("h{i}.example.com");
            Case {
                chain: chain(&[&leaf(&[&host], &inter), &inter]),
                host,
            }
        })
        .collect();
    // Rejected ones: unpinned CA, expired, wrong host, malformed, unlisted,
    // and a report-only rule's violation.
    let other = root("Other");
    let mut p = leaf_params(&["old.example.com"]);
    p.not_before = date_time_ymd(2000, 1, 1);
    p.not_after = date_time_ymd(2001, 1, 1);
    let expired = make(p, Some(&inter), &rcgen::PKCS_ECDSA_P256_SHA256);
    let good = &cases[0].chain.clone();
    for (chain_der, host) in [
        (leaf(&["x.example.com"], &other).der, "x.example.com"),
        (chain(&[&expired, &inter]), "old.example.com"),
        (good.clone(), "h1.example.com"),
        (good[..good.len() - 1].to_vec(), "h0.example.com"),
        (good.clone(), "unlisted.example.org"),
        (
            chain(&[&leaf(&["report.example.net"], &inter), &inter]),
            "report.example.net",
        ),
    ] {
        cases.push(Case {
            chain: chain_der,
            host: host.to_string(),
        });
    }

    let expected: Vec<(PinResult, u32)> = cases
        .iter()
        .map(|c| {
            let v = verify(&uncached, &c.chain, &c.host, None);
            (v.result, v.flags)
        })
        .collect();
    let accepted = expected
        .iter()
        .filter(|(r, f)| *r == PinResult::PIN_OK && f & flags::VOUCHED != 0);
    assert_eq!(accepted.count(), 3 * CACHE_SIZE, "{expected:?}");
    assert_eq!(
        expected.iter().filter(|(r, _)| *r != PinResult::PIN_OK).count(),
        5,
        "{expected:?}"
    );

    // The cache works at all: a repeated acceptance is answered from it.
    verify(&shared, &cases[0].chain, &cases[0].host, None);
    let again = verify(&shared, &cases[0].chain, &cases[0].host, None);
    assert_eq!(again.flags, expected[0].1 | flags::CACHED);

    let cached_answers = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (shared, cases, expected, cached_answers) = (&shared, &cases, &expected, &cached_answers);
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    // Each thread walks the cases in its own order.
                    let i = (round * (2 * t + 1) + t) % cases.len();
                    let v = verify(shared, &cases[i].chain, &cases[i].host, None);
                    if v.flags & flags::CACHED != 0 {
                        cached_answers.fetch_add(1, Ordering::Relaxed);
                    }
                    assert_eq!(
                        (v.result, v.flags & !flags::CACHED),
                        expected[i],
                        "thread {t}, round {round}, case {i} ({}): {}",
                        cases[i].host,
                        v.message()
                    );
                }
            });
        }
    });
    assert!(shared.cached_verifications() <= CACHE_SIZE);
    eprintln!(
        "{} verifications on {THREADS} threads, {} answered from the cache",
        THREADS * ROUNDS,
        cached_answers.load(Ordering::Relaxed)
    );
}
