//! certpin's error: the result code the C API returns and, in words, what
//! went wrong and where. Loading a policy or an update, splitting a chain and
//! every C call fail with it, so a message never travels without its code.

use core::fmt;

use crate::PinResult;

/// A failure: its code and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The code, never `PIN_OK`.
    pub result: PinResult,
    /// What is wrong and where, in a sentence or two.
    pub detail: String,
}

impl Error {
    pub(crate) fn new(result: PinResult, detail: impl Into<String>) -> Self {
        Self {
            result,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.result, self.detail)
    }
}

impl std::error::Error for Error {}
