/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the host-path helpers the test runner itself relies on: scratch directories,
 * recursive removal and file writes with parent creation. */
#include "wtest.h"

#include "platform/fs.h"
#include "ward/alloc.h"

WT_TEST(helpers_make_write_remove)
{
    char *dir = NULL;
    char path[1024];
    WT_OK(plat_fs_make_temp_dir("plat", &dir));
    WT_ASSERT(dir != NULL);
    snprintf(path, sizeof(path), "%s/a/b/c.txt", dir);
    WT_OK(plat_fs_write_file_mkdirs(path, "hello", 5));
    WT_OK(plat_fs_write_file_mkdirs(path, "hi", 2));
    WT_OK(plat_fs_remove_tree(dir));
    /* Gone: removing again is success, and writing below it recreates it. */
    WT_OK(plat_fs_remove_tree(dir));
    ward_free(dir);
}

WT_TEST(helpers_rejects_bad_args)
{
    char *dir = NULL;
    WT_EQ_ERR(plat_fs_make_temp_dir("a/b", &dir), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_remove_tree(""), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_write_file_mkdirs(NULL, "x", 1), WARD_EINVAL);
}

WT_TEST(helpers_wt_scratch)
{
    const char *p = wt_write_file("x/y/z", "data", 4);
    WT_ASSERT(p != NULL);
}
