/*
 * certpin: TLS certificate and public-key pinning for Qt/C++ applications.
 *
 * Hand certpin the chain a server presented and the host you connected to;
 * it builds and validates a path itself, against the anchors the policy
 * allows and nothing else, checks the pins against that validated path, and
 * answers PIN_OK (proceed) or a reason to reject.
 *
 * Conventions: every function is a panic boundary (PIN_ERR_INTERNAL, always a
 * rejection); a `const` first argument means the call does not mutate it;
 * output parameters come last and are written only on success (but
 * flags_out); every *_free(NULL) is a no-op; pin_last_error() explains this
 * thread's last failed call. The numeric values are part of the ABI.
 */

#ifndef CERTPIN_H
#define CERTPIN_H

/* Generated from src/ffi by cbindgen (build.rs): edit the Rust doc comments, not this file. */

#include <stddef.h>
#include <stdint.h>

/** The version of certpin this header declares; pin_version() gives the library's at run time. */
#define CERTPIN_VERSION_STRING "0.1.0"
#define CERTPIN_VERSION_MAJOR 0
#define CERTPIN_VERSION_MINOR 1
#define CERTPIN_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, for `#if CERTPIN_VERSION_NUMBER >= ...`. */
#define CERTPIN_VERSION_NUMBER 100

/**
 * The outcome of a certpin call. `PIN_OK` is the only value that lets a
 * connection proceed; everything else is a rejection.
 *
 * The codes are grouped in blocks: 1xx the caller's mistakes, 2xx loading a
 * policy (21x a signed policy update), 3xx a rejected chain, 9xx internal
 * errors. An internal error is always a rejection. A C enum: the values
 * all fit 32 bits.
 */
typedef enum pin_result {
  /**
   * Proceed. On its own this does not say that certpin vouched for the
   * chain: see the `PIN_FLAG_*` flags.
   */
  PIN_OK = 0,
  /**
   * A required pointer argument was NULL.
   */
  PIN_ERR_NULL_ARGUMENT = 100,
  /**
   * An argument is out of range: a host that is not ASCII or not a valid
   * DNS name or IP address, a chain or certificate over the size limits, a
   * negative time.
   */
  PIN_ERR_INVALID_ARGUMENT = 101,
  /**
   * The policy file, or a PEM file it references, is missing or unreadable;
   * or the system trust store it asks for could not be loaded.
   */
  PIN_ERR_POLICY_IO = 200,
  /**
   * The policy is not JSON, or the PEM text holds no certificate.
   */
  PIN_ERR_POLICY_SYNTAX = 201,
  /**
   * The policy is well-formed but wrong: unknown key, bad pin, bad pattern,
   * no trust source, ...
   */
  PIN_ERR_POLICY_INVALID = 202,
  /**
   * A signed policy update carries no valid signature by a trusted key:
   * signed by keys none of which is trusted, or a signature that does not
   * verify (the payload or the signature was changed).
   */
  PIN_ERR_UPDATE_SIGNATURE = 210,
  /**
   * A signed policy update whose sequence is not above the one the caller
   * already has: a replayed or older update.
   */
  PIN_ERR_UPDATE_ROLLBACK = 211,
  /**
   * A signed policy update past its `expires` instant.
   */
  PIN_ERR_UPDATE_EXPIRED = 212,
  /**
   * The chain is not a sequence of DER certificates.
   */
  PIN_ERR_CHAIN_MALFORMED = 300,
  /**
   * The chain holds no certificate.
   */
  PIN_ERR_CHAIN_EMPTY = 301,
  /**
   * No rule covers this host and the policy rejects unlisted hosts.
   */
  PIN_ERR_HOST_NOT_COVERED = 302,
  /**
   * No path to an anchor that this host's rule allows.
   */
  PIN_ERR_UNTRUSTED = 310,
  /**
   * A certificate of the path has expired.
   */
  PIN_ERR_EXPIRED = 311,
  /**
   * A certificate of the path is not valid yet.
   */
  PIN_ERR_NOT_YET_VALID = 312,
  /**
   * The leaf is not valid for the host.
   */
  PIN_ERR_HOSTNAME_MISMATCH = 313,
  /**
   * Key usage is wrong: EKU, basic constraints, a CA as end entity, path
   * length, name constraints.
   */
  PIN_ERR_BAD_USAGE = 314,
  /**
   * A signature on the path does not verify.
   */
  PIN_ERR_BAD_SIGNATURE = 315,
  /**
   * A signature or key algorithm that certpin does not support.
   */
  PIN_ERR_UNSUPPORTED_ALGORITHM = 316,
  /**
   * A valid path exists, but no valid path contains a pinned key.
   */
  PIN_ERR_PIN_MISMATCH = 320,
  /**
   * Rejected for a reason not listed above.
   */
  PIN_ERR_REJECTED_OTHER = 399,
  /**
   * A bug in certpin (a caught panic, a poisoned lock). Always a rejection.
   */
  PIN_ERR_INTERNAL = 900,
} pin_result;

/**
 * What an answer rests on: the bits `pin_verify_chain_ex` writes to
 * `*flags_out`.
 *
 * `PIN_OK` alone does not say that certpin vouched for the chain: an
 * unlisted host under `"unlisted_hosts": "allow"`, or a report-only rule,
 * also give `PIN_OK`. Whoever overrides another verifier's verdict (a Qt
 * application ignoring Qt's `sslErrors`) must require `PIN_FLAG_VOUCHED`,
 * and also `PIN_FLAG_NAME_VERIFIED` before ignoring a host-name error.
 */
typedef enum pin_flag {
  /**
   * A rule for this host validated the chain and accepted it.
   */
  PIN_FLAG_VOUCHED = 1,
  /**
   * certpin checked the host name against the leaf, and it matched.
   */
  PIN_FLAG_NAME_VERIFIED = 2,
  /**
   * No rule covers this host; `PIN_OK` only because `unlisted_hosts` is
   * `"allow"`. certpin vouches for nothing then.
   */
  PIN_FLAG_UNLISTED = 4,
  /**
   * A report-only rule rejected the chain; `PIN_OK` is returned and
   * `pin_last_error` holds the rejection.
   */
  PIN_FLAG_REPORT_ONLY = 8,
  /**
   * Answered from the policy's verification cache (the same answer a full
   * verification would give).
   */
  PIN_FLAG_CACHED = 16,
} pin_flag;

/**
 * A loaded policy (opaque).
 *
 * Immutable after loading (its verification cache is internally
 * synchronised), so one policy may be shared by any number of threads
 * verifying at once. Created by a `pin_policy_load_*` function, owned by the
 * caller, released with `pin_policy_free` once no thread uses it any more.
 */
typedef struct pin_policy pin_policy;

/**
 * Reads one anchor file for `pin_policy_load_json_with_reader`.
 *
 * `path` is the `anchors` entry as the policy wrote it (NUL-terminated,
 * relative or absolute; resolving it is the reader's decision). Returns the
 * file's bytes and writes their count to `*len_out`, or returns NULL when the
 * file cannot be read. The bytes stay owned by the caller and must remain
 * valid and unchanged until the reader is called again or the load returns.
 * Called on the loading thread, synchronously, at most once per distinct
 * entry; it must return normally (no `longjmp`, no C++ exception).
 */
typedef const uint8_t *(*pin_read_fn)(void *userdata, const char *path, size_t *len_out);

/**
 * Receives a violation report.
 *
 * Called synchronously, on the thread that called `pin_verify_chain_ex`,
 * once per violation of a rule that has a `report_uri` (enforced or
 * report-only): never for an accepted chain, never for a rule without
 * `report_uri`. `report_uri` is the rule's URI; `report_json` is the
 * RFC 7469 section 3 report (`date-time`, `hostname`, `port`,
 * `effective-expiration-date`, `include-subdomains`, `noted-hostname`,
 * `served-certificate-chain`, `validated-certificate-chain`, `known-pins`,
 * plus `certpin-result` and `certpin-detail`), `report_len` bytes long and
 * NUL-terminated. Both strings are valid only during the call: copy what you
 * keep. Sending the report is the application's business (certpin has no
 * network code); `pin_last_error` already holds the violation's message.
 *
 * The callback must return normally (no `longjmp`, no C++ exception) and
 * must not free the policy being used.
 */
typedef void (*pin_report_fn)(void *userdata,
                              const char *report_uri,
                              const char *report_json,
                              size_t report_len);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The version of the certpin library that is running, e.g. `"0.1.0"`:
 * compare it with `CERTPIN_VERSION_STRING`, the version of the header the
 * application was compiled with.
 *
 * The string is static: never free it. Safe to call from any thread.
 */
const char *pin_version(void);

/**
 * The name of a result code, e.g. `"PIN_ERR_PIN_MISMATCH"`; `"PIN_ERR_UNKNOWN"`
 * for a number that is no code.
 *
 * Takes an `int` rather than the enum because C may pass any value, and a
 * Rust enum must never hold one outside its variants. The string is static:
 * never free it. Safe to call from any thread.
 */
const char *pin_result_name(int result);

/**
 * Copies the message of this thread's last failed call into `buf`:
 * `"PIN_ERR_…: detail"`, NUL-terminated, truncated to fit `buf_len` bytes
 * (never inside a UTF-8 sequence). Returns the message's full length in
 * bytes, without the NUL: a result `>= buf_len` means it was truncated.
 *
 * Each thread has its own message; a successful call leaves it unchanged.
 * A report-only violation (`PIN_OK` with `PIN_FLAG_REPORT_ONLY`) also
 * records its message. With no failed call yet, the message is empty.
 *
 * For a rejected chain the message lists every served certificate as
 * `"sha256/<base64 SPKI hash>: <subject>"` and the pins the rule expected,
 * so a developer can fix the policy from the message alone.
 *
 * `buf` may be NULL (then `buf_len` is ignored): only the length is
 * returned, so `pin_last_error(NULL, 0) + 1` is the size to allocate. With
 * `buf_len == 1` only the NUL is written.
 *
 * # Safety
 * `buf` is NULL or points to `buf_len` writable bytes.
 */
size_t pin_last_error(char *buf, size_t buf_len);

/**
 * Loads a JSON policy file (format version 1, see the README). Relative
 * paths of PEM anchor files are taken from the policy file's folder.
 *
 * On `PIN_OK`, `*policy_out` receives a new policy that the caller owns and
 * must release with `pin_policy_free`; on any other result `*policy_out` is
 * left untouched and `pin_last_error` says what is wrong and where.
 *
 * Results: `PIN_ERR_NULL_ARGUMENT` (`path` or `policy_out` is NULL),
 * `PIN_ERR_POLICY_IO` (the file, or a PEM file it names, cannot be read;
 * or the system trust store it asks for cannot be loaded),
 * `PIN_ERR_POLICY_SYNTAX` (not JSON), `PIN_ERR_POLICY_INVALID` (well-formed
 * but wrong: unknown key, bad pin, bad host pattern, no trust source, ...).
 *
 * # Safety
 * `path` is NULL or a NUL-terminated file name (bytes, as the OS takes them);
 * `policy_out` is NULL or points to a writable `pin_policy *`.
 */
enum pin_result pin_policy_load_file(const char *path, struct pin_policy **policy_out);

/**
 * Loads a JSON policy (format version 1) from the `len` bytes at `json`
 * (no NUL needed). A text in memory has no folder: a PEM anchor file must be
 * named by an absolute path, and a relative one is `PIN_ERR_POLICY_INVALID`
 * naming it (the working directory is not a trust decision: whoever starts
 * the program chooses it). `pin_policy_load_json_with_reader` resolves
 * relative names where the policy really lives.
 *
 * Ownership and results as for `pin_policy_load_file`; `json` may not be
 * NULL even when `len` is 0 (an empty text is `PIN_ERR_POLICY_SYNTAX`).
 *
 * # Safety
 * `json` is NULL or points to `len` readable bytes; `policy_out` is NULL or
 * points to a writable `pin_policy *`.
 */
enum pin_result pin_policy_load_json(const uint8_t *json,
                                     size_t len,
                                     struct pin_policy **policy_out);

/**
 * Loads a JSON policy (format version 1) from the `len` bytes at `json`,
 * reading its PEM anchor files through `read` instead of the file system:
 * for a policy kept where its anchors are too, such as an application's
 * resources (`certpin_qt.hpp` reads a Qt resource policy this way, so that
 * `"certs/root.pem"` is the resource beside it and never a file on disk).
 * `userdata` is passed to `read` as is.
 *
 * Ownership and results as for `pin_policy_load_file`; `PIN_ERR_NULL_ARGUMENT`
 * also when `read` is NULL, `PIN_ERR_POLICY_IO` when `read` returns NULL
 * (naming the entry; also for an entry holding a NUL, which no reader could be given).
 *
 * # Safety
 * `json` is NULL or points to `len` readable bytes; `policy_out` is NULL or
 * points to a writable `pin_policy *`; `read` keeps the promises of
 * `pin_read_fn`.
 */
enum pin_result pin_policy_load_json_with_reader(const uint8_t *json,
                                                 size_t len,
                                                 pin_read_fn read,
                                                 void *userdata,
                                                 struct pin_policy **policy_out);

/**
 * The quick policy: every host, trust exactly the certificates in this PEM
 * text (`len` bytes at `pem`, no NUL needed) and nothing else; no pins;
 * host names are checked. For a self-signed server, pass its own
 * certificate.
 *
 * Ownership as for `pin_policy_load_file`. Results: `PIN_ERR_NULL_ARGUMENT`,
 * `PIN_ERR_POLICY_SYNTAX` (no CERTIFICATE block, bad PEM, or a certificate
 * that cannot be an anchor).
 *
 * # Safety
 * `pem` is NULL or points to `len` readable bytes; `policy_out` is NULL or
 * points to a writable `pin_policy *`.
 */
enum pin_result pin_policy_load_pem(const uint8_t *pem, size_t len, struct pin_policy **policy_out);

/**
 * Releases a policy. `NULL` is a no-op.
 *
 * No thread may use the policy during or after this call; verdicts already
 * returned stay valid (they hold no reference to it).
 *
 * # Safety
 * `policy` is NULL or a handle from a `pin_policy_load_*` function that has
 * not been freed yet.
 */
void pin_policy_free(struct pin_policy *policy);

/**
 * Loads a signed policy update: the `len` bytes at `update`, the update
 * file as fetched (`{"certpin_update": 1, "payload": …, "signatures": […]}`,
 * made by `certpin update sign`).
 *
 * The update is accepted only when all of these hold, checked in this order:
 * - it is well-formed, and every signature in it verifies over the
 *   payload's exact bytes, one of them by a key of `trusted_keys`
 *   (`PIN_ERR_UPDATE_SIGNATURE` otherwise: unsigned, signed only by
 *   unknown keys, or a payload or signature that was changed);
 * - its sequence is above `min_sequence` (`PIN_ERR_UPDATE_ROLLBACK`
 *   otherwise: a replayed or older update, or the one already accepted);
 * - it has not expired at `unix_time` (seconds since the Unix epoch, `< 0`
 *   for now): it is expired from its `expires` instant on
 *   (`PIN_ERR_UPDATE_EXPIRED`);
 * - the policy inside loads, its anchors given as inline PEM text (an anchor
 *   file is `PIN_ERR_POLICY_INVALID` naming it: the signature covers only
 *   what the update holds).
 *
 * `trusted_keys`: `n_keys` (1 to 64) NUL-terminated strings
 * `"ed25519/<base64 of the 32-byte public key>"`, as `certpin update keygen`
 * prints them; several for a key rotation. `min_sequence`: the sequence of
 * the last update the application accepted (0 for none); store each
 * accepted sequence and pass it next time, so that no older update is ever
 * applied again.
 *
 * On `PIN_OK`, `*policy_out` receives a new policy that the caller owns and
 * must release with `pin_policy_free`, and `*sequence_out` (when
 * `sequence_out` is not NULL) the update's sequence; `pin_policy_get_update`
 * gives the sequence and expiry later. On any other result neither is
 * written and `pin_last_error` says why: keep the policy in use (the last
 * good update, or the application's built-in policy).
 *
 * Results: `PIN_ERR_NULL_ARGUMENT` (`update`, `trusted_keys`, one of its
 * strings or `policy_out` is NULL), `PIN_ERR_INVALID_ARGUMENT` (`n_keys` is
 * 0 or over 64, a key that is not `ed25519/` and 32 bytes of base64),
 * `PIN_ERR_POLICY_SYNTAX` (empty, over 32 MiB, not JSON, a payload that is
 * not JSON), `PIN_ERR_POLICY_INVALID` (an unknown or missing key, bad base64,
 * a bad sequence or expiry, a bad policy inside),
 * `PIN_ERR_POLICY_IO` (the policy asks for the system store, which cannot
 * be loaded), `PIN_ERR_UPDATE_SIGNATURE`, `PIN_ERR_UPDATE_ROLLBACK`,
 * `PIN_ERR_UPDATE_EXPIRED`.
 *
 * A policy loaded from an update stays usable after the update's expiry
 * (verification does not look at it): drop it then and return to the
 * built-in policy, at the instant `pin_policy_get_update` gives.
 *
 * # Safety
 * `update` is NULL or points to `len` readable bytes; `trusted_keys` is NULL
 * or points to `n_keys` pointers, each NULL or a NUL-terminated string;
 * `policy_out` is NULL or points to a writable `pin_policy *`;
 * `sequence_out` is NULL or points to a writable `uint64_t`.
 */
enum pin_result pin_policy_load_update(const uint8_t *update,
                                       size_t len,
                                       const char *const *trusted_keys,
                                       size_t n_keys,
                                       uint64_t min_sequence,
                                       int64_t unix_time,
                                       struct pin_policy **policy_out,
                                       uint64_t *sequence_out);

/**
 * The signed update `policy` was loaded from (`pin_policy_load_update`):
 * its sequence in `*sequence_out` and, in `*expires_out`, the instant
 * (seconds since the Unix epoch) from which the update is expired. From
 * then on the application should stop using the policy and return to its
 * built-in one: the expiry is the update's dead-man switch, so that a
 * signing key lost or a release pipeline gone never leaves the field on an
 * update nobody maintains.
 *
 * Either output may be NULL (it is then not written); both are written only
 * on `PIN_OK`. Results: `PIN_ERR_NULL_ARGUMENT` (`policy` is NULL),
 * `PIN_ERR_INVALID_ARGUMENT` (the policy was not loaded from an update).
 *
 * # Safety
 * `policy` is NULL or a live policy; `sequence_out` is NULL or points to a
 * writable `uint64_t`; `expires_out` is NULL or points to a writable
 * `int64_t`.
 */
enum pin_result pin_policy_get_update(const struct pin_policy *policy,
                                      uint64_t *sequence_out,
                                      int64_t *expires_out);

/**
 * Verifies a served certificate chain for `host` under `policy`, now.
 *
 * `der_chain`: the peer's certificates as DER, concatenated, leaf first,
 * exactly as the server sent them (Qt: `QSslCertificate::toDer()` of each
 * certificate of `peerCertificateChain()`, appended), `len` bytes.
 * `host`: the host the application connected to, NUL-terminated ASCII (IDNA
 * A-label for international names; an IP literal as text, IPv6 without
 * brackets). An IPv4-mapped IPv6 address in any spelling is the IPv4
 * address; an IPv6 zone id (`%eth0`, or `%25eth0` as `QUrl` writes it) is
 * ignored.
 *
 * `PIN_OK` means proceed; any other result means reject the connection, and
 * `pin_last_error` explains it. Results: `PIN_ERR_NULL_ARGUMENT`,
 * `PIN_ERR_INVALID_ARGUMENT` (host not ASCII or not a DNS name or IP address,
 * chain over 256 certificates or 1 MiB, a certificate over 64 KiB),
 * `PIN_ERR_CHAIN_EMPTY` (`len` is 0), `PIN_ERR_CHAIN_MALFORMED` (not a
 * sequence of DER certificates, trailing bytes), `PIN_ERR_HOST_NOT_COVERED`, and the 31x/320 codes of a rule's
 * rejection. `PIN_ERR_INTERNAL` is a rejection too.
 *
 * Thread safety: any number of threads may verify with one policy at once.
 *
 * # Safety
 * `der_chain` is NULL or points to `len` readable bytes; `policy` is NULL or
 * a live policy; `host` is NULL or a NUL-terminated string.
 */
enum pin_result pin_verify_chain(const uint8_t *der_chain,
                                 size_t len,
                                 const struct pin_policy *policy,
                                 const char *host);

/**
 * As `pin_verify_chain`, at `unix_time` (seconds since the Unix epoch)
 * instead of now. A negative time is `PIN_ERR_INVALID_ARGUMENT`.
 *
 * # Safety
 * As for `pin_verify_chain`.
 */
enum pin_result pin_verify_chain_at(const uint8_t *der_chain,
                                    size_t len,
                                    const struct pin_policy *policy,
                                    const char *host,
                                    int64_t unix_time);

/**
 * The full form of `pin_verify_chain`.
 *
 * `port`: the server's port (0 if unknown; it goes into reports).
 * `unix_time`: seconds since the Unix epoch; `< 0` for now.
 * `flags_out` (may be NULL): receives the `PIN_FLAG_*` bits the answer rests
 * on. It is written whenever the arguments were valid, whatever the result
 * (0 for a rejection); it is left untouched when the result is
 * `PIN_ERR_NULL_ARGUMENT`, `PIN_ERR_INVALID_ARGUMENT` or `PIN_ERR_INTERNAL`.
 * `report` (may be NULL): called once per violation of a rule that has a
 * `report_uri`, with `userdata` as its first argument (see `pin_report_fn`).
 *
 * # Safety
 * As for `pin_verify_chain`; `flags_out` is NULL or points to a writable
 * `uint32_t`; `report` is NULL or a function of that type.
 */
enum pin_result pin_verify_chain_ex(const uint8_t *der_chain,
                                    size_t len,
                                    const struct pin_policy *policy,
                                    const char *host,
                                    uint16_t port,
                                    int64_t unix_time,
                                    uint32_t *flags_out,
                                    pin_report_fn report,
                                    void *userdata);

/**
 * Which rule of `policy` covers `host`, before any chain is seen: what a
 * verification for `host` can answer.
 *
 * On `PIN_OK`, `*flags_out` receives `PIN_FLAG_VOUCHED` when a rule covers
 * the host, with `PIN_FLAG_NAME_VERIFIED` when that rule checks the host
 * name and `PIN_FLAG_REPORT_ONLY` when it is report-only (it never
 * rejects); or `PIN_FLAG_UNLISTED` when no rule covers the host and
 * `unlisted_hosts` is `"allow"` (every chain is accepted). A rejection is
 * possible for `host` exactly when the result is not `PIN_OK` or the flags
 * are `PIN_FLAG_VOUCHED` without `PIN_FLAG_REPORT_ONLY`. The Qt helper asks
 * this to decide which connections to hold until certpin has judged them.
 *
 * Results: `PIN_OK`, `PIN_ERR_HOST_NOT_COVERED` (no rule covers the host
 * and `unlisted_hosts` is `"reject"`: every chain for it is rejected),
 * `PIN_ERR_NULL_ARGUMENT`, `PIN_ERR_INVALID_ARGUMENT` (the host, as for
 * `pin_verify_chain`). `*flags_out` is written only on `PIN_OK`.
 *
 * # Safety
 * `policy` is NULL or a live policy; `host` is NULL or a NUL-terminated
 * string; `flags_out` is NULL or points to a writable `uint32_t`.
 */
enum pin_result pin_policy_host_flags(const struct pin_policy *policy,
                                      const char *host,
                                      uint32_t *flags_out);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* CERTPIN_H */
