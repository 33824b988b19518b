/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ward's local inventory: collect the machine's hardware, OS, users, services and apps
 * into one document, described by schema tables that also drive validation, the JSON shape
 * and docs/inventory.md.
 *
 * Shape. A *section* is one collector's result and one top-level key of the document. A
 * section holds one or more *tables*; a table is either a single row (shape OBJECT: the
 * JSON object itself) or an array of rows (shape ARRAY). A table's `member` says where it
 * sits: NULL means the section value itself, otherwise the member of the section object.
 * Rows only hold scalar columns (string, int, bool, real) from the table; a column that is
 * unknown on this machine is left out of the row, never null. Key columns are always
 * present and identify a row within its table (rows are sorted by them, duplicates are
 * dropped), which is what a delta between two documents diffs on.
 *
 * Errors. A collector that fails leaves its section out of the data (or, when it says the
 * rows it has are good, keeps them and marks the error "partial") and its error goes to
 * "collection": {"errors": {"services": {"code": "WARD_ENOTSUP", "message": "...",
 * "partial": false}}, "duration_ms": {...}, "agent_version": "...", "os": "linux"}.
 * Over its time budget a collector stops between rows with WARD_ETIMEDOUT; the rows it
 * had are kept and the error is marked partial.
 */
#ifndef INVENTORY_INVENTORY_H
#define INVENTORY_INVENTORY_H

#include <stddef.h>

#include <jansson.h>

#include "ward/buf.h"

enum inv_type {
    INV_STRING = 0,
    INV_INT,
    INV_BOOL,
    INV_REAL,
};

#define INV_COL_KEY 0x1u /* part of the row's identity within its table */
/* Changes on its own from one minute to the next (free memory, battery charge): left out
 * of the inventory hash and of delta comparisons (inventory/delta.h), so an unchanged
 * machine sends an empty delta. The value is still sent with every row that is sent. */
#define INV_COL_VOLATILE 0x2u

struct inv_column {
    const char *name;
    enum inv_type type;
    unsigned int flags; /* INV_COL_* */
    const char *description;
};

enum inv_shape {
    INV_SHAPE_OBJECT = 0, /* one row */
    INV_SHAPE_ARRAY,      /* rows, sorted by key columns */
};

struct inv_table {
    const char *name;    /* "apps", "network.interfaces": section[.member] */
    const char *section; /* top-level key */
    const char *member;  /* NULL: the section value itself; else a member of it */
    enum inv_shape shape;
    const char *description;
    const struct inv_column *columns; /* terminated by a {.name = NULL} entry */
};

struct inv_section {
    const char *name;
    const char *description;
    const struct inv_table *const *tables; /* NULL-terminated */
};

/* Every section Ward knows (the schema is the same on every OS; a collector an OS does not
 * have reports WARD_ENOTSUP). NULL-terminated, in document order. */
extern const struct inv_section *const inv_sections[];

const struct inv_section *inv_section_find(const char *name);
/* By table name ("apps", "network.routes"). */
const struct inv_table *inv_table_find(const char *name);
size_t inv_table_ncolumns(const struct inv_table *t);
const char *inv_type_name(enum inv_type t);

/* ---- Collecting ---- */

#define INV_F_CHEAP_ONLY 0x1u  /* only the collectors marked cheap (os, network, users ...) */
#define INV_F_ZERO_BUDGET 0x2u /* tests: every collector is over budget from the start */

struct inv_options {
    const char *root;              /* file prefix; NULL or "/" is the live system */
    const char *const *sections;   /* NULL: all; else NULL-terminated names to collect */
    unsigned int flags;            /* INV_F_* */
    unsigned int budget_scale_pct; /* 0 = 100: scales every collector's time budget */
};

struct inv_doc;

/* Runs the collectors and builds *out (free with inv_doc_free). Collector failures are in
 * the document, not in the return value: errors are WARD_EINVAL (unknown section name),
 * WARD_ENOMEM. */
int inv_collect(const struct inv_options *o, struct inv_doc **out);
void inv_doc_free(struct inv_doc *d);

/* The whole document, borrowed (valid until inv_doc_free). Keys in schema order. */
const json_t *inv_doc_json(const struct inv_doc *d);
/* A section's value (object or array), borrowed; NULL when absent (failed or not asked). */
const json_t *inv_doc_section(const struct inv_doc *d, const char *section);
/* The collection error of a section: 0 when none; *message borrowed (may be NULL). */
int inv_doc_section_error(const struct inv_doc *d, const char *section, const char **message,
                          int *partial);

/* Serializes the document (compact, or WARD_JSON_PRETTY). *out is new (ward_free). */
int inv_doc_dump(const struct inv_doc *d, unsigned int json_flags, char **out, size_t *len);

/* ---- Rows and keys (for deltas) ---- */

/* The column of t named name, or NULL. */
const struct inv_column *inv_table_column(const struct inv_table *t, const char *name);

/* A table's rows in a document: a borrowed array for ARRAY tables; for OBJECT tables a
 * borrowed object (one row, key ""). WARD_ENOENT when the table is absent. */
int inv_doc_table(const json_t *doc, const struct inv_table *t, const json_t **value);

/* The identity of a row: its key columns as a compact JSON array text, e.g.
 * ["dpkg","openssl","amd64"]; "[]" for tables without key columns (single rows).
 * Unambiguous and stable across runs. *out is new (ward_free). */
int inv_row_key(const struct inv_table *t, const json_t *row, char **out);

/* Calls cb for every row of every table present in doc, in schema order and sorted row
 * order; a nonzero cb return stops the walk and is returned. */
typedef int (*inv_row_cb)(const struct inv_table *t, const char *key, const json_t *row, void *ctx);
int inv_doc_foreach_row(const json_t *doc, inv_row_cb cb, void *ctx);

/* Checks a whole document against the schema: only known sections and members, every row
 * an object whose members are columns of the right type, key columns present and unique,
 * "collection" well formed. 0 or WARD_EPARSE with a message in err. */
int inv_validate(const json_t *doc, char *err, size_t errlen);

/* ---- Text ---- */

/* Compact human summary of a document (hardware, OS, disks, network, apps by source,
 * errors), appended to b. */
int inv_doc_summary(const struct inv_doc *d, struct ward_buf *b);
/* docs/inventory.md, generated from the schema tables. */
int inv_schema_markdown(struct ward_buf *b);

#endif
