/*
 * One policy shared by 8 threads, each verifying a mix of accepted and
 * rejected chains for its own host: every result must be the expected one,
 * and each thread's pin_last_error must describe that thread's own last
 * failure, never another thread's.
 *
 * Usage: test_threads FIXTURE_DIR [ITERATIONS_PER_THREAD] (default 10000).
 */
#include <pthread.h>

#include "check.h"

#define THREADS 8
#define NOT_AFTER INT64_C(32503680000) /* the fixtures' certificates expire at 3000-01-01 */

static const pin_policy *policy;
static const uint8_t *wildcard;
static size_t wildcard_len;
static const uint8_t *impostor;
static size_t impostor_len;
static long iterations = 10000;

typedef struct {
  int index;
  char host[64];
  long wrong_results;
  long wrong_messages;
  long accepted;
  char last[8192];
} worker;

/* Whether this thread's last error is the failure just seen. */
static int own_message(worker *w, pin_result code, int names_host) {
  size_t full = pin_last_error(w->last, sizeof w->last);
  if (full >= sizeof w->last || !last_error_starts_with(w->last, code)) return 0;
  if (names_host && strstr(w->last, w->host) == NULL) return 0;
  /* Every other thread's host is absent: the message is this thread's own. */
  for (int t = 0; t < THREADS; t++) {
    char other[64];
    snprintf(other, sizeof other, "t%d.example.com", t);
    if (t != w->index && strstr(w->last, other) != NULL) return 0;
  }
  return 1;
}

static void *run(void *arg) {
  worker *w = arg;
  for (long i = 0; i < iterations; i++) {
    pin_result got, expected;
    int names_host = 1;
    switch ((i + w->index) % 4) {
      case 0:
        expected = PIN_OK;
        got = pin_verify_chain(wildcard, wildcard_len, policy, w->host);
        break;
      case 1:
        expected = PIN_ERR_UNTRUSTED;
        got = pin_verify_chain(impostor, impostor_len, policy, w->host);
        break;
      case 2:
        expected = PIN_ERR_CHAIN_MALFORMED;
        names_host = 0;
        got = pin_verify_chain(wildcard, wildcard_len - 1 - (size_t)(i % 7), policy, w->host);
        break;
      default:
        expected = PIN_ERR_EXPIRED;
        got = pin_verify_chain_at(wildcard, wildcard_len, policy, w->host, NOT_AFTER + 1 + i);
        break;
    }
    if (got != expected) {
      if (w->wrong_results++ < 5) {
        fprintf(stderr, "thread %d, iteration %ld: %s, expected %s\n", w->index, i, pin_result_name((int)got),
                pin_result_name((int)expected));
      }
      continue;
    }
    if (got == PIN_OK) {
      w->accepted++;
    } else if (!own_message(w, got, names_host)) {
      if (w->wrong_messages++ < 5) {
        fprintf(stderr, "thread %d, iteration %ld: last error is not its own: %.300s\n", w->index, i, w->last);
      }
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s FIXTURE_DIR [ITERATIONS_PER_THREAD]\n", argv[0]);
    return 2;
  }
  if (argc == 3) iterations = strtol(argv[2], NULL, 10);
  CHECK(iterations >= 4);

  pin_policy *p = NULL;
  CHECK_RESULT(pin_policy_load_file(fixture_path(argv[1], "threads.json"), &p), PIN_OK);
  if (p == NULL) return finish("test_threads");
  policy = p;
  uint8_t *w_der = read_fixture(argv[1], "wildcard_chain.der", &wildcard_len);
  uint8_t *i_der = read_fixture(argv[1], "impostor.der", &impostor_len);
  wildcard = w_der;
  impostor = i_der;

  static worker workers[THREADS];
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++) {
    workers[t].index = t;
    snprintf(workers[t].host, sizeof workers[t].host, "t%d.example.com", t);
    CHECK(pthread_create(&threads[t], NULL, run, &workers[t]) == 0);
  }
  for (int t = 0; t < THREADS; t++) {
    CHECK(pthread_join(threads[t], NULL) == 0);
  }
  for (int t = 0; t < THREADS; t++) {
    CHECK(workers[t].wrong_results == 0);
    CHECK(workers[t].wrong_messages == 0);
    CHECK(workers[t].accepted == iterations / 4 + ((iterations % 4) > (long)((4 - t % 4) % 4)));
  }
  /* The main thread made no failed call: its message is still empty. */
  CHECK(pin_last_error(NULL, 0) == 0);

  pin_policy_free(p);
  free(w_der);
  free(i_der);
  printf("test_threads: %d threads x %ld verifications\n", THREADS, iterations);
  return finish("test_threads");
}
