/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux collector registry (CMake compiles this folder on Linux only). Order does not
 * matter: the runner walks sections in schema order.
 */
#include "../collector.h"

extern const struct inv_collector inv_lx_system, inv_lx_cpu, inv_lx_memory, inv_lx_disks,
    inv_lx_encryption, inv_lx_network, inv_lx_battery, inv_lx_tpm, inv_lx_os, inv_lx_users,
    inv_lx_services, inv_lx_apps, inv_lx_certificates;

const struct inv_collector *const inv_registry[] = {
    &inv_lx_system,   &inv_lx_cpu,     &inv_lx_memory,       &inv_lx_disks, &inv_lx_encryption,
    &inv_lx_network,  &inv_lx_battery, &inv_lx_tpm,          &inv_lx_os,    &inv_lx_users,
    &inv_lx_services, &inv_lx_apps,    &inv_lx_certificates, NULL,
};
