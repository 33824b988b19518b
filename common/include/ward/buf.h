/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Growable byte buffer with a hard cap. Anything that accumulates outside input (HTTP
 * bodies, child process output, files) uses one, so a hostile peer hits WARD_ETOOBIG
 * instead of exhausting memory. The data is always NUL-terminated for convenience.
 */
#ifndef WARD_BUF_H
#define WARD_BUF_H

#include <stddef.h>

#include "ward/config.h"

struct ward_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; appends beyond it fail with WARD_ETOOBIG */
};

void ward_buf_init(struct ward_buf *b, size_t max);
void ward_buf_release(struct ward_buf *b);
/* Appends n bytes; WARD_ETOOBIG (buffer unchanged) when len + n would pass max. */
int ward_buf_append(struct ward_buf *b, const void *p, size_t n);
int ward_buf_append_str(struct ward_buf *b, const char *s);
int ward_buf_appendf(struct ward_buf *b, const char *fmt, ...) WARD_PRINTF(2, 3);
/* Ensures room for n more bytes without changing len. */
int ward_buf_reserve(struct ward_buf *b, size_t n);
void ward_buf_reset(struct ward_buf *b);
/* Hands the data to the caller (free with ward_free) and empties the buffer. Returns an
 * allocated empty string for an empty buffer, or NULL on allocation failure. */
char *ward_buf_steal(struct ward_buf *b, size_t *len);

#endif
