/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inventory hashes and deltas (docs/protocol.md, "POST /api/v1/inventory"): the canonical
 * serialization of a document and its SHA-256, the merge of a new collection into the
 * document last sent (sections that failed keep their last rows), the row-by-row delta
 * between two documents, applying a delta, and schema checks of uploaded sections. Pure
 * functions on jansson values and the schema tables, with no collector and no platform
 * code, so the agent and ward-server link the same code (library ward_inventory_schema).
 *
 * "Document" below means a JSON object whose members are sections, as `ward inventory
 * --json` prints it; a "collection" member, if present, is ignored by every function
 * here except inv_doc_merge.
 */
#ifndef INVENTORY_DELTA_H
#define INVENTORY_DELTA_H

#include <stddef.h>

#include <jansson.h>

#include "inventory/inventory.h"
#include "ward/buf.h"

#define INV_HASH_HEX_LEN 65 /* 64 lowercase hex digits and a NUL */

/* A row's key as compact JSON array text (the key columns in schema order; "[]" for
 * single-row tables), appended to b. */
int inv_key_text(const struct inv_table *t, const json_t *row, struct ward_buf *b);

/* A row's canonical text: compact JSON of its non-volatile columns, members sorted by
 * name, appended to b. */
int inv_row_canonical(const struct inv_table *t, const json_t *row, struct ward_buf *b);

/* The canonical serialization of doc, appended to b: for every table present, in bytewise
 * order of the table name, the line "T <table>\n" and then, in bytewise order of the key
 * text, one line "R <key> <row>\n" per row (inv_key_text, inv_row_canonical). */
int inv_doc_canonical(const json_t *doc, struct ward_buf *b);

/* SHA-256 of inv_doc_canonical as lowercase hex. */
int inv_doc_hash(const json_t *doc, char hex[INV_HASH_HEX_LEN]);

/* The document to send after a collection: every section cur holds (a section a collector
 * failed on without rows is absent from it; one it kept partial rows of is present), the
 * other sections from prev (may be NULL), and cur's "collection". *out is new; it shares
 * (references) the section values of both inputs, which must not be changed later. */
int inv_doc_merge(const json_t *prev, const json_t *cur, json_t **out);

struct inv_delta_stats {
    size_t tables;  /* tables with a change */
    size_t added;   /* rows */
    size_t removed; /* rows, plus one for each table that disappeared */
    size_t changed; /* rows */
};

/* The "changes" object that turns document from into document to (either may be NULL
 * for an empty document): {table: {"present": bool, "added": [rows], "removed": [keys],
 * "changed": [rows]}} with only tables that differ and only non-empty members. Rows whose
 * non-volatile columns are equal are unchanged. *changes is new; st may be NULL. */
int inv_delta_compute(const json_t *from, const json_t *to, json_t **changes,
                      struct inv_delta_stats *st);

/* Applies changes to doc in place. WARD_EPARSE (with a message in err) for changes that
 * are malformed or break the schema; WARD_ESTATE when they do not fit doc (a row added
 * that exists, a row removed or changed that does not, a table that appears but exists or
 * disappears but does not). doc may be partly changed after an error. */
int inv_delta_apply(json_t *doc, const json_t *changes, char *err, size_t errlen);

/* Checks uploaded sections against the schema: only known sections and tables, rows
 * that are objects of known columns with the right types, key columns present and no key
 * twice in a table. 0 or WARD_EPARSE with a message in err. Unlike inv_validate the row
 * order does not matter and there is no "collection" member. */
int inv_sections_check(const json_t *doc, char *err, size_t errlen);

/* Checks one row of table t (as inv_sections_check does). */
int inv_row_check(const struct inv_table *t, const json_t *row, char *err, size_t errlen);

/* Sorts the rows of an ARRAY table by their key values, the order collectors produce
 * (strings bytewise, numbers by value). */
int inv_table_sort(const struct inv_table *t, json_t *rows);

/* The table value of t in doc, creating it (and its section) when create is set; NULL
 * when absent (or on allocation failure). Borrowed. */
json_t *inv_doc_table_get(json_t *doc, const struct inv_table *t, int create);

#endif
