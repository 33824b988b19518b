/* SPDX-License-Identifier: Apache-2.0 */
/* The command journal and the job runner: each command runs exactly once, across repeated
 * deliveries and simulated crashes (rows prepared in the states a kill -9 would leave),
 * refused and invalid ones are reported once and never run, the high-water mark persists,
 * long-running commands get their own lane, and a command that spans a reboot acts only
 * after the acknowledgement and reports after a changed boot id. The commands are real
 * (ping, sync, unenroll) or test commands in a registry of this file, run by the real
 * runner on a real loop against a real state database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <openssl/evp.h>

#include "agent/commands.h"
#include "agent/identity.h"
#include "agent/invsync.h"
#include "agent/jobs.h"
#include "agent/outbox.h"
#include "agent/state.h"
#include "enforcement/command.h"
#include "platform/fs.h"
#include "platform/power.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "ward/store.h"
#include "ward/time.h"
#include "wtest.h"

#define DEV "d-0123"
#define BOOT_A "0b7e4c1a-1111-4222-8333-444455556666"
#define BOOT_B "0b7e4c1a-9999-4222-8333-444455556666"

/* ---- test commands (the handler side of the contract) ----------------------------------- */

static char order[256]; /* starts, in order: "t_slow,ping," */
static int acted;       /* t_reboot resume(ACKED) calls */

static void note_start(struct enf_cmd_job *j)
{
    size_t n = strlen(order);
    snprintf(order + n, sizeof(order) - n, "%s,", j->cmd->name);
}

static int strict_start(struct enf_cmd_job *j)
{
    note_start(j);
    enf_job_done(j, 0, json_pack("{s:I}", "n", (json_int_t)enf_param_int(j->params, "n", 0)), NULL);
    return 0;
}
static const struct enf_field strict_fields[] = {
    {.name = "n", .type = ENF_F_INT, .required = 1, .min = 1, .max = 5, .description = "n"},
    {.name = NULL},
};
static const struct enf_cmd t_strict = {
    .name = "t_strict", .summary = "t", .fields = strict_fields, .start = strict_start};

static void slow_fired(uv_timer_t *t)
{
    struct enf_cmd_job *j = t->data;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    enf_job_done(j, 0, json_pack("{s:b}", "slow", 1), NULL);
}
static int slow_start(struct enf_cmd_job *j)
{
    uv_timer_t *t = calloc(1, sizeof(*t));
    note_start(j);
    WT_ASSERT(t);
    uv_timer_init(j->loop, t);
    t->data = j;
    uv_timer_start(t, slow_fired, 50, 0);
    return 0;
}
static const struct enf_field no_fields[] = {{.name = NULL}};
static const struct enf_cmd t_slow = {.name = "t_slow",
                                      .summary = "t",
                                      .flags = ENF_CMD_LONG_RUNNING,
                                      .fields = no_fields,
                                      .start = slow_start};

static int reboot_start(struct enf_cmd_job *j)
{
    json_t *saved = json_pack("{s:s}", "k", "kept");
    int rc;
    note_start(j);
    rc = enf_job_await_ack(j, json_pack("{s:b}", "planned", 1), saved);
    json_decref(saved);
    return rc;
}
static int reboot_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase)
{
    if (phase == ENF_PHASE_ACKED) {
        acted++; /* a real handler asks logind now; the machine goes down */
        return 0;
    }
    enf_job_done(j, 0, json_pack("{s:s?}", "saved", enf_param_str(j->saved, "k", NULL)), NULL);
    return 0;
}
static const struct enf_cmd t_reboot = {.name = "t_reboot",
                                        .summary = "t",
                                        .flags = ENF_CMD_REBOOTS,
                                        .fields = no_fields,
                                        .start = reboot_start,
                                        .resume = reboot_resume};

static const struct enf_cmd *registry[8];

/* ---- fixture ------------------------------------------------------------------------------ */

struct fx {
    struct agent_state *st;
    EVP_PKEY *priv;
    uint8_t pub[WARD_ED25519_PUB_LEN];
    uv_loop_t loop;
    struct agent_jobs *js;
    int results, syncs;
};

static void boot(const char *id)
{
    wt_write_file("root/proc/sys/kernel/random/boot_id", id, strlen(id));
}

static void on_results(void *ctx, int sync)
{
    struct fx *f = ctx;
    f->results++;
    f->syncs += sync;
}

static void jobs_open(struct fx *f)
{
    struct agent_jobs_opts o = {.loop = &f->loop,
                                .st = f->st,
                                .root = wt_path("root"),
                                .state_dir = wt_path("state"),
                                .registry = registry};
    struct agent_jobs_listener l = {.results = on_results, .ctx = f};
    WT_OK(agent_jobs_new(&o, &f->js));
    agent_jobs_set_listener(f->js, &l);
}

static void jobs_close(struct fx *f)
{
    agent_jobs_close(f->js, NULL, NULL);
    f->js = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* Runs what is accepted until nothing is left on the loop. */
static void run_jobs(struct fx *f)
{
    agent_jobs_kick(f->js);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* A restart of the agent: the runner and the database go away and come back. */
static void restart(struct fx *f, size_t want_interrupted)
{
    size_t n = 99;
    jobs_close(f);
    agent_state_close(f->st);
    WT_OK(agent_state_open(wt_path("state"), &f->st));
    jobs_open(f);
    WT_OK(agent_jobs_recover(f->js, &n));
    WT_EQ_INT(n, want_interrupted);
}

static void fx_open(struct fx *f)
{
    size_t i = 0;
    memset(f, 0, sizeof(*f));
    order[0] = '\0';
    acted = 0;
    registry[i++] = enf_cmd_find("ping");
    registry[i++] = enf_cmd_find("sync");
    registry[i++] = enf_cmd_find("unenroll");
    registry[i++] = enf_cmd_find("inventory");
    registry[i++] = &t_strict;
    registry[i++] = &t_slow;
    registry[i++] = &t_reboot;
    registry[i] = NULL;
    WT_ASSERT(registry[0] && registry[1] && registry[2] && registry[3]);
    boot(BOOT_A);
    WT_OK(agent_state_open(wt_path("state"), &f->st));
    WT_OK(ward_ed25519_generate(&f->priv));
    WT_OK(ward_ed25519_public_raw(f->priv, f->pub));
    WT_ASSERT(uv_loop_init(&f->loop) == 0);
    jobs_open(f);
}

static void fx_close(struct fx *f)
{
    jobs_close(f);
    WT_ASSERT(uv_loop_close(&f->loop) == 0);
    agent_state_close(f->st);
    EVP_PKEY_free(f->priv);
}

static json_t *env_params(struct fx *f, const char *type, long long seq, const char *dev,
                          const char *params)
{
    char p[512], *p64 = NULL, *s64 = NULL, expires[32];
    uint8_t sig[WARD_ED25519_SIG_LEN];
    json_t *env;
    ward_time_iso(ward_time_now() + 3600, expires, sizeof(expires));
    snprintf(p, sizeof(p),
             "{\"command_id\":\"c-%lld\",\"device_id\":\"%s\",\"seq\":%lld,\"type\":\"%s\","
             "\"params\":%s,\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":\"%s\"}",
             seq, dev, seq, type, params, expires);
    WT_OK(ward_ed25519_sign(f->priv, p, strlen(p), sig));
    WT_OK(ward_base64_encode(p, strlen(p), 0, &p64));
    WT_OK(ward_base64_encode(sig, sizeof(sig), 0, &s64));
    env = json_pack("{s:s, s:s}", "payload", p64, "signature", s64);
    ward_free(p64);
    ward_free(s64);
    WT_ASSERT(env);
    return env;
}

static json_t *env_for(struct fx *f, const char *type, long long seq, const char *dev)
{
    return env_params(f, type, seq, dev, "{}");
}

static void ingest(struct fx *f, json_t *arr, size_t want_accepted)
{
    size_t n = 99;
    WT_OK(agent_commands_ingest(f->st, registry, DEV, f->pub, arr, ward_time_now(), &n));
    WT_EQ_INT(n, want_accepted);
    json_decref(arr);
}

/* Result statuses in the outbox, in order, joined as "id:status,...". */
static void results(struct fx *f, char *out, size_t outlen)
{
    json_t *batch = NULL, *r;
    size_t i;
    out[0] = '\0';
    WT_OK(agent_outbox_results_batch(agent_state_store(f->st), 1 << 20, &batch));
    json_array_foreach(batch, i, r)
    {
        size_t n = strlen(out);
        const char *err = json_string_value(json_object_get(r, "error"));
        snprintf(out + n, outlen - n, "%s%s:%s%s%s", n ? "," : "",
                 json_string_value(json_object_get(r, "command_id")),
                 json_string_value(json_object_get(r, "status")), err ? "/" : "", err ? err : "");
    }
    json_decref(batch);
}

static long long count(struct fx *f, const char *sql)
{
    sqlite3_stmt *q = NULL;
    long long n = -1;
    WT_OK(ward_store_prepare(agent_state_store(f->st), sql, &q));
    if (ward_store_step(agent_state_store(f->st), q) == WARD_STORE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static const char *state_of(struct fx *f, const char *id)
{
    static char buf[64];
    sqlite3_stmt *q = NULL;
    buf[0] = '\0';
    WT_OK(ward_store_prepare(agent_state_store(f->st),
                             "SELECT state FROM commands WHERE command_id = ?1", &q));
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (ward_store_step(agent_state_store(f->st), q) == WARD_STORE_ROW)
        snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return buf;
}

/* The reboot cases need a boot id (Linux: /proc/sys/kernel/random/boot_id under the root);
 * where the platform has none (Windows for now) they say so and pass. */
static int have_boot_id(void)
{
    char b[64];
    boot(BOOT_A);
    if (plat_boot_id(wt_path("root"), b, sizeof(b)) == 0)
        return 1;
    printf("skip: no boot id on this platform\n");
    return 0;
}

static void ack(struct fx *f, const char *id)
{
    json_t *ids = json_pack("[s]", id);
    WT_OK(agent_outbox_ack(agent_state_store(f->st), ids, NULL));
    agent_jobs_acked(f->js, ids);
    json_decref(ids);
}

WT_TEST(runs_once_and_reports)
{
    struct fx f;
    char res[1024];
    fx_open(&f);
    ingest(&f, json_pack("[o, o]", env_for(&f, "ping", 1, DEV), env_for(&f, "sync", 2, DEV)), 2);
    WT_EQ_INT(agent_commands_seq_high(f.st), 2);
    WT_EQ_INT(agent_commands_pending(f.st), 2);
    WT_EQ_STR(state_of(&f, "c-1"), "accepted");
    run_jobs(&f);
    WT_EQ_INT(f.results, 2);
    WT_EQ_INT(f.syncs, 1); /* sync asked for a check-in now */
    WT_EQ_INT(agent_commands_pending(f.st), 0);
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:succeeded,c-2:succeeded");
    /* Delivered again (the service did not see our mark): ignored, nothing runs. */
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 1, DEV)), 0);
    run_jobs(&f);
    WT_EQ_INT(f.results, 2);
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:succeeded,c-2:succeeded");
    /* The mark survives a reopen. */
    restart(&f, 0);
    WT_EQ_INT(agent_commands_seq_high(f.st), 2);
    fx_close(&f);
}

WT_TEST(refused_commands_reported_once_never_run)
{
    struct fx f;
    char res[1024], *v = NULL;
    json_t *bad;
    fx_open(&f);
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 5, DEV)), 1);
    run_jobs(&f);
    bad = env_for(&f, "unenroll", 6, DEV);
    {
        uint8_t zero[WARD_ED25519_SIG_LEN] = {0};
        char *z = NULL;
        WT_OK(ward_base64_encode(zero, sizeof(zero), 0, &z));
        json_object_set_new(bad, "signature", json_string(z));
        ward_free(z);
    }
    ingest(
        &f,
        json_pack("[o, o, o]", env_for(&f, "ping", 3, DEV), env_for(&f, "ping", 8, "d-other"), bad),
        0);
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 8, "d-other")), 0); /* again: once */
    run_jobs(&f);
    WT_EQ_ERR(agent_state_get(f.st, AGENT_META_UNENROLL, &v), WARD_ENOENT);
    WT_EQ_INT(agent_commands_seq_high(f.st), 5); /* refusals never move the mark */
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-5:succeeded,c-3:rejected/replayed,c-8:rejected/wrong_device,"
                   "c-6:rejected/bad_signature");
    fx_close(&f);
}

WT_TEST(crash_while_running_is_interrupted_not_rerun)
{
    struct fx f;
    char res[1024];
    fx_open(&f);
    /* What kill -9 leaves: one command marked running (handler started), one accepted
     * (journaled, handler never started). */
    ingest(&f, json_pack("[o, o]", env_for(&f, "ping", 1, DEV), env_for(&f, "ping", 2, DEV)), 2);
    WT_OK(ward_store_exec(agent_state_store(f.st),
                          "UPDATE commands SET state = 'running', started_at = 1 "
                          "WHERE command_id = 'c-1'"));
    restart(&f, 1);
    restart(&f, 0); /* idempotent */
    run_jobs(&f);
    results(&f, res, sizeof(res));
    WT_CONTAINS(res, "c-1:interrupted/");
    WT_CONTAINS(res, "c-2:succeeded");
    WT_EQ_STR(state_of(&f, "c-1"), "interrupted");
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox"), 2);
    WT_EQ_INT(agent_commands_pending(f.st), 0);
    fx_close(&f);
}

WT_TEST(crash_after_completion_keeps_one_result)
{
    struct fx f;
    json_t *ids;
    fx_open(&f);
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 1, DEV)), 1);
    run_jobs(&f);
    /* Restart before the upload: recovery changes nothing, the result is still queued. */
    restart(&f, 0);
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox"), 1);
    /* Acknowledged: gone; an unknown id in the ack is harmless. */
    ids = json_pack("[s, s]", "c-1", "c-404");
    WT_OK(agent_outbox_ack(agent_state_store(f.st), ids, NULL));
    agent_jobs_acked(f.js, ids);
    json_decref(ids);
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox"), 0);
    fx_close(&f);
}

WT_TEST(unknown_type_and_invalid_params_fail_at_ingest)
{
    struct fx f;
    char res[1024], *v = NULL;
    fx_open(&f);
    ingest(&f,
           json_pack("[o, o, o, o]", env_for(&f, "format_disk", 1, DEV),
                     env_params(&f, "t_strict", 2, DEV, "{\"n\": 9}"),
                     env_params(&f, "t_strict", 3, DEV, "{\"n\": 2, \"extra\": 1}"),
                     env_for(&f, "unenroll", 4, DEV)),
           1);
    WT_EQ_INT(agent_commands_seq_high(f.st), 4); /* verified: the mark moves */
    run_jobs(&f);
    WT_EQ_STR(order, ""); /* the test commands never started */
    WT_OK(agent_state_get(f.st, AGENT_META_UNENROLL, &v));
    WT_EQ_STR(v, "1");
    ward_free(v);
    results(&f, res, sizeof(res));
    WT_CONTAINS(res, "c-1:failed/unknown command type,");
    WT_CONTAINS(res, "c-2:failed/");
    WT_CONTAINS(res, "c-3:failed/");
    WT_CONTAINS(res, "c-4:succeeded");
    WT_EQ_STR(state_of(&f, "c-2"), "done");
    fx_close(&f);
}

WT_TEST(long_running_commands_have_their_own_lane)
{
    struct fx f;
    char res[1024];
    fx_open(&f);
    ingest(&f,
           json_pack("[o, o, o]", env_for(&f, "t_slow", 1, DEV), env_for(&f, "ping", 2, DEV),
                     env_params(&f, "t_strict", 3, DEV, "{\"n\": 3}")),
           3);
    agent_jobs_kick(f.js);
    /* The quick ones did not wait for the slow one (ping is not a test command: it is not
     * in `order`). */
    WT_EQ_STR(order, "t_slow,t_strict,");
    WT_EQ_STR(state_of(&f, "c-2"), "done");
    WT_ASSERT(agent_jobs_busy(f.js));
    WT_EQ_STR(state_of(&f, "c-1"), "running");
    WT_EQ_STR(state_of(&f, "c-3"), "done");
    uv_run(&f.loop, UV_RUN_DEFAULT);
    WT_ASSERT(!agent_jobs_busy(f.js));
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-2:succeeded,c-3:succeeded,c-1:succeeded");
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox WHERE body LIKE '%\"n\":3%'"), 1);
    fx_close(&f);
}

WT_TEST(reboot_acts_after_ack_and_reports_after_boot)
{
    struct fx f;
    if (!have_boot_id())
        return;
    char res[1024];
    fx_open(&f);
    ingest(&f, json_pack("[o]", env_for(&f, "t_reboot", 1, DEV)), 1);
    run_jobs(&f);
    WT_EQ_STR(state_of(&f, "c-1"), "awaiting_reboot");
    WT_EQ_INT(acted, 0); /* nothing happens before the service knows */
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:accepted");
    WT_EQ_INT(count(&f, "SELECT count(*) FROM commands WHERE boot_id = '" BOOT_A "'"
                        " AND saved = '{\"k\":\"kept\"}'"),
              1);
    ack(&f, "c-1");
    WT_EQ_INT(acted, 1);
    WT_EQ_INT(count(&f, "SELECT attempts FROM commands WHERE acked = 1"), 1);
    /* The agent restarts on the same boot (the action was cut short): it acts again. */
    restart(&f, 0);
    WT_EQ_INT(acted, 2);
    WT_EQ_INT(count(&f, "SELECT attempts FROM commands"), 2);
    /* The device rebooted: the final result, with what the handler saved. */
    boot(BOOT_B);
    restart(&f, 0);
    WT_EQ_INT(acted, 2);
    WT_EQ_STR(state_of(&f, "c-1"), "done");
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:succeeded");
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox WHERE body LIKE '%\"saved\":\"kept\"%'"), 1);
    /* Its private directory is gone once it finished. */
    WT_EQ_INT(plat_fs_remove_tree(wt_path("state/jobs/1")), 0);
    fx_close(&f);
}

WT_TEST(reboot_attempts_are_bounded_and_lost_ack_counts)
{
    struct fx f;
    if (!have_boot_id())
        return;
    char res[1024];
    fx_open(&f);
    ingest(&f, json_pack("[o]", env_for(&f, "t_reboot", 1, DEV)), 1);
    run_jobs(&f);
    /* The acknowledgement deleted the result, then the agent died before recording it:
     * the start-up treats the missing `accepted` result as acknowledged. */
    WT_OK(ward_store_exec(agent_state_store(f.st), "DELETE FROM outbox"));
    restart(&f, 0);
    WT_EQ_INT(acted, 1);
    /* A crash loop on the same boot ends with a failure, not forever. */
    restart(&f, 0);
    restart(&f, 0);
    WT_EQ_INT(acted, 3);
    restart(&f, 0);
    WT_EQ_INT(acted, 3);
    WT_EQ_STR(state_of(&f, "c-1"), "done");
    results(&f, res, sizeof(res));
    WT_CONTAINS(res, "c-1:failed/the t_reboot did not happen after 3 attempts");
    fx_close(&f);
}

WT_TEST(parked_until_ack_survives_restart)
{
    struct fx f;
    if (!have_boot_id())
        return;
    fx_open(&f);
    ingest(&f, json_pack("[o, o]", env_for(&f, "t_reboot", 1, DEV), env_for(&f, "ping", 2, DEV)),
           2);
    run_jobs(&f);
    WT_EQ_STR(order, "t_reboot,");
    WT_EQ_STR(state_of(&f, "c-2"), "done"); /* a parked command does not hold the lane */
    restart(&f, 0);
    WT_EQ_INT(acted, 0); /* its `accepted` result still waits: no action */
    WT_EQ_STR(state_of(&f, "c-1"), "awaiting_reboot");
    ack(&f, "c-1");
    WT_EQ_INT(acted, 1);
    fx_close(&f);
}

WT_TEST(inventory_command_records_request)
{
    struct fx f;
    char *v = NULL;
    fx_open(&f);
    ingest(&f, json_pack("[o]", env_for(&f, "inventory", 1, DEV)), 1);
    run_jobs(&f);
    WT_OK(agent_state_get(f.st, AGENT_META_INV_REQUESTED, &v));
    WT_EQ_STR(v, "1");
    ward_free(v);
    WT_EQ_INT(
        count(&f, "SELECT count(*) FROM outbox WHERE body LIKE '%\"inventory\":\"scheduled\"%'"),
        1);
    fx_close(&f);
}
