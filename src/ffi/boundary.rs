//! The panic boundary every export runs in, and the checks that turn C's
//! pointers into Rust references or a precise error.
//!
//! A failure is recorded as the thread's last error in exactly one place,
//! [`boundary`], so no export can return an error code without a message.

use core::ffi::{c_char, CStr};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error;
use crate::PinResult;

/// A failed call: its code and what went wrong.
pub(super) type Failure = crate::Error;

impl Failure {
    fn null(name: &str) -> Self {
        Self::new(PinResult::PIN_ERR_NULL_ARGUMENT, format!("`{name}` is NULL"))
    }
}

/// Runs an export's body. An `Err` is recorded as the thread's last error and
/// its code returned; a panic becomes `PIN_ERR_INTERNAL`, which is always a
/// rejection. The policy a panicking call used stays usable: it is immutable
/// but for its cache, which a poisoned lock only turns off.
pub(super) fn boundary(body: impl FnOnce() -> Result<PinResult, Failure>) -> PinResult {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(result)) => return result,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::new(
            PinResult::PIN_ERR_INTERNAL,
            format!("certpin panicked (a bug in certpin): {}", panic_text(payload.as_ref())),
        ),
    };
    error::set_last_error(format!("{}: {}", failure.result.name(), failure.detail));
    failure.result
}

/// The boundary for exports that return no code: `fallback` when the body panics.
pub(super) fn boundary_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "no message"
    }
}

/// Checks that an output pointer is not NULL.
pub(super) fn non_null<T>(ptr: *mut T, name: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    Ok(())
}

/// The bytes `ptr[0..len]`.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that stay unchanged for `'a`.
pub(super) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            PinResult::PIN_ERR_INVALID_ARGUMENT,
            format!("`{name}` length {len} is larger than any object can be"),
        ));
    }
    // SAFETY: not NULL, `len` bytes readable (the caller's promise), `len` fits
    // an isize, and u8 has no alignment.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The NUL-terminated string at `ptr`.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays unchanged for `'a`.
pub(super) unsafe fn c_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: not NULL and NUL-terminated (the caller's promise).
    Ok(unsafe { CStr::from_ptr(ptr) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message() {
        let result = boundary(|| panic!("boom {}", 42));
        assert_eq!(result, PinResult::PIN_ERR_INTERNAL);
        let message = error::last_error();
        assert!(message.starts_with("PIN_ERR_INTERNAL: "), "{message}");
        assert!(message.contains("boom 42"), "{message}");
        assert_eq!(boundary_or(7, || -> i32 { panic!("static text") }), 7);
    }

    #[test]
    fn failures_are_recorded_and_successes_leave_the_last_error() {
        let result = boundary(|| Err(Failure::new(PinResult::PIN_ERR_POLICY_IO, "no such file")));
        assert_eq!(result, PinResult::PIN_ERR_POLICY_IO);
        assert_eq!(error::last_error(), "PIN_ERR_POLICY_IO: no such file");
        assert_eq!(boundary(|| Ok(PinResult::PIN_OK)), PinResult::PIN_OK);
        assert_eq!(error::last_error(), "PIN_ERR_POLICY_IO: no such file");
    }

    #[test]
    fn pointer_checks() {
        // SAFETY: NULL is checked before any access.
        let null = unsafe { bytes(core::ptr::null(), 0, "der_chain") }.unwrap_err();
        assert_eq!(null.result, PinResult::PIN_ERR_NULL_ARGUMENT);
        assert_eq!(null.detail, "`der_chain` is NULL");
        let one = [1u8];
        // SAFETY: the length is checked before any access.
        let huge = unsafe { bytes(one.as_ptr(), usize::MAX, "json") }.unwrap_err();
        assert_eq!(huge.result, PinResult::PIN_ERR_INVALID_ARGUMENT);
        // SAFETY: `one` is one readable byte.
        assert_eq!(unsafe { bytes(one.as_ptr(), 1, "json") }.unwrap(), &one);
        // SAFETY: NULL is checked before any access.
        let host = unsafe { c_str(core::ptr::null(), "host") }.unwrap_err();
        assert_eq!(host.result, PinResult::PIN_ERR_NULL_ARGUMENT);
        assert!(non_null(core::ptr::null_mut::<u32>(), "flags_out").is_err());
    }
}
