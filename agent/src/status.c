/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward status` data: read-only queries on the state database, assembled as one JSON
 * object that both the table output and --json print. The required keys (enrolled,
 * device_id, server, cert_not_after, last_checkin) are an interface scripts rely on.
 */
#define WARD_LOG_TAG "status"

#include "agent/status.h"

#include <string.h>

#include "agent/authority.h"
#include "agent/baselines.h"
#include "agent/checkin.h"
#include "agent/commands.h"
#include "agent/identity.h"
#include "agent/outbox.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/time.h"

static json_t *meta_json(struct agent_state *st, const char *key)
{
    char *v = NULL;
    json_t *j;
    if (agent_state_get(st, key, &v) != 0 || !v[0]) {
        ward_free(v);
        return json_null();
    }
    j = json_string(v);
    ward_free(v);
    return j ? j : json_null();
}

/* Always consumes v; after the first failure only releases. */
static void put(json_t *o, const char *k, json_t *v, int *rc)
{
    if (*rc != 0) {
        json_decref(v);
        return;
    }
    *rc = v && json_object_set_new(o, k, v) == 0 ? 0 : WARD_ENOMEM;
}

/* The certificate's validity from cache when the PEM is the one it was read from. */
static int cert_times(const char *cert, struct agent_status_cache *cache, time_t *nb, time_t *na)
{
    X509 *x = NULL;
    int ok;
    if (cache && cache->cert && strcmp(cache->cert, cert) == 0) {
        *nb = (time_t)cache->not_before;
        *na = (time_t)cache->not_after;
        return cache->ok;
    }
    ok = ward_x509_parse(cert, strlen(cert), &x) == 0 && ward_x509_validity(x, nb, na) == 0;
    X509_free(x);
    if (cache) {
        char *copy = ward_strdup(cert);
        if (copy) {
            ward_free(cache->cert);
            cache->cert = copy;
            cache->not_before = (int64_t)*nb;
            cache->not_after = (int64_t)*na;
            cache->ok = ok;
        }
    }
    return ok;
}

void agent_status_cache_release(struct agent_status_cache *cache)
{
    if (!cache)
        return;
    ward_free(cache->cert);
    memset(cache, 0, sizeof(*cache));
}

int agent_status_collect(struct agent_state *st, json_t **out)
{
    return agent_status_collect_cached(st, NULL, out);
}

int agent_status_collect_cached(struct agent_state *st, struct agent_status_cache *cache,
                                json_t **out)
{
    enum agent_lifecycle l = agent_identity_lifecycle(st);
    struct agent_outbox_stats os;
    json_t *o = json_object();
    json_t *not_after = json_null(), *renew_at = json_null(), *hint = json_null();
    char *cert = NULL;
    int rc = 0;

    *out = NULL;
    if (!o)
        return WARD_ENOMEM;
    if (l != AGENT_NOT_ENROLLED && agent_state_get(st, "device_cert", &cert) == 0) {
        time_t nb = 0, na = 0;
        char t[32];
        if (cert_times(cert, cache, &nb, &na)) {
            ward_time_iso((int64_t)na, t, sizeof(t));
            json_decref(not_after);
            not_after = json_string(t);
            ward_time_iso(agent_sched_renew_at((int64_t)nb, (int64_t)na), t, sizeof(t));
            json_decref(renew_at);
            renew_at = json_string(t);
        }
    }
    ward_free(cert);
    if (l == AGENT_NEEDS_REENROLLMENT) {
        json_decref(hint);
        hint = json_string("the device certificate expired or was revoked; enroll again with "
                           "`ward enroll --force --token TOKEN` (a new token from the "
                           "administrator)");
    } else if (l == AGENT_NOT_ENROLLED) {
        json_decref(hint);
        hint = json_string("enroll with `ward enroll --token TOKEN`");
    }
    memset(&os, 0, sizeof(os));
    agent_outbox_stats(agent_state_store(st), &os);

    put(o, "enrolled", json_boolean(l == AGENT_ENROLLED), &rc);
    put(o, "state", json_string(agent_lifecycle_name(l)), &rc);
    put(o, "device_id", meta_json(st, "device_id"), &rc);
    put(o, "server", meta_json(st, "server_url"), &rc);
    put(o, "cert_not_after", not_after, &rc);
    put(o, "cert_renew_at", renew_at, &rc);
    put(o, "enrolled_at", meta_json(st, "enrolled_at"), &rc);
    put(o, "last_checkin", meta_json(st, AGENT_META_LAST_CHECKIN), &rc);
    put(o, "next_checkin",
        l == AGENT_ENROLLED ? meta_json(st, AGENT_META_NEXT_CHECKIN) : json_null(), &rc);
    if (l != AGENT_NOT_ENROLLED) {
        struct agent_authority a;
        char caps[64], fp[2 * 8 + 1] = "";
        uint8_t h[WARD_SHA256_LEN];
        if (agent_authority_load(st, &a) == 0) {
            agent_authority_caps_text(a.caps, caps, sizeof(caps));
            if (a.has_offline_key && ward_sha256(a.offline_key, sizeof(a.offline_key), h) == 0)
                ward_hex_encode(h, 8, fp, sizeof(fp));
            put(o, "ownership", json_string(a.personal ? "personal" : "corporate"), &rc);
            put(o, "grants", json_string(caps[0] ? caps : "none"), &rc);
            put(o, "offline_key", fp[0] ? json_string(fp) : json_null(), &rc);
        }
    }
    put(o, "seq_high", json_integer(agent_commands_seq_high(st)), &rc);
    put(o, "pending_commands", json_integer(agent_commands_pending(st)), &rc);
    put(o, "pending_results", json_integer(os.results), &rc);
    put(o, "outbox",
        json_pack("{s:I, s:I, s:{s:I, s:I}}", "rows", (json_int_t)os.rows, "bytes",
                  (json_int_t)os.bytes, "dropped", "telemetry", (json_int_t)os.dropped_telemetry,
                  "results", (json_int_t)os.dropped_results),
        &rc);
    put(o, "last_error", meta_json(st, AGENT_META_LAST_ERROR), &rc);
    put(o, "reenroll_reason",
        l == AGENT_NEEDS_REENROLLMENT ? meta_json(st, AGENT_META_REENROLL_REASON) : json_null(),
        &rc);
    put(o, "hint", hint, &rc);
    if (rc == 0) {
        json_t *bl = NULL;
        rc = agent_baselines_status(st, &bl);
        put(o, "compliance", bl, &rc);
    }
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}
