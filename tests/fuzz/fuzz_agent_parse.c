/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what the agent parses from outside during enrollment and check-in:
 * enrollment tokens, check-in answers, command envelopes, and command payloads (signed
 * here with a fixed key, so the fuzzer reaches every check after the signature), and
 * the local IPC's request frames, which any local user can send the daemon. The first
 * input byte picks the parser; results are checked, not just survived.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/checkin.h"
#include "agent/commands.h"
#include "agent/ipc.h"
#include "agent/token.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV "d-fuzz"
#define NOW ((int64_t)1795860000)

static EVP_PKEY *key;
static uint8_t pub[WARD_ED25519_PUB_LEN];

static void check(int cond)
{
    if (!cond)
        abort();
}

static void init(void)
{
    if (key)
        return;
    ward_json_init();
    ward_log_set_level(-1);
    check(ward_ed25519_generate(&key) == 0);
    check(ward_ed25519_public_raw(key, pub) == 0);
}

static void fuzz_token(const char *buf, size_t len)
{
    struct agent_token t;
    int rc = agent_token_parse(buf, len, &t);
    if (rc == 0) {
        check(strncmp(t.url, "https://", 8) == 0 && t.host[0]);
        check(strlen(t.secret) == AGENT_TOKEN_SECRET_LEN && strlen(t.ca_pin) == 71);
        check(ward_pin_check(t.ca_pin, t.ca_pin) == 0);
    } else {
        check(rc == WARD_EPARSE || rc == WARD_ETOOBIG || rc == WARD_ENOMEM);
        check(t.secret[0] == '\0');
    }
}

static void fuzz_answer(const char *buf, size_t len)
{
    struct agent_checkin_answer a;
    char code[64];
    int rc = agent_checkin_parse_answer(buf, len, &a);
    if (rc == 0)
        check(json_is_array(a.commands));
    else
        check(rc == WARD_EPARSE || rc == WARD_ENOMEM);
    agent_checkin_answer_release(&a);
    agent_proto_error_code(buf, len, code, sizeof(code));
    check(strlen(code) < sizeof(code));
}

static void verify_one(const json_t *env)
{
    struct agent_command c;
    enum agent_reject why = AGENT_REJECT_NONE;
    int rc = agent_envelope_verify(env, pub, DEV, 10, NOW, &c, &why);
    if (rc == 0) {
        check(why == AGENT_REJECT_NONE && c.seq > 10 && strcmp(c.device_id, DEV) == 0);
        check(c.command_id[0] && c.type[0] && json_is_object(c.params));
    } else {
        check(rc == WARD_ENOMEM || (rc == WARD_EVERIFY && why != AGENT_REJECT_NONE));
    }
    agent_command_release(&c);
}

static void fuzz_envelope(const char *buf, size_t len)
{
    json_t *j = NULL;
    if (ward_json_loadb(buf, len, NULL, &j, NULL) != 0)
        return;
    if (json_is_array(j)) {
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) verify_one(e);
    } else {
        verify_one(j);
    }
    json_decref(j);
}

static void fuzz_payload(const char *buf, size_t len)
{
    uint8_t sig[WARD_ED25519_SIG_LEN];
    char *p64 = NULL, *s64 = NULL;
    json_t *env;
    check(ward_ed25519_sign(key, buf, len, sig) == 0);
    if (ward_base64_encode(buf, len, 0, &p64) != 0 ||
        ward_base64_encode(sig, sizeof(sig), 0, &s64) != 0) {
        ward_free(p64);
        return;
    }
    env = json_pack("{s:s, s:s}", "payload", p64, "signature", s64);
    if (env)
        verify_one(env);
    json_decref(env);
    ward_free(p64);
    ward_free(s64);
}

/* A request is accepted only with a known verb whose fields all passed; a refusal names
 * one of the documented codes. */
static void fuzz_ipc(const char *buf, size_t len)
{
    static const char *const codes[] = {"bad_request",   "too_large", "unknown_verb",
                                        "unknown_field", "bad_field", NULL};
    struct agent_ipc_request rq;
    char code[32] = "", msg[256] = "";
    int rc = agent_ipc_parse(buf, len, &rq, code, sizeof(code), msg, sizeof(msg));
    if (rc == 0) {
        check(rq.verb != NULL && json_is_object(rq.req));
    } else {
        int known = 0;
        for (size_t i = 0; codes[i]; i++)
            known |= strcmp(code, codes[i]) == 0;
        check(known && msg[0] != '\0' && strlen(msg) < sizeof(msg));
    }
    check(!rq.id || json_is_integer(rq.id) || json_is_string(rq.id));
    json_decref(rq.req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data + 1;
    init();
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0:
        fuzz_token(buf, size - 1);
        break;
    case 1:
        fuzz_answer(buf, size - 1);
        break;
    case 2:
        fuzz_envelope(buf, size - 1);
        break;
    case 3:
        fuzz_payload(buf, size - 1);
        break;
    default:
        fuzz_ipc(buf, size - 1);
        break;
    }
    return 0;
}
