/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The enrolled agent's conversation with the service (docs/protocol.md, "Schedules on the
 * agent"): check-in on a jittered interval, exponential backoff with full jitter on
 * failures, Retry-After, the long-poll wait, certificate renewal, command ingestion and
 * result upload, and the needs-re-enrollment stop. All timers are uv_timers (monotonic);
 * the wall clock is read only for certificate and command expiry.
 *
 * The schedule math is exposed as pure functions so it is tested without a loop.
 */
#ifndef AGENT_CHECKIN_H
#define AGENT_CHECKIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct agent_state;
struct agent_config;
struct agent_baselines;
struct agent_invsync;
struct agent_jobs;
struct agent_session;

/* ---- schedule math (pure) --------------------------------------------------------------- */

/* interval_ms +/- 10 %, spread uniformly by rnd. */
uint64_t agent_sched_jitter(uint64_t interval_ms, uint32_t rnd);
/* Delay before retry number `attempt` (1 = first failure): full jitter over
 * min(cap, base * 2^(attempt-1)), i.e. uniform in [0, that]; at least 1 s so a failing
 * server is never hammered. A Retry-After (seconds, < 0 when absent) that is larger wins,
 * but is itself limited to 24 h. */
uint64_t agent_sched_backoff(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint32_t rnd,
                             long retry_after_s);
/* The cap the protocol asks for: the check-in interval, but at least 60 s; a configured
 * cap (> 0) replaces it. */
uint64_t agent_sched_backoff_cap(uint64_t interval_ms, uint64_t configured_cap_ms);
/* Unix time at which renewal is due: two thirds into [not_before, not_after]. */
int64_t agent_sched_renew_at(int64_t not_before, int64_t not_after);
/* 1 when renewal is due at `now`, 0 otherwise. */
int agent_sched_renew_due(int64_t not_before, int64_t not_after, int64_t now);

/* ---- protocol parsing (pure; fuzzed) ------------------------------------------------------ */

struct agent_checkin_answer {
    long long checkin_interval; /* 0 when absent */
    int renew;
    json_t *commands; /* new; an empty array when absent */
    /* new; the assigned baselines [{id, version, sha256}], NULL when the service sent none
     * (an older service: nothing is removed then) */
    json_t *baselines;
};
/* Parses a 200 check-in answer. WARD_EPARSE for anything that is not the documented shape
 * (unknown members are allowed for forward compatibility). Release with
 * agent_checkin_answer_release, also after a failure. */
int agent_checkin_parse_answer(const char *buf, size_t len, struct agent_checkin_answer *out);
void agent_checkin_answer_release(struct agent_checkin_answer *a);

/* The stable error code of an error body ({"error": {"code": ...}}) into code; "" when the
 * body is not one. */
void agent_proto_error_code(const char *buf, size_t len, char *code, size_t codelen);

/* ---- the engine ------------------------------------------------------------------------- */

struct agent_checkin;
typedef void (*agent_checkin_done_fn)(int rc, void *ctx);
typedef void (*agent_checkin_close_fn)(void *ctx);

/* What the engine borrows from the daemon (agent/daemon.h assembles them); all must
 * outlive it. */
struct agent_checkin_parts {
    /* its client, identity and renewal: the engine loads it, renews through it and tears
     * it down when the device must stop talking to the service */
    struct agent_session *session;
    struct agent_jobs *jobs;           /* the engine kicks it and is its listener */
    struct agent_baselines *baselines; /* synced after each check-in's results */
    struct agent_invsync *invsync;     /* an upload when due, at the end of a cycle */
};

/* Creates an engine on loop; st and cfg are borrowed and must outlive it (cfg may be
 * changed in place between loop iterations, as the daemon's reload does). Owns two
 * uv_timers from here on: free it with agent_checkin_close. */
int agent_checkin_new(uv_loop_t *loop, struct agent_state *st, const struct agent_config *cfg,
                      const struct agent_checkin_parts *parts, struct agent_checkin **out);
/* Daemon mode: recovers the command journal, then checks in now and on schedule. When the
 * device is not enrolled or needs re-enrollment it logs that once and stays idle. */
int agent_checkin_start(struct agent_checkin *c);
/* Re-reads the identity (after SIGHUP): an idle engine whose device has been enrolled
 * since starts checking in. */
void agent_checkin_reload(struct agent_checkin *c);
/* One-shot (`ward checkin`): renew if due, check in, run commands, upload results, then
 * call done exactly once with 0 or the error. On failure to start, done is not called. */
int agent_checkin_once(struct agent_checkin *c, agent_checkin_done_fn done, void *ctx);
/* News for the service (a drift repair, a change in compliance): a daemon engine checks in
 * within a second, or right after the cycle that runs. NULL-safe. */
void agent_checkin_soon(struct agent_checkin *c);
/* Cancels everything; memory is freed and cb (may be NULL) runs once every handle is
 * closed. NULL-safe. */
void agent_checkin_close(struct agent_checkin *c, agent_checkin_close_fn cb, void *ctx);

#endif
