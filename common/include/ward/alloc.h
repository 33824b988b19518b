/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers. Everything in Ward allocates through these (jansson is routed here
 * too, see ward_json_init), so tests can make the Nth allocation fail and sweep N through
 * a real code path: each failure must surface as WARD_ENOMEM with nothing leaked.
 */
#ifndef WARD_ALLOC_H
#define WARD_ALLOC_H

#include <stddef.h>

void *ward_malloc(size_t n);
void *ward_calloc(size_t nmemb, size_t size);
/* On failure the old block is untouched (as realloc). */
void *ward_realloc(void *p, size_t n);
char *ward_strdup(const char *s);
char *ward_strndup(const char *s, size_t n);
void ward_free(void *p);

/* Failure injection: the allocation after `n` more successful ones fails (n = 0 fails the
 * next one), and every later one fails too while `sticky` is set. */
void ward_alloc_fail_after(long n, int sticky);
void ward_alloc_fail_reset(void);
/* Number of allocations made since the last reset (sizing a sweep). */
long ward_alloc_count(void);
/* Nonzero once an injected failure has fired since the last reset. */
int ward_alloc_failed(void);

#endif
