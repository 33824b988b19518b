/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One-shot gzip (RFC 1952) of a buffer with zlib, allocating through ward_malloc, for
 * request bodies whose compressed size the caller wants to know (HTTP uploads).
 */
#ifndef WARD_GZIP_H
#define WARD_GZIP_H

#include <stddef.h>

/* Compresses in[0..len) at `level` (zlib's 0..9, or -1 for its default). *out is new
 * (ward_free). WARD_ETOOBIG for inputs zlib cannot take in one call, WARD_ENOMEM. */
int ward_gzip(const void *in, size_t len, int level, char **out, size_t *outlen);

#endif
