//! The signature algorithms path validation accepts, and the crypto library
//! that checks them: *ring* by default, aws-lc-rs with the `aws-lc-rs` feature.
//!
//! Both lists name the same algorithms, so that which chains a policy accepts
//! never depends on the backend. They are spelled out rather than taken from
//! `webpki::ALL_VERIFICATION_ALGS`, whose content grows with every backend
//! feature that anything in the build enables.

use pki_types::SignatureVerificationAlgorithm;

#[cfg(not(feature = "aws-lc-rs"))]
use webpki::ring as backend;

#[cfg(feature = "aws-lc-rs")]
use webpki::aws_lc_rs as backend;

/// ECDSA P-256/P-384, Ed25519, RSA PKCS#1 v1.5 and RSA-PSS of 2048 to 8192 bits.
pub(crate) static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
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

#[cfg(test)]
mod tests {
    use super::SIGNATURE_ALGORITHMS;

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
}
