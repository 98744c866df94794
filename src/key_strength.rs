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
    quick_problem(spki).unwrap_or_else(|| parsed_problem(spki))
}

/// [`leaf_key_problem`] by x509-parser: every encoding, every message.
fn parsed_problem(spki: &[u8]) -> Option<String> {
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki) else {
        return Some("the leaf's public key cannot be parsed".into());
    };
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let Some(bits) = rsa_bits(&spki) else {
            return Some("the leaf's RSA key cannot be parsed".into());
        };
        return rsa_size_problem(bits);
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

/// Why an RSA leaf key of `bits` bits is refused, if it is.
fn rsa_size_problem(bits: usize) -> Option<String> {
    if bits < MIN_RSA_BITS {
        return Some(format!(
            "the leaf's RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    if !bits.is_multiple_of(8) {
        return Some(format!(
            "the leaf's RSA key has {bits} bits, not a whole number of bytes"
        ));
    }
    None
}

/// The AlgorithmIdentifiers, whole DER elements, of the accepted keys that
/// need no more than their name: EC on P-256, P-384, P-521 (RFC 5480),
/// Ed25519 and Ed448 (RFC 8410), as every encoder writes them.
const NAMED_KEYS: [&[u8]; 5] = [
    b"\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07",
    b"\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22",
    b"\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x23",
    b"\x30\x05\x06\x03\x2b\x65\x70",
    b"\x30\x05\x06\x03\x2b\x65\x71",
];

/// rsaEncryption with its NULL parameters (RFC 8017 A.1).
const RSA_ENCRYPTION: &[u8] = b"\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00";

/// [`parsed_problem`]'s answer for the encodings real keys have, without
/// x509-parser (1,000 to 2,000 instructions of every verification); `None`
/// for anything else, which [`parsed_problem`] judges.
fn quick_problem(spki: &[u8]) -> Option<Option<String>> {
    let contents = whole(spki, 0x30)?;
    let (_, key) = element(contents, 0x30)?;
    let algorithm = &contents[..contents.len() - key.len()];
    let [0, key @ ..] = whole(key, 0x03)? else {
        return None;
    };
    if NAMED_KEYS.contains(&algorithm) {
        return Some(None);
    }
    if algorithm != RSA_ENCRYPTION {
        return None;
    }
    let (modulus, exponent) = element(whole(key, 0x30)?, 0x02)?;
    positive(whole(exponent, 0x02)?)?;
    let modulus = positive(modulus)?;
    Some(rsa_size_problem(modulus_bits(modulus)))
}

/// The magnitude of a positive INTEGER's contents in their minimal encoding.
fn positive(integer: &[u8]) -> Option<&[u8]> {
    match integer {
        [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => Some(rest),
        [first, ..] if (1..0x80).contains(first) => Some(integer),
        _ => None,
    }
}

/// The contents of the DER element with `tag` that `input` starts with, and
/// what follows it. Definite lengths in their minimal form of at most two
/// octets only: what a quick read need not understand, the full parse does.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let [found, first, rest @ ..] = input else {
        return None;
    };
    if *found != tag {
        return None;
    }
    let (len, rest) = match (*first, rest) {
        (0..=0x7f, rest) => (usize::from(*first), rest),
        (0x81, [len, rest @ ..]) if *len >= 0x80 => (usize::from(*len), rest),
        (0x82, [high, low, rest @ ..]) if *high != 0 => (usize::from(*high) << 8 | usize::from(*low), rest),
        _ => return None,
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The contents of `input` when it is exactly one DER element with `tag`.
fn whole(input: &[u8], tag: u8) -> Option<&[u8]> {
    element(input, tag).and_then(|(contents, rest)| rest.is_empty().then_some(contents))
}

/// The size of a certificate's RSA key, when it is under [`MIN_RSA_BITS`].
pub(crate) fn weak_rsa_bits(cert: &[u8]) -> Option<usize> {
    let (_, cert) = X509Certificate::from_der(cert).ok()?;
    rsa_bits(cert.public_key()).filter(|bits| *bits < MIN_RSA_BITS)
}

/// The size of an RSA key's modulus; `None` when it is not an RSA key or its
/// modulus is negative (the INTEGER's top bit set), which no key is.
pub(crate) fn rsa_bits(spki: &SubjectPublicKeyInfo<'_>) -> Option<usize> {
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return None;
    };
    if rsa.modulus.first().is_none_or(|b| b & 0x80 != 0) {
        return None;
    }
    Some(modulus_bits(rsa.modulus))
}

/// Bits of an RSA modulus given as a DER INTEGER's content bytes.
pub(crate) fn modulus_bits(modulus: &[u8]) -> usize {
    let digits: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(first) => &modulus[first..],
        None => return 0,
    };
    digits.len() * 8 - digits[0].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tag`, a minimal DER length, `content`.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![tag];
        match len {
            0..=0x7f => out.push(len as u8),
            0x80..=0xff => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        [out, content.to_vec()].concat()
    }

    /// A subjectPublicKey BIT STRING holding `key` (no unused bits).
    fn bit_string(key: &[u8]) -> Vec<u8> {
        der(0x03, &[&[0u8][..], key].concat())
    }

    /// A SubjectPublicKeyInfo with `algorithm` (OID content bytes), optional
    /// parameters (a full DER element) and a key of `key_len` bytes.
    fn spki(algorithm: &[u8], parameters: &[u8], key_len: usize) -> Vec<u8> {
        let alg = der(0x30, &[der(0x06, algorithm), parameters.to_vec()].concat());
        der(0x30, &[alg, bit_string(&vec![4u8; key_len])].concat())
    }

    const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P192: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01];
    const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
    const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

    #[test]
    fn leaf_keys() {
        assert_eq!(leaf_key_problem(&spki(EC, &der(0x06, P256), 65)), None);
        assert_eq!(leaf_key_problem(&spki(EC, &der(0x06, P384), 97)), None);
        assert_eq!(leaf_key_problem(&spki(ED25519, &[], 32)), None);
        let p192 = leaf_key_problem(&spki(EC, &der(0x06, P192), 49)).expect("P-192 refused");
        assert!(p192.contains("curve 1.2.840.10045.3.1.1"), "{p192}");
        assert!(leaf_key_problem(&spki(EC, &[], 65))
            .expect("no curve refused")
            .contains("names no curve"));
        let dsa = leaf_key_problem(&spki(DSA, &[], 64)).expect("DSA refused");
        assert!(dsa.contains("1.2.840.10040.4.1"), "{dsa}");
        assert!(leaf_key_problem(b"garbage").is_some());
    }

    #[test]
    fn rsa_modulus_bits() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(modulus_bits(&[0, 0]), 0);
    }

    /// An RSA SubjectPublicKeyInfo with `modulus` (an INTEGER's contents).
    fn rsa_spki_of(modulus: &[u8]) -> Vec<u8> {
        let key = der(0x30, &[der(0x02, modulus), der(0x02, &[1, 0, 1])].concat());
        der(0x30, &[RSA_ENCRYPTION, &bit_string(&key)].concat())
    }

    /// An RSA SubjectPublicKeyInfo whose modulus has exactly `bits` bits.
    fn rsa_spki(bits: usize) -> Vec<u8> {
        let mut modulus = vec![0xa5; bits.div_ceil(8)];
        modulus[0] = 0x80 >> ((8 - bits % 8) % 8);
        if modulus[0] & 0x80 != 0 {
            modulus.insert(0, 0);
        }
        rsa_spki_of(&modulus)
    }

    /// SPKIs of every kind the quick read answers: real keys and RSA moduli
    /// of the sizes around every limit.
    fn quick_keys() -> Vec<Vec<u8>> {
        use rcgen::{KeyPair, PublicKeyData, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519};
        let mut keys: Vec<Vec<u8>> = [&PKCS_ECDSA_P256_SHA256, &PKCS_ECDSA_P384_SHA384, &PKCS_ED25519]
            .into_iter()
            .map(|alg| KeyPair::generate_for(alg).expect("key").subject_public_key_info())
            .collect();
        let rsa = openssl::rsa::Rsa::generate(2048).expect("RSA key");
        keys.push(
            openssl::pkey::PKey::from_rsa(rsa)
                .expect("key")
                .public_key_to_der()
                .expect("SPKI"),
        );
        // P-521 and Ed448, which neither generator here makes: the key bytes
        // are not read.
        keys.push(der(0x30, &[NAMED_KEYS[2], &bit_string(&[4; 133])].concat()));
        keys.push(der(0x30, &[NAMED_KEYS[4], &bit_string(&[0; 57])].concat()));
        for bits in [
            1, 8, 9, 1023, 1024, 2040, 2047, 2048, 2049, 2056, 3072, 4095, 4096, 8192, 16384,
        ] {
            keys.push(rsa_spki(bits));
        }
        keys
    }

    #[test]
    fn the_quick_read_answers_as_the_full_parse() {
        let keys = quick_keys();
        for spki in &keys {
            let quick = quick_problem(spki).unwrap_or_else(|| panic!("read quickly: {spki:02x?}"));
            assert_eq!(quick, parsed_problem(spki), "{spki:02x?}");
        }
        let sizes: Vec<_> = keys.iter().map(|k| leaf_key_problem(k)).collect();
        assert_eq!(sizes.iter().filter(|p| p.is_none()).count(), 12, "{sizes:?}");
        assert!(sizes
            .iter()
            .flatten()
            .any(|p| p.contains("has 2047 bits; at least 2048")));
        assert!(sizes
            .iter()
            .flatten()
            .any(|p| p.contains("has 2049 bits, not a whole number")));
    }

    #[test]
    fn a_negative_modulus_is_refused() {
        // 256 bytes with the top bit set and no zero in front: a negative INTEGER.
        let spki = rsa_spki_of(&[&[0x80u8][..], &[0xa5; 255]].concat());
        assert_eq!(quick_problem(&spki), None, "left to the full parse");
        let problem = leaf_key_problem(&spki).expect("refused");
        assert!(problem.contains("RSA key cannot be parsed"), "{problem}");
        // The same modulus with its zero in front is a 2048-bit key.
        assert_eq!(leaf_key_problem(&rsa_spki(2048)), None);
    }

    /// Every truncation and every damaged byte of every such key: the quick
    /// read gives the full parse's answer or leaves the key to it.
    #[test]
    fn the_quick_read_never_answers_otherwise() {
        for spki in quick_keys() {
            let mut cases: Vec<Vec<u8>> = (0..spki.len()).map(|n| spki[..n].to_vec()).collect();
            cases.push([&spki[..], &[0]].concat());
            for i in 0..spki.len() {
                for change in [|b: u8| b ^ 0x01, |b: u8| b ^ 0x80, |_| 0x00, |_| 0xff] {
                    let mut damaged = spki.clone();
                    damaged[i] = change(damaged[i]);
                    cases.push(damaged);
                }
            }
            for case in cases {
                if let Some(quick) = quick_problem(&case) {
                    assert_eq!(quick, parsed_problem(&case), "{case:02x?}");
                }
            }
        }
    }
}
