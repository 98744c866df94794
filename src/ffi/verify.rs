//! Verifying a served chain from C: the three `pin_verify_chain*` forms, the
//! verdict flags and the violation report callback.

use core::ffi::{c_char, c_void};
use std::ffi::CString;

use super::boundary::{boundary, bytes, c_str, non_null, Failure};
use super::error;
use super::policy::{pin_policy, policy_ref};
use crate::report::Report;
use crate::result::flags;
use crate::PinResult;

/// Receives a violation report.
///
/// Called synchronously, on the thread that called `pin_verify_chain_ex`,
/// once per violation of a rule that has a `report_uri` (enforced or
/// report-only): never for an accepted chain, never for a rule without
/// `report_uri`. `report_uri` is the rule's URI; `report_json` is the
/// RFC 7469 section 3 report (`date-time`, `hostname`, `port`,
/// `effective-expiration-date`, `include-subdomains`, `noted-hostname`,
/// `served-certificate-chain`, `validated-certificate-chain`, `known-pins`,
/// plus `certpin-result` and `certpin-detail`), `report_len` bytes long and
/// NUL-terminated. Both strings are valid only during the call: copy what you
/// keep. Sending the report is the application's business (certpin has no
/// network code); `pin_last_error` already holds the violation's message.
///
/// The callback must return normally (no `longjmp`, no C++ exception) and
/// must not free the policy being used.
#[allow(non_camel_case_types)]
pub type pin_report_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        report_uri: *const c_char,
        report_json: *const c_char,
        report_len: usize,
    ),
>;

/// What one verification was asked, as C passed it.
struct Request {
    der_chain: *const u8,
    len: usize,
    policy: *const pin_policy,
    host: *const c_char,
    port: u16,
    unix_time: Option<i64>,
    flags_out: *mut u32,
    report: pin_report_fn,
    userdata: *mut c_void,
}

impl Request {
    /// A request without port, flags or report callback.
    fn plain(
        der_chain: *const u8,
        len: usize,
        policy: *const pin_policy,
        host: *const c_char,
        unix_time: Option<i64>,
    ) -> Self {
        Self {
            der_chain,
            len,
            policy,
            host,
            port: 0,
            unix_time,
            flags_out: core::ptr::null_mut(),
            report: None,
            userdata: core::ptr::null_mut(),
        }
    }

    /// Runs the verification inside the panic boundary.
    ///
    /// # Safety
    /// The pointers meet the promises of `pin_verify_chain_ex`.
    unsafe fn run(self) -> PinResult {
        boundary(|| {
            // SAFETY: each pointer is NULL or valid (the caller's promise).
            let chain = unsafe { bytes(self.der_chain, self.len, "der_chain") }?;
            // SAFETY: as above.
            let policy = unsafe { policy_ref(self.policy) }?;
            // SAFETY: as above.
            let host = unsafe { host_str(self.host) }?;
            let verdict = crate::verify(policy, chain, host, self.unix_time);
            let records_error = !verdict.ok() || verdict.flags & flags::REPORT_ONLY != 0;
            if records_error {
                error::set_last_error(verdict.message());
            }
            let arguments_valid = !matches!(
                verdict.result,
                PinResult::PIN_ERR_NULL_ARGUMENT | PinResult::PIN_ERR_INVALID_ARGUMENT
            );
            if let (Some(callback), Some(violation)) = (self.report, verdict.violation.as_ref()) {
                // A URI with a NUL byte cannot be passed as a C string; such
                // a rule gets no report rather than a cut URI.
                if let Some(uri) = violation.rule.report_uri().and_then(|u| CString::new(u).ok()) {
                    let json = Report::new(violation, &verdict.detail, self.port).to_json();
                    let json = CString::new(json).expect("report JSON escapes control characters");
                    // SAFETY: the callback's contract is the caller's; both
                    // strings live until it returns.
                    unsafe { callback(self.userdata, uri.as_ptr(), json.as_ptr(), json.as_bytes().len()) };
                    // A callback that calls certpin again replaced the message:
                    // the message after a call is always that call's.
                    if records_error {
                        error::set_last_error(verdict.message());
                    }
                }
            }
            // Last, so that a panic anywhere above leaves `*flags_out` untouched.
            if arguments_valid && !self.flags_out.is_null() {
                // SAFETY: not NULL, so writable (the caller's promise).
                unsafe { self.flags_out.write(verdict.flags) };
            }
            Ok(verdict.result)
        })
    }
}

/// The host argument as text.
///
/// # Safety
/// `host` is NULL or a NUL-terminated string that outlives `'a`.
unsafe fn host_str<'a>(host: *const c_char) -> Result<&'a str, Failure> {
    // SAFETY: the caller's promise.
    let host = unsafe { c_str(host, "host") }?;
    host.to_str().map_err(|e| {
        Failure::new(
            PinResult::PIN_ERR_INVALID_ARGUMENT,
            format!(
                "the host is not ASCII (byte {} is not even UTF-8): pass the IDNA A-label (QUrl::host(QUrl::FullyEncoded))",
                e.valid_up_to()
            ),
        )
    })
}

/// Verifies a served certificate chain for `host` under `policy`, now.
///
/// `der_chain`: the peer's certificates as DER, concatenated, leaf first,
/// exactly as the server sent them (Qt: `QSslCertificate::toDer()` of each
/// certificate of `peerCertificateChain()`, appended), `len` bytes.
/// `host`: the host the application connected to, NUL-terminated ASCII (IDNA
/// A-label for international names; an IP literal as text, IPv6 without
/// brackets). An IPv4-mapped IPv6 address in any spelling is the IPv4
/// address; an IPv6 zone id (`%eth0`, or `%25eth0` as `QUrl` writes it) is
/// ignored.
///
/// `PIN_OK` means proceed; any other result means reject the connection, and
/// `pin_last_error` explains it. Results: `PIN_ERR_NULL_ARGUMENT`,
/// `PIN_ERR_INVALID_ARGUMENT` (host not ASCII or not a DNS name or IP address,
/// chain over 256 certificates or 1 MiB, a certificate over 64 KiB),
/// `PIN_ERR_CHAIN_EMPTY` (`len` is 0), `PIN_ERR_CHAIN_MALFORMED` (not a
/// sequence of DER certificates, trailing bytes), `PIN_ERR_HOST_NOT_COVERED`, and the 31x/320 codes of a rule's
/// rejection. `PIN_ERR_INTERNAL` is a rejection too.
///
/// Thread safety: any number of threads may verify with one policy at once.
///
/// # Safety
/// `der_chain` is NULL or points to `len` readable bytes; `policy` is NULL or
/// a live policy; `host` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pin_verify_chain(
    der_chain: *const u8,
    len: usize,
    policy: *const pin_policy,
    host: *const c_char,
) -> PinResult {
    // SAFETY: forwarded promises.
    unsafe { Request::plain(der_chain, len, policy, host, None).run() }
}

/// As `pin_verify_chain`, at `unix_time` (seconds since the Unix epoch)
/// instead of now. A negative time is `PIN_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As for `pin_verify_chain`.
#[no_mangle]
pub unsafe extern "C" fn pin_verify_chain_at(
    der_chain: *const u8,
    len: usize,
    policy: *const pin_policy,
    host: *const c_char,
    unix_time: i64,
) -> PinResult {
    // SAFETY: forwarded promises.
    unsafe { Request::plain(der_chain, len, policy, host, Some(unix_time)).run() }
}

/// The full form of `pin_verify_chain`.
///
/// `port`: the server's port (0 if unknown; it goes into reports).
/// `unix_time`: seconds since the Unix epoch; `< 0` for now.
/// `flags_out` (may be NULL): receives the `PIN_FLAG_*` bits the answer rests
/// on. It is written whenever the arguments were valid, whatever the result
/// (0 for a rejection); it is left untouched when the result is
/// `PIN_ERR_NULL_ARGUMENT`, `PIN_ERR_INVALID_ARGUMENT` or `PIN_ERR_INTERNAL`.
/// `report` (may be NULL): called once per violation of a rule that has a
/// `report_uri`, with `userdata` as its first argument (see `pin_report_fn`).
///
/// # Safety
/// As for `pin_verify_chain`; `flags_out` is NULL or points to a writable
/// `uint32_t`; `report` is NULL or a function of that type.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pin_verify_chain_ex(
    der_chain: *const u8,
    len: usize,
    policy: *const pin_policy,
    host: *const c_char,
    port: u16,
    unix_time: i64,
    flags_out: *mut u32,
    report: pin_report_fn,
    userdata: *mut c_void,
) -> PinResult {
    let request = Request {
        der_chain,
        len,
        policy,
        host,
        port,
        unix_time: (unix_time >= 0).then_some(unix_time),
        flags_out,
        report,
        userdata,
    };
    // SAFETY: forwarded promises.
    unsafe { request.run() }
}

/// Which rule of `policy` covers `host`, before any chain is seen: what a
/// verification for `host` can answer.
///
/// On `PIN_OK`, `*flags_out` receives `PIN_FLAG_VOUCHED` when a rule covers
/// the host, with `PIN_FLAG_NAME_VERIFIED` when that rule checks the host
/// name and `PIN_FLAG_REPORT_ONLY` when it is report-only (it never
/// rejects); or `PIN_FLAG_UNLISTED` when no rule covers the host and
/// `unlisted_hosts` is `"allow"` (every chain is accepted). A rejection is
/// possible for `host` exactly when the result is not `PIN_OK` or the flags
/// are `PIN_FLAG_VOUCHED` without `PIN_FLAG_REPORT_ONLY`. The Qt helper asks
/// this to decide which connections to hold until certpin has judged them.
///
/// Results: `PIN_OK`, `PIN_ERR_HOST_NOT_COVERED` (no rule covers the host
/// and `unlisted_hosts` is `"reject"`: every chain for it is rejected),
/// `PIN_ERR_NULL_ARGUMENT`, `PIN_ERR_INVALID_ARGUMENT` (the host, as for
/// `pin_verify_chain`). `*flags_out` is written only on `PIN_OK`.
///
/// # Safety
/// `policy` is NULL or a live policy; `host` is NULL or a NUL-terminated
/// string; `flags_out` is NULL or points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_host_flags(
    policy: *const pin_policy,
    host: *const c_char,
    flags_out: *mut u32,
) -> PinResult {
    boundary(|| {
        // SAFETY: each pointer is NULL or valid (the caller's promise).
        let policy = unsafe { policy_ref(policy) }?;
        // SAFETY: as above.
        let host = unsafe { host_str(host) }?;
        non_null(flags_out, "flags_out")?;
        let answer = crate::host_flags(policy, host);
        if !answer.ok() {
            return Err(Failure::new(answer.result, answer.detail));
        }
        // SAFETY: not NULL, so writable (the caller's promise).
        unsafe { flags_out.write(answer.flags) };
        Ok(PinResult::PIN_OK)
    })
}
