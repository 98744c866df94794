//! An anchor's own constraints. webpki reduces a trust anchor to its subject,
//! key and name constraints; certpin also applies the rest of the anchor's
//! certificate, as OpenSSL does, to every validated path that ends at it:
//! validity, pathLenConstraint, keyUsage, extendedKeyUsage and unknown
//! critical extensions. A certificate that is not a CA vouches for no one:
//! it is trusted only as the byte-identical leaf (DESIGN, Verification 2).
//!
//! Everything is read once, when the anchor is loaded, so a path attempt
//! costs a few comparisons and never a parse.

use x509_parser::prelude::*;

use crate::describe;
use crate::PinResult;

/// Extensions whose meaning certpin (through webpki) knows, so they may be
/// critical. Shared with the byte-identical leaf of `direct`.
pub(crate) const KNOWN_CRITICAL: &[&[u64]] = &[
    &[2, 5, 29, 15], // keyUsage
    &[2, 5, 29, 17], // subjectAltName
    &[2, 5, 29, 19], // basicConstraints
    &[2, 5, 29, 30], // nameConstraints
    &[2, 5, 29, 31], // cRLDistributionPoints
    &[2, 5, 29, 37], // extKeyUsage
];

/// Whether an extension may be critical.
pub(crate) fn known_critical(oid: &x509_parser::der_parser::oid::Oid<'_>) -> bool {
    let arcs: Option<Vec<u64>> = oid.iter().map(Iterator::collect);
    arcs.is_some_and(|arcs| KNOWN_CRITICAL.contains(&arcs.as_slice()))
}

/// What an anchor's certificate says about the paths it may end.
#[derive(Clone, Debug)]
pub struct Constraints {
    /// The subject, for messages.
    subject: String,
    not_before: i64,
    not_after: i64,
    /// basicConstraints with cA TRUE.
    is_ca: bool,
    /// The pathLenConstraint: most non-self-issued intermediates below it.
    path_len: Option<u32>,
    /// The first time-independent rule it breaks as an issuer: keyUsage
    /// without keyCertSign, an EKU without serverAuth, an unknown critical
    /// extension, or a certificate that cannot be parsed.
    usage_problem: Option<String>,
    /// The first Web PKI rule it breaks as a root (see `profile`).
    web_problem: Option<String>,
}

impl Constraints {
    /// Reads the constraints of an anchor's DER certificate. One that cannot
    /// be parsed vouches for nothing (fail closed).
    pub(crate) fn of(der: &[u8]) -> Self {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            return Self {
                subject: "(unparsable certificate)".into(),
                not_before: i64::MAX,
                not_after: i64::MIN,
                is_ca: false,
                path_len: None,
                usage_problem: Some("cannot be parsed".into()),
                web_problem: None,
            };
        };
        let subject = match cert.subject().to_string() {
            s if s.is_empty() => "(empty subject)".to_string(),
            s => s,
        };
        let (is_ca, path_len) = match cert.basic_constraints() {
            Ok(Some(bc)) => (bc.value.ca, bc.value.path_len_constraint),
            _ => (false, None),
        };
        Self {
            subject,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca,
            path_len,
            usage_problem: usage_problem(&cert),
            web_problem: crate::profile::web_problem(&cert, crate::profile::Role::Anchor),
        }
    }

    /// Why a CA anchor may vouch for no chain at any time (keyUsage without
    /// keyCertSign, EKU without serverAuth, unknown critical extension), as the
    /// end of a sentence naming it. `None` for an anchor that is not a CA: a
    /// pinned server certificate is trusted as itself, which is its purpose.
    /// Only `certpin lint` asks.
    #[cfg(feature = "cli")]
    pub(crate) fn issuer_problem(&self) -> Option<&str> {
        self.usage_problem.as_deref().filter(|_| self.is_ca)
    }

    /// The span (Unix seconds, inclusive) in which the anchor is valid.
    pub(crate) fn validity(&self) -> (i64, i64) {
        (self.not_before, self.not_after)
    }

    /// Why a validated path cannot end at this anchor at `now`, when it has
    /// `intermediates` non-self-issued intermediates below the anchor; `web`
    /// adds the Web PKI rules for roots.
    pub(crate) fn check(&self, intermediates: usize, now: i64, web: bool) -> Result<(), (PinResult, String)> {
        let name = &self.subject;
        let bad_usage = |why: String| Err((PinResult::PIN_ERR_BAD_USAGE, why));
        if !self.is_ca {
            return bad_usage(format!(
                "the anchor \"{name}\" is not a CA (no basicConstraints cA TRUE), so it may vouch for no other \
                 certificate: it is trusted only when the server sends exactly it"
            ));
        }
        if now < self.not_before {
            return Err((
                PinResult::PIN_ERR_NOT_YET_VALID,
                format!(
                    "the anchor \"{name}\" is valid only from {} (checked at {})",
                    describe::utc(self.not_before),
                    describe::utc(now)
                ),
            ));
        }
        if now > self.not_after {
            return Err((
                PinResult::PIN_ERR_EXPIRED,
                format!(
                    "the anchor \"{name}\" expired at {} (checked at {})",
                    describe::utc(self.not_after),
                    describe::utc(now)
                ),
            ));
        }
        if let Some(limit) = self.path_len.filter(|l| intermediates > *l as usize) {
            return bad_usage(format!(
                "the anchor \"{name}\" has pathLenConstraint {limit}, and the path has {intermediates} \
                 intermediate(s) below it"
            ));
        }
        if let Some(why) = &self.usage_problem {
            return bad_usage(format!("the anchor \"{name}\" {why}"));
        }
        if let Some(why) = self.web_problem.as_ref().filter(|_| web) {
            return bad_usage(format!("profile \"web\": the anchor \"{name}\" {why}"));
        }
        Ok(())
    }
}

/// The first time-independent rule an anchor breaks as an issuer.
fn usage_problem(cert: &X509Certificate<'_>) -> Option<String> {
    if let Some(ext) = cert.extensions().iter().find(|e| e.critical && !known_critical(&e.oid)) {
        return Some(format!("has an unknown critical extension {}", ext.oid));
    }
    match cert.key_usage() {
        Ok(Some(ku)) if !ku.value.key_cert_sign() => {
            return Some("has a keyUsage without keyCertSign, so it may not sign certificates".into())
        }
        Ok(_) => {}
        Err(e) => return Some(format!("has a malformed keyUsage ({e})")),
    }
    match cert.extended_key_usage() {
        Ok(Some(eku)) if !eku.value.server_auth && !eku.value.any => {
            Some("has an extendedKeyUsage without serverAuth (or anyExtendedKeyUsage)".into())
        }
        Ok(_) => None,
        Err(e) => Some(format!("has a malformed extendedKeyUsage ({e})")),
    }
}
