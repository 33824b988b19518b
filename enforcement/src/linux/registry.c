/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux registry of setting kinds: the one table the engine dispatches on (CMake picks
 * this folder on Linux). A new kind is one line here (and its table in kinds.h).
 */
#include "kinds.h"

const struct enf_kind *const enf_os_kinds[] = {
    &enf_kind_file,
    &enf_kind_line,
    &enf_kind_ini,
    &enf_kind_sysctl,
    &enf_kind_kernel_module,
    &enf_kind_command,
    &enf_kind_service,
    &enf_kind_package,
    &enf_kind_firewall,
    &enf_kind_user,
    &enf_kind_dconf,
    &enf_kind_mount_option,
    &enf_kind_password_policy,
    &enf_kind_trust_root,
    &enf_kind_client_cert,
    &enf_kind_wifi,
    &enf_kind_vpn,
    NULL,
};
