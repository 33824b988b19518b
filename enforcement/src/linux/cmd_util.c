/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the Linux command handlers (cmd_util.h). */
#include "cmd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "ward/error.h"

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
