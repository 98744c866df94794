//! An anchor's own constraints (DESIGN, Verification 4): validity,
//! pathLenConstraint, keyUsage, EKU and unknown critical extensions apply to
//! every validated path that ends at it, and an anchor that is not a CA is
//! trusted only as the byte-identical leaf. Each case asserts the exact code
//! and that the message names the anchor; certificates are generated here.

mod common;

use certpin::{flags, verify, PinResult};
use common::*;
use rcgen::{BasicConstraints, CustomExtension, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

const HOST: &str = "api.example.com";

fn time_of(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

fn date(y: i32, m: u8, d: u8) -> time::OffsetDateTime {
    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
        .unwrap()
        .midnight()
        .assume_utc()
}

/// Asserts a rejection with `code` whose message names `anchor` and says `what`.
#[track_caller]
fn assert_refused(v: &certpin::Verdict<'_>, code: PinResult, anchor: &str, what: &str) {
    assert_result(v, code);
    assert_eq!(v.flags, 0);
    assert!(
        v.detail.contains(&format!("the anchor \"CN={anchor}\"")),
        "{}",
        v.detail
    );
    assert!(v.detail.contains(what), "{what:?} not in {}", v.detail);
    assert!(v.detail.contains("To fix: replace the anchor"), "{}", v.detail);
}

#[test]
fn an_expired_or_not_yet_valid_anchor_vouches_for_no_one() {
    let now = time_of("2030-06-01T00:00:00Z");
    for (from, until, code, what) in [
        (
            date(2020, 1, 1),
            date(2030, 5, 2),
            PinResult::PIN_ERR_EXPIRED,
            "expired at 2030-05-02T00:00:00Z",
        ),
        (
            date(2030, 7, 1),
            date(2040, 1, 1),
            PinResult::PIN_ERR_NOT_YET_VALID,
            "valid only from 2030-07-01",
        ),
    ] {
        let mut p = ca_params("Company Root");
        p.not_before = from;
        p.not_after = until;
        let ca = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
        let inter = intermediate("Company Inter", &ca);
        let l = leaf(&[HOST], &inter);
        let policy = one_rule(&[HOST], &[&ca], &[], "");
        let v = verify(&policy, &chain(&[&l, &inter]), HOST, Some(now));
        assert_refused(&v, code, "Company Root", what);
        // Inside its validity the same chain passes.
        let inside = time_of("2030-05-01T00:00:00Z").max(from.unix_timestamp() + 86_400);
        assert_result(
            &verify(&policy, &chain(&[&l, &inter]), HOST, Some(inside)),
            PinResult::PIN_OK,
        );
    }
}

/// A pinned `openssl req -x509` server certificate (CA:TRUE) that expired:
/// refused itself, and a fresh leaf minted with its key is refused too.
#[test]
fn an_expired_pinned_self_signed_server_cannot_mint_fresh_leaves() {
    let mut p = openssl_style_params(HOST);
    p.not_before = date(2020, 1, 1);
    p.not_after = date(2025, 1, 1);
    let pinned = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = one_rule(&[HOST], &[&pinned], &[pinned.pin()], "");
    let now = Some(time_of("2026-01-01T00:00:00Z"));
    assert_result(&verify(&policy, &pinned.der, HOST, now), PinResult::PIN_ERR_EXPIRED);
    let minted = leaf(&["www.example.com", HOST], &pinned);
    let v = verify(&policy, &minted.der, HOST, now);
    assert_refused(&v, PinResult::PIN_ERR_EXPIRED, HOST, "expired at 2025-01-01T00:00:00Z");
    // While it was valid, both were accepted: that is what pinning it means.
    let then = Some(time_of("2024-01-01T00:00:00Z"));
    assert_result(&verify(&policy, &pinned.der, HOST, then), PinResult::PIN_OK);
    assert_result(&verify(&policy, &minted.der, HOST, then), PinResult::PIN_OK);
}

#[test]
fn the_anchors_path_length_constraint_bounds_the_intermediates() {
    for limit in [0u8, 1] {
        let mut p = ca_params("Root");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(limit));
        let ca = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
        let policy = one_rule(&[HOST], &[&ca], &[], "");
        let direct = leaf(&[HOST], &ca);
        assert_result(&verify(&policy, &direct.der, HOST, None), PinResult::PIN_OK);
        let inter = intermediate("Inter", &ca);
        let one = leaf(&[HOST], &inter);
        let v = verify(&policy, &chain(&[&one, &inter]), HOST, None);
        if limit == 0 {
            assert_refused(
                &v,
                PinResult::PIN_ERR_BAD_USAGE,
                "Root",
                "pathLenConstraint 0, and the path has 1 intermediate(s)",
            );
        } else {
            assert_result(&v, PinResult::PIN_OK);
            let inter2 = intermediate("Inter 2", &inter);
            let two = leaf(&[HOST], &inter2);
            let v = verify(&policy, &chain(&[&two, &inter2, &inter]), HOST, None);
            assert_refused(
                &v,
                PinResult::PIN_ERR_BAD_USAGE,
                "Root",
                "pathLenConstraint 1, and the path has 2",
            );
        }
    }
}

/// RFC 5280 6.1.4 (l): a self-issued intermediate (the root's own key
/// rollover) does not count against the anchor's pathLenConstraint.
#[test]
fn a_self_issued_intermediate_does_not_count() {
    let mut p = ca_params("Root");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca = make(p.clone(), None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let rollover = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    let l = leaf(&[HOST], &rollover);
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    assert_result(
        &verify(&policy, &chain(&[&l, &rollover]), HOST, None),
        PinResult::PIN_OK,
    );
}

#[test]
fn the_anchors_key_usage_must_allow_signing_certificates() {
    for (usages, ok) in [
        (vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign], false),
        (vec![KeyUsagePurpose::KeyCertSign], true),
        (vec![], true),
    ] {
        let mut p = ca_params("Root");
        p.key_usages = usages;
        let ca = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
        let l = leaf(&[HOST], &ca);
        let policy = one_rule(&[HOST], &[&ca], &[], "");
        let v = verify(&policy, &l.der, HOST, None);
        if ok {
            assert_result(&v, PinResult::PIN_OK);
        } else {
            assert_refused(&v, PinResult::PIN_ERR_BAD_USAGE, "Root", "keyUsage without keyCertSign");
        }
    }
}

#[test]
fn the_anchors_eku_must_allow_server_auth() {
    for (ekus, ok) in [
        (vec![ExtendedKeyUsagePurpose::ClientAuth], false),
        (
            vec![
                ExtendedKeyUsagePurpose::CodeSigning,
                ExtendedKeyUsagePurpose::EmailProtection,
            ],
            false,
        ),
        (
            vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth],
            true,
        ),
        (vec![ExtendedKeyUsagePurpose::Any], true),
    ] {
        let mut p = ca_params("Root");
        p.extended_key_usages = ekus.clone();
        let ca = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
        let l = leaf(&[HOST], &ca);
        let policy = one_rule(&[HOST], &[&ca], &[], "");
        let v = verify(&policy, &l.der, HOST, None);
        if ok {
            assert_result(&v, PinResult::PIN_OK);
        } else {
            assert_refused(
                &v,
                PinResult::PIN_ERR_BAD_USAGE,
                "Root",
                "extendedKeyUsage without serverAuth",
            );
        }
    }
}

#[test]
fn an_anchor_with_an_unknown_critical_extension_vouches_for_no_one() {
    let mut p = ca_params("Root");
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55738, 666, 1], vec![0x05, 0x00]);
    ext.set_criticality(true);
    p.custom_extensions = vec![ext];
    let ca = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let l = leaf(&[HOST], &ca);
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    let v = verify(&policy, &l.der, HOST, None);
    assert_refused(
        &v,
        PinResult::PIN_ERR_BAD_USAGE,
        "Root",
        "unknown critical extension 1.3.6.1.4.1.55738.666.1",
    );
}

/// A server certificate pinned as such (CA:FALSE, or no basicConstraints) is
/// trusted as exactly itself, never as the issuer of another certificate,
/// whatever key signed that one.
#[test]
fn a_pinned_server_certificate_is_no_issuer() {
    for is_ca in [IsCa::ExplicitNoCa, IsCa::NoCa] {
        let mut p = leaf_params(&[HOST]);
        p.is_ca = is_ca;
        let server = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
        let policy = one_rule(&[HOST], &[&server], &[], "");
        let v = verify(&policy, &server.der, HOST, None);
        assert_result(&v, PinResult::PIN_OK);
        assert_eq!(v.flags & !flags::CACHED, flags::VOUCHED | flags::NAME_VERIFIED);
        // Another leaf, signed with the pinned certificate's own key.
        let minted = leaf(&["other.example.com", HOST], &server);
        let v = verify(&policy, &minted.der, HOST, None);
        assert_refused(&v, PinResult::PIN_ERR_BAD_USAGE, HOST, "is not a CA");
        // And one that only claims it as issuer, signed with another key.
        let forger = make(leaf_params(&[HOST]), None, &rcgen::PKCS_ECDSA_P256_SHA256);
        let forged = leaf(&["www.example.com", HOST], &forger);
        assert_result(
            &verify(&policy, &forged.der, HOST, None),
            PinResult::PIN_ERR_BAD_SIGNATURE,
        );
    }
}

/// Path building goes on past an anchor that breaks its constraints: an
/// expired cross-signed copy of a root beside the valid self-signed one.
#[test]
fn an_expired_cross_signed_root_beside_the_valid_one() {
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let reissue = |key: &KeyPair| KeyPair::from_pem(&key.serialize_pem()).unwrap();
    let valid = make_with_key(ca_params("Root"), None, reissue(&root_key));
    let old_ca = root("Old Root");
    let mut p = ca_params("Root");
    p.not_before = date(2010, 1, 1);
    p.not_after = date(2020, 1, 1);
    let cross = make_with_key(p, Some(&old_ca), reissue(&root_key));
    let l = leaf(&[HOST], &valid);
    // The expired copy comes first, so webpki tries it first.
    let policy = one_rule(&[HOST], &[&cross, &valid], &[], "");
    assert_result(&verify(&policy, &l.der, HOST, None), PinResult::PIN_OK);
    let only_cross = one_rule(&[HOST], &[&cross], &[], "");
    let v = verify(&only_cross, &l.der, HOST, None);
    assert_refused(
        &v,
        PinResult::PIN_ERR_EXPIRED,
        "Root",
        "expired at 2020-01-01T00:00:00Z",
    );

    // The same with the choice among served intermediates: an intermediate
    // cross-signed by an expired root and by a valid one.
    let expired_root = {
        let mut p = ca_params("Expired Root");
        p.not_before = date(2010, 1, 1);
        p.not_after = date(2020, 1, 1);
        make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256)
    };
    let new_root = root("New Root");
    let inter_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let by_expired = make_with_key(ca_params("Inter"), Some(&expired_root), reissue(&inter_key));
    let by_new = make_with_key(ca_params("Inter"), Some(&new_root), reissue(&inter_key));
    let l = leaf(&[HOST], &by_new);
    let policy = one_rule(&[HOST], &[&expired_root, &new_root], &[], "");
    assert_result(
        &verify(&policy, &chain(&[&l, &by_expired, &by_new]), HOST, None),
        PinResult::PIN_OK,
    );
    let v = verify(&policy, &chain(&[&l, &by_expired]), HOST, None);
    assert_refused(&v, PinResult::PIN_ERR_EXPIRED, "Expired Root", "expired at 2020-01-01");
    // A pin on the expired root's key never makes its path valid.
    let pinned = one_rule(&[HOST], &[&expired_root, &new_root], &[expired_root.pin()], "");
    assert_result(
        &verify(&pinned, &chain(&[&l, &by_expired, &by_new]), HOST, None),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
}

/// What certpin exists for still passes: a pinned `openssl req -x509` server
/// (CA:TRUE, no SAN, no EKU), and a company CA with intermediates.
#[test]
fn the_cases_certpin_exists_for() {
    let pinned = openssl_style_self_signed(HOST);
    let policy = one_rule(&[HOST], &[&pinned], &[pinned.pin()], "");
    let v = verify(&policy, &pinned.der, HOST, None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);

    let ca = root("Company Root");
    let inter = intermediate("Company Issuing CA", &ca);
    let l = leaf(&[HOST], &inter);
    let policy = one_rule(&[HOST], &[&ca], &[inter.pin()], "");
    let v = verify(&policy, &chain(&[&l, &inter]), HOST, None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);
}
