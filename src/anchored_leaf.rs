//! A leaf that is byte-identical to one of the rule's anchors: a pinned
//! self-signed server. There is no path to build; what still applies is the
//! validity period, the host name (SAN, else the subject CN as Qt does), an
//! EKU that includes serverAuth when present, no unknown critical extension,
//! a positive serial, and the pins.

use webpki::EndEntityCert;
use x509_parser::prelude::*;

use crate::cache::validity_window;
use crate::host::Host;
use crate::outcome::{map_error, Accepted, Rejection};
use crate::pin::Pin;
use crate::policy::Rule;
use crate::result::flags;
use crate::PinResult;

pub(crate) fn evaluate(
    rule: &Rule,
    der: &[u8],
    leaf: &EndEntityCert<'_>,
    pin: Pin,
    host: &Host,
    now: i64,
    pins_enforced: bool,
) -> Result<Accepted, Box<Rejection>> {
    let reject = |result: PinResult, reason: String| Err(Rejection::new(result, reason));
    let (_, cert) = match X509Certificate::from_der(der) {
        Ok(parsed) => parsed,
        Err(e) => {
            return reject(
                PinResult::PIN_ERR_CHAIN_MALFORMED,
                format!("the leaf cannot be parsed ({e})"),
            )
        }
    };
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return reject(
            PinResult::PIN_ERR_NOT_YET_VALID,
            format!("the pinned certificate is valid only from {}", validity.not_before),
        );
    }
    if now > validity.not_after.timestamp() {
        return reject(
            PinResult::PIN_ERR_EXPIRED,
            format!("the pinned certificate expired at {}", validity.not_after),
        );
    }
    let serial = cert.raw_serial();
    if serial.is_empty() || serial[0] & 0x80 != 0 || serial.iter().all(|b| *b == 0) {
        return reject(
            PinResult::PIN_ERR_REJECTED_OTHER,
            "the certificate's serial number is not positive".into(),
        );
    }
    for ext in cert.extensions() {
        if ext.critical && !crate::anchor_constraints::known_critical(&ext.oid) {
            return reject(
                PinResult::PIN_ERR_REJECTED_OTHER,
                format!("the certificate has an unknown critical extension {}", ext.oid),
            );
        }
    }
    match cert.extended_key_usage() {
        Ok(None) => {}
        Ok(Some(eku)) if eku.value.server_auth => {}
        Ok(Some(_)) => {
            return reject(
                PinResult::PIN_ERR_BAD_USAGE,
                "the certificate's extendedKeyUsage does not allow serverAuth".into(),
            )
        }
        Err(e) => {
            return reject(
                PinResult::PIN_ERR_CHAIN_MALFORMED,
                format!("the extendedKeyUsage extension is malformed ({e})"),
            )
        }
    }

    let mut verdict_flags = flags::VOUCHED;
    if rule.verify_hostname {
        name_matches(der, &cert, leaf, host)?;
        verdict_flags |= flags::NAME_VERIFIED;
    }
    if pins_enforced && !rule.pins.contains(&pin) {
        let mut r = Rejection::new(
            PinResult::PIN_ERR_PIN_MISMATCH,
            "the certificate is one of this rule's anchors, but its key is not pinned",
        );
        r.validated = vec![der.to_vec()];
        return Err(r);
    }
    let window = validity_window(std::iter::once(der.to_vec()), rule.pins_last_enforced(), now);
    Ok(Accepted {
        flags: verdict_flags,
        window,
    })
}

/// SAN when the certificate has a DNS or IP SAN; the subject CN otherwise.
fn name_matches(
    der: &[u8],
    cert: &X509Certificate<'_>,
    leaf: &EndEntityCert<'_>,
    host: &Host,
) -> Result<(), Box<Rejection>> {
    let has_name_san = matches!(cert.subject_alternative_name(), Ok(Some(san))
        if san.value.general_names.iter().any(|n| matches!(n, GeneralName::DNSName(_) | GeneralName::IPAddress(_))));
    if has_name_san {
        let mapped = |ip: &std::net::IpAddr| crate::host::san_ip_addresses(der).contains(ip);
        if matches!(host, Host::Ip(ip) if mapped(ip)) {
            return Ok(());
        }
        return leaf.verify_is_valid_for_subject_name(&host.server_name()).map_err(|e| {
            Rejection::new(
                map_error(&e),
                format!("the pinned certificate's subjectAltName does not list host {host}"),
            )
            .with_hint("connect with a name the certificate lists, or reissue it with this name in its subjectAltName")
        });
    }
    let cns: Vec<&str> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .collect();
    if cns.iter().any(|cn| cn_matches(cn, host)) {
        return Ok(());
    }
    Err(Rejection::new(
        PinResult::PIN_ERR_HOSTNAME_MISMATCH,
        format!("no subjectAltName for host {host}, and the subject CN {cns:?} does not match it"),
    )
    .with_hint(
        "this rule pins the exact certificate: set \"verify_hostname\": false or reissue it with a subjectAltName for this host",
    ))
}

fn cn_matches(cn: &str, host: &Host) -> bool {
    let cn = cn.strip_suffix('.').unwrap_or(cn);
    match host {
        Host::Ip(ip) => cn.parse::<std::net::IpAddr>().is_ok_and(|c| c.to_canonical() == *ip),
        Host::Dns(name) => {
            if cn.eq_ignore_ascii_case(name) {
                return true;
            }
            match (cn.strip_prefix("*."), name.split_once('.')) {
                // As Qt: the wildcard stands for one whole label and never covers a
                // bare top-level domain (`*.com`).
                (Some(suffix), Some((_, rest))) => {
                    suffix.contains('.') && !suffix.contains('*') && suffix.eq_ignore_ascii_case(rest)
                }
                _ => false,
            }
        }
    }
}
