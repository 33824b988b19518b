/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baselines the service assigns: the sync that follows each check-in (plan, fetch and
 * verify new versions, remove unassigned ones, evaluate, upload compliance), the drift
 * watchers the daemon keeps on held baselines, and the merge of what they find into the
 * stored last evaluation. The loop thread owns everything here; engine runs (evaluation,
 * removal) happen in uv_queue_work on a SQLite connection of their own, and each drift
 * watcher gets its own connection too, so a journal transaction on a worker thread never
 * interleaves with the loop's statements.
 */
#define WARD_LOG_TAG "baselines"

#include "agent/baselines.h"

#include <stdio.h>
#include <string.h>

#include "agent/http.h"
#include "agent/identity.h"
#include "agent/loopcall.h"
#include "agent/session.h"
#include "agent/state.h"
#include "enforcement/baseline.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define URL_MAX 1024
#define ID_MAX 128
#define EST_ANSWER_MAX ((size_t)256 * 1024) /* an EST answer: a few certificates */
#define FETCH_MAX ((size_t)16 << 20)        /* content a setting takes by SHA-256 */
#define BLOB_ITEM_MAX ((size_t)256 * 1024)  /* fetched content kept for later runs ... */
#define BLOB_CACHE_MAX ((size_t)4 << 20)    /* ... at most this much in all */

struct held {
    struct held *next;
    struct agent_baselines *owner;
    char *id;
    long long version;
    char sha[WARD_SHA256_HEX_SIZE];
    struct enf_baseline *b;
    struct enf_drift *drift;
    struct ward_store *journal; /* the drift watcher's connection */
    int needs_eval;
};

struct job_item {
    char *id;
    long long version;
    struct held *h; /* evaluation; NULL: removal */
    struct enf_report *report;
    int rc;
};

struct blob {
    struct blob *next;
    char sha[WARD_SHA256_HEX_SIZE];
    char *data;
    size_t len;
};

struct agent_baselines {
    uv_loop_t *loop;
    struct agent_state *st;
    char *root;
    struct held *list;
    int loaded;
    int watching;
    agent_baselines_news_fn news;
    void *news_ctx;
    agent_baselines_news_fn stored; /* every evaluation stored (the local IPC's events) */
    void *stored_ctx;

    int syncing;
    struct agent_session *sess; /* the daemon's, for this sync */
    char *device;               /* whose sync it is (agent_session_serves) */
    agent_baselines_done_fn done;
    void *done_ctx;
    json_t *fetch;   /* [{id, version, sha256}] still to fetch */
    json_t *removes; /* [{id, version}] to remove */
    size_t next;
    struct agent_http_req *req;
    int stops_pending;
    int waiting_stops;

    uv_work_t work;
    int working;
    struct job_item *items;
    size_t n_items;
    struct ward_store *job_store;

    json_t *uploads; /* [{id, state, evaluated_at, report}] */

    int closing;
    void (*close_cb)(void *ctx);
    void *close_ctx;

    /* runs that talk to the service (client_cert) do it through the session, from the
     * worker, with these hooks */
    struct agent_session *link;
    struct agent_loopcall *calls;
    struct enf_hooks hooks;
    int calls_open;
    /* content fetched by SHA-256, kept for later runs (it cannot go stale): a trust_root by
     * hash is checked at every run without asking the service each time */
    uv_mutex_t blob_mu;
    struct blob *blobs; /* newest first */
    size_t blob_bytes;

    /* selective_wipe: once retired, nothing is evaluated or watched again */
    int retired;
    int retiring; /* queued or running */
    agent_baselines_retired_fn retired_cb;
    void *retired_ctx;
};

static void start_job(struct agent_baselines *b);
static void uploads_start(struct agent_baselines *b);
static void retire_start(struct agent_baselines *b);

/* ---- small helpers -------------------------------------------------------------------------- */

/* A refused document: logged, and kept as last_error for `ward status`. */
static void note_error(struct agent_baselines *b, const char *id, long long v, const char *why)
{
    char line[512], now[32];
    ward_time_iso(ward_time_now(), now, sizeof(now));
    snprintf(line, sizeof(line), "%s baseline %s version %lld: %s", now, id, v, why);
    WARD_LOG_ERR(WARD_EVERIFY, "baseline %s version %lld: %s", id, v, why);
    agent_state_set(b->st, AGENT_META_LAST_ERROR, line);
}

static int is_failing(const char *result)
{
    return result && strcmp(result, "KEPT") != 0 && strcmp(result, "REPAIRED") != 0;
}

static const char *sval(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Recomputes "summary" from "results"; returns the number of failing settings. */
static long long resummarize(json_t *report)
{
    static const char *const names[] = {"KEPT", "REPAIRED", "FAILED", "DENIED", "SKIPPED"};
    long long counts[5] = {0}, failing = 0;
    json_t *r, *sum = json_object();
    size_t i;
    json_array_foreach(json_object_get(report, "results"), i, r)
    {
        const char *res = sval(r, "result");
        for (size_t k = 0; res && k < 5; k++)
            if (strcmp(res, names[k]) == 0)
                counts[k]++;
        failing += is_failing(res);
    }
    for (size_t k = 0; sum && k < 5; k++)
        json_object_set_new(sum, names[k], json_integer(counts[k]));
    if (sum)
        json_object_set_new(report, "summary", sum);
    return failing;
}

/* Builds the upload body of a report: {baseline, version, evaluated_at, removed, results,
 * summary}. *out new. */
static int report_body(const struct enf_report *r, const char *id, long long version, int64_t when,
                       int removed, json_t **out)
{
    json_t *j = NULL;
    char t[32];
    int rc = r ? enf_report_json(r, &j) : 0;
    *out = NULL;
    if (rc != 0)
        return rc;
    if (!j)
        j = json_pack("{s:s, s:[], s:{}}", "baseline", id, "results", "summary");
    if (!j)
        return WARD_ENOMEM;
    ward_time_iso(when, t, sizeof(t));
    if (json_object_set_new(j, "baseline", json_string(id)) != 0 ||
        json_object_set_new(j, "version", json_integer(version)) != 0 ||
        json_object_set_new(j, "evaluated_at", json_string(t)) != 0 ||
        json_object_set_new(j, "removed", json_boolean(removed)) != 0) {
        json_decref(j);
        return WARD_ENOMEM;
    }
    *out = j;
    return 0;
}

/* Stores a report as the baseline's last evaluation, to be uploaded. */
static int store_report(struct agent_baselines *b, const char *id, json_t *body, int64_t when,
                        int removed, int unreported)
{
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    long long failing = resummarize(body);
    int rc = ward_json_dumps(body, 0, &text, NULL);
    if (rc != 0)
        return rc;
    rc = ward_store_prepare(agent_state_store(b->st),
                            "UPDATE baselines SET report = ?2, evaluated_at = ?3, failing = ?4,"
                            " reported = CASE WHEN ?5 THEN 0 ELSE reported END,"
                            " generation = generation + 1,"
                            " state = CASE WHEN ?6 THEN 'removed' ELSE state END WHERE id = ?1",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, when);
        sqlite3_bind_int64(st, 4, failing);
        sqlite3_bind_int(st, 5, unreported);
        sqlite3_bind_int(st, 6, removed);
        rc = ward_store_step(agent_state_store(b->st), st);
    }
    sqlite3_finalize(st);
    ward_free(text);
    if (rc != 0)
        WARD_LOG_ERR(rc, "baseline %s: cannot store the evaluation", id);
    else if (b->stored && !b->closing)
        b->stored(b->stored_ctx);
    return rc;
}

/* ---- held baselines ------------------------------------------------------------------------- */

static void held_free(struct held *h)
{
    if (!h)
        return;
    enf_baseline_free(h->b);
    ward_store_close(h->journal);
    ward_free(h->id);
    ward_free(h);
}

static void maybe_freed(struct agent_baselines *b);

static void held_stopped(void *ctx)
{
    struct held *h = ctx;
    struct agent_baselines *b = h->owner;
    held_free(h);
    b->stops_pending--;
    if (b->closing) {
        maybe_freed(b);
        return;
    }
    if (b->waiting_stops && b->stops_pending == 0) {
        b->waiting_stops = 0;
        if (b->retiring)
            retire_start(b);
        else
            start_job(b);
    }
}

/* Detached from the list: stopped (asynchronously when it has a watcher) and freed. */
static void held_retire(struct agent_baselines *b, struct held *h)
{
    if (h->drift) {
        struct enf_drift *d = h->drift;
        h->drift = NULL;
        b->stops_pending++;
        enf_drift_stop(d, held_stopped, h);
        return;
    }
    held_free(h);
}

static struct held *held_find(struct agent_baselines *b, const char *id, struct held ***link)
{
    struct held **p = &b->list;
    for (; *p; p = &(*p)->next)
        if (strcmp((*p)->id, id) == 0)
            break;
    if (link)
        *link = p;
    return *p;
}

static int held_new(struct agent_baselines *b, const char *id, long long version, const char *sha,
                    const char *doc, size_t len, struct held **out)
{
    struct ward_buf errs;
    struct held *h = ward_calloc(1, sizeof(*h));
    int rc;
    *out = NULL;
    if (!h)
        return WARD_ENOMEM;
    h->owner = b;
    h->version = version;
    snprintf(h->sha, sizeof(h->sha), "%s", sha);
    h->id = ward_strdup(id);
    if (!h->id) {
        ward_free(h);
        return WARD_ENOMEM;
    }
    ward_buf_init(&errs, 4096);
    rc = enf_baseline_parse(doc, len, &h->b, &errs);
    if (rc != 0) {
        char why[300];
        const char *nl = errs.data ? strchr(errs.data, '\n') : NULL;
        snprintf(why, sizeof(why), "invalid document, refused: %.*s",
                 errs.data ? (int)(nl ? (size_t)(nl - errs.data) : errs.len) : 0,
                 errs.data ? errs.data : "");
        note_error(b, id, version, why);
    } else if (strcmp(h->b->id, id) != 0 || h->b->version != version) {
        note_error(b, id, version, "the document names another id or version; refused");
        rc = WARD_EVERIFY;
    }
    ward_buf_release(&errs);
    if (rc != 0) {
        held_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

/* Loads the active baselines of the database once. A row whose document no longer parses
 * (an engine from another version) is skipped with an error and fetched again. */
static int load_held(struct agent_baselines *b)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (b->loaded)
        return 0;
    rc = ward_store_prepare(agent_state_store(b->st),
                            "SELECT id, version, sha256, document FROM baselines"
                            " WHERE state = 'active' ORDER BY id",
                            &st);
    while (rc == 0 && (rc = ward_store_step(agent_state_store(b->st), st)) == WARD_STORE_ROW) {
        struct held *h = NULL;
        rc = held_new(b, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                      (const char *)sqlite3_column_text(st, 2),
                      (const char *)sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
                      &h);
        if (rc == WARD_ENOMEM)
            break;
        if (h) {
            h->next = b->list;
            b->list = h;
        }
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc == 0)
        b->loaded = 1;
    return rc;
}

/* ---- drift -------------------------------------------------------------------------------- */

/* Same non-compliance (result, actual, error, flapping) or both compliant. */
static int same_standing(const json_t *a, const json_t *z)
{
    static const char *const keys[] = {"result", "actual", "error"};
    if (!a || !z)
        return 0;
    if (!is_failing(sval(a, "result")) && !is_failing(sval(z, "result")))
        return 1;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const char *x = sval(a, keys[k]), *y = sval(z, keys[k]);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return 0;
    }
    return json_is_true(json_object_get(a, "flapping")) ==
           json_is_true(json_object_get(z, "flapping"));
}

static void on_drift_report(struct enf_drift *d, const struct enf_report *r, const char *why,
                            void *ctx)
{
    struct held *h = ctx;
    struct agent_baselines *b = h->owner;
    json_t *fresh = NULL, *stored = NULL, *item;
    sqlite3_stmt *st = NULL;
    int64_t now = ward_time_now();
    int news = 0, pending = 0, rc;
    size_t i;
    (void)d;

    if (b->closing || enf_report_json(r, &fresh) != 0)
        return;
    rc = ward_store_prepare(
        agent_state_store(b->st),
        "SELECT report, reported = 0 FROM baselines WHERE id = ?1 AND state = 'active'", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, h->id, -1, SQLITE_STATIC);
        if (ward_store_step(agent_state_store(b->st), st) == WARD_STORE_ROW &&
            sqlite3_column_type(st, 0) != SQLITE_NULL) {
            const char *text = (const char *)sqlite3_column_text(st, 0);
            struct ward_json_limits lim = {.max_bytes = (size_t)64 << 20};
            if (ward_json_loadb(text, strlen(text), &lim, &stored, NULL) != 0)
                stored = NULL;
            pending = sqlite3_column_int(st, 1);
        }
    }
    sqlite3_finalize(st);
    if (!stored && report_body(r, h->id, h->version, now, 0, &stored) != 0)
        goto out;
    /* Merge: a change run reports only the settings it re-evaluated. */
    json_array_foreach(json_object_get(fresh, "results"), i, item)
    {
        json_t *all = json_object_get(stored, "results"), *old = NULL;
        const char *sid = sval(item, "id");
        size_t k, at = (size_t)-1;
        json_array_foreach(all, k, old)
        {
            if (strcmp(sval(old, "id"), sid) == 0) {
                at = k;
                break;
            }
        }
        if (at == (size_t)-1)
            old = NULL;
        if (strcmp(sval(item, "result"), "REPAIRED") == 0) {
            news = 1;
            WARD_INFO("baseline %s: drift of %s repaired (%s run)", h->id, sid, why);
        } else if (!same_standing(old, item)) {
            news = 1;
            WARD_INFO("baseline %s: %s is now %s%s", h->id, sid, sval(item, "result"),
                      json_is_true(json_object_get(item, "flapping")) ? " (flapping)" : "");
        }
        /* The re-check a repair's own write triggers must not hide the repair from the
         * service before it was reported. */
        if (pending && old && strcmp(sval(old, "result"), "REPAIRED") == 0 &&
            strcmp(sval(item, "result"), "KEPT") == 0)
            continue;
        if (at == (size_t)-1)
            json_array_append(all, item);
        else
            json_array_set(all, at, item);
    }
    {
        char t[32];
        ward_time_iso(now, t, sizeof(t));
        json_object_set_new(stored, "evaluated_at", json_string(t));
    }
    store_report(b, h->id, stored, now, 0, news);
    if (news && b->news)
        b->news(b->news_ctx);
out:
    json_decref(fresh);
    json_decref(stored);
}

static void watch_one(struct agent_baselines *b, struct held *h)
{
    struct enf_drift_opts o;
    int rc;
    if (!b->watching || h->drift || b->closing)
        return;
    if (!h->journal && (rc = agent_state_open_store(b->st, &h->journal)) != 0) {
        WARD_LOG_ERR(rc, "baseline %s: cannot open a journal connection; drift not watched", h->id);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.run.root = b->root;
    o.run.flags = ENF_RUN_APPLY;
    o.run.journal = h->journal;
    o.run.hooks = &b->hooks;
    o.on_report = on_drift_report;
    o.ctx = h;
    rc = enf_drift_start(b->loop, h->b, &o, &h->drift);
    if (rc != 0)
        WARD_LOG_ERR(rc, "baseline %s: cannot start the drift watcher", h->id);
    else
        WARD_INFO("baseline %s version %lld: watching for drift (%s mode)", h->id, h->version,
                  h->b->mode == ENF_MODE_ENFORCE ? "enforce" : "audit");
}

/* ---- sync: plan and fetch ------------------------------------------------------------------ */

int agent_baselines_check_assigned(const json_t *assigned)
{
    json_t *a;
    size_t i;
    if (!json_is_array(assigned))
        return WARD_EPARSE;
    json_array_foreach(assigned, i, a)
    {
        const char *id = NULL, *sha = NULL;
        long long v = 0;
        if (!json_is_object(a) ||
            ward_json_get_str(a, NULL, "id", WARD_JSON_REQUIRED, &id, NULL) != 0 ||
            ward_json_get_int(a, NULL, "version", WARD_JSON_REQUIRED, 1, INT64_MAX, &v, NULL) !=
                0 ||
            ward_json_get_str(a, NULL, "sha256", WARD_JSON_REQUIRED, &sha, NULL) != 0)
            return WARD_EPARSE;
        if (strlen(id) == 0 || strlen(id) > ID_MAX || strlen(sha) != 64 ||
            strspn(sha, "0123456789abcdef") != 64)
            return WARD_EPARSE;
        for (const char *p = id; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == ':' || *p == '-'))
                return WARD_EPARSE;
    }
    return 0;
}

static void finish(struct agent_baselines *b, int rc, const struct agent_http_response *r)
{
    agent_baselines_done_fn done = b->done;
    void *ctx = b->done_ctx;
    b->syncing = 0;
    b->done = NULL;
    json_decref(b->fetch);
    json_decref(b->removes);
    json_decref(b->uploads);
    b->fetch = b->removes = b->uploads = NULL;
    ward_free(b->device);
    b->device = NULL;
    b->sess = NULL;
    if (done)
        done(rc, r, ctx);
    if (b->retiring && !b->working && !b->closing)
        retire_start(b);
}

static int plan(struct agent_baselines *b, const json_t *assigned)
{
    struct held **link, *h;
    json_t *a;
    size_t i;

    b->fetch = json_array();
    b->removes = json_array();
    if (!b->fetch || !b->removes)
        return WARD_ENOMEM;
    json_array_foreach(assigned, i, a)
    {
        h = held_find(b, sval(a, "id"), NULL);
        if (h && h->version == json_integer_value(json_object_get(a, "version")) &&
            strcmp(h->sha, sval(a, "sha256")) == 0)
            continue;
        if (json_array_append(b->fetch, a) != 0)
            return WARD_ENOMEM;
    }
    for (link = &b->list; (h = *link) != NULL;) {
        int still = 0;
        json_array_foreach(assigned, i, a)
        {
            if (strcmp(sval(a, "id"), h->id) == 0)
                still = 1;
        }
        if (still) {
            link = &h->next;
            continue;
        }
        if (json_array_append_new(b->removes, json_pack("{s:s, s:I}", "id", h->id, "version",
                                                        (json_int_t)h->version)) != 0)
            return WARD_ENOMEM;
        WARD_INFO("baseline %s is no longer assigned; removing it", h->id);
        *link = h->next;
        held_retire(b, h);
    }
    return 0;
}

/* Stores a verified document as the held version (replacing an older one). */
static int install(struct agent_baselines *b, const json_t *want, const char *doc, size_t len)
{
    const char *id = sval(want, "id"), *sha = sval(want, "sha256");
    long long version = json_integer_value(json_object_get(want, "version"));
    uint8_t dg[WARD_SHA256_LEN];
    char hex[WARD_SHA256_HEX_SIZE];
    struct held *h = NULL, *old, **link;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = ward_sha256(doc, len, dg)) != 0 ||
        (rc = ward_hex_encode(dg, sizeof(dg), hex, sizeof(hex))) != 0)
        return rc;
    if (strcmp(hex, sha) != 0) {
        char why[200];
        snprintf(why, sizeof(why),
                 "sha256 mismatch (got %.16s..., the check-in said %.16s...);"
                 " document refused",
                 hex, sha);
        note_error(b, id, version, why);
        return 0;
    }
    rc = held_new(b, id, version, sha, doc, len, &h);
    if (rc == WARD_ENOMEM)
        return rc;
    if (rc != 0)
        return 0; /* refused, said so */
    rc =
        ward_store_prepare(agent_state_store(b->st),
                           "INSERT INTO baselines(id, version, sha256, document, state, fetched_at,"
                           " report, evaluated_at, failing, reported) VALUES (?1, ?2, ?3, ?4,"
                           " 'active', ?5, NULL, NULL, 0, 1) ON CONFLICT(id) DO UPDATE SET"
                           " version = excluded.version, sha256 = excluded.sha256,"
                           " document = excluded.document, state = 'active',"
                           " fetched_at = excluded.fetched_at, report = NULL,"
                           " evaluated_at = NULL, failing = 0, reported = 1",
                           &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, version);
        sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, doc, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, ward_time_now());
        rc = ward_store_step(agent_state_store(b->st), st);
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        held_free(h);
        return rc;
    }
    old = held_find(b, id, &link);
    if (old) {
        *link = old->next;
        held_retire(b, old);
    }
    h->needs_eval = 1;
    h->next = b->list;
    b->list = h;
    WARD_INFO("baseline %s version %lld fetched (%zu settings, %s mode)", id, version,
              h->b->n_settings, h->b->mode == ENF_MODE_ENFORCE ? "enforce" : "audit");
    return 0;
}

static void fetch_next(struct agent_baselines *b);

static int is_auth(const struct agent_http_response *r)
{
    return r->err == WARD_EHTTP && (r->status == 401 || r->status == 403);
}

static void on_fetch(struct agent_http_response *r, void *ctx)
{
    struct agent_baselines *b = ctx;
    const json_t *want = json_array_get(b->fetch, b->next);
    int rc;

    b->req = NULL;
    if (r->err == WARD_ECANCELED || b->closing) {
        finish(b, WARD_ECANCELED, NULL);
        maybe_freed(b);
        return;
    }
    if (is_auth(r) || (r->err != 0 && r->err != WARD_EHTTP) || r->status >= 500 ||
        r->status == 429) {
        finish(b, r->err ? r->err : WARD_EHTTP, r);
        return;
    }
    if (r->err == WARD_EHTTP) {
        /* 404: unassigned between the check-in and now; another 4xx is the service's bug. */
        WARD_WARN("baseline %s version %lld: fetch answered %ld; skipped", sval(want, "id"),
                  (long long)json_integer_value(json_object_get(want, "version")), r->status);
    } else if ((rc = install(b, want, r->body.data ? r->body.data : "", r->body.len)) != 0) {
        finish(b, rc, NULL);
        return;
    }
    b->next++;
    fetch_next(b);
}

static void fetch_next(struct agent_baselines *b)
{
    struct agent_http_request rq;
    const json_t *want;
    char path[URL_MAX];
    int n, rc;

    if (b->next >= json_array_size(b->fetch)) {
        /* Removals and replacements wait for their drift watchers to stop first. */
        if (b->stops_pending > 0) {
            b->waiting_stops = 1;
            return;
        }
        start_job(b);
        return;
    }
    if (!agent_session_serves(b->sess, b->device)) {
        finish(b, WARD_ECANCELED, NULL); /* torn down, or another identity since */
        return;
    }
    want = json_array_get(b->fetch, b->next);
    n = snprintf(path, sizeof(path), "/api/v1/baselines/%s?version=%lld", sval(want, "id"),
                 (long long)json_integer_value(json_object_get(want, "version")));
    if (n < 0 || (size_t)n >= sizeof(path)) {
        finish(b, WARD_ETOOBIG, NULL);
        return;
    }
    memset(&rq, 0, sizeof(rq));
    rq.max_response = ENF_DOC_MAX_BYTES;
    rc = agent_session_get(b->sess, path, &rq, on_fetch, b, &b->req);
    if (rc != 0)
        finish(b, rc, NULL);
}

/* ---- sync: evaluation and removal off the loop ------------------------------------------------
 */

static void job_work(uv_work_t *w)
{
    struct agent_baselines *b = w->data;
    for (size_t i = 0; i < b->n_items; i++) {
        struct job_item *it = &b->items[i];
        struct enf_run_opts o;
        memset(&o, 0, sizeof(o));
        o.root = b->root;
        o.journal = b->job_store;
        o.hooks = &b->hooks;
        if (it->h) {
            o.flags = ENF_RUN_APPLY; /* settings in audit mode are only checked */
            it->rc = enf_run(it->h->b, &o, &it->report);
        } else {
            /* a selective wipe takes the certificates and profiles Ward installed along */
            o.flags = b->retired ? ENF_RUN_RETIRE : 0;
            it->rc = enf_baseline_remove(it->id, &o, &it->report);
        }
    }
    ward_crypto_thread_done(); /* trust_root parses certificates with OpenSSL */
}

static void job_items_free(struct agent_baselines *b)
{
    for (size_t i = 0; i < b->n_items; i++) {
        enf_report_free(b->items[i].report);
        ward_free(b->items[i].id);
    }
    ward_free(b->items);
    b->items = NULL;
    b->n_items = 0;
}

static void job_done(uv_work_t *w, int status)
{
    struct agent_baselines *b = w->data;
    int64_t now = ward_time_now();
    b->working = 0;
    if (b->closing || status != 0) {
        job_items_free(b);
        if (b->closing) {
            finish(b, WARD_ECANCELED, NULL);
            maybe_freed(b);
        } else {
            finish(b, WARD_EIO, NULL);
        }
        return;
    }
    for (size_t i = 0; i < b->n_items; i++) {
        struct job_item *it = &b->items[i];
        json_t *body = NULL;
        int removal = it->h == NULL;
        if (it->rc != 0 && !(removal && it->rc == WARD_ENOENT)) {
            WARD_LOG_ERR(it->rc, "baseline %s: %s failed", it->id,
                         removal ? "removal" : "evaluation");
            continue;
        }
        if (report_body(it->report, it->id, it->version, now, removal, &body) != 0)
            continue;
        if (it->report)
            WARD_INFO("baseline %s version %lld %s: %zu kept, %zu repaired, %zu failed, %zu "
                      "denied, %zu skipped",
                      it->id, it->version, removal ? "removed" : "evaluated",
                      it->report->counts[ENF_KEPT], it->report->counts[ENF_REPAIRED],
                      it->report->counts[ENF_FAILED], it->report->counts[ENF_DENIED],
                      it->report->counts[ENF_SKIPPED]);
        else
            WARD_INFO("baseline %s removed (nothing to restore)", it->id);
        store_report(b, it->id, body, now, removal, 1);
        json_decref(body);
        if (it->h) {
            it->h->needs_eval = 0;
            watch_one(b, it->h);
        }
    }
    job_items_free(b);
    uploads_start(b);
}

static void start_job(struct agent_baselines *b)
{
    size_t n = json_array_size(b->removes), k = 0;
    struct held *h;
    json_t *r;
    size_t i;
    int rc;

    for (h = b->list; h; h = h->next)
        n += h->needs_eval;
    if (n == 0) {
        uploads_start(b);
        return;
    }
    if (!b->job_store && (rc = agent_state_open_store(b->st, &b->job_store)) != 0) {
        finish(b, rc, NULL);
        return;
    }
    b->items = ward_calloc(n, sizeof(*b->items));
    if (!b->items) {
        finish(b, WARD_ENOMEM, NULL);
        return;
    }
    b->n_items = n;
    json_array_foreach(b->removes, i, r)
    {
        b->items[k].id = ward_strdup(sval(r, "id"));
        b->items[k].version = json_integer_value(json_object_get(r, "version"));
        k++;
    }
    for (h = b->list; h; h = h->next) {
        if (!h->needs_eval)
            continue;
        b->items[k].id = ward_strdup(h->id);
        b->items[k].version = h->version;
        b->items[k].h = h;
        k++;
    }
    for (k = 0; k < n; k++)
        if (!b->items[k].id) {
            job_items_free(b);
            finish(b, WARD_ENOMEM, NULL);
            return;
        }
    b->work.data = b;
    if (uv_queue_work(b->loop, &b->work, job_work, job_done) != 0) {
        job_items_free(b);
        finish(b, WARD_EIO, NULL);
        return;
    }
    b->working = 1;
}

/* ---- sync: compliance upload ------------------------------------------------------------------
 */

static void upload_next(struct agent_baselines *b);

/* Acknowledged (or refused for good): the service has this evaluation. */
static void mark_reported(struct agent_baselines *b, const json_t *u)
{
    sqlite3_stmt *st = NULL;
    int removed = strcmp(sval(u, "state"), "removed") == 0;
    int rc = ward_store_prepare(agent_state_store(b->st),
                                removed ? "DELETE FROM baselines WHERE id = ?1 AND state ="
                                          " 'removed' AND generation = ?2"
                                        : "UPDATE baselines SET reported = 1 WHERE id = ?1 AND"
                                          " generation = ?2",
                                &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, sval(u, "id"), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(u, "generation")));
        rc = ward_store_step(agent_state_store(b->st), st);
    }
    sqlite3_finalize(st);
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "baseline %s: cannot record the upload", sval(u, "id"));
}

static void on_upload(struct agent_http_response *r, void *ctx)
{
    struct agent_baselines *b = ctx;
    const json_t *u = json_array_get(b->uploads, b->next);

    b->req = NULL;
    if (r->err == WARD_ECANCELED || b->closing) {
        finish(b, WARD_ECANCELED, NULL);
        maybe_freed(b);
        return;
    }
    if (is_auth(r) || (r->err != 0 && r->err != WARD_EHTTP) || r->status >= 500 ||
        r->status == 429) {
        finish(b, r->err ? r->err : WARD_EHTTP, r);
        return;
    }
    if (r->err == WARD_EHTTP)
        WARD_WARN("baseline %s: the service refused the compliance report (%ld); dropped",
                  sval(u, "id"), r->status);
    else
        WARD_DEBUG("baseline %s: compliance acknowledged", sval(u, "id"));
    mark_reported(b, u);
    b->next++;
    upload_next(b);
}

static void upload_next(struct agent_baselines *b)
{
    const json_t *u;
    const char *report;
    int rc;

    if (b->next >= json_array_size(b->uploads)) {
        finish(b, 0, NULL);
        return;
    }
    if (!agent_session_serves(b->sess, b->device)) {
        finish(b, WARD_ECANCELED, NULL);
        return;
    }
    u = json_array_get(b->uploads, b->next);
    report = sval(u, "report");
    rc = agent_session_post(b->sess, "/api/v1/compliance", report, strlen(report), 0, on_upload, b,
                            &b->req);
    if (rc != 0)
        finish(b, rc, NULL);
}

static void uploads_start(struct agent_baselines *b)
{
    sqlite3_stmt *st = NULL;
    int rc;

    json_decref(b->uploads);
    b->uploads = json_array();
    b->next = 0;
    if (!b->uploads) {
        finish(b, WARD_ENOMEM, NULL);
        return;
    }
    rc = ward_store_prepare(agent_state_store(b->st),
                            "SELECT id, state, generation, report FROM baselines WHERE"
                            " reported = 0 AND report IS NOT NULL ORDER BY id",
                            &st);
    while (rc == 0 && (rc = ward_store_step(agent_state_store(b->st), st)) == WARD_STORE_ROW) {
        json_t *u = json_pack("{s:s, s:s, s:I, s:s}", "id", sqlite3_column_text(st, 0), "state",
                              sqlite3_column_text(st, 1), "generation",
                              (json_int_t)sqlite3_column_int64(st, 2), "report",
                              sqlite3_column_text(st, 3));
        if (!u || json_array_append_new(b->uploads, u) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        finish(b, rc, NULL);
        return;
    }
    upload_next(b);
}

int agent_baselines_sync(struct agent_baselines *b, struct agent_session *sess,
                         const json_t *assigned, agent_baselines_done_fn done, void *ctx)
{
    const struct agent_identity *id = sess ? agent_session_identity(sess) : NULL;
    int rc;
    if (!b || !sess || !done)
        return WARD_EINVAL;
    if (!id || !agent_session_ready(sess))
        return WARD_ESTATE;
    if (b->syncing || b->working || b->closing)
        return WARD_EBUSY;
    if (b->retired || b->retiring)
        return WARD_ESTATE; /* a selective wipe removed everything Ward enforced */
    if (assigned && agent_baselines_check_assigned(assigned) != 0)
        return WARD_EPROTO;
    if ((rc = load_held(b)) != 0)
        return rc;
    b->device = ward_strdup(id->device_id);
    if (!b->device)
        return WARD_ENOMEM;
    b->sess = sess;
    b->done = done;
    b->done_ctx = ctx;
    b->syncing = 1;
    b->next = 0;
    if (assigned) {
        rc = plan(b, assigned);
        if (rc != 0) {
            b->done = NULL;
            finish(b, rc, NULL);
            return rc;
        }
        /* `ward checkin` has no drift watcher: every check-in evaluates afresh. */
        if (!b->watching)
            for (struct held *h = b->list; h; h = h->next)
                h->needs_eval = 1;
    } else {
        b->fetch = json_array();
        b->removes = json_array();
        if (!b->fetch || !b->removes) {
            b->done = NULL;
            finish(b, WARD_ENOMEM, NULL);
            return WARD_ENOMEM;
        }
    }
    fetch_next(b);
    return 0;
}

/* ---- selective wipe
 * ------------------------------------------------------------------------------
 */

static void retire_finish(struct agent_baselines *b, int rc, json_t *removed)
{
    agent_baselines_retired_fn cb = b->retired_cb;
    void *ctx = b->retired_ctx;
    b->retiring = 0;
    b->retired_cb = NULL;
    if (cb)
        cb(rc, removed, ctx);
    else
        json_decref(removed);
}

static void retire_done(uv_work_t *w, int status)
{
    struct agent_baselines *b = w->data;
    json_t *removed = json_array();
    int64_t now = ward_time_now();
    int rc = status == 0 ? 0 : WARD_EIO;

    b->working = 0;
    if (b->closing) {
        job_items_free(b);
        json_decref(removed);
        retire_finish(b, WARD_ECANCELED, NULL);
        maybe_freed(b);
        return;
    }
    for (size_t i = 0; rc == 0 && removed && i < b->n_items; i++) {
        struct job_item *it = &b->items[i];
        json_t *body = NULL;
        if (it->rc == WARD_ENOENT)
            continue; /* nothing of it left to restore */
        if (it->rc != 0) {
            json_array_append_new(removed, json_pack("{s:s, s:s, s:s}", "kind", "baseline", "name",
                                                     it->id, "error", ward_strerror(it->rc)));
            continue;
        }
        for (size_t k = 0; k < it->report->n; k++) {
            const struct enf_outcome *o = &it->report->items[k];
            char name[512];
            if (o->result == ENF_SKIPPED)
                continue; /* not restore_on_removal: Ward leaves it as it is */
            snprintf(name, sizeof(name), "%s/%s", it->id, o->setting->id);
            json_array_append_new(
                removed,
                json_pack("{s:s, s:s, s:s, s:s?}", "kind", "setting", "name", name, "result",
                          o->result == ENF_REPAIRED ? "restored" : "failed", "error",
                          o->result == ENF_REPAIRED ? NULL
                          : o->err                  ? ward_strerror(o->err)
                                                    : o->actual));
        }
        if (report_body(it->report, it->id, it->version, now, 1, &body) == 0)
            store_report(b, it->id, body, now, 1, 1);
        json_decref(body);
    }
    job_items_free(b);
    if (!removed)
        rc = WARD_ENOMEM;
    retire_finish(b, rc, rc == 0 ? removed : NULL);
    if (rc != 0)
        json_decref(removed);
}

/* Every baseline the rollback journal knows, held or not, is removed off the loop. */
static void retire_start(struct agent_baselines *b)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 16, n = 0;
    int rc;

    if (b->syncing || b->working)
        return; /* finish() comes back here */
    for (struct held *h = b->list, *next; h; h = next) {
        next = h->next;
        held_retire(b, h);
    }
    b->list = NULL;
    if (b->stops_pending > 0) {
        b->waiting_stops = 1; /* held_stopped comes back here */
        return;
    }
    if (!b->job_store && (rc = agent_state_open_store(b->st, &b->job_store)) != 0) {
        retire_finish(b, rc, NULL);
        return;
    }
    b->items = ward_calloc(cap, sizeof(*b->items));
    rc = b->items
             ? ward_store_prepare(agent_state_store(b->st),
                                  "SELECT DISTINCT baseline_id FROM enf_journal ORDER BY 1", &st)
             : WARD_ENOMEM;
    while (rc == 0 && (rc = ward_store_step(agent_state_store(b->st), st)) == WARD_STORE_ROW) {
        if (n == cap) {
            struct job_item *more = ward_realloc(b->items, 2 * cap * sizeof(*more));
            if (!more) {
                rc = WARD_ENOMEM;
                break;
            }
            memset(more + cap, 0, cap * sizeof(*more));
            b->items = more;
            cap *= 2;
        }
        b->items[n].id = ward_strdup((const char *)sqlite3_column_text(st, 0));
        if (!b->items[n++].id) {
            rc = WARD_ENOMEM;
            break;
        }
        rc = 0;
    }
    sqlite3_finalize(st);
    b->n_items = n;
    if (rc == 0 && n == 0) {
        job_items_free(b);
        retire_finish(b, 0, json_array());
        return;
    }
    b->work.data = b;
    if (rc == 0 && uv_queue_work(b->loop, &b->work, job_work, retire_done) != 0)
        rc = WARD_EIO;
    if (rc != 0) {
        job_items_free(b);
        retire_finish(b, rc, NULL);
        return;
    }
    b->working = 1;
}

int agent_baselines_retire(struct agent_baselines *b, agent_baselines_retired_fn cb, void *ctx)
{
    if (!b || !cb)
        return WARD_EINVAL;
    if (b->closing || b->retiring)
        return WARD_EBUSY;
    b->retired = 1;
    b->retiring = 1;
    b->retired_cb = cb;
    b->retired_ctx = ctx;
    retire_start(b);
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------------
 */

/* The service's words for a refusal: its first line, printable ASCII only, shortened. */
static void refusal_text(const char *body, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; body && i < len && n + 1 < outlen && n < 160; i++) {
        char c = body[i];
        if (c == '\n' || c == '\r')
            break;
        out[n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    out[n] = '\0';
}

/* enf_hooks.est: an EST exchange on the daemon's session, from the run's worker thread. */
static int est_hook(void *ctx, const char *profile, const char *op, const char *body, size_t len,
                    char **answer, size_t *alen, char *why, size_t whylen)
{
    struct agent_baselines *b = ctx;
    struct agent_loopcall_req rq;
    struct agent_loopcall_answer ans;
    char path[256], text[170];
    int rc;

    *answer = NULL;
    *alen = 0;
    if (!b->calls) {
        snprintf(why, whylen, "%s", "no session with the service in this run");
        return WARD_ENOTSUP;
    }
    if (snprintf(path, sizeof(path), "/.well-known/est/%s/%s", profile, op) >= (int)sizeof(path))
        return WARD_ETOOBIG;
    memset(&rq, 0, sizeof(rq));
    rq.method = body ? "POST" : "GET";
    rq.path = path;
    rq.content_type = body ? "application/pkcs10" : NULL;
    rq.body = body;
    rq.len = len;
    rq.max_response = EST_ANSWER_MAX;
    rq.timeout_ms = 60000;
    rc = agent_loopcall_run(b->calls, &rq, &ans);
    if (rc == 0 && ans.status != 200) {
        /* 202 + Retry-After: the service holds the request for approval (RFC 7030 4.2.3) */
        snprintf(why, whylen, "the service deferred the request (HTTP %ld); asked again later",
                 ans.status);
        rc = WARD_EBUSY;
    } else if (rc == 0) {
        *answer = ans.body;
        *alen = ans.len;
        ans.body = NULL;
    } else if (rc == WARD_EHTTP) {
        refusal_text(ans.body, ans.len, text, sizeof(text));
        snprintf(why, whylen, "the service refused it (HTTP %ld%s%s)", ans.status,
                 text[0] ? ": " : "", text);
    } else if (rc == WARD_ESTATE) {
        snprintf(why, whylen, "%s",
                 "the device has no usable identity (not enrolled, or re-enrollment pending)");
    } else if (rc == WARD_ETOOBIG) {
        snprintf(why, whylen, "the answer is larger than %zu KiB; refused", EST_ANSWER_MAX / 1024);
    } else {
        snprintf(why, whylen, "%s", ward_strerror(rc));
    }
    agent_loopcall_answer_release(&ans);
    return rc;
}

/* enf_hooks.fetch: content by SHA-256 from the service's file store (GET /api/v1/files/SHA),
 * checked against the hash before the run sees a byte of it. */
static int blob_dup(const struct blob *bl, char **data, size_t *len)
{
    if (!(*data = ward_malloc(bl->len + 1)))
        return WARD_ENOMEM;
    memcpy(*data, bl->data, bl->len);
    (*data)[bl->len] = '\0';
    *len = bl->len;
    return 0;
}

/* A copy of cached content; WARD_ENOENT when not cached. Any thread. */
static int blob_get(struct agent_baselines *b, const char *sha, char **data, size_t *len)
{
    int rc = WARD_ENOENT;
    uv_mutex_lock(&b->blob_mu);
    for (struct blob *bl = b->blobs; bl; bl = bl->next)
        if (strcmp(bl->sha, sha) == 0) {
            rc = blob_dup(bl, data, len);
            break;
        }
    uv_mutex_unlock(&b->blob_mu);
    return rc;
}

static void blobs_trim(struct agent_baselines *b, size_t keep)
{
    struct blob **link = &b->blobs, *bl;
    size_t total = 0;
    while ((bl = *link) != NULL) {
        if (total + bl->len > keep) {
            *link = bl->next;
            b->blob_bytes -= bl->len;
            ward_free(bl->data);
            ward_free(bl);
            continue;
        }
        total += bl->len;
        link = &bl->next;
    }
}

static void blob_put(struct agent_baselines *b, const char *sha, const char *data, size_t len)
{
    struct blob *bl;
    if (len > BLOB_ITEM_MAX || !(bl = ward_calloc(1, sizeof(*bl))))
        return;
    if (!(bl->data = ward_malloc(len ? len : 1))) {
        ward_free(bl);
        return;
    }
    memcpy(bl->data, data, len);
    bl->len = len;
    snprintf(bl->sha, sizeof(bl->sha), "%s", sha);
    uv_mutex_lock(&b->blob_mu);
    bl->next = b->blobs;
    b->blobs = bl;
    b->blob_bytes += len;
    blobs_trim(b, BLOB_CACHE_MAX);
    uv_mutex_unlock(&b->blob_mu);
}

static int fetch_hook(void *ctx, const char *sha256_hex, char **data, size_t *len)
{
    struct agent_baselines *b = ctx;
    struct agent_loopcall_req rq;
    struct agent_loopcall_answer ans;
    uint8_t md[WARD_SHA256_LEN];
    char path[128], hex[WARD_SHA256_HEX_SIZE];
    int rc;

    *data = NULL;
    *len = 0;
    if (!b->calls)
        return WARD_ENOTSUP;
    if (strlen(sha256_hex) != WARD_SHA256_HEX_SIZE - 1)
        return WARD_EINVAL;
    if ((rc = blob_get(b, sha256_hex, data, len)) != WARD_ENOENT)
        return rc;
    snprintf(path, sizeof(path), "/api/v1/files/%s", sha256_hex);
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.path = path;
    rq.max_response = FETCH_MAX;
    rq.timeout_ms = 120000;
    rc = agent_loopcall_run(b->calls, &rq, &ans);
    if (rc == 0 && ans.status != 200)
        rc = WARD_EPROTO;
    else if (rc == WARD_EHTTP && ans.status == 404)
        rc = WARD_ENOENT; /* the service has no such content */
    if (rc == 0) {
        if ((rc = ward_sha256(ans.body ? ans.body : "", ans.len, md)) == 0 &&
            (rc = ward_hex_encode(md, sizeof(md), hex, sizeof(hex))) == 0 &&
            strcmp(hex, sha256_hex) != 0) {
            WARD_WARN("content %.16s... from the service does not match its hash; refused",
                      sha256_hex);
            rc = WARD_EVERIFY;
        }
    }
    if (rc == 0) {
        *data = ans.body ? ans.body : ward_strdup("");
        *len = ans.len;
        ans.body = NULL;
        if (!*data)
            rc = WARD_ENOMEM;
        else
            blob_put(b, sha256_hex, *data, *len);
    } else {
        WARD_LOG_ERR(rc, "content %.16s... from the service (HTTP %ld)", sha256_hex, ans.status);
    }
    agent_loopcall_answer_release(&ans);
    return rc;
}

int agent_baselines_new(uv_loop_t *loop, struct agent_state *st, struct agent_session *sess,
                        const char *root, struct agent_baselines **out)
{
    struct agent_baselines *b;
    int rc;
    *out = NULL;
    b = ward_calloc(1, sizeof(*b));
    if (!b)
        return WARD_ENOMEM;
    b->loop = loop;
    b->st = st;
    b->link = sess;
    b->root = ward_strdup(root ? root : "/");
    if (!b->root || uv_mutex_init(&b->blob_mu) != 0) {
        ward_free(b->root);
        ward_free(b);
        return WARD_ENOMEM;
    }
    if (sess) {
        if ((rc = agent_loopcall_new(loop, sess, &b->calls)) != 0) {
            uv_mutex_destroy(&b->blob_mu);
            ward_free(b->root);
            ward_free(b);
            return rc;
        }
        b->calls_open = 1;
    }
    b->hooks.est = est_hook;
    b->hooks.fetch = fetch_hook;
    b->hooks.ctx = b;
    *out = b;
    return 0;
}

void agent_baselines_on_stored(struct agent_baselines *b, agent_baselines_news_fn fn, void *ctx)
{
    if (!b)
        return;
    b->stored = fn;
    b->stored_ctx = ctx;
}

int agent_baselines_watch(struct agent_baselines *b, agent_baselines_news_fn fn, void *ctx)
{
    int rc;
    if (!b || b->closing)
        return WARD_EINVAL;
    b->watching = 1;
    b->news = fn;
    b->news_ctx = ctx;
    if ((rc = load_held(b)) != 0)
        return rc;
    for (struct held *h = b->list; h; h = h->next)
        if (!h->needs_eval)
            watch_one(b, h);
    return 0;
}

static void maybe_freed(struct agent_baselines *b)
{
    void (*cb)(void *ctx);
    void *ctx;
    if (!b->closing || b->working || b->stops_pending > 0 || b->req || b->calls_open)
        return;
    cb = b->close_cb;
    ctx = b->close_ctx;
    ward_store_close(b->job_store);
    json_decref(b->fetch);
    json_decref(b->removes);
    json_decref(b->uploads);
    ward_free(b->device);
    ward_free(b->root);
    blobs_trim(b, 0);
    uv_mutex_destroy(&b->blob_mu);
    ward_free(b);
    if (cb)
        cb(ctx);
}

void agent_baselines_detach(struct agent_baselines *b)
{
    if (b)
        b->done = NULL;
}

static void calls_closed(void *ctx)
{
    struct agent_baselines *b = ctx;
    b->calls_open = 0;
    maybe_freed(b);
}

void agent_baselines_close(struct agent_baselines *b, void (*cb)(void *ctx), void *ctx)
{
    struct held *h, *next;
    if (!b || b->closing)
        return;
    b->closing = 1;
    b->close_cb = cb;
    b->close_ctx = ctx;
    b->done = NULL; /* the owner is going away: no completion */
    if (b->retiring && !b->working)
        retire_finish(b, WARD_ECANCELED, NULL);
    for (h = b->list; h; h = next) {
        next = h->next;
        held_retire(b, h);
    }
    b->list = NULL;
    /* A run waiting on the service gets WARD_ECANCELED and finishes. */
    if (b->calls) {
        struct agent_loopcall *lc = b->calls;
        b->calls = NULL;
        agent_loopcall_close(lc, calls_closed, b);
    }
    maybe_freed(b);
}

/* ---- status
 * -------------------------------------------------------------------------------------- */

int agent_baselines_status(struct agent_state *st, json_t **out)
{
    sqlite3_stmt *s = NULL;
    json_t *o = NULL;
    char t[32];
    int rc;

    *out = NULL;
    rc = ward_store_prepare(agent_state_store(st),
                            "SELECT COUNT(*), COALESCE(SUM(failing), 0), MAX(evaluated_at),"
                            " COALESCE(SUM(reported = 0), 0) FROM baselines WHERE state = 'active'",
                            &s);
    if (rc != 0)
        return rc;
    rc = ward_store_step(agent_state_store(st), s);
    if (rc == WARD_STORE_ROW) {
        int has = sqlite3_column_type(s, 2) != SQLITE_NULL;
        if (has)
            ward_time_iso(sqlite3_column_int64(s, 2), t, sizeof(t));
        o = json_pack("{s:I, s:I, s:s?, s:I}", "baselines", (json_int_t)sqlite3_column_int64(s, 0),
                      "failing", (json_int_t)sqlite3_column_int64(s, 1), "last_evaluation",
                      has ? t : NULL, "unreported", (json_int_t)sqlite3_column_int64(s, 3));
        rc = o ? 0 : WARD_ENOMEM;
    } else if (rc == 0) {
        rc = WARD_ESTORE;
    }
    sqlite3_finalize(s);
    if (rc == 0)
        *out = o;
    return rc;
}

/* Copies what a person may read about one failing result: the setting's own words
 * (its description in the document), never its parameters, which may hold secrets. */
static int failing_entry(const json_t *r, const json_t *settings, int detail, json_t *out)
{
    const char *id = sval(r, "id"), *desc = NULL;
    json_t *s, *e;
    size_t i;
    json_array_foreach(settings, i, s)
    {
        if (id && json_is_string(json_object_get(s, "id")) && strcmp(sval(s, "id"), id) == 0) {
            desc = sval(s, "description");
            break;
        }
    }
    e = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "id", id, "kind", sval(r, "kind"), "result",
                  sval(r, "result"), "description", desc, "error", sval(r, "error"));
    if (e && detail) {
        json_t *x =
            json_pack("{s:s?, s:s?}", "expected", sval(r, "expected"), "actual", sval(r, "actual"));
        if (!x || json_object_update(e, x) != 0) {
            json_decref(e);
            e = NULL;
        }
        json_decref(x);
    }
    return e && json_array_append_new(out, e) == 0 ? 0 : WARD_ENOMEM;
}

int agent_baselines_compliance(struct agent_state *st, int detail, json_t **out)
{
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(agent_state_store(st),
                            "SELECT id, version, document, report, evaluated_at, failing"
                            " FROM baselines WHERE state = 'active' ORDER BY id",
                            &s);
    while (rc == 0 && (rc = ward_store_step(agent_state_store(st), s)) == WARD_STORE_ROW) {
        const char *doc = (const char *)sqlite3_column_text(s, 2);
        const char *rep = (const char *)sqlite3_column_text(s, 3);
        json_t *d = NULL, *r = NULL, *fail = json_array(), *e, *res;
        int evaluated = sqlite3_column_type(s, 4) != SQLITE_NULL;
        char t[32] = "";
        size_t i;
        rc = 0;
        if (doc)
            ward_json_loadb(doc, strlen(doc), NULL, &d, NULL); /* validated when stored */
        if (rep)
            ward_json_loadb(rep, strlen(rep), NULL, &r, NULL);
        if (evaluated)
            ward_time_iso(sqlite3_column_int64(s, 4), t, sizeof(t));
        json_array_foreach(json_object_get(r, "results"), i, res)
        {
            if (rc == 0 && fail && is_failing(sval(res, "result")))
                rc = failing_entry(res, json_object_get(d, "settings"), detail, fail);
        }
        e = json_pack("{s:s, s:I, s:s?, s:s?, s:s?, s:b, s:I, s:o?}", "id",
                      (const char *)sqlite3_column_text(s, 0), "version",
                      (json_int_t)sqlite3_column_int64(s, 1), "description", sval(d, "description"),
                      "mode", sval(d, "mode"), "evaluated_at", evaluated ? t : NULL, "compliant",
                      evaluated && sqlite3_column_int64(s, 5) == 0, "failing_count",
                      (json_int_t)sqlite3_column_int64(s, 5), "failing", fail);
        json_decref(d);
        json_decref(r);
        if (rc == 0 && (!e || !fail))
            rc = WARD_ENOMEM;
        if (rc == 0)
            rc = json_array_append_new(arr, e) == 0 ? 0 : WARD_ENOMEM;
        else
            json_decref(e);
    }
    sqlite3_finalize(s); /* the loop ends with 0 from step (done) or an error */
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}
