//! The verification of a served chain against a policy: the single entry
//! point [`verify`] that the C ABI, the CLI and the tests all call.
//!
//! Pins are matched only on a path this module validated itself, never on the
//! chain the server merely sent. Every doubt is a rejection.

use std::time::{SystemTime, UNIX_EPOCH};

use pki_types::CertificateDer;
use webpki::EndEntityCert;

use crate::cache::{CacheEntry, CacheKey};
use crate::chain;
use crate::explain;
use crate::host::Host;
use crate::key_strength;
use crate::outcome::{map_error, Accepted, Rejection};
use crate::policy::{Policy, Rule, UnlistedHosts};
use crate::result::flags;
use crate::signature_cache::SignatureCache;
use crate::PinResult;

/// The answer to one verification.
#[derive(Debug)]
pub struct Verdict<'p> {
    /// `PIN_OK` to proceed; anything else rejects.
    pub result: PinResult,
    /// `flags::*` bits saying what the answer rests on.
    pub flags: u32,
    /// Why the chain was rejected (also kept for a report-only violation);
    /// empty for a plain acceptance.
    pub detail: String,
    /// What a violation report needs, when a rule rejected the chain
    /// (enforced or report-only).
    pub violation: Option<Violation<'p>>,
}

impl Verdict<'_> {
    /// Whether the connection may proceed.
    pub fn ok(&self) -> bool {
        self.result == PinResult::PIN_OK
    }

    /// `"PIN_ERR_…: detail"`, as `pin_last_error` gives it. For a report-only
    /// violation, the code is the one the rule would have enforced.
    pub fn message(&self) -> String {
        let code = self.violation.as_ref().map_or(self.result, |v| v.result);
        if self.detail.is_empty() {
            code.name().to_string()
        } else {
            format!("{code}: {}", self.detail)
        }
    }

    fn reject(result: PinResult, detail: String) -> Self {
        Self {
            result,
            flags: 0,
            detail,
            violation: None,
        }
    }
}

/// A rule's rejection of a chain, with everything an RFC 7469 report says.
#[derive(Debug)]
pub struct Violation<'p> {
    /// The rule that rejected the chain.
    pub rule: &'p Rule,
    /// The normalised host the application connected to (the report's `hostname`).
    pub host: String,
    /// The rejection the rule made (also when report-only softened it).
    pub result: PinResult,
    /// The certificates the server sent, DER, in order.
    pub served: Vec<Vec<u8>>,
    /// The path certpin validated, leaf to anchor, DER; empty when none was.
    pub validated: Vec<Vec<u8>>,
    /// The time of the verification (Unix seconds).
    pub unix_time: i64,
}

/// Verifies `der_chain` (DER certificates, leaf first, as the server sent
/// them) for `host` under `policy`, at `unix_time` (seconds since the epoch;
/// `None` for now).
pub fn verify<'p>(policy: &'p Policy, der_chain: &[u8], host: &str, unix_time: Option<i64>) -> Verdict<'p> {
    let now = match unix_time {
        Some(t) if t < 0 => {
            return Verdict::reject(PinResult::PIN_ERR_INVALID_ARGUMENT, format!("time {t} is before 1970"))
        }
        Some(t) => t,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let host = match Host::parse(host) {
        Ok(h) => h,
        Err(e) => return Verdict::reject(PinResult::PIN_ERR_INVALID_ARGUMENT, e.to_string()),
    };
    let certs = match chain::split(der_chain) {
        Ok(c) => c,
        Err(e) => return Verdict::reject(e.result, e.detail),
    };
    let Some(rule) = policy.rule_for(&host) else {
        return unlisted(policy, &host);
    };

    let key = policy.cache.enabled().then(|| CacheKey {
        rule: rule.index,
        host: host.to_string(),
        chain: ring::digest::digest(&ring::digest::SHA256, der_chain)
            .as_ref()
            .try_into()
            .expect("32 bytes"),
    });
    if let Some(cached) = key.as_ref().and_then(|k| policy.cache.get(k, now)) {
        return Verdict {
            result: PinResult::PIN_OK,
            flags: cached | flags::CACHED,
            detail: String::new(),
            violation: None,
        };
    }

    match evaluate(rule, &policy.signatures, &certs, &host, now, key.is_some()) {
        Ok(accepted) => {
            if let (Some(key), Some((from, until))) = (key, accepted.window) {
                policy.cache.insert(
                    key,
                    CacheEntry {
                        valid_from: from,
                        valid_until: until,
                        flags: accepted.flags,
                    },
                );
            }
            Verdict {
                result: PinResult::PIN_OK,
                flags: accepted.flags,
                detail: String::new(),
                violation: None,
            }
        }
        Err(rejection) => {
            let detail = explain::rejection(rule, &host, &certs, &rejection, now);
            let violation = Some(Violation {
                rule,
                host: host.to_string(),
                result: rejection.result,
                served: certs.iter().map(|c| c.to_vec()).collect(),
                validated: rejection.validated,
                unix_time: now,
            });
            if rule.report_only && rejection.result.is_rule_rejection() {
                Verdict {
                    result: PinResult::PIN_OK,
                    flags: flags::REPORT_ONLY,
                    detail,
                    violation,
                }
            } else {
                Verdict {
                    result: rejection.result,
                    flags: 0,
                    detail,
                    violation,
                }
            }
        }
    }
}

/// What [`verify`] can answer for `host` before any chain is seen: the rule
/// that covers it, as `flags::*` bits.
///
/// `PIN_OK` with `VOUCHED` when a rule covers the host (an acceptance rests
/// on that rule's validation), plus `NAME_VERIFIED` when the rule checks the
/// host name and `REPORT_ONLY` when it never rejects; `PIN_OK` with
/// `UNLISTED` when no rule does and unlisted hosts are allowed (every chain
/// is accepted). `PIN_ERR_HOST_NOT_COVERED` when no rule does and unlisted
/// hosts are rejected (every chain is rejected); `PIN_ERR_INVALID_ARGUMENT`
/// for a host that is not a DNS name or IP address.
pub fn host_flags<'p>(policy: &'p Policy, host: &str) -> Verdict<'p> {
    let host = match Host::parse(host) {
        Ok(h) => h,
        Err(e) => return Verdict::reject(PinResult::PIN_ERR_INVALID_ARGUMENT, e.to_string()),
    };
    let Some(rule) = policy.rule_for(&host) else {
        return unlisted(policy, &host);
    };
    let mut bits = flags::VOUCHED;
    if rule.verify_hostname {
        bits |= flags::NAME_VERIFIED;
    }
    if rule.report_only {
        bits |= flags::REPORT_ONLY;
    }
    Verdict {
        result: PinResult::PIN_OK,
        flags: bits,
        detail: String::new(),
        violation: None,
    }
}

/// The answer for a host no rule covers.
fn unlisted<'p>(policy: &Policy, host: &Host) -> Verdict<'p> {
    match policy.unlisted_hosts {
        UnlistedHosts::Allow => Verdict {
            result: PinResult::PIN_OK,
            flags: flags::UNLISTED,
            detail: String::new(),
            violation: None,
        },
        UnlistedHosts::Reject => Verdict::reject(
            PinResult::PIN_ERR_HOST_NOT_COVERED,
            format!(
                "no rule covers host {host} and \"unlisted_hosts\" is \"reject\"; add a rule whose \"hosts\" match it"
            ),
        ),
    }
}

fn evaluate(
    rule: &Rule,
    signatures: &SignatureCache,
    certs: &[&[u8]],
    host: &Host,
    now: i64,
    want_window: bool,
) -> Result<Accepted, Box<Rejection>> {
    let leaf_der = CertificateDer::from(certs[0]);
    let leaf = EndEntityCert::try_from(&leaf_der)
        .map_err(|e| Rejection::new(map_error(&e), format!("the leaf certificate cannot be parsed ({e:?})")))?;
    let pins_enforced = rule.pins_enforced_at(now);
    // From the SPKI webpki already found: parsing the whole leaf again costs
    // about 2% of an RSA verification.
    if let Some(problem) = key_strength::leaf_key_problem(leaf.subject_public_key_info().as_ref()) {
        return Err(Rejection::new(PinResult::PIN_ERR_UNSUPPORTED_ALGORITHM, problem));
    }

    if let Some(anchor) = rule.anchors.iter().find(|a| a.der.as_ref() == certs[0]) {
        return crate::anchored_leaf::evaluate(rule, certs[0], &leaf, anchor.pin, host, now, pins_enforced);
    }
    if leaf.issuer() == leaf.subject() {
        return Err(Rejection::new(
            PinResult::PIN_ERR_UNTRUSTED,
            "the leaf is self-issued and is not one of this rule's anchors, so no one vouches for it",
        )
        .with_hint(
            "if this self-signed certificate is yours, add it to the rule's \"anchors\" (or use a PEM policy of it)",
        ));
    }

    crate::path::evaluate(rule, signatures, certs, &leaf, host, now, pins_enforced, want_window)
}
