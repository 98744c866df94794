//! The result codes and verdict flags shared by the Rust API and the C ABI.
//!
//! The numeric values are part of the ABI: a number is never reused or renumbered.
//! Retired numbers stay here as comments.

use core::ffi::CStr;
use core::fmt;

/// Defines [`PinResult`] and what is derived from its one list of codes: the
/// enum, [`PinResult::ALL`], [`PinResult::name`] and [`PinResult::c_name`].
/// `build.rs` hands the same list to cbindgen for `include/certpin.h`, so a
/// code is written once.
macro_rules! result_codes {
    (
        $(#[doc = $enum_doc:literal])*
        pub enum PinResult {
            $($(#[doc = $doc:literal])* $name:ident = $value:literal,)*
        }
    ) => {
        $(#[doc = $enum_doc])*
        #[allow(non_camel_case_types)]
        #[repr(C)]
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum PinResult {
            $($(#[doc = $doc])* $name = $value,)*
        }

        impl PinResult {
            /// Every result code, in numeric order.
            pub const ALL: &'static [PinResult] = &[$(Self::$name,)*];

            /// The code's C name, e.g. `"PIN_ERR_PIN_MISMATCH"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }

            /// The code's C name as a NUL-terminated string, for C.
            pub fn c_name(self) -> &'static CStr {
                match self {
                    $(Self::$name => {
                        const NAME: &CStr = match CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                            Ok(name) => name,
                            Err(_) => panic!("a result code's name holds a NUL"),
                        };
                        NAME
                    })*
                }
            }
        }
    };
}

// The ABI's codes. Numbers are never reused or renumbered; retired ones stay
// here as comments.
result_codes! {
    /// The outcome of a certpin call. `PIN_OK` is the only value that lets a
    /// connection proceed; everything else is a rejection.
    ///
    /// The codes are grouped in blocks: 1xx the caller's mistakes, 2xx loading a
    /// policy (21x a signed policy update), 3xx a rejected chain, 9xx internal
    /// errors. An internal error is always a rejection. A C enum: the values
    /// all fit 32 bits.
    pub enum PinResult {
        /// Proceed. On its own this does not say that certpin vouched for the
        /// chain: see the `PIN_FLAG_*` flags.
        PIN_OK = 0,
        /// A required pointer argument was NULL.
        PIN_ERR_NULL_ARGUMENT = 100,
        /// An argument is out of range: a host that is not ASCII or not a valid
        /// DNS name or IP address, a chain or certificate over the size limits, a
        /// negative time.
        PIN_ERR_INVALID_ARGUMENT = 101,
        /// The policy file, or a PEM file it references, is missing or unreadable;
        /// or the system trust store it asks for could not be loaded.
        PIN_ERR_POLICY_IO = 200,
        /// The policy is not JSON, or the PEM text holds no certificate.
        PIN_ERR_POLICY_SYNTAX = 201,
        /// The policy is well-formed but wrong: unknown key, bad pin, bad pattern,
        /// no trust source, ...
        PIN_ERR_POLICY_INVALID = 202,
        /// A signed policy update carries no valid signature by a trusted key:
        /// signed by keys none of which is trusted, or a signature that does not
        /// verify (the payload or the signature was changed).
        PIN_ERR_UPDATE_SIGNATURE = 210,
        /// A signed policy update whose sequence is not above the one the caller
        /// already has: a replayed or older update.
        PIN_ERR_UPDATE_ROLLBACK = 211,
        /// A signed policy update past its `expires` instant.
        PIN_ERR_UPDATE_EXPIRED = 212,
        /// The chain is not a sequence of DER certificates.
        PIN_ERR_CHAIN_MALFORMED = 300,
        /// The chain holds no certificate.
        PIN_ERR_CHAIN_EMPTY = 301,
        /// No rule covers this host and the policy rejects unlisted hosts.
        PIN_ERR_HOST_NOT_COVERED = 302,
        /// No path to an anchor that this host's rule allows.
        PIN_ERR_UNTRUSTED = 310,
        /// A certificate of the path has expired.
        PIN_ERR_EXPIRED = 311,
        /// A certificate of the path is not valid yet.
        PIN_ERR_NOT_YET_VALID = 312,
        /// The leaf is not valid for the host.
        PIN_ERR_HOSTNAME_MISMATCH = 313,
        /// Key usage is wrong: EKU, basic constraints, a CA as end entity, path
        /// length, name constraints.
        PIN_ERR_BAD_USAGE = 314,
        /// A signature on the path does not verify.
        PIN_ERR_BAD_SIGNATURE = 315,
        /// A signature or key algorithm that certpin does not support.
        PIN_ERR_UNSUPPORTED_ALGORITHM = 316,
        /// A valid path exists, but no valid path contains a pinned key.
        PIN_ERR_PIN_MISMATCH = 320,
        /// Rejected for a reason not listed above.
        PIN_ERR_REJECTED_OTHER = 399,
        /// A bug in certpin (a caught panic, a poisoned lock). Always a rejection.
        PIN_ERR_INTERNAL = 900,
    }
}

impl PinResult {
    /// The code with this number, if there is one. C may pass any integer;
    /// a Rust enum must never hold a value outside its variants.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| *r as i64 == code)
    }

    /// True for the codes a rule's evaluation of a chain gives (310–399).
    /// Only these are softened by a report-only rule: a chain that cannot be
    /// split, or a host no rule covers, never reaches a rule.
    pub fn is_rule_rejection(self) -> bool {
        (310..400).contains(&(self as u32))
    }
}

impl fmt::Display for PinResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an answer rests on: the bits `pin_verify_chain_ex` writes to
/// `*flags_out`.
///
/// `PIN_OK` alone does not say that certpin vouched for the chain: an
/// unlisted host under `"unlisted_hosts": "allow"`, or a report-only rule,
/// also give `PIN_OK`. Whoever overrides another verifier's verdict (a Qt
/// application ignoring Qt's `sslErrors`) must require `PIN_FLAG_VOUCHED`,
/// and also `PIN_FLAG_NAME_VERIFIED` before ignoring a host-name error.
#[allow(non_camel_case_types, clippy::enum_variant_names)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinFlag {
    /// A rule for this host validated the chain and accepted it.
    PIN_FLAG_VOUCHED = 1,
    /// certpin checked the host name against the leaf, and it matched.
    PIN_FLAG_NAME_VERIFIED = 2,
    /// No rule covers this host; `PIN_OK` only because `unlisted_hosts` is
    /// `"allow"`. certpin vouches for nothing then.
    PIN_FLAG_UNLISTED = 4,
    /// A report-only rule rejected the chain; `PIN_OK` is returned and
    /// `pin_last_error` holds the rejection.
    PIN_FLAG_REPORT_ONLY = 8,
    /// Answered from the policy's verification cache (the same answer a full
    /// verification would give).
    PIN_FLAG_CACHED = 16,
}

/// The `PIN_FLAG_*` bits as `u32`, for the Rust API.
pub mod flags {
    use super::PinFlag;

    /// A rule for this host validated the chain and accepted it.
    pub const VOUCHED: u32 = PinFlag::PIN_FLAG_VOUCHED as u32;
    /// certpin checked the host name against the leaf, and it matched.
    pub const NAME_VERIFIED: u32 = PinFlag::PIN_FLAG_NAME_VERIFIED as u32;
    /// No rule for this host; `PIN_OK` because `unlisted_hosts` is `"allow"`.
    pub const UNLISTED: u32 = PinFlag::PIN_FLAG_UNLISTED as u32;
    /// A report-only rule rejected the chain; `PIN_OK` is returned.
    pub const REPORT_ONLY: u32 = PinFlag::PIN_FLAG_REPORT_ONLY as u32;
    /// Answered from the verification cache.
    pub const CACHED: u32 = PinFlag::PIN_FLAG_CACHED as u32;
}
