/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File access for the Linux collectors, always under the collection root. Whole-file reads
 * and stat go through platform/fs.h (its confinement: symlinks resolved inside the root);
 * platform has no directory listing or readlink yet, so these helpers resolve the
 * directory with plat_fs_resolve() and then list or read the link there. Link targets are
 * only ever parsed as text, never followed.
 */
#ifndef INVENTORY_LINUX_LXFS_H
#define INVENTORY_LINUX_LXFS_H

#include <stddef.h>

#include "../collector.h"
#include "ward/config.h"

#define INV_LX_ATTR_MAX 4096
#define INV_LX_DIR_MAX 4096 /* entries listed per directory */

int inv_lx_read(const struct inv_ctx *ctx, const char *path, size_t max, char **data, size_t *len);
/* Reads a small file (sysfs attribute) into buf, trimmed of surrounding white space.
 * WARD_ETOOBIG when it does not fit. */
int inv_lx_attr(const struct inv_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
    WARD_PRINTF(4, 5);
int inv_lx_attr_ll(const struct inv_ctx *ctx, long long *out, const char *fmt, ...)
    WARD_PRINTF(3, 4);
/* 1 when path exists (following links inside the root), else 0. */
int inv_lx_exists(const struct inv_ctx *ctx, const char *fmt, ...) WARD_PRINTF(2, 3);

struct inv_names {
    char **v;
    size_t n;
};
/* Sorted entry names of a directory, without "." and "..". */
int inv_lx_listdir(const struct inv_ctx *ctx, const char *path, struct inv_names *out);
void inv_names_release(struct inv_names *names);

/* The text of a symlink (not followed). */
int inv_lx_readlink(const struct inv_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
    WARD_PRINTF(4, 5);
/* Last component of a string path ("../../bus/pci/drivers/e1000e" -> "e1000e"). */
const char *inv_lx_basename(const char *path);

#endif
