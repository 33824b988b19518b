/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root-confined file helpers for the Linux collectors (see lxfs.h).
 */
#define WARD_LOG_TAG "inv-fs"

#include "lxfs.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void inv_names_release(struct inv_names *names)
{
    if (!names)
        return;
    for (size_t i = 0; i < names->n; i++)
        ward_free(names->v[i]);
    ward_free(names->v);
    names->v = NULL;
    names->n = 0;
}

int inv_lx_listdir(const struct inv_ctx *ctx, const char *path, struct inv_names *out)
{
    char *host = NULL;
    DIR *d = NULL;
    struct dirent *e;
    size_t cap = 0;
    int rc;

    out->v = NULL;
    out->n = 0;
    rc = plat_fs_resolve(ctx->root, path, PLAT_FS_NTS, &host);
    if (rc != 0)
        return rc;
    d = opendir(host);
    if (!d) {
        rc = errno == ENOENT ? WARD_ENOENT : errno == ENOTDIR ? WARD_ENOTDIR : WARD_EIO;
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        char *name;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (out->n >= INV_LX_DIR_MAX) {
            rc = WARD_ETOOBIG;
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **v = ward_realloc(out->v, ncap * sizeof(*v));
            if (!v) {
                rc = WARD_ENOMEM;
                goto out;
            }
            out->v = v;
            cap = ncap;
        }
        name = ward_strdup(e->d_name);
        if (!name) {
            rc = WARD_ENOMEM;
            goto out;
        }
        out->v[out->n++] = name;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), cmp_names);
out:
    if (d)
        closedir(d);
    ward_free(host);
    if (rc != 0 && rc != WARD_ETOOBIG)
        inv_names_release(out);
    return rc;
}

int inv_lx_readlink(const struct inv_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
    char path[512], *host = NULL, *full = NULL;
    const char *slash, *base;
    size_t need;
    ssize_t n;
    va_list ap;
    int rc;

    if (size)
        buf[0] = '\0';
    va_start(ap, fmt);
    rc = vpath(path, sizeof(path), fmt, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    slash = strrchr(path, '/');
    if (!slash || !slash[1])
        return WARD_EPATH;
    base = slash + 1;
    if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
        return WARD_EPATH;
    rc = plat_fs_resolve(ctx->root, path, (size_t)(slash - path), &host);
    if (rc != 0)
        return rc;
    need = strlen(host) + 1 + strlen(base) + 1;
    full = ward_malloc(need);
    if (!full) {
        rc = WARD_ENOMEM;
        goto out;
    }
    snprintf(full, need, "%s/%s", host, base);
    n = readlink(full, buf, size ? size - 1 : 0);
    if (n < 0) {
        rc = errno == ENOENT ? WARD_ENOENT : errno == EINVAL ? WARD_EINVAL : WARD_EIO;
        goto out;
    }
    if ((size_t)n >= size - 1) {
        rc = WARD_ETOOBIG;
        buf[0] = '\0';
        goto out;
    }
    buf[n] = '\0';
out:
    ward_free(full);
    ward_free(host);
    return rc;
}

const char *inv_lx_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
