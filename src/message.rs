//! The words of a rejection: every served certificate as
//! `sha256/<pin>: <subject>`, the pins the rule expected, and what to change,
//! so that a developer can fix the policy from the message alone.

use std::fmt::Write;

use x509_parser::prelude::*;

use crate::host::Host;
use crate::pin::Pin;
use crate::policy::Rule;
use crate::verify::Rejection;

/// The SPKI pin of a DER certificate, if it parses.
pub fn spki_pin(der: &[u8]) -> Option<Pin> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(Pin::of_spki_der(cert.tbs_certificate.subject_pki.raw))
}

/// The subject of a DER certificate as text (RFC 4514 order), or a note that
/// it does not parse.
pub fn subject(der: &[u8]) -> String {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => {
            let s = cert.subject().to_string();
            if s.is_empty() {
                "(empty subject)".into()
            } else {
                s
            }
        }
        Err(_) => "(unparsable certificate)".into(),
    }
}

/// `sha256/<pin>: <subject>` for one certificate.
pub fn describe(der: &[u8]) -> String {
    match spki_pin(der) {
        Some(pin) => format!("{pin}: {}", subject(der)),
        None => format!("(no pin): {}", subject(der)),
    }
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc(unix_time: i64) -> String {
    use ::time::format_description::well_known::Rfc3339;
    ::time::OffsetDateTime::from_unix_timestamp(unix_time)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{unix_time}"))
}

pub(crate) fn rejection(rule: &Rule, host: &Host, served: &[&[u8]], r: &Rejection, now: i64) -> String {
    let mut m = String::new();
    let _ = write!(m, "{} for {host} under {}", r.reason, rule.label());
    m.push_str("\n  Peer certificate chain:");
    for der in served {
        let _ = write!(m, "\n    {}", describe(der));
    }
    if let Some((pin, der)) = &r.unsent_anchor {
        let _ = write!(
            m,
            "\n  Anchor of the validated path (not sent by the server):\n    {pin}: {}",
            subject(der)
        );
    }
    if rule.pins.is_empty() {
        m.push_str("\n  Pinned keys: none (this rule trusts its anchors alone)");
    } else {
        let _ = write!(m, "\n  Pinned keys for {host}:");
        for pin in &rule.pins {
            let _ = write!(m, "\n    {pin}");
        }
        if !rule.pins_enforced_at(now) {
            if let Some(e) = &rule.pins_expire {
                let _ = write!(m, "\n  (not enforced: \"pins_expire\" {} has passed)", e.text);
            }
        }
    }
    if let Some(hint) = &r.hint {
        let _ = write!(m, "\n  To fix: {hint}");
    }
    m
}
