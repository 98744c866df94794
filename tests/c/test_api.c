/*
 * The C API from C: every function, every result code reachable from C, bad
 * input of every kind, the verdict flags and the violation reports.
 *
 * Usage: test_api FIXTURE_DIR (written by `cargo run --example c_fixtures`).
 * The fixtures' certificates are valid from 2000-01-01 to 3000-01-01.
 */
#include <limits.h>

#include "check.h"
#include "json.h"

#define NOT_BEFORE INT64_C(946684800)    /* 2000-01-01T00:00:00Z */
#define NOT_AFTER INT64_C(32503680000)   /* 3000-01-01T00:00:00Z */
#define A_VALID_TIME INT64_C(1700000000) /* 2023-11-14 */

_Static_assert(sizeof(pin_result) == sizeof(uint32_t), "pin_result is passed as a uint32_t by the library");
_Static_assert(PIN_OK == 0 && PIN_ERR_NULL_ARGUMENT == 100 && PIN_ERR_INVALID_ARGUMENT == 101,
               "ABI numbers");
_Static_assert(PIN_ERR_POLICY_IO == 200 && PIN_ERR_POLICY_SYNTAX == 201 && PIN_ERR_POLICY_INVALID == 202,
               "ABI numbers");
_Static_assert(PIN_ERR_UPDATE_SIGNATURE == 210 && PIN_ERR_UPDATE_ROLLBACK == 211 && PIN_ERR_UPDATE_EXPIRED == 212,
               "ABI numbers");
_Static_assert(PIN_ERR_CHAIN_MALFORMED == 300 && PIN_ERR_CHAIN_EMPTY == 301 && PIN_ERR_HOST_NOT_COVERED == 302,
               "ABI numbers");
_Static_assert(PIN_ERR_UNTRUSTED == 310 && PIN_ERR_EXPIRED == 311 && PIN_ERR_NOT_YET_VALID == 312 &&
                   PIN_ERR_HOSTNAME_MISMATCH == 313 && PIN_ERR_BAD_USAGE == 314 &&
                   PIN_ERR_BAD_SIGNATURE == 315 && PIN_ERR_UNSUPPORTED_ALGORITHM == 316,
               "ABI numbers");
_Static_assert(PIN_ERR_PIN_MISMATCH == 320 && PIN_ERR_REJECTED_OTHER == 399 && PIN_ERR_INTERNAL == 900,
               "ABI numbers");
_Static_assert(PIN_FLAG_VOUCHED == 1 && PIN_FLAG_NAME_VERIFIED == 2 && PIN_FLAG_UNLISTED == 4 &&
                   PIN_FLAG_REPORT_ONLY == 8 && PIN_FLAG_CACHED == 16,
               "ABI numbers");
_Static_assert(CERTPIN_VERSION_NUMBER ==
                   CERTPIN_VERSION_MAJOR * 10000 + CERTPIN_VERSION_MINOR * 100 + CERTPIN_VERSION_PATCH,
               "version number");

static const char *dir;

typedef struct {
  uint8_t *der;
  size_t len;
} chain;

static chain load_chain(const char *name) {
  chain c;
  c.der = read_fixture(dir, name, &c.len);
  return c;
}

static pin_policy *load_policy(const char *name) {
  pin_policy *p = NULL;
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, name), &p), PIN_OK);
  if (p == NULL) {
    fprintf(stderr, "cannot go on without policy %s\n", name);
    exit(2);
  }
  return p;
}

/* This thread's last error, in `buf`. */
static const char *last_error(char *buf, size_t len) {
  pin_last_error(buf, len);
  return buf;
}

static void test_version_and_names(void) {
  CHECK(strcmp(pin_version(), CERTPIN_VERSION_STRING) == 0);
  CHECK(pin_version() == pin_version());
  const struct {
    pin_result code;
    const char *name;
  } names[] = {
      {PIN_OK, "PIN_OK"},
      {PIN_ERR_NULL_ARGUMENT, "PIN_ERR_NULL_ARGUMENT"},
      {PIN_ERR_INVALID_ARGUMENT, "PIN_ERR_INVALID_ARGUMENT"},
      {PIN_ERR_POLICY_IO, "PIN_ERR_POLICY_IO"},
      {PIN_ERR_POLICY_SYNTAX, "PIN_ERR_POLICY_SYNTAX"},
      {PIN_ERR_POLICY_INVALID, "PIN_ERR_POLICY_INVALID"},
      {PIN_ERR_UPDATE_SIGNATURE, "PIN_ERR_UPDATE_SIGNATURE"},
      {PIN_ERR_UPDATE_ROLLBACK, "PIN_ERR_UPDATE_ROLLBACK"},
      {PIN_ERR_UPDATE_EXPIRED, "PIN_ERR_UPDATE_EXPIRED"},
      {PIN_ERR_CHAIN_MALFORMED, "PIN_ERR_CHAIN_MALFORMED"},
      {PIN_ERR_CHAIN_EMPTY, "PIN_ERR_CHAIN_EMPTY"},
      {PIN_ERR_HOST_NOT_COVERED, "PIN_ERR_HOST_NOT_COVERED"},
      {PIN_ERR_UNTRUSTED, "PIN_ERR_UNTRUSTED"},
      {PIN_ERR_EXPIRED, "PIN_ERR_EXPIRED"},
      {PIN_ERR_NOT_YET_VALID, "PIN_ERR_NOT_YET_VALID"},
      {PIN_ERR_HOSTNAME_MISMATCH, "PIN_ERR_HOSTNAME_MISMATCH"},
      {PIN_ERR_BAD_USAGE, "PIN_ERR_BAD_USAGE"},
      {PIN_ERR_BAD_SIGNATURE, "PIN_ERR_BAD_SIGNATURE"},
      {PIN_ERR_UNSUPPORTED_ALGORITHM, "PIN_ERR_UNSUPPORTED_ALGORITHM"},
      {PIN_ERR_PIN_MISMATCH, "PIN_ERR_PIN_MISMATCH"},
      {PIN_ERR_REJECTED_OTHER, "PIN_ERR_REJECTED_OTHER"},
      {PIN_ERR_INTERNAL, "PIN_ERR_INTERNAL"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    CHECK(strcmp(pin_result_name((int)names[i].code), names[i].name) == 0);
  }
  const int unknown[] = {-1, 1, 99, 102, 203, 209, 213, 303, 317, 321, 400, 899, 901, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    CHECK(strcmp(pin_result_name(unknown[i]), "PIN_ERR_UNKNOWN") == 0);
  }
}

static void test_policy_loading(void) {
  char why[4096];
  pin_policy *const untouched = (pin_policy *)&why; /* any non-NULL value the calls must keep */
  pin_policy *p = untouched;

  CHECK_RESULT(pin_policy_load_file(NULL, &p), PIN_ERR_NULL_ARGUMENT);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_NULL_ARGUMENT));
  CHECK(strstr(why, "path") != NULL);
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, "private.json"), NULL), PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "policy_out") != NULL);
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, "absent.json"), &p), PIN_ERR_POLICY_IO);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_POLICY_IO));
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, "missing_anchor.json"), &p), PIN_ERR_POLICY_IO);
  CHECK(strstr(last_error(why, sizeof why), "absent.pem") != NULL);
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, "not_json.json"), &p), PIN_ERR_POLICY_SYNTAX);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_POLICY_SYNTAX));
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, "unknown_key.json"), &p), PIN_ERR_POLICY_INVALID);
  CHECK(strstr(last_error(why, sizeof why), "pinz") != NULL);
  CHECK(p == untouched);

  static const char json[] = "{\"version\": 1, \"unlisted_hosts\": \"allow\", \"rules\": []}";
  const uint8_t *j = (const uint8_t *)json;
  CHECK_RESULT(pin_policy_load_json(NULL, 0, &p), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_json(j, sizeof json - 1, NULL), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_json(j, 0, &p), PIN_ERR_POLICY_SYNTAX);
  CHECK_RESULT(pin_policy_load_json(j, sizeof json - 1, &p), PIN_ERR_POLICY_INVALID); /* "rules" is empty */
  CHECK_RESULT(pin_policy_load_json(j, 10, &p), PIN_ERR_POLICY_SYNTAX);
  static const char bad_pin[] =
      "{\"version\": 1, \"rules\": [{\"hosts\": [\"*\"], \"system_roots\": false, \"anchors\": [], "
      "\"pins\": [\"sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}]}";
  CHECK_RESULT(pin_policy_load_json((const uint8_t *)bad_pin, sizeof bad_pin - 1, &p), PIN_ERR_POLICY_INVALID);
  CHECK(p == untouched);

  size_t pem_len;
  uint8_t *pem = read_fixture(dir, "selfsigned.pem", &pem_len);
  CHECK_RESULT(pin_policy_load_pem(NULL, pem_len, &p), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_pem(pem, pem_len, NULL), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_pem(pem, 0, &p), PIN_ERR_POLICY_SYNTAX);
  CHECK_RESULT(pin_policy_load_pem((const uint8_t *)"hello", 5, &p), PIN_ERR_POLICY_SYNTAX);
  CHECK_RESULT(pin_policy_load_pem(pem, pem_len / 2, &p), PIN_ERR_POLICY_SYNTAX);
  CHECK(p == untouched);
  p = NULL;
  CHECK_RESULT(pin_policy_load_pem(pem, pem_len, &p), PIN_OK);
  CHECK(p != NULL);
  chain ss = load_chain("selfsigned.der");
  chain impostor = load_chain("impostor.der");
  CHECK_RESULT(pin_verify_chain(ss.der, ss.len, p, "localhost"), PIN_OK);
  CHECK_RESULT(pin_verify_chain(impostor.der, impostor.len, p, "localhost"), PIN_ERR_UNTRUSTED);
  CHECK_RESULT(pin_verify_chain(ss.der, ss.len, p, "elsewhere.example"), PIN_ERR_HOSTNAME_MISMATCH);
  pin_policy_free(p);
  pin_policy_free(NULL);

  /* A JSON policy from memory, anchors inline. */
  size_t root_len;
  uint8_t *root = read_fixture(dir, "root.pem", &root_len);
  char *doc = malloc(root_len * 2 + 256);
  size_t n = (size_t)sprintf(doc, "{\"version\": 1, \"rules\": [{\"hosts\": [\"api.example.com\"], \"anchors\": [\"");
  for (size_t i = 0; i < root_len; i++) {
    if (root[i] == '\n') {
      doc[n++] = '\\';
      doc[n++] = 'n';
    } else {
      doc[n++] = (char)root[i];
    }
  }
  n += (size_t)sprintf(doc + n, "\"]}]}");
  p = NULL;
  CHECK_RESULT(pin_policy_load_json((const uint8_t *)doc, n, &p), PIN_OK);
  chain private_chain = load_chain("private_chain.der");
  CHECK_RESULT(pin_verify_chain(private_chain.der, private_chain.len, p, "api.example.com"), PIN_OK);
  pin_policy_free(p);
  free(doc);
  free(root);
  free(pem);
  free(ss.der);
  free(impostor.der);
  free(private_chain.der);
}

/* A reader serving one anchor file, "certs/root.pem", from memory. */
typedef struct {
  uint8_t *pem;
  size_t pem_len;
  int calls;
} anchor_files;

static const uint8_t *read_anchor(void *userdata, const char *path, size_t *len_out) {
  anchor_files *files = userdata;
  files->calls++;
  if (strcmp(path, "certs/root.pem") != 0)
    return NULL;
  *len_out = files->pem_len;
  return files->pem;
}

static void test_policy_with_reader(void) {
  static const char json[] = "{\"version\": 1, \"rules\": [{\"hosts\": [\"*\"], \"anchors\": [\"certs/root.pem\"]}]}";
  static const char other[] = "{\"version\": 1, \"rules\": [{\"hosts\": [\"*\"], \"anchors\": [\"certs/x.pem\"]}]}";
  const uint8_t *j = (const uint8_t *)json;
  anchor_files files = {0};
  files.pem = read_fixture(dir, "selfsigned.pem", &files.pem_len);
  pin_policy *const untouched = (pin_policy *)&files;
  pin_policy *p = untouched;
  char why[512];

  /* From memory a relative anchor has no folder: refused, naming it. */
  CHECK_RESULT(pin_policy_load_json(j, sizeof json - 1, &p), PIN_ERR_POLICY_INVALID);
  CHECK(strstr(last_error(why, sizeof why), "certs/root.pem") != NULL);
  CHECK_RESULT(pin_policy_load_json_with_reader(j, sizeof json - 1, NULL, &files, &p), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_json_with_reader(NULL, 0, read_anchor, &files, &p), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_json_with_reader(j, sizeof json - 1, read_anchor, &files, NULL),
               PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_load_json_with_reader((const uint8_t *)other, sizeof other - 1, read_anchor, &files, &p),
               PIN_ERR_POLICY_IO);
  CHECK(strstr(last_error(why, sizeof why), "certs/x.pem") != NULL);
  CHECK(p == untouched);
  CHECK(files.calls == 1);

  CHECK_RESULT(pin_policy_load_json_with_reader(j, sizeof json - 1, read_anchor, &files, &p), PIN_OK);
  CHECK(p != untouched && files.calls == 2);
  /* The anchor it read is the one trusted: the self-signed server passes. */
  size_t der_len;
  uint8_t *der = read_fixture(dir, "selfsigned.der", &der_len);
  CHECK_RESULT(pin_verify_chain_at(der, der_len, p, "localhost", A_VALID_TIME), PIN_OK);
  free(der);
  pin_policy_free(p);
  free(files.pem);
}

static void test_results(void) {
  char why[8192];
  pin_policy *p = load_policy("private.json");
  chain ss = load_chain("selfsigned.der");
  chain impostor = load_chain("impostor.der");
  chain good = load_chain("private_chain.der");
  chain cve = load_chain("cve_2016_2402_chain.der");
  chain client_only = load_chain("client_only_chain.der");
  chain bad_sig = load_chain("bad_signature_chain.der");
  chain unsupported = load_chain("unsupported_algorithm_chain.der");

  /* A pinned self-signed leaf, and another with the same subject. */
  CHECK_RESULT(pin_verify_chain(ss.der, ss.len, p, "localhost"), PIN_OK);
  CHECK_RESULT(pin_verify_chain(ss.der, ss.len, p, "LOCALHOST."), PIN_OK);
  CHECK_RESULT(pin_verify_chain(impostor.der, impostor.len, p, "localhost"), PIN_ERR_UNTRUSTED);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_UNTRUSTED));
  CHECK(strstr(why, "sha256/") != NULL && strstr(why, "CN=localhost") != NULL);

  /* The private CA, with its intermediate pinned. */
  CHECK_RESULT(pin_verify_chain(good.der, good.len, p, "api.example.com"), PIN_OK);
  CHECK_RESULT(pin_verify_chain_at(good.der, good.len, p, "api.example.com", A_VALID_TIME), PIN_OK);
  CHECK_RESULT(pin_verify_chain(good.der, good.len, p, "noname.example.com"), PIN_OK);
  CHECK_RESULT(pin_verify_chain(good.der, good.len, p, "other.example.com"), PIN_ERR_HOSTNAME_MISMATCH);
  CHECK(strstr(last_error(why, sizeof why), "other.example.com") != NULL);

  /* CVE-2016-2402: a chain from another CA the rule trusts, the pinned
     certificates appended. The appended pins must not count. */
  CHECK_RESULT(pin_verify_chain(cve.der, cve.len, p, "api.example.com"), PIN_ERR_PIN_MISMATCH);
  last_error(why, sizeof why);
  CHECK(last_error_starts_with(why, PIN_ERR_PIN_MISMATCH));
  CHECK(strstr(why, "CN=Public Issuing CA") != NULL);
  CHECK(strstr(why, "Pinned keys") != NULL);

  /* Validity, at chosen times. */
  CHECK_RESULT(pin_verify_chain_at(good.der, good.len, p, "api.example.com", NOT_BEFORE - 1),
               PIN_ERR_NOT_YET_VALID);
  CHECK_RESULT(pin_verify_chain_at(good.der, good.len, p, "api.example.com", NOT_AFTER + 1), PIN_ERR_EXPIRED);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_EXPIRED));
  CHECK_RESULT(pin_verify_chain_at(ss.der, ss.len, p, "localhost", NOT_BEFORE - 1), PIN_ERR_NOT_YET_VALID);
  CHECK_RESULT(pin_verify_chain_at(ss.der, ss.len, p, "localhost", NOT_AFTER + 1), PIN_ERR_EXPIRED);
  CHECK_RESULT(pin_verify_chain_at(ss.der, ss.len, p, "localhost", NOT_BEFORE), PIN_OK);
  CHECK_RESULT(pin_verify_chain_at(ss.der, ss.len, p, "localhost", -1), PIN_ERR_INVALID_ARGUMENT);

  /* Usage, signatures, algorithms, coverage. */
  CHECK_RESULT(pin_verify_chain(client_only.der, client_only.len, p, "api.example.com"), PIN_ERR_BAD_USAGE);
  CHECK_RESULT(pin_verify_chain(bad_sig.der, bad_sig.len, p, "api.example.com"), PIN_ERR_BAD_SIGNATURE);
  CHECK_RESULT(pin_verify_chain(unsupported.der, unsupported.len, p, "api.example.com"),
               PIN_ERR_UNSUPPORTED_ALGORITHM);
  CHECK_RESULT(pin_verify_chain(good.der, good.len, p, "unlisted.example.org"), PIN_ERR_HOST_NOT_COVERED);
  CHECK(strstr(last_error(why, sizeof why), "unlisted.example.org") != NULL);
  pin_policy_free(p);

  /* A valid path without a pinned key. */
  p = load_policy("wrong_pin.json");
  CHECK_RESULT(pin_verify_chain(good.der, good.len, p, "api.example.com"), PIN_ERR_PIN_MISMATCH);
  pin_policy_free(p);

  free(ss.der);
  free(impostor.der);
  free(good.der);
  free(cve.der);
  free(client_only.der);
  free(bad_sig.der);
  free(unsupported.der);
}

/* What a policy does for a host before any chain: the rule's flags. */
static void test_host_flags(void) {
  char why[4096];
  uint32_t flags = 0xdeadbeef;
  pin_policy *p = load_policy("private.json");
  CHECK_RESULT(pin_policy_host_flags(p, "api.example.com", &flags), PIN_OK);
  CHECK(flags == (PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED));
  CHECK_RESULT(pin_policy_host_flags(p, "LOCALHOST.", &flags), PIN_OK);
  CHECK(flags == (PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED));
  CHECK_RESULT(pin_policy_host_flags(p, "noname.example.com", &flags), PIN_OK);
  CHECK(flags == PIN_FLAG_VOUCHED);
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_policy_host_flags(p, "unlisted.example.org", &flags), PIN_ERR_HOST_NOT_COVERED);
  CHECK(strstr(last_error(why, sizeof why), "unlisted.example.org") != NULL);
  CHECK(flags == 0xdeadbeef);
  CHECK_RESULT(pin_policy_host_flags(p, "bad host", &flags), PIN_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(pin_policy_host_flags(p, "b\xc3\xbc" "cher.example", &flags), PIN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "A-label") != NULL);
  CHECK_RESULT(pin_policy_host_flags(NULL, "api.example.com", &flags), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_host_flags(p, NULL, &flags), PIN_ERR_NULL_ARGUMENT);
  CHECK_RESULT(pin_policy_host_flags(p, "api.example.com", NULL), PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "flags_out") != NULL);
  CHECK(flags == 0xdeadbeef);
  pin_policy_free(p);

  p = load_policy("allow.json");
  CHECK_RESULT(pin_policy_host_flags(p, "unlisted.example.org", &flags), PIN_OK);
  CHECK(flags == PIN_FLAG_UNLISTED);
  pin_policy_free(p);

  p = load_policy("report.json");
  CHECK_RESULT(pin_policy_host_flags(p, "a.ro.example.com", &flags), PIN_OK);
  CHECK(flags == (PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED | PIN_FLAG_REPORT_ONLY));
  CHECK_RESULT(pin_policy_host_flags(p, "quiet.example.com", &flags), PIN_OK);
  CHECK(flags == (PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED));
  pin_policy_free(p);
}

/* Each bad argument, for each of the three verification functions. */
static void check_verify_all(const uint8_t *der, size_t len, const pin_policy *p, const char *host,
                             pin_result expected, int line) {
  uint32_t flags = 0xdeadbeef;
  pin_result r1 = pin_verify_chain(der, len, p, host);
  pin_result r2 = pin_verify_chain_at(der, len, p, host, A_VALID_TIME);
  pin_result r3 = pin_verify_chain_ex(der, len, p, host, 443, -1, &flags, NULL, NULL);
  if (r1 == expected && r2 == expected && r3 == expected) {
    checks_passed++;
  } else {
    checks_failed++;
    fprintf(stderr, "line %d: expected %s, got %s / %s / %s\n", line, pin_result_name((int)expected),
            pin_result_name((int)r1), pin_result_name((int)r2), pin_result_name((int)r3));
  }
  /* flags_out is written whenever the arguments were valid. */
  int arguments_valid = expected != PIN_ERR_NULL_ARGUMENT && expected != PIN_ERR_INVALID_ARGUMENT;
  CHECK(arguments_valid ? flags != 0xdeadbeef : flags == 0xdeadbeef);
}

#define CHECK_VERIFY_ALL(der, len, p, host, expected) check_verify_all(der, len, p, host, expected, __LINE__)

static void test_bad_input(void) {
  char why[4096];
  pin_policy *p = load_policy("private.json");
  chain good = load_chain("private_chain.der");
  chain leaf_only = load_chain("private_chain.der");
  /* The leaf's own length, from its DER header (30 82 HH LL). */
  size_t leaf_len = 4 + ((size_t)good.der[2] << 8 | good.der[3]);
  CHECK(good.der[0] == 0x30 && good.der[1] == 0x82 && leaf_len < good.len);

  CHECK_VERIFY_ALL(good.der, good.len, p, "api.example.com", PIN_OK);
  CHECK_VERIFY_ALL(NULL, good.len, p, "api.example.com", PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "der_chain") != NULL);
  CHECK_VERIFY_ALL(NULL, 0, p, "api.example.com", PIN_ERR_NULL_ARGUMENT);
  CHECK_VERIFY_ALL(good.der, good.len, NULL, "api.example.com", PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "policy") != NULL);
  CHECK_VERIFY_ALL(good.der, good.len, p, NULL, PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "host") != NULL);
  CHECK_VERIFY_ALL(good.der, 0, p, "api.example.com", PIN_ERR_CHAIN_EMPTY);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_CHAIN_EMPTY));

  /* Cut at every byte: malformed, but where the cut falls right after the
     leaf (then a leaf without its issuer: untrusted). */
  int cut_ok = 1;
  for (size_t cut = 1; cut < good.len; cut++) {
    pin_result expected = cut == leaf_len ? PIN_ERR_UNTRUSTED : PIN_ERR_CHAIN_MALFORMED;
    pin_result got = pin_verify_chain(good.der, cut, p, "api.example.com");
    if (got != expected) {
      cut_ok = 0;
      fprintf(stderr, "cut at %zu: %s, expected %s\n", cut, pin_result_name((int)got),
              pin_result_name((int)expected));
    }
  }
  CHECK(cut_ok);
  CHECK_RESULT(pin_verify_chain(leaf_only.der, leaf_len, p, "api.example.com"), PIN_ERR_UNTRUSTED);

  /* Trailing bytes after the last certificate. */
  uint8_t *trailing = malloc(good.len + 2);
  memcpy(trailing, good.der, good.len);
  trailing[good.len] = 0x00;
  CHECK_VERIFY_ALL(trailing, good.len + 1, p, "api.example.com", PIN_ERR_CHAIN_MALFORMED);
  trailing[good.len] = 0x30;
  CHECK_VERIFY_ALL(trailing, good.len + 1, p, "api.example.com", PIN_ERR_CHAIN_MALFORMED);
  trailing[good.len + 1] = 0x81; /* a length that runs past the end */
  CHECK_VERIFY_ALL(trailing, good.len + 2, p, "api.example.com", PIN_ERR_CHAIN_MALFORMED);
  free(trailing);

  /* 100,000 empty SEQUENCEs: far more certificates than a chain may hold. */
  size_t many_len = 2 * 100000;
  uint8_t *many = malloc(many_len);
  for (size_t i = 0; i < many_len; i += 2) {
    many[i] = 0x30;
    many[i + 1] = 0x00;
  }
  CHECK_VERIFY_ALL(many, many_len, p, "api.example.com", PIN_ERR_INVALID_ARGUMENT);
  /* A few of them: the framing holds, the certificate does not parse. */
  CHECK_VERIFY_ALL(many, 6, p, "api.example.com", PIN_ERR_CHAIN_MALFORMED);
  free(many);

  /* Over 1 MiB. */
  size_t huge_len = (1u << 20) + 1;
  uint8_t *huge = calloc(huge_len, 1);
  CHECK_VERIFY_ALL(huge, huge_len, p, "api.example.com", PIN_ERR_INVALID_ARGUMENT);
  free(huge);

  /* Hosts. */
  char long_host[301];
  memset(long_host, 'a', 300);
  long_host[300] = 0;
  CHECK_VERIFY_ALL(good.der, good.len, p, "", PIN_ERR_INVALID_ARGUMENT);
  CHECK_VERIFY_ALL(good.der, good.len, p, long_host, PIN_ERR_INVALID_ARGUMENT);
  CHECK_VERIFY_ALL(good.der, good.len, p, "b\xc3\xbc" "cher.example.com", PIN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "ASCII") != NULL);
  CHECK_VERIFY_ALL(good.der, good.len, p, "api.example.com\xff", PIN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "ASCII") != NULL);
  CHECK_VERIFY_ALL(good.der, good.len, p, "api..example.com", PIN_ERR_INVALID_ARGUMENT);
  CHECK_VERIFY_ALL(good.der, good.len, p, "[::1]", PIN_ERR_INVALID_ARGUMENT);
  CHECK_VERIFY_ALL(good.der, good.len, p, "api.example.com ", PIN_ERR_INVALID_ARGUMENT);

  pin_policy_free(p);
  free(good.der);
  free(leaf_only.der);
}

static void test_last_error(void) {
  pin_policy *p = NULL;
  CHECK_RESULT(pin_policy_load_file(fixture_path(dir, "unknown_key.json"), &p), PIN_ERR_POLICY_INVALID);
  size_t needed = pin_last_error(NULL, 0);
  CHECK(needed > 30);
  CHECK(pin_last_error(NULL, 1000) == needed);

  char *full = malloc(needed + 1);
  memset(full, 'x', needed + 1);
  CHECK(pin_last_error(full, needed + 1) == needed);
  CHECK(full[needed] == 0 && strlen(full) == needed);
  CHECK(last_error_starts_with(full, PIN_ERR_POLICY_INVALID));

  char one[2] = {'x', 'y'};
  CHECK(pin_last_error(one, 1) == needed);
  CHECK(one[0] == 0 && one[1] == 'y');

  char small[11];
  memset(small, 'x', sizeof small);
  CHECK(pin_last_error(small, 10) == needed);
  CHECK(strlen(small) == 9 && memcmp(small, full, 9) == 0 && small[10] == 'x');

  char *short_by_one = malloc(needed);
  CHECK(pin_last_error(short_by_one, needed) == needed);
  CHECK(strlen(short_by_one) == needed - 1 && memcmp(short_by_one, full, needed - 1) == 0);
  free(short_by_one);
  free(full);

  /* A success leaves the message; the next failure replaces it. */
  chain ss = load_chain("selfsigned.der");
  size_t pem_len;
  uint8_t *pem = read_fixture(dir, "selfsigned.pem", &pem_len);
  CHECK_RESULT(pin_policy_load_pem(pem, pem_len, &p), PIN_OK);
  CHECK_RESULT(pin_verify_chain(ss.der, ss.len, p, "localhost"), PIN_OK);
  CHECK(pin_last_error(NULL, 0) == needed);
  CHECK_RESULT(pin_verify_chain(ss.der, 0, p, "localhost"), PIN_ERR_CHAIN_EMPTY);
  char why[256];
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_CHAIN_EMPTY));
  pin_policy_free(p);
  free(pem);
  free(ss.der);
}

static void test_flags(void) {
  pin_policy *p = load_policy("private.json");
  chain good = load_chain("private_chain.der");
  chain ss = load_chain("selfsigned.der");
  chain impostor = load_chain("impostor.der");
  uint32_t flags;
  const uint32_t vouched_named = PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED;

  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 443, -1, &flags, NULL, NULL),
               PIN_OK);
  CHECK(flags == vouched_named);
  /* The identical call again: from the cache, with the same answer. */
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 443, -1, &flags, NULL, NULL),
               PIN_OK);
  CHECK(flags == (vouched_named | PIN_FLAG_CACHED));
  /* Another host is another cache entry. */
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "noname.example.com", 0, -1, &flags, NULL, NULL),
               PIN_OK);
  CHECK(flags == PIN_FLAG_VOUCHED); /* that rule does not check names */
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(ss.der, ss.len, p, "localhost", 0, A_VALID_TIME, &flags, NULL, NULL), PIN_OK);
  CHECK(flags == vouched_named);

  /* Rejections write 0; so does a chain that cannot be split. */
  const struct {
    const chain *c;
    size_t len;
    const char *host;
    pin_result expected;
  } rejected[] = {
      {&impostor, impostor.len, "localhost", PIN_ERR_UNTRUSTED},
      {&good, good.len, "other.example.com", PIN_ERR_HOSTNAME_MISMATCH},
      {&good, good.len, "unlisted.example.org", PIN_ERR_HOST_NOT_COVERED},
      {&good, good.len - 1, "api.example.com", PIN_ERR_CHAIN_MALFORMED},
      {&good, 0, "api.example.com", PIN_ERR_CHAIN_EMPTY},
  };
  for (int round = 0; round < 2; round++) { /* rejections are never cached */
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
      flags = 0xdeadbeef;
      CHECK_RESULT(pin_verify_chain_ex(rejected[i].c->der, rejected[i].len, p, rejected[i].host, 0, -1, &flags,
                                       NULL, NULL),
                   rejected[i].expected);
      CHECK(flags == 0);
    }
  }
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 0, NOT_AFTER + 1, &flags, NULL, NULL),
               PIN_ERR_EXPIRED);
  CHECK(flags == 0);

  /* Invalid arguments leave flags_out alone. */
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "", 0, -1, &flags, NULL, NULL), PIN_ERR_INVALID_ARGUMENT);
  CHECK(flags == 0xdeadbeef);
  CHECK_RESULT(pin_verify_chain_ex(NULL, good.len, p, "api.example.com", 0, -1, &flags, NULL, NULL),
               PIN_ERR_NULL_ARGUMENT);
  CHECK(flags == 0xdeadbeef);
  /* flags_out may be NULL. */
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 0, -1, NULL, NULL, NULL), PIN_OK);
  pin_policy_free(p);

  /* Unlisted host under "allow": PIN_OK that vouches for nothing. */
  p = load_policy("allow.json");
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(impostor.der, impostor.len, p, "elsewhere.example.org", 0, -1, &flags, NULL,
                                   NULL),
               PIN_OK);
  CHECK(flags == PIN_FLAG_UNLISTED);
  flags = 0xdeadbeef;
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 0, -1, &flags, NULL, NULL), PIN_OK);
  CHECK(flags == vouched_named);
  pin_policy_free(p);

  /* No cache: never CACHED. */
  p = load_policy("nocache.json");
  for (int i = 0; i < 3; i++) {
    flags = 0xdeadbeef;
    CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 0, -1, &flags, NULL, NULL), PIN_OK);
    CHECK(flags == vouched_named);
  }
  pin_policy_free(p);

  free(good.der);
  free(ss.der);
  free(impostor.der);
}

/* What the report callback saw. */
typedef struct {
  int calls;
  char uri[256];
  char *json;
  size_t len;
  size_t strlen_json;
  size_t last_error_len;
} reports;

static void on_report(void *userdata, const char *report_uri, const char *report_json, size_t report_len) {
  reports *r = userdata;
  r->calls++;
  snprintf(r->uri, sizeof r->uri, "%s", report_uri);
  free(r->json);
  r->json = malloc(report_len + 1);
  memcpy(r->json, report_json, report_len + 1);
  r->len = report_len;
  r->strlen_json = strlen(report_json);
  r->last_error_len = pin_last_error(NULL, 0); /* the violation's message is already there */
}

static pin_result verify_reporting(const pin_policy *p, const chain *c, const char *host, uint16_t port,
                                   uint32_t *flags, reports *r) {
  free(r->json);
  memset(r, 0, sizeof *r);
  *flags = 0xdeadbeef;
  return pin_verify_chain_ex(c->der, c->len, p, host, port, A_VALID_TIME, flags, on_report, r);
}

/* The members every report has, with the values that do not depend on the case. */
static void check_report_members(const reports *r, const char *host) {
  const char *j = r->json;
  size_t n = r->len;
  char expected[300];
  CHECK(r->len == r->strlen_json);
  CHECK(json_valid(j, n));
  CHECK(json_member_is(j, n, "date-time", "\"2023-11-14T22:13:20Z\""));
  snprintf(expected, sizeof expected, "\"%s\"", host);
  CHECK(json_member_is(j, n, "hostname", expected));
  const char *v;
  size_t vn;
  CHECK(json_member(j, n, "port", &v, &vn));
  CHECK(json_member(j, n, "effective-expiration-date", &v, &vn));
  CHECK(json_member(j, n, "include-subdomains", &v, &vn));
  CHECK(json_member(j, n, "noted-hostname", &v, &vn));
  CHECK(json_array_length(j, n, "served-certificate-chain") == 2);
  CHECK(json_array_length(j, n, "validated-certificate-chain") == 3);
  CHECK(json_array_length(j, n, "known-pins") == 1);
  CHECK(json_member(j, n, "known-pins", &v, &vn) && vn > 20 && memcmp(v, "[\"pin-sha256=\\\"", 15) == 0);
  CHECK(json_member(j, n, "served-certificate-chain", &v, &vn) &&
        memcmp(v, "[\"-----BEGIN CERTIFICATE-----\\n", 31) == 0);
  CHECK(json_member_is(j, n, "certpin-result", "\"PIN_ERR_PIN_MISMATCH\""));
  CHECK(json_member(j, n, "certpin-detail", &v, &vn) && vn > 50);
}

static void test_reports(void) {
  char why[8192];
  pin_policy *p = load_policy("report.json");
  chain good = load_chain("private_chain.der");
  chain impostor = load_chain("impostor.der");
  uint32_t flags;
  reports r;
  memset(&r, 0, sizeof r);

  /* An enforced rule with report_uri. */
  CHECK_RESULT(verify_reporting(p, &good, "api.example.com", 8443, &flags, &r), PIN_ERR_PIN_MISMATCH);
  CHECK(flags == 0);
  CHECK(r.calls == 1);
  CHECK(strcmp(r.uri, "https://pins.example.com/enforced") == 0);
  if (r.calls == 1) {
    check_report_members(&r, "api.example.com");
    CHECK(json_member_is(r.json, r.len, "port", "8443"));
    CHECK(json_member_is(r.json, r.len, "effective-expiration-date", "null"));
    CHECK(json_member_is(r.json, r.len, "include-subdomains", "false"));
    CHECK(json_member_is(r.json, r.len, "noted-hostname", "\"api.example.com\""));
    CHECK(r.last_error_len == pin_last_error(NULL, 0));
  }
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_PIN_MISMATCH));

  /* A report-only rule with report_uri, covering subdomains. */
  CHECK_RESULT(verify_reporting(p, &good, "x.ro.example.com", 0, &flags, &r), PIN_OK);
  CHECK(flags == PIN_FLAG_REPORT_ONLY);
  CHECK(r.calls == 1);
  CHECK(strcmp(r.uri, "https://pins.example.com/report-only") == 0);
  if (r.calls == 1) {
    check_report_members(&r, "x.ro.example.com");
    CHECK(json_member_is(r.json, r.len, "port", "0"));
    CHECK(json_member_is(r.json, r.len, "effective-expiration-date", "\"2999-12-31T23:59:59Z\""));
    CHECK(json_member_is(r.json, r.len, "include-subdomains", "true"));
    CHECK(json_member_is(r.json, r.len, "noted-hostname", "\"ro.example.com\""));
  }
  /* The report-only violation leaves its message. */
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_PIN_MISMATCH));
  CHECK(strstr(why, "x.ro.example.com") != NULL);

  /* An untrusted chain under a reporting rule: no validated chain. */
  CHECK_RESULT(verify_reporting(p, &impostor, "api.example.com", 443, &flags, &r), PIN_ERR_UNTRUSTED);
  CHECK(r.calls == 1);
  if (r.calls == 1) {
    CHECK(json_valid(r.json, r.len));
    CHECK(json_array_length(r.json, r.len, "served-certificate-chain") == 1);
    CHECK(json_array_length(r.json, r.len, "validated-certificate-chain") == 0);
    CHECK(json_member_is(r.json, r.len, "certpin-result", "\"PIN_ERR_UNTRUSTED\""));
  }

  /* Rules without report_uri, enforced or report-only: no call. */
  CHECK_RESULT(verify_reporting(p, &good, "quiet.example.com", 0, &flags, &r), PIN_ERR_PIN_MISMATCH);
  CHECK(flags == 0 && r.calls == 0);
  CHECK_RESULT(verify_reporting(p, &good, "quiet.ro.example", 0, &flags, &r), PIN_OK);
  CHECK(flags == PIN_FLAG_REPORT_ONLY && r.calls == 0);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_PIN_MISMATCH));
  CHECK(strstr(why, "quiet.ro.example") != NULL);

  /* An accepted chain under a reporting rule: no call, twice (the second from the cache). */
  CHECK_RESULT(verify_reporting(p, &good, "www.example.com", 0, &flags, &r), PIN_OK);
  CHECK(flags == (PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED) && r.calls == 0);
  CHECK_RESULT(verify_reporting(p, &good, "www.example.com", 0, &flags, &r), PIN_OK);
  CHECK(flags == (PIN_FLAG_VOUCHED | PIN_FLAG_NAME_VERIFIED | PIN_FLAG_CACHED) && r.calls == 0);

  /* Arguments the callback never sees. */
  CHECK_RESULT(verify_reporting(p, &good, "", 0, &flags, &r), PIN_ERR_INVALID_ARGUMENT);
  CHECK(r.calls == 0);
  CHECK_RESULT(verify_reporting(p, &good, "unlisted.example.org", 0, &flags, &r), PIN_ERR_HOST_NOT_COVERED);
  CHECK(r.calls == 0);

  /* NULL callbacks, and the forms without one. */
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 443, -1, &flags, NULL, NULL),
               PIN_ERR_PIN_MISMATCH);
  CHECK_RESULT(pin_verify_chain_ex(good.der, good.len, p, "api.example.com", 443, -1, NULL, NULL, &r),
               PIN_ERR_PIN_MISMATCH);
  CHECK_RESULT(pin_verify_chain(good.der, good.len, p, "x.ro.example.com"), PIN_OK);
  CHECK_RESULT(pin_verify_chain_at(good.der, good.len, p, "api.example.com", A_VALID_TIME), PIN_ERR_PIN_MISMATCH);
  CHECK(r.calls == 0);

  free(r.json);
  pin_policy_free(p);
  free(good.der);
  free(impostor.der);
}

#define A_LATER_TIME INT64_C(32472143999) /* 2998-12-31T23:59:59Z */
#define UPDATE_EXPIRES INT64_C(32472144000) /* 2999-01-01T00:00:00Z, the update's expiry */

/* Signed policy updates: every way one must never be applied, each with its
   code, the outputs untouched; then the update accepted and its policy used. */
static void test_updates(void) {
  char why[4096];
  size_t len, key_len, other_len, expiring_len, tampered_len;
  uint8_t *update = read_fixture(dir, "update.json", &len);
  uint8_t *expiring = read_fixture(dir, "update_expiring.json", &expiring_len);
  uint8_t *tampered = read_fixture(dir, "update_tampered.json", &tampered_len);
  uint8_t *key = read_fixture(dir, "update_key.txt", &key_len);
  uint8_t *other = read_fixture(dir, "other_key.txt", &other_len);
  const char *trusted[] = {(const char *)key};
  const char *stranger[] = {(const char *)other};
  const char *both[] = {(const char *)other, (const char *)key};
  const char *with_null[] = {(const char *)key, NULL};
  const char *malformed[] = {"ed25519/AAAA"};
  const char *a_pin[] = {"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
  pin_policy *const untouched = (pin_policy *)&why;
  pin_policy *p = untouched;
  uint64_t seq = 77;

  /* The caller's mistakes. */
  CHECK_RESULT(pin_policy_load_update(NULL, len, trusted, 1, 0, A_VALID_TIME, &p, &seq), PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "`update`") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, NULL, 1, 0, A_VALID_TIME, &p, &seq), PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "`trusted_keys`") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, with_null, 2, 0, A_VALID_TIME, &p, &seq), PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "`trusted_keys[1]`") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 0, 0, A_VALID_TIME, &p, &seq), PIN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "n_keys") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 1000, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 1, 0, A_VALID_TIME, NULL, &seq), PIN_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "policy_out") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, malformed, 1, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "`trusted_keys[0]`") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, a_pin, 1, 0, A_VALID_TIME, &p, &seq), PIN_ERR_INVALID_ARGUMENT);
  CHECK(p == untouched && seq == 77);

  /* An update signed by an unknown key, a replay, a changed payload, an expired update. */
  CHECK_RESULT(pin_policy_load_update(update, len, stranger, 1, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_UPDATE_SIGNATURE);
  CHECK(last_error_starts_with(last_error(why, sizeof why), PIN_ERR_UPDATE_SIGNATURE));
  CHECK(strstr(why, (const char *)other) != NULL && strstr(why, (const char *)key) != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 1, 5, A_VALID_TIME, &p, &seq), PIN_ERR_UPDATE_ROLLBACK);
  CHECK(strstr(last_error(why, sizeof why), "sequence 5 is not above min_sequence 5") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 1, UINT64_MAX, A_VALID_TIME, &p, &seq),
               PIN_ERR_UPDATE_ROLLBACK);
  CHECK_RESULT(pin_policy_load_update(tampered, tampered_len, both, 2, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_UPDATE_SIGNATURE);
  CHECK(strstr(last_error(why, sizeof why), "does not verify") != NULL);
  CHECK_RESULT(pin_policy_load_update(expiring, expiring_len, trusted, 1, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_UPDATE_EXPIRED);
  CHECK(strstr(last_error(why, sizeof why), "2001-01-01T00:00:00Z") != NULL);
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 1, 0, UPDATE_EXPIRES, &p, &seq), PIN_ERR_UPDATE_EXPIRED);
  CHECK(p == untouched && seq == 77);

  /* Empty, garbage, cut at every byte, huge. */
  CHECK_RESULT(pin_policy_load_update(update, 0, trusted, 1, 0, A_VALID_TIME, &p, &seq), PIN_ERR_POLICY_SYNTAX);
  CHECK_RESULT(pin_policy_load_update((const uint8_t *)"\xff\xfe garbage", 10, trusted, 1, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_POLICY_SYNTAX);
  static const char plain[] = "{\"version\": 1, \"rules\": []}";
  CHECK_RESULT(pin_policy_load_update((const uint8_t *)plain, sizeof plain - 1, trusted, 1, 0, A_VALID_TIME, &p, &seq),
               PIN_ERR_POLICY_INVALID);
  CHECK(strstr(last_error(why, sizeof why), "\"certpin_update\": 1 is missing") != NULL);
  int cuts_refused = 1;
  for (size_t cut = 1; cut < len; cut++) {
    pin_result got = pin_policy_load_update(update, cut, trusted, 1, 0, A_VALID_TIME, &p, &seq);
    /* The file ends in "}\n": without the newline it is still the whole update. */
    pin_result expected = cut == len - 1 ? PIN_OK : PIN_ERR_POLICY_SYNTAX;
    if (got != expected) {
      cuts_refused = 0;
      fprintf(stderr, "update cut at %zu: %s\n", cut, pin_result_name((int)got));
    }
    if (got == PIN_OK) {
      pin_policy_free(p);
      p = untouched;
      seq = 77;
    }
  }
  CHECK(cuts_refused);
  size_t huge_len = (size_t)32 * 1024 * 1024 + 1;
  uint8_t *huge = malloc(huge_len);
  memset(huge, ' ', huge_len);
  memcpy(huge, update, len);
  CHECK_RESULT(pin_policy_load_update(huge, huge_len, trusted, 1, 0, A_VALID_TIME, &p, &seq), PIN_ERR_POLICY_SYNTAX);
  CHECK(strstr(last_error(why, sizeof why), "at most") != NULL);
  free(huge);
  CHECK(p == untouched && seq == 77);

  /* Accepted: by either of two trusted keys, above min_sequence 4, before its expiry. */
  CHECK_RESULT(pin_policy_load_update(update, len, both, 2, 4, A_LATER_TIME, &p, &seq), PIN_OK);
  CHECK(p != untouched && seq == 5);
  chain good = load_chain("private_chain.der");
  CHECK_RESULT(pin_verify_chain_at(good.der, good.len, p, "api.example.com", A_VALID_TIME), PIN_OK);
  CHECK_RESULT(pin_verify_chain_at(good.der, good.len, p, "other.example.com", A_VALID_TIME),
               PIN_ERR_HOST_NOT_COVERED);
  uint64_t got_seq = 0;
  int64_t expires = 0;
  CHECK_RESULT(pin_policy_get_update(p, &got_seq, &expires), PIN_OK);
  CHECK(got_seq == 5 && expires == UPDATE_EXPIRES);
  CHECK_RESULT(pin_policy_get_update(p, NULL, &expires), PIN_OK);
  CHECK_RESULT(pin_policy_get_update(p, NULL, NULL), PIN_OK);
  pin_policy_free(p);
  p = NULL;
  CHECK_RESULT(pin_policy_load_update(update, len, trusted, 1, 0, -1, &p, NULL), PIN_OK);
  CHECK(p != NULL);
  pin_policy_free(p);
  p = NULL;
  CHECK_RESULT(pin_policy_load_update(expiring, expiring_len, trusted, 1, 5, NOT_BEFORE, &p, &seq), PIN_OK);
  CHECK(seq == 6);
  pin_policy_free(p);

  /* A policy loaded any other way came from no update. */
  pin_policy *file_policy = load_policy("private.json");
  got_seq = 99;
  expires = 99;
  CHECK_RESULT(pin_policy_get_update(file_policy, &got_seq, &expires), PIN_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(why, sizeof why), "not loaded from a signed update") != NULL);
  CHECK(got_seq == 99 && expires == 99);
  CHECK_RESULT(pin_policy_get_update(NULL, &got_seq, &expires), PIN_ERR_NULL_ARGUMENT);
  pin_policy_free(file_policy);

  free(good.der);
  free(update);
  free(expiring);
  free(tampered);
  free(key);
  free(other);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  dir = argv[1];
  test_version_and_names();
  test_policy_loading();
  test_policy_with_reader();
  test_results();
  test_host_flags();
  test_bad_input();
  test_last_error();
  test_flags();
  test_reports();
  test_updates();
  return finish("test_api");
}
