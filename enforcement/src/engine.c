/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The baseline engine: the run context kinds do their I/O through (root confinement by
 * platform/fs.h, a per-run file cache so a file read by twenty settings is read once,
 * writes skipped when they would change nothing, test hooks before every change), and the
 * run itself: check every setting, snapshot and journal the prior state of those to repair,
 * apply, check again, restore what failed (everything the run changed when the baseline is
 * atomic). Removal restores journaled prior states.
 */
#define WARD_LOG_TAG "enf-engine"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/store.h"

#define FILE_READ_MAX ((size_t)16 << 20)
#define CHECK_TEXT_MAX 4096

struct cache_entry {
    char *path; /* normalized */
    int err;    /* 0, or the read error (WARD_ENOENT for a missing file) */
    char *data;
    size_t len;
};

struct acct {
    char *name;
    int64_t id;
};

struct enf_ctx {
    const char *root;
    const struct enf_hooks *hooks;
    struct cache_entry *files;
    size_t n_files, cap_files;
    int accounts_loaded;
    struct acct *users, *groups;
    size_t n_users, n_groups;
    char detail[512];
    struct enf_outcome *cur; /* the outcome of the setting being checked or applied */
};

const char *enf_result_name(enum enf_result r)
{
    static const char *const names[ENF_RESULT_COUNT] = {"KEPT", "REPAIRED", "FAILED", "DENIED",
                                                        "SKIPPED"};
    return (unsigned)r < ENF_RESULT_COUNT ? names[r] : "?";
}

/* ---- context ------------------------------------------------------------------------------ */

struct enf_ctx *enf_ctx_new(const char *root, const struct enf_hooks *hooks)
{
    struct enf_ctx *c = ward_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->root = root ? root : "/";
    c->hooks = hooks;
    return c;
}

static void accts_free(struct acct *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ward_free(a[i].name);
    ward_free(a);
}

void enf_ctx_free(struct enf_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_files; i++) {
        ward_free(c->files[i].path);
        ward_free(c->files[i].data);
    }
    ward_free(c->files);
    accts_free(c->users, c->n_users);
    accts_free(c->groups, c->n_groups);
    ward_free(c);
}

const char *enf_ctx_root(const struct enf_ctx *ctx)
{
    return ctx->root;
}

void enf_ctx_detail(struct enf_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->detail, sizeof(ctx->detail), fmt, ap);
    va_end(ap);
}

/* "/etc//ssh/./sshd_config" and "/etc/ssh/sshd_config" share one cache entry. ".." is kept
 * as it is: confinement (fs.h) refuses it. */
static int norm_path(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = in;
    while (*p) {
        const char *seg;
        size_t n;
        while (*p == '/')
            p++;
        seg = p;
        while (*p && *p != '/')
            p++;
        n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (o + 1 + n + 1 > outlen)
            return WARD_EPATH;
        out[o++] = '/';
        memcpy(out + o, seg, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

static struct cache_entry *cache_find(struct enf_ctx *c, const char *npath)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].path, npath) == 0)
            return &c->files[i];
    return NULL;
}

static struct cache_entry *cache_add(struct enf_ctx *c, const char *npath)
{
    struct cache_entry *e;
    if (c->n_files == c->cap_files) {
        size_t ncap = c->cap_files ? c->cap_files * 2 : 16;
        struct cache_entry *nf = ward_realloc(c->files, ncap * sizeof(*nf));
        if (!nf)
            return NULL;
        c->files = nf;
        c->cap_files = ncap;
    }
    e = &c->files[c->n_files];
    memset(e, 0, sizeof(*e));
    e->path = ward_strdup(npath);
    if (!e->path)
        return NULL;
    c->n_files++;
    return e;
}

int enf_file_read(struct enf_ctx *ctx, const char *path, const char **data, size_t *len)
{
    char np[PLAT_FS_MAX_PATH + 2];
    struct cache_entry *e;
    int rc = norm_path(path, np, sizeof(np));
    if (rc != 0)
        return rc;
    e = cache_find(ctx, np);
    if (!e) {
        e = cache_add(ctx, np);
        if (!e)
            return WARD_ENOMEM;
        e->err = plat_fs_read_file(ctx->root, np, PLAT_FS_NTS, FILE_READ_MAX, &e->data, &e->len);
        if (e->err == WARD_ENOMEM) {
            /* not a fact about the file: do not remember it */
            ward_free(e->path);
            ctx->n_files--;
            return WARD_ENOMEM;
        }
    }
    if (e->err != 0)
        return e->err;
    *data = e->data;
    *len = e->len;
    return 0;
}

static int hook(struct enf_ctx *ctx, const char *path)
{
    if (ctx->hooks && ctx->hooks->before_write)
        return ctx->hooks->before_write(ctx->hooks->ctx, path);
    return 0;
}

static void cache_forget(struct enf_ctx *ctx, const char *np)
{
    struct cache_entry *e = cache_find(ctx, np);
    if (e) {
        ward_free(e->data);
        e->data = NULL;
        e->len = 0;
        e->err = WARD_EAGAIN; /* unknown: read again */
        ward_free(e->path);
        *e = ctx->files[--ctx->n_files];
    }
}

int enf_file_forget(struct enf_ctx *ctx, const char *path)
{
    char np[PLAT_FS_MAX_PATH + 2];
    int rc = norm_path(path, np, sizeof(np));
    if (rc == 0)
        cache_forget(ctx, np);
    return rc;
}

int enf_file_write(struct enf_ctx *ctx, const char *path, const void *data, size_t len,
                   const struct plat_fs_attrs *attrs)
{
    char np[PLAT_FS_MAX_PATH + 2];
    struct cache_entry *e;
    char *copy;
    int rc = norm_path(path, np, sizeof(np));
    if (rc != 0)
        return rc;
    e = cache_find(ctx, np);
    if (!attrs && e && e->err == 0 && e->len == len && memcmp(e->data, data, len) == 0)
        return 0;
    rc = hook(ctx, np);
    if (rc == 0)
        rc = plat_fs_write_atomic(ctx->root, np, PLAT_FS_NTS, data, len, attrs);
    if (rc != 0) {
        cache_forget(ctx, np);
        return rc;
    }
    copy = ward_malloc(len + 1);
    if (!copy) {
        cache_forget(ctx, np);
        return 0; /* written; the cache just does not know the bytes */
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    if (!e)
        e = cache_add(ctx, np);
    if (!e) {
        ward_free(copy);
        return 0;
    }
    ward_free(e->data);
    e->data = copy;
    e->len = len;
    e->err = 0;
    return 0;
}

int enf_file_remove(struct enf_ctx *ctx, const char *path)
{
    char np[PLAT_FS_MAX_PATH + 2];
    int rc = norm_path(path, np, sizeof(np));
    if (rc == 0)
        rc = hook(ctx, np);
    if (rc == 0) {
        rc = plat_fs_unlink(ctx->root, np, PLAT_FS_NTS);
        if (rc == WARD_ENOENT)
            rc = 0;
    }
    cache_forget(ctx, np);
    return rc;
}

int enf_dir_remove(struct enf_ctx *ctx, const char *path)
{
    char np[PLAT_FS_MAX_PATH + 2];
    int rc = norm_path(path, np, sizeof(np));
    if (rc == 0)
        rc = hook(ctx, np);
    if (rc == 0) {
        rc = plat_fs_rmdir(ctx->root, np, PLAT_FS_NTS);
        if (rc == WARD_ENOENT)
            rc = 0;
    }
    return rc;
}

int enf_file_stat(struct enf_ctx *ctx, const char *path, unsigned flags, struct plat_fs_info *info)
{
    return plat_fs_stat(ctx->root, path, PLAT_FS_NTS, flags, info);
}

int enf_file_set_attrs(struct enf_ctx *ctx, const char *path, const struct plat_fs_attrs *attrs)
{
    int rc = hook(ctx, path);
    if (rc == 0)
        rc = plat_fs_set_attrs(ctx->root, path, PLAT_FS_NTS, attrs);
    return rc;
}

int enf_mkdir(struct enf_ctx *ctx, const char *path, unsigned int mode)
{
    int rc = hook(ctx, path);
    if (rc == 0)
        rc = plat_fs_mkdir_p(ctx->root, path, PLAT_FS_NTS, mode);
    return rc;
}

int enf_file_write_inplace(struct enf_ctx *ctx, const char *path, const void *data, size_t len)
{
    char np[PLAT_FS_MAX_PATH + 2];
    int rc = norm_path(path, np, sizeof(np));
    if (rc == 0)
        rc = hook(ctx, np);
    if (rc == 0)
        rc = plat_fs_write_inplace(ctx->root, np, PLAT_FS_NTS, data, len);
    cache_forget(ctx, np);
    return rc;
}

/* ---- accounts of the managed system ------------------------------------------------------ */

static int parse_id(const char *s, int64_t *id)
{
    int64_t v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 0x7fffffff)
            return 0;
        v = v * 10 + (*s - '0');
    }
    *id = v;
    return 1;
}

/* name:x:id:... lines of passwd(5) / group(5). A missing file is an empty database. */
static int load_db(struct enf_ctx *ctx, const char *path, struct acct **out, size_t *n)
{
    const char *data;
    size_t len, pos = 0, cap = 0;
    struct enf_line l;
    int rc = enf_file_read(ctx, path, &data, &len);
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    while (enf_text_next(data, len, &pos, &l)) {
        const char *c1 = memchr(l.p, ':', l.len), *c2, *c3;
        char idbuf[24];
        int64_t id;
        if (!c1)
            continue;
        c2 = memchr(c1 + 1, ':', l.len - (size_t)(c1 + 1 - l.p));
        if (!c2)
            continue;
        c3 = memchr(c2 + 1, ':', l.len - (size_t)(c2 + 1 - l.p));
        if (!c3 || (size_t)(c3 - c2 - 1) >= sizeof(idbuf))
            continue;
        memcpy(idbuf, c2 + 1, (size_t)(c3 - c2 - 1));
        idbuf[c3 - c2 - 1] = '\0';
        if (!parse_id(idbuf, &id))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct acct *na = ward_realloc(*out, ncap * sizeof(*na));
            if (!na)
                return WARD_ENOMEM;
            *out = na;
            cap = ncap;
        }
        (*out)[*n].name = ward_strndup(l.p, (size_t)(c1 - l.p));
        if (!(*out)[*n].name)
            return WARD_ENOMEM;
        (*out)[*n].id = id;
        (*n)++;
    }
    return 0;
}

static int load_accounts(struct enf_ctx *ctx)
{
    int rc;
    if (ctx->accounts_loaded)
        return 0;
    rc = load_db(ctx, "/etc/passwd", &ctx->users, &ctx->n_users);
    if (rc == 0)
        rc = load_db(ctx, "/etc/group", &ctx->groups, &ctx->n_groups);
    if (rc == 0)
        ctx->accounts_loaded = 1;
    return rc;
}

static int acct_id(struct enf_ctx *ctx, const struct acct *a, size_t n, const char *name,
                   int64_t *id, const char *what)
{
    if (parse_id(name, id))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i].name, name) == 0) {
            *id = a[i].id;
            return 0;
        }
    }
    enf_ctx_detail(ctx, "unknown %s \"%.64s\" in %s/etc/%s", what, name,
                   strcmp(ctx->root, "/") == 0 ? "" : ctx->root,
                   strcmp(what, "user") == 0 ? "passwd" : "group");
    return WARD_ENOENT;
}

int enf_user_id(struct enf_ctx *ctx, const char *name, int64_t *uid)
{
    int rc = load_accounts(ctx);
    return rc ? rc : acct_id(ctx, ctx->users, ctx->n_users, name, uid, "user");
}

int enf_group_id(struct enf_ctx *ctx, const char *name, int64_t *gid)
{
    int rc = load_accounts(ctx);
    return rc ? rc : acct_id(ctx, ctx->groups, ctx->n_groups, name, gid, "group");
}

static const char *acct_name(const struct acct *a, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].id == id)
            return a[i].name;
    return NULL;
}

const char *enf_user_name(struct enf_ctx *ctx, int64_t uid)
{
    return load_accounts(ctx) == 0 ? acct_name(ctx->users, ctx->n_users, uid) : NULL;
}

const char *enf_group_name(struct enf_ctx *ctx, int64_t gid)
{
    return load_accounts(ctx) == 0 ? acct_name(ctx->groups, ctx->n_groups, gid) : NULL;
}

/* ---- processes and content ------------------------------------------------------------------ */

int enf_proc_run(struct enf_ctx *ctx, const char *const *argv, uint64_t timeout_ms,
                 struct plat_proc_result *res)
{
    char rootenv[PLAT_FS_MAX_PATH + 16];
    const char *env[2] = {rootenv, NULL};
    struct plat_proc_opts o = {.argv = argv,
                               .env = env,
                               .timeout_ms = timeout_ms,
                               .stdout_max = 65536,
                               .stderr_max = 65536};
    snprintf(rootenv, sizeof(rootenv), "WARD_ROOT=%s", ctx->root);
    return plat_proc_run(&o, res);
}

int enf_fetch(struct enf_ctx *ctx, const char *sha256_hex, char **data, size_t *len)
{
    if (!ctx->hooks || !ctx->hooks->fetch) {
        enf_ctx_detail(ctx,
                       "content_sha256 %.12s... needs content from the server, and no "
                       "content fetcher is available yet",
                       sha256_hex);
        return WARD_ENOTSUP;
    }
    return ctx->hooks->fetch(ctx->hooks->ctx, sha256_hex, data, len);
}

int enf_est(struct enf_ctx *ctx, const char *profile, const char *op, const char *body, size_t len,
            char **answer, size_t *alen)
{
    char why[300] = "";
    int rc;
    *answer = NULL;
    *alen = 0;
    if (!ctx->hooks || !ctx->hooks->est) {
        enf_ctx_detail(ctx, "certificate enrollment needs the agent's session with the service "
                            "(no EST client in this run)");
        return WARD_ENOTSUP;
    }
    rc = ctx->hooks->est(ctx->hooks->ctx, profile, op, body, len, answer, alen, why, sizeof(why));
    if (rc != 0)
        enf_ctx_detail(ctx, "EST %s of profile %s: %s", op, profile,
                       why[0] ? why : ward_strerror(rc));
    return rc;
}

void enf_ctx_recheck_at(struct enf_ctx *ctx, int64_t at)
{
    if (ctx->cur && at > 0 && (!ctx->cur->recheck_at || at < ctx->cur->recheck_at))
        ctx->cur->recheck_at = at;
}

/* ---- check output ---------------------------------------------------------------------------- */

static void check_set(struct ward_buf *b, const char *fmt, va_list ap) WARD_PRINTF(2, 0);
static void check_set(struct ward_buf *b, const char *fmt, va_list ap)
{
    char tmp[CHECK_TEXT_MAX];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    ward_buf_reset(b);
    ward_buf_append_str(b, tmp);
}

void enf_check_expected(struct enf_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    check_set(&c->expected, fmt, ap);
    va_end(ap);
}

void enf_check_actual(struct enf_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    check_set(&c->actual, fmt, ap);
    va_end(ap);
}

/* ---- runs ------------------------------------------------------------------------------------ */

static enum enf_result err_result(int err)
{
    return (err == WARD_EPATH || err == WARD_ELOOP) ? ENF_DENIED : ENF_FAILED;
}

/* Text for an error a slot returned: the kind's detail if it gave one. */
static const char *err_text(struct enf_ctx *ctx, int rc)
{
    return ctx->detail[0] ? ctx->detail : ward_strerror(rc);
}

static void set_str(char **dst, const char *fmt, ...) WARD_PRINTF(2, 3);
static void set_str(char **dst, const char *fmt, ...)
{
    struct ward_buf b;
    va_list ap;
    char tmp[1024];
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    ward_buf_init(&b, sizeof(tmp));
    ward_free(*dst);
    *dst = ward_buf_append_str(&b, tmp) == 0 ? ward_buf_steal(&b, NULL) : NULL;
    ward_buf_release(&b);
}

/* ---- secrets stay out of reports and logs ----------------------------------------------- */

/* Replaces every occurrence of value in *text by its hash. */
static void scrub_one(char **text, const char *value, size_t len)
{
    char h[ENF_SECRET_HASH_SIZE];
    struct ward_buf b;
    const char *p, *hit;
    if (!*text || len == 0 || !strstr(*text, value))
        return;
    enf_secret_hash(value, len, h);
    ward_buf_init(&b, 2 * CHECK_TEXT_MAX);
    for (p = *text; (hit = strstr(p, value)) != NULL; p = hit + len) {
        ward_buf_append(&b, p, (size_t)(hit - p));
        ward_buf_append_str(&b, h);
    }
    ward_buf_append_str(&b, p);
    ward_free(*text);
    /* out of memory: drop the text rather than show the secret */
    *text = b.data ? ward_buf_steal(&b, NULL) : NULL;
    ward_buf_release(&b);
}

static void scrub_visit(const char *value, size_t len, void *ctx)
{
    struct enf_outcome *o = ctx;
    scrub_one(&o->expected, value, len);
    scrub_one(&o->actual, value, len);
    scrub_one(&o->error, value, len);
}

/* Kinds never put a secret in their texts; this holds even when an OS message or a
 * kind's detail quotes one (the texts go to reports, the service and logs). */
static void scrub_outcome(struct enf_outcome *o)
{
    if (o->setting && o->setting->kind)
        enf_setting_secrets(o->setting, scrub_visit, o);
}

struct snap_probe {
    const char *text;
    int found;
};

static void snap_visit(const char *value, size_t len, void *ctx)
{
    struct snap_probe *p = ctx;
    if (len > 0 && strstr(p->text, value))
        p->found = 1;
}

/* 1 when the snapshot JSON holds a secret of s verbatim (a kind bug: refused, since
 * snapshots are journaled). */
static int snap_has_secret(const struct enf_setting *s, const json_t *snap)
{
    struct snap_probe p = {0};
    char *text = NULL;
    if (ward_json_dumps(snap, 0, &text, NULL) != 0)
        return 1;
    p.text = text;
    enf_setting_secrets(s, snap_visit, &p);
    ward_free(text);
    return p.found;
}

static int run_check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_outcome *o,
                     int *compliant)
{
    struct enf_check chk;
    int rc;
    ward_buf_init(&chk.expected, CHECK_TEXT_MAX);
    ward_buf_init(&chk.actual, CHECK_TEXT_MAX);
    chk.compliant = 0;
    ctx->detail[0] = '\0';
    ctx->cur = o;
    rc = s->kind->check(ctx, s, &chk);
    ctx->cur = NULL;
    if (chk.expected.len) {
        ward_free(o->expected);
        o->expected = ward_buf_steal(&chk.expected, NULL);
    }
    if (chk.actual.len) {
        ward_free(o->actual);
        o->actual = ward_buf_steal(&chk.actual, NULL);
    }
    ward_buf_release(&chk.expected);
    ward_buf_release(&chk.actual);
    *compliant = chk.compliant;
    return rc;
}

static void fail(struct enf_outcome *o, int rc)
{
    o->err = rc;
    o->result = err_result(rc);
}

/* Restores s from snap within a run; appends to the outcome's error on failure. */
static int run_restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap,
                       struct enf_outcome *o)
{
    int rc;
    ctx->detail[0] = '\0';
    rc = s->kind->restore(ctx, s, snap);
    if (rc != 0) {
        char *prev = o->error;
        o->error = NULL;
        set_str(&o->error, "%s; restoring the prior state failed too: %s", prev ? prev : "failed",
                err_text(ctx, rc));
        ward_free(prev);
        WARD_LOG_ERR(rc, "setting %s: cannot restore its prior state", s->id);
    }
    return rc;
}

static struct enf_report *report_new(const char *baseline_id, size_t n)
{
    struct enf_report *r = ward_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->baseline_id = ward_strdup(baseline_id ? baseline_id : "");
    r->items = n ? ward_calloc(n, sizeof(*r->items)) : NULL;
    if (!r->baseline_id || (n && !r->items)) {
        enf_report_free(r);
        return NULL;
    }
    return r;
}

void enf_report_free(struct enf_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        ward_free(r->items[i].expected);
        ward_free(r->items[i].actual);
        ward_free(r->items[i].error);
    }
    ward_free(r->items);
    ward_free(r->baseline_id);
    ward_free(r->owned_settings);
    json_decref(r->owned);
    ward_free(r);
}

static void report_count(struct enf_report *r)
{
    memset(r->counts, 0, sizeof(r->counts));
    r->n_errors = 0;
    for (size_t i = 0; i < r->n; i++) {
        r->counts[r->items[i].result]++;
        if (r->items[i].err != 0)
            r->n_errors++;
    }
}

static int journal_snapshots(const struct enf_baseline *b, struct ward_store *st,
                             struct enf_outcome *items, json_t **snaps, uint8_t *pending,
                             uint8_t *jnew, size_t n)
{
    int rc = ward_store_begin(st);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        int inserted = 0;
        if (!pending[k])
            continue;
        rc = enf_journal_put(st, b->id, items[k].setting, snaps[k], &inserted);
        jnew[k] = (uint8_t)inserted;
    }
    if (rc == 0)
        rc = ward_store_commit(st);
    if (rc != 0) {
        ward_store_rollback(st);
        memset(jnew, 0, n);
    }
    return rc;
}

int enf_run(const struct enf_baseline *b, const struct enf_run_opts *opts, struct enf_report **out)
{
    struct enf_ctx *ctx = NULL;
    struct enf_report *r = NULL;
    json_t **snaps = NULL;
    uint8_t *pending = NULL, *jnew = NULL;
    size_t *idx = NULL, n = 0, failed_at = (size_t)-1;
    int apply, rc = 0;

    *out = NULL;
    if (!b || !opts)
        return WARD_EINVAL;
    apply = (opts->flags & ENF_RUN_APPLY) != 0;
    for (size_t i = 0; i < b->n_settings; i++)
        if (!opts->select || opts->select[i])
            n++;
    ctx = enf_ctx_new(opts->root, opts->hooks);
    r = report_new(b->id, n);
    if (n) {
        snaps = ward_calloc(n, sizeof(*snaps));
        pending = ward_calloc(n, 1);
        jnew = ward_calloc(n, 1);
        idx = ward_calloc(n, sizeof(*idx));
    }
    if (!ctx || !r || (n && (!snaps || !pending || !jnew || !idx))) {
        rc = WARD_ENOMEM;
        goto out;
    }
    r->n = n;

    /* 1. check everything; snapshot what enforce mode will repair */
    for (size_t i = 0, k = 0; i < b->n_settings; i++) {
        const struct enf_setting *s = &b->settings[i];
        struct enf_outcome *o;
        int compliant = 0, crc;
        if (opts->select && !opts->select[i])
            continue;
        idx[k] = i;
        o = &r->items[k++];
        o->setting = s;
        crc = run_check(ctx, s, o, &compliant);
        if (crc == WARD_ENOMEM) {
            rc = crc;
            goto out;
        }
        if (crc != 0) {
            fail(o, crc);
            set_str(&o->error, "cannot check: %s", err_text(ctx, crc));
            continue;
        }
        if (compliant) {
            o->result = ENF_KEPT;
            continue;
        }
        o->result = ENF_FAILED;
        if (opts->hold && opts->hold[i]) {
            o->flapping = 1;
            set_str(&o->error, "flapping: drifted back too often within the hour; left alone");
            continue;
        }
        if (!apply || s->mode == ENF_MODE_AUDIT) {
            set_str(&o->error, "not compliant (audit)");
            continue;
        }
        ctx->detail[0] = '\0';
        crc = s->kind->snapshot(ctx, s, &snaps[k - 1]);
        if (crc == 0 && snap_has_secret(s, snaps[k - 1])) {
            json_decref(snaps[k - 1]);
            snaps[k - 1] = NULL;
            crc = WARD_EINVAL;
            enf_ctx_detail(ctx, "the snapshot would hold a secret value; refused");
        }
        if (crc != 0) {
            fail(o, crc);
            set_str(&o->error, "cannot snapshot the prior state: %s", err_text(ctx, crc));
            continue;
        }
        pending[k - 1] = 1;
    }

    /* 2. journal the prior states in one transaction before anything changes */
    if (opts->journal) {
        int any = 0;
        for (size_t k = 0; k < n; k++)
            any |= pending[k];
        if (any) {
            int jrc = journal_snapshots(b, opts->journal, r->items, snaps, pending, jnew, n);
            if (jrc != 0) {
                WARD_LOG_ERR(jrc, "baseline %s: cannot journal prior states; nothing applied",
                             b->id);
                for (size_t k = 0; k < n; k++) {
                    if (!pending[k])
                        continue;
                    pending[k] = 0;
                    fail(&r->items[k], jrc);
                    set_str(&r->items[k].error, "not applied: cannot journal the prior state: %s",
                            ward_strerror(jrc));
                }
            }
        }
    }

    /* 3. apply, check again, restore on failure */
    for (size_t k = 0; k < n; k++) {
        struct enf_outcome *o = &r->items[k];
        const struct enf_setting *s = o->setting;
        int compliant = 0, arc;
        if (!pending[k])
            continue;
        if (failed_at != (size_t)-1) {
            o->result = ENF_SKIPPED;
            pending[k] = 0;
            set_str(&o->error, "not attempted: atomic baseline, setting %s failed",
                    r->items[failed_at].setting->id);
            continue;
        }
        ctx->detail[0] = '\0';
        ctx->cur = o;
        arc = s->kind->apply(ctx, s);
        ctx->cur = NULL;
        if (arc != 0) {
            fail(o, arc);
            set_str(&o->error, "apply failed: %s; prior state restored", err_text(ctx, arc));
        } else {
            arc = run_check(ctx, s, o, &compliant);
            if (arc != 0) {
                fail(o, arc);
                set_str(&o->error, "check after apply failed: %s; prior state restored",
                        err_text(ctx, arc));
            } else if (!compliant) {
                arc = WARD_EIO;
                o->err = arc;
                o->result = ENF_FAILED;
                set_str(&o->error, "still not compliant after apply; prior state restored");
            }
        }
        if (arc == 0) {
            o->result = ENF_REPAIRED;
            continue;
        }
        scrub_outcome(o);
        WARD_LOG_WARN_ERR(arc, "setting %s: %s", s->id, o->error ? o->error : "failed");
        run_restore(ctx, s, snaps[k], o);
        pending[k] = 0;
        if (b->atomic)
            failed_at = k;
    }

    /* 4. atomic: undo every repair of this run, latest first */
    if (failed_at != (size_t)-1) {
        r->rolled_back = 1;
        for (size_t k = n; k-- > 0;) {
            struct enf_outcome *o = &r->items[k];
            if (o->result != ENF_REPAIRED)
                continue;
            o->result = ENF_FAILED;
            o->err = WARD_ECANCELED;
            set_str(&o->error, "rolled back: atomic baseline, setting %s failed",
                    r->items[failed_at].setting->id);
            run_restore(ctx, o->setting, snaps[k], o);
            pending[k] = 0;
        }
    }

    /* 5. rows journaled by this run for settings it did not change are not prior states */
    if (opts->journal) {
        for (size_t k = 0; k < n; k++)
            if (jnew[k] && !pending[k])
                enf_journal_forget(opts->journal, b->id, r->items[k].setting->id);
    }
    for (size_t k = 0; k < n; k++)
        scrub_outcome(&r->items[k]);
    report_count(r);
    *out = r;
    r = NULL;
out:
    for (size_t k = 0; snaps && k < n; k++)
        json_decref(snaps[k]);
    ward_free(snaps);
    ward_free(pending);
    ward_free(jnew);
    ward_free(idx);
    enf_report_free(r);
    enf_ctx_free(ctx);
    return rc;
}

/* ---- removal ------------------------------------------------------------------------------- */

struct journal_row {
    char *setting_id;
    json_t *setting;
    json_t *snapshot;
    int restore;
};

int enf_baseline_remove(const char *baseline_id, const struct enf_run_opts *opts,
                        struct enf_report **out)
{
    sqlite3_stmt *st = NULL;
    struct journal_row *rows = NULL;
    size_t n = 0, cap = 0;
    struct enf_report *r = NULL;
    struct enf_ctx *ctx = NULL;
    int rc;

    *out = NULL;
    if (!baseline_id || !opts || !opts->journal)
        return WARD_EINVAL;
    rc = ward_store_prepare(opts->journal,
                            "SELECT setting_id, setting, snapshot, restore_on_removal FROM "
                            "enf_journal WHERE baseline_id = ? ORDER BY id DESC",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, baseline_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(opts->journal, st)) == WARD_STORE_ROW) {
        const char *sid = (const char *)sqlite3_column_text(st, 0);
        const char *sj = (const char *)sqlite3_column_text(st, 1);
        const char *pj = (const char *)sqlite3_column_text(st, 2);
        struct journal_row *row;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct journal_row *nr = ward_realloc(rows, ncap * sizeof(*nr));
            if (!nr) {
                rc = WARD_ENOMEM;
                goto out;
            }
            rows = nr;
            cap = ncap;
        }
        row = &rows[n++];
        memset(row, 0, sizeof(*row));
        row->setting_id = ward_strdup(sid ? sid : "");
        row->restore = sqlite3_column_int(st, 3);
        if (!row->setting_id) {
            rc = WARD_ENOMEM;
            goto out;
        }
        /* unreadable rows stay NULL and are reported FAILED */
        if (sj)
            ward_json_loadb(sj, strlen(sj), NULL, &row->setting, NULL);
        if (pj)
            ward_json_loadb(pj, strlen(pj), NULL, &row->snapshot, NULL);
    }
    if (rc != 0)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (n == 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    r = report_new(baseline_id, n);
    ctx = enf_ctx_new(opts->root, opts->hooks);
    if (r) {
        r->owned = json_array();
        r->owned_settings = ward_calloc(n, sizeof(*r->owned_settings));
    }
    if (!r || !ctx || !r->owned || !r->owned_settings) {
        rc = WARD_ENOMEM;
        goto out;
    }
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        struct enf_outcome *o = &r->items[i];
        struct enf_setting *s = &r->owned_settings[i];
        struct enf_diags d = {.redacted = 1};
        int rrc;
        if (rows[i].setting)
            json_array_append(r->owned, rows[i].setting);
        if (!rows[i].setting || !rows[i].snapshot ||
            enf_validate_setting(rows[i].setting, "$", ENF_MODE_ENFORCE, &d, s) != 0) {
            /* a placeholder setting so the report can name it */
            json_t *idj = json_string(rows[i].setting_id);
            if (!idj || json_array_append_new(r->owned, idj) != 0) {
                rc = WARD_ENOMEM;
                goto out;
            }
            s->id = json_string_value(idj);
            s->kind = NULL;
            o->setting = s;
            fail(o, WARD_ECORRUPT);
            set_str(&o->error, "journal entry unreadable or of a kind this build lacks");
            continue;
        }
        o->setting = s;
        if (!rows[i].restore && !((opts->flags & ENF_RUN_RETIRE) && s->kind->retire_restores)) {
            o->result = ENF_SKIPPED;
            set_str(&o->error, "restore_on_removal not set: left as it is");
            continue;
        }
        ctx->detail[0] = '\0';
        rrc = s->kind->restore(ctx, s, rows[i].snapshot);
        if (rrc != 0) {
            fail(o, rrc);
            set_str(&o->error, "cannot restore the prior state: %s", err_text(ctx, rrc));
            continue;
        }
        o->result = ENF_REPAIRED;
        set_str(&o->actual, "prior state restored");
    }
    /* forget what was handled; failed restores keep their rows for a retry */
    for (size_t i = 0; i < n; i++)
        if (r->items[i].result != ENF_FAILED && r->items[i].result != ENF_DENIED)
            enf_journal_forget(opts->journal, baseline_id, rows[i].setting_id);
    report_count(r);
    *out = r;
    r = NULL;
    rc = 0;
out:
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        /* the report references setting ids through its own copies of the JSON */
        json_decref(rows[i].setting);
        json_decref(rows[i].snapshot);
    }
    for (size_t i = 0; i < n; i++)
        ward_free(rows[i].setting_id);
    ward_free(rows);
    enf_report_free(r);
    enf_ctx_free(ctx);
    return rc;
}

/* ---- report output -----------------------------------------------------------------------------
 */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int enf_report_json(const struct enf_report *r, json_t **out)
{
    json_t *j = NULL, *arr = NULL, *sum = NULL;
    *out = NULL;
    j = json_object();
    arr = json_array();
    sum = json_object();
    if (!j || !arr || !sum)
        goto oom;
    for (size_t i = 0; i < r->n; i++) {
        const struct enf_outcome *o = &r->items[i];
        json_t *e = json_object();
        if (!e || json_array_append_new(arr, e) != 0)
            goto oom;
        if (json_object_set_new(e, "id", json_string(o->setting->id)) != 0 ||
            json_object_set_new(
                e, "kind", str_or_null(o->setting->kind ? o->setting->kind->name : NULL)) != 0 ||
            json_object_set_new(e, "result", json_string(enf_result_name(o->result))) != 0 ||
            json_object_set_new(e, "expected", str_or_null(o->expected)) != 0 ||
            json_object_set_new(e, "actual", str_or_null(o->actual)) != 0 ||
            json_object_set_new(e, "error", str_or_null(o->error)) != 0)
            goto oom;
        if (o->flapping && json_object_set_new(e, "flapping", json_true()) != 0)
            goto oom;
    }
    for (int k = 0; k < ENF_RESULT_COUNT; k++)
        if (json_object_set_new(sum, enf_result_name((enum enf_result)k),
                                json_integer((json_int_t)r->counts[k])) != 0)
            goto oom;
    if (json_object_set_new(j, "baseline", json_string(r->baseline_id)) != 0)
        goto oom;
    if (json_object_set_new(j, "results", arr) != 0) {
        arr = NULL;
        goto oom;
    }
    arr = NULL;
    if (json_object_set_new(j, "summary", sum) != 0) {
        sum = NULL;
        goto oom;
    }
    sum = NULL;
    if (r->rolled_back && json_object_set_new(j, "rolled_back", json_true()) != 0)
        goto oom;
    *out = j;
    return 0;
oom:
    json_decref(arr);
    json_decref(sum);
    json_decref(j);
    return WARD_ENOMEM;
}

int enf_report_table(const struct enf_report *r, struct ward_buf *out)
{
    int rc = ward_buf_appendf(out, "%-9s %-14s %-32s %s\n", "RESULT", "KIND", "SETTING", "DETAIL");
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        const struct enf_outcome *o = &r->items[i];
        const char *kind = o->setting->kind ? o->setting->kind->name : "?";
        rc = ward_buf_appendf(out, "%-9s %-14s %-32s ", enf_result_name(o->result), kind,
                              o->setting->id);
        if (rc == 0 && o->result == ENF_KEPT)
            rc = ward_buf_appendf(out, "%s", o->actual ? o->actual : "");
        else if (rc == 0 && o->result == ENF_REPAIRED)
            rc = ward_buf_appendf(out, "now %s", o->actual ? o->actual : "compliant");
        else if (rc == 0)
            rc = ward_buf_appendf(out, "%s%s%s%s%s%s", o->expected ? "expected " : "",
                                  o->expected ? o->expected : "", o->actual ? ", found " : "",
                                  o->actual ? o->actual : "", o->error ? " -- " : "",
                                  o->error ? o->error : "");
        if (rc == 0)
            rc = ward_buf_append(out, "\n", 1);
    }
    if (rc == 0)
        rc = ward_buf_appendf(out,
                              "\n%zu settings: %zu KEPT, %zu REPAIRED, %zu FAILED, %zu DENIED, "
                              "%zu SKIPPED%s\n",
                              r->n, r->counts[ENF_KEPT], r->counts[ENF_REPAIRED],
                              r->counts[ENF_FAILED], r->counts[ENF_DENIED], r->counts[ENF_SKIPPED],
                              r->rolled_back ? " (atomic: rolled back)" : "");
    return rc;
}
