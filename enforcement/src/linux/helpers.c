/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sub-settings and the live-root test for the Linux kinds (helpers.h): a kind that is
 * built on another kind hands it a setting it made itself, so there is one implementation
 * of each file format's editing, snapshot and restore.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "platform/proc.h"
#include "ward/error.h"

int enf_sub_init(struct enf_sub *sub, const struct enf_setting *parent, const struct enf_kind *kind,
                 json_t *params)
{
    memset(sub, 0, sizeof(*sub));
    if (!params)
        return WARD_ENOMEM;
    sub->params = params;
    sub->s.id = parent->id;
    sub->s.kind = kind;
    sub->s.mode = parent->mode;
    sub->s.restore_on_removal = parent->restore_on_removal;
    sub->s.index = parent->index;
    sub->s.params = params;
    return 0;
}

void enf_sub_release(struct enf_sub *sub)
{
    json_decref(sub->params);
    sub->params = NULL;
}

int enf_root_is_live(const struct enf_ctx *ctx)
{
    const char *r = enf_ctx_root(ctx);
    return !r || strcmp(r, "/") == 0;
}

void enf_proc_last_line(const struct plat_proc_result *r, char *out, size_t outlen)
{
    const char *s = r->err_len ? r->err : r->out;
    size_t end = r->err_len ? r->err_len : r->out_len, start;
    while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' '))
        end--;
    start = end;
    while (start > 0 && s[start - 1] != '\n')
        start--;
    snprintf(out, outlen, "%.*s", (int)(end - start), s + start);
}
