/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The drift watcher: keeps a baseline applied on a uv loop. Each run happens on the thread
 * pool (uv_queue_work), never on the loop thread. Files managed by file-based settings are
 * watched through uv_fs_event on their parent directories (a rename-over shows up there,
 * where a watch on the file itself would be lost with the old inode); events are debounced
 * and only the settings whose files changed run again. A periodic full run covers the rest
 * (runtime values, missing directories). Settings repaired too often in the flap window are
 * held: checked and reported as flapping, not fought over. A setting that asked to be
 * checked again at a time (enf_outcome.recheck_at: a certificate's renewal point) runs then,
 * and a repair on such a run is not counted as drift.
 */
#define WARD_LOG_TAG "enf-drift"

#include <string.h>

#include "internal.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/time.h"

#define MAX_WATCH_PATHS 8

struct watch_entry {
    size_t setting;
    const char *base; /* basename of the managed file (borrowed from the baseline) */
};

struct watch_dir {
    struct enf_drift *d;
    char *dir;  /* root-relative directory */
    char *host; /* resolved host path once watched */
    uv_fs_event_t ev;
    int inited, started;
    struct watch_entry *entries;
    size_t n;
};

struct enf_drift {
    uv_loop_t *loop;
    const struct enf_baseline *b;
    struct enf_drift_opts o;
    char *root;
    uv_timer_t period, debounce, recheck;
    uv_work_t work;
    int busy, closing, handles_open;
    uint8_t *dirty, *select, *hold;
    int64_t *due;    /* per setting: unix time it asked to run again at, 0 for none */
    uint8_t *by_due; /* per setting: marked dirty by its due time, not by a change */
    int dirty_any, dirty_all;
    uint64_t *repairs; /* n_settings * flap_limit repair times (uv_now + 1; 0 = empty) */
    struct watch_dir *dirs;
    size_t n_dirs;
    const char *why;
    int use_select;
    struct enf_report *report;
    int run_rc;
    enf_drift_stop_fn stop_cb;
    void *stop_ctx;
};

static void start_run(struct enf_drift *d, const char *why);
static void on_recheck(uv_timer_t *t);

static void on_debounce(uv_timer_t *t)
{
    start_run(t->data, "change");
}

static void drift_free(struct enf_drift *d)
{
    for (size_t i = 0; i < d->n_dirs; i++) {
        ward_free(d->dirs[i].dir);
        ward_free(d->dirs[i].host);
        ward_free(d->dirs[i].entries);
    }
    ward_free(d->dirs);
    ward_free(d->dirty);
    ward_free(d->select);
    ward_free(d->hold);
    ward_free(d->due);
    ward_free(d->by_due);
    ward_free(d->repairs);
    ward_free(d->root);
    ward_free(d);
}

static void maybe_finish(struct enf_drift *d)
{
    enf_drift_stop_fn cb;
    void *ctx;
    if (!d->closing || d->busy || d->handles_open > 0)
        return;
    cb = d->stop_cb;
    ctx = d->stop_ctx;
    drift_free(d);
    if (cb)
        cb(ctx);
}

static void on_closed(uv_handle_t *h)
{
    struct enf_drift *d = h->data;
    d->handles_open--;
    maybe_finish(d);
}

/* ---- watches ------------------------------------------------------------------------------- */

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct watch_dir *w = h->data;
    struct enf_drift *d = w->d;
    int hit = 0;
    (void)events;
    if (d->closing)
        return;
    if (status < 0) {
        WARD_DEBUG("watch on %s failed (%s); the periodic run covers it", w->dir,
                   uv_strerror(status));
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (filename && strcmp(filename, w->entries[i].base) != 0)
            continue;
        d->dirty[w->entries[i].setting] = 1;
        hit = 1;
    }
    if (!hit)
        return; /* our own temp files, unrelated files */
    d->dirty_any = 1;
    if (!uv_is_active((uv_handle_t *)&d->debounce))
        uv_timer_start(&d->debounce, on_debounce, d->o.debounce_ms, 0);
}

/* Starts the watches that are not running yet (their directory may appear later). */
static void ensure_watches(struct enf_drift *d)
{
    for (size_t i = 0; i < d->n_dirs; i++) {
        struct watch_dir *w = &d->dirs[i];
        int rc;
        if (w->started)
            continue;
        if (!w->host && plat_fs_resolve(d->root, w->dir, PLAT_FS_NTS, &w->host) != 0)
            continue;
        if (!w->inited) {
            if (uv_fs_event_init(d->loop, &w->ev) != 0)
                continue;
            w->ev.data = w;
            w->inited = 1;
            d->handles_open++;
        }
        rc = uv_fs_event_start(&w->ev, on_fs_event, w->host, 0);
        if (rc == 0)
            w->started = 1;
        else
            WARD_DEBUG("cannot watch %s: %s", w->host, uv_strerror(rc));
    }
}

static int add_watch(struct enf_drift *d, size_t setting, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    struct watch_dir *w = NULL;
    struct watch_entry *ne;
    if (!slash || slash[1] == '\0')
        return 0;
    for (size_t i = 0; i < d->n_dirs; i++)
        if (strlen(d->dirs[i].dir) == (dlen ? dlen : 1) &&
            memcmp(d->dirs[i].dir, dlen ? path : "/", dlen ? dlen : 1) == 0)
            w = &d->dirs[i];
    if (!w) {
        struct watch_dir *nd = ward_realloc(d->dirs, (d->n_dirs + 1) * sizeof(*nd));
        if (!nd)
            return WARD_ENOMEM;
        d->dirs = nd;
        w = &d->dirs[d->n_dirs];
        memset(w, 0, sizeof(*w));
        w->d = d;
        w->dir = dlen ? ward_strndup(path, dlen) : ward_strdup("/");
        if (!w->dir)
            return WARD_ENOMEM;
        d->n_dirs++;
    }
    ne = ward_realloc(w->entries, (w->n + 1) * sizeof(*ne));
    if (!ne)
        return WARD_ENOMEM;
    w->entries = ne;
    w->entries[w->n].setting = setting;
    w->entries[w->n].base = slash + 1;
    w->n++;
    return 0;
}

/* ---- runs ----------------------------------------------------------------------------------- */

static size_t repairs_in_window(struct enf_drift *d, size_t i, uint64_t now)
{
    size_t n = 0;
    for (unsigned k = 0; k < d->o.flap_limit; k++) {
        uint64_t t = d->repairs[i * d->o.flap_limit + k];
        if (t && now + 1 - t < d->o.flap_window_ms)
            n++;
    }
    return n;
}

static void record_repair(struct enf_drift *d, size_t i, uint64_t now)
{
    uint64_t *r = &d->repairs[i * d->o.flap_limit];
    unsigned oldest = 0;
    for (unsigned k = 1; k < d->o.flap_limit; k++)
        if (r[k] < r[oldest])
            oldest = k;
    r[oldest] = now + 1;
}

static void work_cb(uv_work_t *req)
{
    struct enf_drift *d = req->data;
    struct enf_run_opts o = d->o.run;
    o.select = d->use_select ? d->select : NULL;
    o.hold = d->hold;
    d->run_rc = enf_run(d->b, &o, &d->report);
}

/* The recheck timer for the earliest due time (at most a day ahead: it is re-armed then). */
static void arm_recheck(struct enf_drift *d)
{
    int64_t first = 0, now = ward_time_now();
    uint64_t ms;
    for (size_t i = 0; i < d->b->n_settings; i++)
        if (d->due[i] && (!first || d->due[i] < first))
            first = d->due[i];
    if (!first) {
        uv_timer_stop(&d->recheck);
        return;
    }
    ms = first <= now ? 0 : (uint64_t)(first - now) * 1000u;
    if (ms > 86400000u)
        ms = 86400000u;
    uv_timer_start(&d->recheck, on_recheck, ms, 0);
}

static void on_recheck(uv_timer_t *t)
{
    struct enf_drift *d = t->data;
    int64_t now = ward_time_now();
    for (size_t i = 0; i < d->b->n_settings; i++)
        if (d->due[i] && d->due[i] <= now) {
            d->due[i] = 0;
            d->dirty[i] = 1;
            d->by_due[i] = 1;
            d->dirty_any = 1;
        }
    arm_recheck(d);
    start_run(d, "recheck");
}

static void after_work_cb(uv_work_t *req, int status)
{
    struct enf_drift *d = req->data;
    uint64_t now = uv_now(d->loop);
    d->busy = 0;
    if (status == 0 && d->run_rc == 0 && d->report) {
        for (size_t k = 0; k < d->report->n; k++) {
            const struct enf_outcome *o = &d->report->items[k];
            size_t i = o->setting->index;
            if (o->result == ENF_REPAIRED && !(d->use_select && d->by_due[i]))
                record_repair(d, i, now);
            d->due[i] = o->recheck_at;
            d->by_due[i] = 0;
        }
        if (!d->closing)
            arm_recheck(d);
        if (!d->closing && d->o.on_report)
            d->o.on_report(d, d->report, d->why, d->o.ctx);
    } else if (d->run_rc != 0) {
        WARD_LOG_ERR(d->run_rc, "baseline %s: drift run failed", d->b->id);
    }
    enf_report_free(d->report);
    d->report = NULL;
    if (d->closing) {
        maybe_finish(d);
        return;
    }
    ensure_watches(d);
    if (d->dirty_all)
        start_run(d, "period");
    else if (d->dirty_any && !uv_is_active((uv_handle_t *)&d->debounce))
        uv_timer_start(&d->debounce, on_debounce, d->o.debounce_ms, 0);
}

static void start_run(struct enf_drift *d, const char *why)
{
    uint64_t now = uv_now(d->loop);
    size_t n = d->b->n_settings;
    if (d->busy || d->closing || (!d->dirty_all && !d->dirty_any))
        return;
    d->use_select = !d->dirty_all;
    if (d->use_select)
        memcpy(d->select, d->dirty, n);
    memset(d->dirty, 0, n);
    d->dirty_all = d->dirty_any = 0;
    for (size_t i = 0; i < n; i++)
        d->hold[i] = repairs_in_window(d, i, now) >= d->o.flap_limit;
    d->why = why;
    d->work.data = d;
    if (uv_queue_work(d->loop, &d->work, work_cb, after_work_cb) == 0)
        d->busy = 1;
}

static void on_period(uv_timer_t *t)
{
    struct enf_drift *d = t->data;
    d->dirty_all = 1;
    start_run(d, "period");
}

/* ---- API ----------------------------------------------------------------------------------- */

int enf_drift_start(uv_loop_t *loop, const struct enf_baseline *b,
                    const struct enf_drift_opts *opts, struct enf_drift **out)
{
    struct enf_drift *d;
    size_t n;
    int rc = WARD_ENOMEM;

    *out = NULL;
    if (!loop || !b || !opts)
        return WARD_EINVAL;
    n = b->n_settings;
    d = ward_calloc(1, sizeof(*d));
    if (!d)
        return WARD_ENOMEM;
    d->loop = loop;
    d->b = b;
    d->o = *opts;
    if (!d->o.interval_ms)
        d->o.interval_ms = ENF_DRIFT_DEFAULT_INTERVAL_MS;
    if (!d->o.debounce_ms)
        d->o.debounce_ms = ENF_DRIFT_DEFAULT_DEBOUNCE_MS;
    if (!d->o.flap_limit)
        d->o.flap_limit = ENF_DRIFT_DEFAULT_FLAP_LIMIT;
    if (!d->o.flap_window_ms)
        d->o.flap_window_ms = ENF_DRIFT_DEFAULT_FLAP_WINDOW_MS;
    d->root = ward_strdup(opts->run.root ? opts->run.root : "/");
    d->o.run.root = d->root;
    d->dirty = ward_calloc(n ? n : 1, 1);
    d->select = ward_calloc(n ? n : 1, 1);
    d->hold = ward_calloc(n ? n : 1, 1);
    d->due = ward_calloc(n ? n : 1, sizeof(*d->due));
    d->by_due = ward_calloc(n ? n : 1, 1);
    d->repairs = ward_calloc((n ? n : 1) * d->o.flap_limit, sizeof(*d->repairs));
    if (!d->root || !d->dirty || !d->select || !d->hold || !d->repairs || !d->due || !d->by_due)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const struct enf_setting *s = &b->settings[i];
        const char *paths[MAX_WATCH_PATHS];
        size_t np;
        if (!s->kind->watch)
            continue;
        np = s->kind->watch(s, paths, MAX_WATCH_PATHS);
        for (size_t k = 0; k < np && k < MAX_WATCH_PATHS; k++) {
            rc = add_watch(d, i, paths[k]);
            if (rc != 0)
                goto fail;
        }
    }
    /* nothing below fails: handles exist from here on */
    uv_timer_init(loop, &d->period);
    uv_timer_init(loop, &d->debounce);
    uv_timer_init(loop, &d->recheck);
    d->period.data = d;
    d->debounce.data = d;
    d->recheck.data = d;
    d->handles_open = 3;
    ensure_watches(d);
    uv_timer_start(&d->period, on_period, d->o.interval_ms, d->o.interval_ms);
    d->dirty_all = 1;
    start_run(d, "start");
    *out = d;
    return 0;
fail:
    drift_free(d);
    return rc;
}

int enf_drift_trigger(struct enf_drift *d)
{
    if (!d || d->closing)
        return WARD_ESTATE;
    d->dirty_all = 1;
    start_run(d, "change");
    return 0;
}

void enf_drift_stop(struct enf_drift *d, enf_drift_stop_fn cb, void *ctx)
{
    if (!d || d->closing)
        return;
    d->closing = 1;
    d->stop_cb = cb;
    d->stop_ctx = ctx;
    uv_close((uv_handle_t *)&d->period, on_closed);
    uv_close((uv_handle_t *)&d->debounce, on_closed);
    uv_close((uv_handle_t *)&d->recheck, on_closed);
    for (size_t i = 0; i < d->n_dirs; i++) {
        if (!d->dirs[i].inited)
            continue;
        d->dirs[i].ev.data = d; /* on_closed wants the watcher */
        uv_close((uv_handle_t *)&d->dirs[i].ev, on_closed);
    }
}
