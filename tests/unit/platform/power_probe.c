/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Probe for test_power.py: calls one platform/power.h function and prints what it returned
 * as one JSON object {"rc", "err", "why", "sessions"} on stdout, so the driver can compare
 * it with what it put into python-dbusmock's logind. Modes:
 *   sessions | lock | reboot | poweroff | bogus (an action number that does not exist)
 *   threads N   plat_power_sessions from N threads at once, 5 times each; prints the first
 *               result and "same": whether every call returned exactly that.
 * Exits 0 whenever it could print its answer; the driver judges it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "platform/power.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define MAX_THREADS 16
#define ROUNDS 5

struct result {
    int rc;
    char why[256];
    struct plat_session *s;
    size_t n;
};

static json_t *to_json(const struct result *r)
{
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const struct plat_session *s = &r->s[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "id", s->id, "user",
                                             s->user, "uid", (json_int_t)s->uid, "seat", s->seat,
                                             "type", s->type, "class", s->cls));
    }
    json_object_set_new(o, "rc", json_integer(r->rc));
    json_object_set_new(o, "err", json_string(ward_err_name(r->rc)));
    json_object_set_new(o, "why", json_string(r->why));
    json_object_set_new(o, "sessions", arr);
    return o;
}

static int same(const struct result *a, const struct result *b)
{
    return a->rc == b->rc && strcmp(a->why, b->why) == 0 && a->n == b->n &&
           (a->n == 0 || memcmp(a->s, b->s, a->n * sizeof(*a->s)) == 0);
}

struct worker {
    uv_thread_t tid;
    struct result first;
    int diverged;
};

static void work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct result r;
        memset(&r, 0, sizeof(r));
        r.rc = plat_power_sessions(&r.s, &r.n, r.why, sizeof(r.why));
        if (i == 0) {
            w->first = r;
            continue;
        }
        if (!same(&w->first, &r))
            w->diverged = 1;
        ward_free(r.s);
    }
}

static int threads(int nthreads, json_t **out)
{
    struct worker w[MAX_THREADS];
    int diverged = 0;

    memset(w, 0, sizeof(w));
    for (int i = 0; i < nthreads; i++)
        if (uv_thread_create(&w[i].tid, work, &w[i]) != 0)
            return 1;
    for (int i = 0; i < nthreads; i++)
        uv_thread_join(&w[i].tid);
    for (int i = 0; i < nthreads; i++)
        if (w[i].diverged || !same(&w[0].first, &w[i].first))
            diverged = 1;
    *out = to_json(&w[0].first);
    json_object_set_new(*out, "same", json_boolean(!diverged));
    for (int i = 0; i < nthreads; i++)
        ward_free(w[i].first.s);
    return 0;
}

int main(int argc, char **argv)
{
    struct result r;
    const char *mode = argc > 1 ? argv[1] : "";
    json_t *o = NULL;

    memset(&r, 0, sizeof(r));
    if (strcmp(mode, "sessions") == 0) {
        r.rc = plat_power_sessions(&r.s, &r.n, r.why, sizeof(r.why));
    } else if (strcmp(mode, "lock") == 0) {
        r.rc = plat_power_lock_all(&r.s, &r.n, r.why, sizeof(r.why));
    } else if (strcmp(mode, "reboot") == 0) {
        r.rc = plat_power_act(PLAT_POWER_REBOOT, r.why, sizeof(r.why));
    } else if (strcmp(mode, "poweroff") == 0) {
        r.rc = plat_power_act(PLAT_POWER_POWEROFF, r.why, sizeof(r.why));
    } else if (strcmp(mode, "bogus") == 0) {
        r.rc = plat_power_act((enum plat_power_action)42, r.why, sizeof(r.why));
    } else if (strcmp(mode, "threads") == 0 && argc > 2) {
        int nt = atoi(argv[2]);
        if (nt < 1 || nt > MAX_THREADS || threads(nt, &o) != 0) {
            fprintf(stderr, "power_probe: bad thread count or thread start failed\n");
            return 2;
        }
    } else {
        fprintf(stderr, "usage: power_probe sessions|lock|reboot|poweroff|bogus|threads N\n");
        return 2;
    }
    if (!o)
        o = to_json(&r);
    ward_free(r.s);
    if (!o || json_dumpf(o, stdout, JSON_COMPACT) != 0) {
        fprintf(stderr, "power_probe: cannot print the result\n");
        json_decref(o);
        return 2;
    }
    putchar('\n');
    json_decref(o);
    return 0;
}
