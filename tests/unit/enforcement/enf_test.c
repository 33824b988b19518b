/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the enforcement unit tests (see enf_test.h). */
#include "enf_test.h"

#include <string.h>
#include <sys/stat.h>

#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/json.h"
#include "ward/store.h"

struct enf_baseline *et_doc(const char *json)
{
    struct enf_baseline *b = NULL;
    struct ward_buf e;
    int rc;
    ward_json_init();
    ward_buf_init(&e, 65536);
    rc = enf_baseline_parse(json, strlen(json), &b, &e);
    if (rc != 0)
        wt_fail(__FILE__, __LINE__, "baseline rejected (%s):\n%s", ward_err_name(rc),
                e.data ? e.data : "");
    ward_buf_release(&e);
    return b;
}

const char *et_doc_errors(const char *json, int *rc)
{
    static char text[65536];
    struct enf_baseline *b = NULL;
    struct ward_buf e;
    ward_json_init();
    ward_buf_init(&e, sizeof(text) - 1);
    *rc = enf_baseline_parse(json, strlen(json), &b, &e);
    WT_ASSERT(*rc != 0);
    WT_ASSERT(b == NULL);
    snprintf(text, sizeof(text), "%s", e.data ? e.data : "");
    ward_buf_release(&e);
    return text;
}

const char *et_root(void)
{
    static char *root;
    if (!root) {
        root = ward_strdup(wt_path("root"));
        WT_OK(plat_fs_mkdir_p(NULL, root, PLAT_FS_NTS, 0755));
    }
    return root;
}

struct enf_report *et_run(const struct enf_baseline *b, unsigned flags, struct ward_store *journal,
                          const struct enf_hooks *hooks)
{
    struct enf_run_opts o = {.root = et_root(), .flags = flags, .journal = journal, .hooks = hooks};
    struct enf_report *r = NULL;
    WT_OK(enf_run(b, &o, &r));
    WT_ASSERT(r != NULL);
    return r;
}

const struct enf_outcome *et_outcome(const struct enf_report *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].setting->id, id) == 0)
            return &r->items[i];
    wt_fail(__FILE__, __LINE__, "no outcome for %s", id);
}

const char *et_host(const char *rel)
{
    static char buf[8][4200];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 4200, "%s/%s", et_root(), rel[0] == '/' ? rel + 1 : rel);
    return p;
}

void et_put(const char *rel, const char *content)
{
    WT_OK(plat_fs_write_file_mkdirs(et_host(rel), content, strlen(content)));
}

char *et_get(const char *rel)
{
    static char *slots[8];
    static int slot;
    char *data = NULL;
    size_t len;
    int i = slot++ % 8;
    ward_free(slots[i]);
    slots[i] = NULL;
    if (plat_fs_read_file(et_root(), rel, PLAT_FS_NTS, 1 << 24, &data, &len) != 0)
        return NULL;
    slots[i] = data;
    return data;
}

int64_t et_mtime(const char *rel)
{
    struct plat_fs_info info;
    WT_OK(plat_fs_stat(et_root(), rel, PLAT_FS_NTS, 0, &info));
    return info.mtime_ns;
}

unsigned et_mode(const char *rel)
{
    struct plat_fs_info info;
    WT_OK(plat_fs_stat(et_root(), rel, PLAT_FS_NTS, 0, &info));
    return info.mode;
}

struct ward_store *et_journal(void)
{
    static const struct ward_migration migs[] = {{1, ENF_JOURNAL_SQL_V1}};
    struct ward_store *st = NULL;
    WT_OK(ward_store_open(wt_path("state.db"), migs, 1, &st));
    return st;
}

void et_all(const struct enf_report *rep, enum enf_result r)
{
    for (size_t i = 0; i < rep->n; i++) {
        const struct enf_outcome *o = &rep->items[i];
        if (o->result != r)
            wt_fail(__FILE__, __LINE__, "%s: %s, wanted %s (expected %s, actual %s, error %s)",
                    o->setting->id, enf_result_name(o->result), enf_result_name(r),
                    o->expected ? o->expected : "-", o->actual ? o->actual : "-",
                    o->error ? o->error : "-");
    }
}
