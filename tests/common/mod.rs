//! A small PKI for tests: every certificate is generated at test time with
//! rcgen and is valid from 1975 to 4096 unless a test says otherwise. Its
//! CAs and leaves carry authority and subject key identifiers, as public CAs
//! issue them, so that they also pass the `"web"` profile.
#![allow(dead_code)]

use certpin::{Pin, PinResult, Policy, Verdict};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SignatureAlgorithm,
};

/// A generated certificate with its key and the parameters it was made from.
pub struct Cert {
    pub der: Vec<u8>,
    pub pem: String,
    pub key: KeyPair,
    pub params: CertificateParams,
}

impl Cert {
    /// Its SPKI pin, `sha256/…`.
    pub fn pin(&self) -> String {
        Pin::of_spki_der(&self.key.subject_public_key_info()).to_string()
    }
    /// An rcgen issuer for certificates it signs.
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// Parameters of a CA named `cn`.
pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.use_authority_key_identifier_extension = true;
    p
}

/// Parameters of a server leaf for `names` (DNS names or IP literals).
pub fn leaf_params(names: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name = dn(names.first().copied().unwrap_or("leaf"));
    p.is_ca = IsCa::ExplicitNoCa;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p
}

/// Signs `params` with `issuer` (or itself when `None`) using a fresh key of `alg`.
pub fn make(params: CertificateParams, issuer: Option<&Cert>, alg: &'static SignatureAlgorithm) -> Cert {
    let key = KeyPair::generate_for(alg).unwrap();
    make_with_key(params, issuer, key)
}

/// Signs `params` for `key` with `issuer` (or itself when `None`).
pub fn make_with_key(params: CertificateParams, issuer: Option<&Cert>, key: KeyPair) -> Cert {
    let cert = match issuer {
        Some(i) => params.signed_by(&key, &i.issuer()).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Cert {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        key,
        params,
    }
}

/// A self-signed root CA with an ECDSA P-256 key.
pub fn root(cn: &str) -> Cert {
    make(ca_params(cn), None, &rcgen::PKCS_ECDSA_P256_SHA256)
}

/// An intermediate CA signed by `issuer`.
pub fn intermediate(cn: &str, issuer: &Cert) -> Cert {
    make(ca_params(cn), Some(issuer), &rcgen::PKCS_ECDSA_P256_SHA256)
}

/// A server certificate for `names` signed by `issuer`.
pub fn leaf(names: &[&str], issuer: &Cert) -> Cert {
    make(leaf_params(names), Some(issuer), &rcgen::PKCS_ECDSA_P256_SHA256)
}

/// A self-signed server certificate as `openssl req -x509 -subj /CN=<cn>`
/// makes it: basicConstraints CA:TRUE, no subjectAltName, no EKU.
pub fn openssl_style_self_signed(cn: &str) -> Cert {
    make(openssl_style_params(cn), None, &rcgen::PKCS_ECDSA_P256_SHA256)
}

/// Parameters of [`openssl_style_self_signed`].
pub fn openssl_style_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

/// The served chain: the certificates' DER concatenated in order.
pub fn chain(certs: &[&Cert]) -> Vec<u8> {
    certs.iter().flat_map(|c| c.der.iter().copied()).collect()
}

/// A JSON string literal of `s`.
pub fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The JSON of a one-rule policy; `extra` is spliced into the rule object
/// (`"key": value, …`).
pub fn one_rule_json(hosts: &[&str], anchors: &[&Cert], pins: &[String], extra: &str) -> String {
    let list = |items: Vec<String>| items.join(",");
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!(
        r#"{{"version": 1, "rules": [{{"hosts": [{}], "anchors": [{}], "pins": [{}]{extra}}}]}}"#,
        list(hosts.iter().map(|h| js(h)).collect()),
        list(anchors.iter().map(|a| js(&a.pem)).collect()),
        list(pins.iter().map(|p| js(p)).collect()),
    )
}

/// A one-rule policy, loaded; see [`one_rule_json`].
pub fn one_rule(hosts: &[&str], anchors: &[&Cert], pins: &[String], extra: &str) -> Policy {
    let json = one_rule_json(hosts, anchors, pins, extra);
    Policy::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

/// Asserts the verdict's result, showing its message when it differs.
#[track_caller]
pub fn assert_result(verdict: &Verdict<'_>, expected: PinResult) {
    assert_eq!(verdict.result, expected, "{}", verdict.message());
}

/// Asserts that the rule accepted and vouched for the chain, host name
/// checked (from the cache or not), naming `context` when it did not.
#[track_caller]
pub fn assert_vouched(verdict: &Verdict<'_>, context: &str) {
    assert_eq!(verdict.result, PinResult::PIN_OK, "{context}: {}", verdict.message());
    assert_eq!(
        verdict.flags & !certpin::flags::CACHED,
        certpin::flags::VOUCHED | certpin::flags::NAME_VERIFIED,
        "{context}"
    );
}
