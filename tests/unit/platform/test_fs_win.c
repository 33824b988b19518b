/* SPDX-License-Identifier: Apache-2.0 */
/* Windows-only fs cases: reparse points (directory symlinks) that stay inside the root are
 * followed, ones that leave it are refused; paths Windows would reinterpret are refused. */
#include "wtest.h"

#include <windows.h>

#include "platform/fs.h"
#include "ward/alloc.h"

#define NTS PLAT_FS_NTS

static int make_dir_link(const char *link, const char *target)
{
    wchar_t wl[1024], wt[1024];
    MultiByteToWideChar(CP_UTF8, 0, link, -1, wl, 1024);
    MultiByteToWideChar(CP_UTF8, 0, target, -1, wt, 1024);
    for (wchar_t *c = wl; *c; c++)
        *c = *c == L'/' ? L'\\' : *c;
    for (wchar_t *c = wt; *c; c++)
        *c = *c == L'/' ? L'\\' : *c;
    if (!CreateSymbolicLinkW(
            wl, wt, SYMBOLIC_LINK_FLAG_DIRECTORY | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE))
        return -1;
    /* Wine 8 reports success without creating anything: check the link is really there. */
    return GetFileAttributesW(wl) == INVALID_FILE_ATTRIBUTES ? -1 : 0;
}

WT_TEST(fs_win_reparse_points)
{
    const char *root = wt_tmpdir();
    char *outside = NULL, *data = NULL;
    size_t len;
    WT_OK(plat_fs_make_temp_dir("wtest-outside", &outside));
    WT_OK(plat_fs_mkdir_p(root, "real", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "real/f", NTS, "inside", 6, NULL));
    if (make_dir_link(wt_path("in"), wt_path("real")) != 0) {
        printf("skip: cannot create symbolic links here\n");
        plat_fs_remove_tree(outside);
        ward_free(outside);
        return;
    }
    WT_OK(plat_fs_read_file(root, "in/f", NTS, 100, &data, &len));
    WT_EQ_STR(data, "inside");
    ward_free(data);
    WT_ASSERT(make_dir_link(wt_path("out"), outside) == 0);
    WT_EQ_ERR(plat_fs_write_atomic(root, "out/x", NTS, "pwned", 5, NULL), WARD_EPATH);
    WT_EQ_ERR(plat_fs_mkdir_p(root, "out/sub", NTS, 0), WARD_EPATH);
    /* The link itself can be removed without touching its target. */
    WT_OK(plat_fs_unlink(root, "out", NTS));
    WT_OK(plat_fs_remove_tree(outside));
    ward_free(outside);
}

WT_TEST(fs_win_reinterpreted_names)
{
    const char *root = wt_tmpdir();
    static const char *bad[] = {
        "C:/Windows/x", "a:b", "file.txt:stream", "NUL", "con.txt", "dir/COM1", "x.",
        "y ",           "q?",  "a\\..\\b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        WT_EQ_ERR(plat_fs_write_atomic(root, bad[i], NTS, "x", 1, NULL), WARD_EPATH);
    /* Both separators work. */
    WT_OK(plat_fs_mkdir_p(root, "a\\b/c", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "a/b\\c/f", NTS, "x", 1, NULL));
    WT_EQ_ERR(plat_fs_chmod(root, "a/b/c/f", NTS, 0600), WARD_ENOTSUP);
    {
        struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = 0600};
        WT_EQ_ERR(plat_fs_write_atomic(root, "a/b/c/f", NTS, "x", 1, &a), WARD_ENOTSUP);
    }
}
