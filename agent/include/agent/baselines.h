/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baselines assigned by the service (docs/protocol.md, "Baselines and compliance"): after
 * each check-in the agent compares the assigned set with the baselines it holds, fetches
 * new versions (GET /api/v1/baselines/<id>?version=N, SHA-256 checked against the
 * check-in), evaluates them with the enforcement engine off the loop thread (audit or
 * enforce as the document says, under the configured root), removes the ones no longer
 * assigned (restoring restore_on_removal settings from the journal) and uploads compliance
 * (POST /api/v1/compliance) until the service acknowledged it. In the daemon every held
 * baseline also has a drift watcher on the loop; what it repairs or finds flapping goes up
 * with the next upload.
 *
 * State: table `baselines` of the agent database (migration 4): id, version, sha256, the
 * exact document, the last evaluation (the upload body) and whether the service has it.
 */
#ifndef AGENT_BASELINES_H
#define AGENT_BASELINES_H

#include <jansson.h>
#include <uv.h>

struct agent_state;
struct agent_http_response;
struct agent_session;

/* The agent migration that adds the table (agent/src/state.c). */
#define AGENT_BASELINES_SQL_V1                                                                     \
    "CREATE TABLE baselines ("                                                                     \
    " id TEXT PRIMARY KEY,"                                                                        \
    " version INTEGER NOT NULL,"                                                                   \
    " sha256 TEXT NOT NULL,"                                                                       \
    " document BLOB NOT NULL,"                                                                     \
    " state TEXT NOT NULL CHECK (state IN ('active', 'removed')),"                                 \
    " fetched_at INTEGER NOT NULL,"                                                                \
    " report TEXT,"                                                                                \
    " evaluated_at INTEGER,"                                                                       \
    " failing INTEGER NOT NULL DEFAULT 0,"                                                         \
    " reported INTEGER NOT NULL DEFAULT 1,"                                                        \
    " generation INTEGER NOT NULL DEFAULT 0) STRICT;"

struct agent_baselines;

/* rc is 0 when everything that could be done was done (a refused document is logged and
 * recorded as last_error, not a failure); WARD_ECANCELED when the HTTP client went away;
 * otherwise the transport or HTTP error, with r (may be NULL) the answer that caused it,
 * for the caller's 401/403 handling. */
typedef void (*agent_baselines_done_fn)(int rc, const struct agent_http_response *r, void *ctx);
/* Called on the loop when a drift run found news for the service (a repair, a change in
 * what is non-compliant): the daemon checks in soon to upload it. */
typedef void (*agent_baselines_news_fn)(void *ctx);

/* root is borrowed (NULL: "/"). sess (borrowed, may be NULL) is the daemon's session,
 * which must outlive the object: settings that talk to the service during a run
 * (client_cert's EST exchange, agent/loopcall.h) use it; without it they fail with
 * WARD_ENOTSUP. Nothing starts until sync or watch. */
int agent_baselines_new(uv_loop_t *loop, struct agent_state *st, struct agent_session *sess,
                        const char *root, struct agent_baselines **out);
/* Daemon mode: keeps every held baseline under a drift watcher (started now for what the
 * database holds, and for each baseline evaluated later); news is reported through fn. */
int agent_baselines_watch(struct agent_baselines *b, agent_baselines_news_fn fn, void *ctx);
/* fn (NULL: none) hears of every evaluation stored, by a sync or a drift watcher, on the
 * loop thread: the local IPC tells subscribers when compliance changed. */
void agent_baselines_on_stored(struct agent_baselines *b, agent_baselines_news_fn fn, void *ctx);
/* After a check-in: assigned is the answer's "baselines" array (borrowed for the call), or
 * NULL when the service did not send one (then only pending uploads happen). Requests go
 * through sess (the daemon's session, borrowed), and only while it still serves the
 * identity the sync began with (otherwise done gets WARD_ECANCELED). done is called
 * exactly once when this returns 0; never when it fails (WARD_EBUSY: a sync is running,
 * WARD_ESTATE: the session is not ready or a selective wipe retired the baselines). */
int agent_baselines_sync(struct agent_baselines *b, struct agent_session *sess,
                         const json_t *assigned, agent_baselines_done_fn done, void *ctx);
/* The caller of a sync goes away: its done is not called (the sync goes on to its end
 * unreported; what it did not upload goes up with the next one). NULL-safe. */
void agent_baselines_detach(struct agent_baselines *b);
/* selective_wipe: stops every drift watcher, and removes every baseline the rollback
 * journal knows (held or not), restoring its restore_on_removal settings, once a running
 * sync is over. cb gets 0 and removed (new): [{"kind": "setting", "name":
 * "<baseline>/<setting>", "result": "restored"|"failed", "error"}] (settings without
 * restore_on_removal are left as they are and not listed), or an error and NULL. From then
 * on sync answers WARD_ESTATE: nothing is evaluated or enforced again by this object. */
typedef void (*agent_baselines_retired_fn)(int rc, json_t *removed, void *ctx);
int agent_baselines_retire(struct agent_baselines *b, agent_baselines_retired_fn cb, void *ctx);

/* Stops the drift watchers, waits for a running evaluation, frees b; cb (may be NULL) is
 * called then, from the loop (or before this returns when nothing was running). Requests
 * in flight must have been canceled by closing the HTTP client first. NULL-safe. */
void agent_baselines_close(struct agent_baselines *b, void (*cb)(void *ctx), void *ctx);

/* For `ward status`: {"baselines": n, "failing": n, "last_evaluation": ISO or null,
 * "unreported": n}; *out new. */
int agent_baselines_status(struct agent_state *st, json_t **out);

/* For the local IPC: [{id, version, description, mode, evaluated_at, compliant,
 * failing_count, failing: [{id, kind, result, description, error}]}] of the active
 * baselines, descriptions taken from the documents (never a setting's parameters); detail
 * adds each failing result's expected and actual (for root). *out new. */
int agent_baselines_compliance(struct agent_state *st, int detail, json_t **out);

/* Validates a check-in's "baselines" member: an array of {id, version, sha256}. */
int agent_baselines_check_assigned(const json_t *assigned);

#endif
