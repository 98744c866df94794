//! How certpin scales with the size of a policy: loading a policy of 100 and
//! of 10,000 rules (exact, `*.` and `**.` patterns mixed, each rule with an
//! inline PEM anchor and its own pin), plain and as a signed update (Ed25519
//! signature checked, then the policy inside), looking hosts up in both (hits
//! of each kind and a miss), and loading the operating system's trust store,
//! which a process does once.
//!
//! `cargo bench --bench scale` runs criterion on every case, then prints a
//! Markdown table of interleaved medians. Under `cargo test` each case runs
//! once and its answer is checked.

mod pki;
mod timing;

use std::hint::black_box;
use std::time::Duration;

use certpin::roots::Anchor;
use certpin::update::{self, SigningKey};
use certpin::{Host, PinResult, Policy, TrustedKey};
use criterion::Criterion;
use pki::{json_string, Chain, KeyType};
use timing::Case;

/// The host rule `i` of a generated policy covers, and a host it matches.
fn pattern_and_host(i: usize) -> (String, String) {
    match i % 3 {
        0 => (format!("api{i}.fleet.example.com"), format!("api{i}.fleet.example.com")),
        1 => (format!("*.svc{i}.example.com"), format!("node-7.svc{i}.example.com")),
        _ => (format!("**.zone{i}.example.org"), format!("a.b.c.zone{i}.example.org")),
    }
}

/// A distinct, well-formed pin for rule `i`.
fn pin(i: usize) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, &i.to_le_bytes());
    format!("sha256/{}", data_encoding::BASE64.encode(hash.as_ref()))
}

/// A policy of `rules` rules, all trusting `anchor_pem`.
fn policy_json(rules: usize, anchor_pem: &str) -> String {
    let anchor = json_string(anchor_pem);
    let body: Vec<String> = (0..rules)
        .map(|i| {
            let (pattern, _) = pattern_and_host(i);
            format!(
                r#"{{"hosts": [{}], "anchors": [{anchor}], "pins": [{}]}}"#,
                json_string(&pattern),
                json_string(&pin(i))
            )
        })
        .collect();
    format!(r#"{{"version": 1, "rules": [{}]}}"#, body.join(",\n"))
}

/// The system store as certpin loads it (once per process), done afresh.
fn load_system_store() -> usize {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .filter_map(|der| Anchor::from_der(der).ok())
        .count()
}

/// A generated policy with the hosts to look up in it.
struct Sized {
    rules: usize,
    json: String,
    /// The same policy as a signed update, and the key that signed it.
    update: Vec<u8>,
    key: TrustedKey,
    policy: Policy,
    /// (label, host, the rule expected) per lookup case.
    lookups: Vec<(&'static str, String, Option<usize>)>,
}

impl Sized {
    fn new(rules: usize, chain: &Chain) -> Self {
        let json = policy_json(rules, &chain.root.pem);
        let policy = Policy::from_json(json.as_bytes()).expect("generated policy loads");
        assert_eq!(policy.rules().len(), rules);
        // Hits in the middle of the policy, one per pattern kind, and a miss.
        let middle = rules / 2 - rules / 2 % 3;
        let lookups = vec![
            ("exact", pattern_and_host(middle).1, Some(middle)),
            ("`*.`", pattern_and_host(middle + 1).1, Some(middle + 1)),
            ("`**.`", pattern_and_host(middle + 2).1, Some(middle + 2)),
            ("miss", "api.unlisted.example.net".to_string(), None),
        ];
        for (what, host, expected) in &lookups {
            let host = Host::parse(host).expect("valid host");
            assert_eq!(policy.rule_for(&host).map(|r| r.index()), *expected, "{what} {host}");
        }
        // Every rule names the same anchor, loaded once and shared: a rule in
        // the middle still validates a path to it (and then finds no pin).
        let verdict = certpin::verify(&policy, &chain.served, &lookups[0].1, None);
        assert_eq!(verdict.result, PinResult::PIN_ERR_PIN_MISMATCH, "{}", verdict.message());
        let signer = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().expect("random")).expect("a fresh key");
        let payload = update::payload(1, "4000-01-01T00:00:00Z", json.as_bytes()).expect("the policy signs");
        let update = update::sign(&payload, &[&signer]);
        let key = signer.public_key();
        let loaded = Policy::from_update(&update, &[key], 0, None).expect("the update loads");
        assert_eq!(loaded.rules().len(), rules);
        Self {
            rules,
            json,
            update,
            key,
            policy,
            lookups,
        }
    }

    fn cases(&self) -> Vec<Case<'_>> {
        let n = self.rules;
        let mut cases = vec![Case::new(
            format!("load/{n}"),
            format!("load a policy of {n} rules (JSON, {} KiB)", self.json.len() / 1024),
            || {
                black_box(Policy::from_json(black_box(self.json.as_bytes())).is_ok());
            },
        )];
        cases.push(Case::new(
            format!("load-update/{n}"),
            "load it as a signed update (Ed25519 signature, then the policy)",
            || {
                let keys = [self.key];
                black_box(Policy::from_update(black_box(&self.update), &keys, 0, None).is_ok());
            },
        ));
        for (what, host, _) in &self.lookups {
            let parsed = Host::parse(host).expect("valid host");
            cases.push(Case::new(
                format!("lookup/{n}/{what}"),
                format!("host lookup, {what} (parse + rule_for)"),
                move || {
                    let host = Host::parse(black_box(host)).expect("valid host");
                    black_box(self.policy.rule_for(&host).map(|r| r.index()));
                },
            ));
            cases.push(Case::new(
                format!("rule-for/{n}/{what}"),
                format!("host lookup, {what} (rule_for of a parsed host)"),
                move || {
                    black_box(self.policy.rule_for(black_box(&parsed)).map(|r| r.index()));
                },
            ));
        }
        cases
    }
}

fn main() {
    let chain = Chain::new(KeyType::EcdsaP256);
    let sizes = [Sized::new(100, &chain), Sized::new(10_000, &chain)];
    let system_anchors = load_system_store();
    let benchmarking = timing::benchmarking();

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    for size in &sizes {
        for mut case in size.cases() {
            criterion.bench_function(&case.id, |b| b.iter(&mut case.run));
        }
    }
    criterion.bench_function("system-store", |b| b.iter(load_system_store));
    criterion.final_summary();
    if !timing::table_wanted() {
        return;
    }

    let mut cases: Vec<Case<'_>> = sizes.iter().flat_map(Sized::cases).collect();
    let per_size = cases.len() / sizes.len();
    cases.push(Case::new(
        "system-store",
        format!("load the system store ({system_anchors} anchors)"),
        || {
            black_box(load_system_store());
        },
    ));
    let rounds = if benchmarking { 100 } else { 0 };
    let medians = timing::medians(&mut cases, rounds, Duration::from_micros(400));
    println!("\n## Policy scale ({})\n", timing::method(rounds));
    println!("{}\n", timing::machine());
    for size in &sizes {
        println!(
            "- {} rules: {} KiB of JSON, {} KiB as a signed update",
            size.rules,
            size.json.len() / 1024,
            size.update.len() / 1024
        );
    }
    println!();
    print!("| case |");
    for size in &sizes {
        print!(" {} rules |", size.rules);
    }
    println!("\n|---|{}", "---:|".repeat(sizes.len()));
    for row in 0..per_size {
        let name = cases[row].name.replace(&format!("{} rules", sizes[0].rules), "N rules");
        let name = name.split(" (JSON").next().unwrap_or(&name).to_string();
        print!("| {name} |");
        for k in 0..sizes.len() {
            print!(" {} |", timing::micros(medians[k * per_size + row]));
        }
        println!();
    }
    println!(
        "\n{}: {}",
        cases[cases.len() - 1].name,
        timing::micros(medians[medians.len() - 1])
    );
}
