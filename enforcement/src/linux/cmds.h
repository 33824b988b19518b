/* SPDX-License-Identifier: Apache-2.0 */
/* Linux command handlers (enforcement/src/linux/cmd_*.c). */
#ifndef ENFORCEMENT_LINUX_CMDS_H
#define ENFORCEMENT_LINUX_CMDS_H

#include "enforcement/command.h"

extern const struct enf_cmd enf_cmd_lock;
extern const struct enf_cmd enf_cmd_reboot;
extern const struct enf_cmd enf_cmd_shutdown;
extern const struct enf_cmd enf_cmd_run_script;
extern const struct enf_cmd enf_cmd_full_wipe;
extern const struct enf_cmd enf_cmd_package;
extern const struct enf_cmd enf_cmd_os_update;

/* The power action's resume steps (cmd_power.c), for a command that ends in a reboot or a
 * power-off once the service acknowledged (os_update): ACKED asks logind, BOOTED reports
 * the boot ids, starting from j->saved's "output" object when there is one. j->saved has
 * the "boot_id" from before. */
int enf_cmd_power_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase, int reboot);

#endif
