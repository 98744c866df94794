//! How certpin names a certificate and an instant in what it writes: the
//! SPKI pin and subject of a DER certificate, `sha256/<pin>: <subject>`, and
//! a Unix time in RFC 3339.

use x509_parser::prelude::*;

use crate::pin::Pin;

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
