//! The per-thread last error and the names of result codes.
//!
//! Each thread keeps the message of its own last failed call, so threads that
//! share a policy never see each other's errors. A successful call leaves the
//! message as it was, like `errno`.

use core::ffi::{c_char, c_int};
use std::cell::RefCell;

use super::boundary::boundary_or;
use crate::PinResult;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `message` as this thread's last error. A NUL byte inside it would
/// cut the C string short, so it is written as `\0`.
pub(super) fn set_last_error(message: String) {
    let message = if message.contains('\0') {
        message.replace('\0', "\\0")
    } else {
        message
    };
    // During thread teardown the slot may be gone; the message is then lost,
    // which is better than a panic.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = message;
        }
    });
}

#[cfg(test)]
pub(super) fn last_error() -> String {
    LAST_ERROR.with(|slot| slot.borrow().clone())
}

/// The name of a result code, e.g. `"PIN_ERR_PIN_MISMATCH"`; `"PIN_ERR_UNKNOWN"`
/// for a number that is no code.
///
/// Takes an `int` rather than the enum because C may pass any value, and a
/// Rust enum must never hold one outside its variants. The string is static:
/// never free it. Safe to call from any thread.
#[no_mangle]
pub extern "C" fn pin_result_name(result: c_int) -> *const c_char {
    let unknown = c"PIN_ERR_UNKNOWN";
    boundary_or(unknown.as_ptr(), || {
        PinResult::from_code(i64::from(result))
            .map_or(unknown, PinResult::c_name)
            .as_ptr()
    })
}

/// Copies the message of this thread's last failed call into `buf`:
/// `"PIN_ERR_…: detail"`, NUL-terminated, truncated to fit `buf_len` bytes
/// (never inside a UTF-8 sequence). Returns the message's full length in
/// bytes, without the NUL: a result `>= buf_len` means it was truncated.
///
/// Each thread has its own message; a successful call leaves it unchanged.
/// A report-only violation (`PIN_OK` with `PIN_FLAG_REPORT_ONLY`) also
/// records its message. With no failed call yet, the message is empty.
///
/// For a rejected chain the message lists every served certificate as
/// `"sha256/<base64 SPKI hash>: <subject>"` and the pins the rule expected,
/// so a developer can fix the policy from the message alone.
///
/// `buf` may be NULL (then `buf_len` is ignored): only the length is
/// returned, so `pin_last_error(NULL, 0) + 1` is the size to allocate. With
/// `buf_len == 1` only the NUL is written.
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pin_last_error(buf: *mut c_char, buf_len: usize) -> usize {
    boundary_or(0, || {
        LAST_ERROR.with(|slot| {
            let message = slot.borrow();
            if !buf.is_null() && buf_len > 0 {
                let mut n = message.len().min(buf_len - 1);
                while !message.is_char_boundary(n) {
                    n -= 1;
                }
                // SAFETY: `buf` has `buf_len > n` writable bytes (the caller's
                // promise) and cannot overlap the thread's own String.
                unsafe {
                    core::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            message.len()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    fn name(code: c_int) -> &'static str {
        // SAFETY: pin_result_name returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(pin_result_name(code)) }.to_str().unwrap()
    }

    #[test]
    fn every_code_has_its_name() {
        for &r in PinResult::ALL {
            assert_eq!(name(r as c_int), r.name());
        }
        for unknown in [-1, 1, 99, 102, 203, 317, 400, 901, c_int::MAX, c_int::MIN] {
            assert_eq!(name(unknown), "PIN_ERR_UNKNOWN");
        }
    }

    fn copy(len: usize) -> (usize, Vec<u8>) {
        let mut buf = vec![0x55u8; len + 1];
        // SAFETY: `buf` has `len` writable bytes (and one more to catch overruns).
        let full = unsafe { pin_last_error(buf.as_mut_ptr().cast(), len) };
        (full, buf)
    }

    #[test]
    fn last_error_is_copied_truncated_and_measured() {
        set_last_error("PIN_ERR_X: é!".into());
        // SAFETY: a NULL buffer is never written.
        assert_eq!(unsafe { pin_last_error(core::ptr::null_mut(), 0) }, 14);
        let (full, buf) = copy(100);
        assert_eq!(full, 14);
        assert_eq!(&buf[..15], b"PIN_ERR_X: \xc3\xa9!\0");
        let (_, buf) = copy(1);
        assert_eq!(&buf[..2], b"\0\x55");
        // 13 bytes leave room for 12: the cut would split "é", so 11 are kept.
        let (full, buf) = copy(13);
        assert_eq!(full, 14);
        assert_eq!(&buf[..12], b"PIN_ERR_X: \0");
        assert_eq!(buf[13], 0x55);
        let (_, buf) = copy(0);
        assert_eq!(buf[0], 0x55);
    }

    #[test]
    fn nul_bytes_do_not_cut_the_message() {
        set_last_error("PIN_ERR_X: a\0b".into());
        assert_eq!(last_error(), "PIN_ERR_X: a\\0b");
    }

    #[test]
    fn threads_keep_their_own_message() {
        set_last_error("main".into());
        std::thread::spawn(|| {
            assert_eq!(last_error(), "");
            set_last_error("other".into());
        })
        .join()
        .unwrap();
        assert_eq!(last_error(), "main");
    }
}
