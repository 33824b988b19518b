/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows collector registry (CMake compiles this folder on Windows only). For now
 * only the os section is collected, from platform sysinfo (RtlGetVersion, the registry);
 * every other section says WARD_ENOTSUP explicitly until its Windows collector exists
 * (WMI/SetupAPI/registry uninstall keys are a later issue).
 */
#define WARD_LOG_TAG "inv-win"

#include "../collector.h"
#include "platform/sysinfo.h"
#include "ward/error.h"

static int collect_os(struct inv_ctx *ctx)
{
    struct plat_sysinfo si;
    json_t *row = inv_ctx_table(ctx, &inv_t_os);
    int rc;
    if (!row)
        return WARD_ENOMEM;
    rc = plat_sysinfo_get(ctx->root, &si);
    if (rc != 0)
        return inv_ctx_fail(ctx, rc, "sysinfo: %s", ward_strerror(rc));
    rc = inv_row_str(row, "hostname", si.hostname[0] ? si.hostname : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "id", si.os_id[0] ? si.os_id : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "name", si.os_name[0] ? si.os_name : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "version", si.os_version[0] ? si.os_version : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "pretty_name", si.os_pretty[0] ? si.os_pretty : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "build", si.os_build[0] ? si.os_build : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "kernel", si.kernel[0] ? si.kernel : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "arch", si.arch[0] ? si.arch : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "machine_id", si.machine_id[0] ? si.machine_id : NULL);
    if (rc == 0 && si.boot_time > 0)
        rc = inv_row_int(row, "boot_time", si.boot_time);
    return rc;
}

#define ENOTSUP_COLLECTOR(var, sec)                                                                \
    static const struct inv_collector var = {                                                      \
        .name = #sec,                                                                              \
        .section = &inv_sec_##sec,                                                                 \
        .collect = inv_collect_enotsup,                                                            \
        .budget_ms = 10,                                                                           \
        .cheap = 1,                                                                                \
    }

ENOTSUP_COLLECTOR(win_system, system);
ENOTSUP_COLLECTOR(win_cpu, cpu);
ENOTSUP_COLLECTOR(win_memory, memory);
ENOTSUP_COLLECTOR(win_disks, disks);
ENOTSUP_COLLECTOR(win_encryption, encryption);
ENOTSUP_COLLECTOR(win_network, network);
ENOTSUP_COLLECTOR(win_battery, battery);
ENOTSUP_COLLECTOR(win_tpm, tpm);
ENOTSUP_COLLECTOR(win_users, users);
ENOTSUP_COLLECTOR(win_services, services);
ENOTSUP_COLLECTOR(win_apps, apps);
ENOTSUP_COLLECTOR(win_certificates, certificates);

static const struct inv_collector win_os = {
    .name = "os",
    .section = &inv_sec_os,
    .collect = collect_os,
    .budget_ms = 200,
    .cheap = 1,
};

const struct inv_collector *const inv_registry[] = {
    &win_system,   &win_cpu,     &win_memory,       &win_disks, &win_encryption,
    &win_network,  &win_battery, &win_tpm,          &win_os,    &win_users,
    &win_services, &win_apps,    &win_certificates, NULL,
};
