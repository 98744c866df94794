/* A C program built against an installed certpin, the way an application
 * would build: it trusts one self-signed certificate (PEM) and checks that
 * this certificate is accepted and another self-signed one is not.
 *
 *   consumer POLICY.pem PINNED.der OTHER.der HOST
 *
 * Exits 0 only when PINNED.der gives PIN_OK and OTHER.der PIN_ERR_UNTRUSTED. */
#include <certpin.h>

#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file; NULL (with a message) when it cannot. */
static unsigned char *read_file(const char *path, size_t *len_out) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) {
    perror(path);
    return NULL;
  }
  unsigned char *data = NULL;
  size_t len = 0;
  size_t cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      unsigned char *grown = realloc(data, cap);
      if (grown == NULL) {
        free(data);
        fclose(file);
        fprintf(stderr, "%s: out of memory\n", path);
        return NULL;
      }
      data = grown;
    }
    size_t got = fread(data + len, 1, cap - len, file);
    len += got;
    if (got == 0) {
      break;
    }
  }
  int failed = ferror(file);
  fclose(file);
  if (failed) {
    fprintf(stderr, "%s: read error\n", path);
    free(data);
    return NULL;
  }
  *len_out = len;
  return data;
}

/* Verifies one DER certificate for host; 1 when the answer is the expected one. */
static int expect(const pin_policy *policy, const char *der_path, const char *host, pin_result expected) {
  size_t len = 0;
  unsigned char *der = read_file(der_path, &len);
  if (der == NULL) {
    return 0;
  }
  pin_result got = pin_verify_chain(der, len, policy, host);
  free(der);
  printf("%s: %s\n", der_path, pin_result_name(got));
  if (got != expected) {
    char detail[2048];
    pin_last_error(detail, sizeof detail);
    fprintf(stderr, "%s: expected %s, got %s\n", der_path, pin_result_name(expected), detail);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s POLICY.pem PINNED.der OTHER.der HOST\n", argv[0]);
    return 2;
  }
  printf("certpin %s\n", pin_version());

  size_t pem_len = 0;
  unsigned char *pem = read_file(argv[1], &pem_len);
  if (pem == NULL) {
    return 1;
  }
  pin_policy *policy = NULL;
  pin_result loaded = pin_policy_load_pem(pem, pem_len, &policy);
  free(pem);
  if (loaded != PIN_OK) {
    char detail[2048];
    pin_last_error(detail, sizeof detail);
    fprintf(stderr, "%s: %s\n", argv[1], detail);
    return 1;
  }

  int pinned_ok = expect(policy, argv[2], argv[4], PIN_OK);
  int other_ok = expect(policy, argv[3], argv[4], PIN_ERR_UNTRUSTED);
  pin_policy_free(policy);
  return pinned_ok && other_ok ? 0 : 1;
}
