/* SPDX-License-Identifier: Apache-2.0 */
/* Enrollment token parsing: the documented form is accepted; every malformed or hostile
 * variant is WARD_EPARSE (or WARD_ETOOBIG) and leaves nothing of the secret behind. */
#include <string.h>

#include "agent/token.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "wtest.h"

#define SECRET "0a1b2c3d.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define PIN "sha256:c4c76f6a63e1521a4f1649470001dc94f06c2a8170d422507b85b3d60867bdd6"

/* "ward1." + base64url(json); returned string is heap (ward_free). */
static char *mk(const char *json)
{
    char *b64 = NULL, *out;
    size_t n;
    WT_OK(ward_base64_encode(json, strlen(json), WARD_BASE64_URL, &b64));
    n = strlen(b64) + 7;
    out = ward_malloc(n);
    WT_ASSERT(out);
    snprintf(out, n, "ward1.%s", b64);
    ward_free(b64);
    return out;
}

static int parse_json(const char *json, struct agent_token *t)
{
    char *tok = mk(json);
    int rc = agent_token_parse(tok, strlen(tok), t);
    ward_free(tok);
    return rc;
}

static int parse_fields(const char *url, const char *secret, const char *pin)
{
    char json[1024];
    struct agent_token t;
    snprintf(json, sizeof(json), "{\"url\": \"%s\", \"secret\": \"%s\", \"ca_pin\": \"%s\"}", url,
             secret, pin);
    return parse_json(json, &t);
}

WT_TEST(good_token)
{
    struct agent_token t;
    WT_OK(parse_json("{\"url\":\"https://127.0.0.1:8443\",\"secret\":\"" SECRET
                     "\",\"ca_pin\":\"" PIN "\"}",
                     &t));
    WT_EQ_STR(t.url, "https://127.0.0.1:8443");
    WT_EQ_STR(t.host, "127.0.0.1");
    WT_EQ_STR(t.id, "0a1b2c3d");
    WT_EQ_STR(t.secret, SECRET);
    WT_EQ_STR(t.ca_pin, PIN);
    agent_token_wipe(&t);
    WT_EQ_INT(t.secret[0], 0);
}

WT_TEST(good_variants)
{
    struct agent_token t;
    char *tok;
    char buf[2048];
    /* Whitespace around (a token file's newline), a DNS name with a path and trailing
     * slash, an IPv6 literal, an uppercase pin. */
    tok = mk("{\"url\":\"https://ward.example.com/base/\",\"secret\":\"" SECRET
             "\",\"ca_pin\":\"" PIN "\"}");
    snprintf(buf, sizeof(buf), "  %s\r\n", tok);
    WT_OK(agent_token_parse(buf, strlen(buf), &t));
    WT_EQ_STR(t.url, "https://ward.example.com/base");
    WT_EQ_STR(t.host, "ward.example.com");
    ward_free(tok);
    WT_OK(parse_json("{\"ca_pin\":\"sha256:C4C76F6A63E1521A4F1649470001DC94F06C2A8170D422507B85B3D"
                     "60867BDD6\",\"url\":\"https://[::1]:8443\",\"secret\":\"" SECRET "\"}",
                     &t));
    WT_EQ_STR(t.host, "::1");
    WT_EQ_STR(t.ca_pin, PIN);
}

WT_TEST(bad_urls)
{
    const char *bad[] = {
        "http://127.0.0.1:8443", "https://",
        "https://:8443",         "https://user:pw@host:8443",
        "https://host:0",        "https://host:65536",
        "https://host:99999999", "https://host:",
        "https://host?x=1",      "https://host/#frag",
        "https://host/a b",      "https://-host",
        "https://host./",        "ftp://host",
        "HTTPS://host",          "https://[::1",
        "https://[]:1",          "https://ho\\u0000st",
        "https://host/\\u00e9",  "https://host:8443x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_fields(bad[i], SECRET, PIN);
        if (rc != WARD_EPARSE)
            wt_fail(__FILE__, __LINE__, "url %s accepted (%d)", bad[i], rc);
    }
}

WT_TEST(bad_secrets_and_pins)
{
    const char *secrets[] = {
        "",
        "0a1b2c3d",
        "0A1B2C3D.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "0a1b2c3d:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "0a1b2c3d.00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
        "0a1b2c3d.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",
        "0a1b2c3g.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "0a1b2c3d.0011223344556677889zaabbccddeeff00112233445566778899aabbccddeeff",
    };
    const char *pins[] = {
        "",
        "sha256:",
        "sha1:c4c76f6a63e1521a4f1649470001dc94f06c2a8170d422507b85b3d60867bdd6",
        "sha256:c4c76f6a63e1521a4f1649470001dc94f06c2a8170d422507b85b3d60867bdd",
        "sha256:c4c76f6a63e1521a4f1649470001dc94f06c2a8170d422507b85b3d60867bdd6a",
        "sha256:x4c76f6a63e1521a4f1649470001dc94f06c2a8170d422507b85b3d60867bdd6",
        "sha256//xMdvamPhUhpPFklHAAHclPBsKoFw1CJQe4Wz1ghnvdY=",
    };
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        WT_EQ_ERR(parse_fields("https://h:1", secrets[i], PIN), WARD_EPARSE);
    for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
        WT_EQ_ERR(parse_fields("https://h:1", SECRET, pins[i]), WARD_EPARSE);
}

WT_TEST(malformed_structure)
{
    struct agent_token t;
    char *tok;
    const char *docs[] = {
        "[]",
        "{}",
        "\"x\"",
        "{\"url\":\"https://h\",\"secret\":\"" SECRET "\"}",
        "{\"url\":\"https://h\",\"secret\":\"" SECRET "\",\"ca_pin\":\"" PIN "\",\"x\":1}",
        "{\"url\":\"https://h\",\"secret\":\"" SECRET "\",\"ca_pin\":\"" PIN
        "\",\"url\":\"https://evil\"}",
        "{\"url\":1,\"secret\":\"" SECRET "\",\"ca_pin\":\"" PIN "\"}",
        "{\"url\":\"https://h\",\"secret\":\"" SECRET "\",\"ca_pin\":\"" PIN "\"",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        WT_EQ_ERR(parse_json(docs[i], &t), WARD_EPARSE);

    /* Prefix and encoding. */
    WT_EQ_ERR(agent_token_parse("", 0, &t), WARD_EPARSE);
    WT_EQ_ERR(agent_token_parse("ward1.", 6, &t), WARD_EPARSE);
    WT_EQ_ERR(agent_token_parse("ward2.e30", 9, &t), WARD_EPARSE);
    WT_EQ_ERR(agent_token_parse("ward1.e30=", 10, &t), WARD_EPARSE); /* padding */
    WT_EQ_ERR(agent_token_parse("ward1.e3+/", 10, &t), WARD_EPARSE); /* std alphabet */
    tok = mk("{\"url\":\"https://h\",\"secret\":\"" SECRET "\",\"ca_pin\":\"" PIN "\"}");
    tok[10] = ' '; /* whitespace inside */
    WT_EQ_ERR(agent_token_parse(tok, strlen(tok), &t), WARD_EPARSE);
    ward_free(tok);
    WT_EQ_ERR(agent_token_parse(NULL, 0, &t), WARD_EINVAL);
}

WT_TEST(hostile_inputs)
{
    struct agent_token t;
    size_t n = AGENT_TOKEN_MAX_LEN + 10;
    char *big = ward_malloc(n);
    char deep[600];
    WT_ASSERT(big);
    memset(big, 'A', n);
    memcpy(big, "ward1.", 6);
    WT_EQ_ERR(agent_token_parse(big, n, &t), WARD_ETOOBIG);
    ward_free(big);
    /* A NUL inside the token text, nesting, a NUL inside a JSON string. */
    WT_EQ_ERR(agent_token_parse("ward1.e3\0", 9, &t), WARD_EPARSE);
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[599] = '\0';
    deep[299] = '[';
    WT_EQ_ERR(parse_json(deep, &t), WARD_EPARSE);
    WT_EQ_ERR(parse_json("{\"url\":\"https://h\\u0000.evil\",\"secret\":\"" SECRET
                         "\",\"ca_pin\":\"" PIN "\"}",
                         &t),
              WARD_EPARSE);
    /* Failure leaves no secret behind. */
    WT_EQ_ERR(
        parse_json("{\"url\":\"http://h\",\"secret\":\"" SECRET "\",\"ca_pin\":\"" PIN "\"}", &t),
        WARD_EPARSE);
    WT_EQ_INT(t.secret[0], 0);
}
