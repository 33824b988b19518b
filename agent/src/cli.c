/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `ward` command line. Global options come before the subcommand, as with `git -C`,
 * so one binary serves the system service (defaults: system paths) and unprivileged runs
 * with all state in one folder (tests, the demo). Subcommands are a table; each returns the
 * process exit status.
 */
#define WARD_LOG_TAG "cli"

#include "agent/cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <zlib.h>

#include "agent/checkin.h"
#include "agent/config.h"
#include "agent/daemon.h"
#include "agent/enroll.h"
#include "agent/invsync.h"
#include "agent/jobs.h"
#include "agent/session.h"
#include "agent/state.h"
#include "agent/status.h"
#include "agent/ipc.h"
#include "inventory/inventory.h"
#include "enforcement/baseline.h"
#include "platform/proc.h"
#include "platform/service.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/config.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define MAX_OVERRIDES 16

struct cli {
    const char *config_path;
    int config_explicit;
    const char *overrides[MAX_OVERRIDES];
    char override_mem[MAX_OVERRIDES][1024];
    size_t n_overrides;
    struct agent_config cfg;
};

struct cli_command {
    const char *name;
    const char *args;
    const char *summary;
    int (*run)(struct cli *c, int argc, char **argv);
};

static int cmd_run(struct cli *c, int argc, char **argv);
static int cmd_version(struct cli *c, int argc, char **argv);
static int cmd_sysinfo(struct cli *c, int argc, char **argv);
static int cmd_config(struct cli *c, int argc, char **argv);
static int cmd_help(struct cli *c, int argc, char **argv);
static int cmd_enroll(struct cli *c, int argc, char **argv);
static int cmd_checkin(struct cli *c, int argc, char **argv);
static int cmd_status(struct cli *c, int argc, char **argv);
static int cmd_inventory(struct cli *c, int argc, char **argv);
static int cmd_baseline(struct cli *c, int argc, char **argv);
static int cmd_service(struct cli *c, int argc, char **argv);
static int cmd_sync(struct cli *c, int argc, char **argv);
static int cmd_defer(struct cli *c, int argc, char **argv);
static int cmd_restart_now(struct cli *c, int argc, char **argv);

static const struct cli_command commands[] = {
    {.name = "run",
     .args = "[--service]",
     .summary = "run the agent (in the foreground; --service: as the Windows service)",
     .run = cmd_run},
    {.name = "version",
     .args = "[--json]",
     .summary = "print the version and library versions",
     .run = cmd_version},
    {.name = "sysinfo",
     .args = "[--json]",
     .summary = "print this machine's identity",
     .run = cmd_sysinfo},
    {.name = "config",
     .args = "check FILE",
     .summary = "validate a configuration file",
     .run = cmd_config},
    {.name = "enroll",
     .args = "--token T | --token-file F [--force]",
     .summary = "enroll with a management service (or WARD_ENROLL_TOKEN)",
     .run = cmd_enroll},
    {.name = "checkin",
     .args = "[--inventory]",
     .summary = "check in once now (commands, results, inventory when due) and exit",
     .run = cmd_checkin},
    {.name = "status",
     .args = "[--json]",
     .summary = "show enrollment, certificate and check-in state (live from the daemon)",
     .run = cmd_status},
    {.name = "sync",
     .args = "",
     .summary = "ask the running agent to check in now (any user; rate-limited)",
     .run = cmd_sync},
    {.name = "defer",
     .args = "[COMMAND-ID]",
     .summary = "postpone a pending restart (the active session's user, or root)",
     .run = cmd_defer},
    {.name = "restart-now",
     .args = "[COMMAND-ID]",
     .summary = "do a pending restart now instead of at its time",
     .run = cmd_restart_now},
    {.name = "baseline",
     .args = "check|apply FILE | remove ID | schema",
     .summary = "check or apply a baseline here (--root, --json)",
     .run = cmd_baseline},
    {.name = "inventory",
     .args = "[--json] [--section S]... [--root DIR] [--schema-markdown]",
     .summary = "collect and print this machine's inventory",
     .run = cmd_inventory},
    {.name = "service",
     .args = "install | uninstall | status [--json]",
     .summary = "register this binary with the service manager (installs without a package)",
     .run = cmd_service},
    {.name = "help",
     .args = "[--man]",
     .summary = "show this help (--man: as the ward(8) manual page)",
     .run = cmd_help},
    {.name = NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ward [--config FILE] [--state-dir DIR] [--root DIR] [--log-level LEVEL]\n"
               "            <command> [args]\n\ncommands:\n");
    for (const struct cli_command *k = commands; k->name; k++) {
        char left[160];
        snprintf(left, sizeof(left), "%s %s", k->name, k->args);
        /* Long argument lists get a line of their own, the summary under them. */
        if (strlen(left) > 30)
            fprintf(f, "  %s\n  %-30s %s\n", left, "", k->summary);
        else
            fprintf(f, "  %-30s %s\n", left, k->summary);
    }
    fprintf(f, "\ndefaults: config %s, state %s\n", WARD_DEFAULT_CONFIG, WARD_DEFAULT_STATE_DIR);
}

static int has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return 1;
    return 0;
}

/* Rejects arguments a subcommand does not know, so typos are not silently ignored. */
static int check_args(const char *cmd, int argc, char **argv, const char *const *allowed)
{
    for (int i = 1; i < argc; i++) {
        int ok = 0;
        for (const char *const *a = allowed; a && *a; a++)
            if (strcmp(argv[i], *a) == 0)
                ok = 1;
        if (!ok) {
            fprintf(stderr, "ward %s: unknown argument '%s'\n", cmd, argv[i]);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

static int print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) {
        fprintf(stderr, "ward: out of memory\n");
        return EXIT_FAIL;
    }
    printf("%s\n", s);
    free(s);
    return EXIT_OK;
}

/* Loads config file + overrides into c->cfg. A missing default file is fine (defaults);
 * a missing explicit --config is not. */
static int load_config(struct cli *c)
{
    struct ward_buf errs;
    int rc;

    ward_buf_init(&errs, 64 * 1024);
    rc = agent_config_load_file(&c->cfg, c->config_path, &errs);
    if (rc == WARD_ENOENT && !c->config_explicit)
        rc = 0;
    if (rc != 0) {
        if (errs.len)
            fprintf(stderr, "%s", errs.data);
        else
            fprintf(stderr, "ward: %s: %s\n", c->config_path, ward_strerror(rc));
        goto out;
    }
    rc = agent_config_apply_policy(&c->cfg, &errs);
    if (rc != 0) {
        fprintf(stderr, "ward: a setting the installer left is invalid: %s",
                errs.data ? errs.data : ward_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < c->n_overrides; i++) {
        const char *eq = strchr(c->overrides[i], '=');
        char name[64];
        size_t n = (size_t)(eq - c->overrides[i]);
        memcpy(name, c->overrides[i], n);
        name[n] = '\0';
        rc = agent_config_set(&c->cfg, name, eq + 1, &errs);
        if (rc != 0) {
            fprintf(stderr, "%s", errs.data ? errs.data : "ward: bad option\n");
            goto out;
        }
    }
out:
    ward_buf_release(&errs);
    return rc;
}

struct run_args {
    struct cli *c;
    struct agent_daemon_opts o;
};

static int run_daemon(void *ctx)
{
    struct run_args *a = ctx;
    return agent_daemon_run(&a->c->cfg, &a->o);
}

static int cmd_run(struct cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"--service", NULL};
    struct run_args a = {.c = c};
    int rc;
    if (check_args("run", argc, argv, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (load_config(c) != 0)
        return EXIT_FAIL;
    a.o.config_path = c->config_path;
    a.o.config_required = c->config_explicit;
    a.o.overrides = c->overrides;
    a.o.n_overrides = c->n_overrides;
    /* --service: under the service manager's dispatcher (Windows' SCM; systemd needs none) */
    rc = has_flag(argc, argv, "--service") ? plat_service_dispatch("ward", run_daemon, &a)
                                           : run_daemon(&a);
    if (rc != 0) {
        fprintf(stderr, "ward run: %s\n", ward_strerror(rc));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int cmd_version(struct cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"--json", NULL};
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    (void)c;
    if (check_args("version", argc, argv, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (has_flag(argc, argv, "--json")) {
        json_t *j =
            json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "version", WARD_VERSION, "os",
                      WARD_OS_NAME, "libraries", "libuv", uv_version_string(), "libcurl",
                      cv->version, "openssl", OpenSSL_version(OPENSSL_VERSION_STRING), "jansson",
                      jansson_version_str(), "sqlite", sqlite3_libversion(), "zlib", zlibVersion());
        int rc = j ? print_json(j) : EXIT_FAIL;
        json_decref(j);
        return rc;
    }
    printf("ward %s (%s)\n", WARD_VERSION, WARD_OS_NAME);
    printf("libuv %s, libcurl %s, OpenSSL %s, jansson %s, SQLite %s, zlib %s\n",
           uv_version_string(), cv->version, OpenSSL_version(OPENSSL_VERSION_STRING),
           jansson_version_str(), sqlite3_libversion(), zlibVersion());
    return EXIT_OK;
}

static int cmd_sysinfo(struct cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"--json", NULL};
    struct plat_sysinfo si;
    char boot[32] = "";
    int rc;

    if (check_args("sysinfo", argc, argv, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (load_config(c) != 0)
        return EXIT_FAIL;
    rc = plat_sysinfo_get(c->cfg.root, &si);
    if (rc != 0) {
        fprintf(stderr, "ward sysinfo: %s\n", ward_strerror(rc));
        return EXIT_FAIL;
    }
    ward_time_iso(si.boot_time, boot, sizeof(boot));
    if (has_flag(argc, argv, "--json")) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "hostname",
                              si.hostname, "os_id", si.os_id, "os_name", si.os_name, "os_version",
                              si.os_version, "os_pretty", si.os_pretty, "os_build", si.os_build,
                              "kernel", si.kernel, "arch", si.arch, "machine_id", si.machine_id,
                              "boot_time", boot[0] ? boot : NULL);
        rc = j ? print_json(j) : EXIT_FAIL;
        json_decref(j);
        return rc;
    }
    printf("hostname:   %s\n", si.hostname);
    printf("os:         %s\n", si.os_pretty[0] ? si.os_pretty : si.os_name);
    printf("os id:      %s %s%s%s\n", si.os_id, si.os_version, si.os_build[0] ? " build " : "",
           si.os_build);
    printf("kernel:     %s\n", si.kernel);
    printf("arch:       %s\n", si.arch);
    printf("machine id: %s\n", si.machine_id[0] ? si.machine_id : "(absent)");
    printf("boot time:  %s\n", boot[0] ? boot : "(unknown)");
    return EXIT_OK;
}

static int cmd_config(struct cli *c, int argc, char **argv)
{
    struct ward_buf errs;
    struct agent_config tmp;
    int rc;
    (void)c;
    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "usage: ward config check FILE\n");
        return EXIT_USAGE;
    }
    if (agent_config_init(&tmp) != 0) {
        fprintf(stderr, "ward: out of memory\n");
        return EXIT_FAIL;
    }
    ward_buf_init(&errs, 64 * 1024);
    rc = agent_config_load_file(&tmp, argv[2], &errs);
    if (rc == 0) {
        printf("%s: OK\n", argv[2]);
    } else if (errs.len) {
        fprintf(stderr, "%s", errs.data);
    } else {
        fprintf(stderr, "%s: %s\n", argv[2], ward_strerror(rc));
    }
    ward_buf_release(&errs);
    agent_config_release(&tmp);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* One-shot commands print one clear line of their own; informational log lines (a new
 * state database ...) would only crowd it, so they show with -v / --log-level debug. */
static void quiet_logs(const struct cli *c)
{
    ward_log_set_level(c->cfg.log_level == WARD_LOG_INFO ? WARD_LOG_WARN : c->cfg.log_level);
}

static int cmd_enroll(struct cli *c, int argc, char **argv)
{
    struct agent_enroll_opts o = {0};
    char msg[1024];
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0) {
            o.force = 1;
        } else if ((strcmp(argv[i], "--token") == 0 || strcmp(argv[i], "--token-file") == 0) &&
                   i + 1 < argc) {
            if (argv[i][7] == '\0')
                o.token = argv[++i];
            else
                o.token_file = argv[++i];
        } else {
            fprintf(stderr,
                    "ward enroll: unknown argument '%s' (usage: ward enroll --token TOKEN "
                    "| --token-file FILE [--force])\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    if (o.token && o.token_file) {
        fprintf(stderr, "ward enroll: give --token or --token-file, not both\n");
        return EXIT_USAGE;
    }
    if (!o.token && !o.token_file)
        o.token = getenv("WARD_ENROLL_TOKEN");
    if (!o.token && !o.token_file) {
        fprintf(stderr, "ward enroll: no token (--token, --token-file or WARD_ENROLL_TOKEN)\n");
        return EXIT_USAGE;
    }
    if (load_config(c) != 0)
        return EXIT_FAIL;
    quiet_logs(c);
    rc = agent_enroll(&c->cfg, &o, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "ward enroll: %s\n", msg);
        return EXIT_FAIL;
    }
    printf("%s\n", msg);
    return EXIT_OK;
}

struct checkin_once {
    int rc;
    int done;
};

static void on_checkin_done(int rc, void *ctx)
{
    struct checkin_once *o = ctx;
    o->rc = rc;
    o->done = 1;
}

static void print_inventory_upload(const char *last)
{
    json_t *j = NULL;
    if (ward_json_loadb(last, strlen(last), NULL, &j, NULL) != 0)
        return;
    printf("inventory: %s upload (%s collection), %lld bytes on the wire, %lld added, %lld "
           "removed, %lld changed\n",
           json_string_value(json_object_get(j, "kind")),
           json_string_value(json_object_get(j, "collection")),
           (long long)json_integer_value(json_object_get(j, "wire_bytes")),
           (long long)json_integer_value(json_object_get(j, "added")),
           (long long)json_integer_value(json_object_get(j, "removed")),
           (long long)json_integer_value(json_object_get(j, "changed")));
    json_decref(j);
}

static int cmd_checkin(struct cli *c, int argc, char **argv)
{
    struct agent_state *st = NULL;
    struct agent_parts parts = {0};
    struct checkin_once once = {0};
    static const char *const allowed[] = {"--inventory", NULL};
    uv_loop_t loop;
    char *when = NULL, *err = NULL, *inv = NULL;
    int rc;

    if (check_args("checkin", argc, argv, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (load_config(c) != 0)
        return EXIT_FAIL;
    quiet_logs(c);
    rc = agent_state_open(c->cfg.state_dir, &st);
    if (rc != 0) {
        fprintf(stderr, "ward checkin: cannot open state in %s: %s\n", c->cfg.state_dir,
                ward_strerror(rc));
        return EXIT_FAIL;
    }
    if (has_flag(argc, argv, "--inventory") && agent_inv_request_full(st) != 0) {
        agent_state_close(st);
        fprintf(stderr, "ward checkin: cannot record the inventory request\n");
        return EXIT_FAIL;
    }
    agent_state_get(st, AGENT_META_INV_LAST, &inv);
    if (uv_loop_init(&loop) != 0) {
        ward_free(inv);
        agent_state_close(st);
        fprintf(stderr, "ward checkin: cannot create the event loop\n");
        return EXIT_FAIL;
    }
    /* The daemon's parts, for one cycle (no drift watchers: each run evaluates afresh). */
    rc = agent_parts_open(&loop, st, &c->cfg, &parts);
    if (rc == 0) {
        rc = agent_checkin_once(parts.checkin, on_checkin_done, &once);
        if (rc == 0)
            uv_run(&loop, UV_RUN_DEFAULT);
    }
    agent_parts_close(&parts, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rc == 0)
        rc = once.done ? once.rc : WARD_EIO;
    if (rc == 0) {
        char *now_inv = NULL;
        agent_state_get(st, "last_checkin", &when);
        printf("checked in at %s\n", when ? when : "?");
        /* One line about the inventory when this run uploaded one. */
        if (agent_state_get(st, AGENT_META_INV_LAST, &now_inv) == 0 &&
            (!inv || strcmp(inv, now_inv) != 0))
            print_inventory_upload(now_inv);
        ward_free(now_inv);
    } else if (rc == WARD_ESTATE) {
        fprintf(stderr, "ward checkin: not enrolled (run ward enroll --token TOKEN)\n");
    } else if (rc == WARD_EREVOKED) {
        fprintf(stderr, "ward checkin: this device needs re-enrollment (see ward status): "
                        "ward enroll --force --token TOKEN\n");
    } else {
        agent_state_get(st, "last_error", &err);
        fprintf(stderr, "ward checkin: %s\n", err ? err : ward_strerror(rc));
    }
    ward_free(when);
    ward_free(err);
    ward_free(inv);
    agent_state_close(st);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

static void status_line(const char *label, const json_t *v)
{
    if (json_is_string(v))
        printf("%-18s %s\n", label, json_string_value(v));
    else if (json_is_integer(v))
        printf("%-18s %lld\n", label, (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        printf("%-18s %s\n", label, json_is_true(v) ? "yes" : "no");
    else
        printf("%-18s -\n", label);
}

/* "compliance:  2 baseline(s), 3 failing setting(s), last evaluated ..." */
static void print_compliance_line(const json_t *bl)
{
    const char *when = json_string_value(json_object_get(bl, "last_evaluation"));
    long long n = (long long)json_integer_value(json_object_get(bl, "baselines"));
    if (!json_is_object(bl))
        return;
    if (n == 0) {
        printf("%-18s no baselines assigned\n", "compliance:");
        return;
    }
    printf("%-18s %lld baseline(s), %lld failing setting(s), last evaluated %s%s\n",
           "compliance:", n, (long long)json_integer_value(json_object_get(bl, "failing")),
           when ? when : "never",
           json_integer_value(json_object_get(bl, "unreported")) > 0 ? " (not yet reported)" : "");
}

static char *ipc_path(const struct cli *c)
{
    char *p = NULL;
    if (c->cfg.ipc_socket)
        return ward_strdup(c->cfg.ipc_socket);
    return agent_ipc_default_path(c->cfg.state_dir, &p) == 0 ? p : NULL;
}

/* The daemon's live status, or NULL (rc says why: no daemon, refused, ...). */
static json_t *status_from_daemon(const struct cli *c, int *rc)
{
    char *path = ipc_path(c);
    json_t *ans = NULL, *res = NULL;
    *rc = path ? agent_ipc_call(path, "status", NULL, 5000, &ans) : WARD_ENOMEM;
    ward_free(path);
    if (*rc == 0 && json_is_true(json_object_get(ans, "ok")) &&
        json_is_object(json_object_get(ans, "result")))
        res = json_incref(json_object_get(ans, "result"));
    else if (*rc == 0)
        *rc = WARD_EPROTO;
    json_decref(ans);
    return res;
}

static void print_live(const json_t *j)
{
    const json_t *d = json_object_get(j, "daemon"), *e;
    size_t i;
    if (!json_is_object(d)) {
        printf("%-18s not running (read from the state database)\n", "daemon:");
        return;
    }
    printf("%-18s running, pid %lld, since %s\n",
           "daemon:", (long long)json_integer_value(json_object_get(d, "pid")),
           json_string_value(json_object_get(d, "started_at")));
    json_array_foreach(json_object_get(j, "running"), i, e)
    {
        const json_t *n = json_object_get(e, "notice");
        printf("%-18s %s (%s)\n", i == 0 ? "running now:" : "",
               json_string_value(json_object_get(e, "type")),
               json_string_value(json_object_get(e, "id")));
        if (json_is_object(n))
            printf("%-18s %s at %s, postponed %lld of %lld time(s)%s%s\n",
                   "pending:", json_string_value(json_object_get(n, "action")),
                   json_string_value(json_object_get(n, "due")),
                   (long long)json_integer_value(json_object_get(n, "deferred")),
                   (long long)json_integer_value(json_object_get(n, "deferrals")),
                   json_is_string(json_object_get(n, "message")) ? ": " : "",
                   json_is_string(json_object_get(n, "message"))
                       ? json_string_value(json_object_get(n, "message"))
                       : "");
    }
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"--json", NULL};
    static const struct {
        const char *key, *label;
    } rows[] = {
        {"state", "state:"},
        {"device_id", "device id:"},
        {"server", "server:"},
        {"cert_not_after", "certificate until:"},
        {"cert_renew_at", "renewal from:"},
        {"ownership", "ownership:"},
        {"grants", "grants:"},
        {"offline_key", "offline key:"},
        {"last_checkin", "last check-in:"},
        {"next_checkin", "next check-in:"},
        {"pending_commands", "pending commands:"},
        {"pending_results", "pending results:"},
        {"last_error", "last error:"},
        {"reenroll_reason", "re-enroll reason:"},
    };
    struct agent_state *st = NULL;
    json_t *j = NULL;
    int rc;

    int drc;

    if (check_args("status", argc, argv, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (load_config(c) != 0)
        return EXIT_FAIL;
    quiet_logs(c);
    /* The running daemon first (live: what runs now, a pending restart); its database
     * when none answers. */
    j = status_from_daemon(c, &drc);
    if (!j) {
        rc = agent_state_open(c->cfg.state_dir, &st);
        if (rc == 0)
            rc = agent_status_collect(st, &j);
        agent_state_close(st);
        if (rc != 0) {
            fprintf(stderr,
                    "ward status: no agent daemon answers (%s), and the state in %s cannot be "
                    "read: %s\n",
                    ward_strerror(drc), c->cfg.state_dir, ward_strerror(rc));
            return EXIT_FAIL;
        }
    }
    if (has_flag(argc, argv, "--json")) {
        rc = print_json(j);
    } else {
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            const json_t *v = json_object_get(j, rows[i].key);
            if (strcmp(rows[i].key, "reenroll_reason") == 0 && json_is_null(v))
                continue;
            status_line(rows[i].label, v);
        }
        print_compliance_line(json_object_get(j, "compliance"));
        print_live(j);
        if (json_is_string(json_object_get(j, "hint")))
            printf("\n%s\n", json_string_value(json_object_get(j, "hint")));
        rc = EXIT_OK;
    }
    json_decref(j);
    return rc;
}

/* sync, defer, restart-now: one request to the running daemon; its refusal is printed as
 * it gave it. */
static int ipc_verb(struct cli *c, int argc, char **argv, const char *cmd, const char *verb,
                    int takes_command, const char *done)
{
    json_t *fields = json_object(), *ans = NULL, *err;
    char *path = NULL;
    int rc;
    if (argc > (takes_command ? 2 : 1) || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: ward %s%s\n", cmd, takes_command ? " [COMMAND-ID]" : "");
        json_decref(fields);
        return EXIT_USAGE;
    }
    if (load_config(c) != 0) {
        json_decref(fields);
        return EXIT_FAIL;
    }
    quiet_logs(c);
    if (argc == 2)
        json_object_set_new(fields, "command", json_string(argv[1]));
    path = ipc_path(c);
    rc = path ? agent_ipc_call(path, verb, fields, 10000, &ans) : WARD_ENOMEM;
    json_decref(fields);
    if (rc != 0) {
        fprintf(stderr, "ward %s: no agent daemon answers on %s: %s\n", cmd, path ? path : "?",
                ward_strerror(rc));
        ward_free(path);
        return EXIT_FAIL;
    }
    ward_free(path);
    if (json_is_true(json_object_get(ans, "ok"))) {
        printf("%s\n", done);
        json_decref(ans);
        return EXIT_OK;
    }
    err = json_object_get(ans, "error");
    fprintf(stderr, "ward %s: %s (%s)\n", cmd,
            json_string_value(json_object_get(err, "message"))
                ? json_string_value(json_object_get(err, "message"))
                : "refused",
            json_string_value(json_object_get(err, "code"))
                ? json_string_value(json_object_get(err, "code"))
                : "?");
    json_decref(ans);
    return EXIT_FAIL;
}

static int cmd_sync(struct cli *c, int argc, char **argv)
{
    return ipc_verb(c, argc, argv, "sync", "sync", 0, "the agent checks in now");
}

static int cmd_defer(struct cli *c, int argc, char **argv)
{
    return ipc_verb(c, argc, argv, "defer", "defer", 1, "postponed");
}

static int cmd_restart_now(struct cli *c, int argc, char **argv)
{
    return ipc_verb(c, argc, argv, "restart-now", "restart_now", 1,
                    "the pending action goes ahead now");
}

/* Collects the local inventory (no server involved) and prints it. Sections that fail are
 * reported inside the document; only a failure to collect at all is an error exit. */
static int cmd_inventory(struct cli *c, int argc, char **argv)
{
    const char *sections[32], *root = NULL;
    size_t ns = 0;
    struct inv_options o = {0};
    struct inv_doc *doc = NULL;
    struct ward_buf out;
    char *text = NULL;
    int json = 0, md = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--schema-markdown") == 0) {
            md = 1;
        } else if ((strcmp(argv[i], "--section") == 0 || strcmp(argv[i], "--root") == 0) &&
                   i + 1 < argc) {
            if (argv[i][2] == 'r') {
                root = argv[++i];
            } else if (!inv_section_find(argv[i + 1]) || ns + 1 >= 32) {
                fprintf(stderr, "ward inventory: unknown section '%s'\n", argv[i + 1]);
                return EXIT_USAGE;
            } else {
                sections[ns++] = argv[++i];
            }
        } else {
            fprintf(stderr, "ward inventory: unknown argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    ward_buf_init(&out, (size_t)256 << 20);
    if (md) {
        rc = inv_schema_markdown(&out);
        if (rc == 0)
            fwrite(out.data, 1, out.len, stdout);
        ward_buf_release(&out);
        return rc == 0 ? EXIT_OK : EXIT_FAIL;
    }
    if (load_config(c) != 0) {
        ward_buf_release(&out);
        return EXIT_FAIL;
    }
    quiet_logs(c);
    sections[ns] = NULL;
    o.root = root ? root : c->cfg.root;
    o.sections = ns ? sections : NULL;
    rc = inv_collect(&o, &doc);
    if (rc == 0 && json) {
        size_t len = 0;
        rc = inv_doc_dump(doc, 0, &text, &len);
        if (rc == 0) {
            fwrite(text, 1, len, stdout);
            fputc('\n', stdout);
        }
    } else if (rc == 0) {
        rc = inv_doc_summary(doc, &out);
        if (rc == 0)
            fwrite(out.data, 1, out.len, stdout);
    }
    if (rc != 0)
        fprintf(stderr, "ward inventory: %s\n", ward_strerror(rc));
    ward_free(text);
    ward_buf_release(&out);
    inv_doc_free(doc);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* roff text: backslashes doubled, a leading . or ' escaped, - as \- (a real hyphen). */
static void man_text(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

static const char *const config_type_names[] = {"string", "integer", "size",
                                                "choice", "URL",     "path"};

/* ward(8), from the same tables as `ward help` and the configuration schema. */
static void man_page(FILE *f)
{
    fprintf(f, ".TH WARD 8 \"\" \"ward %s\" \"System Administration\"\n", WARD_VERSION);
    fputs(".SH NAME\nward \\- device management agent\n"
          ".SH SYNOPSIS\n.B ward\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] "
          "[\\fB\\-\\-state\\-dir\\fR \\fIDIR\\fR] [\\fB\\-\\-root\\fR \\fIDIR\\fR] "
          "[\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR] [\\fB\\-v\\fR] "
          "\\fICOMMAND\\fR [\\fIARGS\\fR]\n"
          ".SH DESCRIPTION\n"
          "Ward enrolls the device with a management service (an enrollment token, a key made "
          "on the device, a device certificate, mutual TLS), reports its hardware and installed "
          "software, applies configuration baselines, and runs the commands the service sends, "
          "each signed by the service's key. It runs as the system service ward.service; the "
          "commands below also work by hand.\n"
          ".SH COMMANDS\n",
          f);
    for (const struct cli_command *k = commands; k->name; k++) {
        fputs(".TP\n.B ", f);
        man_text(f, k->name);
        if (*k->args) {
            fputc(' ', f);
            man_text(f, k->args);
        }
        fputc('\n', f);
        man_text(f, k->summary);
        fputs(".\n", f);
    }
    fputs(".SH OPTIONS\n"
          ".TP\n\\fB\\-\\-config\\fR \\fIFILE\\fR\nThe configuration file (default ",
          f);
    man_text(f, WARD_DEFAULT_CONFIG);
    fputs(").\n.TP\n\\fB\\-\\-state\\-dir\\fR \\fIDIR\\fR\nSets state_dir.\n"
          ".TP\n\\fB\\-\\-root\\fR \\fIDIR\\fR\nSets root.\n"
          ".TP\n\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR\nSets log_level.\n"
          ".TP\n\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\nThe same as "
          "\\fB\\-\\-log\\-level debug\\fR.\n"
          ".SH CONFIGURATION\nThe configuration file is a JSON object with these keys, all "
          "optional; an unknown key or a bad value is an error that names it "
          "(\\fBward config check\\fR \\fIFILE\\fR).\n",
          f);
    for (const struct agent_config_field *fl = agent_config_schema; fl->name; fl++) {
        fputs(".TP\n.B ", f);
        man_text(f, fl->name);
        fprintf(f, " \\fR(%s)\\fP\n", config_type_names[fl->type]);
        man_text(f, fl->description);
        fputs(".\n", f);
    }
    fputs(".SH ENVIRONMENT\n.TP\n.B WARD_ENROLL_TOKEN\nAn enrollment token for "
          "\\fBward enroll\\fR and for the service's first start (taken out of the "
          "environment once read).\n"
          ".SH FILES\n.TP\n",
          f);
    man_text(f, WARD_DEFAULT_CONFIG);
    fputs("\nThe configuration.\n.TP\n", f);
    man_text(f, WARD_DEFAULT_TOKEN_FILE);
    fputs("\nAn enrollment token (owned by root, mode 0600) the service enrolls with on its "
          "first start, deleted once enrolled.\n.TP\n",
          f);
    man_text(f, WARD_DEFAULT_STATE_DIR);
    fputs("\nThe state database, the device key and certificates (mode 0700).\n"
          ".SH EXIT STATUS\n0 on success, 1 on failure, 2 for a usage error; "
          "\\fBward baseline\\fR returns 3 when a setting could not be evaluated or applied.\n"
          ".SH SEE ALSO\n\\fBward\\-server\\fR(8), \\fBsystemctl\\fR(1), "
          "\\fBjournalctl\\fR(1)\n",
          f);
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"--man", NULL};
    (void)c;
    if (check_args("help", argc, argv, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (has_flag(argc, argv, "--man"))
        man_page(stdout);
    else
        usage(stdout);
    return EXIT_OK;
}

static int add_override(struct cli *c, const char *name, const char *value)
{
    if (c->n_overrides >= MAX_OVERRIDES)
        return EXIT_USAGE;
    snprintf(c->override_mem[c->n_overrides], sizeof(c->override_mem[0]), "%s=%s", name, value);
    c->overrides[c->n_overrides] = c->override_mem[c->n_overrides];
    c->n_overrides++;
    return EXIT_OK;
}

/* Global options: "--name VALUE" or "--name=VALUE". Returns the index of the subcommand. */
static int parse_globals(struct cli *c, int argc, char **argv, int *idx)
{
    static const struct {
        const char *flag;
        const char *field; /* NULL: --config itself */
    } globals[] = {
        {"--config", NULL},
        {"--state-dir", "state_dir"},
        {"--root", "root"},
        {"--log-level", "log_level"},
    };
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *arg = argv[i], *value = NULL;
        size_t k, n = sizeof(globals) / sizeof(globals[0]);
        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
            if (add_override(c, "log_level", "debug") != EXIT_OK)
                return EXIT_USAGE;
            i++;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *idx = -1;
            return EXIT_OK;
        }
        for (k = 0; k < n; k++) {
            size_t fl = strlen(globals[k].flag);
            if (strncmp(arg, globals[k].flag, fl) != 0)
                continue;
            if (arg[fl] == '=') {
                value = arg + fl + 1;
                break;
            }
            if (arg[fl] == '\0') {
                if (i + 1 >= argc) {
                    fprintf(stderr, "ward: %s needs a value\n", arg);
                    return EXIT_USAGE;
                }
                value = argv[++i];
                break;
            }
        }
        if (k == n) {
            fprintf(stderr, "ward: unknown option '%s' (see ward help)\n", arg);
            return EXIT_USAGE;
        }
        if (!globals[k].field) {
            c->config_path = value;
            c->config_explicit = 1;
        } else if (add_override(c, globals[k].field, value) != EXIT_OK) {
            fprintf(stderr, "ward: too many options\n");
            return EXIT_USAGE;
        }
        i++;
    }
    *idx = i;
    return EXIT_OK;
}

/* ward baseline check|apply FILE, remove ID, schema. Exit status: 0 when every setting was
 * evaluated (compliant or not), 1 for an unreadable or invalid document or state, 2 for
 * usage, 3 when some setting could not be evaluated or applied (its error is in the
 * output). --root and --state-dir may also follow the subcommand. */
#define EXIT_BASELINE_ERRORS 3
static int cmd_baseline(struct cli *c, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "", *arg = NULL;
    struct enf_baseline *b = NULL;
    struct enf_report *r = NULL;
    struct agent_state *st = NULL;
    struct enf_run_opts o = {0};
    struct ward_buf out;
    int json = 0, markdown = 0, rc, ex = EXIT_FAIL;

    ward_buf_init(&out, (size_t)16 << 20);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--markdown") == 0) {
            markdown = 1;
        } else if ((strcmp(argv[i], "--root") == 0 || strcmp(argv[i], "--state-dir") == 0) &&
                   i + 1 < argc) {
            if (add_override(c, argv[i][2] == 'r' ? "root" : "state_dir", argv[i + 1]) != EXIT_OK)
                return EXIT_USAGE;
            i++;
        } else if (argv[i][0] != '-' && !arg) {
            arg = argv[i];
        } else {
            fprintf(stderr, "ward baseline: unknown argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "schema") == 0) {
        json_t *j = NULL;
        if (arg || (json && markdown))
            return EXIT_USAGE;
        if (json) {
            if (enf_schema_json(&j) != 0)
                return EXIT_FAIL;
            rc = print_json(j);
            json_decref(j);
            return rc;
        }
        rc = enf_schema_markdown(&out);
        if (rc == 0)
            fputs(out.data, stdout);
        ward_buf_release(&out);
        return rc == 0 ? EXIT_OK : EXIT_FAIL;
    }
    if (markdown || !arg ||
        (strcmp(sub, "check") != 0 && strcmp(sub, "apply") != 0 && strcmp(sub, "remove") != 0)) {
        fprintf(stderr, "usage: ward baseline check|apply FILE [--root DIR] [--json]\n"
                        "       ward baseline remove ID [--root DIR] [--json]\n"
                        "       ward baseline schema [--json]\n");
        return EXIT_USAGE;
    }
    if (load_config(c) != 0)
        return EXIT_FAIL;
    quiet_logs(c);
    o.root = c->cfg.root;
    if (strcmp(sub, "remove") != 0) {
        rc = enf_baseline_load_file(arg, &b, &out);
        if (rc != 0) {
            /* one line per problem, each with its JSON path */
            const char *p = out.data ? out.data : "";
            while (*p) {
                const char *nl = strchr(p, '\n');
                int n = nl ? (int)(nl - p) : (int)strlen(p);
                fprintf(stderr, "ward baseline: %s: %.*s\n", arg, n, p);
                p += n + (nl ? 1 : 0);
            }
            if (!out.len)
                fprintf(stderr, "ward baseline: %s: %s\n", arg, ward_strerror(rc));
            goto out;
        }
    }
    if (strcmp(sub, "check") != 0) {
        rc = agent_state_open(c->cfg.state_dir, &st);
        if (rc != 0) {
            fprintf(stderr, "ward baseline: cannot open state in %s: %s\n", c->cfg.state_dir,
                    ward_strerror(rc));
            goto out;
        }
        o.journal = agent_state_store(st);
    }
    if (strcmp(sub, "remove") == 0) {
        rc = enf_baseline_remove(arg, &o, &r);
        if (rc == WARD_ENOENT) {
            fprintf(stderr, "ward baseline: nothing journaled for baseline %s\n", arg);
            goto out;
        }
    } else {
        o.flags = strcmp(sub, "apply") == 0 ? ENF_RUN_APPLY : 0;
        rc = enf_run(b, &o, &r);
    }
    if (rc != 0) {
        fprintf(stderr, "ward baseline: %s\n", ward_strerror(rc));
        goto out;
    }
    if (json) {
        json_t *j = NULL;
        rc = enf_report_json(r, &j);
        if (rc == 0 && print_json(j) != EXIT_OK)
            rc = WARD_ENOMEM;
        json_decref(j);
    } else {
        rc = enf_report_table(r, &out);
        if (rc == 0)
            fputs(out.data, stdout);
    }
    if (rc != 0)
        fprintf(stderr, "ward baseline: %s\n", ward_strerror(rc));
    else
        ex = r->n_errors ? EXIT_BASELINE_ERRORS : EXIT_OK;
out:
    enf_report_free(r);
    enf_baseline_free(b);
    agent_state_close(st);
    ward_buf_release(&out);
    return ex;
}

#include "ward/unit_text.h" /* installer/linux/ward.service, embedded by cmake */

/* `ward service install|uninstall|status`: the unit the packages ship, pointed at this
 * binary with this invocation's --config and --state-dir (like `osqueryd --install`). */
static int cmd_service(struct cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"--json", NULL};
    const char *verb = argc > 1 ? argv[1] : "";
    char msg[768];
    int rc;

    if (check_args("service", argc - 1, argv + 1, allowed) != EXIT_OK)
        return EXIT_USAGE;
    if (load_config(c) != 0)
        return EXIT_FAIL;
    if (strcmp(verb, "install") == 0) {
        char *exe = NULL;
        const char *args[] = {"--config",       c->config_path, "--state-dir",
                              c->cfg.state_dir, "run",          NULL};
        struct plat_service_def def = {
            .name = "ward", .args = args, .unit = ward_unit_text, .state_dir = c->cfg.state_dir};
        rc = plat_proc_self_path(&exe);
        if (rc != 0) {
            fprintf(stderr, "ward service: cannot tell where this binary is: %s\n",
                    ward_strerror(rc));
            return EXIT_FAIL;
        }
        def.exe = exe;
        rc = plat_service_install(c->cfg.root, &def, msg, sizeof(msg));
        ward_free(exe);
    } else if (strcmp(verb, "uninstall") == 0) {
        rc = plat_service_uninstall(c->cfg.root, "ward", msg, sizeof(msg));
    } else if (strcmp(verb, "status") == 0) {
        struct plat_service_info si;
        rc = plat_service_query(c->cfg.root, "ward", &si);
        if (rc != 0) {
            fprintf(stderr, "ward service status: %s\n", ward_strerror(rc));
            return EXIT_FAIL;
        }
        if (has_flag(argc, argv, "--json")) {
            json_t *j =
                json_pack("{s:b, s:b, s:s?, s:s?, s:s?, s:s?, s:I, s:I}", "installed", si.installed,
                          "manager", si.manager, "path", si.path[0] ? si.path : NULL, "enabled",
                          si.enabled[0] ? si.enabled : NULL, "active",
                          si.active[0] ? si.active : NULL, "sub", si.sub[0] ? si.sub : NULL,
                          "main_pid", (json_int_t)si.main_pid, "restarts", (json_int_t)si.restarts);
            rc = j ? print_json(j) : EXIT_FAIL;
            json_decref(j);
            return rc;
        }
        printf("%-11s %s\n", "unit:", si.installed ? si.path : "not installed");
        if (!si.manager) {
            printf("%-11s %s\n", "manager:", "systemd is not running here");
        } else {
            printf("%-11s %s\n", "enabled:", si.enabled[0] ? si.enabled : "-");
            printf("%-11s %s (%s)\n", "active:", si.active[0] ? si.active : "-",
                   si.sub[0] ? si.sub : "-");
            if (si.main_pid > 0)
                printf("%-11s %lld\n", "pid:", si.main_pid);
            printf("%-11s %lld\n", "restarts:", si.restarts);
        }
        return EXIT_OK;
    } else {
        fprintf(stderr, "usage: ward service install | uninstall | status [--json]\n");
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "ward service %s: %s\n", verb, msg[0] ? msg : ward_strerror(rc));
        return EXIT_FAIL;
    }
    printf("%s\n", msg);
    return EXIT_OK;
}

int agent_cli_main(int argc, char **argv)
{
    struct cli c;
    int idx, rc;
    const struct cli_command *k;

    memset(&c, 0, sizeof(c));
    c.config_path = WARD_DEFAULT_CONFIG;
    ward_json_init();
    rc = parse_globals(&c, argc, argv, &idx);
    if (rc != EXIT_OK)
        return rc;
    if (idx < 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (idx >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (k = commands; k->name; k++)
        if (strcmp(k->name, argv[idx]) == 0)
            break;
    if (!k->name) {
        fprintf(stderr, "ward: unknown command '%s' (see ward help)\n", argv[idx]);
        return EXIT_USAGE;
    }
    if (agent_config_init(&c.cfg) != 0) {
        fprintf(stderr, "ward: out of memory\n");
        return EXIT_FAIL;
    }
    rc = k->run(&c, argc - idx, argv + idx);
    agent_config_release(&c.cfg);
    return rc;
}
