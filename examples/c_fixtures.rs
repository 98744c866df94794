//! Writes the certificates, chains and policies that the C tests in
//! `tests/c` read: `cargo run --example c_fixtures -- OUTDIR`.
//!
//! Everything is generated afresh on each run (no certificate blob is kept in
//! the repository) and is valid from 2000-01-01 to 3000-01-01; the C tests
//! rely on that window for their "expired" and "not yet valid" times. The
//! signed policy updates are signed with keys made afresh on each run too.

use std::fs;
use std::path::{Path, PathBuf};

use certpin::update::{self, SigningKey};
use rcgen::{date_time_ymd, CertificateParams, ExtendedKeyUsagePurpose};
use serde_json::{json, Value};

#[path = "../tests/common/mod.rs"]
mod pki;
use pki::{ca_params, leaf_params, openssl_style_params, Cert};

/// `params`, valid from 2000-01-01 to 3000-01-01.
fn dated(mut params: CertificateParams) -> CertificateParams {
    params.not_before = date_time_ymd(2000, 1, 1);
    params.not_after = date_time_ymd(3000, 1, 1);
    params
}

/// Signs `params` with a fresh P-256 key, by `issuer` or by itself.
fn sign(params: CertificateParams, issuer: Option<&Cert>) -> Cert {
    pki::make(dated(params), issuer, &rcgen::PKCS_ECDSA_P256_SHA256)
}

fn server(names: &[&str], eku: ExtendedKeyUsagePurpose) -> CertificateParams {
    let mut p = leaf_params(names);
    p.extended_key_usages = vec![eku];
    p
}

/// A self-signed server certificate as `openssl req -x509 -subj /CN=<cn>`
/// makes it: CA:TRUE, no subjectAltName, no EKU.
fn openssl_style(cn: &str) -> Cert {
    sign(openssl_style_params(cn), None)
}

/// Replaces every occurrence of `from` with `to` (same length).
fn patch(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = der.to_vec();
    let mut hits = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0, "pattern not found");
    out
}

struct Out(PathBuf);

impl Out {
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        fs::write(self.0.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    fn chain(&self, name: &str, certs: &[&[u8]]) {
        self.write(name, certs.concat());
    }
    fn policy(&self, name: &str, policy: Value) {
        self.write(name, serde_json::to_string_pretty(&policy).unwrap());
    }
}

fn main() {
    let dir = std::env::args_os().nth(1).expect("usage: c_fixtures OUTDIR");
    fs::create_dir_all(&dir).unwrap();
    let out = Out(Path::new(&dir).to_path_buf());

    // A pinned self-signed server, and an impostor with the same subject.
    let selfsigned = openssl_style("localhost");
    let impostor = openssl_style("localhost");
    out.write("selfsigned.der", &selfsigned.der);
    out.write("selfsigned.pem", &selfsigned.pem);
    out.write("impostor.der", &impostor.der);

    // The company's private CA and its servers.
    let root = sign(ca_params("Example Private Root"), None);
    let inter = sign(ca_params("Example Private Intermediate"), Some(&root));
    let leaf = sign(
        server(
            &["api.example.com", "www.example.com"],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        Some(&inter),
    );
    let wildcard = sign(
        server(&["*.example.com"], ExtendedKeyUsagePurpose::ServerAuth),
        Some(&inter),
    );
    let client_only = sign(
        server(&["api.example.com"], ExtendedKeyUsagePurpose::ClientAuth),
        Some(&inter),
    );
    out.write("root.pem", &root.pem);
    out.chain("private_chain.der", &[&leaf.der, &inter.der]);
    out.chain("wildcard_chain.der", &[&wildcard.der, &inter.der]);
    out.chain("client_only_chain.der", &[&client_only.der, &inter.der]);

    // The leaf's signature with its last byte changed: still well-formed DER,
    // no longer a valid signature.
    let mut bad_signature = leaf.der.clone();
    *bad_signature.last_mut().unwrap() ^= 0x01;
    out.chain("bad_signature_chain.der", &[&bad_signature, &inter.der]);

    // The leaf relabelled as ecdsa-with-SHA512 (in the TBS and the outer
    // signature algorithm): a P-256 key with SHA-512 is not a supported pair.
    const ECDSA_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    const ECDSA_SHA512: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
    let relabelled = patch(&leaf.der, ECDSA_SHA256, ECDSA_SHA512);
    out.chain("unsupported_algorithm_chain.der", &[&relabelled, &inter.der]);

    // CVE-2016-2402: a chain from a CA the rule also trusts, issued to the
    // pinned host, with the genuinely pinned certificates appended.
    let public_root = sign(ca_params("Public Root CA"), None);
    let public_inter = sign(ca_params("Public Issuing CA"), Some(&public_root));
    let attacker = sign(
        server(&["api.example.com"], ExtendedKeyUsagePurpose::ServerAuth),
        Some(&public_inter),
    );
    out.write("public_root.pem", &public_root.pem);
    out.chain(
        "cve_2016_2402_chain.der",
        &[&attacker.der, &public_inter.der, &inter.der, &root.der],
    );

    let wrong_pin = impostor.pin();
    out.policy(
        "private.json",
        json!({
            "version": 1,
            "rules": [
                {
                    "hosts": ["api.example.com", "other.example.com"],
                    "anchors": ["root.pem", "public_root.pem"],
                    "pins": [inter.pin(), root.pin()]
                },
                {"hosts": ["noname.example.com"], "anchors": ["root.pem"], "verify_hostname": false},
                {"hosts": ["localhost"], "anchors": ["selfsigned.pem"]}
            ]
        }),
    );
    out.policy(
        "allow.json",
        json!({
            "version": 1,
            "unlisted_hosts": "allow",
            "rules": [{"hosts": ["api.example.com"], "anchors": ["root.pem"]}]
        }),
    );
    out.policy(
        "nocache.json",
        json!({
            "version": 1,
            "cache_size": 0,
            "rules": [{"hosts": ["api.example.com"], "anchors": ["root.pem"]}]
        }),
    );
    out.policy(
        "wrong_pin.json",
        json!({
            "version": 1,
            "rules": [{"hosts": ["api.example.com"], "anchors": ["root.pem"], "pins": [wrong_pin]}]
        }),
    );
    out.policy(
        "report.json",
        json!({
            "version": 1,
            "rules": [
                {
                    "hosts": ["api.example.com"], "anchors": ["root.pem"], "pins": [wrong_pin],
                    "report_uri": "https://pins.example.com/enforced"
                },
                {
                    "hosts": ["**.ro.example.com"], "anchors": ["root.pem"], "pins": [wrong_pin],
                    "pins_expire": "2999-12-31", "report_only": true,
                    "report_uri": "https://pins.example.com/report-only"
                },
                {"hosts": ["quiet.example.com"], "anchors": ["root.pem"], "pins": [wrong_pin]},
                {"hosts": ["quiet.ro.example"], "anchors": ["root.pem"], "pins": [wrong_pin], "report_only": true},
                {
                    "hosts": ["www.example.com"], "anchors": ["root.pem"], "pins": [inter.pin()],
                    "report_uri": "https://pins.example.com/accepted"
                }
            ]
        }),
    );
    out.policy(
        "threads.json",
        json!({
            "version": 1,
            "rules": [{"hosts": ["*.example.com"], "anchors": ["root.pem"], "pins": [inter.pin()]}]
        }),
    );
    out.policy(
        "missing_anchor.json",
        json!({"version": 1, "rules": [{"hosts": ["*"], "anchors": ["absent.pem"]}]}),
    );
    out.policy(
        "unknown_key.json",
        json!({"version": 1, "rules": [{"hosts": ["*"], "anchors": ["root.pem"], "pinz": []}]}),
    );
    out.write("not_json.json", "{\"version\": 1,");

    // Signed policy updates: a key the tests trust and one they do not, an
    // update of the private CA's rule (sequence 5, expires 2999-01-01), one
    // that expires on 2001-01-01, and one whose payload was changed after
    // signing.
    let key = new_signing_key();
    let stranger = new_signing_key();
    out.write("update_key.txt", key.public_key().to_string());
    out.write("other_key.txt", stranger.public_key().to_string());
    let update_policy = json!({
        "version": 1,
        "rules": [{"hosts": ["api.example.com"], "anchors": [root.pem], "pins": [inter.pin()]}]
    })
    .to_string();
    let signed = |sequence: u64, expires: &str| {
        let payload = update::payload(sequence, expires, update_policy.as_bytes()).expect("the update's policy loads");
        update::sign(&payload, &[&key])
    };
    out.write("update.json", signed(5, "2999-01-01T00:00:00Z"));
    out.write("update_expiring.json", signed(6, "2001-01-01T00:00:00Z"));
    let payload = update::payload(5, "2999-01-01T00:00:00Z", update_policy.as_bytes()).unwrap();
    let tampered = String::from_utf8(payload)
        .unwrap()
        .replace("\"sequence\": 5", "\"sequence\": 9");
    let mut file: Value = serde_json::from_slice(&signed(5, "2999-01-01T00:00:00Z")).unwrap();
    file["payload"] = Value::String(data_encoding::BASE64.encode(tampered.as_bytes()));
    out.write("update_tampered.json", serde_json::to_string_pretty(&file).unwrap());
}

/// A fresh Ed25519 key from the system's random generator.
fn new_signing_key() -> SigningKey {
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().expect("random")).expect("a key just made")
}
