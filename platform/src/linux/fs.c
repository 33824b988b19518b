/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux filesystem services confined to a root prefix. The resolver walks the path one
 * component at a time from an O_PATH fd of the root, opening each component with
 * O_PATH|O_NOFOLLOW and reading symlinks itself (chroot semantics for absolute targets,
 * ".." never above the root), the same contract as openat2(RESOLVE_IN_ROOT) without needing
 * Linux 5.6. Every directory on the way is held as an fd, and the final step always uses
 * *at() calls with O_NOFOLLOW/AT_SYMLINK_NOFOLLOW on that fd, so a path component swapped
 * for a symlink during the operation either gets resolved inside the root or fails.
 */
#define WARD_LOG_TAG "fs"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../errmap.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define FS_MAX_DEPTH 128          /* directory fds held while walking */
#define FS_REM_MAX (2 * PATH_MAX) /* remaining-path buffer (path plus spliced link targets) */
#define FS_DEFAULT_FILE_MODE 0644u
#define FS_DEFAULT_DIR_MODE 0755u

#define WALK_FOLLOW_LAST 0x1u /* resolve a symlink in the final component */
#define WALK_MKDIR 0x2u       /* every component is a directory; create missing ones */

struct fs_target {
    int dirfd;               /* O_PATH fd of the directory holding `name` (owned) */
    int objfd;               /* O_PATH|O_NOFOLLOW fd of the object, -1 if it does not exist */
    char name[NAME_MAX + 1]; /* final component; "" when the target is dirfd itself */
    struct stat st;          /* of objfd when it exists */
};

struct walk {
    int fds[FS_MAX_DEPTH];
    int n;
};

static void target_init(struct fs_target *t)
{
    t->dirfd = -1;
    t->objfd = -1;
    t->name[0] = '\0';
}

static void target_release(struct fs_target *t)
{
    if (t->dirfd >= 0)
        close(t->dirfd);
    if (t->objfd >= 0 && t->objfd != t->dirfd)
        close(t->objfd);
    target_init(t);
}

static void walk_pop_to(struct walk *w, int n)
{
    while (w->n > n)
        close(w->fds[--w->n]);
}

/* Validates a caller path: counted, no NUL, no "..", bounded. *out_len gets the length. */
static int check_path(const char *path, size_t path_len, size_t *out_len)
{
    size_t len, i = 0;
    if (!path)
        return WARD_EINVAL;
    len = path_len == PLAT_FS_NTS ? strnlen(path, PLAT_FS_MAX_PATH + 1) : path_len;
    if (len > PLAT_FS_MAX_PATH)
        return WARD_EPATH;
    if (memchr(path, '\0', len))
        return WARD_EPATH;
    while (i < len) {
        size_t start;
        while (i < len && path[i] == '/')
            i++;
        start = i;
        while (i < len && path[i] != '/')
            i++;
        if (i - start > NAME_MAX)
            return WARD_EPATH;
        if (i - start == 2 && path[start] == '.' && path[start + 1] == '.')
            return WARD_EPATH;
    }
    *out_len = len;
    return 0;
}

static int open_root(const char *root, int *fd)
{
    *fd = open(root ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return plat_err_from_errno(errno);
    return 0;
}

/* Replaces rem[pos..] with "<link>/<rem[pos..]>". */
static int splice_link(char *rem, size_t *pos, const char *link, size_t link_len)
{
    size_t rest = strlen(rem + *pos);
    if (link_len + 1 + rest + 1 > FS_REM_MAX)
        return WARD_EPATH;
    memmove(rem + link_len + 1, rem + *pos, rest + 1);
    memcpy(rem, link, link_len);
    rem[link_len] = '/';
    *pos = 0;
    return 0;
}

static int read_link_fd(int fd, char *buf, size_t size, size_t *len)
{
    ssize_t n = readlinkat(fd, "", buf, size);
    if (n < 0)
        return plat_err_from_errno(errno);
    if ((size_t)n >= size)
        return WARD_EPATH;
    buf[n] = '\0';
    /* A link target is untrusted too: a NUL cannot occur, but an empty one can. */
    if (n == 0)
        return WARD_ENOENT;
    *len = (size_t)n;
    return 0;
}

/*
 * Resolves path under root into t. Without WALK_MKDIR the final component need not exist
 * (t->objfd == -1) but every directory above it must. Returns 0 or WARD_E*.
 */
static int walk(const char *root, const char *path, size_t path_len, unsigned int flags,
                unsigned int mkdir_mode, struct fs_target *t)
{
    struct walk w = {.n = 0};
    char *rem = NULL;
    char link[PATH_MAX];
    size_t pos = 0, len = 0;
    int links = 0, rc, fd = -1;

    target_init(t);
    rc = check_path(path, path_len, &len);
    if (rc != 0)
        return rc;
    rem = ward_malloc(FS_REM_MAX);
    if (!rem)
        return WARD_ENOMEM;
    memcpy(rem, path, len);
    rem[len] = '\0';
    rc = open_root(root, &w.fds[0]);
    if (rc != 0)
        goto out;
    w.n = 1;

    for (;;) {
        char name[NAME_MAX + 1];
        size_t start, nlen;
        int last;
        struct stat st;

        while (rem[pos] == '/')
            pos++;
        if (rem[pos] == '\0') {
            /* The target is the directory on top of the stack itself. */
            t->dirfd = w.fds[w.n - 1];
            w.n--;
            t->objfd = t->dirfd;
            if (fstat(t->objfd, &t->st) != 0) {
                rc = plat_err_from_errno(errno);
                goto out;
            }
            t->name[0] = '\0';
            rc = 0;
            goto out;
        }
        start = pos;
        while (rem[pos] != '/' && rem[pos] != '\0')
            pos++;
        nlen = pos - start;
        if (nlen > NAME_MAX) {
            rc = WARD_EPATH;
            goto out;
        }
        memcpy(name, rem + start, nlen);
        name[nlen] = '\0';
        {
            size_t p = pos;
            while (rem[p] == '/')
                p++;
            last = rem[p] == '\0';
        }
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            /* Only link targets get here (caller paths are checked): never above root. */
            if (w.n <= 1) {
                rc = WARD_EPATH;
                goto out;
            }
            walk_pop_to(&w, w.n - 1);
            continue;
        }

        fd = openat(w.fds[w.n - 1], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && (flags & WALK_MKDIR)) {
            if (mkdirat(w.fds[w.n - 1], name, mkdir_mode) != 0 && errno != EEXIST) {
                rc = plat_err_from_errno(errno);
                goto out;
            }
            fd = openat(w.fds[w.n - 1], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                /* mkdirat's mode went through the umask; make it exact. */
                char proc[64];
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
                if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && chmod(proc, mkdir_mode) != 0)
                    WARD_DEBUG("cannot set mode on new directory %s", name);
            }
        }
        if (fd < 0) {
            if (errno == ENOENT && last && !(flags & WALK_MKDIR)) {
                memcpy(t->name, name, nlen + 1);
                t->dirfd = w.fds[w.n - 1];
                w.n--;
                rc = 0;
                goto out;
            }
            rc = plat_err_from_errno(errno);
            goto out;
        }
        if (fstat(fd, &st) != 0) {
            rc = plat_err_from_errno(errno);
            goto out;
        }
        if (S_ISLNK(st.st_mode) && (!last || (flags & (WALK_FOLLOW_LAST | WALK_MKDIR)))) {
            size_t llen = 0;
            if (++links > PLAT_FS_MAX_SYMLINKS) {
                rc = WARD_ELOOP;
                goto out;
            }
            rc = read_link_fd(fd, link, sizeof(link), &llen);
            if (rc != 0)
                goto out;
            close(fd);
            fd = -1;
            rc = splice_link(rem, &pos, link, llen);
            if (rc != 0)
                goto out;
            if (link[0] == '/')
                walk_pop_to(&w, 1); /* absolute target: relative to the root */
            continue;
        }
        if (last && !(flags & WALK_MKDIR)) {
            memcpy(t->name, name, nlen + 1);
            t->dirfd = w.fds[w.n - 1];
            w.n--;
            t->objfd = fd;
            t->st = st;
            fd = -1;
            rc = 0;
            goto out;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc = WARD_ENOTDIR;
            goto out;
        }
        if (w.n >= FS_MAX_DEPTH) {
            rc = WARD_EDEPTH;
            goto out;
        }
        w.fds[w.n++] = fd;
        fd = -1;
    }
out:
    if (fd >= 0)
        close(fd);
    walk_pop_to(&w, 0);
    ward_free(rem);
    if (rc != 0)
        target_release(t);
    return rc;
}

static int64_t stat_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void fill_info(const struct stat *st, struct plat_fs_info *info)
{
    if (S_ISREG(st->st_mode))
        info->type = PLAT_FS_FILE;
    else if (S_ISDIR(st->st_mode))
        info->type = PLAT_FS_DIR;
    else if (S_ISLNK(st->st_mode))
        info->type = PLAT_FS_SYMLINK;
    else
        info->type = PLAT_FS_OTHER;
    info->mode = (unsigned int)(st->st_mode & 07777);
    info->uid = (int64_t)st->st_uid;
    info->gid = (int64_t)st->st_gid;
    info->size = (uint64_t)st->st_size;
    info->mtime_ns = stat_mtime_ns(st);
}

/* Opens the resolved object for I/O without following a link swapped in since the walk,
 * and checks it is still the inode the walk saw. */
static int reopen_target(const struct fs_target *t, int oflags, int *out)
{
    struct stat st;
    int fd;
    if (t->name[0] == '\0')
        fd = openat(t->objfd, ".", oflags | O_CLOEXEC);
    else
        fd = openat(t->dirfd, t->name, oflags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? WARD_EAGAIN : plat_err_from_errno(errno);
    if (fstat(fd, &st) != 0 || st.st_dev != t->st.st_dev || st.st_ino != t->st.st_ino) {
        close(fd);
        return WARD_EAGAIN;
    }
    *out = fd;
    return 0;
}

int plat_fs_read_file(const char *root, const char *path, size_t path_len, size_t max, char **data,
                      size_t *len)
{
    struct fs_target t;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int fd = -1, rc;

    if (!data || !len)
        return WARD_EINVAL;
    *data = NULL;
    *len = 0;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    if (t.objfd < 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    if (S_ISDIR(t.st.st_mode)) {
        rc = WARD_EISDIR;
        goto out;
    }
    if (!S_ISREG(t.st.st_mode)) {
        rc = WARD_EINVAL; /* never block on a fifo or touch a device */
        goto out;
    }
    rc = reopen_target(&t, O_RDONLY | O_NONBLOCK, &fd);
    if (rc != 0)
        goto out;
    /* Size from fstat is a hint only (procfs says 0, files grow): read until EOF. */
    for (;;) {
        ssize_t r;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *p;
            if (cap > max) {
                rc = WARD_ETOOBIG;
                goto out;
            }
            if (ncap > max + 1)
                ncap = max + 1; /* room to notice one byte too many */
            if (ncap <= cap)
                ncap = cap + 1;
            p = ward_realloc(buf, ncap + 1);
            if (!p) {
                rc = WARD_ENOMEM;
                goto out;
            }
            buf = p;
            cap = ncap;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = plat_err_from_errno(errno);
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = WARD_ETOOBIG;
            goto out;
        }
    }
    if (!buf) {
        buf = ward_malloc(1);
        if (!buf) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    ward_free(buf);
    target_release(&t);
    return rc;
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    unsigned long long v;
    if (!s[0] || s[0] < '0' || s[0] > '9')
        return WARD_ENOENT;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v >= (unsigned long long)(uid_t)-1)
        return WARD_ENOENT;
    *id = (int64_t)v;
    return 0;
}

static int lookup_user(const char *name, int64_t *uid)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int e;
    if (parse_id(name, uid) == 0)
        return 0;
    e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (e != 0)
        return plat_err_from_errno(e);
    if (!res)
        return WARD_ENOENT;
    *uid = (int64_t)pw.pw_uid;
    return 0;
}

static int lookup_group(const char *name, int64_t *gid)
{
    struct group gr, *res = NULL;
    char buf[4096];
    int e;
    if (parse_id(name, gid) == 0)
        return 0;
    e = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
    if (e != 0)
        return plat_err_from_errno(e);
    if (!res)
        return WARD_ENOENT;
    *gid = (int64_t)gr.gr_gid;
    return 0;
}

/* Resolves attrs into (mode, uid, gid), -1 meaning "not requested". */
static int attrs_resolve(const struct plat_fs_attrs *a, long *mode, int64_t *uid, int64_t *gid)
{
    int rc;
    *mode = -1;
    *uid = -1;
    *gid = -1;
    if (!a)
        return 0;
    if (a->set & ~(PLAT_FS_ATTR_MODE | PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID | PLAT_FS_ATTR_OWNER |
                   PLAT_FS_ATTR_GROUP | PLAT_FS_WRITE_NOSYNC))
        return WARD_EINVAL;
    if (a->set & PLAT_FS_ATTR_MODE) {
        if (a->mode & ~07777u)
            return WARD_EINVAL;
        *mode = (long)a->mode;
    }
    if (a->set & PLAT_FS_ATTR_UID)
        *uid = a->uid;
    if (a->set & PLAT_FS_ATTR_GID)
        *gid = a->gid;
    if (a->set & PLAT_FS_ATTR_OWNER) {
        if (!a->owner)
            return WARD_EINVAL;
        rc = lookup_user(a->owner, uid);
        if (rc != 0)
            return rc;
    }
    if (a->set & PLAT_FS_ATTR_GROUP) {
        if (!a->group)
            return WARD_EINVAL;
        rc = lookup_group(a->group, gid);
        if (rc != 0)
            return rc;
    }
    if (*uid < -1 || *gid < -1)
        return WARD_EINVAL;
    return 0;
}

/* chmod by fd of any kind (O_PATH included): through procfs, which names the inode itself. */
static int chmod_opath(int fd, unsigned int mode)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (chmod(proc, (mode_t)mode) == 0)
        return 0;
    if (errno == ENOENT) {
        /* No procfs: fall back to a real descriptor (directories and readable files). */
        int rfd = openat(fd, ".", O_RDONLY | O_CLOEXEC);
        int rc;
        if (rfd < 0)
            return WARD_ENOTSUP;
        rc = fchmod(rfd, (mode_t)mode) == 0 ? 0 : plat_err_from_errno(errno);
        close(rfd);
        return rc;
    }
    return plat_err_from_errno(errno);
}

static uint32_t fs_random(void)
{
    static uint32_t counter;
    struct timespec ts;
    uint32_t x;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    x = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (++counter * 2654435761u);
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return x;
}

static int fsync_dir(int dir_opath)
{
    int fd = openat(dir_opath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0)
        return plat_err_from_errno(errno);
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = plat_err_from_errno(errno);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return plat_err_from_errno(errno);
        if (n == 0)
            return WARD_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int plat_fs_write_atomic(const char *root, const char *path, size_t path_len, const void *data,
                         size_t len, const struct plat_fs_attrs *attrs)
{
    struct fs_target t;
    char tmp[NAME_MAX + 1];
    int fd = -1, rc, have_tmp = 0, nosync = attrs && (attrs->set & PLAT_FS_WRITE_NOSYNC);
    long mode;
    int64_t uid, gid;
    struct stat tst;

    if (!data && len)
        return WARD_EINVAL;
    rc = attrs_resolve(attrs, &mode, &uid, &gid);
    if (rc != 0)
        return rc;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    if (t.name[0] == '\0' || (t.objfd >= 0 && S_ISDIR(t.st.st_mode))) {
        rc = WARD_EISDIR;
        goto out;
    }
    if (t.objfd >= 0 && !S_ISREG(t.st.st_mode)) {
        rc = WARD_EINVAL;
        goto out;
    }
    /* Unset attributes: keep those of the file being replaced, or use the defaults. */
    if (mode < 0)
        mode = t.objfd >= 0 ? (long)(t.st.st_mode & 07777) : (long)FS_DEFAULT_FILE_MODE;
    if (uid < 0 && t.objfd >= 0)
        uid = (int64_t)t.st.st_uid;
    if (gid < 0 && t.objfd >= 0)
        gid = (int64_t)t.st.st_gid;

    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(tmp, sizeof(tmp), ".%.200s.ward-%08x.tmp", t.name, (unsigned)fs_random());
        fd = openat(t.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            rc = plat_err_from_errno(errno);
            goto out;
        }
    }
    if (fd < 0) {
        rc = WARD_EEXIST;
        goto out;
    }
    have_tmp = 1;
    rc = write_all(fd, data, len);
    if (rc != 0)
        goto out;
    if (fstat(fd, &tst) != 0) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    /* Owner first: chown clears setuid/setgid bits, the chmod after it restores them. */
    if ((uid >= 0 && (uid_t)uid != tst.st_uid) || (gid >= 0 && (gid_t)gid != tst.st_gid)) {
        if (fchown(fd, uid >= 0 ? (uid_t)uid : (uid_t)-1, gid >= 0 ? (gid_t)gid : (gid_t)-1) != 0) {
            rc = plat_err_from_errno(errno);
            goto out;
        }
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    if (!nosync && fsync(fd) != 0) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = plat_err_from_errno(errno);
        goto out;
    }
    fd = -1;
    if (renameat(t.dirfd, tmp, t.dirfd, t.name) != 0) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    have_tmp = 0;
    rc = nosync ? 0 : fsync_dir(t.dirfd);
out:
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        unlinkat(t.dirfd, tmp, 0);
    if (rc != 0)
        WARD_DEBUG("atomic write failed: %s", ward_err_name(rc));
    target_release(&t);
    return rc;
}

int plat_fs_stat(const char *root, const char *path, size_t path_len, unsigned int flags,
                 struct plat_fs_info *info)
{
    struct fs_target t;
    int rc;
    if (!info || (flags & ~PLAT_FS_NOFOLLOW))
        return WARD_EINVAL;
    memset(info, 0, sizeof(*info));
    rc = walk(root, path, path_len, (flags & PLAT_FS_NOFOLLOW) ? 0 : WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    if (t.objfd < 0)
        rc = WARD_ENOENT;
    else
        fill_info(&t.st, info);
    target_release(&t);
    return rc;
}

static int apply_owner_mode(const struct fs_target *t, long mode, int64_t uid, int64_t gid)
{
    if (uid >= 0 || gid >= 0) {
        if (fchownat(t->objfd, "", uid >= 0 ? (uid_t)uid : (uid_t)-1,
                     gid >= 0 ? (gid_t)gid : (gid_t)-1, AT_EMPTY_PATH) != 0)
            return plat_err_from_errno(errno);
    }
    if (mode >= 0)
        return chmod_opath(t->objfd, (unsigned int)mode);
    return 0;
}

int plat_fs_set_attrs(const char *root, const char *path, size_t path_len,
                      const struct plat_fs_attrs *attrs)
{
    struct fs_target t;
    long mode;
    int64_t uid, gid;
    int rc;
    if (!attrs)
        return WARD_EINVAL;
    rc = attrs_resolve(attrs, &mode, &uid, &gid);
    if (rc != 0)
        return rc;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    rc = t.objfd < 0 ? WARD_ENOENT : apply_owner_mode(&t, mode, uid, gid);
    target_release(&t);
    return rc;
}

int plat_fs_chmod(const char *root, const char *path, size_t path_len, unsigned int mode)
{
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = mode};
    return plat_fs_set_attrs(root, path, path_len, &a);
}

int plat_fs_chown(const char *root, const char *path, size_t path_len, int64_t uid, int64_t gid)
{
    struct plat_fs_attrs a = {.set = 0, .uid = uid, .gid = gid};
    if (uid < -1 || gid < -1)
        return WARD_EINVAL;
    if (uid >= 0)
        a.set |= PLAT_FS_ATTR_UID;
    if (gid >= 0)
        a.set |= PLAT_FS_ATTR_GID;
    return plat_fs_set_attrs(root, path, path_len, &a);
}

static int remove_entry(const char *root, const char *path, size_t path_len, int dir)
{
    struct fs_target t;
    int rc = walk(root, path, path_len, 0, 0, &t);
    if (rc != 0)
        return rc;
    if (t.objfd < 0) {
        rc = WARD_ENOENT;
    } else if (t.name[0] == '\0') {
        rc = dir ? WARD_EBUSY : WARD_EISDIR; /* the root (or a link target dir) itself */
    } else if (!dir && S_ISDIR(t.st.st_mode)) {
        rc = WARD_EISDIR;
    } else if (dir && !S_ISDIR(t.st.st_mode)) {
        rc = WARD_ENOTDIR;
    } else if (unlinkat(t.dirfd, t.name, dir ? AT_REMOVEDIR : 0) != 0) {
        rc = plat_err_from_errno(errno);
    } else {
        rc = 0;
    }
    target_release(&t);
    return rc;
}

int plat_fs_unlink(const char *root, const char *path, size_t path_len)
{
    return remove_entry(root, path, path_len, 0);
}

int plat_fs_rmdir(const char *root, const char *path, size_t path_len)
{
    return remove_entry(root, path, path_len, 1);
}

int plat_fs_mkdir_p(const char *root, const char *path, size_t path_len, unsigned int mode)
{
    struct fs_target t;
    int rc;
    if (mode & ~07777u)
        return WARD_EINVAL;
    rc = walk(root, path, path_len, WALK_MKDIR, mode ? mode : FS_DEFAULT_DIR_MODE, &t);
    if (rc != 0)
        return rc;
    target_release(&t);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void plat_fs_names_free(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        ward_free(names[i]);
    ward_free(names);
}

int plat_fs_listdir(const char *root, const char *path, size_t path_len, size_t max, char ***names,
                    size_t *count)
{
    struct fs_target t;
    char **v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = NULL;
    struct dirent *e;
    int fd = -1, rc;

    if (!names || !count)
        return WARD_EINVAL;
    *names = NULL;
    *count = 0;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    if (t.objfd < 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    if (!S_ISDIR(t.st.st_mode)) {
        rc = WARD_ENOTDIR;
        goto out;
    }
    rc = reopen_target(&t, O_RDONLY | O_DIRECTORY, &fd);
    if (rc != 0)
        goto out;
    d = fdopendir(fd);
    if (!d) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    fd = -1; /* owned by d now */
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n >= max) {
            rc = WARD_ETOOBIG;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = ward_realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                rc = WARD_ENOMEM;
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        v[n] = ward_strdup(e->d_name);
        if (!v[n]) {
            rc = WARD_ENOMEM;
            goto out;
        }
        n++;
    }
    if (rc == 0 && errno != 0) {
        rc = plat_err_from_errno(errno);
        goto out;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_names);
    *names = v;
    *count = n;
    v = NULL;
out:
    if (d)
        closedir(d);
    if (fd >= 0)
        close(fd);
    plat_fs_names_free(v, n);
    target_release(&t);
    return rc;
}

int plat_fs_readlink(const char *root, const char *path, size_t path_len, char **target)
{
    struct fs_target t;
    char buf[PATH_MAX];
    size_t len = 0;
    int rc;

    if (!target)
        return WARD_EINVAL;
    *target = NULL;
    rc = walk(root, path, path_len, 0, 0, &t);
    if (rc != 0)
        return rc;
    if (t.objfd < 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    if (!S_ISLNK(t.st.st_mode)) {
        rc = WARD_EINVAL;
        goto out;
    }
    rc = read_link_fd(t.objfd, buf, sizeof(buf), &len);
    if (rc != 0)
        goto out;
    *target = ward_strndup(buf, len);
    if (!*target)
        rc = WARD_ENOMEM;
out:
    target_release(&t);
    return rc;
}

int plat_fs_write_inplace(const char *root, const char *path, size_t path_len, const void *data,
                          size_t len)
{
    struct fs_target t;
    int fd = -1, rc;

    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    if (t.objfd < 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    if (!S_ISREG(t.st.st_mode)) {
        rc = S_ISDIR(t.st.st_mode) ? WARD_EISDIR : WARD_EINVAL;
        goto out;
    }
    rc = reopen_target(&t, O_WRONLY | O_TRUNC | O_NOCTTY, &fd);
    if (rc != 0)
        goto out;
    rc = write_all(fd, data, len);
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = plat_err_from_errno(errno);
    target_release(&t);
    return rc;
}

int plat_fs_resolve(const char *root, const char *path, size_t path_len, char **host_path)
{
    struct fs_target t;
    char proc[64], dir[PATH_MAX];
    ssize_t n;
    size_t need;
    int rc;
    if (!host_path)
        return WARD_EINVAL;
    *host_path = NULL;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, 0, &t);
    if (rc != 0)
        return rc;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t.dirfd);
    n = readlink(proc, dir, sizeof(dir) - 1);
    if (n < 0) {
        rc = errno == ENOENT ? WARD_ENOTSUP : plat_err_from_errno(errno);
        goto out;
    }
    dir[n] = '\0';
    need = (size_t)n + 1 + strlen(t.name) + 1;
    *host_path = ward_malloc(need);
    if (!*host_path) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (t.name[0] == '\0')
        snprintf(*host_path, need, "%s", dir);
    else
        snprintf(*host_path, need, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", t.name);
out:
    target_release(&t);
    return rc;
}
