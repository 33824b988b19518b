/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-place writes for kernel interfaces (/proc/sys) that cannot be replaced by the
 * temp-file-and-rename of plat_fs_write_atomic. The path is resolved with root confinement
 * by platform/fs.h; the final open refuses a symlink and anything but an existing regular
 * file, and never creates one. platform/fs.h has no in-place write yet; when it gains one,
 * this file becomes a call to it.
 */
#define WARD_LOG_TAG "enf-inplace"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../internal.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/error.h"

static int map_errno(int e)
{
    switch (e) {
    case ENOENT:
        return WARD_ENOENT;
    case EACCES:
    case EPERM:
    case EROFS:
        return WARD_EACCES;
    case ELOOP:
        return WARD_EPATH; /* a symlink swapped in as the final component */
    case ENOSPC:
        return WARD_ENOSPC;
    case EINVAL:
        return WARD_EINVAL;
    case EISDIR:
        return WARD_EISDIR;
    default:
        return WARD_EIO;
    }
}

int enf_os_write_inplace(const char *root, const char *path, const void *data, size_t len)
{
    char *host = NULL;
    const char *p = data;
    struct stat st;
    int fd = -1, rc;

    rc = plat_fs_resolve(root, path, PLAT_FS_NTS, &host);
    if (rc != 0)
        return rc;
    fd = open(host, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = map_errno(errno);
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = WARD_EINVAL;
        goto out;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? map_errno(errno) : WARD_EIO;
            goto out;
        }
        p += w;
        len -= (size_t)w;
    }
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = map_errno(errno);
    ward_free(host);
    return rc;
}
