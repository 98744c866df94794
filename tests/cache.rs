//! The verification cache: the same answers with it on and off, an entry never
//! outlives the validity of its path or a change in pin enforcement, and a
//! rejection is never cached.

mod common;

use certpin::{flags, verify, PinResult, Policy};
use common::*;
use rcgen::date_time_ymd;

const HOST: &str = "api.example.com";

fn policies(ca: &Cert, pins: &[String], extra: &str) -> (Policy, Policy) {
    let sep = if extra.is_empty() { "" } else { ", " };
    let on = one_rule(&[HOST], &[ca], pins, extra);
    let json = format!(
        r#"{{"version": 1, "cache_size": 0, "rules": [{{"hosts": ["{HOST}"], "anchors": [{}], "pins": [{}]{sep}{extra}}}]}}"#,
        js(&ca.pem),
        pins.iter().map(|p| js(p)).collect::<Vec<_>>().join(",")
    );
    (on, Policy::from_json(json.as_bytes()).unwrap())
}

#[test]
fn same_answers_with_and_without_cache() {
    let ca = root("Root");
    let inter = intermediate("Inter", &ca);
    let other = root("Other");
    let mut p = leaf_params(&[HOST]);
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    let dated = make(p, Some(&inter), &rcgen::PKCS_ECDSA_P256_SHA256);
    let served = chain(&[&dated, &inter]);
    let foreign = chain(&[&leaf(&[HOST], &other)]);
    let (on, off) = policies(&ca, &[inter.pin()], r#""pins_expire": "2027-01-01""#);
    assert_eq!(off.cache_size(), 0);
    let times: Vec<i64> = [
        (2019, 12, 31),
        (2020, 1, 1),
        (2025, 5, 5),
        (2026, 12, 31),
        (2027, 1, 2),
        (2029, 12, 31),
        (2030, 1, 2),
    ]
    .iter()
    .map(|&(y, m, d)| date_time_ymd(y, m, d).unix_timestamp())
    .collect();
    // Walk time forwards and backwards, twice, over accepted and rejected chains.
    let order: Vec<i64> = times
        .iter()
        .chain(times.iter().rev())
        .chain(times.iter())
        .copied()
        .collect();
    for t in order {
        for (served, host) in [(&served, HOST), (&foreign, HOST), (&served, "x.example.com")] {
            let a = verify(&on, served, host, Some(t));
            let b = verify(&off, served, host, Some(t));
            assert_eq!(a.result, b.result, "at {t}: {} vs {}", a.message(), b.message());
            assert_eq!(a.flags & !flags::CACHED, b.flags, "at {t}");
            assert_eq!(b.flags & flags::CACHED, 0);
        }
    }
    assert!(on.cached_verifications() > 0);
    assert_eq!(off.cached_verifications(), 0);
}

#[test]
fn second_identical_call_is_cached() {
    let ca = root("Root");
    let l = leaf(&[HOST], &ca);
    let policy = one_rule(&[HOST], &[&ca], &[ca.pin()], "");
    let first = verify(&policy, &l.der, HOST, None);
    assert_eq!(first.flags, flags::VOUCHED | flags::NAME_VERIFIED);
    let second = verify(&policy, &l.der, HOST, None);
    assert_result(&second, PinResult::PIN_OK);
    assert_eq!(second.flags, flags::VOUCHED | flags::NAME_VERIFIED | flags::CACHED);
    // Another host is another key.
    let other_host = verify(&policy, &l.der, "API.example.com", None);
    assert_eq!(
        other_host.flags & flags::CACHED,
        flags::CACHED,
        "hosts are normalised before keying"
    );
}

#[test]
fn entry_never_outlives_the_path() {
    let ca = root("Root");
    let mut p = leaf_params(&[HOST]);
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2021, 1, 1);
    let dated = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    let inside = date_time_ymd(2020, 6, 1).unix_timestamp();
    assert_result(&verify(&policy, &dated.der, HOST, Some(inside)), PinResult::PIN_OK);
    assert_ne!(verify(&policy, &dated.der, HOST, Some(inside)).flags & flags::CACHED, 0);
    let after = date_time_ymd(2021, 1, 1).unix_timestamp() + 1;
    assert_result(
        &verify(&policy, &dated.der, HOST, Some(after)),
        PinResult::PIN_ERR_EXPIRED,
    );
    let before = date_time_ymd(2020, 1, 1).unix_timestamp() - 1;
    assert_result(
        &verify(&policy, &dated.der, HOST, Some(before)),
        PinResult::PIN_ERR_NOT_YET_VALID,
    );
}

#[test]
fn rejections_are_never_cached() {
    let ca = root("Root");
    let other = root("Other");
    let l = leaf(&[HOST], &ca);
    let policy = one_rule(&[HOST], &[&ca], &[other.pin()], "");
    for _ in 0..3 {
        let v = verify(&policy, &l.der, HOST, None);
        assert_result(&v, PinResult::PIN_ERR_PIN_MISMATCH);
        assert_eq!(v.flags & flags::CACHED, 0);
    }
    assert_eq!(policy.cached_verifications(), 0);
    let report_only = one_rule(&[HOST], &[&ca], &[other.pin()], r#""report_only": true"#);
    for _ in 0..2 {
        assert_eq!(verify(&report_only, &l.der, HOST, None).flags, flags::REPORT_ONLY);
    }
    assert_eq!(report_only.cached_verifications(), 0);
}

#[test]
fn cache_is_bounded() {
    let ca = root("Root");
    let json = format!(
        r#"{{"version": 1, "cache_size": 3, "rules": [{{"hosts": ["*"], "anchors": [{}]}}]}}"#,
        js(&ca.pem)
    );
    let policy = Policy::from_json(json.as_bytes()).unwrap();
    for i in 0..10 {
        let host = format!("h{i}.example");
        let l = leaf(&[&host], &ca);
        assert_result(&verify(&policy, &l.der, &host, None), PinResult::PIN_OK);
        assert!(policy.cached_verifications() <= 3);
    }
    assert_eq!(policy.cached_verifications(), 3);
}
