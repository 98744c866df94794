//! Signed policy updates from C: loading one against the trusted keys, and
//! reading back which update a loaded policy came from.

use core::ffi::c_char;

use super::boundary::{boundary, bytes, c_str, non_null, Failure};
use super::policy::{give, pin_policy, policy_ref};
use crate::update::{TrustedKey, MAX_TRUSTED_KEYS};
use crate::{PinResult, Policy};

/// The trusted keys C passed, parsed.
///
/// # Safety
/// `keys` is NULL or points to `n_keys` pointers, each NULL or a
/// NUL-terminated string.
unsafe fn trusted_keys(keys: *const *const c_char, n_keys: usize) -> Result<Vec<TrustedKey>, Failure> {
    if keys.is_null() {
        return Err(Failure::new(PinResult::PIN_ERR_NULL_ARGUMENT, "`trusted_keys` is NULL"));
    }
    if n_keys == 0 {
        return Err(Failure::new(
            PinResult::PIN_ERR_INVALID_ARGUMENT,
            "`n_keys` is 0: with no trusted key nothing could vouch for an update",
        ));
    }
    if n_keys > MAX_TRUSTED_KEYS {
        return Err(Failure::new(
            PinResult::PIN_ERR_INVALID_ARGUMENT,
            format!("`n_keys` is {n_keys}; at most {MAX_TRUSTED_KEYS} trusted keys"),
        ));
    }
    // SAFETY: `n_keys` (at most MAX_TRUSTED_KEYS) readable pointers (the
    // caller's promise); pointers have their natural alignment.
    let keys = unsafe { core::slice::from_raw_parts(keys, n_keys) };
    keys.iter()
        .enumerate()
        .map(|(i, &key)| {
            let name = format!("trusted_keys[{i}]");
            // SAFETY: NULL or NUL-terminated (the caller's promise).
            let text = unsafe { c_str(key, &name) }?;
            let text = text.to_str().map_err(|_| {
                Failure::new(
                    PinResult::PIN_ERR_INVALID_ARGUMENT,
                    format!("`{name}` is not UTF-8; a key is written \"ed25519/<base64>\""),
                )
            })?;
            TrustedKey::parse(text)
                .map_err(|e| Failure::new(PinResult::PIN_ERR_INVALID_ARGUMENT, format!("`{name}`: {e}")))
        })
        .collect()
}

/// Loads a signed policy update: the `len` bytes at `update`, the update
/// file as fetched (`{"certpin_update": 1, "payload": …, "signatures": […]}`,
/// made by `certpin update sign`).
///
/// The update is accepted only when all of these hold, checked in this order:
/// - it is well-formed, and every signature in it verifies over the
///   payload's exact bytes, one of them by a key of `trusted_keys`
///   (`PIN_ERR_UPDATE_SIGNATURE` otherwise: unsigned, signed only by
///   unknown keys, or a payload or signature that was changed);
/// - its sequence is above `min_sequence` (`PIN_ERR_UPDATE_ROLLBACK`
///   otherwise: a replayed or older update, or the one already accepted);
/// - it has not expired at `unix_time` (seconds since the Unix epoch, `< 0`
///   for now): it is expired from its `expires` instant on
///   (`PIN_ERR_UPDATE_EXPIRED`);
/// - the policy inside loads, its anchors given as inline PEM text (an anchor
///   file is `PIN_ERR_POLICY_INVALID` naming it: the signature covers only
///   what the update holds).
///
/// `trusted_keys`: `n_keys` (1 to 64) NUL-terminated strings
/// `"ed25519/<base64 of the 32-byte public key>"`, as `certpin update keygen`
/// prints them; several for a key rotation. `min_sequence`: the sequence of
/// the last update the application accepted (0 for none); store each
/// accepted sequence and pass it next time, so that no older update is ever
/// applied again.
///
/// On `PIN_OK`, `*policy_out` receives a new policy that the caller owns and
/// must release with `pin_policy_free`, and `*sequence_out` (when
/// `sequence_out` is not NULL) the update's sequence; `pin_policy_get_update`
/// gives the sequence and expiry later. On any other result neither is
/// written and `pin_last_error` says why: keep the policy in use (the last
/// good update, or the application's built-in policy).
///
/// Results: `PIN_ERR_NULL_ARGUMENT` (`update`, `trusted_keys`, one of its
/// strings or `policy_out` is NULL), `PIN_ERR_INVALID_ARGUMENT` (`n_keys` is
/// 0 or over 64, a key that is not `ed25519/` and 32 bytes of base64),
/// `PIN_ERR_POLICY_SYNTAX` (empty, over 32 MiB, not JSON, a payload that is
/// not JSON), `PIN_ERR_POLICY_INVALID` (an unknown or missing key, bad base64,
/// a bad sequence or expiry, a bad policy inside),
/// `PIN_ERR_POLICY_IO` (the policy asks for the system store, which cannot
/// be loaded), `PIN_ERR_UPDATE_SIGNATURE`, `PIN_ERR_UPDATE_ROLLBACK`,
/// `PIN_ERR_UPDATE_EXPIRED`.
///
/// A policy loaded from an update stays usable after the update's expiry
/// (verification does not look at it): drop it then and return to the
/// built-in policy, at the instant `pin_policy_get_update` gives.
///
/// # Safety
/// `update` is NULL or points to `len` readable bytes; `trusted_keys` is NULL
/// or points to `n_keys` pointers, each NULL or a NUL-terminated string;
/// `policy_out` is NULL or points to a writable `pin_policy *`;
/// `sequence_out` is NULL or points to a writable `uint64_t`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pin_policy_load_update(
    update: *const u8,
    len: usize,
    trusted_keys: *const *const c_char,
    n_keys: usize,
    min_sequence: u64,
    unix_time: i64,
    policy_out: *mut *mut pin_policy,
    sequence_out: *mut u64,
) -> PinResult {
    boundary(|| {
        // SAFETY: NULL or `len` readable bytes (the caller's promise).
        let update = unsafe { bytes(update, len, "update") }?;
        // SAFETY: NULL or `n_keys` pointers to strings (the caller's promise).
        let keys = unsafe { self::trusted_keys(trusted_keys, n_keys) }?;
        non_null(policy_out, "policy_out")?;
        let policy = Policy::from_update(update, &keys, min_sequence, (unix_time >= 0).then_some(unix_time))?;
        let sequence = policy
            .update()
            .map(|u| u.sequence)
            .expect("a policy from an update knows it");
        if !sequence_out.is_null() {
            // SAFETY: not NULL, so writable (the caller's promise).
            unsafe { sequence_out.write(sequence) };
        }
        // SAFETY: checked non-NULL above, writable (the caller's promise).
        unsafe { give(policy, policy_out) }
    })
}

/// The signed update `policy` was loaded from (`pin_policy_load_update`):
/// its sequence in `*sequence_out` and, in `*expires_out`, the instant
/// (seconds since the Unix epoch) from which the update is expired. From
/// then on the application should stop using the policy and return to its
/// built-in one: the expiry is the update's dead-man switch, so that a
/// signing key lost or a release pipeline gone never leaves the field on an
/// update nobody maintains.
///
/// Either output may be NULL (it is then not written); both are written only
/// on `PIN_OK`. Results: `PIN_ERR_NULL_ARGUMENT` (`policy` is NULL),
/// `PIN_ERR_INVALID_ARGUMENT` (the policy was not loaded from an update).
///
/// # Safety
/// `policy` is NULL or a live policy; `sequence_out` is NULL or points to a
/// writable `uint64_t`; `expires_out` is NULL or points to a writable
/// `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn pin_policy_get_update(
    policy: *const pin_policy,
    sequence_out: *mut u64,
    expires_out: *mut i64,
) -> PinResult {
    boundary(|| {
        // SAFETY: NULL or a live policy (the caller's promise).
        let policy = unsafe { policy_ref(policy) }?;
        let info = policy.update().ok_or_else(|| {
            Failure::new(
                PinResult::PIN_ERR_INVALID_ARGUMENT,
                "the policy was not loaded from a signed update (pin_policy_load_update)",
            )
        })?;
        if !sequence_out.is_null() {
            // SAFETY: not NULL, so writable (the caller's promise).
            unsafe { sequence_out.write(info.sequence) };
        }
        if !expires_out.is_null() {
            // SAFETY: not NULL, so writable (the caller's promise).
            unsafe { expires_out.write(info.expires) };
        }
        Ok(PinResult::PIN_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::super::policy::pin_policy_free;
    use super::*;
    use crate::update::{payload, sign, SigningKey};
    use core::ptr::{null, null_mut};

    fn update(sequence: u64, key: &SigningKey) -> Vec<u8> {
        let pem = rcgen::generate_simple_self_signed(vec!["a.com".into()])
            .unwrap()
            .cert
            .pem();
        let policy = format!(
            r#"{{"version": 1, "rules": [{{"hosts": ["a.com"], "anchors": [{}]}}]}}"#,
            serde_json::to_string(&pem).unwrap()
        );
        sign(
            &payload(sequence, "2999-01-01T00:00:00Z", policy.as_bytes()).unwrap(),
            &[key],
        )
    }

    #[test]
    fn outputs_are_written_only_on_success() {
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let text = std::ffi::CString::new(key.public_key().to_string()).unwrap();
        let keys = [text.as_ptr()];
        let file = update(3, &key);
        let sentinel = core::ptr::dangling_mut::<pin_policy>();
        let (mut out, mut sequence) = (sentinel, 77u64);
        // SAFETY: valid buffers and output pointers, or NULLs the calls check.
        unsafe {
            let load = |bytes: &[u8],
                        keys: *const *const c_char,
                        n: usize,
                        min: u64,
                        out: *mut *mut pin_policy,
                        seq: *mut u64| {
                pin_policy_load_update(bytes.as_ptr(), bytes.len(), keys, n, min, 1_700_000_000, out, seq)
            };
            assert_eq!(
                load(&file, keys.as_ptr(), 1, 3, &mut out, &mut sequence),
                PinResult::PIN_ERR_UPDATE_ROLLBACK
            );
            assert_eq!(
                load(&file, keys.as_ptr(), 0, 0, &mut out, &mut sequence),
                PinResult::PIN_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                load(&file, null(), 1, 0, &mut out, &mut sequence),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                load(&file, [null()].as_ptr(), 1, 0, &mut out, &mut sequence),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                load(&file, keys.as_ptr(), 1, 0, null_mut(), &mut sequence),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                load(&file[..10], keys.as_ptr(), 1, 0, &mut out, &mut sequence),
                PinResult::PIN_ERR_POLICY_SYNTAX
            );
            assert_eq!((out, sequence), (sentinel, 77));
            assert_eq!(
                load(&file, keys.as_ptr(), 1, 2, &mut out, null_mut()),
                PinResult::PIN_OK
            );
            assert_ne!(out, sentinel);
            pin_policy_free(out);
            out = sentinel;
            assert_eq!(
                load(&file, keys.as_ptr(), 1, 2, &mut out, &mut sequence),
                PinResult::PIN_OK
            );
            assert_eq!(sequence, 3);
            let (mut seq, mut expires) = (0u64, 0i64);
            assert_eq!(pin_policy_get_update(out, &mut seq, &mut expires), PinResult::PIN_OK);
            assert_eq!((seq, expires), (3, 32_472_144_000));
            assert_eq!(pin_policy_get_update(out, null_mut(), null_mut()), PinResult::PIN_OK);
            assert_eq!(
                pin_policy_get_update(null(), &mut seq, &mut expires),
                PinResult::PIN_ERR_NULL_ARGUMENT
            );
            pin_policy_free(out);
        }
    }
}
