//! Splitting the served chain: concatenated DER certificates, leaf first.
//!
//! Only the outer framing is read here (tag and length of each certificate);
//! the certificates themselves are parsed by webpki. Limits keep hostile
//! input bounded before any path building starts.

use crate::PinResult;

/// Most certificates a served chain may hold.
pub const MAX_CERTS: usize = 256;
/// Most bytes a served chain may have.
pub const MAX_CHAIN_BYTES: usize = 1 << 20;
/// Most bytes one certificate may have (webpki reads no DER length beyond
/// two octets).
pub const MAX_CERT_BYTES: usize = 64 << 10;

/// Why a chain could not be split: `PIN_ERR_CHAIN_EMPTY`,
/// `PIN_ERR_CHAIN_MALFORMED` or `PIN_ERR_INVALID_ARGUMENT`, with the byte
/// offset where it was found.
pub type ChainError = crate::Error;

fn malformed(detail: String) -> ChainError {
    ChainError::new(PinResult::PIN_ERR_CHAIN_MALFORMED, detail)
}

/// Splits `der` into the DER certificates it concatenates.
pub fn split(der: &[u8]) -> Result<Vec<&[u8]>, ChainError> {
    if der.is_empty() {
        return Err(ChainError {
            result: PinResult::PIN_ERR_CHAIN_EMPTY,
            detail: "the chain has no certificate".into(),
        });
    }
    if der.len() > MAX_CHAIN_BYTES {
        return Err(ChainError {
            result: PinResult::PIN_ERR_INVALID_ARGUMENT,
            detail: format!(
                "the chain is {} bytes; at most {MAX_CHAIN_BYTES} are accepted",
                der.len()
            ),
        });
    }
    let mut certs = Vec::new();
    let mut offset = 0;
    while offset < der.len() {
        if certs.len() == MAX_CERTS {
            return Err(ChainError {
                result: PinResult::PIN_ERR_INVALID_ARGUMENT,
                detail: format!("the chain holds more than {MAX_CERTS} certificates"),
            });
        }
        let len = element_len(&der[offset..])
            .map_err(|what| malformed(format!("certificate {} at byte {offset}: {what}", certs.len() + 1)))?;
        if len > MAX_CERT_BYTES {
            return Err(ChainError {
                result: PinResult::PIN_ERR_INVALID_ARGUMENT,
                detail: format!(
                    "certificate {} at byte {offset} is too large: {len} bytes; at most {MAX_CERT_BYTES} are accepted",
                    certs.len() + 1
                ),
            });
        }
        certs.push(&der[offset..offset + len]);
        offset += len;
    }
    // A certificate opens with its tbsCertificate SEQUENCE. Checked only after
    // the framing, so that the size limits answer first for hostile input;
    // webpki would skip such an element in the pool, but a chain that carries
    // one is not what any TLS stack sends.
    if let Some(n) = certs.iter().position(|c| c.get(header_len(c)) != Some(&0x30)) {
        return Err(malformed(format!(
            "element {} is not a certificate (no tbsCertificate)",
            n + 1
        )));
    }
    Ok(certs)
}

/// Length of the tag and length octets of a framed element.
fn header_len(element: &[u8]) -> usize {
    match element.get(1) {
        Some(b) if *b >= 0x80 => 2 + (b & 0x7f) as usize,
        _ => 2,
    }
}

/// The total length of the DER SEQUENCE at the start of `input`.
fn element_len(input: &[u8]) -> Result<usize, &'static str> {
    match input.first() {
        Some(0x30) => {}
        Some(_) => return Err("not a DER SEQUENCE (trailing or garbage bytes)"),
        None => return Err("missing"),
    }
    let first = *input.get(1).ok_or("truncated length")?;
    let (content_len, header_len) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 3 {
            return Err("unsupported length encoding");
        }
        let bytes = input.get(2..2 + n).ok_or("truncated length")?;
        if bytes[0] == 0 {
            return Err("non-minimal length encoding");
        }
        let len = bytes.iter().fold(0usize, |acc, b| acc << 8 | *b as usize);
        if len < 0x80 {
            return Err("non-minimal length encoding");
        }
        (len, 2 + n)
    };
    let total = header_len + content_len;
    if total > input.len() {
        return Err("truncated: the length runs past the end of the chain");
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_rejects() {
        let a = [0x30, 0x02, 0x30, 0];
        let b = [0x30, 0x81, 0x80, 0x30, 0x7e]
            .iter()
            .copied()
            .chain([0u8; 0x7e])
            .collect::<Vec<_>>();
        let both = [&a[..], &b[..]].concat();
        assert_eq!(split(&both).unwrap(), vec![&a[..], &b[..]]);
        assert_eq!(split(&[]).unwrap_err().result, PinResult::PIN_ERR_CHAIN_EMPTY);
        for cut in 1..both.len() {
            if cut == a.len() {
                continue;
            }
            assert_eq!(
                split(&both[..cut]).unwrap_err().result,
                PinResult::PIN_ERR_CHAIN_MALFORMED,
                "cut {cut}"
            );
        }
        assert_eq!(
            split(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).unwrap_err().result,
            PinResult::PIN_ERR_CHAIN_MALFORMED
        );
        assert_eq!(
            split(&[0x30, 0]).unwrap_err().result,
            PinResult::PIN_ERR_CHAIN_MALFORMED
        );
        assert_eq!(
            split(&[&a[..], &[0x30, 0]].concat()).unwrap_err().result,
            PinResult::PIN_ERR_CHAIN_MALFORMED
        );
        let many = [0x30u8, 0].repeat(MAX_CERTS + 1);
        assert_eq!(split(&many).unwrap_err().result, PinResult::PIN_ERR_INVALID_ARGUMENT);
        let mut big = vec![0x30, 0x83, 0x01, 0x00, 0x01, 0x30];
        big.resize(5 + 0x010001, 0);
        let e = split(&big).unwrap_err();
        assert_eq!(e.result, PinResult::PIN_ERR_INVALID_ARGUMENT);
        assert!(e.detail.contains("too large: 65542 bytes"), "{}", e.detail);
        let huge = vec![0x30u8; MAX_CHAIN_BYTES + 1];
        assert_eq!(split(&huge).unwrap_err().result, PinResult::PIN_ERR_INVALID_ARGUMENT);
    }
}
