/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrollment token parsing. Everything in a token comes from outside (a command line, a
 * file dropped by a deployment tool), so each field is checked against the exact form the
 * protocol gives it before enrollment uses any of it; the secret never reaches a log.
 */
#define WARD_LOG_TAG "token"

#include "agent/token.h"

#include <stdint.h>
#include <string.h>

#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"

#define TOKEN_PREFIX "ward1."

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

static int path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("/-._~%!$&'()*+,;=:@", c) != NULL;
}

/* https://host[:port][/path]: a DNS name or IPv4 literal, or [IPv6]; port 1..65535; a path
 * of plain URL characters. No user info, query or fragment. Trailing '/' is dropped. */
static int parse_url(const char *url, struct agent_token *t)
{
    const char *p = url, *h, *he;
    size_t n = strlen(url);

    if (n >= sizeof(t->url) || strncmp(p, "https://", 8) != 0)
        return WARD_EPARSE;
    p += 8;
    if (*p == '[') {
        h = ++p;
        while (*p && (is_hex(p, 1) || *p == ':' || *p == '.'))
            p++;
        if (*p != ']' || p == h)
            return WARD_EPARSE;
        he = p++;
    } else {
        h = p;
        while (host_char(*p))
            p++;
        he = p;
        if (he == h || *h == '.' || *h == '-' || he[-1] == '.')
            return WARD_EPARSE;
    }
    if ((size_t)(he - h) >= sizeof(t->host))
        return WARD_EPARSE;
    if (*p == ':') {
        long port = 0;
        const char *ps = ++p;
        while (*p >= '0' && *p <= '9' && p - ps < 6)
            port = port * 10 + (*p++ - '0');
        if (p == ps || port < 1 || port > 65535 || (*p >= '0' && *p <= '9'))
            return WARD_EPARSE;
    }
    if (*p && *p != '/')
        return WARD_EPARSE;
    for (const char *q = p; *q; q++)
        if (!path_char(*q))
            return WARD_EPARSE;
    memcpy(t->host, h, (size_t)(he - h));
    t->host[he - h] = '\0';
    memcpy(t->url, url, n + 1);
    while (n > 8 && t->url[n - 1] == '/')
        t->url[--n] = '\0';
    return 0;
}

int agent_token_parse(const char *buf, size_t len, struct agent_token *out)
{
    static const char *const keys[] = {"url", "secret", "ca_pin", NULL};
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    json_t *j = NULL;
    const char *url = NULL, *secret = NULL, *pin = NULL;
    int rc;

    if (!out)
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!buf)
        return WARD_EINVAL;
    while (len && is_space(buf[0])) {
        buf++;
        len--;
    }
    while (len && is_space(buf[len - 1]))
        len--;
    if (len > AGENT_TOKEN_MAX_LEN)
        return WARD_ETOOBIG;
    if (len <= strlen(TOKEN_PREFIX) || memcmp(buf, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
        return WARD_EPARSE;
    buf += strlen(TOKEN_PREFIX);
    len -= strlen(TOKEN_PREFIX);
    rc = ward_base64_decode(buf, len, WARD_BASE64_URL, &raw, &rawlen);
    if (rc != 0) {
        rc = rc == WARD_ENOMEM ? rc : WARD_EPARSE;
        goto out;
    }
    rc = ward_json_loadb((const char *)raw, rawlen, NULL, &j, NULL);
    if (rc != 0) {
        rc = rc == WARD_ENOMEM ? rc : WARD_EPARSE;
        goto out;
    }
    if (!json_is_object(j) || ward_json_check_keys(j, NULL, keys, NULL) != 0 ||
        ward_json_get_str(j, NULL, "url", WARD_JSON_REQUIRED, &url, NULL) != 0 ||
        ward_json_get_str(j, NULL, "secret", WARD_JSON_REQUIRED, &secret, NULL) != 0 ||
        ward_json_get_str(j, NULL, "ca_pin", WARD_JSON_REQUIRED, &pin, NULL) != 0) {
        rc = WARD_EPARSE;
        goto out;
    }
    if (strlen(secret) != AGENT_TOKEN_SECRET_LEN || secret[AGENT_TOKEN_ID_LEN] != '.' ||
        !is_lower_hex(secret, AGENT_TOKEN_ID_LEN) || !is_hex(secret + AGENT_TOKEN_ID_LEN + 1, 64)) {
        rc = WARD_EPARSE;
        goto out;
    }
    if (strlen(pin) != WARD_PIN_SIZE - 1 || strncmp(pin, "sha256:", 7) != 0 ||
        !is_hex(pin + 7, 64)) {
        rc = WARD_EPARSE;
        goto out;
    }
    rc = parse_url(url, out);
    if (rc != 0)
        goto out;
    memcpy(out->id, secret, AGENT_TOKEN_ID_LEN);
    memcpy(out->secret, secret, AGENT_TOKEN_SECRET_LEN + 1);
    for (size_t i = 0; i < WARD_PIN_SIZE; i++) {
        char c = pin[i];
        out->ca_pin[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
out:
    if (j) {
        /* The secret lives in jansson's string too: scrub it before the free. */
        json_t *s = json_object_get(j, "secret");
        if (json_is_string(s))
            memset((char *)(uintptr_t)json_string_value(s), 0, json_string_length(s));
        json_decref(j);
    }
    if (raw) {
        memset(raw, 0, rawlen);
        ward_free(raw);
    }
    if (rc != 0)
        agent_token_wipe(out);
    return rc;
}

void agent_token_wipe(struct agent_token *t)
{
    if (!t)
        return;
    volatile char *p = (volatile char *)t;
    for (size_t i = 0; i < sizeof(*t); i++)
        p[i] = 0;
}
