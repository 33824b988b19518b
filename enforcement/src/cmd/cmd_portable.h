/* SPDX-License-Identifier: Apache-2.0 */
/* Commands every OS's registry lists (enforcement/src/cmd/). */
#ifndef ENFORCEMENT_CMD_PORTABLE_H
#define ENFORCEMENT_CMD_PORTABLE_H

#include <stddef.h>

#include <jansson.h>

#include "enforcement/command.h"

extern const struct enf_cmd enf_cmd_ping;
extern const struct enf_cmd enf_cmd_sync;
extern const struct enf_cmd enf_cmd_unenroll;
extern const struct enf_cmd enf_cmd_inventory;
extern const struct enf_cmd enf_cmd_selective_wipe;

/* The OS's removal of a package Ward installed (selective_wipe), blocking (a work
 * thread): 0, or an error with the reason in err. artifacts (borrowed) is everything the
 * wipe removes: a removal that would take along a package not listed there is refused
 * with WARD_EDENIED. Linux: apt-get, live root only (cmd_package.c); elsewhere
 * WARD_ENOTSUP until that OS has a package command. */
int enf_os_package_remove(const char *root, const char *name, const json_t *artifacts, char *err,
                          size_t errlen);

#endif
