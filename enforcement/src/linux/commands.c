/* SPDX-License-Identifier: Apache-2.0 */
/* The Linux command registry: the order is the order of docs/commands.md. */
#include "../cmd/cmd_portable.h"
#include "cmds.h"

const struct enf_cmd *const enf_os_commands[] = {
    &enf_cmd_ping,
    &enf_cmd_sync,
    &enf_cmd_unenroll,
    &enf_cmd_inventory,
    &enf_cmd_lock,
    &enf_cmd_reboot,
    &enf_cmd_shutdown,
    &enf_cmd_run_script,
    &enf_cmd_package,
    &enf_cmd_os_update,
    &enf_cmd_selective_wipe,
    &enf_cmd_full_wipe,
    NULL,
};
