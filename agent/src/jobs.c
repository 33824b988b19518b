/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The job runner (agent/jobs.h): the host of the command contract. Every state change is
 * a conditional UPDATE of the journal row, so of two agent processes sharing the state
 * (`ward checkin` beside the daemon) only one moves a row and acts on it.
 */
#define WARD_LOG_TAG "jobs"

#include "agent/jobs.h"

#include <stdio.h>
#include <string.h>

#include "agent/artifacts.h"
#include "agent/authority.h"
#include "agent/baselines.h"
#include "agent/commands.h"
#include "agent/identity.h"
#include "agent/invsync.h"
#include "agent/session.h"
#include "agent/state.h"
#include "enforcement/command.h"
#include "platform/fs.h"
#include "platform/power.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

/* Set from the enrollment when the service classifies the device; corporate otherwise. */

enum { LANE_QUICK, LANE_LONG, LANE_N };

struct job {
    struct agent_jobs *js;
    struct job *next; /* parked list */
    struct enf_cmd_job ej;
    char id[128];
    long long seq, attempts;
    int64_t started;
    json_t *params, *saved;
    char *workdir;
    int lane; /* -1 when parked */
    int in_call;
    int finished;
    struct agent_session_dl *dl;
    enf_cmd_download_fn dl_cb;
    enf_cmd_list_fn list_cb; /* retire_settings in flight */
    char *dl_path;
};

struct agent_jobs {
    uv_loop_t *loop;
    struct agent_state *st;
    char *root, *state_dir;
    char *cgroup_parent; /* delegated cgroup for scripts, or NULL */
    struct agent_session *session;
    struct agent_baselines *baselines; /* the daemon's (selective_wipe retires them); may be NULL */
    const struct enf_cmd *const *registry;
    struct agent_jobs_listener l;
    void (*watch)(void *ctx, const char *id, const char *type, const char *what);
    void *watch_ctx;
    struct job *lane[LANE_N];
    struct job *parked;
    char ownership[16];
    int kicking, rekick, stalled;
    int closing, in_close;
    void (*close_cb)(void *ctx);
    void *close_ctx;
};

static const struct enf_cmd_host host;

static struct ward_store *store(const struct agent_jobs *js)
{
    return agent_state_store(js->st);
}

static void jobs_tell(struct agent_jobs *js, const struct job *j, const char *what)
{
    if (js->watch && !js->closing)
        js->watch(js->watch_ctx, j->id, j->ej.cmd->name, what);
}

static void journal_failed(int rc, const char *what, const char *id)
{
    /* "command journal failed" is what operators (and the crash tests) look for. */
    WARD_LOG_ERR(rc, "command journal failed: cannot record that command %s %s", id, what);
}

/* UPDATE commands SET <set> WHERE command_id = ?1 AND state IN (<states>), with ?2.. bound
 * as text (NULL entries bind NULL) and ?9 the time. *changed gets the row count. */
static int update_row(struct agent_jobs *js, const char *set, const char *states, const char *id,
                      const char *const *texts, size_t ntexts, int *changed)
{
    char sql[512];
    sqlite3_stmt *q = NULL;
    int rc;
    snprintf(sql, sizeof(sql), "UPDATE commands SET %s WHERE command_id = ?1 AND state IN (%s)",
             set, states);
    rc = ward_store_prepare(store(js), sql, &q);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    for (size_t i = 0; i < ntexts; i++)
        if (texts[i])
            sqlite3_bind_text(q, (int)i + 2, texts[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, ward_time_now());
    rc = ward_store_step(store(js), q);
    sqlite3_finalize(q);
    if (rc == 0 && changed)
        *changed = sqlite3_changes(ward_store_db(store(js)));
    return rc;
}

/* ---- job objects ------------------------------------------------------------------------- */

static void job_free(struct job *j)
{
    if (!j)
        return;
    json_decref(j->params);
    json_decref(j->saved);
    ward_free(j->workdir);
    ward_free(j->dl_path);
    ward_free(j);
}

static void detach(struct job *j)
{
    struct agent_jobs *js = j->js;
    if (j->lane >= 0) {
        if (js->lane[j->lane] == j)
            js->lane[j->lane] = NULL;
        return;
    }
    for (struct job **p = &js->parked; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
}

static int make_workdir(struct job *j)
{
    char rel[64];
    int rc, n;
    n = snprintf(rel, sizeof(rel), "/jobs/%lld", j->seq);
    if (n <= 0 || (size_t)n >= sizeof(rel))
        return WARD_ETOOBIG;
    rc = plat_fs_mkdir_p(j->js->state_dir, rel, (size_t)n, 0700);
    if (rc == 0) {
        struct ward_buf b;
        ward_buf_init(&b, 4096);
        rc = ward_buf_appendf(&b, "%s%s", j->js->state_dir, rel);
        j->workdir = rc == 0 ? b.data : NULL;
        if (rc != 0)
            ward_buf_release(&b);
    }
    return rc;
}

static struct job *job_new(struct agent_jobs *js, const struct enf_cmd *cmd, const char *id,
                           long long seq, const char *params_text, const char *saved_text)
{
    struct job *j = ward_calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->js = js;
    j->lane = -1;
    j->seq = seq;
    snprintf(j->id, sizeof(j->id), "%s", id);
    if (ward_json_loadb(params_text, strlen(params_text), NULL, &j->params, NULL) != 0 ||
        (saved_text &&
         ward_json_loadb(saved_text, strlen(saved_text), NULL, &j->saved, NULL) != 0) ||
        make_workdir(j) != 0) {
        json_decref(j->params);
        json_decref(j->saved);
        ward_free(j->workdir);
        ward_free(j);
        return NULL;
    }
    j->ej.cmd = cmd;
    j->ej.host = &host;
    j->ej.host_ctx = j;
    j->ej.loop = js->loop;
    j->ej.root = js->root;
    j->ej.id = j->id;
    j->ej.workdir = j->workdir;
    j->ej.params = j->params;
    j->ej.saved = j->saved;
    j->ej.ownership = js->ownership;
    j->ej.cgroup_parent = js->cgroup_parent;
    return j;
}

static void close_maybe_finish(struct agent_jobs *js);

/* After start/resume returned, or after done outside of one. */
static void job_settle(struct job *j)
{
    struct agent_jobs *js = j->js;
    if (j->in_call || !j->finished)
        return;
    if (j->workdir) /* kept across a power cycle until the end */
        plat_fs_remove_tree(j->workdir);
    job_free(j);
    if (js->closing)
        close_maybe_finish(js);
    else
        agent_jobs_kick(js);
}

/* ---- the host table ----------------------------------------------------------------------- */

static void host_done(struct enf_cmd_job *ej, int hrc, json_t *output, const char *error)
{
    struct job *j = ej->host_ctx;
    struct agent_jobs *js = j->js;
    struct ward_store *s = store(js);
    const char *status = hrc == 0 ? "succeeded" : hrc == WARD_EDENIED ? "denied" : "failed";
    int changed = 0, rc;

    if (j->finished) {
        WARD_ERROR("command %s: its handler reported twice; the second report is ignored", j->id);
        json_decref(output);
        return;
    }
    j->finished = 1;
    rc = ward_store_begin(s);
    if (rc == 0) {
        const char *t[] = {status};
        rc = update_row(js, "state = 'done', status = ?2, finished_at = ?9, progress = NULL",
                        "'running', 'awaiting_reboot'", j->id, t, 1, &changed);
    }
    /* Already reported as interrupted by another process's start-up: that stays the one
     * result. */
    if (rc == 0 && changed == 1) {
        rc = agent_commands_queue_result(s, j->id, j->seq, status, j->started, ward_time_now(),
                                         output,
                                         hrc == 0 ? NULL : (error ? error : ward_strerror(hrc)));
        if (rc == 0 && hrc == 0 && (ej->requests & ENF_REQ_INVENTORY))
            rc = agent_inv_request_full(js->st);
        /* Persisted with the result: a restart before the acknowledgement still finishes
         * the job (report, then forget the identity). */
        if (rc == 0 && hrc == 0 && (ej->requests & ENF_REQ_UNENROLL))
            rc = agent_state_set(js->st, AGENT_META_UNENROLL, "1");
    }
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0) {
        ward_store_rollback(s);
        journal_failed(rc, "finished", j->id);
        js->stalled = 1; /* the row stays running: the next start reports it interrupted */
    } else if (changed == 1) {
        if (hrc == 0)
            WARD_INFO("command %s (%s) succeeded", j->id, ej->cmd->name);
        else
            WARD_WARN("command %s (%s) failed: %s", j->id, ej->cmd->name,
                      error ? error : ward_strerror(hrc));
    }
    json_decref(output);
    detach(j);
    jobs_tell(js, j, "finished");
    if (rc == 0 && changed == 1 && js->l.results && !js->closing)
        js->l.results(js->l.ctx, hrc == 0 && (ej->requests & ENF_REQ_SYNC));
    job_settle(j);
}

static int host_await_ack(struct enf_cmd_job *ej, json_t *output, const json_t *saved)
{
    struct job *j = ej->host_ctx;
    struct agent_jobs *js = j->js;
    struct ward_store *s = store(js);
    char boot[64], *text = NULL;
    int changed = 0, rc;

    if (j->finished || !ej->cmd->resume || j->lane < 0) {
        json_decref(output);
        return WARD_ESTATE;
    }
    rc = plat_boot_id(js->root, boot, sizeof(boot));
    if (rc == 0 && saved)
        rc = ward_json_dumps(saved, 0, &text, NULL);
    if (rc == 0)
        rc = ward_store_begin(s);
    if (rc == 0) {
        const char *t[] = {text, boot};
        rc = update_row(js, "state = 'awaiting_reboot', saved = ?2, boot_id = ?3, acked = 0",
                        "'running'", j->id, t, 2, &changed);
        if (rc == 0 && changed != 1)
            rc = WARD_ESTATE;
    }
    if (rc == 0)
        rc = agent_commands_queue_result(s, j->id, j->seq, "accepted", j->started, 0, output, NULL);
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0) {
        ward_store_rollback(s);
        if (rc != WARD_ESTATE)
            journal_failed(rc, "awaits an acknowledgement", j->id);
    }
    json_decref(output);
    if (rc == 0) {
        json_decref(j->saved);
        j->saved = saved ? json_deep_copy(saved) : NULL;
        j->ej.saved = j->saved;
        detach(j);
        j->lane = -1;
        j->next = js->parked;
        js->parked = j;
        WARD_INFO("command %s (%s) accepted; it acts once the service acknowledged that", j->id,
                  ej->cmd->name);
        if (js->l.results && !js->closing)
            js->l.results(js->l.ctx, 0);
        if (!j->in_call)
            agent_jobs_kick(js);
    }
    ward_free(text);
    return rc;
}

static void host_progress(struct enf_cmd_job *ej, const char *text)
{
    struct job *j = ej->host_ctx;
    const char *t[] = {text};
    int rc = update_row(j->js, "progress = ?2", "'running', 'awaiting_reboot'", j->id, t, 1, NULL);
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "cannot record the progress of command %s", j->id);
    WARD_INFO("command %s: %s", j->id, text);
    jobs_tell(j->js, j, "progress");
}

static void on_download(int rc, const char *error, void *ctx)
{
    struct job *j = ctx;
    enf_cmd_download_fn cb = j->dl_cb;
    j->dl = NULL;
    j->dl_cb = NULL;
    if (rc == 0)
        WARD_INFO("command %s: download verified", j->id);
    cb(&j->ej, rc, rc == 0 ? j->dl_path : NULL, error);
}

static int host_download(struct enf_cmd_job *ej, const char *url, const char *sha256,
                         uint64_t length, enf_cmd_download_fn cb)
{
    struct job *j = ej->host_ctx;
    struct agent_jobs *js = j->js;
    struct ward_buf b;
    int rc;

    if (j->dl || !cb || !url || !sha256)
        return j->dl ? WARD_EBUSY : WARD_EINVAL;
    if (!js->session)
        return WARD_ESTATE;
    if (agent_session_ready(js->session) && agent_session_identity_changed(js->session))
        agent_session_teardown(js->session);
    if (!agent_session_ready(js->session)) {
        rc = agent_session_load(js->session, 1);
        if (rc != 0)
            return rc;
    }
    if (!j->dl_path) {
        ward_buf_init(&b, 4096);
        rc = ward_buf_appendf(&b, "%s/download", j->workdir);
        if (rc != 0) {
            ward_buf_release(&b);
            return rc;
        }
        j->dl_path = b.data;
    }
    j->dl_cb = cb;
    rc = agent_session_download(js->session, url, sha256, length, j->dl_path, on_download, j,
                                &j->dl);
    if (rc != 0)
        j->dl_cb = NULL;
    return rc;
}

static int host_artifact_add(struct enf_cmd_job *ej, const char *kind, const char *name,
                             const json_t *detail)
{
    struct job *j = ej->host_ctx;
    return agent_artifacts_add(j->js->st, kind, name, detail, j->id);
}

static int host_artifact_has(struct enf_cmd_job *ej, const char *kind, const char *name)
{
    struct job *j = ej->host_ctx;
    return agent_artifacts_has(j->js->st, kind, name);
}

static int host_artifact_remove(struct enf_cmd_job *ej, const char *kind, const char *name)
{
    struct job *j = ej->host_ctx;
    return agent_artifacts_remove(j->js->st, kind, name);
}

static int host_artifact_list(struct enf_cmd_job *ej, json_t **out)
{
    struct job *j = ej->host_ctx;
    return agent_artifacts_list(j->js->st, out);
}

static void on_retired(int rc, json_t *removed, void *ctx)
{
    struct job *j = ctx;
    enf_cmd_list_fn cb = j->list_cb;
    j->list_cb = NULL;
    if (cb)
        cb(&j->ej, rc, removed);
    else
        json_decref(removed);
}

static int host_retire_settings(struct enf_cmd_job *ej, enf_cmd_list_fn cb)
{
    struct job *j = ej->host_ctx;
    struct agent_jobs *js = j->js;
    int rc;
    if (!cb || j->list_cb)
        return WARD_EINVAL;
    if (!js->baselines)
        return WARD_ESTATE; /* no baselines here */
    j->list_cb = cb;
    rc = agent_baselines_retire(js->baselines, on_retired, j);
    if (rc != 0)
        j->list_cb = NULL;
    return rc;
}

static int host_sign(struct enf_cmd_job *ej, const void *msg, size_t len, char **sig)
{
    struct job *j = ej->host_ctx;
    struct agent_identity id;
    EVP_PKEY *key = NULL;
    int rc = agent_identity_load(j->js->st, &id);
    *sig = NULL;
    if (rc != 0)
        return rc;
    rc = ward_key_load_pem(id.key_path, &key);
    if (rc == 0)
        rc = ward_sign_sha256(key, msg, len, sig);
    EVP_PKEY_free(key);
    agent_identity_release(&id);
    return rc;
}

static const struct enf_cmd_host host = {
    .done = host_done,
    .await_ack = host_await_ack,
    .progress = host_progress,
    .download = host_download,
    .artifact_add = host_artifact_add,
    .artifact_has = host_artifact_has,
    .artifact_remove = host_artifact_remove,
    .artifact_list = host_artifact_list,
    .retire_settings = host_retire_settings,
    .sign = host_sign,
};

/* ---- starting and resuming ------------------------------------------------------------------ */

/* A row that cannot run (unknown type, params that no longer validate, unreadable): done
 * and failed with the reason. */
static int fail_row(struct agent_jobs *js, const char *id, long long seq, const char *states,
                    const char *why)
{
    struct ward_store *s = store(js);
    int changed = 0;
    int rc = ward_store_begin(s);
    if (rc == 0) {
        const char *t[] = {"failed"};
        rc = update_row(js, "state = 'done', status = ?2, finished_at = ?9", states, id, t, 1,
                        &changed);
    }
    if (rc == 0 && changed == 1)
        rc = agent_commands_queue_result(s, id, seq, "failed", 0, ward_time_now(), NULL, why);
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0) {
        ward_store_rollback(s);
        journal_failed(rc, "failed", id);
        return rc;
    }
    WARD_WARN("command %s failed: %s", id, why);
    if (changed == 1 && js->l.results && !js->closing)
        js->l.results(js->l.ctx, 0);
    return 0;
}

static void call_start(struct job *j)
{
    int rc;
    j->in_call = 1;
    jobs_tell(j->js, j, "running");
    rc = j->ej.cmd->start(&j->ej);
    j->in_call = 0;
    if (rc != 0 && !j->finished) {
        char why[160];
        snprintf(why, sizeof(why), "cannot start: %s", ward_strerror(rc));
        host_done(&j->ej, rc, NULL, why);
        return;
    }
    job_settle(j);
}

static void call_resume(struct job *j, enum enf_cmd_phase phase)
{
    int rc;
    WARD_INFO("command %s (%s): %s", j->id, j->ej.cmd->name,
              phase == ENF_PHASE_BOOTED ? "the device booted; reporting" : "acting now");
    j->in_call = 1;
    rc = j->ej.cmd->resume(&j->ej, phase);
    j->in_call = 0;
    if (rc != 0 && !j->finished) {
        char why[160];
        snprintf(why, sizeof(why), "cannot resume: %s", ward_strerror(rc));
        host_done(&j->ej, rc, NULL, why);
        return;
    }
    job_settle(j);
}

/* Acknowledged: counts the attempt (committed), then resume(ACKED). */
static void resume_acked(struct job *j)
{
    struct agent_jobs *js = j->js;
    int changed = 0;
    char cond[96];
    int rc;
    /* Conditional on the attempts seen, so of two agent processes only one acts. */
    snprintf(cond, sizeof(cond), "'awaiting_reboot') AND attempts = (%lld", j->attempts);
    rc = update_row(js, "acked = 1, attempts = attempts + 1", cond, j->id, NULL, 0, &changed);
    if (rc != 0) {
        journal_failed(rc, "was acknowledged", j->id);
        return;
    }
    if (changed != 1)
        return; /* another process has it */
    j->attempts++;
    call_resume(j, ENF_PHASE_ACKED);
}

/* What handlers see as j->ownership: the enrollment's (agent/authority.h). */
static void read_ownership(struct agent_jobs *js)
{
    struct agent_authority a;
    int personal = agent_authority_load(js->st, &a) == 0 && a.personal;
    snprintf(js->ownership, sizeof(js->ownership), "%s", personal ? "personal" : "corporate");
}

/* Starts the oldest accepted command of the lane; 1 when one was taken, 0 when none waits,
 * < 0 on a journal error. */
static int start_next(struct agent_jobs *js, int lane)
{
    struct ward_store *s = store(js);
    sqlite3_stmt *q = NULL;
    char *id = NULL, *type = NULL, *params = NULL;
    long long seq = 0;
    const struct enf_cmd *cmd;
    struct job *j;
    int rc, changed = 0, taken = 0;

    rc = ward_store_prepare(s,
                            "SELECT command_id, seq, type, params FROM commands "
                            "WHERE state IN ('accepted', 'received') ORDER BY seq",
                            &q);
    if (rc != 0)
        return rc;
    while ((rc = ward_store_step(s, q)) == WARD_STORE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 2);
        const struct enf_cmd *c = agent_commands_find(js->registry, t);
        int l = c && (c->flags & ENF_CMD_LONG_RUNNING) ? LANE_LONG : LANE_QUICK;
        if (l != lane)
            continue;
        id = ward_strdup((const char *)sqlite3_column_text(q, 0));
        seq = sqlite3_column_int64(q, 1);
        type = ward_strdup(t);
        params = ward_strdup((const char *)sqlite3_column_text(q, 3));
        taken = 1;
        rc = id && type && params ? 0 : WARD_ENOMEM;
        break;
    }
    sqlite3_finalize(q);
    if (rc != 0 || !taken)
        goto out;

    cmd = agent_commands_find(js->registry, type);
    if (!cmd) {
        rc = fail_row(js, id, seq, "'accepted', 'received'", "unknown command type");
        goto out;
    }
    /* Claimed and committed before the handler starts: a crash from here on is reported as
     * interrupted, never run twice. */
    rc = update_row(js, "state = 'running', started_at = ?9", "'accepted', 'received'", id, NULL, 0,
                    &changed);
    if (rc != 0) {
        journal_failed(rc, "started", id);
        goto out;
    }
    if (changed != 1)
        goto out; /* another agent process took it */
    j = job_new(js, cmd, id, seq, params, NULL);
    if (!j) {
        rc =
            fail_row(js, id, seq, "'running'", "cannot set up the job (memory or state directory)");
        goto out;
    }
    {
        struct ward_buf vb;
        ward_buf_init(&vb, 8 * 1024);
        if (enf_cmd_validate(cmd, j->params, &vb) != 0) {
            /* accepted by an older agent whose field table was looser */
            rc = fail_row(js, id, seq, "'running'", vb.data ? vb.data : "invalid parameters");
            ward_buf_release(&vb);
            plat_fs_remove_tree(j->workdir);
            job_free(j);
            goto out;
        }
        ward_buf_release(&vb);
    }
    j->started = ward_time_now();
    j->lane = lane;
    js->lane[lane] = j;
    WARD_INFO("running command %s (%s)", id, type);
    call_start(j);
out:
    ward_free(id);
    ward_free(type);
    ward_free(params);
    return rc != 0 ? (rc < 0 ? rc : -rc) : taken;
}

void agent_jobs_kick(struct agent_jobs *js)
{
    int progressed;
    if (!js || js->closing)
        return;
    if (js->kicking) {
        js->rekick = 1;
        return;
    }
    js->kicking = 1;
    read_ownership(js);
    do {
        js->rekick = 0;
        progressed = 0;
        for (int lane = 0; lane < LANE_N && !js->stalled; lane++) {
            int r;
            if (js->lane[lane])
                continue;
            r = start_next(js, lane);
            if (r < 0)
                js->stalled = 1; /* journal errors: stop until the next check-in kicks */
            else if (r > 0)
                progressed = 1;
        }
    } while ((progressed || js->rekick) && !js->stalled && !js->closing);
    js->kicking = 0;
    js->stalled = 0;
    if (!agent_jobs_busy(js) && js->l.idle && !js->closing)
        js->l.idle(js->l.ctx);
}

int agent_jobs_busy(const struct agent_jobs *js)
{
    return js && (js->lane[LANE_QUICK] || js->lane[LANE_LONG]);
}

void agent_jobs_acked(struct agent_jobs *js, const json_t *ids)
{
    size_t i;
    json_t *v;
    if (!js || js->closing || !json_is_array(ids))
        return;
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        for (struct job *j = js->parked; id && j; j = j->next)
            if (strcmp(j->id, id) == 0) {
                resume_acked(j);
                break; /* the list may have changed */
            }
    }
}

/* ---- start-up -------------------------------------------------------------------------------- */

static int recover_running(struct agent_jobs *js, size_t *n)
{
    struct ward_store *s = store(js);
    for (;;) {
        sqlite3_stmt *q = NULL;
        char id[128];
        long long seq;
        int64_t started;
        int changed = 0;
        int rc = ward_store_prepare(s,
                                    "SELECT command_id, seq, coalesce(started_at, 0) FROM commands "
                                    "WHERE state = 'running' ORDER BY seq LIMIT 1",
                                    &q);
        if (rc != 0)
            return rc;
        rc = ward_store_step(s, q);
        if (rc != WARD_STORE_ROW) {
            sqlite3_finalize(q);
            return rc;
        }
        snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(q, 0));
        seq = sqlite3_column_int64(q, 1);
        started = sqlite3_column_int64(q, 2);
        sqlite3_finalize(q);
        rc = ward_store_begin(s);
        if (rc == 0) {
            const char *t[] = {"interrupted"};
            rc = update_row(js, "state = 'interrupted', status = ?2, finished_at = ?9", "'running'",
                            id, t, 1, &changed);
        }
        if (rc == 0 && changed == 1)
            rc = agent_commands_queue_result(
                s, id, seq, "interrupted", started, ward_time_now(), NULL,
                "the agent stopped while the command ran; not run again");
        if (rc == 0)
            rc = ward_store_commit(s);
        if (rc != 0) {
            ward_store_rollback(s);
            return rc;
        }
        WARD_WARN("command %s was interrupted by a restart; reported, not run again", id);
        (*n)++;
    }
}

static int result_queued(struct agent_jobs *js, const char *id)
{
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (ward_store_prepare(store(js), "SELECT 1 FROM outbox WHERE ref = ?1 LIMIT 1", &q) != 0)
        return 1; /* unsure: keep waiting rather than act */
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    found = ward_store_step(store(js), q) != 0; /* a row, or unsure */
    sqlite3_finalize(q);
    return found;
}

static void recover_parked(struct agent_jobs *js, const char *id, long long seq, const char *type,
                           const char *params, const char *saved, const char *boot_then, int acked,
                           long long attempts, int64_t started, const char *boot_now)
{
    const struct enf_cmd *cmd = agent_commands_find(js->registry, type);
    struct job *j;
    if (!cmd || !cmd->resume) {
        fail_row(js, id, seq, "'awaiting_reboot'",
                 "this agent cannot resume this command after a restart");
        return;
    }
    j = job_new(js, cmd, id, seq, params, saved);
    if (!j) {
        fail_row(js, id, seq, "'awaiting_reboot'", "cannot set up the job to resume it");
        return;
    }
    j->started = started;
    j->attempts = attempts;
    j->next = js->parked;
    js->parked = j;
    if (boot_now[0] && boot_then && strcmp(boot_then, boot_now) != 0) {
        call_resume(j, ENF_PHASE_BOOTED);
        return;
    }
    /* The acknowledgement may have been deleted from the outbox just before a crash that
     * kept us from recording it: an `accepted` result that is gone was acknowledged. */
    if (!acked && result_queued(js, id)) {
        WARD_INFO("command %s (%s) waits for the service to acknowledge it", id, type);
        return;
    }
    if (attempts >= AGENT_JOBS_MAX_ATTEMPTS) {
        char why[160];
        snprintf(why, sizeof(why), "the %s did not happen after %lld attempts; given up", type,
                 attempts);
        host_done(&j->ej, WARD_ESTATE, NULL, why);
        return;
    }
    resume_acked(j);
}

int agent_jobs_recover(struct agent_jobs *js, size_t *interrupted)
{
    struct ward_store *s = store(js);
    char boot_now[64] = "";
    size_t n = 0;
    int rc;

    if (interrupted)
        *interrupted = 0;
    read_ownership(js);
    rc = recover_running(js, &n);
    if (interrupted)
        *interrupted = n;
    if (rc != 0) {
        journal_failed(rc, "was interrupted", "(start-up)");
        return rc;
    }
    if (plat_boot_id(js->root, boot_now, sizeof(boot_now)) != 0)
        boot_now[0] = '\0'; /* cannot tell: an acknowledged action is not repeated blindly */
    for (long long after = -1;;) {
        sqlite3_stmt *q = NULL;
        char *f[6] = {0};
        long long seq, attempts;
        int acked;
        int64_t started;
        rc = ward_store_prepare(s,
                                "SELECT command_id, type, params, saved, boot_id, seq, acked,"
                                " attempts, coalesce(started_at, 0) FROM commands"
                                " WHERE state = 'awaiting_reboot' AND seq > ?1 ORDER BY seq"
                                " LIMIT 1",
                                &q);
        if (rc != 0)
            break;
        sqlite3_bind_int64(q, 1, after);
        rc = ward_store_step(s, q);
        if (rc != WARD_STORE_ROW) {
            sqlite3_finalize(q);
            break;
        }
        for (int i = 0; i < 5; i++) {
            const unsigned char *t = sqlite3_column_text(q, i);
            f[i] = t ? ward_strdup((const char *)t) : NULL;
        }
        seq = sqlite3_column_int64(q, 5);
        acked = sqlite3_column_int(q, 6);
        attempts = sqlite3_column_int64(q, 7);
        started = sqlite3_column_int64(q, 8);
        sqlite3_finalize(q);
        after = seq;
        if (f[0] && f[1] && f[2]) {
            if (!boot_now[0] && acked)
                fail_row(js, f[0], seq, "'awaiting_reboot'",
                         "cannot read the boot id to tell whether the device restarted");
            else
                recover_parked(js, f[0], seq, f[1], f[2], f[3], f[4], acked, attempts, started,
                               boot_now);
        }
        for (int i = 0; i < 5; i++)
            ward_free(f[i]);
    }
    if (rc != 0)
        journal_failed(rc, "was resumed", "(start-up)");
    return rc;
}

/* ---- life cycle --------------------------------------------------------------------------------
 */

int agent_jobs_new(const struct agent_jobs_opts *o, struct agent_jobs **out)
{
    struct agent_jobs *js;
    *out = NULL;
    if (!o || !o->loop || !o->st || !o->state_dir)
        return WARD_EINVAL;
    js = ward_calloc(1, sizeof(*js));
    if (!js)
        return WARD_ENOMEM;
    js->loop = o->loop;
    js->st = o->st;
    js->root = ward_strdup(o->root ? o->root : "/");
    js->state_dir = ward_strdup(o->state_dir);
    js->session = o->session;
    js->baselines = o->baselines;
    js->registry = o->registry;
    js->cgroup_parent = o->cgroup_parent ? ward_strdup(o->cgroup_parent) : NULL;
    snprintf(js->ownership, sizeof(js->ownership), "corporate");
    if (!js->root || !js->state_dir || (o->cgroup_parent && !js->cgroup_parent)) {
        ward_free(js->cgroup_parent);
        ward_free(js->root);
        ward_free(js->state_dir);
        ward_free(js);
        return WARD_ENOMEM;
    }
    *out = js;
    return 0;
}

void agent_jobs_set_listener(struct agent_jobs *js, const struct agent_jobs_listener *l)
{
    if (!js)
        return;
    if (l)
        js->l = *l;
    else
        memset(&js->l, 0, sizeof(js->l));
}

void agent_jobs_watch(struct agent_jobs *js,
                      void (*cb)(void *ctx, const char *id, const char *type, const char *what),
                      void *ctx)
{
    if (!js)
        return;
    js->watch = cb;
    js->watch_ctx = ctx;
}

int agent_jobs_running(struct agent_jobs *js, json_t **out)
{
    json_t *a = json_array();
    *out = NULL;
    if (!a)
        return WARD_ENOMEM;
    for (int l = 0; js && l < LANE_N; l++) {
        struct job *j = js->lane[l];
        char t[32];
        json_t *e, *notice;
        if (!j || j->finished)
            continue;
        ward_time_iso(j->started, t, sizeof(t));
        e = json_pack("{s:s, s:s, s:s}", "id", j->id, "type", j->ej.cmd->name, "since", t);
        notice = j->ej.cmd->notice ? j->ej.cmd->notice(&j->ej) : NULL;
        if (!e || json_array_append_new(a, e) != 0 ||
            (notice && json_object_set_new(e, "notice", notice) != 0)) {
            json_decref(a);
            return WARD_ENOMEM;
        }
    }
    *out = a;
    return 0;
}

int agent_jobs_user_request(struct agent_jobs *js, const char *id, enum enf_cmd_user_op op,
                            char *why, size_t whylen)
{
    for (int l = 0; js && l < LANE_N; l++) {
        struct job *j = js->lane[l];
        json_t *notice;
        if (!j || j->finished || !j->ej.cmd->user_request || !j->ej.cmd->notice ||
            (id && strcmp(id, j->id) != 0))
            continue;
        notice = j->ej.cmd->notice(&j->ej);
        if (!notice)
            continue; /* past the point where the person at the device has a say */
        json_decref(notice);
        return j->ej.cmd->user_request(&j->ej, op, why, whylen);
    }
    snprintf(why, whylen,
             id ? "no pending action of command %s waits for an answer"
                : "no restart or shutdown is pending",
             id);
    return WARD_ENOENT;
}

void agent_jobs_set_session(struct agent_jobs *js, struct agent_session *s)
{
    if (js)
        js->session = s;
}

static void close_maybe_finish(struct agent_jobs *js)
{
    void (*cb)(void *) = js->close_cb;
    void *ctx = js->close_ctx;
    if (agent_jobs_busy(js) || js->in_close)
        return;
    /* Parked commands stay awaiting_reboot in the journal and resume at the next start. */
    while (js->parked) {
        struct job *j = js->parked;
        js->parked = j->next;
        job_free(j); /* its directory is kept for the resumption */
    }
    ward_free(js->cgroup_parent);
    ward_free(js->root);
    ward_free(js->state_dir);
    ward_free(js);
    if (cb)
        cb(ctx);
}

void agent_jobs_close(struct agent_jobs *js, void (*cb)(void *ctx), void *ctx)
{
    if (!js) {
        if (cb)
            cb(ctx);
        return;
    }
    js->closing = 1;
    js->close_cb = cb;
    js->close_ctx = ctx;
    js->in_close = 1; /* a cancel may finish a job (and so the close) from inside this loop */
    for (int lane = 0; lane < LANE_N; lane++) {
        struct job *j = js->lane[lane];
        if (!j)
            continue;
        WARD_INFO("stopping command %s (%s): the agent stops", j->id, j->ej.cmd->name);
        if (j->dl)
            agent_session_download_cancel(j->dl);
        if (js->lane[lane] == j && j->ej.cmd->cancel)
            j->ej.cmd->cancel(&j->ej);
    }
    js->in_close = 0;
    close_maybe_finish(js);
}
