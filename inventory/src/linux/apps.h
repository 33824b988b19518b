/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package manager plug point of the apps collector: one table entry per manager,
 * detected at run time (several can coexist: dpkg with flatpak and snap, rpm on a
 * Debian machine used to build RPMs). Each adds rows to the apps table through the
 * collector context.
 */
#ifndef INVENTORY_LINUX_APPS_H
#define INVENTORY_LINUX_APPS_H

#include "../collector.h"

struct inv_pkgmgr {
    const char *name; /* the rows' "source" */
    /* Nonzero when this manager's database exists under the root. */
    int (*detect)(struct inv_ctx *ctx);
    /* Adds rows; an error keeps the rows added so far (the collector reports it partial). */
    int (*collect)(struct inv_ctx *ctx);
};

extern const struct inv_pkgmgr inv_pkg_dpkg, inv_pkg_rpm, inv_pkg_flatpak, inv_pkg_snap;

/* Row helper shared by the managers: source, name, arch, version. */
json_t *inv_app_row(struct inv_ctx *ctx, const char *source, const char *name, size_t name_len,
                    const char *arch, size_t arch_len, const char *version, size_t version_len);

#endif
