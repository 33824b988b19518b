/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-place writes for kernel interfaces: Windows has none of the /proc/sys kind, so no
 * Windows kind calls this; it says so explicitly instead of pretending to succeed.
 */
#include "../internal.h"
#include "ward/error.h"

int enf_os_write_inplace(const char *root, const char *path, const void *data, size_t len)
{
    (void)root;
    (void)path;
    (void)data;
    (void)len;
    return WARD_ENOTSUP;
}
