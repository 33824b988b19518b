/* SPDX-License-Identifier: Apache-2.0 */
/* One-shot gzip with zlib: deflate into a buffer of deflateBound's size in one call. */
#include "ward/gzip.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "ward/alloc.h"
#include "ward/error.h"

static voidpf gz_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return ward_calloc(items, size);
}

static void gz_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    ward_free(p);
}

int ward_gzip(const void *in, size_t len, int level, char **out, size_t *outlen)
{
    z_stream zs;
    uLong bound;
    char *buf = NULL;
    int rc = 0, zrc;

    *out = NULL;
    *outlen = 0;
    if (len > UINT_MAX)
        return WARD_ETOOBIG;
    memset(&zs, 0, sizeof(zs));
    zs.zalloc = gz_alloc;
    zs.zfree = gz_free;
    /* 15 + 16: a 32 KiB window with a gzip header and trailer. */
    zrc = deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? WARD_ENOMEM : WARD_EINVAL;
    bound = deflateBound(&zs, (uLong)len);
    if (bound > UINT_MAX) {
        rc = WARD_ETOOBIG;
        goto out;
    }
    buf = ward_malloc(bound ? bound : 1);
    if (!buf) {
        rc = WARD_ENOMEM;
        goto out;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)bound;
    zrc = deflate(&zs, Z_FINISH);
    if (zrc != Z_STREAM_END) {
        rc = zrc == Z_MEM_ERROR ? WARD_ENOMEM : WARD_EIO;
        goto out;
    }
    *out = buf;
    *outlen = zs.total_out;
    buf = NULL;
out:
    deflateEnd(&zs);
    ward_free(buf);
    return rc;
}
