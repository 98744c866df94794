//! What a rule's evaluation of a chain yields before it becomes a verdict:
//! an acceptance with the flags it rests on, or a rejection with its reason,
//! hint and the validated path; and the result code of a webpki error.

use crate::pin::Pin;
use crate::PinResult;

/// A rule's acceptance.
pub(crate) struct Accepted {
    pub flags: u32,
    /// The span of time (inclusive) in which the same chain gets the same
    /// answer, when asked for.
    pub window: Option<(i64, i64)>,
}

/// A rule's rejection, before it is put into words.
pub(crate) struct Rejection {
    pub result: PinResult,
    /// What went wrong, in a sentence.
    pub reason: String,
    /// How to fix it, when certpin can tell.
    pub hint: Option<String>,
    /// The validated path (DER, leaf to anchor), when there was one.
    pub validated: Vec<Vec<u8>>,
    /// The pin and DER of the anchor the validated path ended at, when the
    /// server did not send it.
    pub unsent_anchor: Option<(Pin, Vec<u8>)>,
}

impl Rejection {
    pub(crate) fn new(result: PinResult, reason: impl Into<String>) -> Box<Self> {
        Box::new(Self {
            result,
            reason: reason.into(),
            hint: None,
            validated: Vec::new(),
            unsent_anchor: None,
        })
    }
    pub(crate) fn with_hint(mut self: Box<Self>, hint: impl Into<String>) -> Box<Self> {
        self.hint = Some(hint.into());
        self
    }
}

/// Maps a webpki error to a result code.
pub(crate) fn map_error(e: &webpki::Error) -> PinResult {
    use webpki::Error as E;
    #[allow(deprecated)]
    match e {
        E::UnknownIssuer
        | E::CertDistrusted
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumPathDepthExceeded
        | E::MaximumSignatureChecksExceeded => PinResult::PIN_ERR_UNTRUSTED,
        E::CertExpired { .. } => PinResult::PIN_ERR_EXPIRED,
        E::CertNotValidYet { .. } => PinResult::PIN_ERR_NOT_YET_VALID,
        E::CertNotValidForName(_) => PinResult::PIN_ERR_HOSTNAME_MISMATCH,
        E::RequiredEkuNotFound
        | E::RequiredEkuNotFoundContext(_)
        | E::EmptyEkuExtension
        | E::CaUsedAsEndEntity
        | E::EndEntityUsedAsCa
        | E::PathLenConstraintViolated
        | E::NameConstraintViolation
        | E::MaximumNameConstraintComparisonsExceeded => PinResult::PIN_ERR_BAD_USAGE,
        E::InvalidSignatureForPublicKey | E::SignatureAlgorithmMismatch => PinResult::PIN_ERR_BAD_SIGNATURE,
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => PinResult::PIN_ERR_UNSUPPORTED_ALGORITHM,
        E::BadDer | E::BadDerTime | E::TrailingData(_) | E::UnsupportedCertVersion | E::MalformedExtensions => {
            PinResult::PIN_ERR_CHAIN_MALFORMED
        }
        _ => PinResult::PIN_ERR_REJECTED_OTHER,
    }
}
