/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Portable tests of platform/fs.h under a scratch root: atomic replace, read caps, path
 * validation (.., NUL), stat, mkdir_p, unlink/rmdir. Symlink, mode and owner cases are
 * POSIX-only and live in test_fs_linux.c.
 */
#include "wtest.h"

#include <dirent.h>

#include "platform/fs.h"
#include "ward/alloc.h"

#define NTS PLAT_FS_NTS

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    WT_ASSERT(d != NULL);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void expect_content(const char *root, const char *path, const char *want)
{
    char *data = NULL;
    size_t len = 0;
    WT_OK(plat_fs_read_file(root, path, NTS, 1 << 20, &data, &len));
    WT_EQ_INT(len, strlen(want));
    WT_EQ_STR(data, want);
    ward_free(data);
}

WT_TEST(fs_atomic_replace)
{
    const char *root = wt_tmpdir();
    WT_OK(plat_fs_mkdir_p(root, "etc", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "etc/app.conf", NTS, "old\n", 4, NULL));
    expect_content(root, "etc/app.conf", "old\n");
    WT_OK(plat_fs_write_atomic(root, "/etc/app.conf", NTS, "new content\n", 12, NULL));
    expect_content(root, "etc/app.conf", "new content\n");
    /* Only the target is left in the directory: no temp file. */
    WT_EQ_INT(count_entries(wt_path("etc")), 1);
    /* Empty content is a valid file. */
    WT_OK(plat_fs_write_atomic(root, "etc/app.conf", NTS, NULL, 0, NULL));
    expect_content(root, "etc/app.conf", "");
    WT_EQ_INT(count_entries(wt_path("etc")), 1);
}

WT_TEST(fs_write_needs_parent)
{
    const char *root = wt_tmpdir();
    WT_EQ_ERR(plat_fs_write_atomic(root, "nodir/file", NTS, "x", 1, NULL), WARD_ENOENT);
    WT_EQ_INT(count_entries(root), 0);
    /* The root itself and an existing directory are not files. */
    WT_EQ_ERR(plat_fs_write_atomic(root, "/", NTS, "x", 1, NULL), WARD_EISDIR);
    WT_OK(plat_fs_mkdir_p(root, "d", NTS, 0));
    WT_EQ_ERR(plat_fs_write_atomic(root, "d", NTS, "x", 1, NULL), WARD_EISDIR);
}

WT_TEST(fs_read_cap)
{
    const char *root = wt_tmpdir();
    char big[10000];
    char *data = NULL;
    size_t len = 0;
    memset(big, 'a', sizeof(big));
    WT_OK(plat_fs_write_atomic(root, "big", NTS, big, sizeof(big), NULL));
    WT_EQ_ERR(plat_fs_read_file(root, "big", NTS, 9999, &data, &len), WARD_ETOOBIG);
    WT_ASSERT(data == NULL);
    WT_OK(plat_fs_read_file(root, "big", NTS, 10000, &data, &len));
    WT_EQ_INT(len, 10000);
    WT_EQ_MEM(data, big, len);
    WT_EQ_INT(data[len], 0);
    ward_free(data);
    WT_EQ_ERR(plat_fs_read_file(root, "missing", NTS, 10, &data, &len), WARD_ENOENT);
    WT_EQ_ERR(plat_fs_read_file(root, "", NTS, 10, &data, &len), WARD_EISDIR);
}

WT_TEST(fs_dotdot_rejected)
{
    const char *root = wt_tmpdir();
    static const char *bad[] = {"..", "../x", "a/../b", "a/..", "/../../etc/passwd", "a//../b"};
    char *data = NULL;
    size_t len;
    struct plat_fs_info info;
    WT_OK(plat_fs_mkdir_p(root, "a", NTS, 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        WT_EQ_ERR(plat_fs_write_atomic(root, bad[i], NTS, "x", 1, NULL), WARD_EPATH);
        WT_EQ_ERR(plat_fs_read_file(root, bad[i], NTS, 10, &data, &len), WARD_EPATH);
        WT_EQ_ERR(plat_fs_stat(root, bad[i], NTS, 0, &info), WARD_EPATH);
        WT_EQ_ERR(plat_fs_mkdir_p(root, bad[i], NTS, 0), WARD_EPATH);
        WT_EQ_ERR(plat_fs_unlink(root, bad[i], NTS), WARD_EPATH);
    }
    /* Names that merely contain dots are fine ("a/..." is too on POSIX, but Windows would
     * strip the trailing dots, so it refuses that one). */
    WT_OK(plat_fs_write_atomic(root, "a/..b", NTS, "x", 1, NULL));
    WT_OK(plat_fs_write_atomic(root, "./a/./c", NTS, "x", 1, NULL));
    expect_content(root, "a/c", "x");
}

WT_TEST(fs_nul_rejected)
{
    const char *root = wt_tmpdir();
    static const char p[] = "etc\0.conf";
    char *data = NULL;
    size_t len;
    WT_OK(plat_fs_mkdir_p(root, "etc", NTS, 0));
    WT_EQ_ERR(plat_fs_write_atomic(root, p, sizeof(p) - 1, "x", 1, NULL), WARD_EPATH);
    WT_EQ_ERR(plat_fs_read_file(root, p, sizeof(p) - 1, 10, &data, &len), WARD_EPATH);
    WT_EQ_ERR(plat_fs_mkdir_p(root, p, sizeof(p) - 1, 0), WARD_EPATH);
    /* The counted length is honoured: "etc/f" of "etc/fXYZ". */
    WT_OK(plat_fs_write_atomic(root, "etc/fXYZ", 5, "y", 1, NULL));
    expect_content(root, "etc/f", "y");
}

WT_TEST(fs_long_path_rejected)
{
    const char *root = wt_tmpdir();
    char *p = ward_malloc(PLAT_FS_MAX_PATH + 2);
    WT_ASSERT(p != NULL);
    memset(p, 'a', PLAT_FS_MAX_PATH + 1);
    p[PLAT_FS_MAX_PATH + 1] = '\0';
    WT_EQ_ERR(plat_fs_write_atomic(root, p, NTS, "x", 1, NULL), WARD_EPATH);
    ward_free(p);
}

WT_TEST(fs_stat_types)
{
    const char *root = wt_tmpdir();
    struct plat_fs_info info;
    WT_OK(plat_fs_mkdir_p(root, "d/e", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "d/e/f", NTS, "12345", 5, NULL));
    WT_OK(plat_fs_stat(root, "d/e/f", NTS, 0, &info));
    WT_EQ_INT(info.type, PLAT_FS_FILE);
    WT_EQ_INT(info.size, 5);
    WT_ASSERT(info.mtime_ns > 0);
    WT_OK(plat_fs_stat(root, "d/e", NTS, 0, &info));
    WT_EQ_INT(info.type, PLAT_FS_DIR);
    WT_OK(plat_fs_stat(root, "/", NTS, 0, &info));
    WT_EQ_INT(info.type, PLAT_FS_DIR);
    WT_EQ_ERR(plat_fs_stat(root, "d/nope", NTS, 0, &info), WARD_ENOENT);
    WT_EQ_ERR(plat_fs_stat(root, "d/nope/x", NTS, 0, &info), WARD_ENOENT);
    WT_EQ_ERR(plat_fs_stat(root, "d/e/f/x", NTS, 0, &info), WARD_ENOTDIR);
}

WT_TEST(fs_mkdir_unlink_rmdir)
{
    const char *root = wt_tmpdir();
    struct plat_fs_info info;
    WT_OK(plat_fs_mkdir_p(root, "a/b/c", NTS, 0));
    WT_OK(plat_fs_mkdir_p(root, "a/b/c", NTS, 0)); /* idempotent */
    WT_OK(plat_fs_stat(root, "a/b/c", NTS, 0, &info));
    WT_EQ_INT(info.type, PLAT_FS_DIR);
    WT_OK(plat_fs_write_atomic(root, "a/file", NTS, "x", 1, NULL));
    WT_EQ_ERR(plat_fs_mkdir_p(root, "a/file/sub", NTS, 0), WARD_ENOTDIR);
    WT_EQ_ERR(plat_fs_mkdir_p(root, "a/file", NTS, 0), WARD_ENOTDIR);
    WT_EQ_ERR(plat_fs_unlink(root, "a/b", NTS), WARD_EISDIR);
    WT_EQ_ERR(plat_fs_rmdir(root, "a/b", NTS), WARD_EEXIST);
    WT_EQ_ERR(plat_fs_rmdir(root, "a/file", NTS), WARD_ENOTDIR);
    WT_OK(plat_fs_unlink(root, "a/file", NTS));
    WT_EQ_ERR(plat_fs_unlink(root, "a/file", NTS), WARD_ENOENT);
    WT_OK(plat_fs_rmdir(root, "a/b/c", NTS));
    WT_EQ_ERR(plat_fs_stat(root, "a/b/c", NTS, 0, &info), WARD_ENOENT);
    WT_EQ_ERR(plat_fs_rmdir(root, "", NTS), WARD_EBUSY);
}

WT_TEST(fs_resolve_host_path)
{
    const char *root = wt_tmpdir();
    char *host = NULL;
    WT_OK(plat_fs_mkdir_p(root, "x", NTS, 0));
    WT_OK(plat_fs_resolve(root, "/x/new", NTS, &host));
    WT_CONTAINS(host, "new");
    WT_ASSERT(strlen(host) > strlen("new"));
    ward_free(host);
    WT_EQ_ERR(plat_fs_resolve(root, "../x", NTS, &host), WARD_EPATH);
    WT_ASSERT(host == NULL);
}

WT_TEST(fs_bad_args)
{
    const char *root = wt_tmpdir();
    struct plat_fs_attrs a = {.set = 0x100};
    char *data;
    size_t len;
    WT_EQ_ERR(plat_fs_read_file(root, NULL, NTS, 10, &data, &len), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_read_file(root, "x", NTS, 10, NULL, &len), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_write_atomic(root, "x", NTS, NULL, 3, NULL), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_write_atomic(root, "x", NTS, "x", 1, &a), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_read_file(wt_path("no-such-root"), "x", NTS, 10, &data, &len), WARD_ENOENT);
}

/* A scratch file written without fsync is still written whole, with the asked mode (on
 * Windows the flag alone is accepted, it only skips FlushFileBuffers; a mode is ENOTSUP
 * there as for every write). */
WT_TEST(fs_write_nosync)
{
    const char *root = wt_tmpdir();
    struct plat_fs_attrs a = {.set = PLAT_FS_WRITE_NOSYNC};
    struct plat_fs_info info;
    char *data = NULL;
    size_t len = 0;
    int rc;
    WT_OK(plat_fs_write_atomic(root, "scratch", NTS, "abc", 3, &a));
    WT_OK(plat_fs_read_file(root, "scratch", NTS, 10, &data, &len));
    WT_EQ_INT((int)len, 3);
    WT_ASSERT(memcmp(data, "abc", 3) == 0);
    ward_free(data);
    a.set |= PLAT_FS_ATTR_MODE;
    a.mode = 0700;
    rc = plat_fs_write_atomic(root, "scratch", NTS, "abcd", 4, &a);
    if (rc != WARD_ENOTSUP) {
        WT_OK(rc);
        WT_OK(plat_fs_stat(root, "scratch", NTS, 0, &info));
        WT_EQ_INT((int)(info.mode & 07777), 0700);
        WT_EQ_INT((int)info.size, 4);
    }
}
