/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for baseline documents: enf_baseline_parse (the capped JSON loader plus
 * validation against the schema tables). Results are checked, not just survived: a refused
 * document comes back as nothing, with a code from the documented set and one or more
 * "$..." lines; an accepted one has every setting with a known kind, a unique id and a
 * params object, and is then checked (audit only, never applied) under an empty scratch
 * root, which exercises every kind's check on arbitrary field values. Documents with a
 * command setting are not run (they would start processes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enforcement/baseline.h"
#include "enforcement/kind.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static const char *scratch_root(void)
{
    static char *root;
    if (!root && plat_fs_make_temp_dir("fuzz-baseline", &root) != 0)
        abort();
    return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    struct enf_baseline *b = NULL;
    struct enf_report *r = NULL;
    struct enf_run_opts o = {0};
    struct ward_buf errs;
    int rc, has_command = 0;

    if (!init) {
        ward_json_init();
        ward_log_set_level(-1);
        init = 1;
    }
    ward_buf_init(&errs, 1 << 20);
    rc = enf_baseline_parse((const char *)data, size, &b, &errs);
    if (rc != 0) {
        check(b == NULL);
        check(rc == WARD_EPARSE || rc == WARD_ETOOBIG || rc == WARD_EDEPTH || rc == WARD_EDUP ||
              rc == WARD_ENOMEM);
        check(rc == WARD_ENOMEM || (errs.len > 0 && errs.data[0] == '$'));
        for (size_t i = 0; i + 1 < errs.len; i++)
            check(errs.data[i] != '\n' || errs.data[i + 1] == '$' || errs.data[i + 1] == '(');
        ward_buf_release(&errs);
        return 0;
    }
    check(b && b->id && b->n_settings <= ENF_DOC_MAX_SETTINGS);
    for (size_t i = 0; i < b->n_settings; i++) {
        const struct enf_setting *s = &b->settings[i];
        check(s->kind && enf_kind_find(s->kind->name) == s->kind);
        check(json_is_object(s->params) && s->index == i);
        check(enf_baseline_find(b, s->id) == s);
        if (strcmp(s->kind->name, "command") == 0)
            has_command = 1;
    }
    if (!has_command) {
        o.root = scratch_root();
        rc = enf_run(b, &o, &r);
        check(rc == 0 || rc == WARD_ENOMEM);
        if (rc == 0) {
            json_t *j = NULL;
            check(r->n == b->n_settings);
            for (size_t i = 0; i < r->n; i++)
                check(r->items[i].result != ENF_REPAIRED && r->items[i].result != ENF_SKIPPED);
            if (enf_report_json(r, &j) == 0)
                json_decref(j);
        }
        enf_report_free(r);
    }
    enf_baseline_free(b);
    ward_buf_release(&errs);
    return 0;
}
