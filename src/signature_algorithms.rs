//! The signature algorithms path validation accepts, and the crypto library
//! that checks them: *ring* by default, aws-lc-rs with the `aws-lc-rs` feature.
//!
//! Both lists name the same algorithms, so that which chains a policy accepts
//! never depends on the backend. They are spelled out rather than taken from
//! `webpki::ALL_VERIFICATION_ALGS`, whose content grows with every backend
//! feature that anything in the build enables.
//!
//! [`Remembering`] puts a policy's [`SignatureCache`] in front of them.

use pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::signature_cache::SignatureCache;

#[cfg(not(feature = "aws-lc-rs"))]
use webpki::ring as backend;

#[cfg(feature = "aws-lc-rs")]
use webpki::aws_lc_rs as backend;

/// ECDSA P-256/P-384, Ed25519, RSA PKCS#1 v1.5 and RSA-PSS of 2048 to 8192 bits.
pub(crate) static SIGNATURE_ALGORITHMS: [&dyn SignatureVerificationAlgorithm; 15] = [
    backend::ECDSA_P256_SHA256,
    backend::ECDSA_P256_SHA384,
    backend::ECDSA_P384_SHA256,
    backend::ECDSA_P384_SHA384,
    backend::ED25519,
    backend::RSA_PKCS1_2048_8192_SHA256,
    backend::RSA_PKCS1_2048_8192_SHA384,
    backend::RSA_PKCS1_2048_8192_SHA512,
    backend::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    backend::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    backend::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    backend::RSA_PKCS1_3072_8192_SHA384,
    backend::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    backend::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    backend::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// One of [`SIGNATURE_ALGORITHMS`] that answers from a signature cache for a
/// signature it verified before, and stores the ones it verifies.
///
/// The cache is keyed by the algorithm's index, the public key, the SHA-256
/// of the message and the signature. webpki hands over the key as the
/// `subjectPublicKey` bits and uses an algorithm only for a key whose
/// AlgorithmIdentifier equals its `public_key_alg_id`, so index and key bits
/// together are the signer's whole SubjectPublicKeyInfo.
///
/// The served leaf's own signature bypasses the cache: a new leaf never
/// finds it there, and the same leaf again is what the verification cache
/// answers, so hashing its body would only be paid, never repaid.
#[derive(Debug)]
pub(crate) struct Remembering<'a> {
    algorithm: &'static dyn SignatureVerificationAlgorithm,
    index: usize,
    cache: &'a SignatureCache,
    leaf: &'a [u8],
}

impl<'a> Remembering<'a> {
    /// Every algorithm of [`SIGNATURE_ALGORITHMS`], in order, in front of
    /// `cache`, for a chain whose leaf is `leaf` (DER, as webpki parses it).
    pub(crate) fn all(cache: &'a SignatureCache, leaf: &'a [u8]) -> [Self; SIGNATURE_ALGORITHMS.len()] {
        std::array::from_fn(|index| Self {
            algorithm: SIGNATURE_ALGORITHMS[index],
            index,
            cache,
            leaf,
        })
    }
}

impl SignatureVerificationAlgorithm for Remembering<'_> {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        // webpki's message is a slice of the certificate it parsed.
        if self.leaf.as_ptr_range().contains(&message.as_ptr()) {
            return self.algorithm.verify_signature(public_key, message, signature);
        }
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, message)
            .as_ref()
            .try_into()
            .expect("32 bytes");
        if self.cache.contains(self.index, public_key, &digest, signature) {
            return Ok(());
        }
        self.algorithm.verify_signature(public_key, message, signature)?;
        self.cache.insert(self.index, public_key, digest, signature);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.algorithm.fips()
    }

    fn fips_status(&self) -> pki_types::FipsStatus {
        self.algorithm.fips_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The feature, not whatever else the build enables, picks the backend.
    #[test]
    fn every_algorithm_comes_from_the_chosen_backend() {
        let wanted = if cfg!(feature = "aws-lc-rs") {
            "AwsLcRsAlgorithm"
        } else {
            "RingAlgorithm"
        };
        for algorithm in SIGNATURE_ALGORITHMS {
            let name = format!("{algorithm:?}");
            assert!(name.starts_with(wanted), "{name}");
        }
    }

    /// Accepts `good` as the signature of anything and counts its calls.
    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(&self, _key: &[u8], _message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if signature == b"good" {
                Ok(())
            } else {
                Err(InvalidSignature)
            }
        }
        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            SIGNATURE_ALGORITHMS[0].public_key_alg_id()
        }
        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            SIGNATURE_ALGORITHMS[0].signature_alg_id()
        }
    }

    fn checks(algorithm: &Counting) -> usize {
        algorithm.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn only_successes_are_remembered() {
        static ALGORITHM: Counting = Counting(std::sync::atomic::AtomicUsize::new(0));
        let cache = SignatureCache::new(8);
        let leaf = b"the leaf".to_vec();
        let remembering = Remembering {
            algorithm: &ALGORITHM,
            index: 3,
            cache: &cache,
            leaf: &leaf,
        };
        let body = b"an intermediate".to_vec();
        assert!(remembering.verify_signature(b"key", &body, b"good").is_ok());
        assert!(remembering.verify_signature(b"key", &body, b"good").is_ok());
        assert_eq!(checks(&ALGORITHM), 1, "the second answer is the cache's");
        assert_eq!(cache.len(), 1);
        for _ in 0..2 {
            assert!(remembering.verify_signature(b"key", &body, b"bad").is_err());
        }
        assert_eq!(checks(&ALGORITHM), 3, "a failure is checked every time");
        assert!(remembering.verify_signature(b"other key", &body, b"good").is_ok());
        assert!(remembering.verify_signature(b"key", b"another body", b"good").is_ok());
        assert_eq!(checks(&ALGORITHM), 5, "another key, another message: checked");
        // The leaf's own signature is never looked up nor stored.
        for _ in 0..2 {
            assert!(remembering.verify_signature(b"key", &leaf[4..], b"good").is_ok());
        }
        assert_eq!(checks(&ALGORITHM), 7);
        // The other key's signature on the same body replaced the first.
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_wrapper_names_the_algorithm_it_wraps() {
        let cache = SignatureCache::new(1);
        for (remembering, algorithm) in Remembering::all(&cache, &[]).iter().zip(SIGNATURE_ALGORITHMS) {
            assert_eq!(remembering.public_key_alg_id(), algorithm.public_key_alg_id());
            assert_eq!(remembering.signature_alg_id(), algorithm.signature_alg_id());
            assert_eq!(remembering.fips(), algorithm.fips());
            assert_eq!(remembering.fips_status(), algorithm.fips_status());
        }
    }
}
