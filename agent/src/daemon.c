/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `ward run` daemon: owns the libuv loop, the signal handlers and the state store.
 * Shutdown closes every handle and then checks that uv_loop_close() succeeds, so a leaked
 * handle shows up as an error instead of a silent hang. Reload builds a complete new
 * config first and swaps it in only if it validates.
 */
#define WARD_LOG_TAG "daemon"

#include "agent/daemon.h"

#include <signal.h>
#include <string.h>
#include <uv.h>

#include "agent/baselines.h"
#include "agent/checkin.h"
#include "agent/invsync.h"
#include "agent/ipc.h"
#include "agent/jobs.h"
#include "agent/provision.h"
#include "agent/session.h"
#include "agent/state.h"
#include "ward/config.h"
#include "platform/proc.h"
#include "platform/service.h"
#include "ward/buf.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog; /* WATCHDOG=1 from the loop itself: a hung loop stops sending it */
    uv_async_t svc_stop; /* a stop request from the service manager's thread (Windows) */
    struct agent_provision *provision;
    struct agent_config cfg;
    const struct agent_daemon_opts *opts;
    struct agent_state *state;
    struct agent_parts parts;
    struct agent_ipc *ipc;
    int stopping;
};

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

/* ---- the parts ------------------------------------------------------------------------------ */

static void on_baselines_news(void *ctx)
{
    struct agent_parts *p = ctx;
    agent_checkin_soon(p->checkin); /* NULL once closing */
}

static void part_closed(void *ctx)
{
    struct agent_parts *p = ctx;
    void (*cb)(void *) = p->close_cb;
    void *cbctx = p->close_ctx;
    if (--p->closing > 0)
        return;
    /* Last: the session, whose client every other part used. */
    agent_session_close(p->session, NULL, NULL);
    memset(p, 0, sizeof(*p));
    if (cb)
        cb(cbctx);
}

static void on_jobs_closed(void *ctx)
{
    struct agent_parts *p = ctx;
    /* The job runner used the baselines (retire): they go after it. */
    struct agent_baselines *bl = p->baselines;
    struct agent_invsync *inv = p->invsync;
    p->baselines = NULL;
    p->invsync = NULL;
    p->closing = 1 + (bl != NULL) + (inv != NULL); /* each may finish before returning */
    if (bl)
        agent_baselines_close(bl, part_closed, p);
    if (inv)
        agent_invsync_close(inv, part_closed, p);
    part_closed(p);
}

int agent_parts_open(uv_loop_t *loop, struct agent_state *st, const struct agent_config *cfg,
                     struct agent_parts *p)
{
    const char *cg = p->cgroup_parent;
    int rc;
    memset(p, 0, sizeof(*p));
    p->cgroup_parent = cg;
    rc = agent_session_new(loop, st, cfg, &p->session);
    if (rc == 0)
        rc = agent_baselines_new(loop, st, p->session, cfg->root, &p->baselines);
    if (rc == 0)
        rc = agent_invsync_new(loop, st, &p->invsync);
    if (rc == 0) {
        struct agent_jobs_opts jo = {.loop = loop,
                                     .st = st,
                                     .root = cfg->root,
                                     .state_dir = cfg->state_dir,
                                     .session = p->session,
                                     .baselines = p->baselines,
                                     .cgroup_parent = p->cgroup_parent};
        rc = agent_jobs_new(&jo, &p->jobs);
    }
    if (rc == 0) {
        struct agent_checkin_parts cp = {.session = p->session,
                                         .jobs = p->jobs,
                                         .baselines = p->baselines,
                                         .invsync = p->invsync};
        rc = agent_checkin_new(loop, st, cfg, &cp, &p->checkin);
    }
    return rc;
}

int agent_parts_watch(struct agent_parts *p)
{
    return agent_baselines_watch(p->baselines, on_baselines_news, p);
}

void agent_parts_close(struct agent_parts *p, void (*cb)(void *ctx), void *ctx)
{
    if (p->closing)
        return;
    p->closing = 1;
    p->close_cb = cb;
    p->close_ctx = ctx;
    /* The check-in engine closes its own handles (and frees itself in their callbacks). */
    agent_checkin_close(p->checkin, NULL, NULL);
    p->checkin = NULL;
    /* Running commands are asked to stop and report; the rest closes once they did. */
    if (p->jobs) {
        struct agent_jobs *js = p->jobs;
        p->jobs = NULL;
        agent_jobs_close(js, on_jobs_closed, p);
    } else {
        on_jobs_closed(p);
    }
}

/* ---- the daemon ----------------------------------------------------------------------------- */

static void on_provision_closed(void *ctx)
{
    struct daemon *d = ctx;
    plat_service_set_stop(NULL, NULL); /* before its async handle goes */
    uv_walk(&d->loop, close_walk, NULL);
}

static void on_parts_closed(void *ctx)
{
    struct daemon *d = ctx;
    struct agent_provision *p = d->provision;
    d->provision = NULL;
    agent_provision_close(p, on_provision_closed, d);
}

static void on_ipc_closed(void *ctx)
{
    struct daemon *d = ctx;
    agent_parts_close(&d->parts, on_parts_closed, d);
}

static void daemon_stop(struct daemon *d, const char *why)
{
    struct agent_ipc *ipc = d->ipc;
    if (d->stopping)
        return;
    d->stopping = 1;
    WARD_INFO("stopping (%s)", why);
    plat_service_stopping();
    /* first the local clients, which read the parts */
    d->ipc = NULL;
    if (ipc)
        agent_ipc_close(ipc, on_ipc_closed, d);
    else
        on_ipc_closed(d);
}

static int build_config(struct daemon *d, struct agent_config *out, struct ward_buf *errs)
{
    const struct agent_daemon_opts *o = d->opts;
    int rc = agent_config_init(out);
    if (rc != 0)
        return rc;
    if (o->config_path) {
        rc = agent_config_load_file(out, o->config_path, errs);
        if (rc == WARD_ENOENT && !o->config_required)
            rc = 0;
        if (rc != 0)
            goto out;
    }
    rc = agent_config_apply_policy(out, errs);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < o->n_overrides; i++) {
        const char *eq = strchr(o->overrides[i], '=');
        char name[64];
        size_t n = eq ? (size_t)(eq - o->overrides[i]) : 0;
        if (!eq || n >= sizeof(name)) {
            rc = WARD_EINVAL;
            goto out;
        }
        memcpy(name, o->overrides[i], n);
        name[n] = '\0';
        rc = agent_config_set(out, name, eq + 1, errs);
        if (rc != 0)
            goto out;
    }
out:
    if (rc != 0)
        agent_config_release(out);
    return rc;
}

/* Level and sink. The sink is reopened on every reload, so a rotated log file is picked up
 * by SIGHUP; a sink that cannot be opened leaves logging on stderr, said once. */
static void apply_runtime_config(struct daemon *d)
{
    enum ward_log_sink sink = (enum ward_log_sink)d->cfg.log_sink;
    const char *arg = sink == WARD_LOG_SINK_FILE ? d->cfg.log_file : "ward";
    int rc;
    ward_log_set_level(d->cfg.log_level);
    if (sink == WARD_LOG_SINK_FILE && !arg) {
        ward_log_close();
        WARD_ERROR("log_sink \"file\" needs log_file; logging to stderr");
        return;
    }
    rc = ward_log_open(sink, arg);
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot open the configured log sink; logging to stderr");
}

static void daemon_reload(struct daemon *d)
{
    struct agent_config next;
    struct ward_buf errs;
    int rc;

    ward_buf_init(&errs, 16 * 1024);
    plat_service_reloading();
    rc = build_config(d, &next, &errs);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "reload of %s refused, keeping the running config: %s",
                     d->opts->config_path ? d->opts->config_path : "(none)",
                     errs.data ? errs.data : "");
    } else {
        agent_config_release(&d->cfg);
        d->cfg = next;
        apply_runtime_config(d);
        WARD_INFO("configuration reloaded");
    }
    agent_checkin_reload(d->parts.checkin); /* picks up an enrollment made since (and reloads the
                                             * session with the new identity) */
    agent_provision_retry(d->provision);    /* a token refused before gets another look */
    ward_buf_release(&errs);
    plat_service_ready(agent_state_enrolled(d->state) ? "running, enrolled"
                                                      : "running, not enrolled");
}

static void ipc_reload(void *ctx)
{
    daemon_reload(ctx);
}

/* Fails closed: without its socket the daemon does not run (a squatted name is an attack
 * or a second agent, and either way the person at the device would talk to the wrong
 * one). */
static int start_ipc(struct daemon *d)
{
    struct agent_ipc_env env = {
        .loop = &d->loop, .st = d->state, .parts = &d->parts, .reload = ipc_reload, .ctx = d};
    char *path = NULL, why[512];
    int rc = 0;
    if (d->cfg.ipc_socket)
        env.path = d->cfg.ipc_socket;
    else if ((rc = agent_ipc_default_path(d->cfg.state_dir, &path)) == 0)
        env.path = path;
    if (rc == 0)
        rc = agent_ipc_start(&env, &d->ipc, why, sizeof(why));
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot open the local IPC endpoint: %s", why);
    ward_free(path);
    return rc;
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (signum == SIGHUP)
        daemon_reload(d);
    else
        daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_svc_stop(uv_async_t *h)
{
    daemon_stop(h->data, "stop requested by the service manager");
}

/* On the service manager's thread: hand the request to the loop. */
static void svc_stop_request(void *ctx)
{
    uv_async_send(ctx);
}

static int start_signal(struct daemon *d, uv_signal_t *h, int signum)
{
    int rc = uv_signal_init(&d->loop, h);
    if (rc != 0)
        return WARD_EIO;
    h->data = d;
    rc = uv_signal_start(h, on_signal, signum);
    return rc == 0 ? 0 : WARD_EIO;
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    plat_service_watchdog();
}

/* Half the interval, as sd_watchdog_enabled(3) advises. */
static int start_watchdog(struct daemon *d)
{
    unsigned long long usec = plat_service_watchdog_usec();
    uint64_t ms = usec / 2000;
    if (usec == 0)
        return 0;
    if (ms == 0)
        ms = 1;
    if (uv_timer_init(&d->loop, &d->watchdog) != 0 ||
        uv_timer_start(&d->watchdog, on_watchdog, 0, ms) != 0)
        return WARD_EIO;
    uv_unref((uv_handle_t *)&d->watchdog); /* never what keeps the loop running */
    WARD_DEBUG("watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)ms);
    return 0;
}

static void on_provisioned(void *ctx)
{
    struct daemon *d = ctx;
    agent_checkin_reload(d->parts.checkin); /* the new identity: check in now */
    plat_service_status("running, enrolled");
}

int agent_daemon_run(const struct agent_config *cfg, const struct agent_daemon_opts *opts)
{
    struct daemon d;
    char *cgroup = NULL;
    int rc, uvrc;

    memset(&d, 0, sizeof(d));
    d.opts = opts;
    plat_service_memory_init();
    rc = agent_config_copy(&d.cfg, cfg);
    if (rc != 0)
        return rc;
    if (uv_loop_init(&d.loop) != 0) {
        agent_config_release(&d.cfg);
        return WARD_EIO;
    }
    apply_runtime_config(&d);

    rc = agent_state_open(d.cfg.state_dir, &d.state);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot open state in %s", d.cfg.state_dir);
        goto out;
    }
    if ((rc = start_signal(&d, &d.sig_term, SIGTERM)) != 0 ||
        (rc = start_signal(&d, &d.sig_int, SIGINT)) != 0 ||
        (rc = start_signal(&d, &d.sig_hup, SIGHUP)) != 0 ||
        (rc = uv_async_init(&d.loop, &d.svc_stop, on_svc_stop) == 0 ? 0 : WARD_EIO) != 0) {
        WARD_LOG_ERR(rc, "cannot install signal handlers");
        daemon_stop(&d, "start-up failure");
        uv_run(&d.loop, UV_RUN_DEFAULT);
        goto out;
    }

    d.svc_stop.data = &d;
    plat_service_set_stop(svc_stop_request, &d.svc_stop);
    WARD_INFO("ward %s running, state in %s", WARD_VERSION, d.cfg.state_dir);
    /* Under systemd with Delegate=yes: scripts get cgroups of their own (memory.max). */
    if (plat_proc_cgroup_delegated(&cgroup) == 0)
        WARD_INFO("scripts run in cgroups of their own under %s", cgroup);
    d.parts.cgroup_parent = cgroup;
    rc = agent_parts_open(&d.loop, d.state, &d.cfg, &d.parts);
    if (rc == 0)
        rc = start_ipc(&d);
    if (rc == 0) {
        int wrc = agent_parts_watch(&d.parts); /* drift on the held baselines */
        if (wrc != 0)
            WARD_LOG_ERR(wrc, "cannot watch the held baselines for drift");
        rc = agent_checkin_start(d.parts.checkin);
    }
    if (rc == 0)
        rc = agent_provision_start(&d.loop, &d.cfg, d.state, on_provisioned, &d, &d.provision);
    if (rc == 0 && (rc = start_watchdog(&d)) != 0)
        WARD_LOG_ERR(rc, "cannot start the watchdog timer");
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot start checking in");
        daemon_stop(&d, "start-up failure");
        uv_run(&d.loop, UV_RUN_DEFAULT);
        goto out;
    }
    plat_service_ready(agent_state_enrolled(d.state) ? "running, enrolled"
                                                     : "running, not enrolled");
    uv_run(&d.loop, UV_RUN_DEFAULT);
    WARD_INFO("stopped");

out:
    agent_state_close(d.state);
    uvrc = uv_loop_close(&d.loop);
    if (uvrc != 0) {
        /* A handle is still open: a bug, and it must not pass quietly. */
        WARD_LOG_ERR(WARD_EBUSY, "event loop still had open handles at exit");
        if (rc == 0)
            rc = WARD_EBUSY;
    }
    agent_config_release(&d.cfg);
    ward_free(cgroup);
    ward_log_close();
    return rc;
}
