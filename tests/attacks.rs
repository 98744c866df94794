//! The attacks certpin exists to stop, and hostile input, each asserting the
//! exact result code. Every certificate is generated here, at test time.

mod common;

use std::time::Instant;

use certpin::{flags, verify, PinResult};
use common::*;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use rcgen::{
    BasicConstraints, CertificateParams, GeneralSubtree, IsCa, KeyPair, NameConstraints, PublicKeyData,
    SignatureAlgorithm, SigningKey,
};

const HOST: &str = "api.example.com";

/// The CVE-2016-2402 setting: a rule that trusts a CA which mis-issues (or
/// an interception proxy's CA), and pins the intermediate of the real chain.
struct Appended {
    public_root: Cert,
    pinned_inter: Cert,
    good_leaf: Cert,
    rogue_root: Cert,
    rogue_inter: Cert,
    rogue_leaf: Cert,
}

fn appended() -> Appended {
    let public_root = root("Public Root");
    let pinned_inter = intermediate("Pinned Inter", &public_root);
    let good_leaf = leaf(&[HOST], &pinned_inter);
    let rogue_root = root("Rogue Root");
    let rogue_inter = intermediate("Rogue Inter", &rogue_root);
    let rogue_leaf = leaf(&[HOST], &rogue_inter);
    Appended {
        public_root,
        pinned_inter,
        good_leaf,
        rogue_root,
        rogue_inter,
        rogue_leaf,
    }
}

#[test]
fn pinned_certificate_appended_to_an_unrelated_trusted_chain() {
    let a = appended();
    let policy = one_rule(&[HOST], &[&a.public_root, &a.rogue_root], &[a.pinned_inter.pin()], "");
    assert_result(
        &verify(&policy, &chain(&[&a.good_leaf, &a.pinned_inter]), HOST, None),
        PinResult::PIN_OK,
    );
    // The served chain holds the pinned certificate, but the only valid path
    // (rogue leaf, rogue intermediate, rogue root) does not go through it.
    for served in [
        chain(&[&a.rogue_leaf, &a.rogue_inter, &a.pinned_inter]),
        chain(&[&a.rogue_leaf, &a.pinned_inter, &a.rogue_inter]),
        chain(&[
            &a.rogue_leaf,
            &a.rogue_inter,
            &a.good_leaf,
            &a.pinned_inter,
            &a.public_root,
        ]),
    ] {
        let v = verify(&policy, &served, HOST, None);
        assert_result(&v, PinResult::PIN_ERR_PIN_MISMATCH);
        assert_eq!(v.flags, 0);
    }
    // The same with the pin on the root: the root is in the served chain, not on the path.
    let policy = one_rule(&[HOST], &[&a.public_root, &a.rogue_root], &[a.public_root.pin()], "");
    assert_result(
        &verify(
            &policy,
            &chain(&[&a.rogue_leaf, &a.rogue_inter, &a.public_root]),
            HOST,
            None,
        ),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
    // And with the pinned leaf itself appended.
    let policy = one_rule(&[HOST], &[&a.public_root, &a.rogue_root], &[a.good_leaf.pin()], "");
    assert_result(
        &verify(
            &policy,
            &chain(&[&a.rogue_leaf, &a.rogue_inter, &a.good_leaf]),
            HOST,
            None,
        ),
        PinResult::PIN_ERR_PIN_MISMATCH,
    );
}

#[test]
fn pinned_root_that_the_server_does_not_send() {
    let a = appended();
    let policy = one_rule(&[HOST], &[&a.public_root, &a.rogue_root], &[a.public_root.pin()], "");
    let v = verify(&policy, &chain(&[&a.good_leaf, &a.pinned_inter]), HOST, None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);
}

#[test]
fn leaf_signed_with_the_pinned_algorithm_but_another_key() {
    let a = appended();
    // An impostor intermediate: the pinned intermediate's name and algorithm
    // (ECDSA P-256), another key. Its leaf names the pinned intermediate as issuer.
    let impostor = make(ca_params("Pinned Inter"), None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let forged = leaf(&[HOST], &impostor);
    let policy = one_rule(&[HOST], &[&a.public_root], &[a.pinned_inter.pin()], "");
    // webpki finds the genuine intermediate by name, and its key does not
    // verify the leaf's signature. It ranks that error above "unknown issuer"
    // (also when the impostor, which leads to no anchor, is served too), so
    // the answer names the real problem: a signature that does not verify.
    for served in [
        chain(&[&forged, &a.pinned_inter]),
        chain(&[&forged, &impostor, &a.pinned_inter]),
        chain(&[&forged, &a.pinned_inter, &impostor]),
    ] {
        assert_result(&verify(&policy, &served, HOST, None), PinResult::PIN_ERR_BAD_SIGNATURE);
    }
}

#[test]
fn name_constraints_of_a_private_ca() {
    let ca = root("Company Root");
    let mut p = ca_params("Company Inter, example.com only");
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName("example.com".into())],
        excluded_subtrees: vec![],
    });
    let constrained = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = one_rule(&["*"], &[&ca], &[], "");
    let inside = leaf(&[HOST], &constrained);
    assert_result(
        &verify(&policy, &chain(&[&inside, &constrained]), HOST, None),
        PinResult::PIN_OK,
    );
    let outside = leaf(&["bank.test"], &constrained);
    assert_result(
        &verify(&policy, &chain(&[&outside, &constrained]), "bank.test", None),
        PinResult::PIN_ERR_BAD_USAGE,
    );
    // A leaf that lists an allowed name first and a forbidden one after it.
    let mixed = leaf(&[HOST, "bank.test"], &constrained);
    assert_result(
        &verify(&policy, &chain(&[&mixed, &constrained]), HOST, None),
        PinResult::PIN_ERR_BAD_USAGE,
    );

    // The same constraint on the anchor itself.
    let mut p = ca_params("Constrained Root");
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName("example.com".into())],
        excluded_subtrees: vec![],
    });
    let constrained_root = make(p, None, &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = one_rule(&["*"], &[&constrained_root], &[], "");
    let outside = leaf(&["bank.test"], &constrained_root);
    assert_result(
        &verify(&policy, &outside.der, "bank.test", None),
        PinResult::PIN_ERR_BAD_USAGE,
    );
}

#[test]
fn ca_certificate_served_as_the_leaf() {
    let ca = root("Root");
    let inter = intermediate("Inter", &ca);
    let mut p = ca_params("CA as leaf");
    p.subject_alt_names = vec![rcgen::SanType::DnsName(HOST.try_into().unwrap())];
    let ca_leaf = make(p, Some(&inter), &rcgen::PKCS_ECDSA_P256_SHA256);
    let policy = one_rule(&[HOST], &[&ca], &[inter.pin()], "");
    let v = verify(&policy, &chain(&[&ca_leaf, &inter]), HOST, None);
    assert_result(&v, PinResult::PIN_ERR_BAD_USAGE);
    assert!(v.detail.contains("CA certificate"), "{}", v.detail);
}

#[test]
fn leaf_issued_by_a_certificate_that_is_not_a_ca() {
    let ca = root("Root");
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    // basicConstraints CA:FALSE, and no basicConstraints at all.
    for is_ca in [IsCa::ExplicitNoCa, IsCa::NoCa] {
        let mut p = ca_params("Not a CA");
        p.is_ca = is_ca;
        let not_ca = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
        let under = leaf(&[HOST], &not_ca);
        assert_result(
            &verify(&policy, &chain(&[&under, &not_ca]), HOST, None),
            PinResult::PIN_ERR_BAD_USAGE,
        );
    }
    // A server's own (end-entity) certificate used to issue another one.
    let server = leaf(&["www.example.com"], &ca);
    let under_server = leaf(&[HOST], &server);
    assert_result(
        &verify(&policy, &chain(&[&under_server, &server]), HOST, None),
        PinResult::PIN_ERR_BAD_USAGE,
    );
}

#[test]
fn path_length_constraint_exceeded() {
    let ca = root("Root");
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    for (limit, expected) in [(0, PinResult::PIN_ERR_BAD_USAGE), (1, PinResult::PIN_OK)] {
        let mut p = ca_params("Inter 1");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(limit));
        let inter1 = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
        let inter2 = intermediate("Inter 2", &inter1);
        let l = leaf(&[HOST], &inter2);
        assert_result(&verify(&policy, &chain(&[&l, &inter2, &inter1]), HOST, None), expected);
    }
}

/// An RSA key made by OpenSSL, which certpin's tests use where ring cannot:
/// keys under 2048 bits, and signatures with SHA-1 and MD5.
struct OpensslRsa {
    pkey: PKey<Private>,
    public_pkcs1: Vec<u8>,
}

impl OpensslRsa {
    fn generate(bits: u32) -> Self {
        let rsa = Rsa::generate(bits).unwrap();
        let public_pkcs1 = rsa.public_key_to_der_pkcs1().unwrap();
        Self {
            pkey: PKey::from_rsa(rsa).unwrap(),
            public_pkcs1,
        }
    }

    fn sign_with(&self, digest: MessageDigest, msg: &[u8]) -> Vec<u8> {
        let mut signer = Signer::new(digest, &self.pkey).unwrap();
        signer.update(msg).unwrap();
        signer.sign_to_vec().unwrap()
    }
}

impl PublicKeyData for OpensslRsa {
    fn der_bytes(&self) -> &[u8] {
        &self.public_pkcs1
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl SigningKey for OpensslRsa {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.sign_with(MessageDigest::sha256(), msg))
    }
}

/// Header length and total length of the DER element at the start of `der`.
fn der_element(der: &[u8]) -> (usize, usize) {
    let first = der[1] as usize;
    if first < 0x80 {
        return (2, 2 + first);
    }
    let n = first & 0x7f;
    let len = der[2..2 + n].iter().fold(0usize, |acc, b| acc << 8 | *b as usize);
    (2 + n, 2 + n + len)
}

/// `sha256WithRSAEncryption`, as an encoded OID; the last byte names the hash.
const SHA256_WITH_RSA: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const SHA1_WITH_RSA: u8 = 0x05;
const MD5_WITH_RSA: u8 = 0x04;

/// Re-signs a certificate that `key` signed with RSA-SHA256, with another
/// hash: both algorithm identifiers (in the TBS and outside) are rewritten,
/// and a genuine signature over the new TBS replaces the old one. Only the
/// last byte of the OID changes and the key is the same, so no length moves.
fn resign(der: &[u8], key: &OpensslRsa, oid_last_byte: u8, digest: MessageDigest) -> Vec<u8> {
    let mut out = der.to_vec();
    let mut rewritten = 0;
    let mut i = 0;
    while let Some(at) = out[i..]
        .windows(SHA256_WITH_RSA.len())
        .position(|w| w == SHA256_WITH_RSA)
    {
        let end = i + at + SHA256_WITH_RSA.len();
        out[end - 1] = oid_last_byte;
        rewritten += 1;
        i = end;
    }
    assert_eq!(
        rewritten, 2,
        "the TBS and the outer algorithm name the signature algorithm"
    );
    let (outer_header, _) = der_element(&out);
    let (_, tbs_len) = der_element(&out[outer_header..]);
    let signature = key.sign_with(digest, &out[outer_header..outer_header + tbs_len]);
    let n = out.len();
    assert!(signature.len() < n);
    out[n - signature.len()..].copy_from_slice(&signature);
    out
}

#[test]
fn sha1_and_md5_signatures() {
    let ca_key = OpensslRsa::generate(2048);
    let ca_params = ca_params("RSA Root");
    let ca_der = ca_params.self_signed(&ca_key).unwrap().der().to_vec();
    // `one_rule` reads only the PEM; the key field holds a stand-in.
    let ca = Cert {
        pem: pem_of(&ca_der),
        der: ca_der,
        key: KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        params: ca_params,
    };
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let sha256_leaf = leaf_params(&[HOST])
        .signed_by(&leaf_key, &rcgen::Issuer::from_params(&ca.params, &ca_key))
        .unwrap()
        .der()
        .to_vec();
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    assert_result(&verify(&policy, &sha256_leaf, HOST, None), PinResult::PIN_OK);
    // The re-signing itself yields a valid certificate: with SHA-256 again it is accepted.
    let again = resign(&sha256_leaf, &ca_key, 0x0b, MessageDigest::sha256());
    assert_result(&verify(&policy, &again, HOST, None), PinResult::PIN_OK);

    // A genuine SHA-1 or MD5 signature is refused for its algorithm, before
    // any attempt to check it.
    for (oid, digest) in [
        (SHA1_WITH_RSA, MessageDigest::sha1()),
        (MD5_WITH_RSA, MessageDigest::md5()),
    ] {
        let weak = resign(&sha256_leaf, &ca_key, oid, digest);
        let v = verify(&policy, &weak, HOST, None);
        assert_result(&v, PinResult::PIN_ERR_UNSUPPORTED_ALGORITHM);
    }
}

/// PEM text of a DER certificate.
fn pem_of(der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

#[test]
fn rsa_1024_keys() {
    let ca = root("Root");
    let policy = one_rule(&[HOST], &[&ca], &[], "");

    // An intermediate with a 1024-bit key that signs the leaf.
    let weak = OpensslRsa::generate(1024);
    let inter_params = ca_params("Weak Inter");
    let inter = inter_params.signed_by(&weak, &ca.issuer()).unwrap().der().to_vec();
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let l = leaf_params(&[HOST])
        .signed_by(&leaf_key, &rcgen::Issuer::from_params(&inter_params, &weak))
        .unwrap()
        .der()
        .to_vec();
    let v = verify(&policy, &[l, inter].concat(), HOST, None);
    assert_result(&v, PinResult::PIN_ERR_UNSUPPORTED_ALGORITHM);
    assert!(v.detail.contains("1024 bits"), "{}", v.detail);

    // A leaf with a 1024-bit key under a sound CA.
    let weak_leaf = leaf_params(&[HOST])
        .signed_by(&weak, &ca.issuer())
        .unwrap()
        .der()
        .to_vec();
    let v = verify(&policy, &weak_leaf, HOST, None);
    assert_result(&v, PinResult::PIN_ERR_UNSUPPORTED_ALGORITHM);
    assert!(v.detail.contains("1024 bits"), "{}", v.detail);
}

#[test]
fn expired_intermediate_with_a_valid_cross_sign() {
    let old_root = root("Old Root");
    let new_root = root("New Root");
    let inter_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = ca_params("Inter");
    p.not_before = rcgen::date_time_ymd(2000, 1, 1);
    p.not_after = rcgen::date_time_ymd(2010, 1, 1);
    let expired = make_with_key(p, Some(&old_root), inter_key);
    let cross = make_with_key(
        ca_params("Inter"),
        Some(&new_root),
        KeyPair::from_pem(&expired.key.serialize_pem()).unwrap(),
    );
    let l = leaf(&[HOST], &expired);
    let policy = one_rule(&[HOST], &[&old_root, &new_root], &[expired.pin()], "");
    for served in [chain(&[&l, &expired, &cross]), chain(&[&l, &cross, &expired])] {
        assert_result(&verify(&policy, &served, HOST, None), PinResult::PIN_OK);
    }
    assert_result(
        &verify(&policy, &chain(&[&l, &expired]), HOST, None),
        PinResult::PIN_ERR_EXPIRED,
    );
}

/// Two CAs that sign each other: X is issued by Y, and Y by X.
fn signing_loop() -> (Cert, Cert) {
    let x_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let y_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let (x_params, y_params) = (ca_params("Loop X"), ca_params("Loop Y"));
    let x = x_params
        .signed_by(&x_key, &rcgen::Issuer::from_params(&y_params, &y_key))
        .unwrap();
    let y = y_params
        .signed_by(&y_key, &rcgen::Issuer::from_params(&x_params, &x_key))
        .unwrap();
    let wrap = |der: &[u8], key: KeyPair, params: CertificateParams| Cert {
        der: der.to_vec(),
        pem: pem_of(der),
        key,
        params,
    };
    (wrap(x.der(), x_key, x_params), wrap(y.der(), y_key, y_params))
}

#[test]
fn issuers_that_sign_each_other() {
    let (x, y) = signing_loop();
    let l = leaf(&[HOST], &x);
    let ca = root("Root");
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    let started = Instant::now();
    for served in [chain(&[&l, &x, &y]), chain(&[&l, &y, &x, &y, &x])] {
        assert_result(&verify(&policy, &served, HOST, None), PinResult::PIN_ERR_UNTRUSTED);
    }
    // With a way out of the loop (Y also certified by the anchor), the path is found.
    let y_by_root = make_with_key(
        y.params.clone(),
        Some(&ca),
        KeyPair::from_pem(&y.key.serialize_pem()).unwrap(),
    );
    assert_result(
        &verify(&policy, &chain(&[&l, &x, &y, &y_by_root]), HOST, None),
        PinResult::PIN_OK,
    );
    eprintln!("signing loops: {:?}", started.elapsed());
}

#[test]
fn a_hundred_junk_certificates_in_the_served_chain() {
    let ca = root("Root");
    let inter = intermediate("Inter", &ca);
    let l = leaf(&[HOST], &inter);
    let policy = one_rule(&[HOST], &[&ca], &[inter.pin()], "");

    // Unrelated CAs: they match no issuer name and cost nothing.
    let unrelated: Vec<Cert> = (0..100).map(|i| root(&format!("Junk {i}"))).collect();
    let mut served: Vec<&Cert> = vec![&l];
    served.extend(unrelated.iter());
    served.push(&inter);
    let started = Instant::now();
    assert_result(&verify(&policy, &chain(&served), HOST, None), PinResult::PIN_OK);
    eprintln!("100 unrelated certificates: {:?}", started.elapsed());

    // Impostors with the intermediate's very name: each is a candidate whose
    // signature must be checked. webpki stops after 100 signature checks, so
    // the genuine intermediate after them is never reached: the server can
    // only get itself rejected, never accepted.
    let impostors: Vec<Cert> = (0..100)
        .map(|_| make(ca_params("Inter"), Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256))
        .collect();
    let mut served: Vec<&Cert> = vec![&l];
    served.extend(impostors.iter());
    served.push(&inter);
    let started = Instant::now();
    let v = verify(&policy, &chain(&served), HOST, None);
    eprintln!("100 same-name impostors: {:?}: {}", started.elapsed(), v.result);
    assert_result(&v, PinResult::PIN_ERR_UNTRUSTED);

    // DER sequences that are not certificates: webpki would skip a pool member
    // it cannot parse, but no TLS stack hands over such a chain, so certpin
    // refuses it outright, before any path building, whether or not a valid
    // path hides behind them.
    let mut junk = chain(&[&l]);
    for _ in 0..100 {
        junk.extend_from_slice(&[0x30, 0x03, 0x02, 0x01, 0x01]);
    }
    junk.extend_from_slice(&inter.der);
    let started = Instant::now();
    let v = verify(&policy, &junk, HOST, None);
    eprintln!("100 non-certificates: {:?}: {}", started.elapsed(), v.result);
    assert_result(&v, PinResult::PIN_ERR_CHAIN_MALFORMED);
    let mut without_inter = chain(&[&l]);
    without_inter.extend_from_slice(&junk[l.der.len()..junk.len() - inter.der.len()]);
    assert_result(
        &verify(&policy, &without_inter, HOST, None),
        PinResult::PIN_ERR_CHAIN_MALFORMED,
    );
}

#[test]
fn oversized_served_chains() {
    let ca = root("Root");
    let l = leaf(&[HOST], &ca);
    let policy = one_rule(&[HOST], &[&ca], &[], "");
    let mut huge = l.der.clone();
    huge.resize(10 << 20, 0);
    let v = verify(&policy, &huge, HOST, None);
    assert_result(&v, PinResult::PIN_ERR_INVALID_ARGUMENT);
    assert!(v.detail.contains("bytes"), "{}", v.detail);

    // One certificate over 64 KiB: a size limit, not a malformed chain.
    let mut p = leaf_params(&[HOST]);
    p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 55738, 1],
        vec![0x04, 0x83, 0x01, 0x00, 0x00]
            .into_iter()
            .chain(std::iter::repeat_n(0u8, 0x010000))
            .collect(),
    )];
    let fat = make(p, Some(&ca), &rcgen::PKCS_ECDSA_P256_SHA256);
    assert!(fat.der.len() > certpin::chain::MAX_CERT_BYTES);
    let v = verify(&policy, &chain(&[&fat, &ca]), HOST, None);
    assert_result(&v, PinResult::PIN_ERR_INVALID_ARGUMENT);
    assert!(
        v.detail.contains(&format!(
            "certificate 1 at byte 0 is too large: {} bytes",
            fat.der.len()
        )),
        "{}",
        v.detail
    );

    // Under the byte limit, over the certificate count.
    let many = l.der.repeat(certpin::chain::MAX_CERTS + 1);
    assert!(many.len() < certpin::chain::MAX_CHAIN_BYTES);
    assert_result(&verify(&policy, &many, HOST, None), PinResult::PIN_ERR_INVALID_ARGUMENT);
}

/// The C report callback of [`a_report_callback_that_calls_certpin_again`]:
/// it verifies an empty chain, which fails and records its own message.
unsafe extern "C" fn reentrant_report(
    userdata: *mut std::ffi::c_void,
    _uri: *const std::ffi::c_char,
    _json: *const std::ffi::c_char,
    _len: usize,
) {
    let policy = userdata as *const certpin::ffi::pin_policy;
    let empty = [0u8; 1];
    // SAFETY: `policy` is the live policy the outer call passed as userdata.
    let inner = unsafe { certpin::ffi::pin_verify_chain(empty.as_ptr(), 0, policy, c"api.example.com".as_ptr()) };
    assert_eq!(inner, PinResult::PIN_ERR_CHAIN_EMPTY);
}

#[test]
fn a_report_callback_that_calls_certpin_again() {
    let ca = root("Root");
    let other = root("Other");
    let l = leaf(&[HOST], &ca);
    let json = one_rule_json(
        &[HOST],
        &[&ca],
        &[other.pin()],
        r#""report_uri": "https://pins.example.com/report""#,
    );
    let mut policy = std::ptr::null_mut();
    // SAFETY: valid buffer and output pointer.
    let r = unsafe { certpin::ffi::pin_policy_load_json(json.as_ptr(), json.len(), &mut policy) };
    assert_eq!(r, PinResult::PIN_OK);
    // SAFETY: valid chain, live policy, NUL-terminated host, a callback of the right type.
    let r = unsafe {
        certpin::ffi::pin_verify_chain_ex(
            l.der.as_ptr(),
            l.der.len(),
            policy,
            c"api.example.com".as_ptr(),
            443,
            -1,
            std::ptr::null_mut(),
            Some(reentrant_report),
            policy.cast(),
        )
    };
    assert_eq!(r, PinResult::PIN_ERR_PIN_MISMATCH);
    let mut buf = vec![0u8; 4096];
    // SAFETY: `buf` has 4096 writable bytes.
    let n = unsafe { certpin::ffi::pin_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    let message = String::from_utf8_lossy(&buf[..n.min(buf.len() - 1)]).into_owned();
    assert!(message.starts_with("PIN_ERR_PIN_MISMATCH: "), "{message}");
    // SAFETY: loaded above, freed once.
    unsafe { certpin::ffi::pin_policy_free(policy) };
}
