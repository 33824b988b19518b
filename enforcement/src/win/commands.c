/* SPDX-License-Identifier: Apache-2.0 */
/* The Windows command registry: device actions come with the Windows platform modules. */
#include <stdio.h>

#include "../cmd/cmd_portable.h"
#include "ward/error.h"

const struct enf_cmd *const enf_os_commands[] = {
    &enf_cmd_ping, &enf_cmd_sync, &enf_cmd_unenroll, &enf_cmd_inventory, NULL,
};

/* No package command on Windows yet (it comes with the Windows platform modules): a
 * selective wipe cannot have package artifacts to remove here, and says so if it has. */
int enf_os_package_remove(const char *root, const char *name, const json_t *artifacts, char *err,
                          size_t errlen)
{
    (void)root;
    (void)artifacts;
    snprintf(err, errlen, "this agent cannot remove the package \"%.64s\" on Windows yet", name);
    return WARD_ENOTSUP;
}
