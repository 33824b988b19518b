/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's inventory upload. Collection, the merge with the last acknowledged document,
 * the delta, the hash, the JSON text and gzip all run in a libuv worker thread on values
 * nobody else touches; only the small state-database reads and writes and the HTTP
 * request happen on the loop. The snapshot changes only after a 200 from the service, so
 * an upload lost in transit is simply computed again (against the same base) next time,
 * and the service acknowledges a repeated delta it already applied.
 */
#define WARD_LOG_TAG "inventory"

#include "agent/invsync.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "agent/http.h"
#include "agent/session.h"
#include "agent/state.h"
#include "inventory/delta.h"
#include "inventory/inventory.h"
#include "platform/service.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/gzip.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define CLOCK_SLACK_S 300 /* a clock this far behind the last upload has jumped back */
#define RETRY_AFTER_FAIL_MS 60000

/* ---- schedule ------------------------------------------------------------------------------ */

static int elapsed(int64_t now, int64_t last, int64_t interval)
{
    return last <= 0 || now - last >= interval || now < last - CLOCK_SLACK_S;
}

enum agent_inv_kind agent_inv_due(int64_t now, int64_t last_full, int64_t last_any, int requested,
                                  int have_snapshot)
{
    if (!have_snapshot || requested || elapsed(now, last_full, AGENT_INV_FULL_INTERVAL))
        return AGENT_INV_FULL;
    if (elapsed(now, last_any, AGENT_INV_CHEAP_INTERVAL))
        return AGENT_INV_CHEAP;
    return AGENT_INV_NONE;
}

/* ---- snapshot ------------------------------------------------------------------------------ */

int agent_inv_snapshot_load(struct agent_state *st, const char *device_id, char *hash, char **doc)
{
    struct ward_store *db = agent_state_store(st);
    sqlite3_stmt *s = NULL;
    int rc;

    *doc = NULL;
    hash[0] = '\0';
    rc = ward_store_prepare(db, "SELECT device_id, hash, doc FROM inventory_snapshot WHERE id = 1",
                            &s);
    if (rc != 0)
        return rc;
    rc = ward_store_step(db, s);
    if (rc == WARD_STORE_ROW) {
        const char *dev = (const char *)sqlite3_column_text(s, 0);
        const char *h = (const char *)sqlite3_column_text(s, 1);
        const char *d = (const char *)sqlite3_column_text(s, 2);
        rc = WARD_ENOENT;
        if (dev && h && d && strcmp(dev, device_id) == 0 && strlen(h) == INV_HASH_HEX_LEN - 1) {
            memcpy(hash, h, INV_HASH_HEX_LEN);
            *doc = ward_strdup(d);
            rc = *doc ? 0 : WARD_ENOMEM;
        }
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(s);
    return rc;
}

int agent_inv_snapshot_store(struct agent_state *st, const char *device_id, const char *hash,
                             const char *doc)
{
    struct ward_store *db = agent_state_store(st);
    sqlite3_stmt *s = NULL;
    int rc = ward_store_prepare(db,
                                "INSERT INTO inventory_snapshot(id, device_id, hash, doc, sent_at)"
                                " VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET"
                                " device_id = excluded.device_id, hash = excluded.hash,"
                                " doc = excluded.doc, sent_at = excluded.sent_at",
                                &s);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, doc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, ward_time_now());
    rc = ward_store_step(db, s);
    sqlite3_finalize(s);
    return rc;
}

int agent_inv_snapshot_clear(struct agent_state *st)
{
    return ward_store_exec(agent_state_store(st), "DELETE FROM inventory_snapshot");
}

int agent_inv_request_full(struct agent_state *st)
{
    return agent_state_set(st, AGENT_META_INV_REQUESTED, "1");
}

static int64_t meta_time(struct agent_state *st, const char *key)
{
    char *v = NULL;
    long long t = 0;
    if (agent_state_get(st, key, &v) == 0 && sscanf(v, "%lld", &t) != 1)
        t = 0;
    ward_free(v);
    return (int64_t)t;
}

static void meta_set_time(struct agent_state *st, const char *key, int64_t t)
{
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)t);
    if (agent_state_set(st, key, v) != 0)
        WARD_WARN("cannot record %s in the state database", key);
}

/* ---- the uploader -------------------------------------------------------------------------- */

struct job {
    uv_work_t work;
    struct agent_invsync *s;
    enum agent_inv_kind kind;
    int full_only; /* second round after a resync: build the full body from eff */
    /* inputs (owned) */
    char *root;
    char *prev_text;
    char prev_hash[INV_HASH_HEX_LEN];
    /* outputs (owned) */
    int rc;
    json_t *eff; /* the document this upload makes current */
    char hash[INV_HASH_HEX_LEN];
    char *eff_text;
    char *gz;
    size_t gz_len, raw_len;
    int is_delta;
    struct inv_delta_stats stats;
};

struct agent_invsync {
    uv_loop_t *loop;
    struct agent_state *st;
    struct job *job;            /* collection or upload in progress */
    int working;                /* job->work queued */
    struct agent_session *sess; /* the daemon's, for this upload */
    struct agent_http_req *req;
    char device_id[128];
    agent_invsync_done_fn done;
    void *done_ctx;
    uint64_t failed_ms; /* uv_now of the last failure, 0 when none */
    int closing;
    void (*close_cb)(void *ctx);
    void *close_ctx;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    ward_free(j->root);
    ward_free(j->prev_text);
    json_decref(j->eff);
    ward_free(j->eff_text);
    ward_free(j->gz);
    ward_free(j);
}

/* The upload body for eff: a delta against prev, or everything when prev is NULL. */
static int build_body(struct job *j, const json_t *prev)
{
    json_t *body = NULL, *changes = NULL, *sections = NULL;
    json_t *coll = json_object_get(j->eff, "collection");
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (prev) {
        rc = inv_delta_compute(prev, j->eff, &changes, &j->stats);
        if (rc != 0)
            return rc;
        body = json_pack("{s:s, s:s, s:s, s:o}", "kind", "delta", "base_hash", j->prev_hash, "hash",
                         j->hash, "changes", changes);
        j->is_delta = 1;
    } else {
        sections = json_deep_copy(j->eff);
        if (!sections)
            return WARD_ENOMEM;
        json_object_del(sections, "collection");
        body = json_pack("{s:s, s:s, s:o}", "kind", "full", "hash", j->hash, "sections", sections);
        j->is_delta = 0;
        memset(&j->stats, 0, sizeof(j->stats));
    }
    if (!body)
        return WARD_ENOMEM;
    rc = coll && json_object_set(body, "collection", coll) != 0 ? WARD_ENOMEM : 0;
    if (rc == 0)
        rc = ward_json_dumps(body, 0, &text, &len);
    json_decref(body);
    if (rc != 0)
        return rc;
    ward_free(j->gz);
    j->gz = NULL;
    rc = ward_gzip(text, len, Z_BEST_COMPRESSION, &j->gz, &j->gz_len);
    j->raw_len = len;
    ward_free(text);
    return rc;
}

/* Worker thread: nothing here touches the loop, the database or shared state. */
static void work_collect(uv_work_t *w);

static void work_cb(uv_work_t *w)
{
    work_collect(w);
    ward_crypto_thread_done(); /* the certificates collector parses with OpenSSL */
}

static void work_collect(uv_work_t *w)
{
    struct job *j = w->data;
    struct inv_options o;
    struct inv_doc *doc = NULL;
    json_t *prev = NULL, *cur = NULL;
    size_t len = 0;
    int rc;

    if (j->full_only) {
        j->rc = build_body(j, NULL);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.root = j->root;
    o.flags = j->kind == AGENT_INV_CHEAP ? INV_F_CHEAP_ONLY : 0;
    rc = inv_collect(&o, &doc);
    if (rc == 0 && j->prev_text) {
        /* An unreadable snapshot is as good as none: send everything. */
        if (ward_json_loadb(j->prev_text, strlen(j->prev_text),
                            &(struct ward_json_limits){.max_bytes = (size_t)64 << 20}, &prev,
                            NULL) != 0 ||
            !json_is_object(prev)) {
            json_decref(prev);
            prev = NULL;
        }
    }
    if (rc == 0) {
        cur = json_deep_copy(inv_doc_json(doc));
        rc = cur ? 0 : WARD_ENOMEM;
    }
    inv_doc_free(doc);
    if (rc == 0)
        rc = inv_doc_merge(prev, cur, &j->eff);
    if (rc == 0)
        rc = inv_doc_hash(j->eff, j->hash);
    if (rc == 0)
        rc = ward_json_dumps(j->eff, 0, &j->eff_text, &len);
    if (rc == 0)
        rc = build_body(j, prev);
    json_decref(prev);
    json_decref(cur);
    j->rc = rc;
}

static void finish(struct agent_invsync *s, int rc, const struct agent_http_response *r)
{
    agent_invsync_done_fn done = s->done;
    void *ctx = s->done_ctx;
    job_free(s->job);
    s->job = NULL;
    s->done = NULL;
    if (rc != 0 && rc != WARD_ECANCELED)
        s->failed_ms = uv_now(s->loop);
    if (done)
        done(rc, r, ctx);
    /* The collection, its JSON and the gzip body were the agent's largest allocations. */
    plat_service_memory_trim();
}

static void record_success(struct agent_invsync *s, struct job *j)
{
    int64_t now = ward_time_now();
    char last[256], at[32];
    int rc = agent_inv_snapshot_store(s->st, s->device_id, j->hash, j->eff_text);
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "cannot store the inventory snapshot (the next upload is full)");
    if (j->kind == AGENT_INV_FULL) {
        meta_set_time(s->st, AGENT_META_INV_FULL_AT, now);
        if (agent_state_set(s->st, AGENT_META_INV_REQUESTED, "0") != 0)
            WARD_WARN("cannot clear the inventory request");
    }
    meta_set_time(s->st, AGENT_META_INV_ANY_AT, now);
    ward_time_iso(now, at, sizeof(at));
    snprintf(last, sizeof(last),
             "{\"at\":\"%s\",\"kind\":\"%s\",\"collection\":\"%s\",\"wire_bytes\":%zu,"
             "\"body_bytes\":%zu,\"added\":%zu,\"removed\":%zu,\"changed\":%zu}",
             at, j->is_delta ? "delta" : "full", j->kind == AGENT_INV_FULL ? "full" : "cheap",
             j->gz_len, j->raw_len, j->stats.added, j->stats.removed, j->stats.changed);
    if (agent_state_set(s->st, AGENT_META_INV_LAST, last) != 0)
        WARD_WARN("cannot record the inventory upload");
    if (j->is_delta)
        WARD_INFO("inventory delta uploaded: %zu added, %zu removed, %zu changed; %zu bytes on "
                  "the wire (%zu bytes of JSON)",
                  j->stats.added, j->stats.removed, j->stats.changed, j->gz_len, j->raw_len);
    else
        WARD_INFO("full inventory uploaded: %zu bytes on the wire (%zu bytes of JSON)", j->gz_len,
                  j->raw_len);
}

static void send_job(struct agent_invsync *s);
static void after_work(uv_work_t *w, int status);

static int queue_job(struct agent_invsync *s)
{
    int r;
    s->job->work.data = s->job;
    r = uv_queue_work(s->loop, &s->job->work, work_cb, after_work);
    if (r != 0)
        return WARD_EIO;
    s->working = 1;
    return 0;
}

static void on_response(struct agent_http_response *r, void *ctx)
{
    struct agent_invsync *s = ctx;
    struct job *j = s->job;
    char code[64] = "";

    s->req = NULL;
    if (r->err == WARD_ECANCELED || s->closing) {
        finish(s, WARD_ECANCELED, r);
        return;
    }
    if (r->err == 0) {
        record_success(s, j);
        finish(s, 0, r);
        return;
    }
    if (r->err == WARD_EHTTP && r->status == 409) {
        json_t *b = NULL;
        if (ward_json_loadb(r->body.data, r->body.len, NULL, &b, NULL) == 0) {
            const char *c = json_string_value(json_object_get(json_object_get(b, "error"), "code"));
            snprintf(code, sizeof(code), "%s", c ? c : "");
        }
        json_decref(b);
    }
    if (strcmp(code, "inventory_resync") == 0 && j->is_delta) {
        /* The service's copy is not our base: forget it and send everything now. */
        WARD_INFO("the service asked for a full inventory upload (its copy differs)");
        if (agent_inv_snapshot_clear(s->st) != 0)
            WARD_WARN("cannot clear the inventory snapshot");
        j->full_only = 1;
        if (queue_job(s) == 0)
            return;
        finish(s, WARD_EIO, NULL);
        return;
    }
    if (strcmp(code, "inventory_resync") == 0 && agent_inv_snapshot_clear(s->st) != 0)
        WARD_WARN("cannot clear the inventory snapshot");
    finish(s, r->err, r);
}

static void send_job(struct agent_invsync *s)
{
    int rc;

    /* Collected for this identity: never sent under another one (re-enrolled meanwhile). */
    if (!agent_session_serves(s->sess, s->device_id)) {
        finish(s, WARD_ECANCELED, NULL);
        return;
    }
    rc = agent_session_post(s->sess, "/api/v1/inventory", s->job->gz, s->job->gz_len, 1,
                            on_response, s, &s->req);
    if (rc != 0)
        finish(s, rc, NULL);
}

static void free_invsync(struct agent_invsync *s)
{
    void (*cb)(void *ctx) = s->close_cb;
    void *ctx = s->close_ctx;
    job_free(s->job);
    ward_free(s);
    if (cb)
        cb(ctx);
}

static void after_work(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct agent_invsync *s = j->s;

    s->working = 0;
    if (s->closing) {
        s->done = NULL;
        free_invsync(s);
        return;
    }
    if (status != 0) {
        finish(s, WARD_ECANCELED, NULL);
        return;
    }
    if (j->rc != 0) {
        WARD_LOG_WARN_ERR(j->rc, "inventory collection failed");
        finish(s, j->rc, NULL);
        return;
    }
    send_job(s);
}

int agent_invsync_new(uv_loop_t *loop, struct agent_state *st, struct agent_invsync **out)
{
    struct agent_invsync *s;
    *out = NULL;
    s = ward_calloc(1, sizeof(*s));
    if (!s)
        return WARD_ENOMEM;
    s->loop = loop;
    s->st = st;
    *out = s;
    return 0;
}

enum agent_inv_kind agent_invsync_due(struct agent_invsync *s, const char *device_id)
{
    char hash[INV_HASH_HEX_LEN], *doc = NULL, *req = NULL;
    int have, requested;
    if (!s || s->job)
        return AGENT_INV_NONE;
    have = agent_inv_snapshot_load(s->st, device_id, hash, &doc) == 0;
    ward_free(doc);
    requested =
        agent_state_get(s->st, AGENT_META_INV_REQUESTED, &req) == 0 && strcmp(req, "1") == 0;
    ward_free(req);
    /* After a failure, wait a minute (a service refusing uploads must not be hammered by a
     * collection per long-poll wake). */
    if (s->failed_ms && uv_now(s->loop) - s->failed_ms < RETRY_AFTER_FAIL_MS)
        return AGENT_INV_NONE;
    return agent_inv_due(ward_time_now(), meta_time(s->st, AGENT_META_INV_FULL_AT),
                         meta_time(s->st, AGENT_META_INV_ANY_AT), requested, have);
}

int agent_invsync_run(struct agent_invsync *s, enum agent_inv_kind kind, const char *root,
                      struct agent_session *sess, agent_invsync_done_fn done, void *ctx)
{
    const struct agent_identity *id = sess ? agent_session_identity(sess) : NULL;
    const char *device_id;
    struct job *j;
    int rc;

    if (!s || !sess || !done || kind == AGENT_INV_NONE)
        return WARD_EINVAL;
    if (!id || !agent_session_ready(sess))
        return WARD_ESTATE;
    if (s->job || s->closing)
        return WARD_EBUSY;
    device_id = id->device_id;
    if (strlen(device_id) >= sizeof(s->device_id))
        return WARD_ETOOBIG;
    memcpy(s->device_id, device_id, strlen(device_id) + 1);
    j = ward_calloc(1, sizeof(*j));
    if (!j)
        return WARD_ENOMEM;
    j->s = s;
    j->kind = kind;
    j->root = ward_strdup(root && root[0] ? root : "/");
    if (!j->root) {
        job_free(j);
        return WARD_ENOMEM;
    }
    rc = agent_inv_snapshot_load(s->st, device_id, j->prev_hash, &j->prev_text);
    if (rc == WARD_ENOENT) {
        /* Nothing acknowledged: whatever was asked, everything is collected and sent. */
        j->kind = AGENT_INV_FULL;
        rc = 0;
    }
    if (rc != 0) {
        job_free(j);
        return rc;
    }
    s->job = j;
    s->sess = sess;
    s->done = done;
    s->done_ctx = ctx;
    rc = queue_job(s);
    if (rc != 0) {
        s->job = NULL;
        s->done = NULL;
        job_free(j);
    }
    return rc;
}

void agent_invsync_detach(struct agent_invsync *s)
{
    if (s)
        s->done = NULL;
}

void agent_invsync_close(struct agent_invsync *s, void (*cb)(void *ctx), void *ctx)
{
    if (!s || s->closing)
        return;
    s->closing = 1;
    s->close_cb = cb;
    s->close_ctx = ctx;
    s->done = NULL;
    if (s->working) {
        /* Not started yet: cancelled, after_work runs with UV_ECANCELED; started: it runs
         * when the collection ends. Either way after_work frees. */
        uv_cancel((uv_req_t *)&s->job->work);
        return;
    }
    free_invsync(s);
}
