/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX back end for private files (ward_secfile_*) and the few OS file operations that
 * portable code in common/ needs. A private file is written as a 0600 temp file in the
 * target's directory, fsynced, renamed over the target, and the directory fsynced, so a
 * crash leaves either the old key or the new one, never a torn or world-readable file.
 */
#include "ward/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    case EEXIST:
        return WARD_EEXIST;
    case ENOSPC:
    case EDQUOT:
        return WARD_ENOSPC;
    case ENOMEM:
        return WARD_ENOMEM;
    case ENOTDIR:
        return WARD_ENOTDIR;
    case EISDIR:
        return WARD_EISDIR;
    case ELOOP:
        return WARD_ELOOP;
    case ENAMETOOLONG:
        return WARD_EPATH;
    case EBUSY:
        return WARD_EBUSY;
    default:
        return WARD_EIO;
    }
}

static int fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd, rc = 0;

    if (!slash)
        dir = ward_strdup(".");
    else if (slash == path)
        dir = ward_strdup("/");
    else
        dir = ward_strndup(path, (size_t)(slash - path));
    if (!dir)
        return WARD_ENOMEM;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = map_errno(errno);
        goto out;
    }
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = map_errno(errno);
    close(fd);
out:
    ward_free(dir);
    return rc;
}

int ward_secfile_write(const char *path, const void *data, size_t len)
{
    static const char suffix[] = ".tmp.XXXXXX";
    const char *p = data;
    size_t plen, off = 0;
    char *tmp = NULL;
    int fd = -1, rc = 0;

    if (!path || !*path || (len && !data))
        return WARD_EINVAL;
    plen = strlen(path);
    tmp = ward_malloc(plen + sizeof(suffix));
    if (!tmp)
        return WARD_ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof(suffix));
    /* mkstemp creates the file 0600 whatever the umask; fchmod makes it explicit. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = map_errno(errno);
        ward_free(tmp);
        return rc;
    }
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        rc = map_errno(errno);
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = map_errno(errno);
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = map_errno(errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = map_errno(errno);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = map_errno(errno);
        goto out;
    }
    rc = fsync_dir_of(path);
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    ward_free(tmp);
    return rc;
}

int ward_secfile_check(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return map_errno(errno);
    if (!S_ISREG(st.st_mode))
        return WARD_EACCES;
    if ((st.st_mode & 07777) != (S_IRUSR | S_IWUSR) || st.st_uid != geteuid())
        return WARD_EACCES;
    return 0;
}

int ward_os_fopen_read(const char *path, FILE **out)
{
    int fd;
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return map_errno(errno);
    *out = fdopen(fd, "rb");
    if (!*out) {
        int e = errno;
        close(fd);
        return map_errno(e);
    }
    return 0;
}

int ward_os_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : map_errno(errno);
}

int ward_os_remove(const char *path)
{
    return unlink(path) == 0 ? 0 : map_errno(errno);
}
