//! Property tests: whatever the bytes of a chain, a policy, a signed update
//! or a host, certpin answers with a typed result and never panics; a served
//! chain changed in any single byte is never accepted, nor is an update
//! changed in one byte ever applied with other contents; and the rule index
//! picks the rule a slow reference picks, on patterns and hosts drawn from a
//! few labels so that they match often.

mod common;

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::sync::OnceLock;

use certpin::host::HostIndex;
use certpin::{flags, update, verify, Host, HostPattern, PinResult, Policy, SigningKey, TrustedKey};
use common::*;
use proptest::prelude::*;

const HOST: &str = "api.example.com";

struct Fixture {
    ca: Cert,
    served: Vec<u8>,
    policy: Policy,
    /// The policy as a signed update (sequence 9), and the key that signed it.
    update: Vec<u8>,
    update_key: TrustedKey,
}

/// A valid pinned chain (leaf and intermediate) and its policy, made once.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let ca = root("Root");
        let inter = intermediate("Inter", &ca);
        let l = leaf(&[HOST], &inter);
        let json = one_rule_json(&[HOST, "*.example.org"], &[&ca], &[inter.pin()], "");
        let policy = Policy::from_json(json.as_bytes()).unwrap();
        let signer = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let payload = update::payload(9, "4000-01-01T00:00:00Z", json.as_bytes()).unwrap();
        Fixture {
            served: chain(&[&l, &inter]),
            ca,
            policy,
            update: update::sign(&payload, &[&signer]),
            update_key: signer.public_key(),
        }
    })
}

fn assert_typed(result: PinResult) {
    assert_eq!(PinResult::from_code(result as i64), Some(result));
}

/// Raw bytes, or `valid` with a stretch overwritten or cut, in equal parts.
fn damaged(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        (0..len, proptest::collection::vec(any::<u8>(), 1..16)).prop_map({
            let valid = valid.clone();
            move |(at, bytes)| {
                let mut v = valid.clone();
                for (i, b) in bytes.into_iter().enumerate() {
                    if let Some(slot) = v.get_mut(at + i) {
                        *slot = b;
                    }
                }
                v
            }
        }),
        (0..len).prop_map(move |cut| valid[..cut].to_vec()),
    ]
}

/// Bytes that look like DER now and then: raw bytes, or a valid chain with
/// a stretch overwritten, cut, or repeated.
fn chain_like() -> impl Strategy<Value = Vec<u8>> {
    let valid = fixture().served.clone();
    prop_oneof![
        3 => damaged(valid.clone()),
        1 => (1..4usize).prop_map(move |n| valid.repeat(n)),
    ]
}

proptest! {
    #[test]
    fn any_bytes_as_a_chain_get_a_typed_answer(data in chain_like(), host in "[a-z.]{0,12}|api\\.example\\.com") {
        let v = verify(&fixture().policy, &data, &host, Some(2_000_000_000));
        assert_typed(v.result);
        if v.ok() {
            prop_assert!(v.flags & flags::VOUCHED != 0, "{}", v.message());
        } else {
            prop_assert!(v.message().starts_with(v.result.name()));
        }
    }

    #[test]
    fn a_chain_changed_in_one_byte_is_never_accepted(at in any::<prop::sample::Index>(), flip in 1..=255u8) {
        let f = fixture();
        let mut data = f.served.clone();
        let i = at.index(data.len());
        data[i] ^= flip;
        let v = verify(&f.policy, &data, HOST, None);
        prop_assert_ne!(v.result, PinResult::PIN_OK, "byte {} ^ {:#04x}", i, flip);
    }

    #[test]
    fn any_bytes_as_a_json_policy_get_a_typed_answer(data in json_like()) {
        match Policy::from_json(&data) {
            Ok(p) => prop_assert!(!p.rules().is_empty()),
            Err(e) => prop_assert!(matches!(
                e.result,
                PinResult::PIN_ERR_POLICY_IO | PinResult::PIN_ERR_POLICY_SYNTAX | PinResult::PIN_ERR_POLICY_INVALID
            ), "{}", e),
        }
    }

    #[test]
    fn any_bytes_as_an_update_get_a_typed_answer(data in update_like()) {
        let f = fixture();
        match Policy::from_update(&data, &[f.update_key], 0, Some(2_000_000_000)) {
            Ok(p) => prop_assert_eq!(p.update().map(|u| u.sequence), Some(9)),
            Err(e) => prop_assert!(matches!(
                e.result,
                PinResult::PIN_ERR_POLICY_SYNTAX
                    | PinResult::PIN_ERR_POLICY_INVALID
                    | PinResult::PIN_ERR_UPDATE_SIGNATURE
            ), "{}", e),
        }
    }

    /// A changed byte may fall where JSON allows another one (white space):
    /// then the same update loads. Never anything else.
    #[test]
    fn an_update_changed_in_one_byte_is_never_applied_with_other_contents(
        at in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let f = fixture();
        let mut data = f.update.clone();
        let i = at.index(data.len());
        data[i] ^= flip;
        if let Ok(p) = Policy::from_update(&data, &[f.update_key], 0, Some(2_000_000_000)) {
            let original = Policy::from_update(&f.update, &[f.update_key], 0, Some(2_000_000_000)).unwrap();
            prop_assert_eq!(p.update(), original.update(), "byte {} ^ {:#04x}", i, flip);
            let pins = |p: &Policy| p.rules().iter().map(|r| r.pins().to_vec()).collect::<Vec<_>>();
            prop_assert_eq!(pins(&p), pins(&original));
            prop_assert!(data[i].is_ascii_whitespace(), "byte {} ^ {:#04x}", i, flip);
        }
    }

    #[test]
    fn any_bytes_as_a_pem_policy_get_a_typed_answer(data in pem_like()) {
        match Policy::from_pem(&data) {
            Ok(p) => prop_assert_eq!(p.rules().len(), 1),
            Err(e) => prop_assert_eq!(e.result, PinResult::PIN_ERR_POLICY_SYNTAX, "{}", e),
        }
    }

    #[test]
    fn any_host_gets_a_typed_answer(host in any::<String>()) {
        let v = verify(&fixture().policy, &fixture().served, &host, None);
        assert_typed(v.result);
        match Host::parse(&host) {
            Ok(h) => {
                prop_assert_ne!(v.result, PinResult::PIN_ERR_INVALID_ARGUMENT);
                prop_assert_eq!(Host::parse(&h.to_string()), Ok(h));
            }
            Err(_) => prop_assert_eq!(v.result, PinResult::PIN_ERR_INVALID_ARGUMENT),
        }
    }

    #[test]
    fn patterns_match_like_label_lists(pattern in pattern_text(), host in host_text()) {
        let pattern = HostPattern::parse(&pattern).unwrap();
        let host = Host::parse(&host).unwrap();
        prop_assert_eq!(pattern.matches(&host), matches_by_labels(&pattern, &host), "{} / {}", pattern, host);
    }

    #[test]
    fn rule_lookup_agrees_with_the_reference(
        patterns in proptest::collection::vec(pattern_text(), 1..12),
        hosts in proptest::collection::vec(host_text(), 1..8),
    ) {
        let mut distinct: Vec<HostPattern> = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        let mut index = HostIndex::default();
        for text in &patterns {
            let p = HostPattern::parse(text).unwrap();
            if index.insert(&p, distinct.len()).is_ok() {
                distinct.push(p);
                texts.push(text);
            }
        }
        let rules: Vec<String> = texts
            .iter()
            .map(|t| format!(r#"{{"hosts": [{}], "anchors": [{}]}}"#, js(t), js(&fixture().ca.pem)))
            .collect();
        let policy = Policy::from_json(format!(r#"{{"version": 1, "rules": [{}]}}"#, rules.join(",")).as_bytes())
            .unwrap();
        for text in &hosts {
            let host = Host::parse(text).unwrap();
            let expected = targets::rule_by_precedence(&distinct, &host);
            prop_assert_eq!(index.lookup(&host), expected, "{} under {:?}", host, distinct);
            prop_assert_eq!(policy.rule_for(&host).map(|r| r.index()), expected, "{}", host);
        }
    }
}

/// Raw bytes, or the fixture's update with a stretch overwritten or cut.
fn update_like() -> impl Strategy<Value = Vec<u8>> {
    damaged(fixture().update.clone())
}

/// JSON documents built from the policy format's own keys and values, and
/// raw bytes now and then.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let ca = fixture().ca.pem.clone();
    let scalar = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("1e999".to_string()),
        Just(js("*.example.com")),
        Just(js("**.example.com")),
        Just(js("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
        Just(js("2027-06-30")),
        Just(js("reject")),
        Just(js("allow")),
        Just(js(&ca)),
        "[a-z*./:\\-]{0,12}".prop_map(|s| js(&s)),
    ];
    let value = scalar.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            proptest::collection::vec((key(), inner), 0..5).prop_map(|members| {
                let members: Vec<String> = members.into_iter().map(|(k, v)| format!("{}: {v}", js(&k))).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    prop_oneof![
        4 => value.prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("version"),
        Just("rules"),
        Just("hosts"),
        Just("anchors"),
        Just("pins"),
        Just("system_roots"),
        Just("pins_expire"),
        Just("unlisted_hosts"),
        Just("cache_size"),
        Just("signature_cache_size"),
        Just("verify_hostname"),
        Just("report_only"),
        Just("report_uri"),
        Just("profile"),
        Just("pinz"),
    ]
    .prop_map(str::to_string)
}

/// PEM text: the fixture's CA, changed here and there, or with junk around it.
fn pem_like() -> impl Strategy<Value = Vec<u8>> {
    let pem = fixture().ca.pem.clone().into_bytes();
    let len = pem.len();
    prop_oneof![
        (0..len, any::<u8>()).prop_map({
            let pem = pem.clone();
            move |(at, b)| {
                let mut v = pem.clone();
                v[at] = b;
                v
            }
        }),
        (0..len).prop_map({
            let pem = pem.clone();
            move |cut| pem[..cut].to_vec()
        }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(move |junk| [&junk[..], &pem[..], &junk[..]].concat()),
        proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

/// Labels from a small alphabet, so that patterns and hosts meet often.
fn labels(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], min..=max).prop_map(|l| l.join("."))
}

fn host_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => labels(1, 4),
        1 => labels(1, 3).prop_map(|h| h.to_uppercase() + "."),
        1 => Just("10.0.0.1".to_string()),
    ]
}

fn pattern_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => labels(1, 3),
        3 => labels(1, 3).prop_map(|s| format!("*.{s}")),
        3 => labels(1, 3).prop_map(|s| format!("**.{s}")),
        1 => Just("*".to_string()),
        1 => Just("10.0.0.1".to_string()),
    ]
}

/// Pattern matching on label lists, written apart from `HostPattern::matches`.
fn matches_by_labels(pattern: &HostPattern, host: &Host) -> bool {
    let name = match host {
        Host::Dns(name) => name,
        Host::Ip(_) => {
            return matches!(pattern, HostPattern::Everything) || *pattern == HostPattern::Exact(host.clone())
        }
    };
    let host_labels: Vec<&str> = name.split('.').collect();
    let tail_is = |suffix: &str, extra: usize| {
        let want: Vec<&str> = suffix.split('.').collect();
        host_labels.len() == want.len() + extra && host_labels[extra..] == want[..]
    };
    match pattern {
        HostPattern::Everything => true,
        HostPattern::Exact(h) => h == host,
        HostPattern::OneLabel(suffix) => tail_is(suffix, 1),
        HostPattern::AnyDepth(suffix) => {
            let depth = suffix.split('.').count();
            host_labels.len() >= depth && tail_is(suffix, host_labels.len() - depth)
        }
    }
}
