/*
 * Assertions and fixture reading for the C tests of certpin. Each test
 * program counts its checks and ends with "<name>: N passed, N failed".
 */
#ifndef CERTPIN_TEST_CHECK_H
#define CERTPIN_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certpin.h"

static int checks_passed;
static int checks_failed;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (cond) {                                                                     \
      checks_passed++;                                                              \
    } else {                                                                        \
      checks_failed++;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
    }                                                                               \
  } while (0)

/* Checks that `call` gives `expected`; on a difference, shows both names and
   the thread's last error. */
#define CHECK_RESULT(call, expected)                                                \
  do {                                                                              \
    pin_result got_ = (call);                                                       \
    if (got_ == (expected)) {                                                       \
      checks_passed++;                                                              \
    } else {                                                                        \
      char why_[4096];                                                              \
      pin_last_error(why_, sizeof why_);                                            \
      checks_failed++;                                                              \
      fprintf(stderr, "%s:%d: %s\n  gave %s, expected %s\n  last error: %s\n",      \
              __FILE__, __LINE__, #call, pin_result_name((int)got_),                \
              pin_result_name((int)(expected)), why_);                              \
    }                                                                               \
  } while (0)

/* A fixture file's bytes (with a NUL after them, not counted in *len). */
static inline uint8_t *read_fixture(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open fixture %s\n", path);
    exit(2);
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      uint8_t *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf == NULL) {
    fprintf(stderr, "out of memory reading %s\n", path);
    exit(2);
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* A fixture path, for pin_policy_load_file. */
static inline const char *fixture_path(const char *dir, const char *name) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

/* Whether a last-error text starts with "<code name>: ". */
static inline int last_error_starts_with(const char *buf, pin_result code) {
  const char *name = pin_result_name((int)code);
  size_t n = strlen(name);
  return strncmp(buf, name, n) == 0 && buf[n] == ':' && buf[n + 1] == ' ';
}

static inline int finish(const char *program) {
  printf("%s: %d passed, %d failed\n", program, checks_passed, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}

#endif /* CERTPIN_TEST_CHECK_H */
