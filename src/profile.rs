//! Verification profiles (DESIGN, Verification 4). `"private"` is RFC 5280
//! path validation (webpki, plus the anchor's own constraints of `anchor`):
//! what company CAs and self-signed servers need, with nothing a hand-made
//! private PKI commonly lacks turned into a rejection. `"web"` adds the rules
//! of the public Web PKI: the CA/Browser Forum Baseline Requirements and
//! RFC 5280's MUSTs for conforming CAs, as pyca/cryptography enforces them.
//!
//! This module only reads certificates; it never decides trust on its own:
//! every rule here can only turn an acceptance into a rejection.

use std::net::IpAddr;

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::*;

/// Which rules a validated path must follow beyond RFC 5280 path validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// RFC 5280 and the anchor's own constraints; no AKI/SKI requirement,
    /// underscores in names and serials of any length allowed.
    Private,
    /// The public Web PKI's rules on top of `Private`.
    Web,
}

impl Profile {
    /// The profile's name in the policy file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Web => "web",
        }
    }
}

/// The position of a certificate on a validated path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The server's certificate.
    Leaf,
    /// A CA between the leaf and the anchor.
    Intermediate,
    /// The trust anchor (a root, or a cross-signed CA trusted as one).
    Anchor,
}

/// The first Web PKI rule `cert` breaks in `role`, as the end of the
/// sentence "the certificate "<subject>" …".
pub(crate) fn web_problem(cert: &X509Certificate<'_>, role: Role) -> Option<String> {
    let is_ca_role = role != Role::Leaf;
    let self_issued = cert.subject().as_raw() == cert.issuer().as_raw();

    // RFC 5280 4.1.2.2; a 20-octet value with its high bit set takes 21
    // octets with the leading zero that keeps it positive. Not for anchors:
    // a root is trusted for its key, and roots in every store have serial 0.
    let serial = cert.raw_serial();
    if role != Role::Anchor {
        if serial.is_empty() || serial[0] & 0x80 != 0 || serial.iter().all(|b| *b == 0) {
            return Some("has a serial number that is not positive (RFC 5280 4.1.2.2)".into());
        }
        if serial.len() > 21 || (serial.len() == 21 && serial[0] != 0) {
            return Some(format!(
                "has a serial number of {} octets; at most 20 are allowed (RFC 5280 4.1.2.2)",
                serial.len()
            ));
        }
    }
    if is_ca_role && cert.subject().as_raw().len() <= 2 {
        return Some("is a CA with an empty subject (RFC 5280 4.1.2.6)".into());
    }

    let mut aki = None;
    let mut ski = None;
    let mut san = None;
    for ext in cert.extensions() {
        let critical = ext.critical;
        match ext.parsed_extension() {
            ParsedExtension::ParseError { error } => {
                return Some(format!("has a malformed extension {} ({error})", ext.oid));
            }
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                if critical {
                    return Some("has a critical authorityKeyIdentifier (RFC 5280 4.2.1.1)".into());
                }
                aki = Some(a);
            }
            ParsedExtension::SubjectKeyIdentifier(k) => {
                if critical {
                    return Some("has a critical subjectKeyIdentifier (RFC 5280 4.2.1.2)".into());
                }
                ski = Some(k.0);
            }
            ParsedExtension::SubjectAlternativeName(s) => san = Some((s, critical)),
            ParsedExtension::BasicConstraints(bc) => {
                if is_ca_role && !critical {
                    return Some("is a CA whose basicConstraints is not critical (RFC 5280 4.2.1.9)".into());
                }
                if role == Role::Leaf && bc.ca {
                    return Some("is a leaf with basicConstraints cA TRUE".into());
                }
            }
            ParsedExtension::KeyUsage(ku) => {
                if role == Role::Leaf && ku.key_cert_sign() {
                    return Some(
                        "is a leaf whose keyUsage asserts keyCertSign without being a CA (RFC 5280 4.2.1.3)".into(),
                    );
                }
                if is_ca_role && !ku.key_cert_sign() {
                    return Some("is a CA whose keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)".into());
                }
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                if role == Role::Anchor {
                    return Some("is a root with an extendedKeyUsage (CABF BR 7.1.2.1)".into());
                }
                if role == Role::Leaf && critical {
                    return Some("has a critical extendedKeyUsage (CABF BR 7.1.2.7)".into());
                }
                if role == Role::Leaf && eku.any {
                    return Some("has anyExtendedKeyUsage in its extendedKeyUsage (CABF BR 7.1.2.7)".into());
                }
            }
            ParsedExtension::NameConstraints(nc) => {
                if role == Role::Leaf {
                    return Some("is a leaf with nameConstraints (RFC 5280 4.2.1.10)".into());
                }
                // Not critical is allowed: CABF BR 7.1.2.10.8 makes the
                // exception to RFC 5280 so that clients that do not know the
                // extension still work.
                let subtrees = || {
                    nc.permitted_subtrees
                        .iter()
                        .chain(nc.excluded_subtrees.iter())
                        .flatten()
                };
                if subtrees().next().is_none() {
                    return Some("has a nameConstraints without any subtree (RFC 5280 4.2.1.10)".into());
                }
                if let Some(bad) = subtrees().find_map(|t| match t.base {
                    GeneralName::DNSName(d) if d.starts_with('.') || d.ends_with('.') || d.contains("..") => Some(d),
                    _ => None,
                }) {
                    return Some(format!(
                        "has a nameConstraints dNSName {bad:?} that is not a DNS name (RFC 5280 4.2.1.10)"
                    ));
                }
            }
            ParsedExtension::PolicyConstraints(_) if !critical => {
                return Some("has a policyConstraints that is not critical (RFC 5280 4.2.1.11)".into());
            }
            _ => {}
        }
    }

    // An anchor is trusted for its key, whoever else signed it.
    if !self_issued && role != Role::Anchor {
        match aki {
            Some(a) if a.key_identifier.is_some() => {}
            Some(_) => return Some("has an authorityKeyIdentifier without keyIdentifier (RFC 5280 4.2.1.1)".into()),
            None => return Some("has no authorityKeyIdentifier (RFC 5280 4.2.1.1)".into()),
        }
    }
    // Not for anchors: roots of the current Mozilla list lack it (TWCA Global
    // Root CA), and a root is trusted for its key, not for its identifiers.
    if role == Role::Intermediate && ski.is_none() {
        return Some("is a CA without subjectKeyIdentifier (RFC 5280 4.2.1.2)".into());
    }
    if role == Role::Anchor && self_issued {
        if let Some(a) = aki {
            if a.authority_cert_issuer.is_some() || a.authority_cert_serial.is_some() {
                return Some(
                    "is a root whose authorityKeyIdentifier names an issuer or serial (CABF BR 7.1.2.1.3)".into(),
                );
            }
            match &a.key_identifier {
                None => {
                    return Some(
                        "is a root whose authorityKeyIdentifier has no keyIdentifier (CABF BR 7.1.2.1.3)".into(),
                    )
                }
                Some(k) if ski.is_some_and(|s| s != k.0) => return Some(
                    "is a root whose authorityKeyIdentifier differs from its subjectKeyIdentifier (CABF BR 7.1.2.1.3)"
                        .into(),
                ),
                Some(_) => {}
            }
        }
    }
    if is_ca_role {
        if let Some(bits) = crate::key_strength::rsa_bits(cert.public_key()).filter(|b| b % 8 != 0) {
            return Some(format!(
                "has an RSA key of {bits} bits, not a whole number of bytes (CABF BR 6.1.5)"
            ));
        }
    }
    if role == Role::Leaf {
        return leaf_problem(cert, san);
    }
    None
}

/// The rules only a leaf follows: its names.
fn leaf_problem(
    cert: &X509Certificate<'_>,
    san: Option<(&x509_parser::extensions::SubjectAlternativeName<'_>, bool)>,
) -> Option<String> {
    // No EKU is accepted: CABF BR 7.1.2.7.6 requires one in the leaf, RFC 5280
    // 4.2.1.12 does not, and webpki requires serverAuth when one is present.
    let subject_empty = cert.subject().as_raw().len() <= 2;
    let names: &[GeneralName<'_>] = match san {
        None => return Some("is a leaf without subjectAltName (CABF BR 7.1.2.7)".into()),
        Some((_, false)) if subject_empty => {
            return Some("has an empty subject and a subjectAltName that is not critical (RFC 5280 4.2.1.6)".into())
        }
        Some((_, true)) if !subject_empty => {
            return Some("has a subject and a critical subjectAltName (CABF BR 7.1.2.7.12)".into())
        }
        Some((s, _)) => &s.general_names,
    };
    if let Some(name) = names.iter().find_map(|n| match n {
        GeneralName::DNSName(d) if d.contains('_') => Some(*d),
        _ => None,
    }) {
        return Some(format!(
            "has the DNS name {name:?} with an underscore in its subjectAltName (CABF BR 7.1.2.7.12)"
        ));
    }
    // CABF BR 7.1.4.3: a subject CN, when present, is one of the SAN values,
    // byte for byte. A CN naming something no SAN names is common outside the
    // Web PKI's newest certificates (and in every conformance suite), so what
    // is refused is a CN that names a SAN's host in another spelling (case,
    // a non-canonical IP address), and a CN that is not ASCII (a dNSName never is).
    for cn in cert.subject().iter_common_name() {
        let Ok(cn) = cn.as_str() else {
            return Some("has a subject CN that is not text (CABF BR 7.1.4.3)".into());
        };
        if !cn.is_ascii() {
            return Some(format!(
                "has the subject CN {cn:?}, which is not ASCII and so is no subjectAltName value (CABF BR 7.1.4.3)"
            ));
        }
        let exact = names.iter().any(|n| match n {
            GeneralName::DNSName(d) => *d == cn,
            GeneralName::IPAddress(bytes) => ip_text(bytes).is_some_and(|ip| ip == cn),
            _ => false,
        });
        let respelled = !exact
            && names.iter().any(|n| match n {
                GeneralName::DNSName(d) => d.eq_ignore_ascii_case(cn),
                GeneralName::IPAddress(bytes) => {
                    ip_of(bytes).is_some_and(|ip| [true, false].iter().any(|octal| lenient_ip(cn, *octal) == Some(ip)))
                }
                _ => false,
            });
        if respelled {
            return Some(format!(
                "has the subject CN {cn:?}, which spells one of its subjectAltName values differently (CABF BR 7.1.4.3)"
            ));
        }
    }
    None
}

/// An IP address as loose parsers read text: any IPv6 spelling, and IPv4 as
/// `inet_aton` does (hex, fewer parts, and a leading zero for octal when
/// `octal`, else decimal with leading zeros).
fn lenient_ip(text: &str, octal: bool) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<u64> = text
        .split('.')
        .map(|p| {
            let (digits, radix) = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
                (hex, 16)
            } else if octal && p.len() > 1 && p.starts_with('0') {
                (&p[1..], 8)
            } else {
                (p, 10)
            };
            u64::from_str_radix(digits, radix).ok()
        })
        .collect::<Option<_>>()?;
    let (last, head) = parts.split_last()?;
    if head.len() > 3 || head.iter().any(|p| *p > 255) || *last >= 1u64 << (8 * (4 - head.len())) {
        return None;
    }
    let value = head
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, p)| acc | p << (8 * (3 - i)));
    Some(IpAddr::from(u32::try_from(value).ok()?.to_be_bytes()))
}

/// An iPAddress SAN's address.
fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// An iPAddress SAN in its canonical text form (RFC 5952 for IPv6).
fn ip_text(bytes: &[u8]) -> Option<String> {
    ip_of(bytes).map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_ipv4_spellings() {
        let ip = |s: &str| lenient_ip(s, true).map(|ip| ip.to_string());
        assert_eq!(ip("0xC0A80101").as_deref(), Some("192.168.1.1"));
        assert_eq!(ip("192.168.001.001").as_deref(), Some("192.168.1.1"));
        assert_eq!(ip("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(
            lenient_ip("010.000.000.001", false).map(|ip| ip.to_string()).as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(ip("192.168.257").as_deref(), Some("192.168.1.1"));
        assert_eq!(ip("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        for not_ip in ["example.com", "1.2.3.4.5", "256.1.1.1", "0x1g", "", "1..2"] {
            assert_eq!(ip(not_ip), None, "{not_ip}");
        }
    }
}
