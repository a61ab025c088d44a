/* Futures and promises. A future carries one 64-bit value (an integer or a pointer) or an error
 * code (positive, errno-like). Every future is consumed exactly once: by then/then_full,
 * when_all, block or drop. Continuations run as events on the core that attached them.
 *
 *   ebb_promise_t p; ebb_future_t f = ebb_promise_new(&p);
 *   f = ebb_future_then(f, double_it, NULL);  // skipped on error: the error flows on
 *   ebb_promise_set(p, 21);                    // from any core
 *   uint64_t v; int err = ebb_future_block(f, &v);  // v == 42, err == 0
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct ebb_future *ebb_future_t;
typedef struct ebb_future *ebb_promise_t;

ebb_future_t ebb_promise_new(ebb_promise_t *p);
void ebb_promise_set(ebb_promise_t p, uint64_t value);
void ebb_promise_fail(ebb_promise_t p, int err);

ebb_future_t ebb_future_ready(uint64_t value);
ebb_future_t ebb_future_failed(int err);

/* fn runs with the value when f succeeds; on failure it is skipped and the result fails with
 * f's error. fn returns the future of its own result (ebb_future_ready(v) for a plain value). */
typedef ebb_future_t (*ebb_then_fn)(void *arg, uint64_t value);
ebb_future_t ebb_future_then(ebb_future_t f, ebb_then_fn fn, void *arg);
/* fn runs in both cases and sees the error (0 on success): the place to handle errors. */
typedef ebb_future_t (*ebb_then_full_fn)(void *arg, int err, uint64_t value);
ebb_future_t ebb_future_then_full(ebb_future_t f, ebb_then_full_fn fn, void *arg);

/* Completes when all n have; values[i] gets fs[i]'s value (values may be NULL). Fails with the
 * error of the first (lowest index) failed input. */
ebb_future_t ebb_future_when_all(ebb_future_t *fs, size_t n, uint64_t *values);

/* Waits (blocking the context if needed) and returns 0 with *value, or the error. */
int ebb_future_block(ebb_future_t f, uint64_t *value);
/* Non-blocking look: 1 if complete (then err and value are set and f is consumed), else 0. */
int ebb_future_try(ebb_future_t f, int *err, uint64_t *value);
void ebb_future_drop(ebb_future_t f);
