/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX host-path helpers for tests and fixtures: scratch directories, recursive removal
 * that never follows symlinks (fd-relative, so a link planted mid-walk is unlinked, not
 * entered), and "write this file, creating its parents". They take plain paths, not a
 * root prefix: they serve the test runner, not enforcement.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../errmap.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define FS_HELPER_MAX_DEPTH 256

int plat_fs_make_temp_dir(const char *prefix, char **out)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    char *abs = NULL;
    int n;

    if (!prefix || !out || strchr(prefix, '/'))
        return WARD_EINVAL;
    *out = NULL;
    if (!tmp || tmp[0] != '/')
        tmp = "/tmp";
    n = snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", tmp, prefix);
    if (n < 0 || (size_t)n >= sizeof(tmpl))
        return WARD_EPATH;
    if (!mkdtemp(tmpl))
        return plat_err_from_errno(errno);
    /* Resolve /tmp -> /private/tmp style links once, so callers get a canonical root. */
    abs = realpath(tmpl, NULL);
    *out = ward_strdup(abs ? abs : tmpl);
    free(abs);
    if (!*out) {
        rmdir(tmpl);
        return WARD_ENOMEM;
    }
    return 0;
}

static int remove_at(int parent, const char *name, int depth)
{
    struct stat st;
    struct dirent *de;
    DIR *d = NULL;
    int fd = -1, rc = 0;

    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : plat_err_from_errno(errno);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent, name, 0) != 0 && errno != ENOENT)
            return plat_err_from_errno(errno);
        return 0;
    }
    if (depth > FS_HELPER_MAX_DEPTH)
        return WARD_EDEPTH;
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        /* A directory we may not list (mode 0): try to open it up, then retry once. */
        if (errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
            fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return plat_err_from_errno(errno);
    }
    d = fdopendir(fd);
    if (!d) {
        rc = plat_err_from_errno(errno);
        close(fd);
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        int r;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = remove_at(dirfd(d), de->d_name, depth + 1);
        if (r != 0 && rc == 0)
            rc = r;
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT && rc == 0)
        rc = plat_err_from_errno(errno);
    return rc;
}

int plat_fs_remove_tree(const char *path)
{
    if (!path || !path[0])
        return WARD_EINVAL;
    return remove_at(AT_FDCWD, path, 0);
}

static int mkdir_parents(char *path)
{
    /* Creates every directory above the last component; path is modified and restored. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int rc = plat_err_from_errno(errno);
            *p = '/';
            return rc;
        }
        *p = '/';
    }
    return 0;
}

int plat_fs_write_file_mkdirs(const char *path, const void *data, size_t len)
{
    const char *p = data;
    char *copy = NULL;
    int fd = -1, rc = 0;

    if (!path || !path[0] || (!data && len))
        return WARD_EINVAL;
    copy = ward_strdup(path);
    if (!copy)
        return WARD_ENOMEM;
    rc = mkdir_parents(copy);
    if (rc != 0)
        goto out;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = plat_err_from_errno(errno);
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0)
        rc = plat_err_from_errno(errno);
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    ward_free(copy);
    return rc;
}
