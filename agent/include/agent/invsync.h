/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inventory upload (docs/protocol.md, "POST /api/v1/inventory"): when an upload is due,
 * collect off the loop thread (uv_queue_work), merge into the document last acknowledged,
 * send the delta against it (or everything when there is none), gzip-compressed, and keep
 * the new document as the snapshot only once the service acknowledged it. A 409
 * inventory_resync answer drops the snapshot and sends everything at once.
 *
 * Schedule: a full collection when there is no acknowledged snapshot for this device
 * (first upload after enrollment, after a resync), when an `inventory` command or
 * `ward checkin --inventory` asked for one, or every AGENT_INV_FULL_INTERVAL; the cheap
 * sections (INV_F_CHEAP_ONLY: memory, network, battery, os, users) every
 * AGENT_INV_CHEAP_INTERVAL. Both are checked after each check-in cycle, so they happen at
 * the first check-in after they fall due. Due times are kept as Unix times in the state
 * database so they survive restarts; a clock that jumped back counts as due.
 */
#ifndef AGENT_INVSYNC_H
#define AGENT_INVSYNC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct agent_state;
struct agent_session;
struct agent_http_response;

#define AGENT_INV_FULL_INTERVAL (6 * 3600)
#define AGENT_INV_CHEAP_INTERVAL 3600

enum agent_inv_kind {
    AGENT_INV_NONE = 0,
    AGENT_INV_CHEAP, /* collect the cheap sections, keep the others from the snapshot */
    AGENT_INV_FULL,  /* collect everything */
};

/* Meta keys (agent_state_get/set). */
#define AGENT_META_INV_FULL_AT "inventory_full_at"   /* Unix time of the last full upload */
#define AGENT_META_INV_ANY_AT "inventory_upload_at"  /* Unix time of the last upload */
#define AGENT_META_INV_REQUESTED "inventory_request" /* "1": a full collection was asked for */
#define AGENT_META_INV_LAST "inventory_last"         /* JSON: what the last upload was */

/* What is due (pure): now and the last upload times in Unix seconds (0: never). */
enum agent_inv_kind agent_inv_due(int64_t now, int64_t last_full, int64_t last_any, int requested,
                                  int have_snapshot);

/* ---- snapshot in the state database ---------------------------------------------------- */

/* The acknowledged document of device_id: *hash (65 bytes) and *doc (ward_malloc'd JSON
 * text). WARD_ENOENT when there is none or it belongs to another device id. */
int agent_inv_snapshot_load(struct agent_state *st, const char *device_id, char *hash, char **doc);
int agent_inv_snapshot_store(struct agent_state *st, const char *device_id, const char *hash,
                             const char *doc);
int agent_inv_snapshot_clear(struct agent_state *st);
/* Asks for a full collection at the next opportunity (persisted). */
int agent_inv_request_full(struct agent_state *st);

/* ---- the uploader ------------------------------------------------------------------------ */

struct agent_invsync;

/* rc is 0 once the service acknowledged; WARD_ECANCELED when the HTTP client went away;
 * r (may be NULL) is the final HTTP answer, for the caller's 401/403 handling. */
typedef void (*agent_invsync_done_fn)(int rc, const struct agent_http_response *r, void *ctx);

int agent_invsync_new(uv_loop_t *loop, struct agent_state *st, struct agent_invsync **out);
/* What is due for device_id now (reads the state database). */
enum agent_inv_kind agent_invsync_due(struct agent_invsync *s, const char *device_id);
/* Collects the files under root (the configured WARD_ROOT; NULL or "/" is the live
 * system) for the identity sess (the daemon's session, borrowed) serves now, and uploads
 * through it, provided it still serves that identity after the off-loop collection
 * (otherwise done gets WARD_ECANCELED). done is called exactly once when this returns 0;
 * never when it fails (WARD_EBUSY: an upload is in progress, WARD_ESTATE: the session is
 * not ready). */
int agent_invsync_run(struct agent_invsync *s, enum agent_inv_kind kind, const char *root,
                      struct agent_session *sess, agent_invsync_done_fn done, void *ctx);
/* The caller of a run goes away: its done is not called (a running collection and upload
 * finish unreported). */
void agent_invsync_detach(struct agent_invsync *s);
/* Frees s once no collection is running (a running one cannot be interrupted); cb (may be
 * NULL) is called then, possibly before this returns. An upload in flight must have been
 * canceled by closing the HTTP client first. NULL-safe. */
void agent_invsync_close(struct agent_invsync *s, void (*cb)(void *ctx), void *ctx);

#endif
