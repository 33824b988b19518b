/* SPDX-License-Identifier: Apache-2.0 */
/* The command journal: each command runs exactly once, across repeated deliveries and
 * simulated crashes (rows prepared in the states a kill -9 would leave), refused ones are
 * reported once and never run, and the high-water mark persists. */
#include <string.h>

#include <openssl/evp.h>

#include "agent/commands.h"
#include "agent/identity.h"
#include "agent/outbox.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "ward/store.h"
#include "ward/time.h"
#include "wtest.h"

#define DEV "d-0123"

struct fx {
    struct agent_state *st;
    EVP_PKEY *priv;
    uint8_t pub[WARD_ED25519_PUB_LEN];
};

static void fx_open(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    WT_OK(agent_state_open(wt_path("state"), &f->st));
    WT_OK(ward_ed25519_generate(&f->priv));
    WT_OK(ward_ed25519_public_raw(f->priv, f->pub));
}

static void fx_close(struct fx *f)
{
    agent_state_close(f->st);
    EVP_PKEY_free(f->priv);
}

static json_t *env_for(struct fx *f, const char *type, long long seq, const char *dev)
{
    char p[512], *p64 = NULL, *s64 = NULL, expires[32];
    uint8_t sig[WARD_ED25519_SIG_LEN];
    json_t *env;
    ward_time_iso(ward_time_now() + 3600, expires, sizeof(expires));
    snprintf(p, sizeof(p),
             "{\"command_id\":\"c-%lld\",\"device_id\":\"%s\",\"seq\":%lld,\"type\":\"%s\","
             "\"params\":{},\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":\"%s\"}",
             seq, dev, seq, type, expires);
    WT_OK(ward_ed25519_sign(f->priv, p, strlen(p), sig));
    WT_OK(ward_base64_encode(p, strlen(p), 0, &p64));
    WT_OK(ward_base64_encode(sig, sizeof(sig), 0, &s64));
    env = json_pack("{s:s, s:s}", "payload", p64, "signature", s64);
    ward_free(p64);
    ward_free(s64);
    WT_ASSERT(env);
    return env;
}

static void ingest(struct fx *f, json_t *arr, size_t want_accepted)
{
    size_t n = 99;
    WT_OK(agent_commands_ingest(f->st, DEV, f->pub, arr, ward_time_now(), &n));
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

WT_TEST(runs_once_and_reports)
{
    struct fx f;
    struct agent_cmd_env env;
    char res[1024];
    size_t ran = 0;
    fx_open(&f);
    ingest(&f, json_pack("[o, o]", env_for(&f, "ping", 1, DEV), env_for(&f, "sync", 2, DEV)), 2);
    WT_EQ_INT(agent_commands_seq_high(f.st), 2);
    WT_EQ_INT(agent_commands_pending(f.st), 2);
    memset(&env, 0, sizeof(env));
    env.st = f.st;
    WT_OK(agent_commands_run_pending(f.st, &env, &ran));
    WT_EQ_INT(ran, 2);
    WT_EQ_INT(env.sync_requested, 1);
    WT_EQ_INT(agent_commands_pending(f.st), 0);
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:succeeded,c-2:succeeded");
    /* Delivered again (the service did not see our mark): ignored, nothing runs. */
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 1, DEV)), 0);
    WT_OK(agent_commands_run_pending(f.st, &env, &ran));
    WT_EQ_INT(ran, 0);
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:succeeded,c-2:succeeded");
    /* The mark survives a reopen. */
    agent_state_close(f.st);
    WT_OK(agent_state_open(wt_path("state"), &f.st));
    WT_EQ_INT(agent_commands_seq_high(f.st), 2);
    fx_close(&f);
}

WT_TEST(refused_commands_reported_once_never_run)
{
    struct fx f;
    struct agent_cmd_env env = {0};
    char res[1024];
    size_t ran = 0;
    json_t *bad;
    fx_open(&f);
    env.st = f.st;
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 5, DEV)), 1);
    WT_OK(agent_commands_run_pending(f.st, &env, &ran));
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
    WT_OK(agent_commands_run_pending(f.st, &env, &ran));
    WT_EQ_INT(ran, 0);
    WT_EQ_INT(env.unenroll_requested, 0);
    WT_EQ_INT(agent_commands_seq_high(f.st), 5); /* refusals never move the mark */
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-5:succeeded,c-3:rejected/replayed,c-8:rejected/wrong_device,"
                   "c-6:rejected/bad_signature");
    fx_close(&f);
}

WT_TEST(crash_while_running_is_interrupted_not_rerun)
{
    struct fx f;
    struct agent_cmd_env env = {0};
    char res[1024];
    size_t n = 0;
    fx_open(&f);
    env.st = f.st;
    /* What kill -9 leaves: one command marked running (handler started), one received
     * (journaled, handler never started). */
    ingest(&f, json_pack("[o, o]", env_for(&f, "ping", 1, DEV), env_for(&f, "ping", 2, DEV)), 2);
    WT_OK(ward_store_exec(agent_state_store(f.st),
                          "UPDATE commands SET state = 'running', started_at = 1 "
                          "WHERE command_id = 'c-1'"));
    agent_state_close(f.st);

    WT_OK(agent_state_open(wt_path("state"), &f.st));
    env.st = f.st;
    WT_OK(agent_commands_recover(f.st, &n));
    WT_EQ_INT(n, 1);
    WT_OK(agent_commands_recover(f.st, &n)); /* idempotent */
    WT_EQ_INT(n, 0);
    WT_OK(agent_commands_run_pending(f.st, &env, &n));
    WT_EQ_INT(n, 1); /* only c-2 */
    results(&f, res, sizeof(res));
    WT_CONTAINS(res, "c-1:interrupted/");
    WT_CONTAINS(res, "c-2:succeeded");
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox"), 2);
    WT_EQ_INT(count(&f, "SELECT count(*) FROM commands WHERE state != 'done'"), 0);
    fx_close(&f);
}

WT_TEST(crash_after_completion_keeps_one_result)
{
    struct fx f;
    struct agent_cmd_env env = {0};
    size_t n = 0;
    json_t *ack;
    fx_open(&f);
    env.st = f.st;
    ingest(&f, json_pack("[o]", env_for(&f, "ping", 1, DEV)), 1);
    WT_OK(agent_commands_run_pending(f.st, &env, &n));
    /* Restart before the upload: recovery changes nothing, the result is still queued. */
    agent_state_close(f.st);
    WT_OK(agent_state_open(wt_path("state"), &f.st));
    WT_OK(agent_commands_recover(f.st, &n));
    WT_EQ_INT(n, 0);
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox"), 1);
    /* Acknowledged: gone; an unknown id in the ack is harmless. */
    ack = json_pack("[s, s]", "c-1", "c-404");
    WT_OK(agent_outbox_ack(agent_state_store(f.st), ack, NULL));
    json_decref(ack);
    WT_EQ_INT(count(&f, "SELECT count(*) FROM outbox"), 0);
    fx_close(&f);
}

WT_TEST(unknown_type_fails_and_unenroll_persists)
{
    struct fx f;
    struct agent_cmd_env env = {0};
    char res[1024], *v = NULL;
    size_t n = 0;
    fx_open(&f);
    env.st = f.st;
    ingest(&f,
           json_pack("[o, o]", env_for(&f, "format_disk", 1, DEV), env_for(&f, "unenroll", 2, DEV)),
           2);
    WT_OK(agent_commands_run_pending(f.st, &env, &n));
    WT_EQ_INT(n, 2);
    WT_EQ_INT(env.unenroll_requested, 1);
    WT_OK(agent_state_get(f.st, AGENT_META_UNENROLL, &v));
    WT_EQ_STR(v, "1");
    ward_free(v);
    results(&f, res, sizeof(res));
    WT_EQ_STR(res, "c-1:failed/unknown command type,c-2:succeeded");
    fx_close(&f);
}
