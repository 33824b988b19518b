/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Envelope to exec, in the agent's own code (bench/commands/run drives it): N times, a
 * signed run_script envelope (inline `echo $EPOCHREALTIME` for /bin/bash) goes through
 * agent_commands_ingest (Ed25519 verification, parameter validation, the journal commit)
 * and the job runner (the `running` commit, the job directory, the script file, the spawn)
 * on a real libuv loop with a real SQLite state database; the script prints bash's own
 * wall clock at its first statement. The same bash, started N times directly with
 * posix_spawn on the same kind of script file, gives bash's start-up (exec to first
 * statement), which is subtracted: what is left is the agent's time from the envelope to
 * the child's execve. Also the ingest alone, and what fork() costs over posix_spawn here
 * (what starting children with clone(CLONE_VM | CLONE_VFORK) instead of libuv's fork saves). Prints
 * one line, medians (fork_extra: mean) in microseconds: envexec n=N agent_to_script_us=...
 * bash_startup_us=... envelope_to_exec_us=... ingest_us=... fork_extra_us=...
 */
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "agent/commands.h"
#include "agent/jobs.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

extern char **environ;

#define DEV "d-bench"
#define SCRIPT "echo $EPOCHREALTIME\n"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int got_result;

static void on_results(void *ctx, int sync)
{
    (void)sync;
    got_result = 1;
    uv_stop(ctx);
}

static void on_idle(void *ctx)
{
    (void)ctx;
}

static json_t *envelope(EVP_PKEY *key, int seq)
{
    char id[64], iss[32], exp[32], *text = NULL, *p64 = NULL, *s64 = NULL;
    uint8_t sig[WARD_ED25519_SIG_LEN];
    size_t len = 0;
    json_t *pl, *env = NULL;

    snprintf(id, sizeof(id), "c-bench-%06d", seq);
    ward_time_iso(ward_time_now() - 10, iss, sizeof(iss));
    ward_time_iso(ward_time_now() + 3600, exp, sizeof(exp));
    pl = json_pack("{s:s, s:s, s:i, s:s, s:{s:s, s:s}, s:s, s:s}", "command_id", id, "device_id",
                   DEV, "seq", seq, "type", "run_script", "params", "interpreter", "/bin/bash",
                   "script", SCRIPT, "issued_at", iss, "expires_at", exp);
    if (pl && ward_json_dumps(pl, 0, &text, &len) == 0 &&
        ward_ed25519_sign(key, text, len, sig) == 0 &&
        ward_base64_encode(text, len, 0, &p64) == 0 &&
        ward_base64_encode(sig, sizeof(sig), 0, &s64) == 0)
        env = json_pack("[{s:s, s:s, s:s}]", "payload", p64, "signature", s64, "key", "online");
    json_decref(pl);
    ward_free(text);
    ward_free(p64);
    ward_free(s64);
    return env;
}

/* The stamp the script printed, from its result in the outbox. */
static double result_stamp(struct agent_state *st, int seq)
{
    char id[64];
    sqlite3_stmt *q = NULL;
    double stamp = -1;
    snprintf(id, sizeof(id), "c-bench-%06d", seq);
    if (ward_store_prepare(agent_state_store(st), "SELECT body FROM outbox WHERE ref = ?1", &q) !=
        0)
        return -1;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (ward_store_step(agent_state_store(st), q) == WARD_STORE_ROW) {
        json_t *r = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
        const char *out =
            json_string_value(json_object_get(json_object_get(r, "output"), "stdout"));
        if (out)
            stamp = strtod(out, NULL) * 1e6;
        json_decref(r);
    }
    sqlite3_finalize(q);
    ward_store_prepare(agent_state_store(st), "DELETE FROM outbox", &q);
    ward_store_step(agent_state_store(st), q);
    sqlite3_finalize(q);
    return stamp;
}

/* bash started directly on a script file: exec to its first statement. */
static double bash_startup(char *path)
{
    int p[2];
    char buf[64] = "", bin[] = "/bin/bash";
    pid_t pid;
    posix_spawn_file_actions_t fa;
    char *const argv[] = {bin, path, NULL};
    double t0;
    ssize_t n;

    if (pipe(p) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    t0 = now_us();
    if (posix_spawn(&pid, "/bin/bash", &fa, NULL, argv, environ) != 0)
        return -1;
    close(p[1]);
    n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    posix_spawn_file_actions_destroy(&fa);
    return n > 0 ? strtod(buf, NULL) * 1e6 - t0 : -1;
}

/* What fork() (libuv's uv_spawn) costs over posix_spawn (vfork) on this machine: both start
 * /bin/true and wait for it; the difference is the page-table copy and the copy-on-write
 * faults a forking parent pays. */
static double fork_extra(int n)
{
    char bin[] = "/bin/true";
    char *const argv[] = {bin, NULL};
    double f = 0, v = 0;
    for (int i = 0; i < n; i++) {
        double t = now_us();
        pid_t pid = fork();
        if (pid == 0) {
            execv(bin, argv);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
        f += now_us() - t;
        t = now_us();
        if (posix_spawn(&pid, bin, NULL, NULL, argv, environ) == 0)
            waitpid(pid, NULL, 0);
        v += now_us() - t;
    }
    return (f - v) / n;
}

int main(int argc, char **argv)
{
    uv_loop_t loop;
    struct agent_state *st = NULL;
    struct agent_jobs *js = NULL;
    struct agent_jobs_opts o;
    struct agent_jobs_listener l = {.results = on_results, .idle = on_idle};
    EVP_PKEY *key = NULL;
    uint8_t pub[WARD_ED25519_PUB_LEN];
    int n = argc > 2 ? atoi(argv[2]) : 50;
    double *agent = NULL, *bash = NULL, *ingest = NULL;
    char spath[4200];
    FILE *f;

    if (argc < 2 || n < 1) {
        fprintf(stderr, "usage: ward-bench-envexec STATE_DIR [N]\n");
        return 2;
    }
    ward_json_init();
    ward_log_set_level(WARD_LOG_WARN); /* as a daemon at its default level logs: two lines */
    agent = calloc((size_t)n, sizeof(*agent));
    bash = calloc((size_t)n, sizeof(*bash));
    ingest = calloc((size_t)n, sizeof(*ingest));
    if (!agent || !bash || !ingest || uv_loop_init(&loop) != 0 ||
        agent_state_open(argv[1], &st) != 0 || ward_ed25519_generate(&key) != 0 ||
        ward_ed25519_public_raw(key, pub) != 0)
        return 1;
    memset(&o, 0, sizeof(o));
    o.loop = &loop;
    o.st = st;
    o.root = "/";
    o.state_dir = argv[1];
    l.ctx = &loop;
    if (agent_jobs_new(&o, &js) != 0 || agent_jobs_recover(js, NULL) != 0)
        return 1;
    agent_jobs_set_listener(js, &l);
    snprintf(spath, sizeof(spath), "%s/direct.sh", argv[1]);
    f = fopen(spath, "w");
    if (!f || fputs(SCRIPT, f) < 0 || fclose(f) != 0)
        return 1;
    for (int i = 0; i < n + 3; i++) { /* 3 warm-up rounds, not counted */
        json_t *env = envelope(key, i + 1);
        size_t accepted = 0;
        double t0, t1, stamp;
        if (!env)
            return 1;
        got_result = 0;
        t0 = now_us();
        if (agent_commands_ingest(st, NULL, DEV, pub, env, ward_time_now(), &accepted) != 0 ||
            accepted != 1)
            return 1;
        t1 = now_us();
        agent_jobs_kick(js);
        while (!got_result)
            uv_run(&loop, UV_RUN_ONCE);
        json_decref(env);
        /* the job's clean-up (directory removal) finishes before the next one */
        while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && !agent_commands_pending(st))
            break;
        stamp = result_stamp(st, i + 1);
        if (stamp < 0)
            return 1;
        if (i >= 3) {
            agent[i - 3] = stamp - t0;
            ingest[i - 3] = t1 - t0;
            bash[i - 3] = bash_startup(spath);
        }
    }
    double a = median(agent, n), b = median(bash, n), g = median(ingest, n);
    printf("envexec n=%d agent_to_script_us=%.0f bash_startup_us=%.0f envelope_to_exec_us=%.0f"
           " ingest_us=%.0f fork_extra_us=%.0f\n",
           n, a, b, a - b, g, fork_extra(n));
    return 0;
}
