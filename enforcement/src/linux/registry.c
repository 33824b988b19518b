/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux registry of setting kinds: the one table the engine dispatches on (CMake picks
 * this folder on Linux). Kinds still to come (service, package, firewall, user, dconf,
 * mount_option, password_policy) are added here as one line each.
 */
#include "kinds.h"

const struct enf_kind *const enf_os_kinds[] = {
    &enf_kind_file,          &enf_kind_line,    &enf_kind_ini, &enf_kind_sysctl,
    &enf_kind_kernel_module, &enf_kind_command, NULL,
};
