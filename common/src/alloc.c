/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers with a failure-injection hook for the ENOMEM sweep tests. The
 * counters are plain globals: injection is a test-only feature used from one thread. */
#include "ward/alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;
static int fail_sticky;
static int fail_fired;
static long alloc_count;

static int should_fail(void)
{
    alloc_count++;
    if (fail_countdown < 0)
        return 0;
    if (fail_countdown == 0) {
        fail_fired = 1;
        if (!fail_sticky)
            fail_countdown = -1;
        return 1;
    }
    fail_countdown--;
    return 0;
}

void ward_alloc_fail_after(long n, int sticky)
{
    fail_countdown = n;
    fail_sticky = sticky;
    fail_fired = 0;
    alloc_count = 0;
}

void ward_alloc_fail_reset(void)
{
    fail_countdown = -1;
    fail_sticky = 0;
    fail_fired = 0;
    alloc_count = 0;
}

long ward_alloc_count(void)
{
    return alloc_count;
}

int ward_alloc_failed(void)
{
    return fail_fired;
}

void *ward_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *ward_calloc(size_t nmemb, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *ward_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

char *ward_strndup(const char *s, size_t n)
{
    size_t len = 0;
    char *d;
    while (len < n && s[len])
        len++;
    d = ward_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *ward_strdup(const char *s)
{
    return ward_strndup(s, (size_t)-1);
}

void ward_free(void *p)
{
    free(p);
}
