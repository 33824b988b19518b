/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Filesystem services (interface being extended; see the full header below once landed).
 * The test helpers at the end work on plain host paths, no root prefix.
 */
#ifndef PLATFORM_FS_H
#define PLATFORM_FS_H

#include <stddef.h>

/* Creates a fresh private (0700) directory "<tmp>/<prefix>-XXXXXX" under the system temp
 * dir ($TMPDIR or /tmp; GetTempPathW on Windows); *out is an absolute path, ward_malloc'd. */
int plat_fs_make_temp_dir(const char *prefix, char **out);
/* Removes a directory tree (or a single file) without following symlinks. A missing path
 * is success. */
int plat_fs_remove_tree(const char *path);
/* Writes a whole file, creating missing parent directories (tests, fixtures). */
int plat_fs_write_file_mkdirs(const char *path, const void *data, size_t len);

#endif
