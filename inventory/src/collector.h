/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector plug point: each OS has one NULL-terminated registry of collectors
 * (inventory/src/<os>/registry.c, picked by CMake), and each collector fills its section
 * through an inv_ctx. Rows are built with the inv_row_* helpers, which take counted
 * strings from files and leave a column out when the text is not clean (control bytes,
 * invalid UTF-8, too long) rather than letting junk into the document.
 */
#ifndef INVENTORY_COLLECTOR_H
#define INVENTORY_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "inventory/inventory.h"
#include "ward/config.h"

/* Longest string value a row takes; longer text is treated as unknown. */
#define INV_VALUE_MAX 4096

struct inv_ctx {
    const char *root; /* never NULL */
    int live;         /* root is "/": syscalls about the running system are meaningful */
    uint64_t deadline_ns;
    const struct inv_collector *collector;
    json_t *value;   /* the section value being built (object or array) */
    int partial;     /* set by a collector whose error still leaves good rows */
    char msg[256];   /* error message for the document */
    unsigned checks; /* calls to inv_ctx_expired, to look at the clock only now and then */
};

struct inv_collector {
    const char *name; /* section name */
    const struct inv_section *section;
    int (*collect)(struct inv_ctx *ctx);
    unsigned int budget_ms;
    int cheap; /* worth running more often than a full collection */
};

/* Per OS: NULL-terminated. */
extern const struct inv_collector *const inv_registry[];

/* Nonzero once the collector's deadline passed (looks at the clock every few calls). */
int inv_ctx_expired(struct inv_ctx *ctx);
/* Records a message for the collector's error; returns err for `return inv_ctx_fail(...)`. */
int inv_ctx_fail(struct inv_ctx *ctx, int err, const char *fmt, ...) WARD_PRINTF(3, 4);

/* The JSON value of table t inside the section: a row object (OBJECT) or an array (ARRAY),
 * created on first use; borrowed. NULL on allocation failure. */
json_t *inv_ctx_table(struct inv_ctx *ctx, const struct inv_table *t);
/* New row appended to ARRAY table t; borrowed. NULL on allocation failure. */
json_t *inv_ctx_new_row(struct inv_ctx *ctx, const struct inv_table *t);

/* Row setters: 0, or WARD_ENOMEM. Unclean strings leave the column out (returns 0). */
int inv_row_strn(json_t *row, const char *col, const char *s, size_t n);
int inv_row_str(json_t *row, const char *col, const char *s);
int inv_row_int(json_t *row, const char *col, long long v);
int inv_row_bool(json_t *row, const char *col, int v);
int inv_row_real(json_t *row, const char *col, double v);
/* Nonzero when s[0..n) is valid UTF-8 without control bytes and at most INV_VALUE_MAX. */
int inv_text_clean(const char *s, size_t n);

/* A collector for sections an OS does not have: WARD_ENOTSUP. */
int inv_collect_enotsup(struct inv_ctx *ctx);

/* Sections and tables (schema.c). */
extern const struct inv_section inv_sec_system, inv_sec_cpu, inv_sec_memory, inv_sec_disks,
    inv_sec_encryption, inv_sec_network, inv_sec_battery, inv_sec_tpm, inv_sec_os, inv_sec_users,
    inv_sec_services, inv_sec_apps, inv_sec_certificates;
extern const struct inv_table inv_t_system, inv_t_cpu, inv_t_memory, inv_t_disks_devices,
    inv_t_disks_partitions, inv_t_disks_filesystems, inv_t_encryption, inv_t_encryption_volumes,
    inv_t_net_interfaces, inv_t_net_addresses, inv_t_net_routes, inv_t_net_dns, inv_t_batteries,
    inv_t_tpm, inv_t_os, inv_t_users_accounts, inv_t_users_sessions, inv_t_services, inv_t_apps,
    inv_t_certificates;

#endif
