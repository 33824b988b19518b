/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The drift watcher on a real uv loop with real files: a change to a managed file is seen
 * through uv_fs_event and repaired within a second; audit mode reports without writing; a
 * setting that keeps drifting back is held as flapping; stopping while a run is in flight
 * frees everything in the close path and calls the stop callback once.
 */
#include "enf_test.h"

#include <string.h>
#include <uv.h>

#include "platform/fs.h"

struct seen {
    int reports, changes, stopped;
    const char *want_why;
    enum enf_result last;
    int last_flapping;
    char last_error[256];
    uint64_t t_report;
    uv_loop_t *loop;
};

static void on_report(struct enf_drift *d, const struct enf_report *r, const char *why, void *ctx)
{
    struct seen *s = ctx;
    (void)d;
    s->reports++;
    if (strcmp(why, "change") == 0)
        s->changes++;
    if (r->n > 0) {
        s->last = r->items[0].result;
        s->last_flapping = r->items[0].flapping;
        snprintf(s->last_error, sizeof(s->last_error), "%s",
                 r->items[0].error ? r->items[0].error : "");
    }
    s->t_report = uv_now(s->loop);
    uv_stop(s->loop);
}

static void on_stopped(void *ctx)
{
    ((struct seen *)ctx)->stopped++;
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    wt_fail(__FILE__, __LINE__, "timed out waiting for the watcher");
}

/* Runs the loop until the next report (or fails after ms). */
static void wait_report(uv_loop_t *loop, uv_timer_t *deadline, uint64_t ms)
{
    uv_timer_start(deadline, on_deadline, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_timer_stop(deadline);
}

static void finish(uv_loop_t *loop, uv_timer_t *deadline, struct enf_drift *d, struct seen *s)
{
    enf_drift_stop(d, on_stopped, s);
    uv_close((uv_handle_t *)deadline, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    WT_EQ_INT(s->stopped, 1);
    WT_EQ_INT(uv_loop_close(loop), 0);
}

static const char *const DOC =
    "{\"id\": \"d\", \"version\": 1, \"mode\": \"%s\", \"settings\": ["
    "{\"id\": \"root\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", \"key\": "
    "\"PermitRootLogin\", \"value\": \"no\"}]}";

static struct enf_drift *start(uv_loop_t *loop, struct enf_baseline *b, struct seen *s,
                               unsigned flap_limit)
{
    struct enf_drift_opts o = {.run = {.root = et_root(), .flags = ENF_RUN_APPLY},
                               .on_report = on_report,
                               .ctx = s,
                               .flap_limit = flap_limit};
    struct enf_drift *d = NULL;
    s->loop = loop;
    WT_OK(enf_drift_start(loop, b, &o, &d));
    return d;
}

static void drift_file(const char *content)
{
    /* as an editor or package would: write a new file, rename it over */
    et_put("/etc/ssh/.sshd_config.new", content);
    WT_OK(rename(et_host("/etc/ssh/.sshd_config.new"), et_host("/etc/ssh/sshd_config")));
}

WT_TEST(drift_repaired_within_a_second)
{
    uv_loop_t loop;
    uv_timer_t deadline;
    struct seen s = {0};
    char doc[1024];
    struct enf_baseline *b;
    struct enf_drift *d;
    uint64_t t0;
    et_put("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
    snprintf(doc, sizeof(doc), DOC, "enforce");
    b = et_doc(doc);
    WT_OK(uv_loop_init(&loop));
    uv_timer_init(&loop, &deadline);
    d = start(&loop, b, &s, 0);
    wait_report(&loop, &deadline, 5000); /* the first run */
    WT_EQ_INT(s.last, ENF_REPAIRED);
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "PermitRootLogin no\n");

    /* our own write may produce an event: let it settle into a KEPT run if it does */
    uv_update_time(&loop);
    t0 = uv_now(&loop);
    drift_file("PermitRootLogin yes\n");
    wait_report(&loop, &deadline, 3000);
    WT_EQ_INT(s.changes, 1);
    WT_EQ_INT(s.last, ENF_REPAIRED);
    WT_ASSERT(s.t_report - t0 < 1000);
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "PermitRootLogin no\n");

    /* an unrelated file in the same directory does not trigger a run */
    et_put("/etc/ssh/ssh_config", "Host *\n");
    drift_file("PermitRootLogin yes\n");
    wait_report(&loop, &deadline, 3000);
    WT_EQ_INT(s.last, ENF_REPAIRED);
    finish(&loop, &deadline, d, &s);
    enf_baseline_free(b);
}

WT_TEST(drift_audit_reports_only)
{
    uv_loop_t loop;
    uv_timer_t deadline;
    struct seen s = {0};
    char doc[1024];
    struct enf_baseline *b;
    struct enf_drift *d;
    et_put("/etc/ssh/sshd_config", "PermitRootLogin no\n");
    snprintf(doc, sizeof(doc), DOC, "audit");
    b = et_doc(doc);
    WT_OK(uv_loop_init(&loop));
    uv_timer_init(&loop, &deadline);
    d = start(&loop, b, &s, 0);
    wait_report(&loop, &deadline, 5000);
    WT_EQ_INT(s.last, ENF_KEPT);
    drift_file("PermitRootLogin yes\n");
    wait_report(&loop, &deadline, 3000);
    WT_EQ_INT(s.last, ENF_FAILED);
    WT_EQ_STR(s.last_error, "not compliant (audit)");
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "PermitRootLogin yes\n");
    finish(&loop, &deadline, d, &s);
    enf_baseline_free(b);
}

WT_TEST(drift_flapping_left_alone)
{
    uv_loop_t loop;
    uv_timer_t deadline;
    struct seen s = {0};
    char doc[1024];
    struct enf_baseline *b;
    struct enf_drift *d;
    et_put("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
    snprintf(doc, sizeof(doc), DOC, "enforce");
    b = et_doc(doc);
    WT_OK(uv_loop_init(&loop));
    uv_timer_init(&loop, &deadline);
    d = start(&loop, b, &s, 3); /* the first run's repair counts too */
    wait_report(&loop, &deadline, 5000);
    WT_EQ_INT(s.last, ENF_REPAIRED);
    for (int i = 0; i < 2; i++) {
        drift_file("PermitRootLogin yes\n");
        wait_report(&loop, &deadline, 3000);
        WT_EQ_INT(s.last, ENF_REPAIRED);
        WT_EQ_INT(s.last_flapping, 0);
    }
    /* a fourth drift within the hour: held, reported, not fought over */
    drift_file("PermitRootLogin yes\n");
    wait_report(&loop, &deadline, 3000);
    WT_EQ_INT(s.last, ENF_FAILED);
    WT_EQ_INT(s.last_flapping, 1);
    WT_CONTAINS(s.last_error, "flapping");
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "PermitRootLogin yes\n");
    finish(&loop, &deadline, d, &s);
    enf_baseline_free(b);
}

WT_TEST(drift_stop_while_running)
{
    uv_loop_t loop;
    struct seen s = {0};
    char doc[1024];
    struct enf_baseline *b;
    struct enf_drift *d;
    et_put("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
    snprintf(doc, sizeof(doc), DOC, "enforce");
    b = et_doc(doc);
    WT_OK(uv_loop_init(&loop));
    d = start(&loop, b, &s, 0);
    enf_drift_stop(d, on_stopped, &s); /* the first run is queued or running */
    enf_drift_stop(NULL, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(s.stopped, 1);
    WT_EQ_INT(s.reports, 0); /* no report after stop */
    WT_EQ_INT(uv_loop_close(&loop), 0);
    enf_baseline_free(b);
}

WT_TEST(drift_start_errors_call_nothing)
{
    uv_loop_t loop;
    struct enf_drift *d = (struct enf_drift *)1;
    struct enf_drift_opts o = {0};
    WT_OK(uv_loop_init(&loop));
    WT_EQ_ERR(enf_drift_start(&loop, NULL, &o, &d), WARD_EINVAL);
    WT_ASSERT(d == NULL);
    WT_EQ_INT(uv_run(&loop, UV_RUN_NOWAIT), 0);
    WT_EQ_INT(uv_loop_close(&loop), 0);
}
