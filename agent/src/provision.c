/* SPDX-License-Identifier: Apache-2.0 */
/*
 * First-start enrollment of an unattended install (agent/provision.h). One attempt at a
 * time runs agent_enroll, the same code as `ward enroll`, in the threadpool on a private
 * copy of the configuration (a reload may swap the daemon's meanwhile); its outcome comes
 * back to the loop, which decides: enrolled, retry later, or refused until a reload.
 */
#define WARD_LOG_TAG "provision"

#include "agent/provision.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/checkin.h"
#include "agent/config.h"
#include "agent/enroll.h"
#include "agent/identity.h"
#include "agent/state.h"
#include "platform/service.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

#define LOOK_AGAIN_MS (60 * 1000) /* no token yet: look for the file this often */
#define MSG_MAX 512

struct agent_provision {
    uv_loop_t *loop;
    const struct agent_config *cfg;
    struct agent_state *st;
    agent_provision_done_fn done;
    void *ctx;
    uv_timer_t timer;
    uv_work_t work;
    char *env_token; /* WARD_ENROLL_TOKEN, taken out of the environment at start, or the
                      * installer's enroll_token (from_policy) */
    int from_policy; /* env_token came from plat_policy_get("enroll_token") */
    int working;     /* an attempt is in the threadpool */
    int refused;     /* the last token was refused for good: wait for a reload */
    int finished;    /* enrolled: nothing more to do */
    int closing;
    int timer_closed;
    unsigned attempt; /* failed attempts in a row (backoff) */
    void (*close_cb)(void *ctx);
    void *close_ctx;

    /* the attempt in flight: filled on the loop, used by the worker, read back after */
    struct agent_config wcfg;
    int wrc;
    char wmsg[MSG_MAX];
};

int agent_provision_transient(int rc)
{
    switch (rc) {
    case WARD_EPARSE:   /* a malformed token */
    case WARD_EACCES:   /* a token file others may read, or a token the service refused */
    case WARD_EREVOKED: /* the token was revoked */
    case WARD_EEXPIRED: /* ... or has expired */
    case WARD_EPIN:     /* the service does not present the CA the token pins */
    case WARD_ECONFIG:  /* a token for another service than server_url */
    case WARD_EINVAL:
    case WARD_ENOENT: /* the token file went away */
        return 0;
    default:
        return 1; /* unreachable, timed out, 5xx, a malformed answer: the service may recover */
    }
}

static void attempt_now(struct agent_provision *p);

static void on_timer(uv_timer_t *t)
{
    attempt_now(t->data);
}

static void free_provision(struct agent_provision *p)
{
    void (*cb)(void *) = p->close_cb;
    void *ctx = p->close_ctx;
    if (p->env_token) {
        memset(p->env_token, 0, strlen(p->env_token));
        ward_free(p->env_token);
    }
    ward_free(p);
    if (cb)
        cb(ctx);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct agent_provision *p = h->data;
    p->timer_closed = 1;
    if (!p->working)
        free_provision(p);
    /* else after_enroll frees it */
}

static void finish_enrolled(struct agent_provision *p)
{
    p->finished = 1;
    uv_timer_stop(&p->timer);
    if (p->done)
        p->done(p->ctx);
}

static void work_enroll(uv_work_t *w)
{
    struct agent_provision *p = w->data;
    struct agent_enroll_opts o;
    memset(&o, 0, sizeof(o));
    if (p->env_token)
        o.token = p->env_token;
    else
        o.token_file = p->wcfg.enroll_token_file;
    p->wrc = agent_enroll(&p->wcfg, &o, p->wmsg, sizeof(p->wmsg));
    ward_crypto_thread_done(); /* the key and the CSR were made on this pool thread */
}

static void after_enroll(uv_work_t *w, int status)
{
    struct agent_provision *p = w->data;
    int rc = status == 0 ? p->wrc : WARD_ECANCELED;
    char status_line[MSG_MAX + 32];

    p->working = 0;
    agent_config_release(&p->wcfg);
    if (p->closing) {
        if (p->timer_closed)
            free_provision(p);
        return;
    }
    if (rc == 0 || rc == WARD_EEXIST) {
        /* EEXIST: someone ran `ward enroll` meanwhile; that identity stands. */
        WARD_INFO("%s", rc == 0 ? p->wmsg : "enrolled meanwhile by someone else");
        if (rc == 0 && p->from_policy) {
            int drc = plat_policy_delete("enroll_token");
            if (drc != 0 && drc != WARD_ENOENT)
                WARD_LOG_WARN_ERR(drc, "enrolled, but cannot delete the installer's token");
        }
        if (rc == 0 && p->env_token) {
            memset(p->env_token, 0, strlen(p->env_token));
            ward_free(p->env_token);
            p->env_token = NULL;
        }
        finish_enrolled(p);
        return;
    }
    if (!agent_provision_transient(rc)) {
        p->refused = 1;
        WARD_LOG_ERR(rc, "enrollment refused, not retried until a reload (SIGHUP) or restart: %s",
                     p->wmsg);
        snprintf(status_line, sizeof(status_line), "not enrolled: %s", p->wmsg);
        plat_service_status(status_line);
        return;
    }
    {
        uint32_t rnd = 0;
        uint64_t cap = agent_sched_backoff_cap((uint64_t)p->cfg->checkin_interval * 1000,
                                               (uint64_t)p->cfg->backoff_cap * 1000);
        uint64_t delay;
        ward_random_bytes(&rnd, sizeof(rnd));
        p->attempt++;
        delay =
            agent_sched_backoff(p->attempt, (uint64_t)p->cfg->backoff_base * 1000, cap, rnd, -1);
        WARD_LOG_WARN_ERR(rc, "enrollment failed (attempt %u), next try in %llu s: %s", p->attempt,
                          (unsigned long long)(delay / 1000), p->wmsg);
        snprintf(status_line, sizeof(status_line), "not enrolled yet: %s", p->wmsg);
        plat_service_status(status_line);
        uv_timer_start(&p->timer, on_timer, delay, 0);
    }
}

static int have_token_file(const struct agent_config *cfg)
{
    uv_fs_t req;
    int rc;
    if (!cfg->enroll_token_file)
        return 0;
    rc = uv_fs_stat(NULL, &req, cfg->enroll_token_file, NULL);
    uv_fs_req_cleanup(&req);
    return rc == 0;
}

static void attempt_now(struct agent_provision *p)
{
    int rc;
    if (p->closing || p->working || p->finished || p->refused)
        return;
    uv_timer_stop(&p->timer);
    if (agent_identity_lifecycle(p->st) != AGENT_NOT_ENROLLED) {
        finish_enrolled(p); /* `ward enroll` by hand, say */
        return;
    }
    if (!p->env_token && !have_token_file(p->cfg)) {
        /* last: what the installer left (the MSI's ENROLL_TOKEN) */
        if (plat_policy_get("enroll_token", &p->env_token) == 0) {
            p->from_policy = 1;
        } else {
            uv_timer_start(&p->timer, on_timer, LOOK_AGAIN_MS, 0);
            return;
        }
    }
    rc = agent_config_copy(&p->wcfg, p->cfg);
    if (rc == 0) {
        p->work.data = p;
        p->wmsg[0] = '\0';
        rc = uv_queue_work(p->loop, &p->work, work_enroll, after_enroll) == 0 ? 0 : WARD_EIO;
        if (rc != 0)
            agent_config_release(&p->wcfg);
    }
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot start an enrollment attempt; trying again in a minute");
        uv_timer_start(&p->timer, on_timer, LOOK_AGAIN_MS, 0);
        return;
    }
    p->working = 1;
    WARD_INFO("enrolling with the token from %s", p->from_policy ? "the installer (enroll_token)"
                                                  : p->env_token ? "WARD_ENROLL_TOKEN"
                                                                 : p->cfg->enroll_token_file);
}

int agent_provision_start(uv_loop_t *loop, const struct agent_config *cfg, struct agent_state *st,
                          agent_provision_done_fn done, void *ctx, struct agent_provision **out)
{
    struct agent_provision *p;
    const char *env = getenv("WARD_ENROLL_TOKEN");
    *out = NULL;
    p = ward_calloc(1, sizeof(*p));
    if (!p)
        return WARD_ENOMEM;
    p->loop = loop;
    p->cfg = cfg;
    p->st = st;
    p->done = done;
    p->ctx = ctx;
    if (uv_timer_init(loop, &p->timer) != 0) {
        ward_free(p);
        return WARD_EIO;
    }
    p->timer.data = p;
    if (env && *env) {
        p->env_token = ward_strdup(env);
        if (!p->env_token) {
            p->closing = 1;
            uv_close((uv_handle_t *)&p->timer, on_timer_closed);
            return WARD_ENOMEM;
        }
        /* Overwritten where it lies (the initial environment block is what
         * /proc/PID/environ shows), then out of the environment, so that nothing this
         * process starts or shows carries it. */
        memset((char *)(uintptr_t)env, 'x', strlen(env));
    }
    uv_os_unsetenv("WARD_ENROLL_TOKEN");
    *out = p;
    if (agent_identity_lifecycle(st) != AGENT_NOT_ENROLLED)
        p->finished = 1; /* nothing to do, and no done callback: nothing changed */
    else
        attempt_now(p);
    return 0;
}

void agent_provision_retry(struct agent_provision *p)
{
    if (!p || p->finished || p->closing)
        return;
    p->refused = 0;
    p->attempt = 0;
    attempt_now(p);
}

void agent_provision_close(struct agent_provision *p, void (*cb)(void *ctx), void *ctx)
{
    if (!p) {
        if (cb)
            cb(ctx);
        return;
    }
    if (p->closing)
        return;
    p->closing = 1;
    p->close_cb = cb;
    p->close_ctx = ctx;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}
