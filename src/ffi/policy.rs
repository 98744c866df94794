//! Loading and freeing policies. A `pin_policy` is a `Box<Policy>` handed to
//! C as an opaque pointer: C owns it from load to `pin_policy_free`.

use core::ffi::{c_char, c_void};
use std::ffi::CString;
use std::path::Path;

use super::boundary::{boundary, boundary_or, bytes, c_str, non_null, Failure};
use crate::{PinResult, Policy};

/// A loaded policy (opaque).
///
/// Immutable after loading (its verification cache is internally
/// synchronised), so one policy may be shared by any number of threads
/// verifying at once. Created by a `pin_policy_load_*` function, owned by the
/// caller, released with `pin_policy_free` once no thread uses it any more.
#[allow(non_camel_case_types)]
pub struct pin_policy {
    _opaque: [u8; 0],
}

/// The policy behind a handle.
///
/// # Safety
/// `ptr` is NULL or a handle from a `pin_policy_load_*` function that has not
/// been freed, and is not freed during `'a`.
pub(super) unsafe fn policy_ref<'a>(ptr: *const pin_policy) -> Result<&'a Policy, Failure> {
    // SAFETY: a non-NULL handle points to a live Policy (the caller's promise).
    unsafe { ptr.cast::<Policy>().as_ref() }
        .ok_or_else(|| Failure::new(PinResult::PIN_ERR_NULL_ARGUMENT, "`policy` is NULL"))
}

/// Hands a loaded policy to C.
///
/// # Safety
/// `out` is not NULL and points to a writable `pin_policy *`.
pub(super) unsafe fn give(policy: Policy, out: *mut *mut pin_policy) -> Result<PinResult, Failure> {
    let handle = Box::into_raw(Box::new(policy)).cast::<pin_policy>();
    // SAFETY: `out` is writable (the caller's promise).
    unsafe { out.write(handle) };
    Ok(PinResult::PIN_OK)
}

/// Loads a JSON policy file (format version 1, see the README). Relative
/// paths of PEM anchor files are taken from the policy file's folder.
///
/// On `PIN_OK`, `*policy_out` receives a new policy that the caller owns and
/// must release with `pin_policy_free`; on any other result `*policy_out` is
/// left untouched and `pin_last_error` says what is wrong and where.
///
/// Results: `PIN_ERR_NULL_ARGUMENT` (`path` or `policy_out` is NULL),
/// `PIN_ERR_POLICY_IO` (the file, or a PEM file it names, cannot be read;
/// or the system trust store it asks for cannot be loaded),
/// `PIN_ERR_POLICY_SYNTAX` (not JSON), `PIN_ERR_POLICY_INVALID` (well-formed
/// but wrong: unknown key, bad pin, bad host pattern, no trust source, ...).
///
/// # Safety
/// `path` is NULL or a NUL-terminated file name (bytes, as the OS takes them);
/// `policy_out` is NULL or points to a writable `pin_policy *`.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_load_file(path: *const c_char, policy_out: *mut *mut pin_policy) -> PinResult {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated (the caller's promise).
        let path = unsafe { c_str(path, "path") }?;
        non_null(policy_out, "policy_out")?;
        #[cfg(unix)]
        let path = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(
            path.to_bytes(),
        ));
        #[cfg(not(unix))]
        let path = Path::new(
            path.to_str()
                .map_err(|_| Failure::new(PinResult::PIN_ERR_INVALID_ARGUMENT, "`path` is not valid UTF-8"))?,
        );
        let policy = Policy::from_file(path)?;
        // SAFETY: checked non-NULL above, writable (the caller's promise).
        unsafe { give(policy, policy_out) }
    })
}

/// Loads a JSON policy (format version 1) from the `len` bytes at `json`
/// (no NUL needed). A text in memory has no folder: a PEM anchor file must be
/// named by an absolute path, and a relative one is `PIN_ERR_POLICY_INVALID`
/// naming it (the working directory is not a trust decision: whoever starts
/// the program chooses it). `pin_policy_load_json_with_reader` resolves
/// relative names where the policy really lives.
///
/// Ownership and results as for `pin_policy_load_file`; `json` may not be
/// NULL even when `len` is 0 (an empty text is `PIN_ERR_POLICY_SYNTAX`).
///
/// # Safety
/// `json` is NULL or points to `len` readable bytes; `policy_out` is NULL or
/// points to a writable `pin_policy *`.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_load_json(
    json: *const u8,
    len: usize,
    policy_out: *mut *mut pin_policy,
) -> PinResult {
    boundary(|| {
        // SAFETY: NULL or `len` readable bytes (the caller's promise).
        let json = unsafe { bytes(json, len, "json") }?;
        non_null(policy_out, "policy_out")?;
        let policy = Policy::from_json(json)?;
        // SAFETY: checked non-NULL above, writable (the caller's promise).
        unsafe { give(policy, policy_out) }
    })
}

/// Reads one anchor file for `pin_policy_load_json_with_reader`.
///
/// `path` is the `anchors` entry as the policy wrote it (NUL-terminated,
/// relative or absolute; resolving it is the reader's decision). Returns the
/// file's bytes and writes their count to `*len_out`, or returns NULL when the
/// file cannot be read. The bytes stay owned by the caller and must remain
/// valid and unchanged until the reader is called again or the load returns.
/// Called on the loading thread, synchronously, at most once per distinct
/// entry; it must return normally (no `longjmp`, no C++ exception).
#[allow(non_camel_case_types)]
pub type pin_read_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, path: *const c_char, len_out: *mut usize) -> *const u8>;

/// Loads a JSON policy (format version 1) from the `len` bytes at `json`,
/// reading its PEM anchor files through `read` instead of the file system:
/// for a policy kept where its anchors are too, such as an application's
/// resources (`certpin_qt.hpp` reads a Qt resource policy this way, so that
/// `"certs/root.pem"` is the resource beside it and never a file on disk).
/// `userdata` is passed to `read` as is.
///
/// Ownership and results as for `pin_policy_load_file`; `PIN_ERR_NULL_ARGUMENT`
/// also when `read` is NULL, `PIN_ERR_POLICY_IO` when `read` returns NULL
/// (naming the entry; also for an entry holding a NUL, which no reader could be given).
///
/// # Safety
/// `json` is NULL or points to `len` readable bytes; `policy_out` is NULL or
/// points to a writable `pin_policy *`; `read` keeps the promises of
/// `pin_read_fn`.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_load_json_with_reader(
    json: *const u8,
    len: usize,
    read: pin_read_fn,
    userdata: *mut c_void,
    policy_out: *mut *mut pin_policy,
) -> PinResult {
    boundary(|| {
        // SAFETY: NULL or `len` readable bytes (the caller's promise).
        let json = unsafe { bytes(json, len, "json") }?;
        let read = read.ok_or_else(|| Failure::new(PinResult::PIN_ERR_NULL_ARGUMENT, "`read` is NULL"))?;
        non_null(policy_out, "policy_out")?;
        let mut read_file = |entry: &str| -> Result<Vec<u8>, String> {
            let name = CString::new(entry).map_err(|_| "the name holds a NUL character".to_string())?;
            let mut file_len = 0usize;
            // SAFETY: `read` is the caller's function; `name` and `file_len`
            // outlive the call.
            let data = unsafe { read(userdata, name.as_ptr(), &mut file_len) };
            if data.is_null() {
                return Err("the reader could not read it".into());
            }
            // SAFETY: the reader returned `file_len` readable bytes, valid
            // until it is called again (its promise); they are copied now.
            Ok(unsafe { core::slice::from_raw_parts(data, file_len) }.to_vec())
        };
        let policy = Policy::from_json_with_reader(json, &mut read_file)?;
        // SAFETY: checked non-NULL above, writable (the caller's promise).
        unsafe { give(policy, policy_out) }
    })
}

/// The quick policy: every host, trust exactly the certificates in this PEM
/// text (`len` bytes at `pem`, no NUL needed) and nothing else; no pins;
/// host names are checked. For a self-signed server, pass its own
/// certificate.
///
/// Ownership as for `pin_policy_load_file`. Results: `PIN_ERR_NULL_ARGUMENT`,
/// `PIN_ERR_POLICY_SYNTAX` (no CERTIFICATE block, bad PEM, or a certificate
/// that cannot be an anchor).
///
/// # Safety
/// `pem` is NULL or points to `len` readable bytes; `policy_out` is NULL or
/// points to a writable `pin_policy *`.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_load_pem(
    pem: *const u8,
    len: usize,
    policy_out: *mut *mut pin_policy,
) -> PinResult {
    boundary(|| {
        // SAFETY: NULL or `len` readable bytes (the caller's promise).
        let pem = unsafe { bytes(pem, len, "pem") }?;
        non_null(policy_out, "policy_out")?;
        let policy = Policy::from_pem(pem)?;
        // SAFETY: checked non-NULL above, writable (the caller's promise).
        unsafe { give(policy, policy_out) }
    })
}

/// Releases a policy. `NULL` is a no-op.
///
/// No thread may use the policy during or after this call; verdicts already
/// returned stay valid (they hold no reference to it).
///
/// # Safety
/// `policy` is NULL or a handle from a `pin_policy_load_*` function that has
/// not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_free(policy: *mut pin_policy) {
    if policy.is_null() {
        return;
    }
    boundary_or((), || {
        // SAFETY: a live handle made by Box::into_raw in `give`, freed once
        // (the caller's promise).
        drop(unsafe { Box::from_raw(policy.cast::<Policy>()) });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::{null, null_mut};

    #[test]
    fn outputs_are_written_only_on_success() {
        let sentinel = core::ptr::dangling_mut::<pin_policy>();
        let mut out = sentinel;
        let bad = b"{\"version\": 1, \"rulez\": []}";
        // SAFETY: valid buffer and output pointer.
        let r = unsafe { pin_policy_load_json(bad.as_ptr(), bad.len(), &mut out) };
        assert_eq!(r, PinResult::PIN_ERR_POLICY_INVALID);
        assert_eq!(out, sentinel);
        // SAFETY: NULL arguments are checked before use.
        unsafe {
            assert_eq!(
                pin_policy_load_json(null(), 0, &mut out),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                pin_policy_load_json(bad.as_ptr(), 0, null_mut()),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                pin_policy_load_pem(bad.as_ptr(), bad.len(), &mut out),
                PinResult::PIN_ERR_POLICY_SYNTAX
            );
            assert_eq!(pin_policy_load_file(null(), &mut out), PinResult::PIN_ERR_NULL_ARGUMENT);
            assert_eq!(
                pin_policy_load_file(c"/nonexistent/certpin.json".as_ptr(), &mut out),
                PinResult::PIN_ERR_POLICY_IO
            );
            pin_policy_free(null_mut());
        }
        assert_eq!(out, sentinel);
    }

    /// A reader that serves one file and records what it was asked.
    struct Files {
        pem: Vec<u8>,
        asked: Vec<String>,
    }

    unsafe extern "C" fn read_files(userdata: *mut c_void, path: *const c_char, len_out: *mut usize) -> *const u8 {
        // SAFETY: `userdata` is the `Files` the test passed; `path` is
        // NUL-terminated and `len_out` writable (the library's promise).
        let (files, path) = unsafe { (&mut *userdata.cast::<Files>(), core::ffi::CStr::from_ptr(path)) };
        files.asked.push(path.to_string_lossy().into_owned());
        if path.to_bytes() != b"certs/root.pem" {
            return core::ptr::null();
        }
        // SAFETY: writable (the library's promise).
        unsafe { len_out.write(files.pem.len()) };
        files.pem.as_ptr()
    }

    #[test]
    fn anchors_come_from_the_reader() {
        let pem = rcgen::generate_simple_self_signed(vec!["a.com".into()])
            .unwrap()
            .cert
            .pem();
        let mut files = Files {
            pem: pem.into_bytes(),
            asked: Vec::new(),
        };
        let json =
            |entry: &str| format!(r#"{{"version": 1, "rules": [{{"hosts": ["a.com"], "anchors": ["{entry}"]}}]}}"#);
        let sentinel = core::ptr::dangling_mut::<pin_policy>();
        let mut out = sentinel;
        let userdata = core::ptr::from_mut(&mut files).cast::<c_void>();
        let bad = json("certs/other.pem");
        // SAFETY: valid buffers, reader and output pointer.
        unsafe {
            assert_eq!(
                pin_policy_load_json_with_reader(bad.as_ptr(), bad.len(), Some(read_files), userdata, &mut out),
                PinResult::PIN_ERR_POLICY_IO
            );
            assert_eq!(out, sentinel);
            assert_eq!(
                pin_policy_load_json_with_reader(bad.as_ptr(), bad.len(), None, userdata, &mut out),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            let good = json("certs/root.pem");
            assert_eq!(
                pin_policy_load_json_with_reader(good.as_ptr(), good.len(), Some(read_files), userdata, &mut out),
                PinResult::PIN_OK
            );
            assert_ne!(out, sentinel);
            pin_policy_free(out);
            // The same text without a reader: a relative name has no folder.
            out = sentinel;
            assert_eq!(
                pin_policy_load_json(good.as_ptr(), good.len(), &mut out),
                PinResult::PIN_ERR_POLICY_INVALID
            );
        }
        assert_eq!(out, sentinel);
        assert_eq!(files.asked, ["certs/other.pem", "certs/root.pem"]);
    }
}
