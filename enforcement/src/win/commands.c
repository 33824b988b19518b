/* SPDX-License-Identifier: Apache-2.0 */
/* The Windows command registry: device actions come with the Windows platform modules. */
#include "../cmd/cmd_portable.h"

const struct enf_cmd *const enf_os_commands[] = {
    &enf_cmd_ping, &enf_cmd_sync, &enf_cmd_unenroll, &enf_cmd_inventory, NULL,
};
