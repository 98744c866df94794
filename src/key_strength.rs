//! Which public keys certpin accepts. webpki checks the keys that sign on a
//! path; the leaf's key signs only the TLS handshake, which certpin never
//! sees, so its algorithm and size are checked here, against the same bar.

use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519, OID_SIG_ED448,
};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// The smallest RSA key certpin accepts: webpki's limit for the keys that
/// sign, applied to the leaf's key as well.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// Why the leaf's key (its SubjectPublicKeyInfo DER) is refused, if it is:
/// RSA under [`MIN_RSA_BITS`] or of a size no key generator makes, an
/// elliptic curve other than P-256, P-384 and P-521, DSA, or any other
/// algorithm.
pub(crate) fn leaf_key_problem(spki: &[u8]) -> Option<String> {
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki) else {
        return Some("the leaf's public key cannot be parsed".into());
    };
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let Some(bits) = rsa_bits(&spki) else {
            return Some("the leaf's RSA key cannot be parsed".into());
        };
        if bits < MIN_RSA_BITS {
            return Some(format!(
                "the leaf's RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
            ));
        }
        if bits % 8 != 0 {
            return Some(format!(
                "the leaf's RSA key has {bits} bits, not a whole number of bytes"
            ));
        }
        return None;
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 || c == OID_NIST_EC_P384 || c == OID_NIST_EC_P521 => None,
            Some(c) => Some(format!(
                "the leaf's EC key is on curve {c}; certpin accepts P-256, P-384 and P-521"
            )),
            None => Some("the leaf's EC key names no curve".into()),
        };
    }
    if *algorithm == OID_SIG_ED25519 || *algorithm == OID_SIG_ED448 {
        return None;
    }
    Some(format!(
        "the leaf's key algorithm {algorithm} is not supported (RSA, ECDSA P-256/P-384/P-521, Ed25519, Ed448 are)"
    ))
}

/// The size of a certificate's RSA key, when it is under [`MIN_RSA_BITS`].
pub(crate) fn weak_rsa_bits(cert: &[u8]) -> Option<usize> {
    let (_, cert) = X509Certificate::from_der(cert).ok()?;
    rsa_bits(cert.public_key()).filter(|bits| *bits < MIN_RSA_BITS)
}

pub(crate) fn rsa_bits(spki: &SubjectPublicKeyInfo<'_>) -> Option<usize> {
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return None;
    };
    let modulus = &rsa.modulus[rsa.modulus.iter().take_while(|b| **b == 0).count()..];
    Some(
        modulus
            .first()
            .map_or(0, |b| modulus.len() * 8 - b.leading_zeros() as usize),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        [&[tag, content.len() as u8][..], content].concat()
    }

    /// A SubjectPublicKeyInfo with `algorithm` (OID content bytes), optional
    /// parameters (a full DER element) and a key of `key_len` bytes.
    fn spki(algorithm: &[u8], parameters: &[u8], key_len: usize) -> Vec<u8> {
        let alg = tlv(0x30, &[tlv(0x06, algorithm), parameters.to_vec()].concat());
        let key = tlv(0x03, &[&[0u8][..], &vec![4u8; key_len]].concat());
        tlv(0x30, &[alg, key].concat())
    }

    const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P192: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01];
    const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
    const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

    #[test]
    fn leaf_keys() {
        assert_eq!(leaf_key_problem(&spki(EC, &tlv(0x06, P256), 65)), None);
        assert_eq!(leaf_key_problem(&spki(EC, &tlv(0x06, P384), 97)), None);
        assert_eq!(leaf_key_problem(&spki(ED25519, &[], 32)), None);
        let p192 = leaf_key_problem(&spki(EC, &tlv(0x06, P192), 49)).expect("P-192 refused");
        assert!(p192.contains("curve 1.2.840.10045.3.1.1"), "{p192}");
        assert!(leaf_key_problem(&spki(EC, &[], 65))
            .expect("no curve refused")
            .contains("names no curve"));
        let dsa = leaf_key_problem(&spki(DSA, &[], 64)).expect("DSA refused");
        assert!(dsa.contains("1.2.840.10040.4.1"), "{dsa}");
        assert!(leaf_key_problem(b"garbage").is_some());
    }
}
