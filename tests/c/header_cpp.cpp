// certpin.h included as is from C++ (-Wall -Wextra -Wpedantic -Werror): the
// extern "C" guard, the enums and the callback type must all be C++-clean.
#include "certpin.h"

#include <cstdio>
#include <cstring>

static_assert(sizeof(pin_result) == sizeof(uint32_t), "pin_result is passed as a uint32_t");
static_assert(PIN_OK == 0 && PIN_ERR_PIN_MISMATCH == 320 && PIN_ERR_INTERNAL == 900, "ABI numbers");
static_assert(PIN_ERR_UPDATE_SIGNATURE == 210 && PIN_ERR_UPDATE_EXPIRED == 212, "ABI numbers");
static_assert(PIN_FLAG_VOUCHED == 1 && PIN_FLAG_CACHED == 16, "ABI numbers");
static_assert(CERTPIN_VERSION_NUMBER ==
                  CERTPIN_VERSION_MAJOR * 10000 + CERTPIN_VERSION_MINOR * 100 + CERTPIN_VERSION_PATCH,
              "version number");

extern "C" void on_report(void *userdata, const char *, const char *, size_t) {
  ++*static_cast<int *>(userdata);
}

int main() {
  int passed = 0, failed = 0;
  auto check = [&](bool ok, const char *what) {
    if (ok) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "check failed: %s\n", what);
    }
  };
  check(std::strcmp(pin_version(), CERTPIN_VERSION_STRING) == 0, "pin_version");
  check(std::strcmp(pin_result_name(PIN_ERR_UNTRUSTED), "PIN_ERR_UNTRUSTED") == 0, "pin_result_name");

  pin_policy *policy = nullptr;
  const char text[] = "not PEM";
  pin_result r = pin_policy_load_pem(reinterpret_cast<const uint8_t *>(text), sizeof text - 1, &policy);
  check(r == PIN_ERR_POLICY_SYNTAX && policy == nullptr, "pin_policy_load_pem");
  check(pin_last_error(nullptr, 0) > 0, "pin_last_error");
  pin_policy_free(policy);

  uint32_t flags = 0;
  int calls = 0;
  pin_report_fn report = on_report;
  r = pin_verify_chain_ex(reinterpret_cast<const uint8_t *>(text), 1, policy, "localhost", 443, -1, &flags, report,
                          &calls);
  check(r == PIN_ERR_NULL_ARGUMENT && calls == 0, "pin_verify_chain_ex");
  const char *keys[] = {"ed25519/not a key"};
  uint64_t sequence = 0;
  r = pin_policy_load_update(reinterpret_cast<const uint8_t *>(text), sizeof text - 1, keys, 1, 0, -1, &policy,
                             &sequence);
  check(r == PIN_ERR_INVALID_ARGUMENT && policy == nullptr && sequence == 0, "pin_policy_load_update");
  int64_t expires = 0;
  check(pin_policy_get_update(policy, &sequence, &expires) == PIN_ERR_NULL_ARGUMENT, "pin_policy_get_update");
  std::printf("header_cpp: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
