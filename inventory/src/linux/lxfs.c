/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root-confined file helpers for the Linux collectors (see lxfs.h).
 */
#define WARD_LOG_TAG "inv-fs"

#include "lxfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/error.h"

static int vpath(char *buf, size_t size, const char *fmt, va_list ap) WARD_PRINTF(3, 0);
static int vpath(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);
    return n < 0 || (size_t)n >= size ? WARD_EPATH : 0;
}

int inv_lx_read(const struct inv_ctx *ctx, const char *path, size_t max, char **data, size_t *len)
{
    return plat_fs_read_file(ctx->root, path, PLAT_FS_NTS, max, data, len);
}

static int attr_read(const struct inv_ctx *ctx, const char *path, char *buf, size_t size)
{
    char *data = NULL;
    size_t len = 0, s = 0;
    int rc = plat_fs_read_file(ctx->root, path, PLAT_FS_NTS, INV_LX_ATTR_MAX, &data, &len);
    if (rc != 0)
        return rc;
    while (s < len && (data[s] == ' ' || data[s] == '\t' || data[s] == '\n'))
        s++;
    while (len > s && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\n' ||
                       data[len - 1] == '\0'))
        len--;
    if (len - s >= size) {
        rc = WARD_ETOOBIG;
    } else {
        memcpy(buf, data + s, len - s);
        buf[len - s] = '\0';
    }
    ward_free(data);
    return rc;
}

int inv_lx_attr(const struct inv_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    int rc;
    if (size)
        buf[0] = '\0';
    va_start(ap, fmt);
    rc = vpath(path, sizeof(path), fmt, ap);
    va_end(ap);
    return rc ? rc : attr_read(ctx, path, buf, size);
}

int inv_lx_attr_ll(const struct inv_ctx *ctx, long long *out, const char *fmt, ...)
{
    char path[512], buf[64];
    va_list ap;
    char *end;
    long long v;
    int rc;
    va_start(ap, fmt);
    rc = vpath(path, sizeof(path), fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = attr_read(ctx, path, buf, sizeof(buf));
    if (rc != 0)
        return rc;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno || end == buf || *end)
        return WARD_EPARSE;
    *out = v;
    return 0;
}

int inv_lx_exists(const struct inv_ctx *ctx, const char *fmt, ...)
{
    char path[512];
    struct plat_fs_info info;
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = vpath(path, sizeof(path), fmt, ap);
    va_end(ap);
    return rc == 0 && plat_fs_stat(ctx->root, path, PLAT_FS_NTS, 0, &info) == 0;
}

void inv_names_release(struct inv_names *names)
{
    plat_fs_names_free(names->v, names->n);
    names->v = NULL;
    names->n = 0;
}

int inv_lx_listdir(const struct inv_ctx *ctx, const char *path, struct inv_names *out)
{
    return plat_fs_listdir(ctx->root, path, PLAT_FS_NTS, INV_LX_DIR_MAX, &out->v, &out->n);
}

int inv_lx_readlink(const struct inv_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
    char path[512], *target = NULL;
    va_list ap;
    int rc;

    if (size)
        buf[0] = '\0';
    va_start(ap, fmt);
    rc = vpath(path, sizeof(path), fmt, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    rc = plat_fs_readlink(ctx->root, path, PLAT_FS_NTS, &target);
    if (rc != 0)
        return rc;
    if (strlen(target) >= size)
        rc = WARD_ETOOBIG;
    else
        memcpy(buf, target, strlen(target) + 1);
    ward_free(target);
    return rc;
}

const char *inv_lx_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
