//! The x509-limbo conformance suite (C2SP/x509-limbo), run through the same
//! entry point the C ABI uses: a one-rule policy loaded from JSON and
//! `certpin::verify`. limbo is written outside this project, so it is the
//! honest external check of certpin's chain validation.
//!
//! Every case runs twice: under the default profile (`"private"`, since the
//! anchors are the rule's own) and under `"profile": "web"`. The test fails
//! when certpin accepts a case the reference rustls-webpki run rejects
//! (certpin only adds checks on top of webpki, so it must never be more
//! lenient), or when a profile's passes, false accepts, false rejects or the
//! list of its false accepts differ from the record below: a change for the
//! better updates the record, so that a regression can never hide behind it.
//!
//! The suite is read from `../shared/limbo/limbo.json` (not part of the
//! project). Without it the test is reported ignored, naming the file (see
//! build.rs); under `CI` it runs and fails.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use certpin::{HostPattern, PinResult, Policy};
use pki_types::pem::PemObject;
use pki_types::CertificateDer;
use serde::Deserialize;

const REFERENCE: &str = "reference-rustls-webpki-0.103.13.json";
/// The strictest reference: what the Web PKI profile is measured against.
const PYCA: &str = "reference-pyca-cryptography-46.0.7.json";

/// What one profile achieves on the runnable cases.
struct Record {
    /// `None`: the policy sets no `"profile"` key.
    profile: Option<&'static str>,
    pass: usize,
    false_accept: usize,
    false_reject: usize,
    /// Every false accept left, by id.
    false_accepts: &'static [&'static str],
}

/// The records. Under "private" the false accepts are the Web PKI rules that
/// profile leaves out on purpose (key identifiers, serial numbers, underscores,
/// critical-ness, CN spelling, ...). Under "web" these are left, each a choice:
/// - cross-signed-root-missing-aki: an anchor is trusted for its key, whoever
///   else signed it (pyca skips the case as pedantic);
/// - ski::root-missing-ski: a root of the current Mozilla list (TWCA Global Root
///   CA) has no subjectKeyIdentifier, and chains to it are real;
/// - nc::permitted-dns-match-noncritical: CABF BR 7.1.2.10.8 allows non-critical
///   name constraints, and webpki::nc::permitted-dns-match-noncritical expects
///   success for the same chain;
/// - cn::not-in-san, cn::punycode-not-in-san: a CN naming no SAN value is also in
///   chains limbo and BetterTLS expect to pass (CN example.com, SAN
///   foo.example.com); only a CN respelling a SAN value is refused;
/// - eku::ee-without-eku: rfc5280::eku::ee-without-eku expects success for it;
/// - public-suffix wildcards (`*.co.uk`, `*.s3.amazonaws.com`): certpin carries
///   no public suffix list.
const RECORDS: [Record; 2] = [
    Record {
        profile: None,
        pass: 9707,
        false_accept: 42,
        false_reject: 4,
        false_accepts: &[
            "rfc5280::aki::cross-signed-root-missing-aki",
            "rfc5280::aki::intermediate-missing-aki",
            "rfc5280::aki::leaf-missing-aki",
            "rfc5280::ca-empty-subject",
            "rfc5280::leaf-ku-keycertsign",
            "rfc5280::nc::invalid-dnsname-leading-period",
            "rfc5280::nc::not-allowed-in-ee-critical",
            "rfc5280::nc::not-allowed-in-ee-noncritical",
            "rfc5280::nc::permitted-dns-match-noncritical",
            "rfc5280::pc::ica-noncritical-pc",
            "rfc5280::root-non-critical-basic-constraints",
            "rfc5280::san::noncritical-with-empty-subject",
            "rfc5280::san::underscore-dns",
            "rfc5280::serial::too-long",
            "rfc5280::serial::zero",
            "rfc5280::ski::intermediate-missing-ski",
            "rfc5280::ski::root-missing-ski",
            "webpki::aki::root-with-aki-all-fields",
            "webpki::aki::root-with-aki-authoritycertissuer",
            "webpki::aki::root-with-aki-authoritycertserialnumber",
            "webpki::aki::root-with-aki-missing-keyidentifier",
            "webpki::aki::root-with-aki-ski-mismatch",
            "webpki::cn::case-mismatch",
            "webpki::cn::ipv4-hex-mismatch",
            "webpki::cn::ipv4-leading-zeros-mismatch",
            "webpki::cn::ipv6-non-rfc5952-mismatch",
            "webpki::cn::ipv6-uncompressed-mismatch",
            "webpki::cn::ipv6-uppercase-mismatch",
            "webpki::cn::not-in-san",
            "webpki::cn::punycode-not-in-san",
            "webpki::cn::utf8-vs-punycode-mismatch",
            "webpki::eku::ee-anyeku",
            "webpki::eku::ee-critical-eku",
            "webpki::eku::ee-without-eku",
            "webpki::eku::root-has-eku",
            "webpki::forbidden-rsa-not-divisible-by-8-in-root",
            "webpki::malformed-aia",
            "webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences",
            "webpki::nc::intermediate-permitted-excluded-subtrees-both-null",
            "webpki::san::public-suffix-multi-label-wildcard-san",
            "webpki::san::public-suffix-private-namespace-wildcard-san",
            "webpki::san::san-critical-with-nonempty-subject",
        ],
    },
    Record {
        profile: Some("web"),
        pass: 9741,
        false_accept: 8,
        false_reject: 4,
        false_accepts: &[
            "rfc5280::aki::cross-signed-root-missing-aki",
            "rfc5280::nc::permitted-dns-match-noncritical",
            "rfc5280::ski::root-missing-ski",
            "webpki::cn::not-in-san",
            "webpki::cn::punycode-not-in-san",
            "webpki::eku::ee-without-eku",
            "webpki::san::public-suffix-multi-label-wildcard-san",
            "webpki::san::public-suffix-private-namespace-wildcard-san",
        ],
    },
];

#[derive(Deserialize)]
struct Suite {
    testcases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    description: String,
    validation_kind: String,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    validation_time: Option<String>,
    signature_algorithms: Vec<serde_json::Value>,
    key_usage: Vec<serde_json::Value>,
    extended_key_usage: Vec<String>,
    expected_peer_name: Option<PeerName>,
    max_chain_depth: Option<serde_json::Value>,
    crls: Vec<serde_json::Value>,
    expected_result: String,
}

#[derive(Deserialize)]
struct PeerName {
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct Reference {
    results: Vec<ReferenceResult>,
}

#[derive(Deserialize)]
struct ReferenceResult {
    id: String,
    actual_result: String,
    context: Option<String>,
}

impl Case {
    /// The cases a certpin policy can express: a TLS server reached by DNS
    /// name or IP, no depth limit, no CRLs, no constraints on signature
    /// algorithms or key usage, and no EKU other than serverAuth.
    fn runnable(&self) -> bool {
        self.validation_kind == "SERVER"
            && self
                .expected_peer_name
                .as_ref()
                .is_some_and(|n| n.kind == "DNS" || n.kind == "IP")
            && self.max_chain_depth.is_none()
            && self.signature_algorithms.is_empty()
            && self.key_usage.is_empty()
            && self.crls.is_empty()
            && (self.extended_key_usage.is_empty() || self.extended_key_usage == ["serverAuth"])
    }

    fn namespace(&self) -> &str {
        self.id.split_once("::").map_or(self.id.as_str(), |(ns, _)| ns)
    }

    fn expects_success(&self) -> bool {
        self.expected_result == "SUCCESS"
    }
}

/// certpin's answer to one case.
struct Answer {
    accepted: bool,
    /// certpin's result code; `None` when no policy could be made.
    result: Option<PinResult>,
    /// The verdict's message, or why no policy could be made.
    message: String,
    /// The policy could not be loaded for a reason other than the host
    /// pattern (an anchor certpin cannot use).
    policy_error: bool,
}

fn der_of(pem: &str, what: &str, id: &str) -> Vec<Vec<u8>> {
    let ders: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap_or_else(|e| panic!("{id}: {what} is not PEM: {e:?}")).to_vec())
        .collect();
    assert!(!ders.is_empty(), "{id}: {what} holds no certificate");
    ders
}

fn unix_time(text: &str, id: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{id}: validation_time {text:?}: {e}"))
        .unix_timestamp()
}

fn run(case: &Case, profile: Option<&str>) -> Answer {
    let name = &case
        .expected_peer_name
        .as_ref()
        .expect("runnable cases have a peer name")
        .value;
    // A name that cannot even be a host pattern cannot be pinned: certpin
    // refuses it, which is a rejection.
    if let Err(e) = HostPattern::parse(name) {
        return Answer {
            accepted: false,
            result: None,
            message: format!("host pattern refused: {e}"),
            policy_error: false,
        };
    }
    let mut policy = serde_json::json!({
        "version": 1,
        "rules": [{
            "hosts": [name],
            "anchors": case.trusted_certs,
            "system_roots": false,
        }],
    });
    if let Some(profile) = profile {
        policy["rules"][0]["profile"] = profile.into();
    }
    let policy = match Policy::from_json(policy.to_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            return Answer {
                accepted: false,
                result: None,
                message: format!("policy refused: {e}"),
                policy_error: true,
            }
        }
    };
    let mut chain = der_of(&case.peer_certificate, "peer_certificate", &case.id).concat();
    for (i, pem) in case.untrusted_intermediates.iter().enumerate() {
        for der in der_of(pem, &format!("untrusted_intermediates[{i}]"), &case.id) {
            chain.extend_from_slice(&der);
        }
    }
    let time = case.validation_time.as_deref().map(|t| unix_time(t, &case.id));
    let verdict = certpin::verify(&policy, &chain, name, time);
    Answer {
        accepted: verdict.result == PinResult::PIN_OK,
        result: Some(verdict.result),
        message: verdict.message(),
        policy_error: false,
    }
}

#[derive(Default)]
struct Tally {
    ran: usize,
    pass: usize,
    false_accept: usize,
    false_reject: usize,
    skipped: usize,
    reference_pass: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.ran += other.ran;
        self.pass += other.pass;
        self.false_accept += other.false_accept;
        self.false_reject += other.false_reject;
        self.skipped += other.skipped;
        self.reference_pass += other.reference_pass;
    }

    fn row(&self, name: &str) -> String {
        let rate = if self.ran == 0 {
            0.0
        } else {
            100.0 * self.pass as f64 / self.ran as f64
        };
        format!(
            "| {name:<16} | {:>5} | {:>5} | {:>12} | {:>12} | {:>7} | {:>8} | {rate:>7.2} % |",
            self.ran, self.pass, self.false_accept, self.false_reject, self.skipped, self.reference_pass
        )
    }
}

/// `text` on one line, without Markdown code fences, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line = text
        .split_whitespace()
        .filter(|w| *w != "```")
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line
    }
}

fn outcome(reference: Option<&ReferenceResult>) -> String {
    reference.map_or("absent".to_string(), |r| {
        format!("{} ({})", r.actual_result, r.context.as_deref().unwrap_or("-"))
    })
}

fn load_reference(dir: &Path, name: &str) -> HashMap<String, ReferenceResult> {
    let text = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let r: Reference = serde_json::from_slice(&text).unwrap();
    r.results.into_iter().map(|r| (r.id.clone(), r)).collect()
}

#[test]
#[cfg_attr(
    limbo_suite_absent,
    ignore = "x509-limbo is absent: ../shared/limbo/limbo.json (build.rs)"
)]
fn x509_limbo() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/limbo");
    let suite_path: PathBuf = dir.join("limbo.json");
    if !suite_path.exists() {
        let msg = format!(
            "x509-limbo: {} is absent; conformance run skipped",
            suite_path.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{msg} (CI is set, so this fails)");
        println!("{msg}");
        return;
    }
    let started = Instant::now();
    let bytes = std::fs::read(&suite_path).unwrap();
    let suite: Suite = serde_json::from_slice(&bytes).unwrap();
    drop(bytes);
    let reference = load_reference(&dir, REFERENCE);
    let pyca = load_reference(&dir, PYCA);
    println!("x509-limbo loaded in {:.1} s", started.elapsed().as_secs_f64());
    let mut failures = Vec::new();
    for record in &RECORDS {
        failures.extend(run_profile(&suite, &reference, &pyca, record));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs every runnable case under one profile, prints its tables and lists,
/// and returns what differs from its record.
fn run_profile(
    suite: &Suite,
    reference: &HashMap<String, ReferenceResult>,
    pyca: &HashMap<String, ReferenceResult>,
    record: &Record,
) -> Vec<String> {
    let started = Instant::now();
    let label = record.profile.unwrap_or("private (default)");
    let runnable: Vec<&Case> = suite.testcases.iter().filter(|c| c.runnable()).collect();
    let answers: Vec<Mutex<Option<Answer>>> = runnable.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = runnable.get(i) else { break };
                *answers[i].lock().unwrap() = Some(run(case, record.profile));
            });
        }
    });
    let answers: Vec<Answer> = answers
        .into_iter()
        .map(|a| a.into_inner().unwrap().expect("every case answered"))
        .collect();
    let verified = started.elapsed();

    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for case in suite.testcases.iter().filter(|c| !c.runnable()) {
        tallies.entry(case.namespace()).or_default().skipped += 1;
    }
    let mut unshared_false_accepts = Vec::new();
    let mut false_accepts = Vec::new();
    let mut differences = Vec::new();
    let mut false_rejects = Vec::new();
    let mut policy_errors = Vec::new();
    let mut names_refused = Vec::new();
    let mut pyca_accepts_certpin_rejects = Vec::new();
    for (case, answer) in runnable.iter().zip(&answers) {
        let tally = tallies.entry(case.namespace()).or_default();
        let reference = reference.get(&case.id);
        let reference_accepted = reference.is_some_and(|r| r.actual_result == "SUCCESS");
        let reference_ran = reference.is_some_and(|r| r.actual_result != "SKIPPED");
        tally.ran += 1;
        if reference_ran && reference_accepted == case.expects_success() {
            tally.reference_pass += 1;
        }
        match (case.expects_success(), answer.accepted) {
            (true, true) | (false, false) => tally.pass += 1,
            (false, true) => {
                tally.false_accept += 1;
                false_accepts.push((case, reference, pyca.get(&case.id)));
                if !reference_accepted {
                    unshared_false_accepts.push(case.id.as_str());
                }
            }
            (true, false) => {
                tally.false_reject += 1;
                false_rejects.push((case, answer, reference));
            }
        }
        if pyca.get(&case.id).is_some_and(|r| r.actual_result == "SUCCESS") && !answer.accepted {
            pyca_accepts_certpin_rejects.push((case, answer));
        }
        if answer.policy_error {
            policy_errors.push((case, answer));
        } else if answer.result.is_none_or(|r| r == PinResult::PIN_ERR_INVALID_ARGUMENT) {
            names_refused.push((case, answer));
        }
        if !reference_ran || reference_accepted != answer.accepted {
            differences.push((case, answer, reference));
        }
    }

    let header = "| namespace        |   ran |  pass | false accept | false reject | skipped | ref pass | pass rate |";
    let rule = "|------------------|-------|-------|--------------|--------------|---------|----------|-----------|";
    println!("\n## x509-limbo through certpin::verify, profile {label} ({workers} threads)");
    println!("{header}\n{rule}");
    let (mut others, mut total) = (Tally::default(), Tally::default());
    for (ns, tally) in &tallies {
        println!("{}", tally.row(ns));
        if *ns != "bettertls" {
            others.add(tally);
        }
        total.add(tally);
    }
    println!("{rule}");
    if let Some(b) = tallies.get("bettertls") {
        println!("{}", b.row("bettertls"));
    }
    println!("{}", others.row("all but bettertls"));
    println!("{}", total.row("total"));
    println!(
        "reference {REFERENCE}: {} passes on the {} cases run; certpin ({label}): {}",
        total.reference_pass, total.ran, total.pass
    );
    println!("time: {:.1} s verifying {} cases", verified.as_secs_f64(), total.ran);

    println!("\nfalse accepts, profile {label} ({}):", false_accepts.len());
    for (case, reference, pyca) in &false_accepts {
        println!(
            "  {}  webpki: {}  pyca: {}  features: {:?}",
            case.id,
            outcome(*reference),
            outcome(*pyca),
            case.features
        );
        println!("      {}", one_line(&case.description, 300));
    }
    println!("\nfalse rejects, profile {label} ({}):", false_rejects.len());
    for (case, answer, reference) in &false_rejects {
        println!("  {}  reference: {}", case.id, outcome(*reference));
        println!("      certpin: {}", one_line(&answer.message, 300));
        println!("      {}", one_line(&case.description, 300));
    }
    println!(
        "\ncases where certpin ({label}) and the reference differ ({}):",
        differences.len()
    );
    for (case, answer, reference) in &differences {
        println!(
            "  {}  expected {}  certpin {}  reference {}",
            case.id,
            case.expected_result,
            if answer.accepted { "SUCCESS" } else { "FAILURE" },
            outcome(*reference)
        );
        println!("      certpin: {}", one_line(&answer.message, 300));
        println!("      {}", one_line(&case.description, 300));
    }
    if !pyca_accepts_certpin_rejects.is_empty() {
        println!("\ncases pyca accepts and certpin ({label}) rejects:");
        for (case, answer) in &pyca_accepts_certpin_rejects {
            println!(
                "  {} (expected {}): {}",
                case.id,
                case.expected_result,
                one_line(&answer.message, 200)
            );
        }
    }
    if !names_refused.is_empty() {
        println!("\npeer names certpin refuses (counted as rejections):");
        for (case, answer) in &names_refused {
            println!("  {} (expected {}): {}", case.id, case.expected_result, answer.message);
        }
    }
    if !policy_errors.is_empty() {
        println!("\npolicies certpin refused (counted as rejections):");
        for (case, answer) in &policy_errors {
            println!("  {} (expected {}): {}", case.id, case.expected_result, answer.message);
        }
    }

    let mut failures = Vec::new();
    if total.ran == 0 {
        failures.push("no runnable case".to_string());
    }
    if !unshared_false_accepts.is_empty() {
        failures.push(format!(
            "{label}: certpin accepts cases the reference rejects: {unshared_false_accepts:?}"
        ));
    }
    let counts = (total.pass, total.false_accept, total.false_reject);
    let recorded = (record.pass, record.false_accept, record.false_reject);
    if counts != recorded {
        failures.push(format!(
            "{label}: (pass, false accepts, false rejects) are {counts:?}, the record says {recorded:?}"
        ));
    }
    let mut ids: Vec<&str> = false_accepts.iter().map(|(c, _, _)| c.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = record.false_accepts.to_vec();
    expected.sort_unstable();
    if ids != expected {
        failures.push(format!(
            "{label}: the false accepts are {ids:?}, the record lists {expected:?}"
        ));
    }
    failures
}
