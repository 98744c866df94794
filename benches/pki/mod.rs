//! The certificates the benchmarks verify, generated at start: a root, an
//! intermediate and a leaf for `bench.example.com`, all ECDSA P-256 or all
//! RSA-2048, valid from 1975 to 4096 (rcgen's defaults).
//!
//! rcgen with *ring* cannot generate RSA keys, so OpenSSL generates them and
//! rcgen signs with them.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};

/// The host every leaf is issued for.
pub const HOST: &str = "bench.example.com";

/// The key type of a whole chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256 with SHA-256.
    EcdsaP256,
    /// RSA-2048, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
}

impl KeyType {
    /// Its name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ECDSA P-256",
            Self::Rsa2048 => "RSA-2048",
        }
    }

    /// A short name for benchmark ids.
    pub fn id(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa",
            Self::Rsa2048 => "rsa",
        }
    }

    fn new_key(self) -> KeyPair {
        match self {
            Self::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key"),
            Self::Rsa2048 => {
                let rsa = openssl::rsa::Rsa::generate(2048).expect("RSA key");
                let pem = openssl::pkey::PKey::from_rsa(rsa)
                    .and_then(|k| k.private_key_to_pem_pkcs8())
                    .expect("PKCS#8 PEM");
                KeyPair::from_pem(std::str::from_utf8(&pem).expect("PEM is ASCII")).expect("rcgen reads the RSA key")
            }
        }
    }
}

/// A generated certificate with its key.
pub struct Cert {
    /// DER.
    pub der: Vec<u8>,
    /// PEM.
    pub pem: String,
    key: KeyPair,
    params: CertificateParams,
}

impl Cert {
    fn issue(params: CertificateParams, issuer: Option<&Cert>, key: KeyPair) -> Self {
        let cert = match issuer {
            Some(i) => params.signed_by(&key, &Issuer::from_params(&i.params, &i.key)),
            None => params.self_signed(&key),
        }
        .expect("rcgen signs");
        Self {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key,
            params,
        }
    }

    /// Its SPKI pin, `sha256/…`.
    pub fn pin(&self) -> String {
        let spki = x509_parser::parse_x509_certificate(&self.der)
            .expect("own certificate parses")
            .1
            .public_key()
            .raw
            .to_vec();
        certpin::Pin::of_spki_der(&spki).to_string()
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("no names");
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    p
}

/// Parameters of a server certificate for [`HOST`].
fn leaf_params() -> CertificateParams {
    let mut p = CertificateParams::new(vec![HOST.to_string()]).expect("valid name");
    p.distinguished_name = name(HOST);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // As public CAs issue them, so that the chain also passes "profile": "web".
    p.use_authority_key_identifier_extension = true;
    p
}

/// Root → intermediate → leaf, one key type throughout.
pub struct Chain {
    /// The key type of all three.
    pub key_type: KeyType,
    /// The anchor (not sent by the server).
    pub root: Cert,
    /// The intermediate, pinned by the benchmark policies.
    pub intermediate: Cert,
    /// The server's certificate.
    pub leaf: Cert,
    /// What the server sends: leaf then intermediate, DER concatenated.
    pub served: Vec<u8>,
}

impl Chain {
    /// Generates a fresh chain.
    pub fn new(key_type: KeyType) -> Self {
        let root = Cert::issue(ca_params("certpin bench root"), None, key_type.new_key());
        let intermediate = Cert::issue(ca_params("certpin bench intermediate"), Some(&root), key_type.new_key());
        let leaf = Cert::issue(leaf_params(), Some(&intermediate), key_type.new_key());
        let served = [leaf.der.as_slice(), intermediate.der.as_slice()].concat();
        Self {
            key_type,
            root,
            intermediate,
            leaf,
            served,
        }
    }

    /// Served chains of `n` new leaves for [`HOST`] under this chain's
    /// intermediate, as the server sends them (leaf, intermediate). They
    /// share one key: each is a certificate of its own all the same.
    pub fn new_leaves(&self, n: usize) -> Vec<Vec<u8>> {
        let key = self.key_type.new_key();
        (0..n)
            .map(|i| {
                let leaf = Cert::issue(numbered(leaf_params(), i), Some(&self.intermediate), copy(&key));
                [leaf.der.as_slice(), self.intermediate.der.as_slice()].concat()
            })
            .collect()
    }

    /// Served chains of `n` new intermediates under this chain's root, each
    /// with a new leaf for [`HOST`], and the pin of the intermediates. They
    /// share one key (and the leaves another), so that one pin covers them,
    /// checked as the other policies check theirs.
    pub fn new_intermediates(&self, n: usize) -> (String, Vec<Vec<u8>>) {
        let (inter_key, leaf_key) = (self.key_type.new_key(), self.key_type.new_key());
        let served: Vec<Cert> = (0..n)
            .map(|i| {
                let params = numbered(ca_params("certpin bench intermediate"), i);
                Cert::issue(params, Some(&self.root), copy(&inter_key))
            })
            .collect();
        let pin = served[0].pin();
        let chains = served
            .iter()
            .enumerate()
            .map(|(i, intermediate)| {
                let leaf = Cert::issue(numbered(leaf_params(), i), Some(intermediate), copy(&leaf_key));
                [leaf.der.as_slice(), intermediate.der.as_slice()].concat()
            })
            .collect();
        (pin, chains)
    }

    /// A one-rule policy for [`HOST`] trusting the root, pinning `pin`, with
    /// a verification cache of `cache_size` and a signature cache of
    /// `signature_cache_size`.
    pub fn policy_json(&self, pin: &str, cache_size: usize, signature_cache_size: usize) -> String {
        format!(
            r#"{{"version": 1, "cache_size": {cache_size}, "signature_cache_size": {signature_cache_size}, "rules": [{{"hosts": [{}], "anchors": [{}], "pins": [{}]}}]}}"#,
            json_string(HOST),
            json_string(&self.root.pem),
            json_string(pin)
        )
    }
}

/// `params` with serial number `1000 + i`, so that certificates made from
/// the same parameters and key still differ.
fn numbered(mut params: CertificateParams, i: usize) -> CertificateParams {
    params.serial_number = Some(SerialNumber::from(1000 + i as u64));
    params
}

/// Another handle on the same key.
fn copy(key: &KeyPair) -> KeyPair {
    KeyPair::from_pem(&key.serialize_pem()).expect("rcgen reads its own key")
}

/// A self-signed server certificate for [`HOST`], as pinned by a PEM policy.
pub fn self_signed_leaf(key_type: KeyType) -> Cert {
    Cert::issue(leaf_params(), None, key_type.new_key())
}

/// A JSON string literal of `s`.
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}
