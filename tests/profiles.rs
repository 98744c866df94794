//! The `"profile"` key (DESIGN, Verification 4): `"private"` accepts what
//! hand-made private PKIs commonly have, `"web"` refuses what the Web PKI
//! forbids, and without the key the anchor of each path decides (web for a
//! system-store root, private for the rule's own anchors). Every Web PKI
//! refusal is PIN_ERR_BAD_USAGE with a message naming the certificate and
//! the rule it breaks. Certificates are generated here, at test time.

mod common;

use certpin::{verify, PinResult, Policy, Profile};
use common::*;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyUsagePurpose, SanType, SerialNumber};

const HOST: &str = "api.example.com";

/// What a test changes in the leaf, the intermediate or the root.
type Tweak = fn(&mut CertificateParams);

struct Pki {
    root: Cert,
    inter: Cert,
    leaf: Cert,
}

fn pki(root: Tweak, inter: Tweak, leaf_tweak: Tweak, names: &[&str]) -> Pki {
    let mut p = ca_params("Company Root");
    root(&mut p);
    let root = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let mut p = ca_params("Company Issuing CA");
    inter(&mut p);
    let inter = make(p, Some(&root), &rcgen::PKCS_ECDSA_P256_SHA256);
    let mut p = leaf_params(names);
    leaf_tweak(&mut p);
    let leaf = make(p, Some(&inter), &rcgen::PKCS_ECDSA_P256_SHA256);
    Pki { root, inter, leaf }
}

fn keep(_: &mut CertificateParams) {}

/// The verdict for the PKI's chain under its root as anchor, with `extra`
/// in the rule.
fn answer(pki: &Pki, host: &str, extra: &str) -> certpin::Verdict<'static> {
    let policy = Box::leak(Box::new(one_rule(&[host], &[&pki.root], &[], extra)));
    verify(policy, &chain(&[&pki.leaf, &pki.inter]), host, None)
}

#[track_caller]
fn assert_web_refuses(pki: &Pki, host: &str, needles: &[&str]) {
    for extra in ["", r#""profile": "private""#] {
        assert_result(&answer(pki, host, extra), PinResult::PIN_OK);
    }
    let v = answer(pki, host, r#""profile": "web""#);
    assert_result(&v, PinResult::PIN_ERR_BAD_USAGE);
    assert_eq!(v.flags, 0);
    assert!(v.detail.starts_with("profile \"web\": the "), "{}", v.detail);
    assert!(
        v.detail
            .contains("To fix: the chain breaks a rule of the public Web PKI"),
        "{}",
        v.detail
    );
    for needle in needles {
        assert!(v.detail.contains(needle), "{needle:?} not in {}", v.detail);
    }
}

/// A private PKI made by hand: no authority key identifiers, an underscore
/// in a host name, a serial number longer than 20 octets. "private" (and
/// the default for the rule's own anchors) accepts it; "web" does not.
#[test]
fn what_hand_made_private_pkis_have() {
    fn no_aki(p: &mut CertificateParams) {
        p.use_authority_key_identifier_extension = false;
    }
    let p = pki(no_aki, no_aki, no_aki, &[HOST]);
    assert_web_refuses(
        &p,
        HOST,
        &["the leaf \"CN=api.example.com\"", "has no authorityKeyIdentifier"],
    );
    let p = pki(no_aki, no_aki, keep, &[HOST]);
    assert_web_refuses(
        &p,
        HOST,
        &[
            "the intermediate \"CN=Company Issuing CA\"",
            "has no authorityKeyIdentifier",
        ],
    );

    let p = pki(keep, keep, keep, &["build_01.corp.example"]);
    assert_web_refuses(
        &p,
        "build_01.corp.example",
        &["the leaf \"CN=build_01.corp.example\"", "underscore"],
    );

    fn long_serial(p: &mut CertificateParams) {
        p.serial_number = Some(SerialNumber::from(vec![0x42; 25]));
    }
    let p = pki(keep, keep, long_serial, &[HOST]);
    assert_web_refuses(
        &p,
        HOST,
        &["the leaf \"CN=api.example.com\"", "serial number of 25 octets"],
    );
}

/// A 20-octet serial with its high bit set is 21 octets in DER: allowed.
#[test]
fn a_twenty_octet_serial_is_web_pki() {
    fn serial_20(p: &mut CertificateParams) {
        let mut s = vec![0x00, 0x80];
        s.extend([0x11; 19]);
        p.serial_number = Some(SerialNumber::from(s));
    }
    let p = pki(keep, keep, serial_20, &[HOST]);
    assert_result(&answer(&p, HOST, r#""profile": "web""#), PinResult::PIN_OK);
}

#[test]
fn web_pki_rules_for_leaves() {
    fn any_eku(p: &mut CertificateParams) {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::Any];
    }
    assert_web_refuses(&pki(keep, keep, any_eku, &[HOST]), HOST, &["anyExtendedKeyUsage"]);

    fn key_cert_sign(p: &mut CertificateParams) {
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    }
    assert_web_refuses(
        &pki(keep, keep, key_cert_sign, &[HOST]),
        HOST,
        &["keyCertSign without being a CA"],
    );

    fn shouting_cn(p: &mut CertificateParams) {
        p.distinguished_name.push(rcgen::DnType::CommonName, "API.Example.com");
    }
    assert_web_refuses(
        &pki(keep, keep, shouting_cn, &[HOST]),
        HOST,
        &[
            "the subject CN \"API.Example.com\"",
            "spells one of its subjectAltName values differently",
        ],
    );

    fn padded_ip_cn(p: &mut CertificateParams) {
        p.distinguished_name.push(rcgen::DnType::CommonName, "010.000.000.001");
        p.subject_alt_names = vec![SanType::IpAddress("10.0.0.1".parse().unwrap())];
    }
    assert_web_refuses(
        &pki(keep, keep, padded_ip_cn, &[]),
        "10.0.0.1",
        &["\"010.000.000.001\""],
    );

    // A CN that names a host the SAN lists too, spelled as the SAN spells
    // it, and one that names none: both Web PKI practice.
    fn other_cn(p: &mut CertificateParams) {
        p.distinguished_name.push(rcgen::DnType::CommonName, "www.example.com");
    }
    let p = pki(keep, keep, other_cn, &[HOST]);
    assert_result(&answer(&p, HOST, r#""profile": "web""#), PinResult::PIN_OK);
}

#[test]
fn web_pki_rules_for_roots() {
    fn root_eku(p: &mut CertificateParams) {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    }
    assert_web_refuses(
        &pki(root_eku, keep, keep, &[HOST]),
        HOST,
        &["the anchor \"CN=Company Root\"", "is a root with an extendedKeyUsage"],
    );
}

/// Without the key, the anchor of each path decides: a system-store root
/// gets "web", the rule's own anchor "private". The store is faked with
/// SSL_CERT_FILE, as on Linux.
#[test]
fn the_default_follows_the_anchor() {
    let public = system_pki();
    let dir = std::env::temp_dir().join(format!("certpin-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("store.pem");
    std::fs::write(&store, &public.root.pem).unwrap();
    std::env::set_var("SSL_CERT_FILE", &store);
    std::env::set_var("SSL_CERT_DIR", dir.join("none"));

    let system = |extra: &str| {
        let json = format!(r#"{{"version": 1, "rules": [{{"hosts": ["{HOST}"], "system_roots": true{extra}}}]}}"#);
        Policy::from_json(json.as_bytes()).unwrap()
    };
    let served = chain(&[&public.leaf, &public.inter]);
    let default = system("");
    let v = verify(&default, &served, HOST, None);
    assert_result(&v, PinResult::PIN_ERR_BAD_USAGE);
    assert!(
        v.detail
            .contains("profile \"web\": the leaf \"CN=api.example.com\" has no authorityKeyIdentifier"),
        "{}",
        v.detail
    );
    assert_result(
        &verify(&system(r#", "profile": "private""#), &served, HOST, None),
        PinResult::PIN_OK,
    );
    // The same chain under the same root named as the rule's own anchor.
    let own = one_rule(&[HOST], &[&public.root], &[], "");
    assert_result(&verify(&own, &served, HOST, None), PinResult::PIN_OK);
    assert_eq!(own.rules()[0].profile(), None);
    assert_eq!(system(r#", "profile": "web""#).rules()[0].profile(), Some(Profile::Web));
}

/// A chain under a "public" root whose leaf lacks an authority key
/// identifier, which the Web PKI requires.
fn system_pki() -> Pki {
    fn no_aki(p: &mut CertificateParams) {
        p.use_authority_key_identifier_extension = false;
    }
    pki(keep, keep, no_aki, &[HOST])
}

#[test]
fn profile_values() {
    let ca = root("R");
    for (value, ok) in [
        (r#""private""#, true),
        (r#""web""#, true),
        (r#""Web""#, false),
        ("1", false),
        ("null", false),
    ] {
        let json = one_rule_json(&[HOST], &[&ca], &[], &format!(r#""profile": {value}"#));
        match Policy::from_json(json.as_bytes()) {
            Ok(_) => assert!(ok, "{value} accepted"),
            Err(e) => {
                assert!(!ok, "{value}: {e}");
                assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID);
                assert!(e.detail.contains("rule 0 (api.example.com): \"profile\""), "{e}");
            }
        }
    }
}
