/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward-server's inventory store (docs/protocol.md, "POST /api/v1/inventory"): full and
 * delta uploads checked against the schema and the document hash, one database row per
 * device, table and row key (so queries are plain SQL plus a few comparisons), the
 * hardware/OS summary `device show` prints, and `inventory find` conditions with package
 * version ordering (dpkg, rpm).
 */
#ifndef SERVER_INVENTORY_H
#define SERVER_INVENTORY_H

#include <stddef.h>

#include <jansson.h>

#include "inventory/inventory.h"

struct srv_app;

/* Per-route body cap of the upload (decoded). */
#define SRV_INVENTORY_MAX_BODY ((size_t)8 << 20)

/* Handles one upload (the parsed request body). Always sets *status and *resp (new): 200
 * {"hash", "applied": "full"|"delta"|"already"}, 400 bad_request, 409 inventory_resync
 * (the agent must send a full upload next) or 500. wire_bytes is the body size as it came
 * over the connection (compressed), body_bytes decoded; both are kept for `device show`.
 * Returns 0 when an answer was made (whatever its status), or WARD_ENOMEM. */
int srv_inventory_upload(struct srv_app *app, const char *device_id, const json_t *req,
                         size_t wire_bytes, size_t body_bytes, int *status, json_t **resp);

/* The device's stored document (sections in schema order, rows in key order, plus the
 * "collection" object of the last upload), new. WARD_ENOENT when the device never sent
 * one. */
int srv_inventory_load(struct srv_app *app, const char *device_id, json_t **doc);

/* The summary `device show` prints: vendor, model, CPU, RAM, disks, OS, encrypted root,
 * app counts, plus upload metadata (hash, times, last upload kind and bytes). New;
 * WARD_ENOENT when the device has no inventory. */
int srv_inventory_summary(struct srv_app *app, const char *device_id, json_t **out);

/* ---- queries ---------------------------------------------------------------------------- */

enum srv_inv_op {
    SRV_INV_EQ = 0, /* =  */
    SRV_INV_NE,     /* != */
    SRV_INV_LT,     /* <  (strings: package version order) */
    SRV_INV_LE,     /* <= */
    SRV_INV_GT,     /* >  */
    SRV_INV_GE,     /* >= */
    SRV_INV_GLOB,   /* ~  shell pattern (fnmatch), strings only */
};

/* One condition: TABLE.COLUMN OP VALUE. */
struct srv_inv_cond {
    const struct inv_table *table;
    const struct inv_column *column;
    enum srv_inv_op op;
    char value[256];
};

/* Parses "apps.version<3.0.15", "encryption.summary.root_encrypted = false",
 * "memory.total_bytes >= 8G" (spaces around the operator are optional). WARD_EINVAL with a
 * message in err for an unknown table or column, a missing operator, a value that does
 * not fit the column's type, or an ordering operator on a bool. */
int srv_inv_cond_parse(const char *text, struct srv_inv_cond *out, char *err, size_t errlen);

/* 1 when row (a row of cond->table) satisfies cond. A column missing from the row never
 * satisfies anything. */
int srv_inv_cond_match(const struct srv_inv_cond *cond, const json_t *row);

/* Devices whose inventory has, for every table named by the conditions, at least one row
 * satisfying all of that table's conditions. *out is a new array of
 * {"device_id", "hostname", "matches": {table: [rows]}}, by device id. */
int srv_inventory_find(struct srv_app *app, const struct srv_inv_cond *conds, size_t n,
                       json_t **out);

#endif
