/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux command handlers (lock, reboot, shutdown, run_script, full_wipe) against a test
 * host: a struct enf_cmd_host whose done / await_ack / progress / download record what they
 * get, a real uv loop, a scratch job directory and a scratch root. Scripts run as real
 * children of /bin/sh; the boot id comes from ROOT/proc/sys/kernel/random/boot_id; the
 * root's LUKS container from sysfs fixtures under the scratch root.
 *
 * Every case points WARD_SYSTEM_BUS_ADDRESS at a socket that does not exist, so nothing
 * here can reach the machine's logind (no lock, no reboot). The BUS_TEST cases need the
 * private bus and dbusmock's logind that test_commands_dbus.py sets up (with
 * WARD_TEST_BUS=1); ctest does not list them on their own, and without the driver they
 * only say so.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "enforcement/command.h"
#include "linux/cmd_util.h"
#include "linux/helpers.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/time.h"
#include "wtest.h"

/* cases that only test_commands_dbus.py runs (not registered with ctest one by one) */
#define BUS_TEST(name) WT_TEST(name)

#define BOOT_A "8c6f4e0a-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
#define BOOT_B "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"

/* ---- the test host ------------------------------------------------------------------------ */

struct th {
    struct enf_cmd_job job; /* first: the host callbacks get it back */
    uv_loop_t loop;
    json_t *params;
    json_t *saved_in; /* what resume sees as j->saved */
    char workdir[4096];
    char root[4096];

    int done_calls, await_calls;
    int rc;
    json_t *output;
    char *error;
    json_t *saved; /* the copy await_ack kept */
    int await_rc;  /* what await_ack answers */
    char progress[32][400];
    int nprogress;

    /* download */
    int dl_calls;
    char dl_url[256], dl_sha[80];
    uint64_t dl_len;
    int dl_rc;              /* the download's outcome */
    const char *dl_content; /* written to workdir/download.bin */
    enf_cmd_download_fn dl_cb;
    uv_timer_t dl_timer;

    uv_timer_t cancel_timer;

    /* managed artifacts, "kind\tname" per entry */
    char artifacts[64][300];
    int nartifacts;
};

static struct th *th_of(struct enf_cmd_job *j)
{
    return (struct th *)j->host_ctx;
}

static void h_done(struct enf_cmd_job *j, int rc, json_t *output, const char *error)
{
    struct th *t = th_of(j);
    t->done_calls++;
    WT_ASSERT(t->done_calls == 1);
    WT_ASSERT(j->priv == NULL); /* the handler freed its state first */
    t->rc = rc;
    json_decref(t->output); /* a failed await_ack's, if any */
    t->output = output;     /* stolen */
    t->error = error ? ward_strdup(error) : NULL;
}

static int h_await(struct enf_cmd_job *j, json_t *output, const json_t *saved)
{
    struct th *t = th_of(j);
    t->await_calls++;
    WT_ASSERT(t->await_calls == 1);
    WT_ASSERT(j->priv == NULL);
    t->output = output;                              /* stolen */
    t->saved = saved ? json_deep_copy(saved) : NULL; /* borrowed: copied */
    return t->await_rc;
}

static void h_progress(struct enf_cmd_job *j, const char *text)
{
    struct th *t = th_of(j);
    if (t->nprogress < 32)
        snprintf(t->progress[t->nprogress++], sizeof(t->progress[0]), "%s", text);
}

static void dl_fire(uv_timer_t *tm)
{
    struct th *t = tm->data;
    char path[4200];
    uv_close((uv_handle_t *)tm, NULL);
    if (t->dl_rc != 0) {
        t->dl_cb(&t->job, t->dl_rc, NULL, "sha256 mismatch");
        return;
    }
    snprintf(path, sizeof(path), "%s/download.bin", t->workdir);
    WT_OK(plat_fs_write_file_mkdirs(path, t->dl_content, strlen(t->dl_content)));
    WT_EQ_INT(chmod(path, 0600), 0);
    t->dl_cb(&t->job, 0, path, NULL);
}

static int h_download(struct enf_cmd_job *j, const char *url, const char *sha256, uint64_t length,
                      enf_cmd_download_fn cb)
{
    struct th *t = th_of(j);
    t->dl_calls++;
    snprintf(t->dl_url, sizeof(t->dl_url), "%s", url);
    snprintf(t->dl_sha, sizeof(t->dl_sha), "%s", sha256);
    t->dl_len = length;
    t->dl_cb = cb;
    /* like a real download: the answer comes later, from the loop */
    WT_EQ_INT(uv_timer_init(&t->loop, &t->dl_timer), 0);
    t->dl_timer.data = t;
    WT_EQ_INT(uv_timer_start(&t->dl_timer, dl_fire, 10, 0), 0);
    return 0;
}

static int artifact_index(struct th *t, const char *kind, const char *name)
{
    char key[300];
    snprintf(key, sizeof(key), "%s\t%s", kind, name);
    for (int i = 0; i < t->nartifacts; i++)
        if (strcmp(t->artifacts[i], key) == 0)
            return i;
    return -1;
}

static int h_artifact_add(struct enf_cmd_job *j, const char *kind, const char *name,
                          const json_t *detail)
{
    struct th *t = th_of(j);
    (void)detail;
    if (artifact_index(t, kind, name) >= 0)
        return 0;
    WT_ASSERT(t->nartifacts < 64);
    snprintf(t->artifacts[t->nartifacts++], sizeof(t->artifacts[0]), "%s\t%s", kind, name);
    return 0;
}

static int h_artifact_has(struct enf_cmd_job *j, const char *kind, const char *name)
{
    return artifact_index(th_of(j), kind, name) >= 0;
}

static int h_artifact_remove(struct enf_cmd_job *j, const char *kind, const char *name)
{
    struct th *t = th_of(j);
    int i = artifact_index(t, kind, name);
    if (i >= 0) {
        memmove(t->artifacts[i], t->artifacts[i + 1],
                (size_t)(t->nartifacts - i - 1) * sizeof(t->artifacts[0]));
        t->nartifacts--;
    }
    return 0;
}

static const struct enf_cmd_host host = {
    .done = h_done,
    .await_ack = h_await,
    .progress = h_progress,
    .download = h_download,
    .artifact_add = h_artifact_add,
    .artifact_has = h_artifact_has,
    .artifact_remove = h_artifact_remove,
};

static int bus_mode(void)
{
    return getenv("WARD_TEST_BUS") && getenv("WARD_SYSTEM_BUS_ADDRESS");
}

/* Never the machine's logind: a dead bus unless the driver gave its private one. */
static void guard_bus(void)
{
    char addr[4200];
    if (bus_mode())
        return;
    snprintf(addr, sizeof(addr), "unix:path=%s", wt_path("no-such-bus"));
    setenv("WARD_SYSTEM_BUS_ADDRESS", addr, 1);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &e);
    if (!j)
        wt_fail(__FILE__, __LINE__, "bad test JSON %s: %s", text, e.text);
    return j;
}

/* A job for command `name` with params (validated: must pass). */
static void th_init(struct th *t, const char *name, const char *params, const char *ownership)
{
    struct ward_buf err;
    const struct enf_cmd *c = enf_cmd_find(name);
    static int n;

    guard_bus();
    WT_ASSERT(c);
    memset(t, 0, sizeof(*t));
    WT_EQ_INT(uv_loop_init(&t->loop), 0);
    t->params = load(params);
    ward_buf_init(&err, 65536);
    if (enf_cmd_validate(c, t->params, &err) != 0)
        wt_fail(__FILE__, __LINE__, "%s %s: %s", name, params, err.data ? err.data : "");
    ward_buf_release(&err);
    snprintf(t->workdir, sizeof(t->workdir), "%s/job%d", wt_tmpdir(), ++n);
    WT_OK(plat_fs_mkdir_p(NULL, t->workdir, PLAT_FS_NTS, 0700));
    snprintf(t->root, sizeof(t->root), "%s/root%d", wt_tmpdir(), n);
    WT_OK(plat_fs_mkdir_p(NULL, t->root, PLAT_FS_NTS, 0755));
    t->job.cmd = c;
    t->job.host = &host;
    t->job.host_ctx = t;
    t->job.loop = &t->loop;
    t->job.root = t->root;
    t->job.id = "cmd-0001";
    t->job.workdir = t->workdir;
    t->job.params = t->params;
    t->job.ownership = ownership ? ownership : "corporate";
}

static void th_run(struct th *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
}

static void th_start(struct th *t)
{
    WT_OK(t->job.cmd->start(&t->job));
    th_run(t);
}

/* The host's state between two calls: what await_ack stored becomes j->saved. */
static void th_reset_results(struct th *t)
{
    json_decref(t->output);
    t->output = NULL;
    ward_free(t->error);
    t->error = NULL;
    t->done_calls = t->await_calls = 0;
    t->rc = 0;
    t->nprogress = 0;
}

static void th_resume(struct th *t, enum enf_cmd_phase phase, const char *saved_json)
{
    th_reset_results(t);
    json_decref(t->saved_in);
    t->saved_in = NULL;
    if (saved_json)
        t->saved_in = load(saved_json);
    else if (t->saved)
        t->saved_in = json_deep_copy(t->saved);
    t->job.saved = t->saved_in;
    WT_OK(t->job.cmd->resume(&t->job, phase));
    th_run(t);
}

static void cancel_fire(uv_timer_t *tm)
{
    struct th *t = tm->data;
    uv_close((uv_handle_t *)tm, NULL);
    t->job.cmd->cancel(&t->job);
}

static void th_cancel_after(struct th *t, uint64_t ms)
{
    WT_EQ_INT(uv_timer_init(&t->loop, &t->cancel_timer), 0);
    t->cancel_timer.data = t;
    WT_EQ_INT(uv_timer_start(&t->cancel_timer, cancel_fire, ms, 0), 0);
}

static void th_release(struct th *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    /* every handle a handler opened is closed again */
    WT_EQ_INT(uv_loop_close(&t->loop), 0);
    json_decref(t->params);
    json_decref(t->saved_in);
    json_decref(t->saved);
    json_decref(t->output);
    ward_free(t->error);
}

static const char *ostr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        wt_fail(__FILE__, __LINE__, "output member %s is not a string", key);
    return json_string_value(v);
}

static long long oint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        wt_fail(__FILE__, __LINE__, "output member %s is not an integer", key);
    return (long long)json_integer_value(v);
}

static int obool(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        wt_fail(__FILE__, __LINE__, "output member %s is not a boolean", key);
    return json_is_true(v);
}

static void put_root(struct th *t, const char *rel, const char *text)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", t->root, rel);
    WT_OK(plat_fs_write_file_mkdirs(p, text, strlen(text)));
}

static void link_root(struct th *t, const char *target, const char *rel)
{
    char p[4200], dir[4200];
    snprintf(p, sizeof(p), "%s/%s", t->root, rel);
    snprintf(dir, sizeof(dir), "%s", p);
    *strrchr(dir, '/') = '\0';
    WT_OK(plat_fs_mkdir_p(NULL, dir, PLAT_FS_NTS, 0755));
    if (symlink(target, p) != 0)
        wt_fail(__FILE__, __LINE__, "symlink %s: %s", p, strerror(errno));
}

static int has_progress(const struct th *t, const char *needle)
{
    for (int i = 0; i < t->nprogress; i++)
        if (strstr(t->progress[i], needle))
            return 1;
    return 0;
}

/* ---- validation ---------------------------------------------------------------------------- */

/* Expects params to be refused with a line containing want. */
static void refused(const char *cmd, const char *params, const char *want)
{
    struct ward_buf err;
    json_t *p = load(params);
    int rc;
    ward_buf_init(&err, 65536);
    rc = enf_cmd_validate(enf_cmd_find(cmd), p, &err);
    if (rc != WARD_EINVAL)
        wt_fail(__FILE__, __LINE__, "%s %s: accepted (%d), wanted refusal with \"%s\"", cmd, params,
                rc, want);
    if (!err.data || !strstr(err.data, want))
        wt_fail(__FILE__, __LINE__, "%s %s: errors\n%s\nlack \"%s\"", cmd, params,
                err.data ? err.data : "(none)", want);
    ward_buf_release(&err);
    json_decref(p);
}

static void accepted(const char *cmd, const char *params)
{
    struct ward_buf err;
    json_t *p = load(params);
    ward_buf_init(&err, 65536);
    if (enf_cmd_validate(enf_cmd_find(cmd), p, &err) != 0)
        wt_fail(__FILE__, __LINE__, "%s %s: refused:\n%s", cmd, params, err.data ? err.data : "");
    ward_buf_release(&err);
    json_decref(p);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

WT_TEST(validate_lock_and_power)
{
    const char *cmds[] = {"reboot", "shutdown"};
    WT_ASSERT(enf_cmd_find("lock") && enf_cmd_find("reboot") && enf_cmd_find("shutdown") &&
              enf_cmd_find("run_script") && enf_cmd_find("full_wipe"));
    accepted("lock", "{}");
    refused("lock", "{\"seconds\": 5}", "$.seconds: unknown parameter");
    for (size_t i = 0; i < 2; i++) {
        const char *c = cmds[i];
        accepted(c, "{}");
        accepted(c, "{\"grace_seconds\": 300, \"deadline\": \"2026-11-28T10:00:00Z\", "
                    "\"deferrals\": 3, \"message\": \"Updates need a restart\"}");
        accepted(c, "{\"grace_seconds\": 0, \"deferrals\": 0}");
        accepted(c, "{\"grace_seconds\": 86400, \"deferrals\": 10}");
        refused(c, "{\"grace_seconds\": \"60\"}", "$.grace_seconds: must be an integer");
        refused(c, "{\"grace_seconds\": -1}", "$.grace_seconds: must be between 0 and 86400");
        refused(c, "{\"grace_seconds\": 86401}", "$.grace_seconds: must be between");
        refused(c, "{\"grace_seconds\": 1.5}", "$.grace_seconds: must be an integer");
        refused(c, "{\"deferrals\": 11}", "$.deferrals: must be between 0 and 10");
        refused(c, "{\"deferrals\": true}", "$.deferrals: must be an integer");
        refused(c, "{\"deadline\": \"tomorrow\"}", "$.deadline: must be a UTC time");
        refused(c, "{\"deadline\": \"2026-11-28 10:00:00\"}", "$.deadline");
        refused(c, "{\"deadline\": \"2026-11-28T10:00:00+01:00\"}", "$.deadline");
        refused(c, "{\"deadline\": \"2026-13-28T10:00:00Z\"}", "$.deadline");
        refused(c, "{\"deadline\": 1764324000}", "$.deadline: must be a string");
        refused(c, "{\"message\": 7}", "$.message: must be a string");
        refused(c, "{\"force\": true}", "$.force: unknown parameter");
        refused(c, "[]", "params must be an object");
    }
}

WT_TEST(validate_run_script)
{
    char *big;
    struct ward_buf b;

    accepted("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"echo hi\"}");
    accepted("run_script", "{\"interpreter\": \"/usr/bin/python3\", \"script\": \"print(1)\", "
                           "\"args\": [\"-x\", \"a b\", \"\"], \"user\": \"backup_2.x-y\", "
                           "\"timeout\": 86400, \"output_max\": 1048576, \"cpu_seconds\": 1, "
                           "\"memory_mb\": 16}");
    accepted("run_script", "{\"interpreter\": \"/bin/bash\", \"file\": {\"url\": "
                           "\"/api/v1/files/" HEX64 "\", \"sha256\": \"" HEX64 "\", "
                           "\"length\": 1099511627776}, \"timeout\": 1, \"output_max\": 1024, "
                           "\"cpu_seconds\": 86400, \"memory_mb\": 65536}");
    accepted("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"user\": \"_x\"}");

    /* interpreter */
    refused("run_script", "{\"script\": \"echo\"}", "missing required parameter \"interpreter\"");
    refused("run_script", "{\"interpreter\": \"/bin/zsh\", \"script\": \"echo\"}",
            "$.interpreter: \"/bin/zsh\" is not one of \"/bin/sh\", \"/bin/bash\", "
            "\"/usr/bin/python3\"");
    refused("run_script", "{\"interpreter\": \"sh\", \"script\": \"echo\"}", "$.interpreter");
    refused("run_script", "{\"interpreter\": 1, \"script\": \"echo\"}",
            "$.interpreter: must be a string");
    /* script / file */
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"echo\", \"file\": {\"url\": "
            "\"/api/v1/files/a\", \"sha256\": \"" HEX64 "\", \"length\": 5}}",
            "$: give either script or file, not both");
    refused("run_script", "{\"interpreter\": \"/bin/sh\"}", "$: missing the script");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": [\"echo\"]}",
            "$.script: must be a string");
    ward_buf_init(&b, 1u << 20);
    big = ward_malloc(262146);
    WT_ASSERT(big);
    memset(big, 'x', 262145);
    big[262145] = '\0';
    ward_buf_appendf(&b, "{\"interpreter\": \"/bin/sh\", \"script\": \"%s\"}", big);
    refused("run_script", b.data, "$.script: longer than 262144 bytes");
    ward_buf_reset(&b);
    big[262144] = '\0';
    ward_buf_appendf(&b, "{\"interpreter\": \"/bin/sh\", \"script\": \"%s\"}", big);
    accepted("run_script", b.data);
    /* file members */
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"file\": \"/api/v1/files/a\"}",
            "$.file: must be an object");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"" HEX64 "\", \"length\": 5, \"mode\": \"0755\"}}",
            "$.file.mode: unknown member");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"length\": 5}}",
            "$.file.sha256: must be 64 lowercase hex");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\", "
            "\"length\": 5}}",
            "$.file.sha256");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"0123456789abcdef\", \"length\": 5}}",
            "$.file.sha256");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", "
            "\"length\": 5}}",
            "$.file.sha256");
    {
        static const char *const urls[] = {
            "/etc/passwd",        "/api/v1/files/",      "/api/v1/files/../../etc/shadow",
            "/api/v1/files/a//b", "/api/v1/files/a?x=1", "https://evil/api/v1/files/a",
            "/api/v1/files/a b",  "/api/v1/files/./a",   NULL};
        for (size_t i = 0; urls[i]; i++) {
            ward_buf_reset(&b);
            ward_buf_appendf(&b,
                             "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"%s\", "
                             "\"sha256\": \"" HEX64 "\", \"length\": 5}}",
                             urls[i]);
            refused("run_script", b.data, "$.file.url");
        }
    }
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": 5, \"sha256\": \"" HEX64
            "\", \"length\": 5}}",
            "$.file.url");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"" HEX64 "\", \"length\": 0}}",
            "$.file.length: must be an integer between 1 and 1099511627776");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"" HEX64 "\", \"length\": 1099511627777}}",
            "$.file.length");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"" HEX64 "\", \"length\": \"5\"}}",
            "$.file.length");
    /* args */
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"args\": \"-x\"}",
            "$.args: must be an array of strings");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"args\": [1]}",
            "$.args[0]: must be a string");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"args\": [\"a\", \"b\\u0000c\"]}",
            "$.args[1]: contains a NUL byte");
    ward_buf_reset(&b);
    ward_buf_append_str(&b, "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"args\": [");
    for (int i = 0; i < 65; i++)
        ward_buf_appendf(&b, "%s\"a%d\"", i ? ", " : "", i);
    ward_buf_append_str(&b, "]}");
    refused("run_script", b.data, "$.args: more than 64 arguments");
    ward_buf_reset(&b);
    big[4097] = '\0';
    ward_buf_appendf(&b, "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"args\": [\"%s\"]}",
                     big);
    refused("run_script", b.data, "$.args[0]: longer than 4096 bytes");
    ward_buf_reset(&b);
    big[4096] = '\0';
    ward_buf_appendf(&b, "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"args\": [\"%s\"]}",
                     big);
    accepted("run_script", b.data);
    /* user */
    {
        static const char *const users[] = {"a;b",
                                            "$(id)",
                                            "-rf",
                                            "a\\nb",
                                            "0day",
                                            ".hidden",
                                            "",
                                            "a b",
                                            "root/..",
                                            "a\\u0000",
                                            "ab`id`",
                                            "\\u00e9t\\u00e9",
                                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                            NULL};
        for (size_t i = 0; users[i]; i++) {
            ward_buf_reset(&b);
            ward_buf_appendf(
                &b, "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"user\": \"%s\"}", users[i]);
            refused("run_script", b.data, "$.user: must be a user name");
        }
    }
    accepted("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"user\": "
                           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"); /* 32 */
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"user\": 0}",
            "$.user: must be a string");
    /* numbers */
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"timeout\": 0}",
            "$.timeout: must be between 1 and 86400");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"timeout\": 86401}",
            "$.timeout");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"timeout\": \"60\"}",
            "$.timeout: must be an integer");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"output_max\": 1023}",
            "$.output_max: must be between 1024 and 1048576");
    refused("run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"output_max\": 1048577}",
            "$.output_max");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"cpu_seconds\": 0}",
            "$.cpu_seconds: must be between 1 and 86400");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"memory_mb\": 15}",
            "$.memory_mb: must be between 16 and 65536");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"memory_mb\": 65537}",
            "$.memory_mb");
    refused("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"\", \"shell\": true}",
            "$.shell: unknown parameter for command \"run_script\"");
    ward_free(big);
    ward_buf_release(&b);
}

WT_TEST(validate_full_wipe)
{
    accepted("full_wipe", "{}");
    accepted("full_wipe", "{\"allow_overwrite\": false}");
    accepted("full_wipe", "{\"devices\": [\"/dev/sdb\", \"/dev/disk/by-id/ata-X_123\"], "
                          "\"allow_overwrite\": true}");
    accepted("full_wipe", "{\"devices\": [\"/dev/nvme1n1\"]}");
    refused("full_wipe", "{\"devices\": \"/dev/sdb\"}", "$.devices: must be an array of strings");
    refused("full_wipe", "{\"devices\": [\"sdb\"]}",
            "$.devices[0]: must be an absolute device path");
    refused("full_wipe", "{\"devices\": [\"/dev/sdb\", \"/etc/passwd\"]}", "$.devices[1]");
    refused("full_wipe", "{\"devices\": [\"/dev/../etc/passwd\"]}", "$.devices[0]");
    refused("full_wipe", "{\"devices\": [\"/dev/\"]}", "$.devices[0]");
    refused("full_wipe", "{\"devices\": [\"/dev/sd b\"]}", "$.devices[0]");
    refused("full_wipe", "{\"devices\": [\"/dev/sdb\\u0000x\"]}", "$.devices[0]");
    refused("full_wipe", "{\"devices\": [\"/dev/sdb\", \"/dev/sdb\"]}",
            "$.devices[1]: names the same device as $.devices[0]");
    refused("full_wipe", "{\"devices\": [5]}", "$.devices[0]: must be a string");
    refused("full_wipe", "{\"allow_overwrite\": \"yes\"}",
            "$.allow_overwrite: must be true or false");
    refused("full_wipe", "{\"allow_overwrite\": true}",
            "$.allow_overwrite: allows overwriting devices, but no devices are named");
    refused("full_wipe", "{\"allow_overwrite\": true, \"devices\": []}", "$.allow_overwrite");
    refused("full_wipe", "{\"force\": true}", "$.force: unknown parameter");
}

/* docs/commands.md embeds the generated reference between these markers. */
#define CMD_DOC_BEGIN "<!-- BEGIN GENERATED COMMAND REFERENCE (enf_cmd_markdown) -->\n"
#define CMD_DOC_END "<!-- END GENERATED COMMAND REFERENCE -->"

WT_TEST(docs_tables)
{
    struct ward_buf b;
    ward_buf_init(&b, 1u << 20);
    WT_OK(enf_cmd_markdown(&b));
    wt_check_generated(WARD_DOCS_COMMANDS, CMD_DOC_BEGIN, CMD_DOC_END, b.data, b.len);
    for (const struct enf_cmd *const *c = enf_os_commands; *c; c++) {
        char h[64];
        snprintf(h, sizeof(h), "### `%s`", (*c)->name);
        WT_CONTAINS(b.data, h);
    }
    WT_CONTAINS(b.data, "### `run_script`");
    WT_CONTAINS(b.data, "### `full_wipe`");
    WT_CONTAINS(b.data, "| `output_max` |");
    WT_CONTAINS(b.data, "destructive, needs the offline key, ends in a power cycle");
    ward_buf_release(&b);
}

/* ---- UTF-8 repair -------------------------------------------------------------------------- */

static void utf8_case(const char *in, size_t n, const char *want, size_t wantlen)
{
    struct ward_buf b;
    ward_buf_init(&b, 4096);
    WT_OK(enf_cmdu_utf8_append(&b, in, n));
    if (b.len != wantlen || memcmp(b.data, want, wantlen) != 0)
        wt_fail(__FILE__, __LINE__, "utf8 repair: got %zu bytes, wanted %zu", b.len, wantlen);
    ward_buf_release(&b);
}

#define U8(in, want) utf8_case(in, sizeof(in) - 1, want, sizeof(want) - 1)
#define R "\xef\xbf\xbd"

WT_TEST(utf8_repair)
{
    json_t *j;
    U8("plain ascii", "plain ascii");
    U8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e");
    U8("a\0b", "a\0b");
    U8("\xff", R);
    U8("\x80\x80", R R);
    U8("\xc0\x80", R R);             /* overlong NUL */
    U8("\xe0\x80\x80", R R R);       /* overlong */
    U8("\xed\xa0\x80", R R R);       /* surrogate */
    U8("\xf4\x90\x80\x80", R R R R); /* above U+10FFFF */
    U8("\xf5\x80", R R);
    U8("x\xe2\x82", "x" R); /* truncated at the end: one maximal subpart */
    U8("\xe2\x82y", R "y");
    U8("\xf0\x9f\x98"
       "A",
       R "A");
    U8("ok\xc3", "ok" R);
    j = enf_cmdu_text("\xffok", 3);
    WT_ASSERT(j);
    WT_EQ_STR(json_string_value(j), R "ok");
    json_decref(j);
}

/* ---- lock ---------------------------------------------------------------------------------- */

WT_TEST(lock_without_bus)
{
    struct th t;
    th_init(&t, "lock", "{}", NULL);
    th_start(&t);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ENOTSUP);
    WT_CONTAINS(t.error, "no system bus");
    WT_ASSERT(t.output == NULL);
    th_release(&t);
}

/* ---- reboot / shutdown --------------------------------------------------------------------- */

static void boot_id(struct th *t, const char *id)
{
    char line[64];
    snprintf(line, sizeof(line), "%s\n", id);
    put_root(t, "proc/sys/kernel/random/boot_id", line);
}

WT_TEST(reboot_grace_zero)
{
    struct th t;
    th_init(&t, "reboot", "{\"message\": \"Security updates\"}", NULL);
    boot_id(&t, "8C6F4E0A-1D2B-4C3D-9E8F-0A1B2C3D4E5F"); /* stored in lower case */
    th_start(&t);
    WT_EQ_INT(t.done_calls, 0);
    WT_EQ_INT(t.await_calls, 1);
    WT_EQ_STR(ostr(t.output, "action"), "reboot");
    WT_EQ_INT(oint(t.output, "grace_seconds"), 0);
    WT_EQ_INT(oint(t.output, "deferrals"), 0);
    WT_EQ_STR(ostr(t.output, "boot_id"), BOOT_A);
    WT_EQ_STR(ostr(t.saved, "boot_id"), BOOT_A);
    WT_EQ_INT(json_object_size(t.saved), 1);
    WT_ASSERT(has_progress(&t, "reboot in 0 s: Security updates"));
    th_release(&t);
}

WT_TEST(reboot_grace_timer)
{
    struct th t;
    uint64_t t0;
    th_init(&t, "shutdown", "{\"grace_seconds\": 1, \"deferrals\": 2}", NULL);
    boot_id(&t, BOOT_A);
    t0 = uv_hrtime();
    th_start(&t);
    WT_ASSERT(uv_hrtime() - t0 >= 950u * 1000000ull);
    WT_EQ_INT(t.done_calls, 0);
    WT_EQ_INT(t.await_calls, 1);
    WT_EQ_STR(ostr(t.output, "action"), "poweroff");
    WT_EQ_INT(oint(t.output, "grace_seconds"), 1);
    WT_EQ_INT(oint(t.output, "waited_seconds"), 1);
    WT_EQ_INT(oint(t.output, "deferrals"), 2);
    WT_EQ_STR(ostr(t.saved, "boot_id"), BOOT_A);
    th_release(&t);
}

WT_TEST(reboot_deadline_cuts_grace)
{
    struct th t;
    char params[128], when[32];
    uint64_t t0;
    ward_time_iso(ward_time_now() + 1, when, sizeof(when));
    snprintf(params, sizeof(params), "{\"grace_seconds\": 3600, \"deadline\": \"%s\"}", when);
    th_init(&t, "reboot", params, NULL);
    boot_id(&t, BOOT_A);
    t0 = uv_hrtime();
    th_start(&t);
    WT_ASSERT(uv_hrtime() - t0 < 5000u * 1000000ull);
    WT_EQ_INT(t.await_calls, 1);
    WT_EQ_STR(ostr(t.output, "deadline"), when);
    WT_ASSERT(oint(t.output, "waited_seconds") <= 1);
    th_release(&t);

    /* a deadline already past: at once */
    th_init(&t, "reboot", "{\"grace_seconds\": 3600, \"deadline\": \"2001-01-01T00:00:00Z\"}",
            NULL);
    boot_id(&t, BOOT_A);
    th_start(&t);
    WT_EQ_INT(t.await_calls, 1);
    WT_EQ_INT(oint(t.output, "waited_seconds"), 0);
    th_release(&t);
}

WT_TEST(reboot_cancel_during_grace)
{
    struct th t;
    uint64_t t0;
    th_init(&t, "reboot", "{\"grace_seconds\": 100}", NULL);
    boot_id(&t, BOOT_A);
    t0 = uv_hrtime();
    WT_OK(t.job.cmd->start(&t.job));
    th_cancel_after(&t, 100);
    th_run(&t);
    WT_ASSERT(uv_hrtime() - t0 < 5000u * 1000000ull);
    WT_EQ_INT(t.await_calls, 0);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ECANCELED);
    WT_EQ_STR(t.error, "cancelled: the agent is stopping");
    th_release(&t);
}

WT_TEST(reboot_without_boot_id)
{
    struct th t;
    th_init(&t, "reboot", "{}", NULL);
    th_start(&t);
    WT_EQ_INT(t.await_calls, 0);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ENOENT);
    WT_CONTAINS(t.error, "boot id");
    th_release(&t);
}

WT_TEST(reboot_await_refused)
{
    struct th t;
    th_init(&t, "reboot", "{}", NULL);
    boot_id(&t, BOOT_A);
    t.await_rc = WARD_ESTORE;
    th_start(&t);
    WT_EQ_INT(t.await_calls, 1);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ESTORE);
    th_release(&t);
}

WT_TEST(reboot_booted)
{
    struct th t;
    th_init(&t, "reboot", "{}", NULL);
    boot_id(&t, BOOT_A);
    th_start(&t);
    WT_EQ_INT(t.await_calls, 1);
    /* the power cycle: a new boot id, the host resumes with what it saved */
    boot_id(&t, BOOT_B);
    th_resume(&t, ENF_PHASE_BOOTED, NULL);
    WT_EQ_INT(t.done_calls, 1);
    WT_OK(t.rc);
    WT_ASSERT(t.error == NULL);
    WT_ASSERT(obool(t.output, "rebooted"));
    WT_EQ_STR(ostr(t.output, "boot_id_before"), BOOT_A);
    WT_EQ_STR(ostr(t.output, "boot_id_after"), BOOT_B);
    th_release(&t);

    th_init(&t, "shutdown", "{}", NULL);
    boot_id(&t, BOOT_B);
    th_resume(&t, ENF_PHASE_BOOTED, "{\"boot_id\": \"" BOOT_A "\"}");
    WT_OK(t.rc);
    WT_ASSERT(obool(t.output, "powered_off"));
    WT_ASSERT(json_object_get(t.output, "rebooted") == NULL);
    WT_EQ_STR(ostr(t.output, "boot_id_before"), BOOT_A);
    WT_EQ_STR(ostr(t.output, "boot_id_after"), BOOT_B);
    th_release(&t);

    /* BOOTED with the same boot id is the host's mistake: not reported as a reboot */
    th_init(&t, "reboot", "{}", NULL);
    boot_id(&t, BOOT_A);
    th_resume(&t, ENF_PHASE_BOOTED, "{\"boot_id\": \"" BOOT_A "\"}");
    WT_EQ_ERR(t.rc, WARD_ESTATE);
    WT_CONTAINS(t.error, "boot id did not change");
    th_release(&t);
}

WT_TEST(reboot_acked_without_bus)
{
    struct th t;
    th_init(&t, "reboot", "{}", NULL);
    boot_id(&t, BOOT_A);
    th_resume(&t, ENF_PHASE_ACKED, "{\"boot_id\": \"" BOOT_A "\"}");
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ENOTSUP);
    WT_CONTAINS(t.error, "cannot reboot: ");
    WT_CONTAINS(t.error, "no system bus");
    th_release(&t);
}

/* ---- run_script ---------------------------------------------------------------------------- */

static const char *out_stdout(const struct th *t)
{
    return ostr(t->output, "stdout");
}

WT_TEST(script_exit_zero)
{
    struct th t;
    struct stat st;
    char path[4200], want[8400];
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"echo hello; echo oops >&2; "
            "echo \\\"$HOME|$WARD_COMMAND_ID|$(pwd)|$0\\\"\"}",
            NULL);
    th_start(&t);
    WT_EQ_INT(t.done_calls, 1);
    WT_OK(t.rc);
    WT_ASSERT(t.error == NULL);
    snprintf(want, sizeof(want), "hello\n%s|cmd-0001|%s|./script\n", t.workdir, t.workdir);
    WT_EQ_STR(out_stdout(&t), want);
    WT_EQ_STR(ostr(t.output, "stderr"), "oops\n");
    WT_EQ_INT(oint(t.output, "exit_code"), 0);
    WT_EQ_INT(oint(t.output, "signal"), 0);
    WT_ASSERT(!obool(t.output, "timed_out"));
    WT_ASSERT(!obool(t.output, "limit_exceeded"));
    WT_EQ_STR(ostr(t.output, "limits"), "none");
    WT_EQ_INT(oint(t.output, "stdout_bytes"), (long long)strlen(want));
    WT_EQ_INT(oint(t.output, "stderr_bytes"), 5);
    WT_EQ_INT(oint(t.output, "stdout_dropped"), 0);
    WT_EQ_INT(oint(t.output, "stderr_dropped"), 0);
    WT_ASSERT(oint(t.output, "duration_ms") >= 0 && oint(t.output, "duration_ms") < 10000);
    WT_EQ_INT(json_object_size(t.output), 12);
    snprintf(path, sizeof(path), "%s/script", t.workdir);
    WT_EQ_INT(stat(path, &st), 0);
    WT_EQ_INT(st.st_mode & 07777, 0700);
    th_release(&t);
}

WT_TEST(script_exit_failure_keeps_output)
{
    struct th t;
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/bash\", \"script\": \"echo partial; echo bad >&2; exit 3\"}",
            NULL);
    th_start(&t);
    WT_EQ_INT(t.done_calls, 1);
    WT_ASSERT(t.rc != 0);
    WT_EQ_STR(t.error, "exit code 3");
    WT_ASSERT(t.output);
    WT_EQ_INT(oint(t.output, "exit_code"), 3);
    WT_EQ_STR(out_stdout(&t), "partial\n");
    WT_EQ_STR(ostr(t.output, "stderr"), "bad\n");
    th_release(&t);
}

WT_TEST(script_args_verbatim)
{
    struct th t;
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"printf '%s\\\\n' \\\"$@\\\"\", "
            "\"args\": [\"a;b\", \"$(id)\", \"`id`\", \"x & y\", \"p|q\", \"l1\\nl2\", \"-rf\", "
            "\"\", \"  two  spaces  \", \"*\", \"'\\\"\", \"$HOME\"]}",
            NULL);
    th_start(&t);
    WT_OK(t.rc);
    WT_EQ_STR(out_stdout(&t), "a;b\n$(id)\n`id`\nx & y\np|q\nl1\nl2\n-rf\n\n  two  spaces  \n*\n"
                              "'\"\n$HOME\n");
    th_release(&t);
}

static int pid_alive(long pid)
{
    char p[64], *stat = NULL;
    size_t len = 0;
    int alive;
    if (kill((pid_t)pid, 0) != 0)
        return 0;
    /* a zombie waiting for its reaper is dead for this purpose */
    snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
    if (plat_fs_read_file(NULL, p, PLAT_FS_NTS, 4096, &stat, &len) != 0)
        return 0;
    alive = !strstr(stat, ") Z ");
    ward_free(stat);
    return alive;
}

WT_TEST(script_timeout_kills_the_group)
{
    struct th t;
    char path[4200], *pid = NULL;
    size_t len = 0;
    uint64_t t0 = uv_hrtime();
    long gc;
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"timeout\": 1, \"script\": \"sleep 100 & echo $! "
            "> grandchild.pid; echo started; sleep 100\"}",
            NULL);
    th_start(&t);
    WT_ASSERT(uv_hrtime() - t0 < 20000u * 1000000ull);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ETIMEDOUT);
    WT_EQ_STR(t.error, "timed out after 1 s");
    WT_ASSERT(obool(t.output, "timed_out"));
    WT_ASSERT(oint(t.output, "signal") != 0);
    WT_ASSERT(json_is_null(json_object_get(t.output, "exit_code")));
    WT_EQ_STR(out_stdout(&t), "started\n");
    snprintf(path, sizeof(path), "%s/grandchild.pid", t.workdir);
    WT_OK(plat_fs_read_file(NULL, path, PLAT_FS_NTS, 64, &pid, &len));
    gc = strtol(pid, NULL, 10);
    WT_ASSERT(gc > 1);
    for (int i = 0; i < 100 && pid_alive(gc); i++)
        usleep(20000);
    WT_ASSERT(!pid_alive(gc));
    ward_free(pid);
    th_release(&t);
}

WT_TEST(script_big_output_head_tail)
{
    struct th t;
    const char *s;
    size_t n;
    char marker[80];
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"output_max\": 1024, \"script\": \"printf HEAD; "
            "head -c 10485760 /dev/zero | tr '\\\\000' x; printf TAIL; echo e >&2\"}",
            NULL);
    th_start(&t);
    WT_OK(t.rc);
    WT_EQ_INT(oint(t.output, "stdout_bytes"), 10485768);
    WT_EQ_INT(oint(t.output, "stdout_dropped"), 10485768 - 2048);
    WT_EQ_INT(oint(t.output, "stderr_dropped"), 0);
    WT_EQ_STR(ostr(t.output, "stderr"), "e\n");
    s = out_stdout(&t);
    n = strlen(s);
    snprintf(marker, sizeof(marker), "\n[... %d bytes dropped ...]\n", 10485768 - 2048);
    WT_EQ_INT(n, 2048 + strlen(marker));
    WT_ASSERT(strncmp(s, "HEADxxxx", 8) == 0);
    WT_ASSERT(strcmp(s + n - 8, "xxxxTAIL") == 0);
    WT_ASSERT(strncmp(s + 1024, marker, strlen(marker)) == 0);
    th_release(&t);
}

WT_TEST(script_invalid_utf8_output)
{
    struct th t;
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"printf "
            "'ok\\\\377\\\\303(\\\\342\\\\202\\\\254'\"}",
            NULL);
    th_start(&t);
    WT_OK(t.rc);
    WT_EQ_STR(out_stdout(&t), "ok" R R "(\xe2\x82\xac");
    WT_EQ_INT(oint(t.output, "stdout_bytes"), 8);
    th_release(&t);
}

WT_TEST(script_run_as_nobody)
{
    struct th t;
    struct stat st;
    char path[4200];
    if (geteuid() != 0) {
        printf("skip: run_as needs root\n");
        return;
    }
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"user\": \"nobody\", \"script\": \"id -u; id -g; "
            "echo \\\"$HOME $USER\\\"; touch made-by-script\"}",
            NULL);
    th_start(&t);
    if (t.rc != 0)
        wt_fail(__FILE__, __LINE__, "rc %s: %s\n%s", ward_err_name(t.rc), t.error ? t.error : "",
                t.output ? ostr(t.output, "stderr") : "");
    WT_EQ_STR(out_stdout(&t), "65534\n65534\n/nonexistent nobody\n");
    snprintf(path, sizeof(path), "%s/script", t.workdir);
    WT_EQ_INT(stat(path, &st), 0);
    WT_EQ_INT(st.st_uid, 65534);
    WT_EQ_INT(st.st_mode & 07777, 0700);
    snprintf(path, sizeof(path), "%s/made-by-script", t.workdir);
    WT_EQ_INT(stat(path, &st), 0);
    WT_EQ_INT(st.st_uid, 65534);
    th_release(&t);

    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"user\": \"ward_no_such_user\", \"script\": \"id\"}",
            NULL);
    th_start(&t);
    WT_EQ_ERR(t.rc, WARD_ENOENT);
    WT_CONTAINS(t.error, "no such user \"ward_no_such_user\"");
    th_release(&t);
}

WT_TEST(script_limits)
{
    struct th t;
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"cpu_seconds\": 1, \"memory_mb\": 256, "
            "\"script\": \"while :; do :; done\"}",
            NULL);
    th_start(&t);
    WT_ASSERT(t.rc != 0);
    WT_ASSERT(obool(t.output, "limit_exceeded"));
    WT_ASSERT(strcmp(ostr(t.output, "limits"), "none") != 0);
    WT_CONTAINS(t.error, "killed by signal");
    WT_CONTAINS(t.error, "resource limit");
    th_release(&t);
}

WT_TEST(script_personal_denied)
{
    struct th t;
    struct stat st;
    char path[4200];
    th_init(&t, "run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"touch /tmp/x\"}",
            "personal");
    th_start(&t);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_EDENIED);
    WT_EQ_STR(t.error, "scripts are not allowed on a personally owned device");
    WT_ASSERT(t.output == NULL);
    snprintf(path, sizeof(path), "%s/script", t.workdir);
    WT_ASSERT(stat(path, &st) != 0);
    th_release(&t);
}

WT_TEST(script_cancel)
{
    struct th t;
    uint64_t t0 = uv_hrtime();
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"script\": \"echo started; sleep 100\"}", NULL);
    WT_OK(t.job.cmd->start(&t.job));
    th_cancel_after(&t, 300);
    th_run(&t);
    WT_ASSERT(uv_hrtime() - t0 < 20000u * 1000000ull);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_ECANCELED);
    WT_EQ_STR(t.error, "cancelled: the agent is stopping");
    WT_EQ_STR(out_stdout(&t), "started\n");
    WT_ASSERT(oint(t.output, "signal") != 0);
    th_release(&t);
}

WT_TEST(script_from_file)
{
    struct th t;
    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"args\": [\"x y\"], \"file\": {\"url\": "
            "\"/api/v1/files/" HEX64 "\", \"sha256\": \"" HEX64 "\", \"length\": 21}}",
            NULL);
    t.dl_content = "echo \"from file: $1\"\n";
    th_start(&t);
    WT_EQ_INT(t.dl_calls, 1);
    WT_EQ_STR(t.dl_url, "/api/v1/files/" HEX64);
    WT_EQ_STR(t.dl_sha, HEX64);
    WT_EQ_INT(t.dl_len, 21);
    WT_OK(t.rc);
    WT_EQ_STR(out_stdout(&t), "from file: x y\n");
    th_release(&t);

    th_init(&t, "run_script",
            "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/a\", "
            "\"sha256\": \"" HEX64 "\", \"length\": 21}}",
            NULL);
    t.dl_rc = WARD_EVERIFY;
    th_start(&t);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_EVERIFY);
    WT_EQ_STR(t.error, "cannot download the script: sha256 mismatch");
    WT_ASSERT(t.output == NULL);
    th_release(&t);
}

WT_TEST(script_python)
{
    struct th t;
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("skip: no /usr/bin/python3\n");
        return;
    }
    th_init(&t, "run_script",
            "{\"interpreter\": \"/usr/bin/python3\", \"args\": [\"--flag\"], \"script\": "
            "\"import os, sys\\nprint(sys.argv[1:], os.environ['WARD_COMMAND_ID'])\\n\"}",
            NULL);
    th_start(&t);
    WT_OK(t.rc);
    WT_EQ_STR(out_stdout(&t), "['--flag'] cmd-0001\n");
    th_release(&t);
}

/* ---- full_wipe ----------------------------------------------------------------------------- */

/* The root filesystem on a plain partition. */
static void fx_plain_root(struct th *t)
{
    put_root(t, "proc/self/mountinfo", "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
    put_root(t, "proc/self/mounts", "/dev/vda1 / ext4 rw 0 0\n");
    put_root(t, "sys/devices/pci0000:00/virtio1/block/vda/vda1/dev", "254:1\n");
    link_root(t, "../../devices/pci0000:00/virtio1/block/vda/vda1", "sys/dev/block/254:1");
}

/* The root filesystem on a LUKS2 mapping dm-7 whose one slave is kname. */
static void fx_luks_root(struct th *t, const char *kname, const char *uuid)
{
    char hex[40], line[128], rel[256];
    size_t o = 0;
    for (const char *c = uuid; *c && o + 1 < sizeof(hex); c++)
        if (*c != '-')
            hex[o++] = *c;
    hex[o] = '\0';
    put_root(t, "proc/self/mountinfo",
             "22 1 253:7 / / rw,relatime - ext4 /dev/mapper/wardtest rw\n");
    put_root(t, "proc/self/mounts", "/dev/mapper/wardtest / ext4 rw 0 0\n");
    put_root(t, "sys/devices/virtual/block/dm-7/dev", "253:7\n");
    snprintf(line, sizeof(line), "CRYPT-LUKS2-%s-wardtest\n", hex);
    put_root(t, "sys/devices/virtual/block/dm-7/dm/uuid", line);
    put_root(t, "sys/devices/virtual/block/dm-7/dm/name", "wardtest\n");
    link_root(t, "../devices/virtual/block/dm-7", "sys/block/dm-7");
    link_root(t, "../../devices/virtual/block/dm-7", "sys/dev/block/253:7");
    snprintf(rel, sizeof(rel), "sys/devices/virtual/block/dm-7/slaves/%s", kname);
    snprintf(line, sizeof(line), "../../../../%s", kname);
    link_root(t, line, rel);
}

WT_TEST(wipe_personal_denied)
{
    struct th t;
    th_init(&t, "full_wipe", "{}", "personal");
    th_start(&t);
    WT_EQ_INT(t.await_calls, 0);
    WT_EQ_ERR(t.rc, WARD_EDENIED);
    WT_EQ_STR(t.error, "full wipe is not allowed on a personally owned device");
    th_release(&t);
}

WT_TEST(wipe_unencrypted_refused)
{
    struct th t;
    th_init(&t, "full_wipe", "{}", NULL);
    fx_plain_root(&t);
    th_start(&t);
    WT_EQ_INT(t.await_calls, 0);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_EINVAL);
    WT_CONTAINS(t.error,
                "the root filesystem is not encrypted; name the devices and allow overwriting");
    WT_CONTAINS(t.error, "not on device-mapper");
    th_release(&t);

    /* devices named but overwriting not allowed: still refused */
    th_init(&t, "full_wipe", "{\"devices\": [\"/dev/null\"]}", NULL);
    fx_plain_root(&t);
    th_start(&t);
    WT_EQ_ERR(t.rc, WARD_EINVAL);
    WT_CONTAINS(t.error, "the root filesystem is not encrypted");
    th_release(&t);

    th_init(&t, "full_wipe",
            "{\"devices\": [\"/dev/ward-no-such-disk\"], \"allow_overwrite\": true}", NULL);
    fx_plain_root(&t);
    th_start(&t);
    WT_EQ_ERR(t.rc, WARD_ENOENT);
    WT_EQ_STR(t.error, "/dev/ward-no-such-disk: no such device");
    th_release(&t);
}

WT_TEST(wipe_overwrite_plan_and_failure)
{
    struct th t;
    th_init(&t, "full_wipe", "{\"devices\": [\"/dev/null\"], \"allow_overwrite\": true}", NULL);
    fx_plain_root(&t);
    th_start(&t);
    WT_EQ_INT(t.done_calls, 0);
    WT_EQ_INT(t.await_calls, 1);
    WT_EQ_STR(ostr(t.output, "method"), "overwrite");
    WT_EQ_STR(json_string_value(json_array_get(json_object_get(t.output, "devices"), 0)),
              "/dev/null");
    WT_EQ_STR(ostr(t.saved, "method"), "overwrite");
    /* the overwrite refuses a character device: reported with what was done, no power-off */
    th_resume(&t, ENF_PHASE_ACKED, NULL);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_EINVAL);
    WT_CONTAINS(t.error, "overwriting /dev/null failed");
    WT_ASSERT(!obool(t.output, "erased"));
    WT_EQ_INT(json_array_size(json_object_get(t.output, "overwritten")), 0);
    WT_ASSERT(has_progress(&t, "overwriting /dev/null"));
    WT_ASSERT(!has_progress(&t, "powering off"));
    th_release(&t);
}

WT_TEST(wipe_luks_header_unreadable)
{
    struct th t;
    th_init(&t, "full_wipe", "{}", NULL);
    fx_luks_root(&t, "ward-test-nodev", "c3f96b11-f2bb-41ff-88f3-ffe8aeac0313");
    th_start(&t);
    WT_EQ_INT(t.await_calls, 0);
    WT_ASSERT(t.rc != 0);
    WT_CONTAINS(t.error, "the root filesystem is on the LUKS container /dev/ward-test-nodev, but "
                         "its header cannot be read");
    th_release(&t);
}

WT_TEST(wipe_cancel_before_anything)
{
    struct th t;
    th_init(&t, "full_wipe", "{\"devices\": [\"/dev/null\"], \"allow_overwrite\": true}", NULL);
    fx_plain_root(&t);
    WT_OK(t.job.cmd->start(&t.job));
    t.job.cmd->cancel(&t.job);
    th_run(&t);
    WT_EQ_INT(t.await_calls, 0);
    WT_EQ_ERR(t.rc, WARD_ECANCELED);
    WT_CONTAINS(t.error, "nothing was wiped");
    th_release(&t);
}

WT_TEST(wipe_resume_states)
{
    struct th t;
    th_init(&t, "full_wipe", "{}", NULL);
    th_resume(&t, ENF_PHASE_BOOTED, "{\"method\": \"crypto_erase\", \"device\": \"/dev/vda3\"}");
    WT_OK(t.rc);
    WT_ASSERT(obool(t.output, "wiped"));
    WT_EQ_STR(ostr(t.output, "method"), "crypto_erase");
    WT_EQ_STR(ostr(t.output, "device"), "/dev/vda3");
    th_release(&t);

    th_init(&t, "full_wipe", "{}", NULL);
    th_resume(&t, ENF_PHASE_ACKED, "{\"method\": \"shred\"}");
    WT_EQ_ERR(t.rc, WARD_ESTATE);
    WT_CONTAINS(t.error, "saved wipe plan");
    th_release(&t);

    th_init(&t, "full_wipe", "{}", NULL);
    th_resume(&t, ENF_PHASE_ACKED, "{\"method\": \"crypto_erase\", \"device\": \"/etc/passwd\"}");
    WT_EQ_ERR(t.rc, WARD_ESTATE);
    th_release(&t);

    th_init(&t, "full_wipe", "{}", "personal");
    th_resume(&t, ENF_PHASE_ACKED, "{\"method\": \"crypto_erase\", \"device\": \"/dev/vda3\"}");
    WT_EQ_ERR(t.rc, WARD_EDENIED);
    th_release(&t);
}

/* ---- against dbusmock's logind (test_commands_dbus.py) ------------------------------------- */

static int need_bus(void)
{
    if (!bus_mode()) {
        printf("skip: needs the private bus of test_commands_dbus.py\n");
        return 0;
    }
    return 1;
}

static const json_t *session_by_id(const json_t *list, const char *id)
{
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)(uintptr_t)list, i, e)
    {
        if (strcmp(ostr(e, "session"), id) == 0)
            return e;
    }
    return NULL;
}

BUS_TEST(bus_lock_none)
{
    struct th t;
    if (!need_bus())
        return;
    th_init(&t, "lock", "{}", NULL);
    th_start(&t);
    WT_OK(t.rc);
    WT_EQ_INT(json_array_size(json_object_get(t.output, "locked")), 0);
    WT_EQ_STR(ostr(t.output, "note"), "no graphical session");
    th_release(&t);
}

BUS_TEST(bus_lock)
{
    struct th t;
    const json_t *list, *s;
    if (!need_bus())
        return;
    th_init(&t, "lock", "{}", NULL);
    th_start(&t);
    if (t.rc != 0)
        wt_fail(__FILE__, __LINE__, "lock: %s %s", ward_err_name(t.rc), t.error);
    list = json_object_get(t.output, "locked");
    WT_EQ_INT(json_array_size(list), 2); /* the wayland and the x11 session, not tty/greeter */
    s = session_by_id(list, "c1");
    WT_ASSERT(s);
    WT_EQ_STR(ostr(s, "user"), "alice");
    WT_EQ_INT(oint(s, "uid"), 1000);
    WT_EQ_STR(ostr(s, "seat"), "seat0");
    WT_EQ_STR(ostr(s, "type"), "wayland");
    s = session_by_id(list, "c3");
    WT_ASSERT(s);
    WT_EQ_STR(ostr(s, "user"), "bob");
    WT_EQ_STR(ostr(s, "type"), "x11");
    WT_ASSERT(json_object_get(t.output, "note") == NULL);
    th_release(&t);
}

static void bus_power_acked(const char *cmd)
{
    struct th t;
    th_init(&t, cmd, "{}", NULL);
    boot_id(&t, BOOT_A);
    th_start(&t);
    WT_EQ_INT(t.await_calls, 1);
    th_resume(&t, ENF_PHASE_ACKED, NULL);
    /* logind accepted: the machine goes down, so no result now */
    WT_EQ_INT(t.done_calls, 0);
    WT_EQ_INT(t.await_calls, 0);
    th_release(&t);
}

BUS_TEST(bus_reboot)
{
    if (need_bus())
        bus_power_acked("reboot");
}

BUS_TEST(bus_shutdown)
{
    if (need_bus())
        bus_power_acked("shutdown");
}

BUS_TEST(bus_reboot_denied)
{
    struct th t;
    if (!need_bus())
        return;
    th_init(&t, "reboot", "{}", NULL);
    th_resume(&t, ENF_PHASE_ACKED, "{\"boot_id\": \"" BOOT_A "\"}");
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_EACCES);
    WT_CONTAINS(t.error, "Access denied by policy");
    th_release(&t);
}

/* WARD_TEST_WIPE_DEVICE: a loop device holding a LUKS2 container (uuid in
 * WARD_TEST_WIPE_UUID, two key slots) that the driver made and checks afterwards. */
BUS_TEST(bus_wipe_luks)
{
    struct th t;
    const char *dev = getenv("WARD_TEST_WIPE_DEVICE"), *uuid = getenv("WARD_TEST_WIPE_UUID");
    if (!need_bus())
        return;
    WT_ASSERT(dev && uuid && strncmp(dev, "/dev/loop", 9) == 0);
    th_init(&t, "full_wipe", "{}", NULL);
    fx_luks_root(&t, dev + 5, uuid);
    th_start(&t);
    if (t.await_calls != 1)
        wt_fail(__FILE__, __LINE__, "plan: %s %s", ward_err_name(t.rc), t.error);
    WT_EQ_STR(ostr(t.output, "method"), "crypto_erase");
    WT_EQ_STR(ostr(t.output, "device"), dev);
    WT_EQ_INT(oint(t.output, "luks_version"), 2);
    WT_EQ_INT(oint(t.output, "keyslots"), 2);
    WT_EQ_STR(ostr(t.saved, "method"), "crypto_erase");
    WT_EQ_STR(ostr(t.saved, "device"), dev);
    WT_EQ_STR(ostr(t.saved, "uuid"), uuid);

    th_resume(&t, ENF_PHASE_ACKED, NULL);
    if (t.done_calls != 0)
        wt_fail(__FILE__, __LINE__, "wipe: %s %s", ward_err_name(t.rc), t.error);
    WT_ASSERT(has_progress(&t, "crypto-erasing"));
    WT_ASSERT(has_progress(&t, "powering off"));

    /* an ACKED resumption after a crash: the header is gone, straight to the power-off */
    th_resume(&t, ENF_PHASE_ACKED, NULL);
    WT_EQ_INT(t.done_calls, 0);
    WT_ASSERT(!has_progress(&t, "crypto-erasing"));

    /* this device boots again (the test root was never on it) */
    th_resume(&t, ENF_PHASE_BOOTED, NULL);
    WT_OK(t.rc);
    WT_ASSERT(obool(t.output, "wiped"));
    WT_EQ_STR(ostr(t.output, "device"), dev);
    th_release(&t);
    printf("wiped %s\n", dev);
}

/* WARD_TEST_OVERWRITE_DEVICE: a loop device with random bytes, under a root not on LUKS. */
BUS_TEST(bus_wipe_overwrite)
{
    struct th t;
    char params[256];
    const char *dev = getenv("WARD_TEST_OVERWRITE_DEVICE");
    if (!need_bus())
        return;
    WT_ASSERT(dev && strncmp(dev, "/dev/loop", 9) == 0);
    snprintf(params, sizeof(params), "{\"devices\": [\"%s\"], \"allow_overwrite\": true}", dev);
    th_init(&t, "full_wipe", params, NULL);
    fx_plain_root(&t);
    th_start(&t);
    if (t.await_calls != 1)
        wt_fail(__FILE__, __LINE__, "plan: %s %s", ward_err_name(t.rc), t.error);
    WT_EQ_STR(ostr(t.output, "method"), "overwrite");
    th_resume(&t, ENF_PHASE_ACKED, NULL);
    if (t.done_calls != 0)
        wt_fail(__FILE__, __LINE__, "wipe: %s %s", ward_err_name(t.rc), t.error);
    WT_ASSERT(has_progress(&t, "overwriting"));
    th_release(&t);
}

/* ---- package and os_update ------------------------------------------------------------------
 * Real apt-get runs need root "/" and happen in the chroot test (test_cmd_package_chroot.py);
 * here: the parameters, the refusals that come before anything runs, and the pure parts
 * (the dpkg database diff, the security-only sources). */

WT_TEST(validate_package)
{
    WT_ASSERT(enf_cmd_find("package") && enf_cmd_find("os_update"));
    accepted("package", "{\"action\": \"install\", \"names\": [\"hello\", \"libc6:amd64\"]}");
    accepted("package", "{\"action\": \"remove\", \"names\": [\"g++\"]}");
    accepted("package", "{\"action\": \"upgrade\", \"names\": [\"openssl\"]}");
    accepted("package", "{\"action\": \"install\", \"file\": {\"url\": \"/api/v1/files/abc\", "
                        "\"sha256\": \"" HEX64 "\", \"length\": 1000}}");
    refused("package", "{\"names\": [\"hello\"]}", "missing required parameter \"action\"");
    refused("package", "{\"action\": \"purge\", \"names\": [\"hello\"]}", "$.action");
    refused("package", "{\"action\": \"install\"}", "give either names or file");
    refused("package", "{\"action\": \"install\", \"names\": []}", "$.names: must hold 1 to 1000");
    refused("package", "{\"action\": \"install\", \"names\": [\"-o\"]}",
            "$.names[0]: \"-o\" is not a Debian package name");
    refused("package", "{\"action\": \"install\", \"names\": [\"hello\", \"Hello World\"]}",
            "$.names[1]");
    refused("package", "{\"action\": \"install\", \"names\": [\"a;rm\"]}", "$.names[0]");
    refused("package", "{\"action\": \"install\", \"names\": [\"hello\\u0000x\"]}", "$.names[0]");
    refused("package",
            "{\"action\": \"remove\", \"file\": {\"url\": \"/api/v1/files/abc\", \"sha256\": "
            "\"" HEX64 "\", \"length\": 1000}}",
            "$.file: a package file can only be installed");
    refused("package",
            "{\"action\": \"install\", \"file\": {\"url\": \"/etc/passwd\", \"sha256\": \"" HEX64
            "\", \"length\": 1000}}",
            "$.file.url");
    refused("package",
            "{\"action\": \"install\", \"names\": [\"hello\"], \"file\": {\"url\": "
            "\"/api/v1/files/abc\", \"sha256\": \"" HEX64 "\", \"length\": 1}}",
            "not both");
    accepted("os_update", "{}");
    accepted("os_update", "{\"security_only\": true, \"reboot\": true}");
    refused("os_update", "{\"reboot\": \"yes\"}", "$.reboot: must be true or false");
    refused("os_update", "{\"dist_upgrade\": true}", "$.dist_upgrade: unknown parameter");

    /* only the file form runs code from the service */
    {
        json_t *p = load("{\"action\": \"install\", \"names\": [\"hello\"]}");
        WT_EQ_INT(enf_cmd_destructive(enf_cmd_find("package"), p), 0);
        json_decref(p);
        p = load("{\"action\": \"install\", \"file\": {\"url\": \"/api/v1/files/abc\", "
                 "\"sha256\": \"" HEX64 "\", \"length\": 1000}}");
        WT_EQ_INT(enf_cmd_destructive(enf_cmd_find("package"), p), 1);
        json_decref(p);
    }
}

WT_TEST(package_not_on_a_test_root)
{
    struct th t;
    const char *cmds[][2] = {{"package", "{\"action\": \"install\", \"names\": [\"hello\"]}"},
                             {"os_update", "{\"security_only\": true}"}};
    for (size_t i = 0; i < 2; i++) {
        th_init(&t, cmds[i][0], cmds[i][1], NULL);
        th_start(&t);
        WT_EQ_INT(t.done_calls, 1);
        WT_EQ_ERR(t.rc, WARD_ENOTSUP);
        WT_CONTAINS(t.error, "only on the live system (root /)");
        WT_EQ_INT(t.nartifacts, 0);
        th_release(&t);
    }
}

WT_TEST(package_personal_remove_denied)
{
    struct th t;
    th_init(&t, "package", "{\"action\": \"remove\", \"names\": [\"firefox-esr\"]}", "personal");
    th_start(&t);
    WT_EQ_INT(t.done_calls, 1);
    WT_EQ_ERR(t.rc, WARD_EDENIED);
    WT_CONTAINS(t.error, "\"firefox-esr\" was not installed by the organisation");
    th_release(&t);

    /* a package Ward installed may go again: the refusal does not apply (and then the test
     * root stops it before apt-get) */
    th_init(&t, "package", "{\"action\": \"remove\", \"names\": [\"corp-vpn\", \"corp-agent\"]}",
            "personal");
    WT_OK(h_artifact_add(&t.job, "package", "corp-vpn", NULL));
    th_start(&t);
    WT_EQ_ERR(t.rc, WARD_EDENIED);
    WT_CONTAINS(t.error, "\"corp-agent\"");
    th_reset_results(&t);
    WT_OK(h_artifact_add(&t.job, "package", "corp-agent", NULL));
    th_start(&t);
    WT_EQ_ERR(t.rc, WARD_ENOTSUP);
    th_release(&t);

    /* corporate devices remove what they are told to */
    th_init(&t, "package", "{\"action\": \"remove\", \"names\": [\"firefox-esr\"]}", NULL);
    th_start(&t);
    WT_EQ_ERR(t.rc, WARD_ENOTSUP);
    th_release(&t);
}

#define STANZA(name, arch, status, ver)                                                            \
    "Package: " name "\nStatus: " status "\nPriority: optional\nArchitecture: " arch               \
    "\nVersion: " ver "\nDescription: x\n continued line\n .\n more\n\n"

WT_TEST(dpkg_diff)
{
    const char *before = STANZA("libc6", "amd64", "install ok installed", "2.36-9")
        STANZA("hello", "amd64", "deinstall ok config-files", "2.10-2")
            STANZA("zlib1g", "amd64", "install ok installed", "1:1.2.13")
                STANZA("libfoo", "i386", "install ok installed", "1.0")
                    STANZA("libfoo", "amd64", "install ok installed", "1.0")
                        STANZA("old", "all", "install ok installed", "3");
    const char *after = STANZA("zlib1g", "amd64", "install ok installed", "1:1.2.13")
        STANZA("libfoo", "amd64", "install ok installed", "1.1")
            STANZA("hello", "amd64", "install ok installed", "2.10-3")
                STANZA("libc6", "amd64", "install ok installed", "2.36-9+deb12u1")
                    STANZA("libfoo", "i386", "install ok installed", "1.0")
                        STANZA("old", "all", "deinstall ok config-files", "3");
    struct enf_dpkg_pkg *list;
    size_t n;
    json_t *d;
    char *text;

    WT_OK(enf_dpkg_installed(before, strlen(before), &list, &n));
    WT_EQ_INT((int)n, 5); /* hello is only config files */
    WT_ASSERT(list[0].name_len == 5 && memcmp(list[0].name, "libc6", 5) == 0);
    ward_free(list);

    WT_OK(enf_dpkg_diff(before, strlen(before), after, strlen(after), &d));
    text = json_dumps(d, JSON_COMPACT);
    WT_EQ_STR(text, "[{\"name\":\"hello\",\"arch\":\"amd64\",\"before\":null,\"after\":\"2.10-3\"},"
                    "{\"name\":\"libc6\",\"arch\":\"amd64\",\"before\":\"2.36-9\",\"after\":"
                    "\"2.36-9+deb12u1\"},"
                    "{\"name\":\"libfoo\",\"arch\":\"amd64\",\"before\":\"1.0\",\"after\":\"1.1\"},"
                    "{\"name\":\"old\",\"arch\":\"all\",\"before\":\"3\",\"after\":null}]");
    free(text);
    json_decref(d);

    /* no change, empty and truncated databases */
    WT_OK(enf_dpkg_diff(after, strlen(after), after, strlen(after), &d));
    WT_EQ_INT((int)json_array_size(d), 0);
    json_decref(d);
    WT_OK(enf_dpkg_diff("", 0, "Package: x\nStatus: install ok installed", 39, &d));
    WT_EQ_INT((int)json_array_size(d), 1);
    WT_EQ_STR(json_string_value(json_object_get(json_array_get(d, 0), "after")), "");
    json_decref(d);
}

WT_TEST(apt_security_sources)
{
    const char *list = "# main\n"
                       "deb http://deb.debian.org/debian bookworm main\n"
                       "deb-src http://deb.debian.org/debian-security bookworm-security main\n"
                       "deb http://deb.debian.org/debian-security bookworm-security main "
                       "contrib\n"
                       "  deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] "
                       "http://security.ubuntu.com/ubuntu jammy-security main\n"
                       "deb [arch=amd64 http://x/ bookworm-security main\n"
                       "deb http://archive.debian.org/debian-security buster/updates main\n"
                       "#deb http://deb.debian.org/debian-security bookworm-security main\n"
                       "deb http://deb.debian.org/debian bookworm-updates main\n";
    const char *deb822 = "Types: deb\n"
                         "URIs: http://deb.debian.org/debian\n"
                         "Suites: bookworm bookworm-updates\n"
                         "Components: main\n"
                         "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
                         "\n"
                         "# security\n"
                         "Types: deb deb-src\n"
                         "URIs: http://deb.debian.org/debian-security\n"
                         "Suites: bookworm-security bookworm\n"
                         "Components: main\n"
                         "Signed-By:\n"
                         " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
                         " .\n"
                         " Suites: trixie-security\n"
                         " -----END PGP PUBLIC KEY BLOCK-----\n"
                         "\n\n"
                         "Types: deb\nURIs: http://x/\nSuites: sid\nComponents: main\n";
    struct ward_buf out;
    size_t kept = 0;

    ward_buf_init(&out, 65536);
    WT_OK(enf_apt_security_list(list, strlen(list), &out, &kept));
    WT_EQ_INT((int)kept, 3);
    WT_EQ_STR(out.data, "deb http://deb.debian.org/debian-security bookworm-security main contrib\n"
                        "  deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] "
                        "http://security.ubuntu.com/ubuntu jammy-security main\n"
                        "deb http://archive.debian.org/debian-security buster/updates main\n");
    ward_buf_reset(&out);
    kept = 0;
    WT_OK(enf_apt_security_sources(deb822, strlen(deb822), &out, &kept));
    WT_EQ_INT((int)kept, 1);
    WT_EQ_STR(out.data, "# security\n"
                        "Types: deb deb-src\n"
                        "URIs: http://deb.debian.org/debian-security\n"
                        "Suites: bookworm-security\n"
                        "Components: main\n"
                        "Signed-By:\n"
                        " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
                        " .\n"
                        " Suites: trixie-security\n"
                        " -----END PGP PUBLIC KEY BLOCK-----\n");
    ward_buf_reset(&out);
    kept = 0;
    WT_OK(enf_apt_security_sources("Types: deb\nSuites: sid\n", 23, &out, &kept));
    WT_EQ_INT((int)kept, 0);
    WT_EQ_INT((int)out.len, 0);
    ward_buf_release(&out);
}

WT_TEST(apt_removal_plan)
{
    const char *plan = "NOTE: This is only a simulation!\n"
                       "Reading package lists...\n"
                       "The following packages will be REMOVED:\n"
                       "  hello user-tool\n"
                       "Remv user-tool [1.0]\n"
                       "Remv hello [2.10-3]\n"
                       "Remv libfoo:i386 [1.0]\n"
                       "Remv\n"
                       "Inst nothing [1]\n";
    json_t *names;
    char *text;
    WT_OK(enf_apt_removals(plan, strlen(plan), &names));
    text = json_dumps(names, JSON_COMPACT);
    WT_EQ_STR(text, "[\"user-tool\",\"hello\",\"libfoo\"]");
    free(text);
    json_decref(names);
    WT_OK(enf_apt_removals("", 0, &names));
    WT_EQ_INT((int)json_array_size(names), 0);
    json_decref(names);
}
