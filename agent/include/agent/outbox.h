/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outbox: what the agent owes the service (command results now; telemetry later),
 * kept in the state database until the service acknowledges it. Bounded in rows and
 * bytes. When a new item does not fit, older items are dropped in this order: telemetry
 * first (oldest first), then command results (oldest first). A telemetry item is never
 * stored by dropping a result: it is dropped itself instead. Each drop is counted per kind
 * and the counters travel in every check-in ("outbox": {"dropped": ...}).
 */
#ifndef AGENT_OUTBOX_H
#define AGENT_OUTBOX_H

#include <stddef.h>

#include <jansson.h>

struct ward_store;

enum agent_outbox_kind {
    AGENT_OUTBOX_TELEMETRY = 0, /* dropped first */
    AGENT_OUTBOX_RESULT = 1,    /* dropped last */
};

#define AGENT_OUTBOX_MAX_ROWS 1000
#define AGENT_OUTBOX_MAX_BYTES ((long long)4 << 20)
#define AGENT_OUTBOX_MAX_ITEM ((size_t)256 << 10)

struct agent_outbox_limits {
    long long max_rows;  /* 0: AGENT_OUTBOX_MAX_ROWS */
    long long max_bytes; /* 0: AGENT_OUTBOX_MAX_BYTES */
};

struct agent_outbox_stats {
    long long rows, bytes;
    long long results; /* rows of kind RESULT */
    long long dropped_telemetry, dropped_results;
};

/* Adds an item (body is JSON text of at most AGENT_OUTBOX_MAX_ITEM bytes, else
 * WARD_ETOOBIG), dropping older items as the header says. Runs inside the caller's
 * transaction if there is one (it opens none), so a command's completion and its result
 * land together. lim may be NULL. */
int agent_outbox_put(struct ward_store *s, const struct agent_outbox_limits *lim,
                     enum agent_outbox_kind kind, const char *ref, const char *body, size_t len);

int agent_outbox_stats(struct ward_store *s, struct agent_outbox_stats *out);

/* The oldest results whose JSON texts add up to at most max_bytes (at least one), as a new
 * array of parsed objects in *out (empty array when there is none). */
int agent_outbox_results_batch(struct ward_store *s, size_t max_bytes, json_t **out);

/* Deletes the results whose command ids `ids` (array of strings) lists. Other members are
 * ignored. *deleted (may be NULL) gets the count. */
int agent_outbox_ack(struct ward_store *s, const json_t *ids, long long *deleted);

/* The "outbox" member of a check-in body; new. */
int agent_outbox_checkin_json(struct ward_store *s, json_t **out);

#endif
