//! What one verification costs, measured side by side in one process:
//!
//! - the floor: the two signature checks of root → intermediate → leaf and
//!   the two SPKI SHA-256 hashes that any pinning verifier must do (*ring*);
//! - rustls-webpki alone (parse, path, name) with *ring* and with aws-lc-rs;
//! - OpenSSL 3: parse the served DER + `X509_verify_cert` + host check;
//! - certpin through its Rust entry point and through the C ABI, with the
//!   verification and signature caches off (cold) and the verification
//!   cache on (warm: the same chain again);
//! - through the C ABI with the signature cache on: a new chain every call
//!   (new intermediate, new leaf) and a new leaf under a known intermediate,
//!   each beside the floor of the same chains in the same turns (the floor
//!   above repeats one chain, and repeating the very same signatures trains
//!   the processor's predictors, which a new chain never gets), and the
//!   leaf's signature check alone, repeated and on each new leaf;
//! - a rejection with its detailed message, and the quick PEM policy.
//!
//! `cargo bench --bench verify` runs criterion on every case, then prints a
//! Markdown table of interleaved medians with the ratios to the floor and to
//! OpenSSL. Under `cargo test` each case runs once and its answer is checked.

mod pki;
mod timing;

use std::ffi::{c_char, CString};
use std::hint::black_box;
use std::ptr;
use std::time::Duration;

use certpin::ffi;
use certpin::{flags, PinResult, Policy};
use criterion::Criterion;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509StoreContext, X509};
use pki::{Chain, KeyType, HOST};
use pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use timing::Case;
use webpki::{EndEntityCert, KeyUsage};

/// The signature algorithms certpin accepts, from *ring*.
static RING_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_3072_8192_SHA384,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// The same algorithms from aws-lc-rs.
static AWS_LC_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_3072_8192_SHA384,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// The least work verifying a pinned chain takes: each signature of the path
/// checked once, and the pinned keys hashed (the leaf's, which misses, then
/// the intermediate's, which hits). Everything else is taken apart beforehand.
struct Floor {
    algorithm: &'static dyn ring::signature::VerificationAlgorithm,
    /// (issuer's public key, signed TBS bytes, signature) of leaf and intermediate.
    signatures: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// The SPKI DER of leaf and intermediate.
    spkis: Vec<Vec<u8>>,
}

impl Floor {
    fn new(chain: &Chain) -> Self {
        Self::of(chain.key_type, &chain.root.der, &chain.served)
    }

    /// The floor of a served chain (leaf, intermediate) under `root`.
    fn of(key_type: KeyType, root: &[u8], served: &[u8]) -> Self {
        use x509_parser::prelude::*;
        fn parse(der: &[u8]) -> X509Certificate<'_> {
            X509Certificate::from_der(der).expect("own certificate parses").1
        }
        let served = certpin::chain::split(served).expect("leaf and intermediate");
        let (root, intermediate, leaf) = (parse(root), parse(served[1]), parse(served[0]));
        let signed = |cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>| {
            (
                issuer.public_key().subject_public_key.data.to_vec(),
                cert.tbs_certificate.as_ref().to_vec(),
                cert.signature_value.data.to_vec(),
            )
        };
        Self {
            algorithm: match key_type {
                KeyType::EcdsaP256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
                KeyType::Rsa2048 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            },
            signatures: vec![signed(&leaf, &intermediate), signed(&intermediate, &root)],
            spkis: vec![leaf.public_key().raw.to_vec(), intermediate.public_key().raw.to_vec()],
        }
    }

    /// The floor of the same chain when the intermediate's signature is
    /// known: the leaf's signature check and the two SPKI hashes.
    fn leaf_only(&self) -> Self {
        Self {
            algorithm: self.algorithm,
            signatures: self.signatures[..1].to_vec(),
            spkis: self.spkis.clone(),
        }
    }

    // Never inlined, so that a profile shows it by name (see BENCHMARKS.md).
    #[inline(never)]
    fn run(&self) -> bool {
        let signed = self.signatures.iter().all(|(key, tbs, signature)| {
            ring::signature::UnparsedPublicKey::new(self.algorithm, key)
                .verify(tbs, signature)
                .is_ok()
        });
        for spki in &self.spkis {
            black_box(ring::digest::digest(&ring::digest::SHA256, spki));
        }
        signed
    }
}

/// rustls-webpki on its own: parse the leaf, build and check the path, check the name.
struct Webpki {
    anchors: Vec<TrustAnchor<'static>>,
    leaf: CertificateDer<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    name: ServerName<'static>,
}

impl Webpki {
    fn new(chain: &Chain) -> Self {
        let root = CertificateDer::from(chain.root.der.clone());
        Self {
            anchors: vec![webpki::anchor_from_trusted_cert(&root).expect("root").to_owned()],
            leaf: CertificateDer::from(chain.leaf.der.clone()),
            intermediates: vec![CertificateDer::from(chain.intermediate.der.clone())],
            name: ServerName::try_from(HOST).expect("valid name"),
        }
    }

    // Never inlined, so that a profile shows it by name (see BENCHMARKS.md).
    #[inline(never)]
    fn run(&self, algorithms: &[&dyn SignatureVerificationAlgorithm]) -> bool {
        let Ok(leaf) = EndEntityCert::try_from(&self.leaf) else {
            return false;
        };
        leaf.verify_for_usage(
            algorithms,
            &self.anchors,
            &self.intermediates,
            UnixTime::now(),
            KeyUsage::server_auth(),
            None,
            None,
        )
        .is_ok()
            && leaf.verify_is_valid_for_subject_name(&self.name).is_ok()
    }
}

/// OpenSSL 3 as a Qt application gets it: the served DER parsed, the path
/// verified against a store holding the root, the host checked.
struct OpenSsl {
    store: X509Store,
    served: Vec<Vec<u8>>,
}

impl OpenSsl {
    fn new(chain: &Chain, host: &str) -> Self {
        let mut store = X509StoreBuilder::new().expect("store");
        store
            .add_cert(X509::from_der(&chain.root.der).expect("root"))
            .expect("add root");
        let mut param = X509VerifyParam::new().expect("param");
        param.set_host(host).expect("host");
        store.set_param(&param).expect("set param");
        Self {
            store: store.build(),
            served: vec![chain.leaf.der.clone(), chain.intermediate.der.clone()],
        }
    }

    // Never inlined, so that a profile shows it by name (see BENCHMARKS.md).
    #[inline(never)]
    fn run(&self) -> bool {
        let leaf = X509::from_der(&self.served[0]).expect("leaf");
        let mut pool = Stack::new().expect("stack");
        for der in &self.served[1..] {
            pool.push(X509::from_der(der).expect("intermediate")).expect("push");
        }
        let mut context = X509StoreContext::new().expect("context");
        context
            .init(&self.store, &leaf, &pool, |c| c.verify_cert())
            .expect("verify runs")
    }
}

/// A policy loaded through the C ABI, freed through it.
struct CPolicy(*mut ffi::pin_policy);

impl CPolicy {
    fn load_json(json: &str) -> Self {
        let mut policy = ptr::null_mut();
        // SAFETY: `json` is readable for its length; `policy` is writable.
        let result = unsafe { ffi::pin_policy_load_json(json.as_ptr(), json.len(), &mut policy) };
        assert_eq!(result, PinResult::PIN_OK, "pin_policy_load_json");
        Self(policy)
    }

    fn load_pem(pem: &str) -> Self {
        let mut policy = ptr::null_mut();
        // SAFETY: as above.
        let result = unsafe { ffi::pin_policy_load_pem(pem.as_ptr(), pem.len(), &mut policy) };
        assert_eq!(result, PinResult::PIN_OK, "pin_policy_load_pem");
        Self(policy)
    }

    fn verify(&self, served: &[u8], host: &CString) -> PinResult {
        // SAFETY: `served` is readable for its length, the policy is live,
        // `host` is NUL-terminated.
        unsafe { ffi::pin_verify_chain(served.as_ptr(), served.len(), self.0, host.as_ptr()) }
    }
}

impl Drop for CPolicy {
    fn drop(&mut self) {
        // SAFETY: loaded by pin_policy_load_*, freed once.
        unsafe { ffi::pin_policy_free(self.0) }
    }
}

/// The thread's last error message through `pin_last_error`.
fn last_error(buf: &mut [u8]) -> usize {
    // SAFETY: `buf` is writable for its length.
    unsafe { ffi::pin_last_error(buf.as_mut_ptr().cast::<c_char>(), buf.len()) }
}

/// Everything one key type needs, set up and checked before timing.
struct Fixture {
    chain: Chain,
    floor: Floor,
    webpki: Webpki,
    openssl: OpenSsl,
    cold: Policy,
    cold_web: Policy,
    warm: Policy,
    wrong_pin: Policy,
    c_cold: CPolicy,
    c_warm: CPolicy,
    c_wrong_pin: CPolicy,
    self_signed: Vec<u8>,
    pem_policy: Policy,
    identical_leaf_cold: Policy,
    c_pem_policy: CPolicy,
    /// Chains with a new intermediate each, more than `c_new_chain`'s
    /// signature cache holds, so that each call finds nothing remembered.
    new_chains: Vec<Vec<u8>>,
    /// The floor of each new chain, and of each new leaf's chain.
    new_chain_floors: Vec<Floor>,
    new_leaf_floors: Vec<Floor>,
    /// The leaf's check alone, of the chain and of each new leaf.
    leaf_check: Floor,
    new_leaf_checks: Vec<Floor>,
    new_chain: Policy,
    c_new_chain: CPolicy,
    /// The same policy with the signature cache off.
    c_new_chain_uncached: CPolicy,
    /// New leaves under the chain's intermediate.
    new_leaves: Vec<Vec<u8>>,
    new_leaf: Policy,
    c_new_leaf: CPolicy,
    host: CString,
}

/// How many new chains and new leaves the bench cycles through.
const NEW: usize = 16;
/// The signature cache of the new-chain policy: fewer entries than
/// [`NEW`], so that cycling through them never finds one.
const NEW_CHAIN_SIGNATURE_CACHE: usize = NEW / 2;

impl Fixture {
    fn new(key_type: KeyType) -> Self {
        let chain = Chain::new(key_type);
        let pin = chain.intermediate.pin();
        let unrelated_pin = pki::self_signed_leaf(KeyType::EcdsaP256).pin();
        let self_signed = pki::self_signed_leaf(key_type);
        let identical_leaf_json = format!(
            r#"{{"version": 1, "cache_size": 0, "rules": [{{"hosts": ["*"], "anchors": [{}]}}]}}"#,
            pki::json_string(&self_signed.pem)
        );
        // Nothing remembered: the verification and the signature cache off.
        let cold_json = |pin: &str| chain.policy_json(pin, 0, 0);
        let (new_chain_pin, new_chains) = chain.new_intermediates(NEW);
        let new_chain_json = chain.policy_json(&new_chain_pin, 0, NEW_CHAIN_SIGNATURE_CACHE);
        let new_leaf_json = chain.policy_json(&pin, 0, certpin::policy::DEFAULT_SIGNATURE_CACHE_SIZE);
        let new_leaves = chain.new_leaves(NEW);
        let floors = |chains: &[Vec<u8>]| -> Vec<Floor> {
            chains.iter().map(|c| Floor::of(key_type, &chain.root.der, c)).collect()
        };
        let new_leaf_floors = floors(&new_leaves);
        let fixture = Self {
            new_chain_floors: floors(&new_chains),
            new_leaf_checks: new_leaf_floors.iter().map(Floor::leaf_only).collect(),
            new_leaf_floors,
            leaf_check: Floor::new(&chain).leaf_only(),
            new_leaves,
            new_chain: Policy::from_json(new_chain_json.as_bytes()).expect("policy"),
            c_new_chain: CPolicy::load_json(&new_chain_json),
            c_new_chain_uncached: CPolicy::load_json(&cold_json(&new_chain_pin)),
            new_chains,
            new_leaf: Policy::from_json(new_leaf_json.as_bytes()).expect("policy"),
            c_new_leaf: CPolicy::load_json(&new_leaf_json),
            floor: Floor::new(&chain),
            webpki: Webpki::new(&chain),
            openssl: OpenSsl::new(&chain, HOST),
            cold: Policy::from_json(cold_json(&pin).as_bytes()).expect("policy"),
            cold_web: Policy::from_json(
                cold_json(&pin)
                    .replace(r#""hosts""#, r#""profile": "web", "hosts""#)
                    .as_bytes(),
            )
            .expect("policy"),
            warm: Policy::from_json(chain.policy_json(&pin, 1024, 256).as_bytes()).expect("policy"),
            wrong_pin: Policy::from_json(cold_json(&unrelated_pin).as_bytes()).expect("policy"),
            c_cold: CPolicy::load_json(&cold_json(&pin)),
            c_warm: CPolicy::load_json(&chain.policy_json(&pin, 1024, 256)),
            c_wrong_pin: CPolicy::load_json(&cold_json(&unrelated_pin)),
            pem_policy: Policy::from_pem(self_signed.pem.as_bytes()).expect("PEM policy"),
            identical_leaf_cold: Policy::from_json(identical_leaf_json.as_bytes()).expect("policy"),
            c_pem_policy: CPolicy::load_pem(&self_signed.pem),
            self_signed: self_signed.der,
            host: CString::new(HOST).expect("no NUL"),
            chain,
        };
        fixture.check();
        fixture
    }

    /// Every case gives the answer it is meant to time.
    fn check(&self) {
        let served = &self.chain.served;
        assert!(self.floor.run(), "floor signatures verify");
        assert!(self.webpki.run(RING_ALGS), "webpki with ring accepts");
        assert!(self.webpki.run(AWS_LC_ALGS), "webpki with aws-lc-rs accepts");
        assert!(self.openssl.run(), "OpenSSL accepts");
        assert!(
            !OpenSsl::new(&self.chain, "other.example.com").run(),
            "OpenSSL checks the host"
        );
        let cold = certpin::verify(&self.cold, served, HOST, None);
        assert_eq!(cold.result, PinResult::PIN_OK, "{}", cold.message());
        assert_eq!(cold.flags & flags::CACHED, 0, "the cold policy has no cache");
        let web = certpin::verify(&self.cold_web, served, HOST, None);
        assert_eq!(web.result, PinResult::PIN_OK, "{}", web.message());
        assert_eq!(self.cold_web.rules()[0].profile(), Some(certpin::Profile::Web));
        certpin::verify(&self.warm, served, HOST, None);
        let warm = certpin::verify(&self.warm, served, HOST, None);
        assert_eq!(warm.result, PinResult::PIN_OK, "{}", warm.message());
        assert_ne!(warm.flags & flags::CACHED, 0, "the second call is a cache hit");
        let rejected = certpin::verify(&self.wrong_pin, served, HOST, None);
        assert_eq!(rejected.result, PinResult::PIN_ERR_PIN_MISMATCH);
        assert!(
            rejected.message().contains(&self.chain.intermediate.pin()),
            "the message lists the served pins"
        );
        assert_eq!(self.c_cold.verify(served, &self.host), PinResult::PIN_OK);
        assert_eq!(self.c_warm.verify(served, &self.host), PinResult::PIN_OK);
        assert_eq!(
            self.c_wrong_pin.verify(served, &self.host),
            PinResult::PIN_ERR_PIN_MISMATCH
        );
        let mut buf = [0u8; 4096];
        assert!(last_error(&mut buf) > 100, "pin_last_error explains the rejection");
        let direct = certpin::verify(&self.pem_policy, &self.self_signed, HOST, None);
        assert_eq!(direct.result, PinResult::PIN_OK, "{}", direct.message());
        let direct = certpin::verify(&self.identical_leaf_cold, &self.self_signed, HOST, None);
        assert_eq!(direct.result, PinResult::PIN_OK, "{}", direct.message());
        assert_eq!(
            self.c_pem_policy.verify(&self.self_signed, &self.host),
            PinResult::PIN_OK
        );
        assert!(self
            .new_chain_floors
            .iter()
            .chain(&self.new_leaf_floors)
            .chain(&self.new_leaf_checks)
            .chain([&self.leaf_check])
            .all(Floor::run));
        // A new chain every call: nothing is found, the bound holds.
        for _ in 0..2 {
            for served in &self.new_chains {
                let v = certpin::verify(&self.new_chain, served, HOST, None);
                assert_eq!(v.result, PinResult::PIN_OK, "{}", v.message());
                assert_eq!(self.c_new_chain.verify(served, &self.host), PinResult::PIN_OK);
                assert_eq!(self.c_new_chain_uncached.verify(served, &self.host), PinResult::PIN_OK);
            }
        }
        assert_eq!(self.new_chain.remembered_signatures(), NEW_CHAIN_SIGNATURE_CACHE);
        // New leaves: only the intermediate's signature is remembered, the
        // leaves' own never are.
        for served in &self.new_leaves {
            let v = certpin::verify(&self.new_leaf, served, HOST, None);
            assert_eq!(v.result, PinResult::PIN_OK, "{}", v.message());
            assert_eq!(v.flags & flags::CACHED, 0);
            assert_eq!(self.c_new_leaf.verify(served, &self.host), PinResult::PIN_OK);
        }
        assert_eq!(self.new_leaf.remembered_signatures(), 1);
    }

    /// The timed cases, in table order.
    fn cases(&self) -> Vec<Case<'_>> {
        let id = |short: &str| format!("{}/{short}", self.chain.key_type.id());
        let served = self.chain.served.as_slice();
        let mut buf = vec![0u8; 4096];
        vec![
            Case::new(id("floor"), "floor: 2 signature checks + 2 SPKI SHA-256 (ring)", || {
                black_box(self.floor.run());
            }),
            Case::new(
                id("webpki-ring"),
                "rustls-webpki alone, ring (parse + path + name)",
                || {
                    black_box(self.webpki.run(RING_ALGS));
                },
            ),
            Case::new(
                id("webpki-aws-lc"),
                "rustls-webpki alone, aws-lc-rs (parse + path + name)",
                || {
                    black_box(self.webpki.run(AWS_LC_ALGS));
                },
            ),
            Case::new(id("openssl"), "OpenSSL 3: parse + X509_verify_cert + host", || {
                black_box(self.openssl.run());
            }),
            Case::new(id("verify-cold"), "certpin::verify, cold (both caches off)", || {
                black_box(certpin::verify(&self.cold, black_box(served), HOST, None).result);
            }),
            Case::new(
                id("verify-cold-web"),
                "certpin::verify, cold, \"profile\": \"web\"",
                || {
                    black_box(certpin::verify(&self.cold_web, black_box(served), HOST, None).result);
                },
            ),
            Case::new(id("c-verify-cold"), "pin_verify_chain (C ABI), cold", || {
                black_box(self.c_cold.verify(black_box(served), &self.host));
            }),
            Case::new(
                id("floor-new-chains"),
                "floor of the new chains (each in turn, as the rows below)",
                in_turn(&self.new_chain_floors, |floor| {
                    black_box(floor.run());
                }),
            ),
            Case::new(
                id("floor-new-leaves"),
                "floor of the new leaves' chains (each in turn)",
                in_turn(&self.new_leaf_floors, |floor| {
                    black_box(floor.run());
                }),
            ),
            Case::new(
                id("floor-leaf-check"),
                "the leaf's signature check alone + 2 SPKI SHA-256 (the chain's, repeated)",
                || {
                    black_box(self.leaf_check.run());
                },
            ),
            Case::new(
                id("floor-new-leaf-checks"),
                "the leaf's signature check alone + 2 SPKI SHA-256 (each new leaf in turn)",
                in_turn(&self.new_leaf_checks, |floor| {
                    black_box(floor.run());
                }),
            ),
            Case::new(
                id("c-new-chain-uncached"),
                "pin_verify_chain (C ABI), new chain (new intermediate and leaf), signature cache off",
                in_turn(&self.new_chains, |served| {
                    black_box(self.c_new_chain_uncached.verify(black_box(served), &self.host));
                }),
            ),
            Case::new(
                id("c-new-chain"),
                "pin_verify_chain (C ABI), new chain (new intermediate and leaf), signature cache on",
                in_turn(&self.new_chains, |served| {
                    black_box(self.c_new_chain.verify(black_box(served), &self.host));
                }),
            ),
            Case::new(
                id("c-new-leaf"),
                "pin_verify_chain (C ABI), new leaf under a known intermediate",
                in_turn(&self.new_leaves, |served| {
                    black_box(self.c_new_leaf.verify(black_box(served), &self.host));
                }),
            ),
            Case::new(id("verify-warm"), "certpin::verify, warm (cache hit)", || {
                black_box(certpin::verify(&self.warm, black_box(served), HOST, None).result);
            }),
            Case::new(id("c-verify-warm"), "pin_verify_chain (C ABI), warm", || {
                black_box(self.c_warm.verify(black_box(served), &self.host));
            }),
            Case::new(id("reject"), "rejection PIN_ERR_PIN_MISMATCH + message (Rust)", || {
                black_box(certpin::verify(&self.wrong_pin, black_box(served), HOST, None).message());
            }),
            Case::new(id("c-reject"), "rejection via C ABI + pin_last_error", move || {
                black_box(self.c_wrong_pin.verify(black_box(served), &self.host));
                black_box(last_error(&mut buf));
            }),
            Case::new(id("pem-leaf-cold"), "identical leaf (pinned self-signed), cold", || {
                black_box(certpin::verify(&self.identical_leaf_cold, black_box(&self.self_signed), HOST, None).result);
            }),
            Case::new(
                id("c-pem-leaf"),
                "PEM policy via C ABI, identical leaf (cache on)",
                || {
                    black_box(self.c_pem_policy.verify(black_box(&self.self_signed), &self.host));
                },
            ),
        ]
    }
}

/// A case that takes `items` in turn, one per call, and hands each to `run`.
fn in_turn<'a, T>(items: &'a [T], mut run: impl FnMut(&'a T) + 'a) -> impl FnMut() + 'a {
    let mut next = 0;
    move || {
        next = (next + 1) % items.len();
        run(&items[next]);
    }
}

fn main() {
    let fixtures = [Fixture::new(KeyType::EcdsaP256), Fixture::new(KeyType::Rsa2048)];
    let benchmarking = timing::benchmarking();

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    for fixture in &fixtures {
        for mut case in fixture.cases() {
            criterion.bench_function(&case.id, |b| b.iter(&mut case.run));
        }
    }
    criterion.final_summary();
    if !timing::table_wanted() {
        return;
    }

    // The table: every case of both key types interleaved in one loop.
    let mut cases: Vec<Case<'_>> = fixtures.iter().flat_map(Fixture::cases).collect();
    let rounds = if benchmarking { 400 } else { 0 };
    let medians = timing::medians(&mut cases, rounds, Duration::from_micros(400));
    let per_type = medians.len() / fixtures.len();
    println!(
        "\n## Verification, root → intermediate → leaf ({})\n",
        timing::method(rounds)
    );
    println!("{}\n", timing::machine());
    print!("| case |");
    for f in &fixtures {
        print!(" {} | × floor | × OpenSSL |", f.chain.key_type.label());
    }
    println!("\n|---|{}", "---:|".repeat(3 * fixtures.len()));
    for (row, case) in cases[..per_type].iter().enumerate() {
        print!("| {} |", case.name);
        for k in 0..fixtures.len() {
            let m = &medians[k * per_type..(k + 1) * per_type];
            print!(
                " {} | {:.3} | {:.4} |",
                timing::micros(m[row]),
                m[row] / m[0],
                m[row] / m[3]
            );
        }
        println!();
    }
    println!();
    let at = |name: &str, k: usize| {
        let row = cases[..per_type]
            .iter()
            .position(|c| c.id.ends_with(name))
            .expect("case");
        medians[k * per_type + row]
    };

    // The three answers real traffic gets, side by side, each also against
    // the floor of the chains it verifies: repeating one chain trains the
    // processor on its signatures, which a new chain or leaf never gets.
    let rows = [
        (
            "/c-new-chain",
            "new chain (new intermediate and leaf)",
            "/floor-new-chains",
        ),
        (
            "/c-new-leaf",
            "new leaf under a known intermediate",
            "/floor-new-leaves",
        ),
        ("/c-verify-warm", "cached chain (same chain again)", "/floor"),
    ];
    println!("### New chain, new leaf, cached chain (C ABI)\n");
    print!("| case |");
    for f in &fixtures {
        print!(
            " {} | × floor | × floor of the same chains | × OpenSSL |",
            f.chain.key_type.label()
        );
    }
    println!("\n|---|{}", "---:|".repeat(4 * fixtures.len()));
    for (id, name, own_floor) in rows {
        print!("| {name} |");
        for k in 0..fixtures.len() {
            let (m, floor, openssl) = (at(id, k), at("/floor", k), at("/openssl", k));
            print!(
                " {} | {:.3} | {:.3} | {:.4} |",
                timing::micros(m),
                m / floor,
                m / at(own_floor, k),
                m / openssl
            );
        }
        println!();
    }
    println!();
    for (k, f) in fixtures.iter().enumerate() {
        let label = f.chain.key_type.label();
        let (floor, openssl) = (at("/floor", k), at("/openssl", k));
        let (cold, warm) = (at("/c-verify-cold", k), at("/c-verify-warm", k));
        let (new_chain, new_leaf) = (at("/c-new-chain", k), at("/c-new-leaf", k));
        let new_chain_uncached = at("/c-new-chain-uncached", k);
        let (chains_floor, leaves_floor) = (at("/floor-new-chains", k), at("/floor-new-leaves", k));
        let (leaf_check, new_leaf_check) = (at("/floor-leaf-check", k), at("/floor-new-leaf-checks", k));
        println!(
            "- {label}: C ABI cold = {:.3} × floor (goal ≤ 1.05), {:.3} × OpenSSL (goal ≤ 0.30); \
             warm = {} (goal ≤ 2 µs), {:.4} × OpenSSL (goal ≤ 0.01)",
            cold / floor,
            cold / openssl,
            timing::micros(warm),
            warm / openssl
        );
        println!(
            "  - new chain = {:.3} × the floor of the same chains (goal ≤ 1.05), {:.3} × the one-chain floor, \
             {:.3} × the same without the signature cache",
            new_chain / chains_floor,
            new_chain / floor,
            new_chain / new_chain_uncached,
        );
        println!(
            "  - new leaf under a known intermediate = {:.3} × the floor of the same chains (goal ≤ 0.55), \
             {:.3} × the one-chain floor, {:.3} × new chain (goal ≤ 0.57)",
            new_leaf / leaves_floor,
            new_leaf / floor,
            new_leaf / new_chain,
        );
        println!(
            "  - its one signature check alone = {:.3} × the one-chain floor ({:.3} × the same check repeated); \
             the new leaf costs {:.3} × that check",
            new_leaf_check / floor,
            new_leaf_check / leaf_check,
            new_leaf / new_leaf_check,
        );
    }
}
