//! The signature cache: the same answers, messages and flags with it on and
//! off, on random chains and on chains changed in one byte after their
//! originals were remembered; bounded under a churn of intermediates; and
//! shared by eight threads.

mod common;

use std::sync::OnceLock;

use certpin::{verify, Policy};
use common::*;
use proptest::prelude::*;
use rcgen::date_time_ymd;

/// A PKI with several paths, algorithms and ways to fail, made once.
struct Pki {
    /// Every certificate a served chain is drawn from.
    pool: Vec<Cert>,
    /// Policies that differ only in their signature cache (the verification
    /// cache is off in both, so that every call checks signatures).
    on: Policy,
    off: Policy,
}

const HOSTS: [&str; 4] = ["a.example.com", "b.example.com", "c.example.com", "d.example.org"];

fn policy_json(anchors: &[&Cert], pins_a: &[String], pins_b: &[String], signature_cache_size: usize) -> String {
    let list = |items: Vec<String>| items.join(",");
    let anchors = list(anchors.iter().map(|a| js(&a.pem)).collect());
    format!(
        r#"{{"version": 1, "cache_size": 0, "signature_cache_size": {signature_cache_size}, "rules": [
            {{"hosts": ["a.example.com", "c.example.com"], "anchors": [{anchors}], "pins": [{}]}},
            {{"hosts": ["b.example.com"], "anchors": [{anchors}], "pins": [{}]}},
            {{"hosts": ["d.example.org"], "anchors": [{anchors}], "profile": "web"}}
        ]}}"#,
        list(pins_a.iter().map(|p| js(p)).collect()),
        list(pins_b.iter().map(|p| js(p)).collect()),
    )
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let r = root("Root");
        let other = root("Other Root");
        let p384 = make(ca_params("Inter P-384"), Some(&r), &rcgen::PKCS_ECDSA_P384_SHA384);
        let ed = make(ca_params("Inter Ed25519"), Some(&r), &rcgen::PKCS_ED25519);
        let i1 = intermediate("Inter 1", &r);
        let i2 = intermediate("Inter 2", &r);
        let deeper = intermediate("Inter 1.1", &i1);
        // Same name as Inter 1, another key, issued by a root the policy does not trust.
        let impostor = intermediate("Inter 1", &other);
        let mut p = leaf_params(&["a.example.com"]);
        p.not_before = date_time_ymd(2000, 1, 1);
        p.not_after = date_time_ymd(2001, 1, 1);
        let expired = make(p, Some(&i1), &rcgen::PKCS_ECDSA_P256_SHA256);
        let all_hosts = ["a.example.com", "b.example.com", "c.example.com", "d.example.org"];
        let mut pool = vec![
            leaf(&["a.example.com"], &i1),
            leaf(&all_hosts, &i1),
            leaf(&all_hosts, &i2),
            leaf(&["c.example.com", "d.example.org"], &deeper),
            leaf(&all_hosts, &p384),
            leaf(&all_hosts, &ed),
            leaf(&all_hosts, &impostor),
            leaf(&all_hosts, &r),
            expired,
        ];
        let (a, b) = ([i1.pin(), r.pin()], [i2.pin(), ed.pin()]);
        let on = Policy::from_json(policy_json(&[&r], &a, &b, 8).as_bytes()).unwrap();
        let off = Policy::from_json(policy_json(&[&r], &a, &b, 0).as_bytes()).unwrap();
        pool.extend([i1, i2, deeper, p384, ed, impostor, r, other]);
        Pki { pool, on, off }
    })
}

/// Verifies with the cache on and off and asserts the same verdict.
fn same_verdict(pki: &Pki, served: &[u8], host: &str, time: i64) -> Result<(), TestCaseError> {
    let a = verify(&pki.on, served, host, Some(time));
    let b = verify(&pki.off, served, host, Some(time));
    prop_assert_eq!(a.result, b.result, "{} vs {}", a.message(), b.message());
    prop_assert_eq!(a.flags, b.flags);
    prop_assert_eq!(a.message(), b.message());
    Ok(())
}

proptest! {
    #[test]
    fn same_answers_with_and_without_the_signature_cache(
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..4),
        change in proptest::option::of((any::<prop::sample::Index>(), 1..=255u8)),
        host in prop::sample::select(&HOSTS[..]),
        year in prop::sample::select(&[2000i32, 2026, 3000][..]),
    ) {
        let pki = pki();
        let certs: Vec<&Cert> = picks.iter().map(|i| &pki.pool[i.index(pki.pool.len())]).collect();
        let served = chain(&certs);
        let time = date_time_ymd(year, 6, 1).unix_timestamp();
        // The original first, so that the cache holds its signatures when
        // the changed chain comes.
        same_verdict(pki, &served, host, time)?;
        if let Some((at, flip)) = change {
            let mut changed = served.clone();
            changed[at.index(served.len())] ^= flip;
            same_verdict(pki, &changed, host, time)?;
        }
    }
}

/// Every signature a chain carries, each changed in turn after the cache
/// remembered it: never accepted, and the same answer as without the cache.
#[test]
fn a_remembered_signature_never_vouches_for_other_bytes() {
    let pki = pki();
    let (l, i1) = (&pki.pool[1], &pki.pool[9]);
    let served = chain(&[l, i1]);
    let time = date_time_ymd(2026, 6, 1).unix_timestamp();
    assert_vouched(&verify(&pki.on, &served, "a.example.com", Some(time)), "original");
    assert!(pki.on.remembered_signatures() > 0);
    for at in 0..served.len() {
        let mut changed = served.clone();
        changed[at] ^= 0x01;
        let a = verify(&pki.on, &changed, "a.example.com", Some(time));
        let b = verify(&pki.off, &changed, "a.example.com", Some(time));
        assert_eq!((a.result, a.flags), (b.result, b.flags), "byte {at}: {}", a.message());
        assert!(!a.ok(), "byte {at} changed, accepted");
    }
}

fn churn_policy(ca: &Cert, signature_cache_size: usize) -> Policy {
    let json = format!(
        r#"{{"version": 1, "cache_size": 0, "signature_cache_size": {signature_cache_size}, "rules": [{{"hosts": ["**.example.com"], "anchors": [{}]}}]}}"#,
        js(&ca.pem)
    );
    Policy::from_json(json.as_bytes()).unwrap()
}

/// More intermediates than the cache holds, one of them met all the time:
/// the cache stays within its bound and every answer is the uncached one.
#[test]
fn bounded_under_a_churn_of_intermediates() {
    let ca = root("Root");
    let on = churn_policy(&ca, 3);
    let off = churn_policy(&ca, 0);
    assert_eq!((on.signature_cache_size(), off.signature_cache_size()), (3, 0));
    let hot = intermediate("Hot", &ca);
    let chains: Vec<(Vec<u8>, String)> = (0..10)
        .map(|i| {
            let host = format!("h{i}.example.com");
            let inter = intermediate(&format!("Inter {i}"), &ca);
            let served = if i % 3 == 0 {
                // A leaf that does not belong to the intermediate sent with it.
                chain(&[&leaf(&[&host], &hot), &inter])
            } else {
                chain(&[&leaf(&[&host], &inter), &inter])
            };
            (served, host)
        })
        .collect();
    for round in 0..4 {
        for (i, (served, host)) in chains.iter().enumerate() {
            for (served, host) in [
                (served.clone(), host.as_str()),
                (chain(&[&leaf(&["hot.example.com"], &hot), &hot]), "hot.example.com"),
            ] {
                let a = verify(&on, &served, host, None);
                let b = verify(&off, &served, host, None);
                assert_eq!(
                    (a.result, a.flags),
                    (b.result, b.flags),
                    "round {round}, chain {i}: {}",
                    a.message()
                );
                assert_eq!(a.message(), b.message());
            }
            assert!(on.remembered_signatures() <= 3);
        }
    }
    assert_eq!(on.remembered_signatures(), 3);
    assert_eq!(off.remembered_signatures(), 0);
}

/// Eight threads share one policy whose signature cache is smaller than the
/// intermediates they meet, among them a changed copy of a remembered one:
/// every answer equals the one a single thread gets without the cache.
#[test]
fn one_signature_cache_shared_by_eight_threads() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 150;
    let ca = root("Root");
    let shared = churn_policy(&ca, 4);
    let off = churn_policy(&ca, 0);
    let mut inter_len = 0;
    let mut cases: Vec<(Vec<u8>, String)> = (0..6)
        .map(|i| {
            let host = format!("h{i}.example.com");
            let inter = intermediate(&format!("Inter {i}"), &ca);
            if i == 0 {
                inter_len = inter.der.len();
            }
            (chain(&[&leaf(&[&host], &inter), &inter]), host)
        })
        .collect();
    // The first chain with one byte of its intermediate's signature changed,
    // then with one byte of its body changed (the serial number, so that it
    // still parses and chains).
    let (good, host) = cases[0].clone();
    let mut bad_signature = good.clone();
    let last = bad_signature.len() - 2;
    bad_signature[last] ^= 0x40;
    let mut bad_body = good.clone();
    let inter_der = &good[good.len() - inter_len..];
    let (_, inter) = x509_parser::parse_x509_certificate(inter_der).unwrap();
    let serial = inter.tbs_certificate.raw_serial();
    let at = good.len() - inter_len + (serial.as_ptr() as usize - inter_der.as_ptr() as usize) + serial.len() - 1;
    bad_body[at] ^= 0x01;
    cases.push((bad_signature, host.clone()));
    cases.push((bad_body, host));

    let expected: Vec<(certpin::PinResult, u32, String)> = cases
        .iter()
        .map(|(served, host)| {
            let v = verify(&off, served, host, None);
            (v.result, v.flags, v.message())
        })
        .collect();
    let results: Vec<certpin::PinResult> = expected.iter().map(|e| e.0).collect();
    assert_eq!(
        &results[6..],
        [certpin::PinResult::PIN_ERR_BAD_SIGNATURE; 2],
        "{expected:?}"
    );
    assert!(
        results[..6].iter().all(|r| *r == certpin::PinResult::PIN_OK),
        "{expected:?}"
    );
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (shared, cases, expected) = (&shared, &cases, &expected);
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    let i = (round * (2 * t + 1) + t) % cases.len();
                    let (served, host) = &cases[i];
                    let v = verify(shared, served, host, None);
                    assert_eq!(
                        (v.result, v.flags, v.message()),
                        expected[i],
                        "thread {t}, round {round}, case {i}"
                    );
                }
            });
        }
    });
    assert!(shared.remembered_signatures() <= 4);
}
