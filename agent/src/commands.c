/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed command envelopes and the command journal. Verification trusts nothing in the
 * payload until the Ed25519 signature over its exact bytes checks out against the key
 * pinned at enrollment; the journal (the `commands` table) and the outbox are changed in
 * the transactions the header describes, so kill -9 at any point yields at most one run
 * and exactly one result per command.
 */
#define WARD_LOG_TAG "commands"

#include "agent/commands.h"

#include <stdio.h>
#include <string.h>

#include "enforcement/command.h"
#include "agent/authority.h"
#include "agent/outbox.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define PAYLOAD_MAX (64 * 1024)

const char *agent_reject_name(enum agent_reject r)
{
    switch (r) {
    case AGENT_REJECT_BAD_SIGNATURE:
        return "bad_signature";
    case AGENT_REJECT_WRONG_DEVICE:
        return "wrong_device";
    case AGENT_REJECT_EXPIRED:
        return "expired";
    case AGENT_REJECT_REPLAYED:
        return "replayed";
    case AGENT_REJECT_MALFORMED:
        return "malformed";
    default:
        return "";
    }
}

void agent_command_release(struct agent_command *c)
{
    if (!c)
        return;
    json_decref(c->params);
    json_decref(c->authorization);
    c->params = NULL;
    c->authorization = NULL;
}

static int copy_str(char *dst, size_t dstlen, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= dstlen)
        return WARD_EPARSE;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return WARD_EPARSE;
    memcpy(dst, s, n + 1);
    return 0;
}

/* Reads the payload's fields; any problem is "malformed". */
static int parse_payload(const uint8_t *p, size_t n, struct agent_command *out)
{
    static const char *const keys[] = {"command_id", "device_id",     "seq",
                                       "type",       "params",        "issued_at",
                                       "expires_at", "authorization", NULL};
    json_t *j = NULL, *params = NULL, *auth = NULL;
    const char *id = NULL, *dev = NULL, *type = NULL, *iss = NULL, *exp = NULL;
    long long seq = 0;
    int rc;

    rc = ward_json_loadb((const char *)p, n, NULL, &j, NULL);
    if (rc != 0)
        return rc == WARD_ENOMEM ? rc : WARD_EPARSE;
    rc = WARD_EPARSE;
    if (!json_is_object(j))
        goto out;
    /* The id first, so even a payload that fails later can be reported. */
    if (ward_json_get_str(j, NULL, "command_id", WARD_JSON_REQUIRED, &id, NULL) != 0 ||
        copy_str(out->command_id, sizeof(out->command_id), id) != 0) {
        out->command_id[0] = '\0';
        goto out;
    }
    if (ward_json_get_int(j, NULL, "seq", WARD_JSON_REQUIRED, 1, (1LL << 53), &seq, NULL) == 0)
        out->seq = seq;
    if (ward_json_check_keys(j, NULL, keys, NULL) != 0 ||
        ward_json_get_str(j, NULL, "device_id", WARD_JSON_REQUIRED, &dev, NULL) != 0 ||
        ward_json_get_str(j, NULL, "type", WARD_JSON_REQUIRED, &type, NULL) != 0 ||
        ward_json_get_str(j, NULL, "issued_at", WARD_JSON_REQUIRED, &iss, NULL) != 0 ||
        ward_json_get_str(j, NULL, "expires_at", WARD_JSON_REQUIRED, &exp, NULL) != 0 ||
        ward_json_get_object(j, NULL, "params", WARD_JSON_REQUIRED, &params, NULL) != 0 ||
        ward_json_get_object(j, NULL, "authorization", 0, &auth, NULL) != 0 || out->seq == 0)
        goto out;
    if (copy_str(out->device_id, sizeof(out->device_id), dev) != 0 ||
        copy_str(out->type, sizeof(out->type), type) != 0 ||
        ward_time_parse_iso(iss, &out->issued_at) != 0 ||
        ward_time_parse_iso(exp, &out->expires_at) != 0)
        goto out;
    out->params = json_incref(params);
    out->authorization = auth ? json_incref(auth) : NULL;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int agent_envelope_verify(const json_t *env, const uint8_t key[WARD_ED25519_PUB_LEN],
                          const char *device_id, long long seq_high, int64_t now,
                          struct agent_command *out, enum agent_reject *reason)
{
    static const char *const keys[] = {"payload", "signature", "key", NULL};
    const char *payload = NULL, *sig = NULL, *which = NULL;
    uint8_t *raw = NULL, *sigraw = NULL;
    size_t rawlen = 0, siglen = 0;
    int rc, prc;

    memset(out, 0, sizeof(*out));
    *reason = AGENT_REJECT_MALFORMED;
    if (!json_is_object(env) || ward_json_check_keys(env, NULL, keys, NULL) != 0 ||
        ward_json_get_str(env, NULL, "payload", WARD_JSON_REQUIRED, &payload, NULL) != 0 ||
        ward_json_get_str(env, NULL, "signature", WARD_JSON_REQUIRED, &sig, NULL) != 0 ||
        ward_json_get_str(env, NULL, "key", 0, &which, NULL) != 0)
        return WARD_EVERIFY;
    if (strlen(payload) > PAYLOAD_MAX * 4 / 3 + 4)
        return WARD_EVERIFY;
    rc = ward_base64_decode(payload, strlen(payload), 0, &raw, &rawlen);
    if (rc != 0) {
        rc = rc == WARD_ENOMEM ? rc : WARD_EVERIFY;
        goto out;
    }
    /* Parsed before the signature check only to name the command in the refusal; nothing
     * in it is acted on unless the signature holds. */
    prc = parse_payload(raw, rawlen, out);
    if (prc == WARD_ENOMEM) {
        rc = prc;
        goto out;
    }
    rc = ward_base64_decode(sig, strlen(sig), 0, &sigraw, &siglen);
    if (rc == WARD_ENOMEM)
        goto out;
    if (rc != 0 || siglen != WARD_ED25519_SIG_LEN) {
        rc = WARD_EVERIFY; /* malformed */
        goto out;
    }
    rc = WARD_EVERIFY;
    /* Only the online key exists on devices yet; offline-signed types arrive later. */
    if (which && strcmp(which, "online") != 0) {
        *reason = AGENT_REJECT_BAD_SIGNATURE;
        goto out;
    }
    if (ward_ed25519_verify(key, raw, rawlen, sigraw) != 0) {
        *reason = AGENT_REJECT_BAD_SIGNATURE;
        goto out;
    }
    if (prc != 0) {
        *reason = AGENT_REJECT_MALFORMED;
        goto out;
    }
    if (strcmp(out->device_id, device_id) != 0) {
        *reason = AGENT_REJECT_WRONG_DEVICE;
        goto out;
    }
    if (out->expires_at + AGENT_CMD_CLOCK_SKEW <= now) {
        *reason = AGENT_REJECT_EXPIRED;
        goto out;
    }
    if (out->seq <= seq_high) {
        *reason = AGENT_REJECT_REPLAYED;
        goto out;
    }
    *reason = AGENT_REJECT_NONE;
    rc = 0;
out:
    ward_free(raw);
    ward_free(sigraw);
    return rc;
}

/* ---- journal ------------------------------------------------------------------------- */

long long agent_commands_seq_high(struct agent_state *st)
{
    char *v = NULL;
    long long n = 0;
    if (agent_state_get(st, "seq_high", &v) == 0) {
        if (sscanf(v, "%lld", &n) != 1 || n < 0)
            n = 0;
    }
    ward_free(v);
    return n;
}

static int in_journal(struct ward_store *s, const char *id, int *found)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(s, "SELECT 1 FROM commands WHERE command_id = ?1", &st);
    *found = 0;
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = ward_store_step(s, st);
    if (rc == WARD_STORE_ROW) {
        *found = 1;
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int agent_commands_queue_result(struct ward_store *s, const char *id, long long seq,
                                const char *status, int64_t started, int64_t finished,
                                json_t *output, const char *error)
{
    char sa[32] = "", fa[32] = "";
    char *text = NULL;
    size_t len = 0;
    json_t *j;
    int rc;

    ward_time_iso(started, sa, sizeof(sa));
    ward_time_iso(finished, fa, sizeof(fa));
    j = json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:O?, s:s?}", "command_id", id, "seq",
                  (json_int_t)seq, "status", status, "started_at", sa[0] ? sa : NULL, "finished_at",
                  fa[0] ? fa : NULL, "output", output, "error", error);
    if (!j)
        return WARD_ENOMEM;
    if (!json_object_get(j, "output"))
        json_object_set_new(j, "output", json_null());
    if (!json_object_get(j, "error"))
        json_object_set_new(j, "error", json_null());
    rc = ward_json_dumps(j, 0, &text, &len);
    if (rc == 0 && len > AGENT_OUTBOX_MAX_ITEM) {
        /* An oversized output must not cost the result itself. */
        ward_free(text);
        text = NULL;
        json_object_set_new(j, "output", json_null());
        json_object_set_new(j, "error", json_string("output too large"));
        rc = ward_json_dumps(j, 0, &text, &len);
    }
    if (rc == 0)
        rc = agent_outbox_put(s, NULL, AGENT_OUTBOX_RESULT, id, text, len);
    ward_free(text);
    json_decref(j);
    return rc;
}

static int record_rejected(struct ward_store *s, const struct agent_command *c,
                           enum agent_reject why, int64_t now)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_begin(s);
    if (rc != 0)
        return rc;
    rc = ward_store_prepare(s,
                            "INSERT INTO commands(command_id, seq, type, params, state, status,"
                            " received_at, finished_at) VALUES (?1, ?2, ?3, '{}', 'done',"
                            " 'rejected', ?4, ?4)"
                            " ON CONFLICT(command_id) DO NOTHING",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, c->command_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->seq);
        sqlite3_bind_text(st, 3, c->type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        rc = ward_store_step(s, st);
        sqlite3_finalize(st);
    }
    /* Another agent process (ward checkin next to ward run) may have recorded it first. */
    if (rc == 0 && sqlite3_changes(ward_store_db(s)) == 1)
        rc = agent_commands_queue_result(s, c->command_id, c->seq, "rejected", 0, now, NULL,
                                         agent_reject_name(why));
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0)
        ward_store_rollback(s);
    return rc;
}

/* A verified command whose type this agent does not know or whose parameters fail the
 * command's field table (status "failed"), or which the device's grants refuse ("denied"):
 * journaled as done with the reason in the transaction that raises the mark, so it is
 * reported once and never runs. invalid NULL: accepted. */
static int record_verified(struct ward_store *s, const struct agent_command *c, int64_t now,
                           const char *status, const char *invalid)
{
    sqlite3_stmt *st = NULL;
    char *params = NULL, seqtxt[32];
    int rc = ward_json_dumps(c->params, 0, &params, NULL);
    if (rc != 0)
        return rc;
    rc = ward_store_begin(s);
    if (rc != 0)
        goto out;
    rc = ward_store_prepare(s,
                            "INSERT INTO commands(command_id, seq, type, params, state, status,"
                            " received_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                            " ON CONFLICT(command_id) DO NOTHING",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, c->command_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->seq);
        sqlite3_bind_text(st, 3, c->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, params, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, invalid ? "done" : "accepted", -1, SQLITE_STATIC);
        if (invalid) {
            sqlite3_bind_text(st, 6, status, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 8, now);
        }
        sqlite3_bind_int64(st, 7, now);
        rc = ward_store_step(s, st);
        sqlite3_finalize(st);
    }
    if (rc == 0 && sqlite3_changes(ward_store_db(s)) == 0) {
        ward_store_rollback(s); /* recorded by another agent process already */
        goto out;
    }
    if (rc == 0 && invalid)
        rc = agent_commands_queue_result(s, c->command_id, c->seq, status, 0, now, NULL, invalid);
    snprintf(seqtxt, sizeof(seqtxt), "%lld", c->seq);
    if (rc == 0)
        rc = ward_store_prepare(s,
                                "INSERT INTO meta(key, value) VALUES ('seq_high', ?1) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value "
                                "WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
                                &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, seqtxt, -1, SQLITE_STATIC);
        rc = ward_store_step(s, st);
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0)
        ward_store_rollback(s);
out:
    ward_free(params);
    return rc;
}

/* NULL when the command may be accepted; otherwise the reason (in buf or why) and *status
 * "failed" (unknown type, bad parameters) or "denied" (the device's grants refuse it). */
static const char *check_command(const struct enf_cmd *const *registry,
                                 const struct agent_authority *auth, const struct agent_command *c,
                                 int64_t now, struct ward_buf *buf, char *why, size_t whylen,
                                 const char **status)
{
    const struct enf_cmd *cmd = agent_commands_find(registry, c->type);
    *status = "failed";
    if (!cmd)
        return "unknown command type";
    if (enf_cmd_validate(cmd, c->params, buf) != 0) {
        while (buf->len > 0 && buf->data[buf->len - 1] == '\n')
            buf->data[--buf->len] = '\0';
        return buf->data && buf->data[0] ? buf->data : "invalid parameters";
    }
    *status = "denied";
    return agent_authority_check(auth, cmd, c, now, why, whylen);
}

const struct enf_cmd *agent_commands_find(const struct enf_cmd *const *registry, const char *type)
{
    if (!registry)
        return enf_cmd_find(type);
    for (; *registry; registry++)
        if (strcmp((*registry)->name, type) == 0)
            return *registry;
    return NULL;
}

int agent_commands_ingest(struct agent_state *st, const struct enf_cmd *const *registry,
                          const char *device_id, const uint8_t key[WARD_ED25519_PUB_LEN],
                          const json_t *commands, int64_t now, size_t *accepted)
{
    struct ward_store *s = agent_state_store(st);
    size_t i, n = 0;
    struct agent_authority auth;
    json_t *env;
    int rc = 0;

    if (accepted)
        *accepted = 0;
    if (!json_is_array(commands))
        return WARD_EINVAL;
    rc = agent_authority_load(st, &auth);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot read the device's grants; no command is accepted");
        return rc;
    }
    json_array_foreach(commands, i, env)
    {
        struct agent_command c;
        enum agent_reject why = AGENT_REJECT_NONE;
        int found = 0;
        /* The mark moves as commands are recorded, so re-read it per envelope. */
        int vrc =
            agent_envelope_verify(env, key, device_id, agent_commands_seq_high(st), now, &c, &why);
        if (vrc == WARD_ENOMEM) {
            rc = vrc;
            agent_command_release(&c);
            break;
        }
        if (c.command_id[0]) {
            rc = in_journal(s, c.command_id, &found);
            if (rc != 0) {
                agent_command_release(&c);
                break;
            }
        }
        if (found) {
            WARD_DEBUG("command %s already journaled; ignored", c.command_id);
        } else if (vrc != 0) {
            if (!c.command_id[0]) {
                WARD_WARN("refused a command envelope without a usable command id (%s)",
                          agent_reject_name(why));
            } else {
                WARD_WARN("refused command %s (seq %lld): %s", c.command_id, c.seq,
                          agent_reject_name(why));
                rc = record_rejected(s, &c, why, now);
            }
        } else {
            struct ward_buf vb;
            const char *invalid, *status = NULL;
            char denial[512];
            ward_buf_init(&vb, 8 * 1024);
            invalid = check_command(registry, &auth, &c, now, &vb, denial, sizeof(denial), &status);
            if (invalid)
                WARD_WARN("command %s (seq %lld, %s) %s: %s", c.command_id, c.seq, c.type,
                          strcmp(status, "denied") == 0 ? "denied" : "refused", invalid);
            else
                WARD_INFO("command %s (seq %lld, %s) accepted", c.command_id, c.seq, c.type);
            rc = record_verified(s, &c, now, status, invalid);
            if (rc == 0 && !invalid)
                n++;
            ward_buf_release(&vb);
        }
        agent_command_release(&c);
        if (rc != 0)
            break;
    }
    if (accepted)
        *accepted = n;
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot journal commands");
    return rc;
}

long long agent_commands_pending(struct agent_state *st)
{
    sqlite3_stmt *q = NULL;
    long long n = 0;
    if (ward_store_prepare(
            agent_state_store(st),
            "SELECT count(*) FROM commands WHERE state NOT IN ('done', 'interrupted')", &q) != 0)
        return 0;
    if (ward_store_step(agent_state_store(st), q) == WARD_STORE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}
