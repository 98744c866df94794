//! The C ABI (`include/certpin.h`, generated from this module by cbindgen).
//!
//! This is the only module with `unsafe` code and `extern "C"` functions; it
//! translates between C's pointers and the safe Rust API and decides nothing
//! itself. It must never let a panic unwind into C, never dereference a
//! pointer it has not checked for NULL, and never write an output parameter
//! of a failed call (but `flags_out`, which says what a verdict rests on).
//!
//! Every export runs inside the panic boundary of `boundary.rs` and records the
//! message of a failed call for `pin_last_error` in its thread.

#![allow(unsafe_code)]

#[macro_use]
mod boundary;
mod error;
mod policy;
mod update;
mod verify;

use core::ffi::c_char;

pub use crate::result::PinFlag;
pub use error::{pin_last_error, pin_result_name};
pub use policy::{
    pin_policy, pin_policy_free, pin_policy_load_file, pin_policy_load_json, pin_policy_load_json_with_reader,
    pin_policy_load_pem, pin_read_fn,
};
pub use update::{pin_policy_get_update, pin_policy_load_update};
pub use verify::{pin_report_fn, pin_verify_chain, pin_verify_chain_at, pin_verify_chain_ex};

/// The crate version with its NUL, so C can take it as a string.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the certpin library that is running, e.g. `"0.1.0"`:
/// compare it with `CERTPIN_VERSION_STRING`, the version of the header the
/// application was compiled with.
///
/// The string is static: never free it. Safe to call from any thread.
#[no_mangle]
pub extern "C" fn pin_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: pin_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(pin_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
