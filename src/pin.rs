//! Public-key pins: the SHA-256 of a certificate's full SubjectPublicKeyInfo DER,
//! in the three spellings people paste (OkHttp, curl, HPKP).

use core::fmt;

use data_encoding::BASE64;
use ring::digest::{Context, SHA256};

/// A SHA-256 SPKI pin.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pin([u8; 32]);

/// Why a pin text was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinParseError(pub String);

impl fmt::Display for PinParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Length of a base64 SHA-256 digest: 32 bytes encode to 44 characters.
const B64_LEN: usize = 44;

impl Pin {
    /// The pin of a SubjectPublicKeyInfo given as full DER (with its outer SEQUENCE).
    pub fn of_spki_der(spki: &[u8]) -> Self {
        let digest = ring::digest::digest(&SHA256, spki);
        Self(digest.as_ref().try_into().expect("SHA-256 is 32 bytes"))
    }

    /// The pin of a SubjectPublicKeyInfo given without its outer SEQUENCE tag and
    /// length, as webpki stores it. The header is hashed first, so the result is
    /// the pin of the full DER, without copying the key.
    pub fn of_spki_contents(contents: &[u8]) -> Self {
        let mut ctx = Context::new(&SHA256);
        let mut header = [0u8; 6];
        let n = der_sequence_header(contents.len(), &mut header);
        ctx.update(&header[..n]);
        ctx.update(contents);
        Self(ctx.finish().as_ref().try_into().expect("SHA-256 is 32 bytes"))
    }

    /// The raw 32-byte digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The base64 digest alone, as in `pin-sha256="…"`.
    pub fn base64(&self) -> String {
        BASE64.encode(&self.0)
    }

    /// Parses one of the accepted spellings: `sha256/B64`, `sha256//B64`
    /// (curl) or `pin-sha256="B64"` (HPKP).
    ///
    /// `sha256//X` is curl's spelling only when what follows `sha256//` is
    /// exactly one base64 digest; otherwise it is `sha256/` followed by a
    /// digest that starts with `/`. The length decides, never the prefix order.
    pub fn parse(text: &str) -> Result<Self, PinParseError> {
        let t = text.trim();
        let b64 = if let Some(rest) = t.strip_prefix("pin-sha256=") {
            rest.strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .ok_or_else(|| PinParseError(format!("pin {text:?}: pin-sha256= needs the digest in double quotes")))?
        } else if let Some(rest) = t.strip_prefix("sha256/") {
            match rest.strip_prefix('/') {
                Some(curl) if curl.len() == B64_LEN => curl,
                _ => rest,
            }
        } else if t.starts_with("sha1/") || t.starts_with("sha1//") || t.starts_with("pin-sha1=") {
            return Err(PinParseError(format!(
                "pin {text:?}: SHA-1 pins are refused (SHA-1 is broken for collisions and \
                 HPKP dropped it); compute a SHA-256 pin with `certpin pin CERT`"
            )));
        } else {
            return Err(PinParseError(format!(
                "pin {text:?}: expected sha256/<base64>, sha256//<base64> or pin-sha256=\"<base64>\""
            )));
        };
        let bytes = BASE64
            .decode(b64.as_bytes())
            .map_err(|e| PinParseError(format!("pin {text:?}: the digest is not valid base64 ({e})")))?;
        let digest: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            let hint = if bytes.len() == 20 {
                " (that is a SHA-1 digest: SHA-1 pins are refused)"
            } else {
                ""
            };
            PinParseError(format!(
                "pin {text:?}: a SHA-256 digest is 32 bytes, this one is {}{hint}",
                bytes.len()
            ))
        })?;
        Ok(Self(digest))
    }
}

impl fmt::Display for Pin {
    /// OkHttp's spelling, `sha256/<base64>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256/{}", self.base64())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Writes the DER header of a SEQUENCE whose contents are `len` bytes long;
/// returns how many bytes it wrote.
fn der_sequence_header(len: usize, out: &mut [u8; 6]) -> usize {
    out[0] = 0x30;
    if len < 0x80 {
        out[1] = len as u8;
        return 2;
    }
    let bytes = (len as u32).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let n = 4 - skip;
    out[1] = 0x80 | n as u8;
    out[2..2 + n].copy_from_slice(&bytes[skip..]);
    2 + n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_contents_equals_full_der() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536] {
            let contents = vec![7u8; len];
            let mut full = Vec::new();
            let mut h = [0u8; 6];
            let n = der_sequence_header(len, &mut h);
            full.extend_from_slice(&h[..n]);
            full.extend_from_slice(&contents);
            assert_eq!(Pin::of_spki_contents(&contents), Pin::of_spki_der(&full), "len {len}");
        }
    }

    #[test]
    fn spellings_and_lengths() {
        let pin = Pin([0xAB; 32]);
        let b64 = pin.base64();
        assert_eq!(Pin::parse(&format!("sha256/{b64}")).unwrap(), pin);
        assert_eq!(Pin::parse(&format!("sha256//{b64}")).unwrap(), pin);
        assert_eq!(Pin::parse(&format!("pin-sha256=\"{b64}\"")).unwrap(), pin);
        assert!(Pin::parse(&format!("pin-sha256={b64}")).is_err());
        assert!(Pin::parse(&format!("sha256/{}", &b64[..40])).is_err());
        let sha1 = Pin::parse(&format!("sha256/{}", BASE64.encode(&[1u8; 20]))).unwrap_err();
        assert!(sha1.0.contains("SHA-1"), "{sha1}");
        assert!(Pin::parse(&format!("sha1/{}", BASE64.encode(&[1u8; 20])))
            .unwrap_err()
            .0
            .contains("refused"));
        assert!(Pin::parse(&b64).is_err());
    }

    #[test]
    fn okhttp_spelling_of_a_digest_starting_with_slash() {
        // 0xFC.. encodes to a base64 text that starts with '/'.
        let pin = Pin([0xFC; 32]);
        let b64 = pin.base64();
        assert!(b64.starts_with('/'));
        assert_eq!(Pin::parse(&format!("sha256/{b64}")).unwrap(), pin);
        assert_eq!(Pin::parse(&format!("sha256//{b64}")).unwrap(), pin);
    }
}
