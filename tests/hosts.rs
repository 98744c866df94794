//! Host forms: an IPv4-mapped IPv6 address in any spelling is the IPv4
//! address, in hosts, host patterns and subjectAltName comparison; an IPv6
//! zone id is accepted and ignored. No spelling may escape a rule.

mod common;

use certpin::{verify, PinResult, Policy};
use common::*;
use rcgen::{CidrSubnet, GeneralSubtree, NameConstraints, SanType};

const MAPPED: [&str; 5] = [
    "::ffff:10.0.0.1",
    "::FFFF:10.0.0.1",
    "::ffff:a00:1",
    "0:0:0:0:0:ffff:10.0.0.1",
    "0000:0000:0000:0000:0000:FFFF:0A00:0001",
];

fn ip_leaf(ip: &str, issuer: &Cert) -> Cert {
    let mut p = leaf_params(&[]);
    p.subject_alt_names = vec![SanType::IpAddress(ip.parse().unwrap())];
    make(p, Some(issuer), &rcgen::PKCS_ECDSA_P256_SHA256)
}

/// A strict rule for 10.0.0.1 (its own CA, pinned) beside a lax one for
/// everything else (another CA, no pins), or `unlisted_hosts: "allow"`.
#[test]
fn no_spelling_of_a_mapped_address_escapes_its_rule() {
    let strict = root("Strict Root");
    let lax = root("Lax Root");
    let rogue = ip_leaf("10.0.0.1", &lax);
    let good = ip_leaf("10.0.0.1", &strict);
    let with_star = format!(
        r#"{{"version": 1, "rules": [
            {{"hosts": ["10.0.0.1"], "anchors": [{}], "pins": ["{}"]}},
            {{"hosts": ["*"], "anchors": [{}]}}]}}"#,
        js(&strict.pem),
        strict.pin(),
        js(&lax.pem)
    );
    let with_allow = format!(
        r#"{{"version": 1, "unlisted_hosts": "allow", "rules": [
            {{"hosts": ["10.0.0.1"], "anchors": [{}], "pins": ["{}"]}}]}}"#,
        js(&strict.pem),
        strict.pin()
    );
    for json in [with_star, with_allow] {
        let policy = Policy::from_json(json.as_bytes()).unwrap();
        for host in std::iter::once("10.0.0.1").chain(MAPPED) {
            let v = verify(&policy, &rogue.der, host, None);
            assert_result(&v, PinResult::PIN_ERR_UNTRUSTED);
            assert!(v.detail.contains("rule 0 (10.0.0.1)"), "{host}: {}", v.detail);
            assert_vouched(&verify(&policy, &good.der, host, None), host);
        }
    }
}

#[test]
fn mapped_patterns_are_the_ipv4_rule() {
    let ca = root("Root");
    let good = ip_leaf("10.0.0.1", &ca);
    for pattern in MAPPED {
        let policy = one_rule(&[pattern], &[&ca], &[], "");
        assert_result(&verify(&policy, &good.der, "10.0.0.1", None), PinResult::PIN_OK);
        assert_result(
            &verify(&policy, &good.der, "10.0.0.2", None),
            PinResult::PIN_ERR_HOST_NOT_COVERED,
        );
    }
    let json = format!(
        r#"{{"version": 1, "rules": [{{"hosts": ["10.0.0.1"], "anchors": [{p}]}}, {{"hosts": ["::ffff:a00:1"], "anchors": [{p}]}}]}}"#,
        p = js(&ca.pem)
    );
    let e = Policy::from_json(json.as_bytes()).unwrap_err();
    assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID, "{e}");
    assert!(e.detail.contains("already in rule 0"), "{e}");
}

#[test]
fn mapped_subject_alt_names_match_the_ipv4_host() {
    let ca = root("Root");
    let policy = one_rule(&["*"], &[&ca], &[], "");
    let mapped_san = ip_leaf("::ffff:10.0.0.1", &ca);
    let v4_san = ip_leaf("10.0.0.1", &ca);
    for host in std::iter::once("10.0.0.1").chain(MAPPED) {
        for l in [&mapped_san, &v4_san] {
            assert_vouched(&verify(&policy, &l.der, host, None), host);
        }
        assert_result(
            &verify(&policy, &mapped_san.der, "10.0.0.2", None),
            PinResult::PIN_ERR_HOSTNAME_MISMATCH,
        );
    }
    // IPv4-compatible (::10.0.0.1) is a different address.
    assert_result(
        &verify(&policy, &v4_san.der, "::10.0.0.1", None),
        PinResult::PIN_ERR_HOSTNAME_MISMATCH,
    );
}

/// A CA excluded from 10.0.0.0/8 must not reach 10.0.0.1 through a SAN that
/// spells it as IPv4-mapped IPv6 (which its IPv4 constraint does not cover).
#[test]
fn a_mapped_san_does_not_slip_past_name_constraints() {
    let ca = root("Root");
    let mut p = ca_params("Inter, not 10/8");
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![],
        excluded_subtrees: vec![GeneralSubtree::IpAddress(CidrSubnet::V4([10, 0, 0, 0], [255, 0, 0, 0]))],
    });
    let inter = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = one_rule(&["*"], &[&ca], &[], "");
    let v4 = ip_leaf("10.0.0.1", &inter);
    assert_result(
        &verify(&policy, &chain(&[&v4, &inter]), "10.0.0.1", None),
        PinResult::PIN_ERR_BAD_USAGE,
    );
    let mapped = ip_leaf("::ffff:10.0.0.1", &inter);
    for host in std::iter::once("10.0.0.1").chain(MAPPED) {
        let v = verify(&policy, &chain(&[&mapped, &inter]), host, None);
        assert!(!v.ok(), "{host}: {}", v.message());
    }
}

#[test]
fn zone_ids_are_accepted_and_ignored() {
    let ca = root("Root");
    let l = ip_leaf("fe80::1", &ca);
    let policy = one_rule(&["fe80::1"], &[&ca], &[], "");
    for host in [
        "fe80::1",
        "fe80::1%eth0",
        "fe80::1%25eth0",
        "FE80::1%25en0",
        "fe80::1%3",
    ] {
        assert_vouched(&verify(&policy, &l.der, host, None), host);
    }
    let zoned_pattern = one_rule(&["fe80::1%25eth0"], &[&ca], &[], "");
    assert_result(&verify(&zoned_pattern, &l.der, "fe80::1%lo", None), PinResult::PIN_OK);
    for bad in ["fe80::1%", "fe80::1%eth/0", "10.0.0.1%eth0", "api.example.com%eth0"] {
        assert_result(&verify(&policy, &l.der, bad, None), PinResult::PIN_ERR_INVALID_ARGUMENT);
    }
}

/// The pinned self-signed server reached by a mapped spelling of its address,
/// with the address in its SAN or only in its CN.
#[test]
fn pinned_self_signed_server_by_a_mapped_address() {
    let mut p = openssl_style_params("10.0.0.1");
    let cn_only = make(p.clone(), None, &rcgen::PKCS_ECDSA_P256_SHA256);
    p.subject_alt_names = vec![SanType::IpAddress("::ffff:10.0.0.1".parse().unwrap())];
    let mapped_san = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    for cert in [&cn_only, &mapped_san] {
        let policy = one_rule(&["*"], &[cert], &[], "");
        for host in std::iter::once("10.0.0.1").chain(MAPPED) {
            assert_vouched(&verify(&policy, &cert.der, host, None), host);
        }
        assert_result(
            &verify(&policy, &cert.der, "10.0.0.2", None),
            PinResult::PIN_ERR_HOSTNAME_MISMATCH,
        );
    }
}
