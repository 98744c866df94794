//! Violation reports in the format of RFC 7469 section 3, so that the
//! collectors people already run for HPKP reports can take certpin's too.
//!
//! A report is built from a rule's [`Violation`]; it never decides anything
//! and never sends anything: the C ABI hands it to the application's callback,
//! the CLI prints it.

use data_encoding::BASE64;
use serde::Serialize;

use crate::describe;
use crate::host::{Host, HostIndex, HostPattern};
use crate::verify::{Verdict, Violation};

/// One violation report: the RFC 7469 section 3 members, plus certpin's own
/// verdict (`certpin-result`, `certpin-detail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// When the chain was verified (RFC 3339, UTC).
    pub date_time: String,
    /// The host the application connected to, normalised.
    pub hostname: String,
    /// The server's port; 0 when the application did not say.
    pub port: u16,
    /// When the rule's pins stop being enforced (`pins_expire`, RFC 3339);
    /// `None` (JSON `null`) when they never do.
    pub effective_expiration_date: Option<String>,
    /// Whether the rule's pattern that covers the host also covers names
    /// below `noted-hostname`.
    pub include_subdomains: bool,
    /// The domain of the rule's pattern that covers the host: the host itself
    /// for an exact pattern or `*`, the fixed suffix for `*.` and `**.`.
    pub noted_hostname: String,
    /// The certificates the server sent, in order, as PEM.
    pub served_certificate_chain: Vec<String>,
    /// The path certpin validated, leaf to anchor, as PEM; empty when no path
    /// could be validated.
    pub validated_certificate_chain: Vec<String>,
    /// The rule's pins, as `pin-sha256="…"`.
    pub known_pins: Vec<String>,
    /// The rejection the rule made (also when it is report-only), e.g.
    /// `PIN_ERR_PIN_MISMATCH`.
    pub certpin_result: &'static str,
    /// The rejection in words, as `pin_last_error` gives it after the code.
    pub certpin_detail: String,
}

impl Report {
    /// The report of `violation`, seen on `port`, with the verdict's `detail`.
    pub fn new(violation: &Violation<'_>, detail: &str, port: u16) -> Self {
        let rule = violation.rule;
        let (noted_hostname, include_subdomains) = match covering_pattern(rule.patterns(), &violation.host) {
            Some(HostPattern::OneLabel(domain)) | Some(HostPattern::AnyDepth(domain)) => (domain.clone(), true),
            Some(HostPattern::Everything) => (violation.host.clone(), true),
            Some(HostPattern::Exact(_)) | None => (violation.host.clone(), false),
        };
        Self {
            date_time: describe::utc(violation.unix_time),
            hostname: violation.host.clone(),
            port,
            effective_expiration_date: rule.pins_expire().map(|e| describe::utc(e.last_enforced)),
            include_subdomains,
            noted_hostname,
            served_certificate_chain: violation.served.iter().map(|der| pem(der)).collect(),
            validated_certificate_chain: violation.validated.iter().map(|der| pem(der)).collect(),
            known_pins: rule
                .pins()
                .iter()
                .map(|pin| format!("pin-sha256=\"{}\"", pin.base64()))
                .collect(),
            certpin_result: violation.result.name(),
            certpin_detail: detail.to_string(),
        }
    }

    /// The report of a verdict's violation, if the verdict has one.
    pub fn for_verdict(verdict: &Verdict<'_>, port: u16) -> Option<Self> {
        verdict
            .violation
            .as_ref()
            .map(|violation| Self::new(violation, &verdict.detail, port))
    }

    /// The report as compact JSON (one line; control characters escaped, so
    /// it never holds a NUL byte).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report has only strings, numbers, booleans and arrays")
    }
}

/// The most specific of a rule's patterns that covers `host`, chosen by the
/// same index that chooses the rule, so the precedence lives in one place.
fn covering_pattern<'r>(patterns: &'r [HostPattern], host: &str) -> Option<&'r HostPattern> {
    let host = Host::parse(host).ok()?;
    let mut index = HostIndex::default();
    for (i, pattern) in patterns.iter().enumerate() {
        // A policy never holds one pattern twice in a rule; the first wins anyway.
        let _ = index.insert(pattern, i);
    }
    index.lookup(&host).map(|i| &patterns[i])
}

/// A DER certificate as PEM text with 64-character lines.
pub fn pem(der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut text = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    text.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify, Pin, PinResult, Policy};
    use pki_types::pem::PemObject;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use serde_json::Value;

    struct Pki {
        root_pem: String,
        root_der: Vec<u8>,
        chain: Vec<u8>,
        leaf_der: Vec<u8>,
        inter_der: Vec<u8>,
    }

    /// A root, an intermediate and a leaf for `names`, the CAs named after `org`.
    fn pki(org: &str, names: &[&str]) -> Pki {
        let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        root_params
            .distinguished_name
            .push(DnType::CommonName, format!("{org} Root"));
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root_key = KeyPair::generate().unwrap();
        let root = root_params.self_signed(&root_key).unwrap();
        let mut inter_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        inter_params
            .distinguished_name
            .push(DnType::CommonName, format!("{org} Inter"));
        inter_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let inter_key = KeyPair::generate().unwrap();
        let inter = inter_params
            .clone()
            .signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key))
            .unwrap();
        let leaf_params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf_params
            .signed_by(&leaf_key, &Issuer::from_params(&inter_params, &inter_key))
            .unwrap();
        Pki {
            root_pem: root.pem(),
            root_der: root.der().to_vec(),
            chain: [leaf.der().as_ref(), inter.der().as_ref()].concat(),
            leaf_der: leaf.der().to_vec(),
            inter_der: inter.der().to_vec(),
        }
    }

    fn policy(hosts: &str, pki: &Pki, extra: &str) -> Policy {
        let json = format!(
            r#"{{"version": 1, "rules": [{{"hosts": {hosts}, "anchors": [{}], "report_uri": "https://r.example/report"{extra}}}]}}"#,
            serde_json::to_string(&pki.root_pem).unwrap()
        );
        Policy::from_json(json.as_bytes()).unwrap()
    }

    fn der_of(pem_text: &str) -> Vec<u8> {
        pki_types::CertificateDer::from_pem_slice(pem_text.as_bytes())
            .unwrap()
            .to_vec()
    }

    #[test]
    fn pin_mismatch_report_has_every_member() {
        let pki = pki("Report", &["api.example.com"]);
        let other = Pin::of_spki_der(b"not the key of any certificate here");
        let p = policy(
            r#"["api.example.com", "*.example.com"]"#,
            &pki,
            &format!(r#", "pins": ["{other}"], "pins_expire": "2099-12-31""#),
        );
        let v = verify(&p, &pki.chain, "API.example.com.", Some(1_700_000_000));
        assert_eq!(v.result, PinResult::PIN_ERR_PIN_MISMATCH, "{}", v.message());
        let report = Report::for_verdict(&v, 8443).expect("a violation");
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        let members: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = [
            "date-time",
            "hostname",
            "port",
            "effective-expiration-date",
            "include-subdomains",
            "noted-hostname",
            "served-certificate-chain",
            "validated-certificate-chain",
            "known-pins",
            "certpin-result",
            "certpin-detail",
        ];
        let mut members_sorted = members.clone();
        members_sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(members_sorted, expected);
        assert_eq!(json["date-time"], "2023-11-14T22:13:20Z");
        assert_eq!(json["hostname"], "api.example.com");
        assert_eq!(json["port"], 8443);
        assert_eq!(json["effective-expiration-date"], "2099-12-31T23:59:59Z");
        assert_eq!(json["include-subdomains"], false, "the exact pattern wins over *.");
        assert_eq!(json["noted-hostname"], "api.example.com");
        assert_eq!(
            json["known-pins"],
            serde_json::json!([format!("pin-sha256=\"{}\"", other.base64())])
        );
        assert_eq!(json["certpin-result"], "PIN_ERR_PIN_MISMATCH");
        assert_eq!(json["certpin-detail"], v.detail.as_str());
        let served: Vec<Vec<u8>> = json["served-certificate-chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| der_of(c.as_str().unwrap()))
            .collect();
        assert_eq!(served, vec![pki.leaf_der.clone(), pki.inter_der.clone()]);
        let validated: Vec<Vec<u8>> = json["validated-certificate-chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| der_of(c.as_str().unwrap()))
            .collect();
        assert_eq!(validated, vec![pki.leaf_der, pki.inter_der, pki.root_der]);
    }

    #[test]
    fn wildcard_patterns_note_their_domain() {
        let stranger = pki("Stranger", &["stranger.example"]);
        let pki = pki("Report", &["a.b.example.org"]);
        for (hosts, noted, subdomains) in [
            (r#"["**.example.org"]"#, "example.org", true),
            (r#"["**.example.org", "*.b.example.org"]"#, "b.example.org", true),
            (r#"["*"]"#, "a.b.example.org", true),
        ] {
            // Untrusted: the report has no validated chain and no pins.
            let json = format!(
                r#"{{"version": 1, "rules": [{{"hosts": {hosts}, "anchors": [{}], "report_uri": "https://r.example/"}}]}}"#,
                serde_json::to_string(&stranger.root_pem).unwrap()
            );
            let p = Policy::from_json(json.as_bytes()).unwrap();
            let v = verify(&p, &pki.chain, "a.b.example.org", None);
            assert_eq!(v.result, PinResult::PIN_ERR_UNTRUSTED, "{}", v.message());
            let report = Report::for_verdict(&v, 0).unwrap();
            assert_eq!(report.noted_hostname, noted, "{hosts}");
            assert_eq!(report.include_subdomains, subdomains, "{hosts}");
            assert!(report.validated_certificate_chain.is_empty());
            assert!(report.known_pins.is_empty());
            let json: Value = serde_json::from_str(&report.to_json()).unwrap();
            assert_eq!(json["effective-expiration-date"], Value::Null);
            assert_eq!(json["port"], 0);
        }
    }

    #[test]
    fn accepted_chains_have_no_report() {
        let pki = pki("Report", &["api.example.com"]);
        let p = policy(r#"["api.example.com"]"#, &pki, "");
        let v = verify(&p, &pki.chain, "api.example.com", None);
        assert_eq!(v.result, PinResult::PIN_OK, "{}", v.message());
        assert!(Report::for_verdict(&v, 443).is_none());
    }

    #[test]
    fn pem_round_trips_and_wraps() {
        let pki = pki("Report", &["api.example.com"]);
        let text = pem(&pki.leaf_der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(der_of(&text), pki.leaf_der);
        assert_eq!(pem(&[]), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    }
}
