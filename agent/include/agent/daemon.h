/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward run`: the agent daemon. One libuv loop in the foreground (systemd or the Windows
 * service wrapper supervises it; it never daemonizes itself). SIGTERM/SIGINT stop it
 * cleanly, with every handle closed before uv_loop_close; SIGHUP reloads the config file.
 */
#ifndef AGENT_DAEMON_H
#define AGENT_DAEMON_H

#include <uv.h>

#include "agent/config.h"

struct agent_state;
struct agent_session;
struct agent_jobs;
struct agent_baselines;
struct agent_invsync;
struct agent_checkin;

/* The parts of the agent (DESIGN section 4), assembled here and nowhere else: the one
 * session with the service, the job runner, the baselines and the inventory sync (which
 * use the session; the job runner retires the baselines for a selective wipe), and the
 * check-in engine, which borrows them all and owns none. `ward run` keeps them for its
 * life; `ward checkin` builds the same for its one cycle. */
struct agent_parts {
    struct agent_session *session;
    struct agent_jobs *jobs;
    struct agent_baselines *baselines;
    struct agent_invsync *invsync;
    struct agent_checkin *checkin;
    const char *cgroup_parent; /* set before agent_parts_open: the scripts' cgroup, or NULL */
    /* private */
    unsigned closing;
    void (*close_cb)(void *ctx);
    void *close_ctx;
};

/* Builds every part on loop (st and cfg borrowed, as agent_checkin_new says). Close with
 * agent_parts_close also after a failure (what was built is freed; the rest is NULL). */
int agent_parts_open(uv_loop_t *loop, struct agent_state *st, const struct agent_config *cfg,
                     struct agent_parts *p);
/* The daemon: drift watchers on every held baseline; what they find makes the check-in
 * engine check in soon. */
int agent_parts_watch(struct agent_parts *p);
/* Stops and frees the parts in dependency order: the check-in (its requests canceled), the
 * job runner (running commands report), the baselines and inventory sync (a running
 * evaluation or collection finishes first), then the session. cb (may be NULL) runs once
 * all are gone. p must stay valid until then. */
void agent_parts_close(struct agent_parts *p, void (*cb)(void *ctx), void *ctx);

struct agent_daemon_opts {
    const char *config_path; /* re-read on SIGHUP; NULL = nothing to reload */
    int config_required;     /* a missing config file is an error on reload */
    /* Flags given on the command line, re-applied over every reload ("name=value"). */
    const char *const *overrides;
    size_t n_overrides;
};

/* Runs until a stop signal. Takes a copy of cfg. Returns 0 after a clean stop. */
int agent_daemon_run(const struct agent_config *cfg, const struct agent_daemon_opts *opts);

#endif
