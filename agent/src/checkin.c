/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The check-in engine. One cycle is: renew the certificate if due, POST /checkin, journal
 * the commands it brought and kick the job runner (agent/jobs.h), POST /results until the outbox is
 * acknowledged. Between cycles a jittered uv_timer waits for the next one, and a long-poll GET
 * /wait stays open so the service can wake the device. Failures back off exponentially with full
 * jitter; an expired certificate or a 401/403 on an mTLS endpoint stops the engine in the persisted
 * needs_reenrollment state. Nothing here polls: with the service down the loop sleeps in
 * a timer. After the results the cycle syncs the assigned baselines and, when due, starts an
 * inventory upload: both are the daemon's parts (agent/daemon.h), borrowed, never owned here.
 */
#define WARD_LOG_TAG "checkin"

#include "agent/checkin.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/baselines.h"
#include "agent/commands.h"
#include "agent/config.h"
#include "agent/http.h"
#include "agent/identity.h"
#include "agent/invsync.h"
#include "agent/jobs.h"
#include "agent/outbox.h"
#include "agent/session.h"
#include "agent/state.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

#define WAIT_TIMEOUT_S 55
#define WAIT_EARLY_MS 5000 /* a 204 faster than this counts as a failure (no spin) */
#define RESULTS_BATCH_BYTES (512 * 1024)
#define MAX_ROUNDS_ONCE 5 /* `ward checkin`: follow-up cycles (sync, 100 commands) */
#define MIN_INTERVAL_S 10
#define MAX_INTERVAL_S 86400
#define URL_MAX 1024

/* ---- schedule math ---------------------------------------------------------------------- */

uint64_t agent_sched_jitter(uint64_t interval_ms, uint32_t rnd)
{
    uint64_t spread = interval_ms / 5; /* the whole +/- 10 % band */
    if (spread == 0)
        return interval_ms;
    return interval_ms - interval_ms / 10 + (uint64_t)rnd % (spread + 1);
}

uint64_t agent_sched_backoff_cap(uint64_t interval_ms, uint64_t configured_cap_ms)
{
    if (configured_cap_ms > 0)
        return configured_cap_ms;
    return interval_ms < 60000 ? 60000 : interval_ms;
}

uint64_t agent_sched_backoff(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint32_t rnd,
                             long retry_after_s)
{
    uint64_t ceil = base_ms ? base_ms : 1000, d;
    if (attempt == 0)
        attempt = 1;
    for (unsigned i = 1; i < attempt && ceil < cap_ms; i++)
        ceil *= 2;
    if (ceil > cap_ms)
        ceil = cap_ms;
    d = ceil ? (uint64_t)rnd % (ceil + 1) : 0;
    if (d < 1000)
        d = 1000;
    if (retry_after_s > 0) {
        uint64_t ra = (uint64_t)(retry_after_s > 86400 ? 86400 : retry_after_s) * 1000;
        if (ra > d)
            d = ra;
    }
    return d;
}

int64_t agent_sched_renew_at(int64_t not_before, int64_t not_after)
{
    if (not_after <= not_before)
        return not_before;
    return not_before + (not_after - not_before) / 3 * 2;
}

int agent_sched_renew_due(int64_t not_before, int64_t not_after, int64_t now)
{
    return now >= agent_sched_renew_at(not_before, not_after);
}

/* ---- protocol parsing -------------------------------------------------------------------- */

void agent_checkin_answer_release(struct agent_checkin_answer *a)
{
    if (!a)
        return;
    json_decref(a->commands);
    a->commands = NULL;
    json_decref(a->baselines);
    a->baselines = NULL;
}

int agent_checkin_parse_answer(const char *buf, size_t len, struct agent_checkin_answer *out)
{
    json_t *j = NULL, *cmds = NULL, *bl = NULL;
    const char *st = NULL;
    int64_t t;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = ward_json_loadb(buf, len, NULL, &j, NULL);
    if (rc != 0)
        return rc == WARD_ENOMEM ? rc : WARD_EPARSE;
    rc = WARD_EPARSE;
    if (!json_is_object(j) ||
        ward_json_get_int(j, NULL, "checkin_interval", 0, 1, MAX_INTERVAL_S, &out->checkin_interval,
                          NULL) != 0 ||
        ward_json_get_bool(j, NULL, "renew", 0, &out->renew, NULL) != 0 ||
        ward_json_get_array(j, NULL, "commands", 0, &cmds, NULL) != 0 ||
        ward_json_get_str(j, NULL, "server_time", 0, &st, NULL) != 0 ||
        ward_json_get_array(j, NULL, "baselines", 0, &bl, NULL) != 0)
        goto out;
    if (st && ward_time_parse_iso(st, &t) != 0)
        goto out;
    if (bl && agent_baselines_check_assigned(bl) != 0)
        goto out;
    out->baselines = bl ? json_incref(bl) : NULL;
    out->commands = cmds ? json_incref(cmds) : json_array();
    rc = out->commands ? 0 : WARD_ENOMEM;
out:
    json_decref(j);
    return rc;
}

void agent_proto_error_code(const char *buf, size_t len, char *code, size_t codelen)
{
    json_t *j = NULL, *e = NULL;
    const char *c = NULL;
    if (codelen)
        code[0] = '\0';
    if (!buf || ward_json_loadb(buf, len, NULL, &j, NULL) != 0)
        return;
    if (ward_json_get_object(j, NULL, "error", WARD_JSON_REQUIRED, &e, NULL) == 0 &&
        ward_json_get_str(e, NULL, "code", WARD_JSON_REQUIRED, &c, NULL) == 0 &&
        strlen(c) < codelen) {
        for (const char *p = c; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                goto out;
        snprintf(code, codelen, "%s", c);
    }
out:
    json_decref(j);
}

/* ---- engine ------------------------------------------------------------------------------ */

enum phase { PH_IDLE, PH_RENEW, PH_CHECKIN, PH_JOBS, PH_RESULTS, PH_INVENTORY, PH_BASELINES };

struct agent_checkin {
    uv_loop_t *loop;
    struct agent_state *st;
    const struct agent_config *cfg;
    struct agent_session *sess;      /* the daemon's session (borrowed) */
    const struct agent_identity *id; /* the session's, while it is ready */
    struct agent_jobs *jobs;         /* the daemon's job runner (borrowed) */
    int results_pending;             /* a job's result entered the outbox since the last upload */
    uv_timer_t timer;                /* next cycle (interval or backoff) */
    uv_timer_t wait_timer;           /* re-arming the long-poll after a failure */
    unsigned open_handles;
    int closing;
    agent_checkin_close_fn close_cb;
    void *close_ctx;

    enum phase phase;
    struct agent_http_req *op_req, *wait_req;
    struct agent_invsync *inv;  /* the daemon's inventory uploads (borrowed) */
    struct agent_baselines *bl; /* the daemon's baselines (borrowed) */
    json_t *assigned;           /* the last check-in's "baselines", NULL when absent */
    int stopped;                /* not enrolled, needs re-enrollment, or unenrolled */
    unsigned fails, wait_fails;
    long long interval_s;
    int again;     /* start another cycle as soon as this one ends */
    int renew_now; /* the service asked for renewal */
    int wake_cycle;
    size_t cycle_commands;
    uint64_t wait_started_ms;
    uint64_t started_ms;
    char hostname[256];

    int once;
    int once_rounds;
    agent_checkin_done_fn done;
    void *done_ctx;
};

static void cycle_start(struct agent_checkin *c);
static void wait_arm(struct agent_checkin *c);
static void on_timer(uv_timer_t *t);
static void on_wait_timer(uv_timer_t *t);

static uint32_t rnd32(void)
{
    uint32_t r = 0;
    if (ward_random_bytes(&r, sizeof(r)) != 0)
        r = (uint32_t)uv_hrtime();
    return r;
}

static void note(struct agent_checkin *c, const char *key, const char *value)
{
    int rc = agent_state_set(c->st, key, value);
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "cannot record %s in the state database", key);
}

static void note_error(struct agent_checkin *c, const char *what, int err, const char *detail)
{
    char line[512];
    char now[32];
    ward_time_iso(ward_time_now(), now, sizeof(now));
    snprintf(line, sizeof(line), "%s %s: %s%s%s", now, what, ward_strerror(err),
             detail && detail[0] ? ": " : "", detail ? detail : "");
    note(c, AGENT_META_LAST_ERROR, line);
}

/* POSTs body (borrowed) as JSON to path on the service as the cycle's operation. */
static int post_json(struct agent_checkin *c, const char *path, const json_t *body,
                     agent_http_done_fn cb)
{
    return agent_session_post_json(c->sess, path, body, cb, c, &c->op_req);
}

static void finish_once(struct agent_checkin *c, int rc)
{
    agent_checkin_done_fn done = c->done;
    if (!c->once || !done)
        return;
    c->done = NULL;
    done(rc, c->done_ctx);
}

/* Closes the session's client: every request on it (the cycle's, the long-poll, the
 * subsystems', downloads) completes with WARD_ECANCELED. */
static void http_teardown(struct agent_checkin *c)
{
    agent_session_teardown(c->sess);
    c->id = NULL;
}

/* Stops talking to the service for good (until re-enrollment). */
static void enter_needs_reenrollment(struct agent_checkin *c, const char *reason)
{
    /* Persist first, then say so: whoever reads the log line and asks `ward status` must
     * find the state already recorded. */
    agent_identity_set_needs_reenrollment(c->st, reason);
    note(c, AGENT_META_NEXT_CHECKIN, "");
    WARD_LOG_ERR(WARD_EREVOKED,
                 "%s: this device needs re-enrollment; the agent stops contacting %s. "
                 "Run: ward enroll --force --token TOKEN",
                 reason, c->id ? c->id->server_url : "the service");
    c->stopped = 1;
    c->phase = PH_IDLE;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->wait_timer);
    http_teardown(c);
    finish_once(c, WARD_EREVOKED);
}

static int is_auth_refusal(const struct agent_http_response *r)
{
    return r->err == WARD_EHTTP && (r->status == 401 || r->status == 403);
}

static void auth_refused(struct agent_checkin *c, const struct agent_http_response *r)
{
    char code[64], reason[128];
    agent_proto_error_code(r->body.data, r->body.len, code, sizeof(code));
    snprintf(reason, sizeof(reason), "the service refused the device certificate (%ld %s)",
             r->status, code[0] ? code : "no error code");
    enter_needs_reenrollment(c, reason);
}

static uint64_t interval_ms(const struct agent_checkin *c)
{
    return (uint64_t)c->interval_s * 1000;
}

static void schedule(struct agent_checkin *c, uint64_t delay_ms)
{
    char when[32];
    ward_time_iso(ward_time_now() + (int64_t)((delay_ms + 999) / 1000), when, sizeof(when));
    note(c, AGENT_META_NEXT_CHECKIN, when);
    uv_timer_start(&c->timer, on_timer, delay_ms, 0);
}

/* The jittered interval, or sooner when certificate renewal falls due before it (a short
 * certificate lifetime must not expire between two check-ins). When renewal is due already
 * (it failed, or the lifetime is so short that the service's backdated notBefore puts the
 * two-thirds point behind us even for a fresh certificate), the next try is halfway to
 * expiry at the latest. */
static uint64_t next_delay(const struct agent_checkin *c)
{
    uint64_t d = agent_sched_jitter(interval_ms(c), rnd32());
    int64_t now = ward_time_now();
    int64_t until = agent_sched_renew_at(c->id->not_before, c->id->not_after) - now;
    if (until < 0)
        until = c->id->not_after > now ? (c->id->not_after - now) / 2 : 0;
    if ((uint64_t)until * 1000 + 1000 < d)
        d = (uint64_t)until * 1000 + 1000;
    return d;
}

static void cycle_failed(struct agent_checkin *c, const char *what,
                         const struct agent_http_response *r, int err)
{
    uint64_t cap, delay;
    char code[64] = "";
    const char *detail = r ? r->error_detail : "";
    long ra = r && (r->status == 429 || r->status == 503) ? r->retry_after : -1;

    if (r && r->err == WARD_EHTTP)
        agent_proto_error_code(r->body.data, r->body.len, code, sizeof(code));
    c->phase = PH_IDLE;
    c->op_req = NULL;
    note_error(c, what, err, code[0] ? code : detail);
    if (c->once) {
        /* `ward checkin` prints last_error as its one line. */
        finish_once(c, err);
        return;
    }
    c->fails++;
    cap = agent_sched_backoff_cap(interval_ms(c), (uint64_t)c->cfg->backoff_cap * 1000);
    delay = agent_sched_backoff(c->fails, (uint64_t)c->cfg->backoff_base * 1000, cap, rnd32(), ra);
    /* Once per failure, at warning level: a long outage logs one line per retry. */
    WARD_LOG_WARN_ERR(err, "%s failed%s%s; retry %u in %llu.%03llu s", what,
                      detail && detail[0] ? ": " : "", code[0] ? code : detail, c->fails,
                      (unsigned long long)(delay / 1000), (unsigned long long)(delay % 1000));
    schedule(c, delay);
}

static void cycle_succeeded(struct agent_checkin *c)
{
    c->phase = PH_IDLE;
    c->op_req = NULL;
    c->fails = 0;
    if (c->wake_cycle && c->cycle_commands == 0) {
        /* Woken for nothing: back off the wait so a confused service cannot spin us. */
        c->wait_fails++;
    } else {
        c->wait_fails = 0;
    }
    c->wake_cycle = 0;
    if (c->stopped)
        return;
    if (c->again || c->renew_now || c->results_pending) {
        c->again = 0;
        if (c->once && ++c->once_rounds >= MAX_ROUNDS_ONCE) {
            finish_once(c, 0);
            return;
        }
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return;
    }
    if (c->once) {
        finish_once(c, 0);
        return;
    }
    schedule(c, next_delay(c));
    wait_arm(c);
}

/* ---- unenroll --------------------------------------------------------------------------- */

static int unenroll_pending(struct agent_checkin *c)
{
    char *v = NULL;
    int pending = agent_state_get(c->st, AGENT_META_UNENROLL, &v) == 0 && strcmp(v, "1") == 0;
    ward_free(v);
    return pending;
}

static void finish_unenroll(struct agent_checkin *c)
{
    int rc = agent_identity_delete(c->st);
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot delete the device identity after unenroll");
    else
        WARD_INFO("unenrolled: device identity deleted; the agent no longer checks in");
    c->stopped = 1;
    c->phase = PH_IDLE;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->wait_timer);
    http_teardown(c);
    finish_once(c, rc);
}

/* ---- inventory -------------------------------------------------------------------------- */

/* When an upload is due (agent/invsync.h has the schedule) it starts at the end of a cycle.
 * The daemon lets it run beside the next cycle's timer and the long-poll (a collection must
 * not delay the schedule); `ward checkin` waits for it before it exits. A failed upload
 * does not fail the check-in: it is logged and tried again when due. */
static void on_inventory_done(int rc, const struct agent_http_response *r, void *ctx)
{
    struct agent_checkin *c = ctx;
    if (c->closing || rc == WARD_ECANCELED || c->stopped)
        return;
    if (r && is_auth_refusal(r)) {
        auth_refused(c, r);
        return;
    }
    if (rc != 0) {
        char code[64] = "";
        if (r && r->err == WARD_EHTTP)
            agent_proto_error_code(r->body.data, r->body.len, code, sizeof(code));
        note_error(c, "inventory upload", rc, code[0] ? code : r ? r->error_detail : "");
        WARD_LOG_WARN_ERR(rc, "inventory upload failed%s%s; trying again when due",
                          code[0] ? ": " : "", code);
    }
    if (c->once && c->phase == PH_INVENTORY)
        cycle_succeeded(c);
}

static void inventory_step(struct agent_checkin *c)
{
    enum agent_inv_kind kind = agent_invsync_due(c->inv, c->id->device_id);
    int rc;
    if (!c->once) {
        cycle_succeeded(c);
        if (kind == AGENT_INV_NONE || c->stopped || c->closing || !agent_session_ready(c->sess))
            return;
    } else if (kind == AGENT_INV_NONE) {
        cycle_succeeded(c);
        return;
    } else {
        c->phase = PH_INVENTORY;
    }
    rc = agent_invsync_run(c->inv, kind, c->cfg->root, c->sess, on_inventory_done, c);
    if (rc != 0 && rc != WARD_EBUSY)
        WARD_LOG_WARN_ERR(rc, "cannot start the inventory upload");
    if (rc != 0 && c->once)
        cycle_succeeded(c);
}

/* ---- baselines -------------------------------------------------------------------------- */

/* After the results: fetch, evaluate and remove what the check-in's assignment changed,
 * and upload compliance. A failure here fails the cycle (backoff), since the service is
 * expecting the report; a refused document is only recorded. */
static void on_baselines_done(int rc, const struct agent_http_response *r, void *ctx)
{
    struct agent_checkin *c = ctx;
    if (c->closing || rc == WARD_ECANCELED || c->phase != PH_BASELINES)
        return;
    if (r && is_auth_refusal(r)) {
        auth_refused(c, r);
        return;
    }
    if (rc != 0) {
        cycle_failed(c, "baseline sync", r, rc);
        return;
    }
    inventory_step(c);
}

static void baselines_step(struct agent_checkin *c)
{
    json_t *assigned = c->assigned;
    int rc;
    c->assigned = NULL;
    c->phase = PH_BASELINES;
    rc = agent_baselines_sync(c->bl, c->sess, assigned, on_baselines_done, c);
    json_decref(assigned);
    if (rc == WARD_ESTATE) {
        WARD_DEBUG("baselines retired by a selective wipe; not evaluated");
        inventory_step(c);
    } else if (rc != 0) {
        WARD_LOG_WARN_ERR(rc, "cannot start the baseline sync");
        inventory_step(c);
    }
}

void agent_checkin_soon(struct agent_checkin *c)
{
    if (!c || c->stopped || c->closing || c->once)
        return;
    if (c->phase == PH_IDLE)
        uv_timer_start(&c->timer, on_timer, 1000, 0);
    else
        c->again = 1;
}

/* ---- results ---------------------------------------------------------------------------- */

static void results_send(struct agent_checkin *c);

static void on_results(struct agent_http_response *r, void *ctx)
{
    struct agent_checkin *c = ctx;
    json_t *j = NULL, *ack = NULL;
    long long deleted = 0;
    int rc;

    c->op_req = NULL;
    if (r->err == WARD_ECANCELED || c->closing)
        return;
    if (is_auth_refusal(r)) {
        if (unenroll_pending(c)) {
            finish_unenroll(c); /* the service already forgot us */
            return;
        }
        auth_refused(c, r);
        return;
    }
    if (r->err != 0) {
        cycle_failed(c, "result upload", r, r->err);
        return;
    }
    rc = ward_json_loadb(r->body.data, r->body.len, NULL, &j, NULL);
    if (rc == 0 && (ward_json_get_array(j, NULL, "ack", WARD_JSON_REQUIRED, &ack, NULL) != 0))
        rc = WARD_EPARSE;
    if (rc == 0) {
        json_t *rej = json_object_get(j, "rejected");
        rc = agent_outbox_ack(agent_state_store(c->st), ack, &deleted);
        if (rc == 0 && json_is_array(rej) && json_array_size(rej) > 0) {
            long long n = 0;
            WARD_WARN("the service refused %lld result(s) as not this device's; dropped",
                      (long long)json_array_size(rej));
            rc = agent_outbox_ack(agent_state_store(c->st), rej, &n);
            deleted += n;
        }
    }
    if (rc == 0)
        agent_jobs_acked(c->jobs, ack); /* reboots and wipes act now */
    json_decref(j);
    if (c->closing)
        return;
    if (rc != 0) {
        cycle_failed(c, "result upload", NULL, rc == WARD_ENOMEM ? rc : WARD_EPROTO);
        return;
    }
    WARD_DEBUG("%lld result(s) acknowledged", deleted);
    if (deleted > 0) {
        results_send(c); /* more may be waiting */
        return;
    }
    if (unenroll_pending(c)) {
        finish_unenroll(c);
        return;
    }
    baselines_step(c);
}

static void results_send(struct agent_checkin *c)
{
    json_t *batch = NULL, *body = NULL;
    int rc;

    c->phase = PH_RESULTS;
    c->results_pending = 0;
    rc = agent_outbox_results_batch(agent_state_store(c->st), RESULTS_BATCH_BYTES, &batch);
    if (rc == 0 && json_array_size(batch) == 0) {
        json_decref(batch);
        if (unenroll_pending(c))
            finish_unenroll(c);
        else
            baselines_step(c);
        return;
    }
    if (rc == 0) {
        body = json_pack("{s:o}", "results", batch);
        batch = NULL;
        rc = post_json(c, "/api/v1/results", body, on_results);
    }
    json_decref(batch);
    json_decref(body);
    if (rc != 0)
        cycle_failed(c, "result upload", NULL, rc);
}

/* ---- check-in ----------------------------------------------------------------------------- */

/* ---- jobs ----------------------------------------------------------------------------------- */

/* A job's result is in the outbox: upload it now, not at the next interval. */
static void on_job_results(void *ctx, int sync)
{
    struct agent_checkin *c = ctx;
    if (c->closing || c->stopped)
        return;
    c->results_pending = 1;
    if (sync)
        c->again = 1;
    if (c->phase == PH_IDLE && !c->once)
        uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* `ward checkin` waits for the commands it started before it uploads their results. */
static void on_jobs_idle(void *ctx)
{
    struct agent_checkin *c = ctx;
    if (c->closing || c->phase != PH_JOBS)
        return;
    results_send(c);
}

static void on_checkin(struct agent_http_response *r, void *ctx)
{
    struct agent_checkin *c = ctx;
    struct agent_checkin_answer a;
    size_t accepted = 0;
    char now[32], iv[32];
    int rc;

    c->op_req = NULL;
    if (r->err == WARD_ECANCELED || c->closing)
        return;
    if (is_auth_refusal(r)) {
        auth_refused(c, r);
        return;
    }
    if (r->err != 0) {
        cycle_failed(c, "check-in", r, r->err);
        return;
    }
    rc = agent_checkin_parse_answer(r->body.data, r->body.len, &a);
    if (rc != 0) {
        agent_checkin_answer_release(&a);
        cycle_failed(c, "check-in", NULL, rc == WARD_ENOMEM ? rc : WARD_EPROTO);
        return;
    }
    ward_time_iso(ward_time_now(), now, sizeof(now));
    note(c, AGENT_META_LAST_CHECKIN, now);
    if (a.checkin_interval > 0) {
        long long iv_s = a.checkin_interval;
        if (iv_s < MIN_INTERVAL_S)
            iv_s = MIN_INTERVAL_S;
        if (iv_s != c->interval_s)
            WARD_INFO("check-in interval is now %lld s (service)", iv_s);
        c->interval_s = iv_s;
        snprintf(iv, sizeof(iv), "%lld", iv_s);
        note(c, AGENT_META_INTERVAL, iv);
    }
    if (a.renew)
        c->renew_now = 1;
    rc = agent_commands_ingest(c->st, NULL, c->id->device_id, c->id->command_key, a.commands,
                               ward_time_now(), &accepted);
    if (rc == 0 && json_array_size(a.commands) >= 100)
        c->again = 1;
    c->cycle_commands = json_array_size(a.commands);
    json_decref(c->assigned);
    c->assigned = a.baselines; /* the baseline step takes it */
    a.baselines = NULL;
    agent_checkin_answer_release(&a);
    if (rc != 0) {
        cycle_failed(c, "command journal", NULL, rc);
        return;
    }
    WARD_DEBUG("checked in (%lld command(s) accepted)", (long long)accepted);
    agent_jobs_kick(c->jobs);
    if (c->closing || c->stopped)
        return;
    if (c->once && agent_jobs_busy(c->jobs)) {
        c->phase = PH_JOBS;
        return;
    }
    results_send(c);
}

static void checkin_send(struct agent_checkin *c)
{
    json_t *body = NULL, *ob = NULL;
    char na[32];
    int rc;

    c->phase = PH_CHECKIN;
    ward_time_iso(c->id->not_after, na, sizeof(na));
    rc = agent_outbox_checkin_json(agent_state_store(c->st), &ob);
    if (rc == 0) {
        body = json_pack("{s:s, s:s, s:I, s:s, s:I, s:o}", "agent_version", WARD_VERSION,
                         "hostname", c->hostname, "seq_high",
                         (json_int_t)agent_commands_seq_high(c->st), "cert_not_after", na, "uptime",
                         (json_int_t)((uv_now(c->loop) - c->started_ms) / 1000), "outbox", ob);
        ob = NULL;
        rc = post_json(c, "/api/v1/checkin", body, on_checkin);
    }
    json_decref(ob);
    json_decref(body);
    if (rc != 0)
        cycle_failed(c, "check-in", NULL, rc);
}

/* ---- renewal ---------------------------------------------------------------------------- */

static void on_renewed(int rc, const struct agent_http_response *r, void *ctx)
{
    struct agent_checkin *c = ctx;
    const char *detail = r ? r->error_detail : "";

    if (rc == WARD_ECANCELED || c->closing || c->phase != PH_RENEW)
        return;
    if (r && is_auth_refusal(r)) {
        auth_refused(c, r);
        return;
    }
    if (rc != 0 && agent_session_ready(c->sess)) {
        /* The current certificate still works: check in with it, retry next time. */
        note_error(c, "certificate renewal", rc, detail);
        WARD_LOG_WARN_ERR(rc, "certificate renewal failed%s%s; retrying at the next check-in",
                          detail[0] ? ": " : "", detail);
        checkin_send(c);
        return;
    }
    c->id = agent_session_identity(c->sess);
    if (rc != 0 || !c->id) {
        cycle_failed(c, "certificate renewal", NULL, rc ? rc : WARD_ESTATE);
        return;
    }
    c->renew_now = 0;
    checkin_send(c);
}

static int renew_send(struct agent_checkin *c)
{
    c->phase = PH_RENEW;
    return agent_session_renew(c->sess, on_renewed, c);
}

/* ---- cycle ------------------------------------------------------------------------------- */

static void cycle_start(struct agent_checkin *c)
{
    int64_t now = ward_time_now();

    if (c->stopped || c->closing || c->phase != PH_IDLE)
        return;
    uv_timer_stop(&c->timer);
    c->cycle_commands = 0;
    if (now >= c->id->not_after) {
        char t[32], reason[96];
        ward_time_iso(c->id->not_after, t, sizeof(t));
        snprintf(reason, sizeof(reason), "the device certificate expired at %s", t);
        enter_needs_reenrollment(c, reason);
        return;
    }
    if (unenroll_pending(c)) {
        results_send(c);
        return;
    }
    if (c->renew_now || agent_sched_renew_due(c->id->not_before, c->id->not_after, now)) {
        WARD_INFO("renewing the device certificate%s",
                  c->renew_now ? " (asked by the service)" : "");
        if (renew_send(c) == 0)
            return;
        c->phase = PH_IDLE;
        WARD_WARN("cannot start certificate renewal; checking in with the current certificate");
    }
    checkin_send(c);
}

static void on_timer(uv_timer_t *t)
{
    cycle_start(t->data);
}

/* ---- long-poll -------------------------------------------------------------------------- */

static void on_wait(struct agent_http_response *r, void *ctx)
{
    struct agent_checkin *c = ctx;
    uint64_t took = uv_now(c->loop) - c->wait_started_ms;

    c->wait_req = NULL;
    if (r->err == WARD_ECANCELED || c->closing || c->stopped)
        return;
    if (is_auth_refusal(r)) {
        auth_refused(c, r);
        return;
    }
    if (r->err == 0 && r->status == 200) {
        WARD_INFO("woken by the service; checking in");
        if (c->phase == PH_IDLE) {
            c->wake_cycle = 1;
            cycle_start(c);
        } else {
            c->again = 1;
        }
        if (c->wait_fails > 0)
            uv_timer_start(
                &c->wait_timer, on_wait_timer,
                agent_sched_backoff(
                    c->wait_fails, (uint64_t)c->cfg->backoff_base * 1000,
                    agent_sched_backoff_cap(interval_ms(c), (uint64_t)c->cfg->backoff_cap * 1000),
                    rnd32(), -1),
                0);
        return;
    }
    if (r->err == 0 && took >= WAIT_EARLY_MS) {
        c->wait_fails = 0;
        wait_arm(c);
        return;
    }
    c->wait_fails++;
    {
        uint64_t cap =
            agent_sched_backoff_cap(interval_ms(c), (uint64_t)c->cfg->backoff_cap * 1000);
        uint64_t d =
            agent_sched_backoff(c->wait_fails, (uint64_t)c->cfg->backoff_base * 1000, cap, rnd32(),
                                r->status == 429 || r->status == 503 ? r->retry_after : -1);
        WARD_DEBUG("wait ended (%s, %ld) after %llu ms; again in %llu ms",
                   r->err ? ward_strerror(r->err) : "early", r->status, (unsigned long long)took,
                   (unsigned long long)d);
        uv_timer_start(&c->wait_timer, on_wait_timer, d, 0);
    }
}

static void wait_arm(struct agent_checkin *c)
{
    struct agent_http_request rq;
    char path[96];
    int rc;

    if (c->once || c->stopped || c->closing || c->wait_req || !agent_session_ready(c->sess) ||
        uv_is_active((uv_handle_t *)&c->wait_timer))
        return;
    snprintf(path, sizeof(path), "/api/v1/wait?timeout=%d&seq=%lld", WAIT_TIMEOUT_S,
             agent_commands_seq_high(c->st));
    memset(&rq, 0, sizeof(rq));
    rq.low_speed_time_s = -1; /* silent for up to WAIT_TIMEOUT_S by design */
    rq.timeout_ms = (WAIT_TIMEOUT_S + 30) * 1000L;
    c->wait_started_ms = uv_now(c->loop);
    rc = agent_session_get(c->sess, path, &rq, on_wait, c, &c->wait_req);
    if (rc != 0) {
        c->wait_fails++;
        WARD_LOG_WARN_ERR(rc, "cannot start the long-poll wait");
        uv_timer_start(&c->wait_timer, on_wait_timer,
                       agent_sched_backoff(c->wait_fails, (uint64_t)c->cfg->backoff_base * 1000,
                                           60000, rnd32(), -1),
                       0);
    }
}

static void on_wait_timer(uv_timer_t *t)
{
    struct agent_checkin *c = t->data;
    uv_timer_stop(t);
    wait_arm(c);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

int agent_checkin_new(uv_loop_t *loop, struct agent_state *st, const struct agent_config *cfg,
                      const struct agent_checkin_parts *p, struct agent_checkin **out)
{
    struct agent_checkin *c;
    struct agent_jobs_listener l;
    *out = NULL;
    if (!p || !p->jobs || !p->session || !p->baselines || !p->invsync)
        return WARD_EINVAL;
    c = ward_calloc(1, sizeof(*c));
    if (!c)
        return WARD_ENOMEM;
    c->loop = loop;
    c->st = st;
    c->cfg = cfg;
    c->interval_s = cfg->checkin_interval > 0 ? cfg->checkin_interval : 900;
    c->started_ms = uv_now(loop);
    c->stopped = 1;
    if (uv_timer_init(loop, &c->timer) != 0) {
        ward_free(c);
        return WARD_EIO;
    }
    c->timer.data = c;
    if (uv_timer_init(loop, &c->wait_timer) != 0) {
        /* One handle is open: it must be closed through the loop. */
        c->open_handles = 1;
        agent_checkin_close(c, NULL, NULL);
        return WARD_EIO;
    }
    c->wait_timer.data = c;
    c->open_handles = 2;
    c->jobs = p->jobs;
    c->sess = p->session;
    c->bl = p->baselines;
    c->inv = p->invsync;
    l.results = on_job_results;
    l.idle = on_jobs_idle;
    l.ctx = c;
    agent_jobs_set_listener(c->jobs, &l);
    *out = c;
    return 0;
}

/* Loads the identity and the HTTPS client; c->stopped stays set when there is nothing to
 * do. Returns 0 when the engine can check in. */
static int engine_prepare(struct agent_checkin *c, int quiet)
{
    struct plat_sysinfo si;
    char *iv = NULL;
    int rc;

    /* The session may be up already (a download loaded it); a changed identity or
     * lifecycle loads it again, and the load says why it cannot (not enrolled, needs
     * re-enrollment). */
    if (!agent_session_ready(c->sess) || agent_session_identity_changed(c->sess) ||
        agent_identity_lifecycle(c->st) != AGENT_ENROLLED) {
        rc = agent_session_load(c->sess, quiet);
        if (rc != 0)
            return rc;
    }
    c->id = agent_session_identity(c->sess);
    if (agent_state_get(c->st, AGENT_META_INTERVAL, &iv) == 0) {
        long long v = 0;
        if (sscanf(iv, "%lld", &v) == 1 && v >= MIN_INTERVAL_S && v <= MAX_INTERVAL_S)
            c->interval_s = v;
    }
    ward_free(iv);
    memset(&si, 0, sizeof(si));
    plat_sysinfo_get(c->cfg->root, &si);
    snprintf(c->hostname, sizeof(c->hostname), "%s", si.hostname);
    c->stopped = 0;
    c->fails = c->wait_fails = 0;
    return 0;
}

/* Start-up only: a command left `running` belonged to a process that is gone; one
 * awaiting a reboot resumes. */
static int recover(struct agent_checkin *c)
{
    int rc = agent_jobs_recover(c->jobs, NULL);
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot recover the command journal");
    return rc;
}

int agent_checkin_start(struct agent_checkin *c)
{
    int rc = engine_prepare(c, 0);
    if (rc == 0)
        rc = recover(c);
    if (rc == WARD_ESTATE || rc == WARD_EREVOKED)
        return 0; /* idle, said so once */
    if (rc != 0)
        return rc;
    WARD_INFO("enrolled as %s with %s; checking in every %lld s", c->id->device_id,
              c->id->server_url, c->interval_s);
    uv_timer_start(&c->timer, on_timer, 0, 0);
    return 0;
}

void agent_checkin_reload(struct agent_checkin *c)
{
    if (!c || c->closing || c->once)
        return;
    if (!c->stopped) {
        if (c->phase != PH_IDLE || !agent_session_identity_changed(c->sess))
            return;
        WARD_INFO("the device identity changed; restarting check-ins with the new one");
        c->stopped = 1;
        uv_timer_stop(&c->timer);
        uv_timer_stop(&c->wait_timer);
        http_teardown(c);
    }
    if (engine_prepare(c, 1) != 0)
        return;
    WARD_INFO("enrolled as %s with %s; checking in", c->id->device_id, c->id->server_url);
    uv_timer_start(&c->timer, on_timer, 0, 0);
}

int agent_checkin_once(struct agent_checkin *c, agent_checkin_done_fn done, void *ctx)
{
    int rc;
    if (!done)
        return WARD_EINVAL;
    c->once = 1;
    rc = engine_prepare(c, 1);
    if (rc == 0)
        rc = recover(c);
    if (rc != 0)
        return rc;
    c->done = done;
    c->done_ctx = ctx;
    uv_timer_start(&c->timer, on_timer, 0, 0);
    return 0;
}

static void closed_one(struct agent_checkin *c)
{
    agent_checkin_close_fn cb;
    void *ctx;
    if (--c->open_handles > 0)
        return;
    cb = c->close_cb;
    ctx = c->close_ctx;
    json_decref(c->assigned);
    ward_free(c);
    if (cb)
        cb(ctx);
}

static void on_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

void agent_checkin_close(struct agent_checkin *c, agent_checkin_close_fn cb, void *ctx)
{
    unsigned n;
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->close_cb = cb;
    c->close_ctx = ctx;
    if (c->jobs)
        agent_jobs_set_listener(c->jobs, NULL);
    http_teardown(c);
    /* A collection or an evaluation still running belongs to the daemon's subsystems; it
     * goes on, but no longer reports here. */
    agent_invsync_detach(c->inv);
    agent_baselines_detach(c->bl);
    n = c->open_handles;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    if (n > 1)
        uv_close((uv_handle_t *)&c->wait_timer, on_closed);
}
