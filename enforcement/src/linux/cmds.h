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

#endif
