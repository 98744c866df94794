//! The bodies of certpin's fuzz targets.
//!
//! The libFuzzer binaries in `fuzz_targets/` call these functions, and
//! `tests/fuzz_corpus.rs` includes this file to replay the committed corpus
//! through the very same code without a fuzz engine, so `make test` checks
//! every seed and every former crash deterministically.
//!
//! A body panics only when certpin broke a property: a panic inside certpin,
//! an answer of the wrong kind, an acceptance nothing could justify, or a
//! value that does not survive its own printing and parsing.

use std::sync::OnceLock;

use certpin::host::HostIndex;
use certpin::{flags, update, verify, Host, HostPattern, Pin, PinResult, Policy, SigningKey, Verdict};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

/// The time every verification is made at (2030-01-01T00:00:00Z), so that a
/// corpus entry gives the same answer on every run.
pub const AT: i64 = 1_893_456_000;

/// The hosts the served chains are checked for: covered by each kind of rule,
/// by a report-only rule, by an IP pattern, and by none.
pub const HOSTS: [&str; 6] = [
    "a.example.com",
    "x.b.example.com",
    "127.0.0.1",
    "localhost",
    "www.report.example",
    "unlisted.example.net",
];

/// One certificate of the fuzzing PKI.
pub struct Cert {
    /// DER.
    pub der: Vec<u8>,
    /// PEM.
    pub pem: String,
    /// `sha256/…` of its key.
    pub pin: String,
}

/// A small PKI that is the same on every run: Ed25519 keys from fixed seeds
/// (Ed25519 signatures are deterministic, and rcgen derives the serial from
/// the key), validity 1975–4096. So the committed corpus keeps reaching path
/// building, pins and host names instead of going stale.
pub struct Pki {
    /// The private CA the main rule trusts.
    pub root: Cert,
    /// Its intermediate, whose key the main rule pins.
    pub inter: Cert,
    /// A server certificate under `inter` for `a.example.com`,
    /// `*.b.example.com` and `127.0.0.1`.
    pub leaf: Cert,
    /// Another CA the main rule trusts, but whose paths carry no pin.
    pub other_root: Cert,
    /// A server certificate under `other_root` for `a.example.com`.
    pub other_leaf: Cert,
    /// A self-signed server as `openssl req -x509` makes it (CN=localhost,
    /// CA:TRUE, no SAN), pinned as an anchor.
    pub self_signed: Cert,
    /// A server certificate under `inter` that expired in 2001.
    pub expired: Cert,
    /// Quick PEM policy: trust exactly `self_signed`.
    pub anchor_policy: Policy,
    /// The JSON policy with CA, self-signed and report-only rules and small caches.
    pub ca_policy: Policy,
    /// The same JSON policy without caches.
    pub ca_policy_uncached: Policy,
}

/// PKCS#8 v1 of the Ed25519 private key whose seed is 32 times `seed` (RFC
/// 8410): a fixed header, then the seed.
fn pkcs8(seed: u8) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    der.extend([seed; 32]);
    der
}

fn key(seed: u8) -> KeyPair {
    KeyPair::try_from(pkcs8(seed).as_slice()).expect("a valid Ed25519 PKCS#8 key")
}

/// The keys of the fuzzing updates: the one `policy_update` trusts, a
/// stranger that signs some seeds, and a bystander that signs nothing. Fixed,
/// so that committed updates keep verifying.
pub struct UpdateKeys {
    /// Trusted by `policy_update`.
    pub trusted: SigningKey,
    /// Not trusted; signs some seeds.
    pub stranger: SigningKey,
    /// Not trusted; signs nothing.
    pub bystander: SigningKey,
}

/// The fuzzing update keys, made on first use.
pub fn update_keys() -> &'static UpdateKeys {
    static KEYS: OnceLock<UpdateKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |seed| SigningKey::from_pkcs8(&pkcs8(seed)).expect("a valid Ed25519 PKCS#8 key");
        UpdateKeys {
            trusted: key(101),
            stranger: key(102),
            bystander: key(103),
        }
    })
}

fn params(cn: &str, names: &[&str], ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid names");
    p.distinguished_name.push(DnType::CommonName, cn);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    }
    p
}

/// Signs `p` for the key of `seed`, by `issuer` (params and seed) or by itself.
fn make(p: CertificateParams, seed: u8, issuer: Option<(&CertificateParams, u8)>) -> (Cert, CertificateParams) {
    let k = key(seed);
    let cert = match issuer {
        Some((ip, iseed)) => {
            let ik = key(iseed);
            p.signed_by(&k, &rcgen::Issuer::from_params(ip, &ik))
        }
        None => p.self_signed(&k),
    }
    .expect("rcgen signs");
    let pin = Pin::of_spki_der(&rcgen::PublicKeyData::subject_public_key_info(&k)).to_string();
    (
        Cert {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            pin,
        },
        p,
    )
}

fn js(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// `size` is that of both caches, the verification cache and the signature cache.
fn ca_policy_json(pki: &Pki, size: usize) -> String {
    format!(
        r#"{{"version": 1, "cache_size": {size}, "signature_cache_size": {size}, "rules": [
  {{"hosts": ["a.example.com", "*.b.example.com", "127.0.0.1"], "anchors": [{}, {}], "pins": [{}]}},
  {{"hosts": ["localhost"], "anchors": [{}], "pins": [{}]}},
  {{"hosts": ["**.report.example"], "anchors": [{}], "pins": [{}], "report_only": true}}
]}}"#,
        js(&pki.root.pem),
        js(&pki.other_root.pem),
        js(&pki.inter.pin),
        js(&pki.self_signed.pem),
        js(&pki.self_signed.pin),
        js(&pki.root.pem),
        js(&pki.other_root.pin),
    )
}

/// The PKI, generated on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let (root, root_p) = make(params("certpin fuzz root", &[], true), 1, None);
        let (inter, inter_p) = make(params("certpin fuzz intermediate", &[], true), 2, Some((&root_p, 1)));
        let names = ["a.example.com", "*.b.example.com", "127.0.0.1"];
        let (leaf, _) = make(params("a.example.com", &names, false), 3, Some((&inter_p, 2)));
        let (other_root, other_p) = make(params("certpin fuzz other root", &[], true), 4, None);
        let (other_leaf, _) = make(params("a.example.com", &names[..1], false), 5, Some((&other_p, 4)));
        let mut ss = CertificateParams::new(Vec::<String>::new()).expect("no names");
        ss.distinguished_name.push(DnType::CommonName, "localhost");
        ss.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let (self_signed, _) = make(ss, 6, None);
        let mut old = params("a.example.com", &names, false);
        old.not_before = rcgen::date_time_ymd(2000, 1, 1);
        old.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let (expired, _) = make(old, 7, Some((&inter_p, 2)));
        let placeholder = || Policy::from_pem(self_signed.pem.as_bytes()).expect("a PEM policy");
        let mut pki = Pki {
            anchor_policy: placeholder(),
            ca_policy: placeholder(),
            ca_policy_uncached: placeholder(),
            root,
            inter,
            leaf,
            other_root,
            other_leaf,
            self_signed,
            expired,
        };
        let load = |json: String| Policy::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{json}"));
        pki.ca_policy = load(ca_policy_json(&pki, 4));
        pki.ca_policy_uncached = load(ca_policy_json(&pki, 0));
        pki
    })
}

/// The served chain: the certificates' DER concatenated in order.
pub fn chain(certs: &[&Cert]) -> Vec<u8> {
    certs.iter().flat_map(|c| c.der.iter().copied()).collect()
}

/// Properties every verdict has, whatever the input.
fn check_verdict(v: &Verdict<'_>, data: &[u8], context: &str) {
    let message = v.message();
    if v.ok() {
        assert!(
            v.flags & (flags::VOUCHED | flags::REPORT_ONLY) != 0,
            "{context}: PIN_OK without VOUCHED or REPORT_ONLY under a policy that rejects unlisted hosts"
        );
        assert_eq!(
            v.flags & flags::REPORT_ONLY != 0,
            v.violation.is_some(),
            "{context}: a report-only acceptance carries its violation, and only it"
        );
        if let Some(violation) = &v.violation {
            assert!(violation.result.is_rule_rejection(), "{context}: {message}");
        }
    } else {
        assert_eq!(v.flags, 0, "{context}: a rejection has no flags");
        assert!(message.starts_with(v.result.name()), "{context}: {message}");
    }
    match certpin::chain::split(data) {
        Err(e) => assert_eq!(v.result, e.result, "{context}: the chain cannot be split: {message}"),
        Ok(certs) => assert!(!certs.is_empty(), "{context}: an empty chain was split"),
    }
}

/// Target `chain_verify`: the input is a served chain, verified for every host
/// of [`HOSTS`] under a leaf-identical anchor policy and under a CA policy
/// (with and without its cache). Since the fuzzer cannot forge a signature,
/// every vouched acceptance must rest on a genuine certificate of the PKI,
/// and under the pinned CA rule on a path through the pinned intermediate.
pub fn chain_verify(data: &[u8]) {
    let pki = pki();
    let certs = certpin::chain::split(data).unwrap_or_default();
    for host in HOSTS {
        let v = verify(&pki.anchor_policy, data, host, Some(AT));
        check_verdict(&v, data, &format!("anchor policy, {host}"));
        if v.flags & flags::VOUCHED != 0 {
            assert_eq!(certs[0], pki.self_signed.der, "anchor policy, {host}: {}", v.message());
        }

        let v = verify(&pki.ca_policy, data, host, Some(AT));
        check_verdict(&v, data, &format!("CA policy, {host}"));
        let fresh = verify(&pki.ca_policy_uncached, data, host, Some(AT));
        assert_eq!(
            (v.result, v.flags & !flags::CACHED),
            (fresh.result, fresh.flags),
            "CA policy, {host}: the cache changed the answer: {} / {}",
            v.message(),
            fresh.message()
        );
        if v.flags & flags::VOUCHED != 0 {
            let leaf = certs[0];
            if leaf == pki.self_signed.der {
                assert_eq!(host, "localhost", "the self-signed server vouched for {host}");
            } else {
                assert_eq!(leaf, pki.leaf.der, "CA policy, {host}: an unknown leaf was vouched for");
                assert!(
                    certs[1..].contains(&pki.inter.der.as_slice()),
                    "CA policy, {host}: accepted without the pinned intermediate"
                );
            }
        }
    }
}

/// Whether `data` is accepted and vouched for, for some host, under the CA
/// policy: the replay checks that the corpus still reaches acceptance.
pub fn vouched_somewhere(data: &[u8]) -> bool {
    let pki = pki();
    HOSTS.iter().any(|host| {
        [&pki.anchor_policy, &pki.ca_policy_uncached]
            .iter()
            .any(|p| verify(p, data, host, Some(AT)).flags & flags::VOUCHED != 0)
    })
}

/// Properties of a loaded policy: patterns and pins print as text that parses
/// back to them, every rule has a trust source, an exact pattern finds its
/// own rule, and a verification through it gives a well-formed verdict.
fn check_policy(policy: &Policy) {
    assert!(!policy.rules().is_empty(), "a policy without rules loaded");
    for (i, rule) in policy.rules().iter().enumerate() {
        assert_eq!(rule.index(), i);
        assert!(!rule.patterns().is_empty(), "rule {i} has no pattern");
        assert!(
            !rule.anchors().is_empty() || rule.system_roots(),
            "rule {i} has no trust source"
        );
        for pattern in rule.patterns() {
            assert_eq!(HostPattern::parse(&pattern.to_string()).as_ref(), Ok(pattern));
            if let HostPattern::Exact(host) = pattern {
                assert_eq!(policy.rule_for(host).map(|r| r.index()), Some(i), "{pattern}");
            }
        }
        for pin in rule.pins() {
            assert_eq!(Pin::parse(&pin.to_string()), Ok(*pin));
        }
    }
    let pki = pki();
    let served = chain(&[&pki.leaf, &pki.inter]);
    for host in ["a.example.com", "localhost"] {
        let v = verify(policy, &served, host, Some(AT));
        if v.ok() && v.flags & flags::UNLISTED == 0 {
            assert!(v.flags & (flags::VOUCHED | flags::REPORT_ONLY) != 0, "{}", v.message());
        }
        let _ = v.message();
    }
}

/// Target `policy_json`: the input is a JSON policy.
pub fn policy_json(data: &[u8]) {
    // Anchor paths are read from disk; a device could block or never end, which
    // says nothing about the parser.
    if [&b"/dev/"[..], b"/proc/", b"/sys/"]
        .iter()
        .any(|dir| data.windows(dir.len()).any(|w| w == *dir))
    {
        return;
    }
    match Policy::from_json(data) {
        Ok(policy) => check_policy(&policy),
        Err(e) => {
            assert!(
                matches!(
                    e.result,
                    PinResult::PIN_ERR_POLICY_IO | PinResult::PIN_ERR_POLICY_SYNTAX | PinResult::PIN_ERR_POLICY_INVALID
                ),
                "{e}"
            );
            assert!(!e.detail.is_empty());
        }
    }
}

/// Target `policy_pem`: the input is a quick PEM policy. A loaded one
/// trusts exactly its certificates: written out again as PEM, they load to
/// the same anchors.
pub fn policy_pem(data: &[u8]) {
    match Policy::from_pem(data) {
        Ok(policy) => {
            check_policy(&policy);
            let anchors = policy.rules()[0].anchors();
            assert!(!anchors.is_empty());
            let pem: String = anchors
                .iter()
                .map(|a| {
                    let b64 = data_encoding::BASE64.encode(a.der.as_ref());
                    let lines: Vec<&str> = b64
                        .as_bytes()
                        .chunks(64)
                        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
                        .collect();
                    format!(
                        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                        lines.join("\n")
                    )
                })
                .collect();
            let again = Policy::from_pem(pem.as_bytes()).expect("written-out anchors load again");
            let ders = |p: &Policy| {
                p.rules()[0]
                    .anchors()
                    .iter()
                    .map(|a| a.der.to_vec())
                    .collect::<Vec<_>>()
            };
            assert_eq!(ders(&again), ders(&policy));
            for anchor in anchors {
                let v = verify(&policy, anchor.der.as_ref(), "localhost", Some(AT));
                check_verdict(&v, anchor.der.as_ref(), "an anchor served as the chain");
            }
        }
        Err(e) => {
            assert_eq!(e.result, PinResult::PIN_ERR_POLICY_SYNTAX, "{e}");
            assert!(!e.detail.is_empty());
        }
    }
}

/// Target `policy_update`: the input is a signed update file, and, signed
/// here with the trusted fuzzing key, an update's payload (so that the parser
/// behind the signature is reached too). Never a panic; a refusal is one of
/// the loader's codes with a message, and never a signature failure for what
/// was signed here; an update that loads is refused as a replay of itself,
/// once expired, and by a loader trusting another key, and its policy loads
/// as a plain policy too.
pub fn policy_update(data: &[u8]) {
    let keys = update_keys();
    check_update(data, false);
    check_update(&update::sign(data, &[&keys.trusted]), true);
    // Whatever the payload, a signature by an untrusted key alone is refused as such.
    let e = Policy::from_update(
        &update::sign(data, &[&keys.stranger]),
        &[keys.trusted.public_key()],
        0,
        Some(AT),
    )
    .expect_err("signed by a stranger");
    assert_eq!(e.result, PinResult::PIN_ERR_UPDATE_SIGNATURE, "{e}");
}

fn check_update(file: &[u8], signed_here: bool) {
    let keys = update_keys();
    let trusted = [keys.trusted.public_key()];
    let policy = match Policy::from_update(file, &trusted, 0, Some(AT)) {
        Ok(policy) => policy,
        Err(e) => {
            assert!(!e.detail.is_empty());
            assert!(
                matches!(
                    e.result,
                    PinResult::PIN_ERR_POLICY_IO
                        | PinResult::PIN_ERR_POLICY_SYNTAX
                        | PinResult::PIN_ERR_POLICY_INVALID
                        | PinResult::PIN_ERR_UPDATE_SIGNATURE
                        | PinResult::PIN_ERR_UPDATE_EXPIRED
                ),
                "{e}"
            );
            assert!(
                !(signed_here && e.result == PinResult::PIN_ERR_UPDATE_SIGNATURE),
                "a payload signed by the trusted key was refused as unsigned: {e}"
            );
            return;
        }
    };
    check_policy(&policy);
    let info = policy.update().expect("a policy from an update knows it");
    assert!(info.sequence >= 1 && info.expires > AT, "{info:?}");
    assert_eq!(info.signed_by, trusted);
    let bystander = [keys.bystander.public_key()];
    let refused = |keys: &[certpin::TrustedKey], min_sequence: u64, at: i64| {
        Policy::from_update(file, keys, min_sequence, Some(at))
            .map(|_| ())
            .expect_err("must be refused")
            .result
    };
    assert_eq!(refused(&trusted, info.sequence, AT), PinResult::PIN_ERR_UPDATE_ROLLBACK);
    assert_eq!(
        refused(&trusted, info.sequence - 1, info.expires),
        PinResult::PIN_ERR_UPDATE_EXPIRED
    );
    assert_eq!(refused(&bystander, 0, AT), PinResult::PIN_ERR_UPDATE_SIGNATURE);
    let envelope: serde_json::Value = serde_json::from_slice(file).expect("a loaded update is JSON");
    let payload = data_encoding::BASE64
        .decode(envelope["payload"].as_str().expect("a payload string").as_bytes())
        .expect("base64");
    let payload: serde_json::Value = serde_json::from_slice(&payload).expect("a loaded payload is JSON");
    let plain = payload["policy"].to_string();
    if let Err(e) = Policy::from_json(plain.as_bytes()) {
        panic!("an update's policy does not load as a policy: {e}\n{plain}");
    }
}

/// The rule for `host` by the precedence the policy format defines, computed
/// the slow way: of all patterns that match, the most specific wins; exact
/// first, then the longest fixed suffix, `*.` before `**.` at equal suffix,
/// `*` last. Among equal patterns the first one counts. Written apart from
/// `HostIndex` so the two can be compared.
pub fn rule_by_precedence(patterns: &[HostPattern], host: &Host) -> Option<usize> {
    let rank = |p: &HostPattern| -> (u8, usize, u8) {
        match p {
            HostPattern::Exact(_) => (3, 0, 0),
            HostPattern::OneLabel(suffix) => (2, suffix.len(), 1),
            HostPattern::AnyDepth(suffix) => (2, suffix.len(), 0),
            HostPattern::Everything => (1, 0, 0),
        }
    };
    let mut best: Option<(usize, (u8, usize, u8))> = None;
    for (i, p) in patterns.iter().enumerate() {
        if !p.matches(host) {
            continue;
        }
        let r = rank(p);
        if best.is_none_or(|(_, b)| r > b) {
            best = Some((i, r));
        }
    }
    best.map(|(i, _)| i)
}

/// Most patterns `host_rules` reads, to keep one input's work bounded.
const MAX_PATTERNS: usize = 64;

/// Target `host_rules`: the input is text, one host pattern per line, and the
/// last line is a host. Checks that hosts and patterns print as text that
/// parses back to them, that the rule index agrees with
/// [`rule_by_precedence`], and that `verify` through a policy with one rule
/// per pattern picks that same rule.
pub fn host_rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let host_text = lines.pop().unwrap_or_default();
    lines.truncate(MAX_PATTERNS);

    let host = Host::parse(host_text);
    if let Ok(h) = &host {
        assert_eq!(Host::parse(&h.to_string()).as_ref(), Ok(h), "{host_text:?}");
    }
    let mut patterns: Vec<(HostPattern, &str)> = Vec::new();
    let mut index = HostIndex::default();
    for line in lines {
        let Ok(pattern) = HostPattern::parse(line) else {
            continue;
        };
        assert_eq!(
            HostPattern::parse(&pattern.to_string()).as_ref(),
            Ok(&pattern),
            "{line:?}"
        );
        match index.insert(&pattern, patterns.len()) {
            Ok(()) => patterns.push((pattern, line)),
            Err(prev) => assert_eq!(patterns[prev].0, pattern, "a duplicate is reported against its twin"),
        }
    }
    let parsed: Vec<HostPattern> = patterns.iter().map(|(p, _)| p.clone()).collect();
    let expected = host.as_ref().ok().and_then(|h| rule_by_precedence(&parsed, h));
    if let Ok(h) = &host {
        assert_eq!(index.lookup(h), expected, "host {h}, patterns {parsed:?}");
    }
    if patterns.is_empty() {
        return;
    }

    let pki = pki();
    let rules: Vec<String> = patterns
        .iter()
        .map(|(_, text)| format!(r#"{{"hosts": [{}], "anchors": [{}]}}"#, js(text), js(&pki.root.pem)))
        .collect();
    let json = format!(r#"{{"version": 1, "cache_size": 0, "rules": [{}]}}"#, rules.join(","));
    let policy = Policy::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("distinct valid patterns load: {e}"));
    if let Ok(h) = &host {
        assert_eq!(policy.rule_for(h).map(|r| r.index()), expected, "host {h}");
    }
    let v = verify(&policy, &chain(&[&pki.leaf, &pki.inter]), host_text, Some(AT));
    match (&host, expected) {
        (Err(_), _) => assert_eq!(v.result, PinResult::PIN_ERR_INVALID_ARGUMENT, "{}", v.message()),
        (Ok(_), None) => assert_eq!(v.result, PinResult::PIN_ERR_HOST_NOT_COVERED, "{}", v.message()),
        (Ok(h), Some(_)) => {
            let named = matches!(h, Host::Ip(ip) if ip.to_string() == "127.0.0.1")
                || matches!(h, Host::Dns(n) if n == "a.example.com" || n.split_once('.').is_some_and(|(_, rest)| rest == "b.example.com"));
            let want = if named {
                PinResult::PIN_OK
            } else {
                PinResult::PIN_ERR_HOSTNAME_MISMATCH
            };
            assert_eq!(v.result, want, "{}", v.message());
        }
    }
}

/// Target `pin_parse`: the input is a pin text. A parsed pin prints as text
/// that parses back to it, in each of the three spellings.
pub fn pin_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Pin::parse(&text) {
        Ok(pin) => {
            let b64 = pin.base64();
            assert_eq!(b64.len(), 44);
            for spelling in [
                pin.to_string(),
                format!("sha256//{b64}"),
                format!("pin-sha256=\"{b64}\""),
            ] {
                assert_eq!(Pin::parse(&spelling), Ok(pin), "{spelling}");
            }
        }
        Err(e) => assert!(!e.0.is_empty()),
    }
}

/// The seed corpus, by target and file name: what `tests/fuzz_corpus.rs`
/// writes into `fuzz/corpus/` when asked to (`cargo test --test fuzz_corpus
/// -- --ignored`), so that the seeds follow the PKI if it ever changes.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let pki = pki();
    let (root, inter, leaf) = (&pki.root, &pki.inter, &pki.leaf);
    let mut trailing = chain(&[leaf, inter]);
    trailing.push(0);
    let mut seeds = vec![
        ("chain_verify", "leaf-inter", chain(&[leaf, inter])),
        ("chain_verify", "leaf-inter-root", chain(&[leaf, inter, root])),
        ("chain_verify", "inter-leaf", chain(&[inter, leaf])),
        ("chain_verify", "leaf-alone", chain(&[leaf])),
        (
            "chain_verify",
            "other-leaf-root",
            chain(&[&pki.other_leaf, &pki.other_root]),
        ),
        (
            "chain_verify",
            "leaf-other-inter",
            chain(&[leaf, &pki.other_root, inter]),
        ),
        ("chain_verify", "self-signed", chain(&[&pki.self_signed])),
        ("chain_verify", "self-signed-leaf", chain(&[&pki.self_signed, leaf])),
        ("chain_verify", "expired-inter", chain(&[&pki.expired, inter])),
        ("chain_verify", "trailing-byte", trailing),
        ("chain_verify", "truncated", leaf.der[..leaf.der.len() / 2].to_vec()),
        (
            "chain_verify",
            "long-form-length",
            vec![0x30, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5],
        ),
    ];
    let json: Vec<(&'static str, String)> = vec![
        ("ca-policy", ca_policy_json(pki, 4)),
        (
            "minimal",
            format!(r#"{{"version": 1, "rules": [{{"hosts": ["*"], "anchors": [{}]}}]}}"#, js(&root.pem)),
        ),
        (
            "everything",
            format!(
                r#"{{"version": 1, "unlisted_hosts": "allow", "cache_size": 0, "rules": [{{"hosts": ["api.example.com", "*.example.com", "**.example.org", "2001:DB8::1"], "anchors": [{}], "pins": ["sha256//{}", "pin-sha256=\"{}\""], "pins_expire": "2027-06-30", "verify_hostname": false, "report_only": true, "report_uri": "https://pins.example.com/report"}}]}}"#,
                js(&root.pem),
                &root.pin[7..],
                &inter.pin[7..]
            ),
        ),
        (
            "system-roots",
            r#"{"version": 1, "rules": [{"hosts": ["a.example.com"], "system_roots": true, "pins_expire": "2030-01-01T00:00:00Z", "pins": ["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}]}"#.into(),
        ),
        ("unknown-key", r#"{"version": 1, "rules": [], "pinz": []}"#.into()),
        (
            "duplicate-pattern",
            format!(
                r#"{{"version": 1, "rules": [{{"hosts": ["A.example.com."], "anchors": [{0}]}}, {{"hosts": ["a.example.com"], "anchors": [{0}]}}]}}"#,
                js(&root.pem)
            ),
        ),
        ("sha1-pin", r#"{"version": 1, "rules": [{"hosts": ["*"], "anchors": ["missing.pem"], "pins": ["sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA="]}]}"#.into()),
        ("not-json", "{\"version\": 1, \"rules\": [".into()),
    ];
    seeds.extend(
        json.into_iter()
            .map(|(name, text)| ("policy_json", name, text.into_bytes())),
    );
    let pem: Vec<(&'static str, String)> = vec![
        ("root", root.pem.clone()),
        ("chain", format!("{}{}{}", leaf.pem, inter.pem, root.pem)),
        ("self-signed", pki.self_signed.pem.clone()),
        ("with-text", format!("subject=CN = root\n{}\ntrailing words\n", root.pem)),
        (
            "private-key",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n-----END PRIVATE KEY-----\n".into(),
        ),
        ("bad-base64", "-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n".into()),
    ];
    seeds.extend(
        pem.into_iter()
            .map(|(name, text)| ("policy_pem", name, text.into_bytes())),
    );
    let hosts: [(&'static str, &str); 7] = [
        (
            "precedence",
            "api.example.com\n*.example.com\n**.example.com\n**.a.example.com\n*\nb.a.example.com",
        ),
        ("one-label", "*.example.com\n**.example.com\nexample.com"),
        ("ip", "2001:DB8::1\n10.0.0.1\n*\n2001:db8:0::1"),
        (
            "served-names",
            "*.b.example.com\n127.0.0.1\n**.example.com\nx.b.example.com",
        ),
        ("trailing-dot", "A.Example.COM.\na.example.com\nA.EXAMPLE.com."),
        ("bad", "a.*.com\n***.x.com\n[::1]\nex ample.com"),
        ("no-patterns", "a.example.com"),
    ];
    seeds.extend(hosts.map(|(name, text)| ("host_rules", name, text.as_bytes().to_vec())));
    seeds.extend(update_seeds(pki));
    let b64 = &inter.pin[7..];
    let pins: Vec<(&'static str, String)> = vec![
        ("okhttp", inter.pin.clone()),
        ("curl", format!("sha256//{b64}")),
        ("hpkp", format!("pin-sha256=\"{b64}\"")),
        ("slash", "sha256//////////////////////////////////////////8=".into()),
        ("sha1", "sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
        ("short", format!("sha256/{}", &b64[..40])),
    ];
    seeds.extend(
        pins.into_iter()
            .map(|(name, text)| ("pin_parse", name, text.into_bytes())),
    );
    seeds
}

/// The `policy_update` seeds: updates signed by the fuzzing keys, and
/// payloads (which the target also signs itself).
fn update_seeds(pki: &Pki) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let (key, stranger) = (&update_keys().trusted, &update_keys().stranger);
    let policy = ca_policy_json(pki, 4);
    let payload = |sequence: u64, expires: &str, policy: &str| {
        format!(
            r#"{{"sequence": {sequence}, "expires": {}, "policy": {policy}}}"#,
            js(expires)
        )
        .into_bytes()
    };
    let good = payload(3, "4000-01-01T00:00:00Z", &policy);
    let file = update::sign(&good, &[key]);
    let mut extra_key: serde_json::Value = serde_json::from_slice(&file).expect("JSON");
    extra_key["comment"] = "x".into();
    let file_anchor = r#"{"version": 1, "rules": [{"hosts": ["*"], "anchors": ["root.pem"]}]}"#;
    let mut seeds: Vec<(&'static str, Vec<u8>)> = vec![
        ("update", file.clone()),
        ("two-signatures", update::sign(&good, &[key, stranger])),
        ("stranger", update::sign(&good, &[stranger])),
        ("unknown-key", serde_json::to_vec(&extra_key).expect("JSON")),
        ("truncated", file[..file.len() / 2].to_vec()),
        ("payload", good.clone()),
        ("expired-payload", payload(3, "2001-01-01T00:00:00Z", &policy)),
        ("zero-sequence-payload", payload(0, "4000-01-01T00:00:00Z", &policy)),
        ("file-anchor-payload", payload(1, "4000-01-01T00:00:00Z", file_anchor)),
    ];
    seeds.push(("not-json", b"{\"certpin_update\": 1, \"payload\": ".to_vec()));
    seeds
        .into_iter()
        .map(|(name, data)| ("policy_update", name, data))
        .collect()
}
