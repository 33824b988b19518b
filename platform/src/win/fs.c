/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows filesystem services confined to a root prefix. The path is validated and split
 * here (no "..", no NUL, no drive letters, stream names or device names inside it), then
 * walked one component at a time below the root's final path. Every directory on the way
 * is held open without FILE_SHARE_DELETE for the whole operation, so it cannot be renamed
 * or replaced by a link while we work below it. A reparse point (symlink or junction) is
 * followed only if the final path it leads to is still inside the root's final path;
 * otherwise the operation fails with WARD_EPATH. Final steps open with
 * FILE_FLAG_OPEN_REPARSE_POINT so a link swapped in at the last moment is not followed.
 * Writes use a temp file, FlushFileBuffers and MoveFileExW(REPLACE_EXISTING|WRITE_THROUGH).
 * Modes and owners are ACL matters on Windows: asking for them is WARD_ENOTSUP.
 */
#define WARD_LOG_TAG "fs"

#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "../errmap.h"
#include "platform/fs.h"
#include "wstr.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define WFS_MAX_DEPTH 128
#define WFS_MAX_COMPONENT 255
/* Not in every mingw-w64 header set. */
#ifndef IO_REPARSE_TAG_SYMLINK
#define IO_REPARSE_TAG_SYMLINK 0xA000000CL
#endif
#ifndef IO_REPARSE_TAG_MOUNT_POINT
#define IO_REPARSE_TAG_MOUNT_POINT 0xA0000003L
#endif

#define WALK_FOLLOW_LAST 0x1u
#define WALK_MKDIR 0x2u

struct wfs_target {
    wchar_t *full;  /* the object's path (\\?\ form) */
    size_t dir_len; /* full[0..dir_len) is its directory; dir_len == wcslen(full) for "root" */
    int exists;
    int is_link; /* a symlink/junction (only with !WALK_FOLLOW_LAST) */
    BY_HANDLE_FILE_INFORMATION info;
    HANDLE held[WFS_MAX_DEPTH + 1];
    int nheld;
};

static void target_release(struct wfs_target *t)
{
    for (int i = 0; i < t->nheld; i++)
        CloseHandle(t->held[i]);
    t->nheld = 0;
    ward_free(t->full);
    t->full = NULL;
}

static int reserved_name(const char *c, size_t n)
{
    static const char *const names[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", NULL};
    size_t base = 0;
    while (base < n && c[base] != '.')
        base++;
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == base && _strnicmp(c, names[i], base) == 0)
            return 1;
    if (base == 4 && (_strnicmp(c, "COM", 3) == 0 || _strnicmp(c, "LPT", 3) == 0) && c[3] >= '0' &&
        c[3] <= '9')
        return 1;
    return 0;
}

/* Validates one component: Windows would silently rewrite or reinterpret these. */
static int check_component(const char *c, size_t n)
{
    if (n > WFS_MAX_COMPONENT)
        return WARD_EPATH;
    if (n == 2 && c[0] == '.' && c[1] == '.')
        return WARD_EPATH;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)c[i];
        if (ch < 0x20 || strchr("<>:\"|?*", ch))
            return WARD_EPATH;
    }
    if (n == 1 && c[0] == '.')
        return 0;
    if (c[n - 1] == '.' || c[n - 1] == ' ')
        return WARD_EPATH; /* "name." and "name " both mean "name" */
    return reserved_name(c, n) ? WARD_EPATH : 0;
}

/* Builds the relative part: components joined by '\', "." and empty ones dropped. */
static int check_path(const char *path, size_t path_len, wchar_t **rel)
{
    size_t len, i = 0;
    char *buf;
    size_t o = 0;
    int rc;
    *rel = NULL;
    if (!path)
        return WARD_EINVAL;
    len = path_len == PLAT_FS_NTS ? strnlen(path, PLAT_FS_MAX_PATH + 1) : path_len;
    if (len > PLAT_FS_MAX_PATH || memchr(path, '\0', len))
        return WARD_EPATH;
    buf = ward_malloc(len + 1);
    if (!buf)
        return WARD_ENOMEM;
    while (i < len) {
        size_t start;
        while (i < len && (path[i] == '/' || path[i] == '\\'))
            i++;
        start = i;
        while (i < len && path[i] != '/' && path[i] != '\\')
            i++;
        if (i == start)
            continue;
        rc = check_component(path + start, i - start);
        if (rc != 0) {
            ward_free(buf);
            return rc;
        }
        if (i - start == 1 && path[start] == '.')
            continue;
        if (o)
            buf[o++] = '\\';
        memcpy(buf + o, path + start, i - start);
        o += i - start;
    }
    rc = plat_win_utf8_to_wide(buf, o, rel);
    ward_free(buf);
    return rc;
}

static HANDLE open_meta(const wchar_t *p, int follow)
{
    return CreateFileW(
        p, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
        FILE_FLAG_BACKUP_SEMANTICS | (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT), NULL);
}

static int final_path(HANDLE h, wchar_t **out)
{
    DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    wchar_t *b;
    if (n == 0)
        return plat_err_from_win32(GetLastError());
    b = ward_malloc((n + 1) * sizeof(wchar_t));
    if (!b)
        return WARD_ENOMEM;
    if (GetFinalPathNameByHandleW(h, b, n + 1, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS) == 0) {
        ward_free(b);
        return plat_err_from_win32(GetLastError());
    }
    /* No trailing separator, so "root\" + name joins cleanly (drive roots end in '\'). */
    n = (DWORD)wcslen(b);
    if (n > 0 && b[n - 1] == L'\\')
        b[n - 1] = L'\0';
    *out = b;
    return 0;
}

static int inside(const wchar_t *root, const wchar_t *p)
{
    size_t n = wcslen(root);
    return _wcsnicmp(root, p, n) == 0 && (p[n] == L'\0' || p[n] == L'\\');
}

static int is_link_tag(HANDLE h)
{
    FILE_ATTRIBUTE_TAG_INFO ti;
    if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof(ti)))
        return 0;
    return (ti.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
           (ti.ReparseTag == (DWORD)IO_REPARSE_TAG_SYMLINK ||
            ti.ReparseTag == (DWORD)IO_REPARSE_TAG_MOUNT_POINT);
}

static int join(const wchar_t *a, const wchar_t *b, size_t blen, wchar_t **out)
{
    size_t alen = wcslen(a);
    wchar_t *p = ward_malloc((alen + 1 + blen + 1) * sizeof(wchar_t));
    if (!p)
        return WARD_ENOMEM;
    memcpy(p, a, alen * sizeof(wchar_t));
    p[alen] = L'\\';
    memcpy(p + alen + 1, b, blen * sizeof(wchar_t));
    p[alen + 1 + blen] = L'\0';
    *out = p;
    return 0;
}

static int root_path(const char *root, wchar_t **out)
{
    wchar_t *w = NULL;
    int rc;
    if (!root) {
        wchar_t drive[8];
        DWORD n = GetEnvironmentVariableW(L"SystemDrive", drive, 8);
        if (n == 0 || n > 3)
            wcscpy_s(drive, 8, L"C:");
        wcscat_s(drive, 8, L"\\");
        w = ward_malloc(sizeof(drive));
        if (!w)
            return WARD_ENOMEM;
        memcpy(w, drive, sizeof(drive));
    } else {
        rc = plat_win_utf8_to_wide(root, strlen(root), &w);
        if (rc != 0)
            return rc;
    }
    *out = w;
    return 0;
}

/*
 * Resolves path under root. Without WALK_MKDIR the last component need not exist, its
 * directory must. Symlinks/junctions are followed by the OS and accepted only when their
 * final path stays inside the root; a dangling link counts as missing.
 */
static int walk(const char *root, const char *path, size_t path_len, unsigned int flags,
                struct wfs_target *t)
{
    wchar_t *rel = NULL, *rootw = NULL, *rootfinal = NULL, *cur = NULL, *cand = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    size_t pos = 0, rlen;
    int rc, links = 0;

    memset(t, 0, sizeof(*t));
    rc = check_path(path, path_len, &rel);
    if (rc != 0)
        return rc;
    rc = root_path(root, &rootw);
    if (rc != 0)
        goto out;
    h = open_meta(rootw, 1);
    if (h == INVALID_HANDLE_VALUE) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    rc = final_path(h, &rootfinal);
    if (rc != 0)
        goto out;
    t->held[t->nheld++] = h;
    h = INVALID_HANDLE_VALUE;
    cur = ward_malloc((wcslen(rootfinal) + 1) * sizeof(wchar_t));
    if (!cur) {
        rc = WARD_ENOMEM;
        goto out;
    }
    wcscpy_s(cur, wcslen(rootfinal) + 1, rootfinal);
    rlen = wcslen(rel);

    if (rlen == 0) {
        /* The root itself. */
        t->full = cur;
        cur = NULL;
        t->dir_len = wcslen(t->full);
        t->exists = GetFileInformationByHandle(t->held[0], &t->info) != 0;
        rc = t->exists ? 0 : plat_err_from_win32(GetLastError());
        goto out;
    }
    while (pos < rlen) {
        size_t start = pos, n;
        int last;
        while (pos < rlen && rel[pos] != L'\\')
            pos++;
        n = pos - start;
        last = pos >= rlen;
        if (pos < rlen)
            pos++;
        ward_free(cand);
        cand = NULL;
        rc = join(cur, rel + start, n, &cand);
        if (rc != 0)
            goto out;
        h = open_meta(cand, 0);
        if (h == INVALID_HANDLE_VALUE && (flags & WALK_MKDIR) &&
            (GetLastError() == ERROR_FILE_NOT_FOUND || GetLastError() == ERROR_PATH_NOT_FOUND)) {
            if (!CreateDirectoryW(cand, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
                rc = plat_err_from_win32(GetLastError());
                goto out;
            }
            h = open_meta(cand, 0);
        }
        if (h == INVALID_HANDLE_VALUE) {
            DWORD e = GetLastError();
            if (last && !(flags & WALK_MKDIR) &&
                (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)) {
                t->full = cand;
                cand = NULL;
                t->dir_len = wcslen(cur);
                rc = 0;
                goto out;
            }
            rc = plat_err_from_win32(e);
            goto out;
        }
        if (is_link_tag(h) && (!last || (flags & (WALK_FOLLOW_LAST | WALK_MKDIR)))) {
            wchar_t *fin = NULL;
            HANDLE fh;
            CloseHandle(h);
            h = INVALID_HANDLE_VALUE;
            if (++links > PLAT_FS_MAX_SYMLINKS) {
                rc = WARD_ELOOP;
                goto out;
            }
            fh = open_meta(cand, 1);
            if (fh == INVALID_HANDLE_VALUE) {
                DWORD e = GetLastError();
                rc = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND
                         ? WARD_ENOENT
                         : plat_err_from_win32(e);
                goto out;
            }
            rc = final_path(fh, &fin);
            if (rc == 0 && !inside(rootfinal, fin))
                rc = WARD_EPATH;
            if (rc != 0) {
                CloseHandle(fh);
                ward_free(fin);
                goto out;
            }
            ward_free(cand);
            cand = fin;
            h = fh;
        }
        if (!GetFileInformationByHandle(h, &t->info)) {
            rc = plat_err_from_win32(GetLastError());
            goto out;
        }
        if (last && !(flags & WALK_MKDIR)) {
            size_t cl = wcslen(cand);
            t->is_link = is_link_tag(h);
            t->exists = 1;
            while (cl > 0 && cand[cl - 1] != L'\\')
                cl--;
            t->dir_len = cl ? cl - 1 : 0;
            t->full = cand;
            cand = NULL;
            CloseHandle(h); /* the object itself is not held: it may be replaced or removed */
            h = INVALID_HANDLE_VALUE;
            rc = 0;
            goto out;
        }
        if (!(t->info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
            rc = WARD_ENOTDIR;
            goto out;
        }
        if (t->nheld > WFS_MAX_DEPTH) {
            rc = WARD_EDEPTH;
            goto out;
        }
        t->held[t->nheld++] = h;
        h = INVALID_HANDLE_VALUE;
        ward_free(cur);
        cur = cand;
        cand = NULL;
    }
    /* WALK_MKDIR: the target is the last directory. */
    t->full = cur;
    cur = NULL;
    t->dir_len = wcslen(t->full);
    t->exists = 1;
    rc = 0;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    ward_free(rel);
    ward_free(rootw);
    ward_free(rootfinal);
    ward_free(cur);
    ward_free(cand);
    if (rc != 0)
        target_release(t);
    return rc;
}

static int is_root_target(const struct wfs_target *t)
{
    return t->dir_len == wcslen(t->full);
}

static int64_t filetime_ns(FILETIME ft)
{
    int64_t v = ((int64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (v - 116444736000000000LL) * 100;
}

int plat_fs_read_file(const char *root, const char *path, size_t path_len, size_t max, char **data,
                      size_t *len)
{
    struct wfs_target t;
    BY_HANDLE_FILE_INFORMATION fi;
    HANDLE h = INVALID_HANDLE_VALUE;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc;

    if (!data || !len)
        return WARD_EINVAL;
    *data = NULL;
    *len = 0;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, &t);
    if (rc != 0)
        return rc;
    if (!t.exists) {
        rc = WARD_ENOENT;
        goto out;
    }
    if (t.info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        rc = WARD_EISDIR;
        goto out;
    }
    h = CreateFileW(t.full, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    if (!GetFileInformationByHandle(h, &fi) ||
        (fi.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY))) {
        rc = WARD_EAGAIN; /* swapped since the walk */
        goto out;
    }
    for (;;) {
        DWORD got = 0;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *p;
            if (cap > max) {
                rc = WARD_ETOOBIG;
                goto out;
            }
            if (ncap > max + 1)
                ncap = max + 1;
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
        if (!ReadFile(h, buf + n, (DWORD)((cap - n) > 0x40000000 ? 0x40000000 : cap - n), &got,
                      NULL)) {
            rc = plat_err_from_win32(GetLastError());
            goto out;
        }
        if (got == 0)
            break;
        n += got;
        if (n > max) {
            rc = WARD_ETOOBIG;
            goto out;
        }
    }
    if (!buf && !(buf = ward_malloc(1))) {
        rc = WARD_ENOMEM;
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    ward_free(buf);
    target_release(&t);
    return rc;
}

static int check_attrs(const struct plat_fs_attrs *a)
{
    if (!a)
        return 0;
    if (a->set & ~(PLAT_FS_ATTR_MODE | PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID | PLAT_FS_ATTR_OWNER |
                   PLAT_FS_ATTR_GROUP | PLAT_FS_WRITE_NOSYNC))
        return WARD_EINVAL;
    return (a->set & ~PLAT_FS_WRITE_NOSYNC) ? WARD_ENOTSUP : 0;
}

int plat_fs_write_atomic(const char *root, const char *path, size_t path_len, const void *data,
                         size_t len, const struct plat_fs_attrs *attrs)
{
    static unsigned counter;
    struct wfs_target t;
    wchar_t *tmp = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    const char *p = data;
    int rc, have_tmp = 0;
    size_t tlen;

    if (!data && len)
        return WARD_EINVAL;
    rc = check_attrs(attrs);
    if (rc != 0)
        return rc;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, &t);
    if (rc != 0)
        return rc;
    if (is_root_target(&t) || (t.exists && (t.info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))) {
        rc = WARD_EISDIR;
        goto out;
    }
    tlen = t.dir_len + 64;
    tmp = ward_malloc(tlen * sizeof(wchar_t));
    if (!tmp) {
        rc = WARD_ENOMEM;
        goto out;
    }
    for (int tries = 0; tries < 100 && h == INVALID_HANDLE_VALUE; tries++) {
        LARGE_INTEGER c;
        QueryPerformanceCounter(&c);
        _snwprintf(tmp, tlen, L"%.*ls\\.ward-%08lx%04x.tmp", (int)t.dir_len, t.full,
                   (unsigned long)(c.LowPart ^ GetCurrentProcessId()), ++counter & 0xffff);
        tmp[tlen - 1] = L'\0';
        h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h == INVALID_HANDLE_VALUE && GetLastError() != ERROR_FILE_EXISTS) {
            rc = plat_err_from_win32(GetLastError());
            goto out;
        }
    }
    if (h == INVALID_HANDLE_VALUE) {
        rc = WARD_EEXIST;
        goto out;
    }
    have_tmp = 1;
    while (len > 0) {
        DWORD chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len, done = 0;
        if (!WriteFile(h, p, chunk, &done, NULL)) {
            rc = plat_err_from_win32(GetLastError());
            goto out;
        }
        p += done;
        len -= done;
    }
    if (!(attrs && (attrs->set & PLAT_FS_WRITE_NOSYNC)) && !FlushFileBuffers(h)) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    /* Rename semantics: a link swapped in at t.full is replaced, never followed. */
    if (!MoveFileExW(tmp, t.full, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    have_tmp = 0;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (have_tmp)
        DeleteFileW(tmp);
    ward_free(tmp);
    target_release(&t);
    return rc;
}

int plat_fs_stat(const char *root, const char *path, size_t path_len, unsigned int flags,
                 struct plat_fs_info *info)
{
    struct wfs_target t;
    int rc;
    if (!info || (flags & ~PLAT_FS_NOFOLLOW))
        return WARD_EINVAL;
    memset(info, 0, sizeof(*info));
    rc = walk(root, path, path_len, (flags & PLAT_FS_NOFOLLOW) ? 0 : WALK_FOLLOW_LAST, &t);
    if (rc != 0)
        return rc;
    if (!t.exists) {
        rc = WARD_ENOENT;
    } else {
        DWORD a = t.info.dwFileAttributes;
        info->type = t.is_link                        ? PLAT_FS_SYMLINK
                     : (a & FILE_ATTRIBUTE_DIRECTORY) ? PLAT_FS_DIR
                     : (a & FILE_ATTRIBUTE_DEVICE)    ? PLAT_FS_OTHER
                                                      : PLAT_FS_FILE;
        info->mode = (a & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
        if (a & FILE_ATTRIBUTE_DIRECTORY)
            info->mode |= 0111;
        info->uid = -1;
        info->gid = -1;
        info->size = ((uint64_t)t.info.nFileSizeHigh << 32) | t.info.nFileSizeLow;
        info->mtime_ns = filetime_ns(t.info.ftLastWriteTime);
    }
    target_release(&t);
    return rc;
}

int plat_fs_set_attrs(const char *root, const char *path, size_t path_len,
                      const struct plat_fs_attrs *attrs)
{
    (void)root;
    (void)path;
    (void)path_len;
    if (!attrs)
        return WARD_EINVAL;
    return check_attrs(attrs) == WARD_EINVAL ? WARD_EINVAL : WARD_ENOTSUP;
}

int plat_fs_chmod(const char *root, const char *path, size_t path_len, unsigned int mode)
{
    (void)root;
    (void)path;
    (void)path_len;
    (void)mode;
    return WARD_ENOTSUP;
}

int plat_fs_chown(const char *root, const char *path, size_t path_len, int64_t uid, int64_t gid)
{
    (void)root;
    (void)path;
    (void)path_len;
    (void)uid;
    (void)gid;
    return WARD_ENOTSUP;
}

static int remove_entry(const char *root, const char *path, size_t path_len, int dir)
{
    struct wfs_target t;
    int rc = walk(root, path, path_len, 0, &t);
    int isdir;
    if (rc != 0)
        return rc;
    isdir = (t.info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    if (!t.exists)
        rc = WARD_ENOENT;
    else if (is_root_target(&t))
        rc = dir ? WARD_EBUSY : WARD_EISDIR;
    else if (t.is_link && !dir) /* remove the link itself, file or directory kind */
        rc = (isdir ? RemoveDirectoryW(t.full) : DeleteFileW(t.full))
                 ? 0
                 : plat_err_from_win32(GetLastError());
    else if (!dir && isdir)
        rc = WARD_EISDIR;
    else if (dir && !isdir)
        rc = WARD_ENOTDIR;
    else if (!(dir ? RemoveDirectoryW(t.full) : DeleteFileW(t.full)))
        rc = plat_err_from_win32(GetLastError());
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
    struct wfs_target t;
    int rc;
    if (mode & ~07777u)
        return WARD_EINVAL;
    rc = walk(root, path, path_len, WALK_MKDIR, &t);
    if (rc == 0)
        target_release(&t);
    return rc;
}

int plat_fs_resolve(const char *root, const char *path, size_t path_len, char **host_path)
{
    struct wfs_target t;
    const wchar_t *p;
    int rc;
    if (!host_path)
        return WARD_EINVAL;
    *host_path = NULL;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, &t);
    if (rc != 0)
        return rc;
    p = t.full;
    /* Hand out the ordinary form: "\\?\C:\x" -> "C:\x". UNC keeps the prefix. */
    if (wcsncmp(p, L"\\\\?\\", 4) == 0 && p[4] && p[5] == L':')
        p += 4;
    rc = plat_win_wide_to_utf8(p, host_path);
    target_release(&t);
    return rc;
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

/* Lists through the confined walk's final path, so the directory itself cannot be a
 * reparse point leading out of the root. */
int plat_fs_listdir(const char *root, const char *path, size_t path_len, size_t max, char ***names,
                    size_t *count)
{
    struct wfs_target t;
    WIN32_FIND_DATAW fd;
    HANDLE h = INVALID_HANDLE_VALUE;
    wchar_t *pattern = NULL;
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if (!names || !count)
        return WARD_EINVAL;
    *names = NULL;
    *count = 0;
    rc = walk(root, path, path_len, WALK_FOLLOW_LAST, &t);
    if (rc != 0)
        return rc;
    if (!t.exists) {
        rc = WARD_ENOENT;
        goto out;
    }
    rc = join(t.full, L"*", 1, &pattern);
    if (rc != 0)
        goto out;
    h = FindFirstFileExW(pattern, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        rc = e == ERROR_DIRECTORY ? WARD_ENOTDIR : plat_err_from_win32(e);
        goto out;
    }
    do {
        if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
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
        rc = plat_win_wide_to_utf8(fd.cFileName, &v[n]);
        if (rc != 0)
            goto out;
        n++;
    } while (FindNextFileW(h, &fd));
    if (rc == 0 && GetLastError() != ERROR_NO_MORE_FILES) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_names);
    *names = v;
    *count = n;
    v = NULL;
out:
    if (h != INVALID_HANDLE_VALUE)
        FindClose(h);
    ward_free(pattern);
    plat_fs_names_free(v, n);
    target_release(&t);
    return rc;
}

int plat_fs_readlink(const char *root, const char *path, size_t path_len, char **target)
{
    (void)root;
    (void)path;
    (void)path_len;
    if (target)
        *target = NULL;
    return WARD_ENOTSUP;
}

int plat_fs_write_inplace(const char *root, const char *path, size_t path_len, const void *data,
                          size_t len)
{
    (void)root;
    (void)path;
    (void)path_len;
    (void)data;
    (void)len;
    return WARD_ENOTSUP;
}
