/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux hardware collectors that read a handful of small files each: the system section
 * (DMI from /sys/class/dmi/id), cpu (/proc/cpuinfo and /sys/devices/system/cpu), memory
 * (/proc/meminfo), battery (/sys/class/power_supply) and tpm (/sys/class/tpm). Absent
 * hardware (no DMI on a VM, no battery, no TPM) is a normal result, not an error.
 */
#define WARD_LOG_TAG "inv-hw"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"
#include "inventory/parse.h"
#include "lxfs.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define CPUINFO_MAX (8u << 20) /* 4096 CPUs x ~2 KiB of flags */
#define SMALL_MAX (64u * 1024)

/* ---- system ---- */

static int dmi_placeholder(const char *v)
{
    static const char *const junk[] = {
        "To Be Filled By O.E.M.",
        "To be filled by O.E.M.",
        "Default string",
        "Not Specified",
        "Not Applicable",
        "System Product Name",
        "System manufacturer",
        "System Serial Number",
        "System Version",
        "0123456789",
        "None",
        NULL,
    };
    if (!v[0])
        return 1;
    for (size_t i = 0; junk[i]; i++)
        if (strcmp(v, junk[i]) == 0)
            return 1;
    return 0;
}

static const char *chassis_name(long long t)
{
    static const char *const names[] = {
        NULL,
        "other",
        "unknown",
        "desktop",
        "low-profile desktop",
        "pizza box",
        "mini tower",
        "tower",
        "portable",
        "laptop",
        "notebook",
        "hand held",
        "docking station",
        "all in one",
        "sub notebook",
        "space-saving",
        "lunch box",
        "main server chassis",
        "expansion chassis",
        "sub chassis",
        "bus expansion chassis",
        "peripheral chassis",
        "raid chassis",
        "rack mount chassis",
        "sealed-case pc",
        "multi-system chassis",
        "compact pci",
        "advanced tca",
        "blade",
        "blade enclosure",
        "tablet",
        "convertible",
        "detachable",
        "iot gateway",
        "embedded pc",
        "mini pc",
        "stick pc",
    };
    if (t <= 0 || (size_t)t >= sizeof(names) / sizeof(names[0]))
        return NULL;
    return names[t];
}

static int collect_system(struct inv_ctx *ctx)
{
    static const struct {
        const char *file, *col;
    } fields[] = {
        {"sys_vendor", "vendor"},        {"product_name", "product"},
        {"product_version", "version"},  {"product_serial", "serial"},
        {"product_uuid", "uuid"},        {"product_sku", "sku"},
        {"product_family", "family"},    {"board_vendor", "board_vendor"},
        {"board_name", "board_product"}, {"board_serial", "board_serial"},
        {"bios_vendor", "bios_vendor"},  {"bios_version", "bios_version"},
        {"bios_date", "bios_date"},
    };
    json_t *row = inv_ctx_table(ctx, &inv_t_system);
    char v[256];
    long long ct;
    int rc;

    if (!row)
        return WARD_ENOMEM;
    if (!inv_lx_exists(ctx, "/sys/class/dmi/id"))
        return inv_row_bool(row, "dmi_present", 0);
    rc = inv_row_bool(row, "dmi_present", 1);
    for (size_t i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++) {
        /* serial and uuid are 0400: unreadable without root, which just means unknown */
        if (inv_lx_attr(ctx, v, sizeof(v), "/sys/class/dmi/id/%s", fields[i].file) == 0 &&
            !dmi_placeholder(v))
            rc = inv_row_str(row, fields[i].col, v);
    }
    if (rc == 0 && inv_lx_attr_ll(ctx, &ct, "/sys/class/dmi/id/chassis_type") == 0 && ct > 0 &&
        ct < 256) {
        rc = inv_row_int(row, "chassis_type_id", ct);
        if (rc == 0 && chassis_name(ct))
            rc = inv_row_str(row, "chassis_type", chassis_name(ct));
    }
    return rc;
}

/* ---- cpu ---- */

struct topo {
    long long pkg, core;
};

static int cmp_topo(const void *a, const void *b)
{
    const struct topo *x = a, *y = b;
    if (x->pkg != y->pkg)
        return (x->pkg > y->pkg) - (x->pkg < y->pkg);
    return (x->core > y->core) - (x->core < y->core);
}

static int cpu_dir(const char *name)
{
    if (strncmp(name, "cpu", 3) != 0 || !name[3])
        return 0;
    for (const char *p = name + 3; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

static int collect_cpu(struct inv_ctx *ctx)
{
    struct inv_cpuinfo ci;
    struct inv_names cpus = {NULL, 0};
    struct topo *topo = NULL;
    size_t nt = 0, ncpu = 0;
    long long max_khz = 0;
    char *data = NULL;
    size_t len = 0;
    json_t *row = inv_ctx_table(ctx, &inv_t_cpu);
    int rc, timed_out = 0;

    if (!row)
        return WARD_ENOMEM;
    rc = inv_lx_read(ctx, "/proc/cpuinfo", CPUINFO_MAX, &data, &len);
    if (rc != 0)
        return inv_ctx_fail(ctx, rc, "/proc/cpuinfo: %s", ward_strerror(rc));
    inv_cpuinfo_parse(data, len, &ci);
    ward_free(data);

    /* sysfs topology is authoritative where it exists (ARM cpuinfo has no ids). */
    if (inv_lx_listdir(ctx, "/sys/devices/system/cpu", &cpus) == 0 && cpus.n) {
        topo = ward_calloc(cpus.n, sizeof(*topo));
        if (!topo) {
            rc = WARD_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < cpus.n; i++) {
            long long khz;
            if (!cpu_dir(cpus.v[i]))
                continue;
            if (inv_ctx_expired(ctx)) {
                timed_out = 1;
                break;
            }
            ncpu++;
            if (inv_lx_attr_ll(ctx, &topo[nt].pkg,
                               "/sys/devices/system/cpu/%s/topology/physical_package_id",
                               cpus.v[i]) == 0 &&
                inv_lx_attr_ll(ctx, &topo[nt].core, "/sys/devices/system/cpu/%s/topology/core_id",
                               cpus.v[i]) == 0)
                nt++;
            if (inv_lx_attr_ll(ctx, &khz, "/sys/devices/system/cpu/%s/cpufreq/cpuinfo_max_freq",
                               cpus.v[i]) == 0 &&
                khz > max_khz)
                max_khz = khz;
        }
    }
    if (nt) {
        size_t sockets = 0, cores = 0;
        qsort(topo, nt, sizeof(*topo), cmp_topo);
        for (size_t i = 0; i < nt; i++) {
            if (i == 0 || topo[i].pkg != topo[i - 1].pkg)
                sockets++;
            if (i == 0 || cmp_topo(&topo[i], &topo[i - 1]) != 0)
                cores++;
        }
        ci.sockets = (int)sockets;
        ci.cores = (int)cores;
    }
    if (!ci.threads)
        ci.threads = (int)ncpu;
    if (max_khz > 0)
        ci.max_mhz = (int)(max_khz / 1000);

    rc = inv_row_str(row, "vendor", ci.vendor[0] ? ci.vendor : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "model", ci.model[0] ? ci.model : NULL);
    if (rc == 0 && ci.family >= 0)
        rc = inv_row_int(row, "family", ci.family);
    if (rc == 0 && ci.model_id >= 0)
        rc = inv_row_int(row, "model_id", ci.model_id);
    if (rc == 0 && ci.stepping >= 0)
        rc = inv_row_int(row, "stepping", ci.stepping);
    if (rc == 0 && ci.sockets)
        rc = inv_row_int(row, "sockets", ci.sockets);
    if (rc == 0 && ci.cores)
        rc = inv_row_int(row, "cores", ci.cores);
    if (rc == 0 && ci.threads)
        rc = inv_row_int(row, "threads", ci.threads);
    if (rc == 0 && ci.max_mhz)
        rc = inv_row_int(row, "max_mhz", ci.max_mhz);
    if (rc == 0 && (ci.vmx || ci.svm))
        rc = inv_row_str(row, "virtualization", ci.vmx ? "vt-x" : "amd-v");
    if (rc == 0)
        rc = inv_row_bool(row, "hypervisor", ci.hypervisor);
    if (rc == 0 && timed_out)
        rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "over budget reading CPU topology");
out:
    ward_free(topo);
    inv_names_release(&cpus);
    return rc;
}

/* ---- memory ---- */

static int collect_memory(struct inv_ctx *ctx)
{
    struct inv_meminfo mi;
    char *data = NULL;
    size_t len = 0;
    json_t *row = inv_ctx_table(ctx, &inv_t_memory);
    int rc;
    if (!row)
        return WARD_ENOMEM;
    rc = inv_lx_read(ctx, "/proc/meminfo", SMALL_MAX, &data, &len);
    if (rc != 0)
        return inv_ctx_fail(ctx, rc, "/proc/meminfo: %s", ward_strerror(rc));
    inv_meminfo_parse(data, len, &mi);
    ward_free(data);
    if (mi.total < 0)
        return inv_ctx_fail(ctx, WARD_EPARSE, "/proc/meminfo: no MemTotal");
    rc = inv_row_int(row, "total_bytes", mi.total);
    if (rc == 0 && mi.available >= 0)
        rc = inv_row_int(row, "available_bytes", mi.available);
    if (rc == 0 && mi.swap_total >= 0)
        rc = inv_row_int(row, "swap_total_bytes", mi.swap_total);
    if (rc == 0 && mi.swap_free >= 0)
        rc = inv_row_int(row, "swap_free_bytes", mi.swap_free);
    return rc;
}

/* ---- battery ---- */

/* A power_supply property from its uevent (one read), else from its own file. */
static int ps_prop(const struct inv_ctx *ctx, const char *uev, size_t uev_len, const char *dev,
                   const char *key, const char *file, char *out, size_t size)
{
    struct inv_span v;
    out[0] = '\0';
    if (uev && inv_kv_get(uev, uev_len, key, &v) == 0) {
        if (v.n >= size)
            return WARD_ETOOBIG;
        memcpy(out, v.p, v.n);
        out[v.n] = '\0';
        return 0;
    }
    return inv_lx_attr(ctx, out, size, "/sys/class/power_supply/%s/%s", dev, file);
}

static int ps_num(const struct inv_ctx *ctx, const char *uev, size_t uev_len, const char *dev,
                  const char *key, const char *file, long long *out)
{
    char v[64];
    if (ps_prop(ctx, uev, uev_len, dev, key, file, v, sizeof(v)) != 0)
        return WARD_ENOENT;
    return inv_parse_ll(v, strlen(v), out);
}

static int battery_row(struct inv_ctx *ctx, const char *dev)
{
    static const struct {
        const char *key, *file, *col;
    } strs[] = {
        {"POWER_SUPPLY_MANUFACTURER", "manufacturer", "manufacturer"},
        {"POWER_SUPPLY_MODEL_NAME", "model_name", "model"},
        {"POWER_SUPPLY_SERIAL_NUMBER", "serial_number", "serial"},
        {"POWER_SUPPLY_TECHNOLOGY", "technology", "technology"},
        {"POWER_SUPPLY_STATUS", "status", "status"},
    };
    char path[320], v[256], *uev = NULL;
    size_t uev_len = 0;
    long long x, full, design;
    json_t *row;
    int rc = 0;

    snprintf(path, sizeof(path), "/sys/class/power_supply/%s/uevent", dev);
    if (inv_lx_read(ctx, path, SMALL_MAX, &uev, &uev_len) != 0)
        uev = NULL;
    if (ps_prop(ctx, uev, uev_len, dev, "POWER_SUPPLY_TYPE", "type", v, sizeof(v)) != 0 ||
        strcmp(v, "Battery") != 0)
        goto out; /* mains, USB ports */
    /* scope=Device: a wireless mouse or headset reporting its own battery */
    if (ps_prop(ctx, uev, uev_len, dev, "POWER_SUPPLY_SCOPE", "scope", v, sizeof(v)) == 0 &&
        strcmp(v, "Device") == 0)
        goto out;
    row = inv_ctx_new_row(ctx, &inv_t_batteries);
    if (!row) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = inv_row_str(row, "name", dev);
    for (size_t i = 0; rc == 0 && i < sizeof(strs) / sizeof(strs[0]); i++)
        if (ps_prop(ctx, uev, uev_len, dev, strs[i].key, strs[i].file, v, sizeof(v)) == 0 && v[0])
            rc = inv_row_str(row, strs[i].col, v);
    if (rc == 0 && ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_PRESENT", "present", &x) == 0)
        rc = inv_row_bool(row, "present", x != 0);
    if (rc == 0 && ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_CAPACITY", "capacity", &x) == 0 &&
        x >= 0 && x <= 100)
        rc = inv_row_int(row, "capacity_percent", x);
    if (rc == 0 &&
        ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_CYCLE_COUNT", "cycle_count", &x) == 0 &&
        x >= 0)
        rc = inv_row_int(row, "cycle_count", x);
    if (rc == 0 &&
        ((ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_ENERGY_FULL", "energy_full", &full) == 0 &&
          ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_ENERGY_FULL_DESIGN", "energy_full_design",
                 &design) == 0) ||
         (ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_CHARGE_FULL", "charge_full", &full) == 0 &&
          ps_num(ctx, uev, uev_len, dev, "POWER_SUPPLY_CHARGE_FULL_DESIGN", "charge_full_design",
                 &design) == 0)) &&
        design > 0 && full >= 0) {
        /* one decimal: stable text, and more precision than batteries report honestly */
        double h = (double)(full * 1000 / design) / 10.0;
        rc = inv_row_real(row, "health_percent", h);
    }
out:
    ward_free(uev);
    return rc;
}

static int collect_battery(struct inv_ctx *ctx)
{
    struct inv_names ps = {NULL, 0};
    int rc;
    if (!inv_ctx_table(ctx, &inv_t_batteries))
        return WARD_ENOMEM;
    rc = inv_lx_listdir(ctx, "/sys/class/power_supply", &ps);
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0 && rc != WARD_ETOOBIG)
        return inv_ctx_fail(ctx, rc, "/sys/class/power_supply: %s", ward_strerror(rc));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        if (inv_ctx_expired(ctx)) {
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "over budget after %zu power supplies", i);
            break;
        }
        rc = battery_row(ctx, ps.v[i]);
    }
    inv_names_release(&ps);
    return rc;
}

/* ---- tpm ---- */

static int collect_tpm(struct inv_ctx *ctx)
{
    struct inv_names devs = {NULL, 0};
    json_t *row = inv_ctx_table(ctx, &inv_t_tpm);
    const char *dev = NULL;
    char v[256];
    long long major;
    int rc;

    if (!row)
        return WARD_ENOMEM;
    rc = inv_lx_listdir(ctx, "/sys/class/tpm", &devs);
    for (size_t i = 0; rc == 0 && i < devs.n && !dev; i++)
        if (strncmp(devs.v[i], "tpm", 3) == 0)
            dev = devs.v[i];
    if (!dev) {
        inv_names_release(&devs);
        return inv_row_bool(row, "present", 0);
    }
    rc = inv_row_bool(row, "present", 1);
    if (rc == 0)
        rc = inv_row_str(row, "device", dev);
    if (rc == 0) {
        struct inv_tpm_caps caps;
        char *data = NULL;
        size_t len = 0;
        char path[300];
        memset(&caps, 0, sizeof(caps));
        snprintf(path, sizeof(path), "/sys/class/tpm/%s/device/caps", dev);
        if (inv_lx_read(ctx, path, SMALL_MAX, &data, &len) == 0)
            inv_tpm_caps_parse(data, len, &caps);
        ward_free(data);
        if (inv_lx_attr_ll(ctx, &major, "/sys/class/tpm/%s/tpm_version_major", dev) == 0)
            rc = inv_row_str(row, "version", major == 2 ? "2.0" : major == 1 ? "1.2" : NULL);
        else if (caps.version[0])
            rc = inv_row_str(row, "version", caps.version);
        else if (inv_lx_exists(ctx, "/sys/class/tpmrm/%srm", dev))
            rc = inv_row_str(row, "version", "2.0"); /* resource managers are TPM 2.0 only */
        if (rc == 0 && caps.manufacturer[0])
            rc = inv_row_str(row, "manufacturer", caps.manufacturer);
        if (rc == 0 &&
            (inv_lx_attr(ctx, v, sizeof(v), "/sys/class/tpm/%s/device/firmware_node/description",
                         dev) == 0 ||
             inv_lx_attr(ctx, v, sizeof(v), "/sys/class/tpm/%s/device/description", dev) == 0) &&
            v[0])
            rc = inv_row_str(row, "description", v);
        if (rc == 0 && !caps.manufacturer[0] &&
            inv_lx_attr(ctx, v, sizeof(v), "/sys/class/tpm/%s/device/hid", dev) == 0 && v[0])
            rc = inv_row_str(row, "manufacturer", v);
    }
    inv_names_release(&devs);
    return rc;
}

const struct inv_collector inv_lx_system = {
    .name = "system",
    .section = &inv_sec_system,
    .collect = collect_system,
    .budget_ms = 200,
    .cheap = 0,
};
const struct inv_collector inv_lx_cpu = {
    .name = "cpu",
    .section = &inv_sec_cpu,
    .collect = collect_cpu,
    .budget_ms = 300,
    .cheap = 0,
};
const struct inv_collector inv_lx_memory = {
    .name = "memory",
    .section = &inv_sec_memory,
    .collect = collect_memory,
    .budget_ms = 100,
    .cheap = 1,
};
const struct inv_collector inv_lx_battery = {
    .name = "battery",
    .section = &inv_sec_battery,
    .collect = collect_battery,
    .budget_ms = 200,
    .cheap = 1,
};
const struct inv_collector inv_lx_tpm = {
    .name = "tpm",
    .section = &inv_sec_tpm,
    .collect = collect_tpm,
    .budget_ms = 100,
    .cheap = 0,
};
