//! Policy loading: every rule of the format, and errors that name the rule,
//! the key and the offending value.

mod common;

use certpin::{PinResult, Policy};
use common::*;

fn load_err(json: &str) -> certpin::PolicyError {
    match Policy::from_json(json.as_bytes()) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_invalid(json: &str, needles: &[&str]) {
    let e = load_err(json);
    assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID, "{e}");
    for n in needles {
        assert!(e.detail.contains(n), "{n:?} not in {:?}", e.detail);
    }
}

fn rule_with(ca: &Cert, extra: &str) -> String {
    format!(
        r#"{{"version": 1, "rules": [{{"hosts": ["api.example.com", "b.com"], "anchors": [{}]{extra}}}]}}"#,
        js(&ca.pem)
    )
}

#[test]
fn a_complete_policy_loads() {
    let ca = root("Company Root");
    let pin = ca.pin();
    let json = format!(
        r#"{{"version": 1, "unlisted_hosts": "allow", "cache_size": 16, "signature_cache_size": 4, "rules": [
            {{"hosts": ["api.example.com", "*.example.com", "**.example.org"], "anchors": [{}],
              "system_roots": false, "pins": ["{pin}", "sha256//{b64}", "pin-sha256=\"{b64}\""],
              "pins_expire": "2099-06-30", "verify_hostname": true, "report_only": false,
              "report_uri": "https://pins.example.com/report"}}]}}"#,
        js(&ca.pem),
        b64 = &pin["sha256/".len()..]
    );
    let p = Policy::from_json(json.as_bytes()).unwrap();
    assert_eq!(p.rules().len(), 1);
    assert_eq!(p.rules()[0].pins().len(), 1, "three spellings of one pin are one pin");
    assert_eq!(p.unlisted_hosts(), certpin::UnlistedHosts::Allow);
    assert_eq!(p.cache_size(), 16);
    assert_eq!(p.signature_cache_size(), 4);
    let defaults = Policy::from_json(rule_with(&ca, "").as_bytes()).unwrap();
    assert_eq!(
        (defaults.cache_size(), defaults.signature_cache_size()),
        (
            certpin::policy::DEFAULT_CACHE_SIZE,
            certpin::policy::DEFAULT_SIGNATURE_CACHE_SIZE
        )
    );
    assert_eq!(p.rules()[0].report_uri(), Some("https://pins.example.com/report"));
}

#[test]
fn syntax_errors() {
    for text in ["", "{", "not json", "{\"version\": 1,}"] {
        assert_eq!(load_err(text).result, PinResult::PIN_ERR_POLICY_SYNTAX, "{text:?}");
    }
}

#[test]
fn unknown_keys_name_the_rule_and_key() {
    let ca = root("R");
    assert_invalid(
        &rule_with(&ca, r#", "pinz": []"#),
        &["rule 0 (api.example.com)", "\"pinz\""],
    );
    assert_invalid(r#"{"version": 1, "rulez": []}"#, &["\"rulez\""]);
    assert_invalid(
        &rule_with(&ca, r#", "pins": [], "pins": []"#),
        &["rule 0 (api.example.com)", "duplicate key \"pins\"", "line 1, column"],
    );
}

#[test]
fn wrong_types_and_values() {
    let ca = root("R");
    assert_invalid(r#"{"version": 2, "rules": []}"#, &["version"]);
    assert_invalid(r#"{"rules": []}"#, &["version"]);
    assert_invalid(
        &rule_with(&ca, "").replace("\"version\": 1", "\"version\": \"1\""),
        &["version"],
    );
    assert_invalid(
        &rule_with(&ca, r#", "system_roots": "yes""#),
        &["rule 0", "system_roots", "\"yes\""],
    );
    assert_invalid(&rule_with(&ca, r#", "verify_hostname": 0"#), &["verify_hostname", "0"]);
    assert_invalid(&rule_with(&ca, r#", "pins": "sha256/x""#), &["pins", "array"]);
    assert_invalid(&rule_with(&ca, r#", "pins": [1]"#), &["pins", "[0]"]);
    assert_invalid(
        &rule_with(&ca, r#", "report_uri": "ftp://x""#),
        &["report_uri", "ftp://x"],
    );
    assert_invalid(
        &rule_with(&ca, r#", "report_uri": "https://x/\u0000y""#),
        &["report_uri"],
    );
    assert_invalid(&rule_with(&ca, r#", "report_uri": "https://x/ y""#), &["report_uri"]);
    assert_invalid(
        &rule_with(&ca, "").replace("\"rules\"", "\"unlisted_hosts\": \"maybe\", \"rules\""),
        &["unlisted_hosts", "maybe"],
    );
    assert_invalid(
        &rule_with(&ca, "").replace("\"rules\"", "\"cache_size\": -1, \"rules\""),
        &["cache_size", "-1"],
    );
    for bad in ["-1", "1.5", "65537", "\"8\"", "null"] {
        assert_invalid(
            &rule_with(&ca, "").replace("\"rules\"", &format!("\"signature_cache_size\": {bad}, \"rules\"")),
            &["signature_cache_size"],
        );
    }
    assert_invalid(r#"{"version": 1, "rules": []}"#, &["rules", "empty"]);
    assert_invalid(r#"{"version": 1, "rules": {}}"#, &["rules"]);
    assert_invalid(r#"[1]"#, &["object"]);
    // serde would read a struct from an array by position: never a policy.
    assert_invalid(r#"[1, "allow", 0, 0, []]"#, &["array", "object"]);
    assert_invalid(
        &format!(r#"{{"version": 1, "rules": [[["a.com"], [{}]]]}}"#, js(&root("R").pem)),
        &["rule 0", "array", "object"],
    );
}

#[test]
fn hosts_rules() {
    let ca = root("R");
    let a = js(&ca.pem);
    assert_invalid(
        &format!(r#"{{"version": 1, "rules": [{{"hosts": [], "anchors": [{a}]}}]}}"#),
        &["rule 0", "hosts", "empty"],
    );
    assert_invalid(
        &format!(r#"{{"version": 1, "rules": [{{"anchors": [{a}]}}]}}"#),
        &["rule 0", "hosts", "missing"],
    );
    assert_invalid(
        &format!(r#"{{"version": 1, "rules": [{{"hosts": ["a.*.com"], "anchors": [{a}]}}]}}"#),
        &["rule 0 (a.*.com)", "a.*.com"],
    );
    assert_invalid(
        &format!(
            r#"{{"version": 1, "rules": [{{"hosts": ["x.com", "*.a.com"], "anchors": [{a}]}},
                                         {{"hosts": ["y.com", "*.A.com."], "anchors": [{a}]}}]}}"#
        ),
        &["rule 1 (y.com)", "*.a.com", "rule 0 (x.com)"],
    );
    assert_invalid(
        &format!(r#"{{"version": 1, "rules": [{{"hosts": ["x.com", "X.com"], "anchors": [{a}]}}]}}"#),
        &["twice"],
    );
}

#[test]
fn a_rule_needs_a_trust_source() {
    assert_invalid(
        r#"{"version": 1, "rules": [{"hosts": ["a.com"]}]}"#,
        &["rule 0 (a.com)", "no trust source"],
    );
    assert_invalid(
        r#"{"version": 1, "rules": [{"hosts": ["a.com"], "anchors": [], "system_roots": false}]}"#,
        &["no trust source"],
    );
}

#[test]
fn bad_pins() {
    let ca = root("R");
    let sha1 = "sha256/".to_string() + &"A".repeat(27) + "=";
    for (pin, needle) in [
        ("sha256/AAAA", "32 bytes"),
        ("sha256/!!!!", "base64"),
        ("sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "SHA-1"),
        (sha1.as_str(), "SHA-1"),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "expected sha256/"),
        ("pin-sha256=AAAA", "quotes"),
    ] {
        assert_invalid(
            &rule_with(&ca, &format!(r#", "pins": [{}]"#, js(pin))),
            &["rule 0", "pins", "[0]", needle],
        );
    }
}

#[test]
fn bad_dates() {
    let ca = root("R");
    let pin = ca.pin();
    for date in ["2027-02-30", "30/06/2027", "2027-06-30T25:00:00Z", "soon"] {
        assert_invalid(
            &rule_with(&ca, &format!(r#", "pins": ["{pin}"], "pins_expire": "{date}""#)),
            &["rule 0", "pins_expire", date],
        );
    }
    assert_invalid(
        &rule_with(&ca, r#", "pins_expire": "2027-01-01""#),
        &["pins_expire", "no \"pins\""],
    );
}

#[test]
fn anchor_files() {
    let dir = tempdir();
    let ca = root("File Root");
    std::fs::write(dir.join("root.pem"), &ca.pem).unwrap();
    std::fs::write(dir.join("junk.pem"), "this is not PEM").unwrap();
    std::fs::write(
        dir.join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let policy = |anchor: &str| {
        format!(
            r#"{{"version": 1, "rules": [{{"hosts": ["a.com"], "anchors": [{}]}}]}}"#,
            js(anchor)
        )
    };
    std::fs::write(dir.join("ok.json"), policy("root.pem")).unwrap();
    let p = Policy::from_file(dir.join("ok.json")).expect("relative to the policy's folder");
    assert_eq!(p.rules()[0].anchors().len(), 1);

    std::fs::write(dir.join("missing.json"), policy("nope.pem")).unwrap();
    let e = Policy::from_file(dir.join("missing.json")).unwrap_err();
    assert_eq!(e.result, PinResult::PIN_ERR_POLICY_IO, "{e}");
    assert!(
        e.detail.contains("rule 0 (a.com)") && e.detail.contains("nope.pem"),
        "{e}"
    );

    for (file, needle) in [("junk.pem", "no PEM CERTIFICATE"), ("broken.pem", "certificate 1")] {
        std::fs::write(dir.join("p.json"), policy(file)).unwrap();
        let e = Policy::from_file(dir.join("p.json")).unwrap_err();
        assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID, "{e}");
        assert!(e.detail.contains(needle) && e.detail.contains(file), "{e}");
    }
    let e = Policy::from_file(dir.join("absent.json")).unwrap_err();
    assert_eq!(e.result, PinResult::PIN_ERR_POLICY_IO);
}

#[test]
fn anchor_files_of_a_policy_from_memory() {
    let dir = tempdir();
    let ca = root("Memory Root");
    let attacker = root("Attacker Root");
    std::fs::write(dir.join("root.pem"), &ca.pem).unwrap();
    let policy = |anchor: &str| {
        format!(
            r#"{{"version": 1, "rules": [{{"hosts": ["a.com"], "anchors": [{}]}}]}}"#,
            js(anchor)
        )
    };
    // No folder: a relative name is refused, whatever the working directory holds.
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::write(dir.join("certs/company-root.pem"), &attacker.pem).unwrap();
    let cwd = std::env::current_dir().unwrap();
    for relative in ["certs/company-root.pem", "./root.pem", "root.pem"] {
        let e = Policy::from_json(policy(relative).as_bytes()).unwrap_err();
        assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID, "{e}");
        assert!(
            e.detail.contains("rule 0 (a.com)") && e.detail.contains(relative) && e.detail.contains("relative"),
            "{e}"
        );
    }
    assert_eq!(std::env::current_dir().unwrap(), cwd);
    // An absolute name is the author's explicit choice.
    let absolute = dir.join("root.pem");
    let p = Policy::from_json(policy(absolute.to_str().unwrap()).as_bytes()).unwrap();
    assert_eq!(p.rules()[0].anchors().len(), 1);

    // A reader gets every file entry as written, once, and inline PEM never.
    let mut asked = Vec::new();
    let json = format!(
        r#"{{"version": 1, "rules": [{{"hosts": ["a.com"], "anchors": ["certs/root.pem", {}]}},
            {{"hosts": ["b.com"], "anchors": ["certs/root.pem"]}}]}}"#,
        js(&attacker.pem)
    );
    let p = Policy::from_json_with_reader(json.as_bytes(), &mut |entry| {
        asked.push(entry.to_string());
        Ok(ca.pem.clone().into_bytes())
    })
    .unwrap();
    assert_eq!(asked, ["certs/root.pem"]);
    assert_eq!(p.rules()[0].anchors().len(), 2);
    assert_eq!(p.rules()[1].anchors().len(), 1);
    let e = Policy::from_json_with_reader(policy("certs/missing.pem").as_bytes(), &mut |_| {
        Err("no such resource".into())
    })
    .unwrap_err();
    assert_eq!(e.result, PinResult::PIN_ERR_POLICY_IO, "{e}");
    assert!(
        e.detail.contains("certs/missing.pem") && e.detail.contains("no such resource"),
        "{e}"
    );
    let e = Policy::from_json_with_reader(policy("junk.pem").as_bytes(), &mut |_| Ok(b"junk".to_vec())).unwrap_err();
    assert_eq!(e.result, PinResult::PIN_ERR_POLICY_INVALID, "{e}");
    assert!(e.detail.contains("junk.pem"), "{e}");
}

#[test]
fn pem_policy() {
    assert_eq!(
        Policy::from_pem(b"").unwrap_err().result,
        PinResult::PIN_ERR_POLICY_SYNTAX
    );
    assert_eq!(
        Policy::from_pem(b"hello").unwrap_err().result,
        PinResult::PIN_ERR_POLICY_SYNTAX
    );
    let a = openssl_style_self_signed("a");
    let b = openssl_style_self_signed("b");
    let p = Policy::from_pem(format!("{}{}", a.pem, b.pem).as_bytes()).unwrap();
    assert_eq!(p.rules()[0].anchors().len(), 2);
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "certpin-policy-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
