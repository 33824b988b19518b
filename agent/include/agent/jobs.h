/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The job runner (DESIGN section 4): runs the commands the journal holds as `accepted`
 * through the command contract (enforcement/command.h), off the check-in's callbacks, and
 * records what each handler reports in the journal and the outbox.
 *
 * Lanes: quick commands run one at a time in sequence order; LONG_RUNNING ones (scripts,
 * packages, wipes) run one at a time in a lane of their own, so a 30-minute script does
 * not hold back a `lock`. A command that awaits an acknowledgement (REBOOTS) leaves its
 * lane: it is parked as `awaiting_reboot` with its `accepted` result in the outbox.
 *
 * Journal transitions, each committed before the side effect it guards:
 *   accepted -> running                        before start()
 *   running  -> done (+ result)                one transaction, with the requests
 *   running  -> awaiting_reboot (+ `accepted`) one transaction, with saved and the boot id
 *   awaiting_reboot: acked = 1, attempts + 1   before resume(ACKED)
 *   awaiting_reboot -> done (+ result)         after resume(BOOTED) or the attempt bound
 *   running  -> interrupted (+ result)         at start-up: never run twice
 */
#ifndef AGENT_JOBS_H
#define AGENT_JOBS_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "enforcement/command.h"

struct agent_state;
struct agent_session;
struct agent_baselines;
struct agent_jobs;
struct enf_cmd;

#define AGENT_JOBS_MAX_ATTEMPTS 3 /* ACKED resumptions of one command (crash loops) */

struct agent_jobs_opts {
    uv_loop_t *loop;
    struct agent_state *st;
    const char *root;      /* the managed system's root ("/" or a test root) */
    const char *state_dir; /* jobs get private directories under <state_dir>/jobs */
    /* The daemon's session for downloads; NULL: downloads fail. Borrowed. */
    struct agent_session *session;
    /* The daemon's baselines, which selective_wipe retires (agent_baselines_retire); NULL:
     * none here, the wipe removes artifacts only. Borrowed. */
    struct agent_baselines *baselines;
    /* NULL: this OS's (enf_os_commands). */
    const struct enf_cmd *const *registry;
    /* The delegated cgroup scripts run under (plat_proc_cgroup_delegated); NULL: none. */
    const char *cgroup_parent;
};

/* What the check-in engine wants to hear. */
struct agent_jobs_listener {
    /* A result entered the outbox (send it); sync: a command asked for a check-in now. */
    void (*results)(void *ctx, int sync);
    /* No job runs in either lane (parked ones do not count). */
    void (*idle)(void *ctx);
    void *ctx;
};

int agent_jobs_new(const struct agent_jobs_opts *o, struct agent_jobs **out);
void agent_jobs_set_listener(struct agent_jobs *js, const struct agent_jobs_listener *l);
void agent_jobs_set_session(struct agent_jobs *js, struct agent_session *s);

/* Start-up: `running` commands become `interrupted` (reported, never run again); each
 * `awaiting_reboot` one is resumed: BOOTED when the boot id changed, ACKED again when it
 * was acknowledged but the boot id did not change (bounded by AGENT_JOBS_MAX_ATTEMPTS),
 * parked when its `accepted` result still waits in the outbox. Call once. */
int agent_jobs_recover(struct agent_jobs *js, size_t *interrupted);

/* Starts what is accepted, as the lanes allow. Safe to call any time. */
void agent_jobs_kick(struct agent_jobs *js);

/* The service acknowledged these results (array of command ids): parked commands among
 * them get resume(ACKED). */
void agent_jobs_acked(struct agent_jobs *js, const json_t *ids);

/* The local IPC's view. cb hears every job that starts ("running"), reports progress
 * ("progress") and ends ("finished"); id and type borrowed for the call. */
void agent_jobs_watch(struct agent_jobs *js,
                      void (*cb)(void *ctx, const char *id, const char *type, const char *what),
                      void *ctx);
/* [{id, type, since, notice?}] of the jobs running in the lanes, notice being what the
 * handler shows the person at the device (enf_cmd.notice), *out new. */
int agent_jobs_running(struct agent_jobs *js, json_t **out);
/* Hands the person at the device's request to the running command that offers one (id:
 * that command; NULL: the first with a pending notice). WARD_ENOENT when none waits; the
 * handler's WARD_ESTATE / WARD_EDENIED otherwise, each with why. */
int agent_jobs_user_request(struct agent_jobs *js, const char *id, enum enf_cmd_user_op op,
                            char *why, size_t whylen);

/* 1 when a job runs in a lane (parked ones do not count). */
int agent_jobs_busy(const struct agent_jobs *js);

/* Asks running handlers to stop (their results say so), frees everything once the last
 * done came; cb (may be NULL) runs then. NULL-safe. */
void agent_jobs_close(struct agent_jobs *js, void (*cb)(void *ctx), void *ctx);

#endif
