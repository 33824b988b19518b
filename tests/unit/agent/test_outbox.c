/* SPDX-License-Identifier: Apache-2.0 */
/* Outbox bounds and drop order: rows and bytes are capped; telemetry is dropped first
 * (oldest first), then results (oldest first); telemetry never displaces a result; drops
 * are counted per kind and show in the check-in JSON. */
#include <string.h>

#include "agent/outbox.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/json.h"
#include "ward/store.h"
#include "wtest.h"

static struct agent_state *open_state(void)
{
    struct agent_state *st = NULL;
    WT_OK(agent_state_open(wt_path("state"), &st));
    return st;
}

static int put(struct agent_state *st, const struct agent_outbox_limits *lim,
               enum agent_outbox_kind kind, const char *id)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"command_id\":\"%s\",\"status\":\"succeeded\"}", id);
    return agent_outbox_put(agent_state_store(st), lim, kind, id, body, strlen(body));
}

/* The refs left, oldest first, as "a,b,c". */
static void refs(struct agent_state *st, char *out, size_t outlen)
{
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    WT_OK(ward_store_prepare(agent_state_store(st), "SELECT ref FROM outbox ORDER BY id", &q));
    while (ward_store_step(agent_state_store(st), q) == WARD_STORE_ROW) {
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, "%s%s", n ? "," : "", sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
}

WT_TEST(row_cap_drop_order)
{
    struct agent_state *st = open_state();
    struct agent_outbox_limits lim = {.max_rows = 4};
    struct agent_outbox_stats s;
    char r[256];
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "r1"));
    WT_OK(put(st, &lim, AGENT_OUTBOX_TELEMETRY, "t1"));
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "r2"));
    WT_OK(put(st, &lim, AGENT_OUTBOX_TELEMETRY, "t2"));
    /* Full: a result drops the oldest telemetry first, then the next telemetry. */
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "r3"));
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "r1,r2,t2,r3");
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "r4"));
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "r1,r2,r3,r4");
    /* Only results left: telemetry drops itself, results drop the oldest result. */
    WT_OK(put(st, &lim, AGENT_OUTBOX_TELEMETRY, "t3"));
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "r1,r2,r3,r4");
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "r5"));
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "r2,r3,r4,r5");
    WT_OK(agent_outbox_stats(agent_state_store(st), &s));
    WT_EQ_INT(s.rows, 4);
    WT_EQ_INT(s.results, 4);
    WT_EQ_INT(s.dropped_telemetry, 3);
    WT_EQ_INT(s.dropped_results, 1);
    agent_state_close(st);
}

WT_TEST(byte_cap)
{
    struct agent_state *st = open_state();
    struct agent_outbox_limits lim = {.max_bytes = 150};
    struct agent_outbox_stats s;
    char big[200];
    char r[256];
    /* Each item is about 50 bytes: three fit, the fourth drops the oldest. */
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "a"));
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "b"));
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "c"));
    WT_OK(put(st, &lim, AGENT_OUTBOX_RESULT, "d"));
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "b,c,d");
    WT_OK(agent_outbox_stats(agent_state_store(st), &s));
    WT_ASSERT(s.bytes <= 150);
    /* An item larger than the whole cap is refused, nothing dropped for it. */
    memset(big, 'x', sizeof(big));
    WT_EQ_ERR(
        agent_outbox_put(agent_state_store(st), &lim, AGENT_OUTBOX_RESULT, "e", big, sizeof(big)),
        WARD_ETOOBIG);
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "b,c,d");
    agent_state_close(st);
}

WT_TEST(batch_ack_and_checkin_json)
{
    struct agent_state *st = open_state();
    json_t *batch = NULL, *ack, *ob = NULL;
    long long n = 0;
    char r[256];
    WT_OK(put(st, NULL, AGENT_OUTBOX_RESULT, "a"));
    WT_OK(put(st, NULL, AGENT_OUTBOX_RESULT, "b"));
    WT_OK(put(st, NULL, AGENT_OUTBOX_TELEMETRY, "t"));
    /* A batch holds at least one result even when it is over the byte budget. */
    WT_OK(agent_outbox_results_batch(agent_state_store(st), 1, &batch));
    WT_EQ_INT(json_array_size(batch), 1);
    json_decref(batch);
    WT_OK(agent_outbox_results_batch(agent_state_store(st), 1 << 20, &batch));
    WT_EQ_INT(json_array_size(batch), 2);
    json_decref(batch);
    ack = json_pack("[s, i, s]", "a", 7, "zz");
    WT_OK(agent_outbox_ack(agent_state_store(st), ack, &n));
    json_decref(ack);
    WT_EQ_INT(n, 1);
    refs(st, r, sizeof(r));
    WT_EQ_STR(r, "b,t");
    WT_OK(agent_outbox_checkin_json(agent_state_store(st), &ob));
    WT_EQ_INT(json_integer_value(json_object_get(ob, "pending")), 2);
    WT_ASSERT(json_is_integer(json_object_get(json_object_get(ob, "dropped"), "telemetry")));
    WT_ASSERT(json_is_integer(json_object_get(json_object_get(ob, "dropped"), "results")));
    json_decref(ob);
    agent_state_close(st);
}
