//! A chain that is not a pinned certificate: webpki builds and validates a
//! path to one of the rule's anchors, and every path it validates must also
//! pass the anchor's own constraints, the Web PKI profile when it applies and
//! the pins before it counts; then the host name.

use std::cell::RefCell;

use pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use crate::cache::validity_window;
use crate::describe;
use crate::host::Host;
use crate::key_strength;
use crate::outcome::{map_error, Accepted, Rejection};
use crate::pin::Pin;
use crate::policy::Rule;
use crate::profile::{Profile, Role};
use crate::result::flags;
use crate::roots::Anchor;
use crate::signature_algorithms::{Remembering, SIGNATURE_ALGORITHMS};
use crate::signature_cache::SignatureCache;
use crate::PinResult;

/// Validates a path for the served `certs` (leaf first; `leaf` is the first,
/// parsed) under `rule`, then the host name. `want_window` asks for the span
/// in which the same chain gets the same answer, for the cache.
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate(
    rule: &Rule,
    signatures: &SignatureCache,
    certs: &[&[u8]],
    leaf: &EndEntityCert<'_>,
    host: &Host,
    now: i64,
    pins_enforced: bool,
    want_window: bool,
) -> Result<Accepted, Box<Rejection>> {
    let intermediates: Vec<CertificateDer<'_>> = certs[1..].iter().map(|c| CertificateDer::from(*c)).collect();
    let unpinned_path: RefCell<Option<Vec<Vec<u8>>>> = RefCell::new(None);
    // The first path that webpki validated but certpin refused, and why.
    let refused_path: RefCell<Option<Box<Rejection>>> = RefCell::new(None);
    let profile_checks = ProfileChecks::default();
    // Called for every path webpki validates, so that path building goes on
    // to another path when this one breaks a rule or carries no pin.
    let check_path = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
        if let Err((result, reason)) = path_problem(rule, path, certs[0], now, &profile_checks) {
            refused_path.borrow_mut().get_or_insert_with(|| {
                let validated = path_der(rule, path);
                let hint = if reason.starts_with("profile \"web\"") {
                    "the chain breaks a rule of the public Web PKI; a rule for a private CA may say \"profile\": \"private\""
                } else {
                    "replace the anchor in the rule's \"anchors\" with one that may vouch for this chain"
                };
                Box::new(Rejection {
                    result,
                    reason,
                    hint: Some(hint.into()),
                    unsent_anchor: unsent_anchor(certs, &validated),
                    validated,
                })
            });
            return Err(webpki::Error::UnknownIssuer);
        }
        if !pins_enforced || path_has_pin(path, &rule.pins) {
            return Ok(());
        }
        unpinned_path.borrow_mut().get_or_insert_with(|| path_der(rule, path));
        Err(webpki::Error::UnknownIssuer)
    };
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now as u64));
    let (remembering, in_front);
    let algorithms: &[&dyn SignatureVerificationAlgorithm] = if signatures.enabled() {
        remembering = Remembering::all(signatures, certs[0]);
        in_front = std::array::from_fn::<_, { SIGNATURE_ALGORITHMS.len() }, _>(|i| {
            &remembering[i] as &dyn SignatureVerificationAlgorithm
        });
        &in_front
    } else {
        &SIGNATURE_ALGORITHMS
    };
    let verified = leaf.verify_for_usage(
        algorithms,
        &rule.trust_anchors,
        &intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        Some(&check_path),
    );
    let path = match verified {
        Ok(path) => path,
        Err(e) => {
            if let Some(validated) = unpinned_path.into_inner() {
                let unsent_anchor = unsent_anchor(certs, &validated);
                return Err(Box::new(Rejection {
                    result: PinResult::PIN_ERR_PIN_MISMATCH,
                    reason: "the chain is valid, but no certificate on any valid path has a pinned key".into(),
                    hint: Some(
                        "if this chain is yours, add the pin of its intermediate or root (or of the leaf) to \"pins\"; \
                         if not, this is the attack pinning stops"
                            .into(),
                    ),
                    validated,
                    unsent_anchor,
                }));
            }
            if let Some(refused) = refused_path.into_inner() {
                return Err(refused);
            }
            // webpki reports an issuer key that is too small as a signature
            // that does not verify; say what is really wrong.
            let issuers = certs[1..]
                .iter()
                .copied()
                .chain(rule.anchors.iter().map(|a| a.der.as_ref()));
            if let (webpki::Error::InvalidSignatureForPublicKey, Some(bits)) =
                (&e, issuers.filter_map(key_strength::weak_rsa_bits).min())
            {
                return Err(Rejection::new(
                    PinResult::PIN_ERR_UNSUPPORTED_ALGORITHM,
                    format!(
                        "an issuer's RSA key has {bits} bits; at least {} are required",
                        key_strength::MIN_RSA_BITS
                    ),
                ));
            }
            return Err(explain_path_error(&e));
        }
    };

    let mut flags = flags::VOUCHED;
    if rule.verify_hostname {
        let name_check = leaf.verify_is_valid_for_subject_name(&host.server_name());
        if let Err(e) = name_check.or_else(|e| {
            if mapped_ip_listed(host, certs[0], &path) {
                Ok(())
            } else {
                Err(e)
            }
        }) {
            let validated = path_der(rule, &path);
            let mut r = Rejection::new(map_error(&e), format!("the leaf is not valid for host {host}"));
            r.unsent_anchor = unsent_anchor(certs, &validated);
            r.validated = validated;
            return Err(r.with_hint("connect with a name the certificate lists, or reissue the certificate with this name in its subjectAltName"));
        }
        flags |= flags::NAME_VERIFIED;
    }
    let window = want_window.then(|| {
        let certs_on_path =
            std::iter::once(path.end_entity().der()).chain(path.intermediate_certificates().map(|c| c.der()));
        let (from, until) = validity_window(
            certs_on_path.map(|d| d.as_ref().to_vec()),
            rule.pins_last_enforced(),
            now,
        )?;
        // The anchor's own validity bounds the answer too.
        let (not_before, not_after) = anchor_behind(rule, path.anchor())?.0.constraints.validity();
        Some((from.max(not_before), until.min(not_after))).filter(|(f, u)| *f <= now && now <= *u)
    });
    Ok(Accepted {
        flags,
        window: window.flatten(),
    })
}

/// The anchor behind one of the rule's trust anchors (webpki hands back a
/// reference into `rule.trust_anchors`: the rule's own anchors, then the
/// system store, in order), and whether it is a system root.
fn anchor_behind<'r>(rule: &'r Rule, trust_anchor: &TrustAnchor<'_>) -> Option<(&'r Anchor, bool)> {
    let size = std::mem::size_of::<TrustAnchor<'static>>();
    let offset = (trust_anchor as *const TrustAnchor<'_> as usize).checked_sub(rule.trust_anchors.as_ptr() as usize)?;
    let i = offset / size;
    if offset % size != 0 || i >= rule.trust_anchors.len() {
        return None;
    }
    match rule.anchors.get(i) {
        Some(anchor) => Some((anchor, false)),
        None => crate::roots::system()
            .ok()?
            .get(i - rule.anchors.len())
            .map(|anchor| (anchor, true)),
    }
}

/// What the Web PKI profile found about the certificates of one evaluation,
/// so that each is parsed at most once however many paths are tried.
#[derive(Default)]
struct ProfileChecks {
    leaf: std::cell::OnceCell<Option<String>>,
    /// By the address of the intermediate's DER in the served chain.
    intermediates: RefCell<Vec<(usize, Option<String>)>>,
}

/// Why a path that webpki validated is refused: the anchor's own constraints
/// (every profile), then the rules of the Web PKI when the path follows them.
fn path_problem(
    rule: &Rule,
    path: &VerifiedPath<'_>,
    leaf_der: &[u8],
    now: i64,
    checks: &ProfileChecks,
) -> Result<(), (PinResult, String)> {
    let Some((anchor, system)) = anchor_behind(rule, path.anchor()) else {
        return Err((
            PinResult::PIN_ERR_INTERNAL,
            "the anchor of the validated path is not one of the rule's".into(),
        ));
    };
    let profile = rule
        .profile
        .unwrap_or(if system { Profile::Web } else { Profile::Private });
    let web = profile == Profile::Web;
    // RFC 5280 6.1.4 (l): self-issued intermediates do not count.
    let below = path
        .intermediate_certificates()
        .filter(|c| c.issuer() != c.subject())
        .count();
    anchor.constraints.check(below, now, web)?;
    if !web {
        return Ok(());
    }
    let refuse = |why: &str| Err((PinResult::PIN_ERR_BAD_USAGE, format!("profile \"web\": {why}")));
    if let Some(why) = checks.leaf.get_or_init(|| web_check(leaf_der, Role::Leaf)) {
        return refuse(why);
    }
    for cert in path.intermediate_certificates() {
        let der = cert.der();
        let key = der.as_ref().as_ptr() as usize;
        let known = checks
            .intermediates
            .borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone());
        let problem = known.unwrap_or_else(|| {
            let found = web_check(der.as_ref(), Role::Intermediate);
            checks.intermediates.borrow_mut().push((key, found.clone()));
            found
        });
        if let Some(why) = problem {
            return refuse(&why);
        }
    }
    Ok(())
}

/// The Web PKI rule a served certificate breaks, as a sentence naming it.
fn web_check(der: &[u8], role: Role) -> Option<String> {
    use x509_parser::prelude::*;
    let what = if role == Role::Leaf { "leaf" } else { "intermediate" };
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Some(format!("the {what} cannot be parsed"));
    };
    let problem = crate::profile::web_problem(&cert, role)?;
    Some(format!("the {what} \"{}\" {problem}", describe::subject(der)))
}

/// Whether the host is an IP address that the leaf lists as an IPv4-mapped
/// IPv6 address (which webpki compares as IPv6). Only on a path without name
/// constraints above the leaf: an IPv4 constraint does not cover the mapped
/// spelling, so a constrained CA could reach an address it may not name.
fn mapped_ip_listed(host: &Host, leaf_der: &[u8], path: &VerifiedPath<'_>) -> bool {
    use x509_parser::prelude::*;
    let Host::Ip(ip) = host else { return false };
    let unconstrained = path.anchor().name_constraints.is_none()
        && path.intermediate_certificates().all(|c| {
            X509Certificate::from_der(c.der().as_ref()).is_ok_and(|(_, c)| matches!(c.name_constraints(), Ok(None)))
        });
    unconstrained && crate::host::san_ip_addresses(leaf_der).contains(ip)
}

/// Whether any certificate of a verified path (leaf, intermediates, anchor)
/// has a pinned key.
fn path_has_pin(path: &VerifiedPath<'_>, pins: &[Pin]) -> bool {
    let has = |pin: Pin| pins.contains(&pin);
    has(Pin::of_spki_der(path.end_entity().subject_public_key_info().as_ref()))
        || path
            .intermediate_certificates()
            .any(|c| has(Pin::of_spki_der(c.subject_public_key_info().as_ref())))
        || has(Pin::of_spki_contents(&path.anchor().subject_public_key_info))
}

/// The DER of a verified path, leaf to anchor. The anchor's certificate is
/// included when certpin knows it (a rule anchor or a system root).
fn path_der(rule: &Rule, path: &VerifiedPath<'_>) -> Vec<Vec<u8>> {
    let mut ders = vec![path.end_entity().der().as_ref().to_vec()];
    ders.extend(path.intermediate_certificates().map(|c| c.der().as_ref().to_vec()));
    let anchor = path.anchor();
    let known = rule
        .anchors
        .iter()
        .chain(if rule.system_roots {
            crate::roots::system().unwrap_or(&[])
        } else {
            &[]
        })
        .find(|a| {
            a.trust_anchor.subject == anchor.subject
                && a.trust_anchor.subject_public_key_info == anchor.subject_public_key_info
        });
    if let Some(a) = known {
        ders.push(a.der.as_ref().to_vec());
    }
    ders
}

/// The anchor of a validated path when the server did not send it.
fn unsent_anchor(served: &[&[u8]], validated: &[Vec<u8>]) -> Option<(Pin, Vec<u8>)> {
    let anchor = validated.last().filter(|_| validated.len() > 1)?;
    if served.contains(&anchor.as_slice()) {
        return None;
    }
    Some((describe::spki_pin(anchor)?, anchor.clone()))
}

#[allow(deprecated)]
fn explain_path_error(e: &webpki::Error) -> Box<Rejection> {
    use webpki::Error as E;
    let result = map_error(e);
    let reason = match e {
        E::UnknownIssuer => "no path from the leaf to an anchor this rule allows".to_string(),
        E::CertExpired { time, not_after } => format!(
            "a certificate of the path expired at {} (checked at {})",
            describe::utc(not_after.as_secs() as i64),
            describe::utc(time.as_secs() as i64)
        ),
        E::CertNotValidYet { time, not_before } => format!(
            "a certificate of the path is valid only from {} (checked at {})",
            describe::utc(not_before.as_secs() as i64),
            describe::utc(time.as_secs() as i64)
        ),
        E::CaUsedAsEndEntity => "the leaf is a CA certificate (basicConstraints CA:TRUE)".into(),
        E::EndEntityUsedAsCa => "an issuer on the path is not a CA (no basicConstraints CA:TRUE)".into(),
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => {
            "a certificate's extendedKeyUsage does not allow serverAuth".into()
        }
        E::PathLenConstraintViolated => "the path is longer than an issuer's pathLenConstraint allows".into(),
        E::NameConstraintViolation => "a name of the leaf violates an issuer's name constraints".into(),
        E::InvalidSignatureForPublicKey => "a signature on the path does not verify".into(),
        other => format!("path validation failed: {other:?}"),
    };
    let hint = match result {
        PinResult::PIN_ERR_UNTRUSTED => Some(
            "add the issuing CA (or the server's own certificate) to this rule's \"anchors\", or send the missing intermediates",
        ),
        PinResult::PIN_ERR_EXPIRED => Some("renew the expired certificate"),
        _ => None,
    };
    let rejection = Rejection::new(result, reason);
    match hint {
        Some(h) => rejection.with_hint(h),
        None => rejection,
    }
}
