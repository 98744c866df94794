//! Reading certificates and public keys from files, PEM or DER, whichever the
//! file holds: PEM may mix CERTIFICATE and PUBLIC KEY blocks; DER may be one
//! certificate, a concatenated chain, or a bare SubjectPublicKeyInfo.

use std::io::Read;
use std::path::Path;

use pki_types::pem::{PemObject, SectionKind};
use x509_parser::prelude::*;

use super::Failure;

/// Largest input file read; far above any real chain, small enough to refuse
/// a wrong file quickly.
const MAX_INPUT_BYTES: u64 = 16 << 20;

/// One thing a file holds.
pub(crate) enum Item {
    /// A DER X.509 certificate (it parses).
    Certificate(Vec<u8>),
    /// A DER SubjectPublicKeyInfo (it parses).
    PublicKey(Vec<u8>),
}

/// The file's bytes, bounded.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, Failure> {
    let file = std::fs::File::open(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::input(format!(
            "{}: larger than {MAX_INPUT_BYTES} bytes; not a certificate file",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Whether the bytes are PEM text rather than DER.
pub(crate) fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

/// Every certificate and public key in the file, in file order.
pub(crate) fn read_items(path: &Path) -> Result<Vec<Item>, Failure> {
    let bytes = read_bytes(path)?;
    let name = path.display();
    let items = if is_pem(&bytes) {
        pem_items(&bytes).map_err(|e| Failure::input(format!("{name}: {e}")))?
    } else {
        der_items(&bytes).map_err(|e| Failure::input(format!("{name}: not PEM, and as DER: {e}")))?
    };
    if items.is_empty() {
        return Err(Failure::input(format!(
            "{name}: holds no CERTIFICATE or PUBLIC KEY block"
        )));
    }
    Ok(items)
}

/// The certificates of a chain file as concatenated DER, leaf first, for
/// `certpin::verify`. DER is passed as it is, so that the library itself
/// judges its framing.
pub(crate) fn read_chain(path: &Path) -> Result<Vec<u8>, Failure> {
    let bytes = read_bytes(path)?;
    if !is_pem(&bytes) {
        return Ok(bytes);
    }
    let mut der = Vec::new();
    for (n, section) in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes).enumerate() {
        match section {
            Ok((SectionKind::Certificate, block)) => der.extend_from_slice(&block),
            Ok((SectionKind::PublicKey, _)) => {
                return Err(Failure::input(format!(
                    "{}: block {} is a PUBLIC KEY; a chain holds certificates only",
                    path.display(),
                    n + 1
                )))
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Failure::input(format!(
                    "{}: PEM block {} cannot be decoded ({e:?})",
                    path.display(),
                    n + 1
                )))
            }
        }
    }
    Ok(der)
}

fn pem_items(bytes: &[u8]) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for (n, section) in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes).enumerate() {
        let (kind, der) = section.map_err(|e| format!("PEM block {} cannot be decoded ({e:?})", n + 1))?;
        match kind {
            SectionKind::Certificate => {
                certificate(&der).map_err(|e| format!("block {} (CERTIFICATE): {e}", n + 1))?;
                items.push(Item::Certificate(der));
            }
            SectionKind::PublicKey => {
                public_key(&der).map_err(|e| format!("block {} (PUBLIC KEY): {e}", n + 1))?;
                items.push(Item::PublicKey(der));
            }
            // Private keys, CRLs and requests may share a file with a certificate; they carry no pin.
            _ => {}
        }
    }
    Ok(items)
}

fn der_items(bytes: &[u8]) -> Result<Vec<Item>, String> {
    let elements = crate::chain::split(bytes).map_err(|e| e.detail)?;
    let mut items = Vec::new();
    for (n, der) in elements.into_iter().enumerate() {
        if certificate(der).is_ok() {
            items.push(Item::Certificate(der.to_vec()));
        } else if public_key(der).is_ok() {
            items.push(Item::PublicKey(der.to_vec()));
        } else {
            return Err(format!(
                "element {} is neither an X.509 certificate nor a SubjectPublicKeyInfo",
                n + 1
            ));
        }
    }
    Ok(items)
}

/// Parses a whole DER certificate (no trailing bytes).
pub(crate) fn certificate(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("trailing bytes after the certificate".into()),
        Err(e) => Err(format!("not a valid X.509 certificate ({e})")),
    }
}

/// Parses a whole DER SubjectPublicKeyInfo (no trailing bytes).
pub(crate) fn public_key(der: &[u8]) -> Result<SubjectPublicKeyInfo<'_>, String> {
    match SubjectPublicKeyInfo::from_der(der) {
        Ok(([], spki)) => Ok(spki),
        Ok(_) => Err("trailing bytes after the public key".into()),
        Err(e) => Err(format!("not a valid SubjectPublicKeyInfo ({e})")),
    }
}
