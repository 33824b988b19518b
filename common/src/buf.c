/* SPDX-License-Identifier: Apache-2.0 */
/* Capped growable buffer. Growth doubles, but never past max + 1 (room for the NUL). */
#include "ward/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ward/alloc.h"
#include "ward/error.h"

void ward_buf_init(struct ward_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void ward_buf_release(struct ward_buf *b)
{
    if (!b)
        return;
    ward_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void ward_buf_reset(struct ward_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int ward_buf_reserve(struct ward_buf *b, size_t n)
{
    size_t need, ncap;
    char *p;
    if (n > b->max - b->len || b->len > b->max)
        return WARD_ETOOBIG;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    if (ncap < need)
        ncap = need;
    p = ward_realloc(b->data, ncap);
    if (!p)
        return WARD_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int ward_buf_append(struct ward_buf *b, const void *p, size_t n)
{
    int rc = ward_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int ward_buf_append_str(struct ward_buf *b, const char *s)
{
    return ward_buf_append(b, s, strlen(s));
}

int ward_buf_appendf(struct ward_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WARD_EINVAL;
    rc = ward_buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *ward_buf_steal(struct ward_buf *b, size_t *len)
{
    char *d = b->data;
    if (!d) {
        d = ward_strdup("");
        if (len)
            *len = 0;
        return d;
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
