//! The verification table: each case asserts the exact result and flags.

mod common;

use certpin::{flags, verify, PinResult, Policy};
use common::*;
use rcgen::{date_time_ymd, ExtendedKeyUsagePurpose, IsCa};

const HOST: &str = "api.example.com";

#[test]
fn pinned_self_signed_like_openssl_req_x509() {
    let ss = openssl_style_self_signed("localhost");
    let policy = Policy::from_pem(ss.pem.as_bytes()).unwrap();
    let v = verify(&policy, &ss.der, "localhost", None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);

    let impostor = openssl_style_self_signed("localhost");
    let v = verify(&policy, &impostor.der, "localhost", None);
    assert_result(&v, PinResult::PIN_ERR_UNTRUSTED);
    assert_eq!(v.flags, 0);
    assert!(
        v.detail.contains(&impostor.pin()),
        "the message lists the served key: {}",
        v.detail
    );
}

#[test]
fn pinned_self_signed_without_san_by_another_name() {
    let ss = openssl_style_self_signed("localhost");
    let policy = Policy::from_pem(ss.pem.as_bytes()).unwrap();
    let v = verify(&policy, &ss.der, "127.0.0.1", None);
    assert_result(&v, PinResult::PIN_ERR_HOSTNAME_MISMATCH);
    assert!(
        v.detail.contains("no subjectAltName") && v.detail.contains("verify_hostname"),
        "{}",
        v.detail
    );
    let lax = one_rule(&["*"], &[&ss], &[], r#""verify_hostname": false"#);
    let v = verify(&lax, &ss.der, "127.0.0.1", None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED, "the name was not checked");
}

#[test]
fn self_signed_with_san_uses_san_only() {
    let mut p = leaf_params(&["good.example"]);
    p.distinguished_name.push(rcgen::DnType::CommonName, "other.example");
    let ss = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = Policy::from_pem(ss.pem.as_bytes()).unwrap();
    assert_result(&verify(&policy, &ss.der, "good.example", None), PinResult::PIN_OK);
    assert_result(
        &verify(&policy, &ss.der, "other.example", None),
        PinResult::PIN_ERR_HOSTNAME_MISMATCH,
    );
}

#[test]
fn pinned_self_signed_checks_validity_eku_and_pins() {
    let mut p = leaf_params(&["localhost"]);
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    let ss = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = Policy::from_pem(ss.pem.as_bytes()).unwrap();
    let at = |y: i32| date_time_ymd(y, 6, 1).unix_timestamp();
    assert_result(
        &verify(&policy, &ss.der, "localhost", Some(at(2025))),
        PinResult::PIN_OK,
    );
    assert_result(
        &verify(&policy, &ss.der, "localhost", Some(at(2031))),
        PinResult::PIN_ERR_EXPIRED,
    );
    assert_result(
        &verify(&policy, &ss.der, "localhost", Some(at(2019))),
        PinResult::PIN_ERR_NOT_YET_VALID,
    );

    let mut p = leaf_params(&["localhost"]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = Policy::from_pem(client.pem.as_bytes()).unwrap();
    assert_result(
        &verify(&policy, &client.der, "localhost", None),
        PinResult::PIN_ERR_BAD_USAGE,
    );

    let other = root("Other");
    let pinned = one_rule(&["localhost"], &[&ss], &[other.pin()], "");
    assert_result(
        &verify(&pinned, &ss.der, "localhost", Some(at(2025))),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
    let pinned = one_rule(&["localhost"], &[&ss], &[ss.pin()], "");
    assert_result(
        &verify(&pinned, &ss.der, "localhost", Some(at(2025))),
        PinResult::PIN_OK,
    );
}

#[test]
fn private_ca() {
    let ca = root("Company Root");
    let l = leaf(&[HOST], &ca);
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    let v = verify(&policy, &l.der, HOST, None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);

    let other_ca = root("Public CA");
    let foreign = leaf(&[HOST], &other_ca);
    let v = verify(&policy, &chain(&[&foreign, &other_ca]), HOST, None);
    assert_result(&v, PinResult::PIN_ERR_UNTRUSTED);
}

#[test]
fn cross_signed_intermediate_only_one_path_pinned() {
    // Two roots; the intermediate's key is certified by both. The server sends
    // the leaf, the intermediate under root A and the cross-sign under root B.
    let root_a = root("Root A");
    let root_b = root("Root B");
    let inter_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let inter_a = make_with_key(ca_params("Inter"), Some(&root_a), inter_key);
    let inter_b = make_with_key(
        ca_params("Inter"),
        Some(&root_b),
        rcgen::KeyPair::from_pem(&inter_a.key.serialize_pem()).unwrap(),
    );
    let l = leaf(&[HOST], &inter_a);
    for served in [chain(&[&l, &inter_a, &inter_b]), chain(&[&l, &inter_b, &inter_a])] {
        // Only the path through root B carries the pin.
        let policy = one_rule(&[HOST], &[&root_a, &root_b], &[root_b.pin()], "");
        assert_result(&verify(&policy, &served, HOST, None), PinResult::PIN_OK);
        let policy = one_rule(&[HOST], &[&root_a, &root_b], &[root_a.pin()], "");
        assert_result(&verify(&policy, &served, HOST, None), PinResult::PIN_OK);
    }
    let unrelated = root("Unrelated");
    let policy = one_rule(&[HOST], &[&root_a, &root_b], &[unrelated.pin()], "");
    assert_result(
        &verify(&policy, &chain(&[&l, &inter_a, &inter_b]), HOST, None),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
}

#[test]
fn rejections_each_have_their_code() {
    let ca = root("Root");
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    let at = |y: i32| date_time_ymd(y, 6, 1).unix_timestamp();

    let mut p = leaf_params(&[HOST]);
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2021, 1, 1);
    let dated = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    assert_result(
        &verify(&policy, &dated.der, HOST, Some(at(2022))),
        PinResult::PIN_ERR_EXPIRED,
    );
    assert_result(
        &verify(&policy, &dated.der, HOST, Some(at(2019))),
        PinResult::PIN_ERR_NOT_YET_VALID,
    );
    assert_result(&verify(&policy, &dated.der, HOST, Some(at(2020))), PinResult::PIN_OK);

    let l = leaf(&[HOST], &ca);
    let wrong = one_rule(&["wrong.example.com"], &[&ca], &[], "");
    let v = verify(&wrong, &l.der, "wrong.example.com", None);
    assert_result(&v, PinResult::PIN_ERR_HOSTNAME_MISMATCH);
    assert_eq!(v.flags, 0);

    let mut p = leaf_params(&[HOST]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_only = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    assert_result(
        &verify(&policy, &client_only.der, HOST, None),
        PinResult::PIN_ERR_BAD_USAGE,
    );

    let mut p = ca_params("CA as leaf");
    p.subject_alt_names = vec![rcgen::SanType::DnsName(HOST.try_into().unwrap())];
    let ca_leaf = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    assert_result(&verify(&policy, &ca_leaf.der, HOST, None), PinResult::PIN_ERR_BAD_USAGE);

    let mut p = ca_params("Not a CA");
    p.is_ca = IsCa::ExplicitNoCa;
    let not_ca = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    let under_not_ca = leaf(&[HOST], &not_ca);
    assert_result(
        &verify(&policy, &chain(&[&under_not_ca, &not_ca]), HOST, None),
        PinResult::PIN_ERR_BAD_USAGE,
    );

    let mut bad_sig = l.der.clone();
    let n = bad_sig.len();
    bad_sig[n - 2] ^= 0x01;
    assert_result(&verify(&policy, &bad_sig, HOST, None), PinResult::PIN_ERR_BAD_SIGNATURE);
}

#[test]
fn cve_2016_2402_pinned_intermediate_appended() {
    let dir = system_store();
    let _ = dir;
    let public_root = &system_cas().0;
    let pinned_inter = intermediate("Pinned Inter", public_root);
    let good = leaf(&[HOST], &pinned_inter);
    let policy = Policy::from_json(
        format!(
            r#"{{"version": 1, "rules": [{{"hosts": ["{HOST}"], "system_roots": true, "pins": ["{}"]}}]}}"#,
            pinned_inter.pin()
        )
        .as_bytes(),
    )
    .unwrap();
    assert_result(
        &verify(&policy, &chain(&[&good, &pinned_inter]), HOST, None),
        PinResult::PIN_OK,
    );

    let rogue_root = &system_cas().1;
    let rogue_inter = intermediate("Rogue Inter", rogue_root);
    let attack = leaf(&[HOST], &rogue_inter);
    let v = verify(&policy, &chain(&[&attack, &rogue_inter, &pinned_inter]), HOST, None);
    assert_result(&v, PinResult::PIN_ERR_PIN_MISMATCH);
    assert!(
        v.detail.contains(&pinned_inter.pin()),
        "expected pins listed: {}",
        v.detail
    );
    assert!(
        v.detail.contains("CN=Rogue Root"),
        "the unsent anchor is shown: {}",
        v.detail
    );
}

#[test]
fn system_store_is_not_trusted_unless_asked() {
    system_store();
    let public_root = &system_cas().0;
    let l = leaf(&[HOST], public_root);
    let company = root("Company");
    let policy = one_rule(&[HOST], &[&company], &[], "");
    assert_result(&verify(&policy, &l.der, HOST, None), PinResult::PIN_ERR_UNTRUSTED);
    let policy = one_rule(&[HOST], &[&company], &[], r#""system_roots": true"#);
    assert_result(&verify(&policy, &l.der, HOST, None), PinResult::PIN_OK);
}

#[test]
fn pins_expire() {
    let ca = root("Root");
    let l = leaf(&[HOST], &ca);
    let other = root("Other");
    let policy = one_rule(&[HOST], &[&ca], &[other.pin()], r#""pins_expire": "2030-06-30""#);
    let t = |s: &str| time_of(s);
    assert_result(
        &verify(&policy, &l.der, HOST, Some(t("2030-06-30T23:59:59Z"))),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
    assert_result(
        &verify(&policy, &l.der, HOST, Some(t("2030-07-01T00:00:00Z"))),
        PinResult::PIN_OK,
    );
    // Trust still holds after the pins expire.
    let foreign = leaf(&[HOST], &other);
    assert_result(
        &verify(&policy, &foreign.der, HOST, Some(t("2031-01-01T00:00:00Z"))),
        PinResult::PIN_ERR_UNTRUSTED,
    );
    let instant = one_rule(
        &[HOST],
        &[&ca],
        &[other.pin()],
        r#""pins_expire": "2030-06-30T12:00:00+02:00""#,
    );
    assert_result(
        &verify(&instant, &l.der, HOST, Some(t("2030-06-30T10:00:00Z"))),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
    assert_result(
        &verify(&instant, &l.der, HOST, Some(t("2030-06-30T10:00:01Z"))),
        PinResult::PIN_OK,
    );
}

#[test]
fn pins_expire_on_the_last_day_time_can_write() {
    let ca = root("Root");
    let l = leaf(&[HOST], &ca);
    let other = root("Other");
    for date in ["9999-12-31", "9999-12-31T23:59:59Z"] {
        let policy = one_rule(&[HOST], &[&ca], &[other.pin()], &format!(r#""pins_expire": "{date}""#));
        assert_eq!(
            policy.rules()[0].pins_expire().unwrap().last_enforced,
            time_of("9999-12-31T23:59:59Z"),
            "{date}"
        );
        assert_result(
            &verify(&policy, &l.der, HOST, Some(time_of("4000-01-01T00:00:00Z"))),
            PinResult::PIN_ERR_PIN_MISMATCH,
        );
    }
}

#[test]
fn okhttp_pins_that_start_with_a_slash() {
    let ca = root("Root");
    let l = leaf(&[HOST], &ca);
    // Generate keys until one's pin starts with '/', so the OkHttp spelling reads like curl's.
    let slashed = (0..5000)
        .map(|_| root("Slash"))
        .find(|c| c.pin().starts_with("sha256//"))
        .expect("about one key in 64 has a pin starting with '/'");
    let policy = one_rule(&[HOST], &[&ca, &slashed], &[slashed.pin()], "");
    assert_eq!(policy.rules()[0].pins()[0].to_string(), slashed.pin());
    let under = leaf(&[HOST], &slashed);
    assert_result(&verify(&policy, &under.der, HOST, None), PinResult::PIN_OK);
    assert_result(&verify(&policy, &l.der, HOST, None), PinResult::PIN_ERR_PIN_MISMATCH);
}

#[test]
fn report_only_rule() {
    let ca = root("Root");
    let other = root("Other");
    let l = leaf(&[HOST], &ca);
    let policy = one_rule(&[HOST], &[&ca], &[other.pin()], r#""report_only": true"#);
    let v = verify(&policy, &l.der, HOST, None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::REPORT_ONLY, "never VOUCHED for a report-only violation");
    assert!(v.message().starts_with("PIN_ERR_PIN_MISMATCH: "), "{}", v.message());
    let violation = v.violation.expect("a violation to report");
    assert_eq!(violation.result, PinResult::PIN_ERR_PIN_MISMATCH);
    assert_eq!(violation.served, vec![l.der.clone()]);
    assert_eq!(violation.validated, vec![l.der.clone(), ca.der.clone()]);
    let good = one_rule(&[HOST], &[&ca], &[ca.pin()], r#""report_only": true"#);
    let v = verify(&good, &l.der, HOST, None);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);
    assert!(v.violation.is_none());
}

#[test]
fn unlisted_hosts() {
    let ca = root("Root");
    let l = leaf(&["other.example"], &ca);
    let strict = one_rule(&[HOST], &[&ca], &[], "");
    let v = verify(&strict, &l.der, "other.example", None);
    assert_result(&v, PinResult::PIN_ERR_HOST_NOT_COVERED);
    let allow = Policy::from_json(
        format!(
            r#"{{"version": 1, "unlisted_hosts": "allow", "rules": [{{"hosts": ["{HOST}"], "anchors": [{}]}}]}}"#,
            js(&ca.pem)
        )
        .as_bytes(),
    )
    .unwrap();
    let impostor = openssl_style_self_signed("other.example");
    let v = verify(&allow, &impostor.der, "other.example", None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::UNLISTED, "PIN_OK but never VOUCHED");
}

#[test]
fn host_patterns_select_rules() {
    let a = root("A");
    let b = root("B");
    let json = format!(
        r#"{{"version": 1, "rules": [
            {{"hosts": ["api.example.com"], "anchors": [{a}]}},
            {{"hosts": ["*.example.com"], "anchors": [{b}]}},
            {{"hosts": ["**.example.org", "10.1.2.3", "2001:DB8::1"], "anchors": [{a}]}},
            {{"hosts": ["*"], "anchors": [{b}]}}]}}"#,
        a = js(&a.pem),
        b = js(&b.pem)
    );
    let policy = Policy::from_json(json.as_bytes()).unwrap();
    for (host, under_a) in [
        ("api.example.com", true),
        ("API.EXAMPLE.COM.", true),
        ("www.example.com", false),
        ("example.org", true),
        ("x.y.example.org", true),
        ("x.y.example.com", false),
        ("10.1.2.3", true),
        ("2001:db8:0::1", true),
        ("10.1.2.4", false),
    ] {
        let issuer = if under_a { &a } else { &b };
        let other = if under_a { &b } else { &a };
        let good = leaf(&[host.trim_end_matches('.')], issuer);
        let bad = leaf(&[host.trim_end_matches('.')], other);
        assert_result(&verify(&policy, &good.der, host, None), PinResult::PIN_OK);
        assert_result(&verify(&policy, &bad.der, host, None), PinResult::PIN_ERR_UNTRUSTED);
    }
}

#[test]
fn bad_arguments() {
    let ss = openssl_style_self_signed("localhost");
    let policy = Policy::from_pem(ss.pem.as_bytes()).unwrap();
    for host in ["", "bücher.example", "[::1]", &"a".repeat(300), "a b"] {
        assert_result(
            &verify(&policy, &ss.der, host, None),
            PinResult::PIN_ERR_INVALID_ARGUMENT,
        );
    }
    assert_result(&verify(&policy, &[], "localhost", None), PinResult::PIN_ERR_CHAIN_EMPTY);
    assert_result(
        &verify(&policy, &ss.der[..ss.der.len() - 1], "localhost", None),
        PinResult::PIN_ERR_CHAIN_MALFORMED,
    );
    let mut trailing = ss.der.clone();
    trailing.push(0);
    assert_result(
        &verify(&policy, &trailing, "localhost", None),
        PinResult::PIN_ERR_CHAIN_MALFORMED,
    );
    assert_result(
        &verify(&policy, &ss.der, "localhost", Some(-1)),
        PinResult::PIN_ERR_INVALID_ARGUMENT,
    );
    assert_result(
        &verify(&policy, &[0x30, 0x03, 1, 2, 3], "localhost", None),
        PinResult::PIN_ERR_CHAIN_MALFORMED,
    );
}

fn time_of(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// Two CAs the fake system store trusts: a public CA and a rogue but trusted one.
fn system_cas() -> &'static (Cert, Cert) {
    static CAS: std::sync::OnceLock<(Cert, Cert)> = std::sync::OnceLock::new();
    CAS.get_or_init(|| (root("Public Root"), root("Rogue Root")))
}

/// Points the system store at a file holding [`system_cas`], once per process
/// and before the store is first loaded.
fn system_store() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let (a, b) = system_cas();
        let path = std::env::temp_dir().join(format!("certpin-system-{}.pem", std::process::id()));
        std::fs::write(&path, format!("{}{}", a.pem, b.pem)).unwrap();
        std::env::set_var("SSL_CERT_FILE", &path);
        std::env::remove_var("SSL_CERT_DIR");
        path
    })
}

#[test]
fn cn_fallback_wildcards_as_qt() {
    for (cn, host, ok) in [
        ("*.example.com", "www.example.com", true),
        ("*.example.com", "a.b.example.com", false),
        ("*.example.com", "example.com", false),
        ("*.com", "example.com", false),
        ("LocalHost", "localhost", true),
    ] {
        let ss = openssl_style_self_signed(cn);
        let policy = Policy::from_pem(ss.pem.as_bytes()).unwrap();
        let expected = if ok {
            PinResult::PIN_OK
        } else {
            PinResult::PIN_ERR_HOSTNAME_MISMATCH
        };
        assert_result(&verify(&policy, &ss.der, host, None), expected);
    }
}

#[test]
fn leaf_key_algorithms() {
    let ca = root("Root");
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ] {
        let l = make(leaf_params(&[HOST]), Some(&ca), alg);
        assert_result(&verify(&policy, &l.der, HOST, None), PinResult::PIN_OK);
    }
}
