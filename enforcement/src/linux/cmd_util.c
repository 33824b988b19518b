/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the Linux command handlers (cmd_util.h). */
#include "cmd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "ward/error.h"

#define FILE_URL_PREFIX "/api/v1/files/"
#define FILE_URL_MAX 1024
#define FILE_LENGTH_MAX (1LL << 40)

int enf_cmdu_personal(const struct enf_cmd_job *j)
{
    return j->ownership && strcmp(j->ownership, "personal") == 0;
}

void enf_cmdu_diag(struct ward_buf *err, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* the same one-line shape enf_cmd_validate gives the field table's problems */
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    ward_buf_appendf(err, "%s: %s\n", path, msg);
}

int enf_cmdu_uv_err(int uverr)
{
    if (uverr == UV_ENOMEM)
        return WARD_ENOMEM;
    if (uverr == UV_EINVAL)
        return WARD_EINVAL;
    return WARD_EIO;
}

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or 0 with *bad set to
 * the length of the maximal subpart of an ill-formed one (at least 1). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t need, k;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        *bad = 1; /* continuation byte, C0/C1, F5..FF */
        return 0;
    }
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return need + 1;
}

int enf_cmdu_utf8_append(struct ward_buf *b, const char *s, size_t n)
{
    static const char fffd[] = "\xef\xbf\xbd";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int rc = ward_buf_reserve(b, n);

    while (rc == 0 && i < n) {
        size_t bad = 0, k = utf8_seq(u + i, n - i, &bad);
        if (k) {
            i += k;
            continue;
        }
        if ((rc = ward_buf_append(b, s + run, i - run)) != 0 ||
            (rc = ward_buf_append(b, fffd, 3)) != 0)
            break;
        i += bad;
        run = i;
    }
    if (rc == 0 && run < n)
        rc = ward_buf_append(b, s + run, n - run);
    return rc;
}

json_t *enf_cmdu_text(const char *s, size_t n)
{
    struct ward_buf b;
    json_t *j;
    /* worst case: every byte invalid, each replaced by three */
    if (n > ((size_t)-1 - 64) / 3)
        return NULL;
    ward_buf_init(&b, n * 3 + 64);
    if (enf_cmdu_utf8_append(&b, s, n) != 0) {
        ward_buf_release(&b);
        return NULL;
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    ward_buf_release(&b);
    return j;
}

/* One captured stream as text: head, a marker for what was dropped, tail. */
json_t *enf_cmdu_stream_text(const char *data, size_t len, size_t head_len, uint64_t dropped)
{
    struct ward_buf b;
    json_t *j;
    int rc;
    if (dropped == 0 || head_len > len)
        return enf_cmdu_text(data, len);
    ward_buf_init(&b, len * 3 + 128);
    rc = enf_cmdu_utf8_append(&b, data, head_len);
    if (rc == 0)
        rc = ward_buf_appendf(&b, "\n[... %llu bytes dropped ...]\n", (unsigned long long)dropped);
    if (rc == 0)
        rc = enf_cmdu_utf8_append(&b, data + head_len, len - head_len);
    j = rc == 0 ? json_stringn(b.data ? b.data : "", b.len) : NULL;
    ward_buf_release(&b);
    return j;
}

static int lower_hex64(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return n == 64;
}

/* A path on the service under /api/v1/files/: plain characters, no empty, "." or ".."
 * segments, no query or fragment. */
static int valid_file_url(const char *s, size_t n)
{
    size_t pre = sizeof(FILE_URL_PREFIX) - 1, seg = pre;
    if (n <= pre || n > FILE_URL_MAX || strlen(s) != n || strncmp(s, FILE_URL_PREFIX, pre) != 0)
        return 0;
    for (size_t i = pre; i <= n; i++) {
        char c = s[i];
        if (i == n || c == '/') {
            size_t len = i - seg;
            if (len == 0 || (len == 1 && s[seg] == '.') ||
                (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return 0;
            seg = i + 1;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '~'))
            return 0;
    }
    return 1;
}

int enf_cmdu_validate_file(const json_t *file, const char *where, struct ward_buf *err)
{
    int bad = 0;
    char p[128];
    const char *key;
    json_t *v;
    const json_t *url = json_object_get(file, "url"), *sha = json_object_get(file, "sha256"),
                 *len = json_object_get(file, "length");

    json_object_foreach((json_t *)(uintptr_t)file, key, v)
    {
        if (strcmp(key, "url") != 0 && strcmp(key, "sha256") != 0 && strcmp(key, "length") != 0) {
            snprintf(p, sizeof(p), "%.40s.%.64s", where, key);
            enf_cmdu_diag(err, p, "unknown member of file (url, sha256, length)");
            bad = 1;
        }
    }
    if (!json_is_string(url) || !valid_file_url(json_string_value(url), json_string_length(url))) {
        snprintf(p, sizeof(p), "%.40s.url", where);
        enf_cmdu_diag(err, p,
                      "must be the service's path of the file, \"" FILE_URL_PREFIX "<id>\"");
        bad = 1;
    }
    if (!json_is_string(sha) || !lower_hex64(json_string_value(sha)) ||
        json_string_length(sha) != 64) {
        snprintf(p, sizeof(p), "%.40s.sha256", where);
        enf_cmdu_diag(err, p, "must be 64 lowercase hex digits (a SHA-256)");
        bad = 1;
    }
    if (!json_is_integer(len) || json_integer_value(len) < 1 ||
        json_integer_value(len) > FILE_LENGTH_MAX) {
        snprintf(p, sizeof(p), "%.40s.length", where);
        enf_cmdu_diag(err, p, "must be an integer between 1 and %lld (bytes)",
                      (long long)FILE_LENGTH_MAX);
        bad = 1;
    }
    return bad;
}
