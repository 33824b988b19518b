/* SPDX-License-Identifier: Apache-2.0 */
/* Signed command envelopes: a valid one passes; each refusal reason (bad_signature,
 * wrong_device, expired, replayed, malformed) is reported as such, with the command id
 * whenever the payload names one. Envelopes are signed here with a fresh Ed25519 key. */
#include <string.h>

#include <openssl/evp.h>

#include "agent/commands.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "ward/time.h"
#include "wtest.h"

#define DEV "d-0123"
#define NOW ((int64_t)1795860000) /* 2026-11-28T10:00:00Z */

struct keys {
    EVP_PKEY *priv;
    uint8_t pub[WARD_ED25519_PUB_LEN];
};

static void keys_new(struct keys *k)
{
    WT_OK(ward_ed25519_generate(&k->priv));
    WT_OK(ward_ed25519_public_raw(k->priv, k->pub));
}

/* Envelope over exactly `payload`, signed by k (or with a flipped bit when corrupt). */
static json_t *envelope(struct keys *k, const char *payload, int corrupt)
{
    uint8_t sig[WARD_ED25519_SIG_LEN];
    char *p64 = NULL, *s64 = NULL;
    json_t *env;
    WT_OK(ward_ed25519_sign(k->priv, payload, strlen(payload), sig));
    if (corrupt)
        sig[5] ^= 0x10;
    WT_OK(ward_base64_encode(payload, strlen(payload), 0, &p64));
    WT_OK(ward_base64_encode(sig, sizeof(sig), 0, &s64));
    env = json_pack("{s:s, s:s, s:s}", "payload", p64, "signature", s64, "key", "online");
    WT_ASSERT(env);
    ward_free(p64);
    ward_free(s64);
    return env;
}

static char *payload(const char *dev, long long seq, const char *expires)
{
    char buf[512], *out;
    snprintf(buf, sizeof(buf),
             "{\"command_id\":\"c-%lld\",\"device_id\":\"%s\",\"seq\":%lld,\"type\":\"ping\","
             "\"params\":{},\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":\"%s\"}",
             seq, dev, seq, expires);
    out = ward_strdup(buf);
    WT_ASSERT(out);
    return out;
}

static int check(struct keys *k, json_t *env, long long high, struct agent_command *c,
                 enum agent_reject *why)
{
    int rc = agent_envelope_verify(env, k->pub, DEV, high, NOW, c, why);
    json_decref(env);
    return rc;
}

WT_TEST(valid_envelope)
{
    struct keys k;
    struct agent_command c;
    enum agent_reject why;
    char *p = payload(DEV, 42, "2026-11-29T10:00:00Z");
    keys_new(&k);
    WT_OK(check(&k, envelope(&k, p, 0), 41, &c, &why));
    WT_EQ_INT(why, AGENT_REJECT_NONE);
    WT_EQ_STR(c.command_id, "c-42");
    WT_EQ_STR(c.type, "ping");
    WT_EQ_INT(c.seq, 42);
    WT_ASSERT(json_is_object(c.params));
    agent_command_release(&c);
    /* Within the allowed clock skew: expired 4 minutes ago by our clock. */
    ward_free(p);
    p = payload(DEV, 43, "2026-11-28T09:56:00Z");
    WT_OK(check(&k, envelope(&k, p, 0), 42, &c, &why));
    agent_command_release(&c);
    ward_free(p);
    EVP_PKEY_free(k.priv);
}

WT_TEST(rejections)
{
    struct keys k, other;
    struct agent_command c;
    enum agent_reject why;
    char *p;
    keys_new(&k);
    keys_new(&other);

    p = payload(DEV, 5, "2026-11-29T10:00:00Z");
    WT_EQ_ERR(check(&k, envelope(&k, p, 1), 0, &c, &why), WARD_EVERIFY);
    WT_EQ_STR(agent_reject_name(why), "bad_signature");
    WT_EQ_STR(c.command_id, "c-5"); /* still reportable */
    agent_command_release(&c);
    WT_EQ_ERR(check(&k, envelope(&other, p, 0), 0, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_BAD_SIGNATURE);
    agent_command_release(&c);
    /* seq at or below the high-water mark. */
    WT_EQ_ERR(check(&k, envelope(&k, p, 0), 5, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_REPLAYED);
    agent_command_release(&c);
    WT_EQ_ERR(check(&k, envelope(&k, p, 0), 9, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_REPLAYED);
    agent_command_release(&c);
    ward_free(p);

    p = payload("d-9999", 5, "2026-11-29T10:00:00Z");
    WT_EQ_ERR(check(&k, envelope(&k, p, 0), 0, &c, &why), WARD_EVERIFY);
    WT_EQ_STR(agent_reject_name(why), "wrong_device");
    agent_command_release(&c);
    ward_free(p);

    p = payload(DEV, 5, "2026-11-28T09:54:59Z"); /* beyond 5 minutes of skew */
    WT_EQ_ERR(check(&k, envelope(&k, p, 0), 0, &c, &why), WARD_EVERIFY);
    WT_EQ_STR(agent_reject_name(why), "expired");
    agent_command_release(&c);
    ward_free(p);
    EVP_PKEY_free(k.priv);
    EVP_PKEY_free(other.priv);
}

WT_TEST(malformed)
{
    struct keys k;
    struct agent_command c;
    enum agent_reject why;
    const char *payloads[] = {
        "not json",
        "[]",
        "{\"command_id\":\"c-1\"}",
        "{\"command_id\":\"c-1\",\"device_id\":\"" DEV "\",\"seq\":0,\"type\":\"ping\","
        "\"params\":{},\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":"
        "\"2026-11-29T10:00:00Z\"}",
        "{\"command_id\":\"c-1\",\"device_id\":\"" DEV "\",\"seq\":1,\"type\":\"ping\","
        "\"params\":[],\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":"
        "\"2026-11-29T10:00:00Z\"}",
        "{\"command_id\":\"c-1\",\"device_id\":\"" DEV "\",\"seq\":1,\"type\":\"ping\","
        "\"params\":{},\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":\"tomorrow\"}",
        "{\"command_id\":\"c-1\",\"device_id\":\"" DEV "\",\"seq\":1,\"type\":\"ping\","
        "\"params\":{},\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":"
        "\"2026-11-29T10:00:00Z\",\"extra\":1}",
        "{\"command_id\":\"c-1\",\"command_id\":\"c-2\",\"device_id\":\"" DEV "\",\"seq\":1,"
        "\"type\":\"ping\",\"params\":{},\"issued_at\":\"2026-11-28T09:00:00Z\",\"expires_at\":"
        "\"2026-11-29T10:00:00Z\"}",
    };
    json_t *env;
    keys_new(&k);
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        WT_EQ_ERR(check(&k, envelope(&k, payloads[i], 0), 0, &c, &why), WARD_EVERIFY);
        if (why != AGENT_REJECT_MALFORMED)
            wt_fail(__FILE__, __LINE__, "payload %u: reason %s", (unsigned)i,
                    agent_reject_name(why));
        agent_command_release(&c);
    }
    /* The envelope itself. */
    env = json_pack("{s:s}", "payload", "e30=");
    WT_EQ_ERR(check(&k, env, 0, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_MALFORMED);
    env = json_pack("{s:s, s:s}", "payload", "!!!", "signature", "AAAA");
    WT_EQ_ERR(check(&k, env, 0, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_MALFORMED);
    env = json_pack("{s:s, s:s}", "payload", "e30=", "signature", "AAAA"); /* short sig */
    WT_EQ_ERR(check(&k, env, 0, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_MALFORMED);
    env = json_pack("[]");
    WT_EQ_ERR(check(&k, env, 0, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_MALFORMED);
    EVP_PKEY_free(k.priv);
}

WT_TEST(offline_key_marker_refused)
{
    struct keys k;
    struct agent_command c;
    enum agent_reject why;
    char *p = payload(DEV, 5, "2026-11-29T10:00:00Z");
    json_t *env;
    keys_new(&k);
    env = envelope(&k, p, 0);
    json_object_set_new(env, "key", json_string("offline"));
    WT_EQ_ERR(check(&k, env, 0, &c, &why), WARD_EVERIFY);
    WT_EQ_INT(why, AGENT_REJECT_BAD_SIGNATURE);
    agent_command_release(&c);
    ward_free(p);
    EVP_PKEY_free(k.priv);
}
