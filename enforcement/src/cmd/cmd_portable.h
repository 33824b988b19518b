/* SPDX-License-Identifier: Apache-2.0 */
/* Commands every OS's registry lists (enforcement/src/cmd/). */
#ifndef ENFORCEMENT_CMD_PORTABLE_H
#define ENFORCEMENT_CMD_PORTABLE_H

#include "enforcement/command.h"

extern const struct enf_cmd enf_cmd_ping;
extern const struct enf_cmd enf_cmd_sync;
extern const struct enf_cmd enf_cmd_unenroll;
extern const struct enf_cmd enf_cmd_inventory;
extern const struct enf_cmd enf_cmd_selective_wipe;

#endif
