/*
 * A strict little JSON reader for checking violation reports from C: it
 * validates a whole text (RFC 8259 grammar) and finds the members of the
 * top-level object. Enough for tests, not a general parser.
 */
#ifndef CERTPIN_TEST_JSON_H
#define CERTPIN_TEST_JSON_H

#include <stddef.h>
#include <string.h>

typedef struct {
  const char *p;
  const char *end;
  int depth;
} json_cursor;

static inline int json_value(json_cursor *c);

static inline void json_ws(json_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static inline int json_lit(json_cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
  c->p += n;
  return 1;
}

static inline int json_hex(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static inline int json_string(json_cursor *c) {
  if (c->p >= c->end || *c->p != '"') return 0;
  c->p++;
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p++;
    if (ch == '"') return 1;
    if (ch < 0x20) return 0;
    if (ch == '\\') {
      if (c->p >= c->end) return 0;
      char e = *c->p++;
      if (e == 'u') {
        for (int i = 0; i < 4; i++) {
          if (c->p >= c->end || !json_hex(*c->p)) return 0;
          c->p++;
        }
      } else if (strchr("\"\\/bfnrt", e) == NULL || e == 0) {
        return 0;
      }
    }
  }
  return 0;
}

static inline int json_digits(json_cursor *c) {
  const char *start = c->p;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  return c->p > start;
}

static inline int json_number(json_cursor *c) {
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p < c->end && *c->p == '0') {
    c->p++;
  } else if (!json_digits(c)) {
    return 0;
  }
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (!json_digits(c)) return 0;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (!json_digits(c)) return 0;
  }
  return 1;
}

/* Both containers: `[` value, ... `]` and `{` "key": value, ... `}`. */
static inline int json_container(json_cursor *c, char open, char close) {
  if (++c->depth > 64) return 0;
  c->p++; /* the opening bracket */
  json_ws(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    c->depth--;
    return 1;
  }
  for (;;) {
    json_ws(c);
    if (open == '{') {
      if (!json_string(c)) return 0;
      json_ws(c);
      if (c->p >= c->end || *c->p != ':') return 0;
      c->p++;
      json_ws(c);
    }
    if (!json_value(c)) return 0;
    json_ws(c);
    if (c->p >= c->end) return 0;
    if (*c->p == ',') {
      c->p++;
      continue;
    }
    if (*c->p != close) return 0;
    c->p++;
    c->depth--;
    return 1;
  }
}

static inline int json_value(json_cursor *c) {
  json_ws(c);
  if (c->p >= c->end) return 0;
  switch (*c->p) {
    case '{': return json_container(c, '{', '}');
    case '[': return json_container(c, '[', ']');
    case '"': return json_string(c);
    case 't': return json_lit(c, "true");
    case 'f': return json_lit(c, "false");
    case 'n': return json_lit(c, "null");
    default: return json_number(c);
  }
}

/* Whether `text[0..len]` is exactly one JSON value (with optional spaces). */
static inline int json_valid(const char *text, size_t len) {
  json_cursor c = {text, text + len, 0};
  if (!json_value(&c)) return 0;
  json_ws(&c);
  return c.p == c.end;
}

/* Finds the member `key` of the top-level object: its value's text in
   `*value`, `*value_len`. Returns 0 when the text is no object or has no such
   member. Keys are compared as written (no escapes in the keys looked up). */
static inline int json_member(const char *text, size_t len, const char *key, const char **value,
                              size_t *value_len) {
  json_cursor c = {text, text + len, 0};
  json_ws(&c);
  if (c.p >= c.end || *c.p != '{') return 0;
  c.p++;
  size_t key_len = strlen(key);
  for (;;) {
    json_ws(&c);
    const char *k = c.p;
    if (!json_string(&c)) return 0;
    int match = (size_t)(c.p - k) == key_len + 2 && memcmp(k + 1, key, key_len) == 0;
    json_ws(&c);
    if (c.p >= c.end || *c.p != ':') return 0;
    c.p++;
    json_ws(&c);
    const char *v = c.p;
    if (!json_value(&c)) return 0;
    if (match) {
      *value = v;
      *value_len = (size_t)(c.p - v);
      return 1;
    }
    json_ws(&c);
    if (c.p >= c.end || *c.p != ',') return 0;
    c.p++;
  }
}

/* Whether member `key` is exactly the JSON text `expected` (e.g. "\"a\"", "8443", "null"). */
static inline int json_member_is(const char *text, size_t len, const char *key, const char *expected) {
  const char *v;
  size_t n;
  return json_member(text, len, key, &v, &n) && n == strlen(expected) && memcmp(v, expected, n) == 0;
}

/* The number of elements of the array member `key`; -1 when it is no array. */
static inline int json_array_length(const char *text, size_t len, const char *key) {
  const char *v;
  size_t n;
  if (!json_member(text, len, key, &v, &n) || *v != '[') return -1;
  json_cursor c = {v + 1, v + n, 0};
  json_ws(&c);
  if (*c.p == ']') return 0;
  int count = 0;
  for (;;) {
    if (!json_value(&c)) return -1;
    count++;
    json_ws(&c);
    if (*c.p == ']') return count;
    c.p++; /* the comma */
  }
}

#endif /* CERTPIN_TEST_JSON_H */
