//! A certificate or a public key described for a person: what `inspect` and
//! `fetch` print, and the one-line names `pin` uses.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use x509_parser::der_parser::Oid;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use super::clock;
use crate::describe;
use crate::pin::Pin;

/// The subject of a certificate as text, as certpin's messages write it.
pub(crate) fn subject(der: &[u8]) -> String {
    describe::subject(der)
}

/// Appends the description of one DER certificate, indented by two spaces.
/// `now` decides the "expires in" note.
pub(crate) fn describe(out: &mut String, der: &[u8], now: i64) {
    let cert = match super::input::certificate(der) {
        Ok(cert) => cert,
        Err(e) => {
            let _ = writeln!(out, "  (cannot be parsed: {e})");
            return;
        }
    };
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let status = if now < not_before {
        format!("not valid yet: valid in {}", clock::days(not_before - now))
    } else if now > not_after {
        format!("expired {} ago", clock::days(now - not_after))
    } else {
        format!("expires in {}", clock::days(not_after - now))
    };
    let _ = writeln!(out, "  Subject:     {}", subject(der));
    let _ = writeln!(out, "  Issuer:      {}", name_or_empty(&cert.issuer().to_string()));
    let _ = writeln!(out, "  Not before:  {}", describe::utc(not_before));
    let _ = writeln!(out, "  Not after:   {} ({status})", describe::utc(not_after));
    let _ = writeln!(out, "  SANs:        {}", alt_names(&cert));
    let _ = writeln!(out, "  Key:         {}", key(cert.public_key()));
    let _ = writeln!(out, "  Signature:   {}", oid_name(&cert.signature_algorithm.algorithm));
    let _ = writeln!(out, "  CA:          {}", ca(&cert));
    let _ = writeln!(out, "  Pin:         {}", Pin::of_spki_der(cert.public_key().raw));
}

/// Appends the description of one DER SubjectPublicKeyInfo.
pub(crate) fn describe_public_key(out: &mut String, der: &[u8]) {
    match super::input::public_key(der) {
        Ok(spki) => {
            let _ = writeln!(out, "  Key:         {}", key(&spki));
        }
        Err(e) => {
            let _ = writeln!(out, "  (cannot be parsed: {e})");
            return;
        }
    }
    let _ = writeln!(out, "  Pin:         {}", Pin::of_spki_der(der));
}

fn name_or_empty(name: &str) -> &str {
    if name.is_empty() {
        "(empty)"
    } else {
        name
    }
}

fn alt_names(cert: &X509Certificate<'_>) -> String {
    let san = match cert.subject_alternative_name() {
        Ok(Some(san)) => san,
        Ok(None) => return "(none)".into(),
        Err(e) => return format!("(unreadable: {e})"),
    };
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => format!("IP:{}", Ipv4Addr::from(<[u8; 4]>::try_from(*ip).expect("4 bytes"))),
                16 => format!("IP:{}", Ipv6Addr::from(<[u8; 16]>::try_from(*ip).expect("16 bytes"))),
                n => format!("IP:(malformed, {n} bytes)"),
            },
            GeneralName::RFC822Name(m) => format!("email:{m}"),
            GeneralName::URI(u) => format!("URI:{u}"),
            GeneralName::DirectoryName(d) => format!("DirName:{d}"),
            other => format!("{other:?}"),
        })
        .collect();
    if names.is_empty() {
        "(empty)".into()
    } else {
        names.join(", ")
    }
}

fn ca(cert: &X509Certificate<'_>) -> String {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => match bc.value.path_len_constraint {
            Some(n) => format!("yes (path length {n})"),
            None => "yes (no path length limit)".into(),
        },
        Ok(Some(_)) => "no".into(),
        Ok(None) => "no (no basicConstraints)".into(),
        Err(e) => format!("(unreadable basicConstraints: {e})"),
    }
}

/// The key's type and size, e.g. `ECDSA P-256 (256 bits)`, `RSA (2048 bits)`.
pub(crate) fn key(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let kind = if alg.ends_with(".10") { "RSA-PSS" } else { "RSA" };
            match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => format!("{kind} ({} bits)", crate::key_strength::modulus_bits(rsa.modulus)),
                _ => kind.into(),
            }
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| Oid::try_from(p).ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256 (256 bits)".into(),
                Some("1.3.132.0.34") => "ECDSA P-384 (384 bits)".into(),
                Some("1.3.132.0.35") => "ECDSA P-521 (521 bits)".into(),
                Some(other) => format!("EC, curve {other}"),
                None => "EC, curve not named".into(),
            }
        }
        "1.3.101.112" => "Ed25519 (256 bits)".into(),
        "1.3.101.113" => "Ed448 (456 bits)".into(),
        _ => oid_name(&spki.algorithm.algorithm),
    }
}

fn oid_name(oid: &Oid<'_>) -> String {
    match oid2sn(oid, oid_registry()) {
        Ok(name) => name.to_string(),
        Err(_) => oid.to_id_string(),
    }
}
