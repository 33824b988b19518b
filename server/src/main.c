/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `ward-server` command line: `init` and `serve`, and the admin verbs (tokens, devices,
 * commands, wake) that work on the data directory's database directly, so they run the
 * same whether or not the server is up. Tables for people; --json for scripts. Exit status
 * 0 on success, 1 with one line on stderr on failure, 2 for usage errors.
 */
#define WARD_LOG_TAG "srv-cli"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <termios.h>
#include <unistd.h>

#include "server/app.h"
#include "server/baselines.h"
#include "server/commands.h"
#include "server/est.h"
#include "server/files.h"
#include "server/inventory.h"
#include "server/offline.h"
#include "server/serve.h"
#include "platform/ipc.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/config.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define DEFAULT_DATA_DIR "/var/lib/ward-server"
#define MAX_NAMES 16
#define MAX_PARAMS 32

struct cli {
    const char *data_dir;
    int json;
    int argc;
    char **argv; /* the verb's arguments, flags removed as they are consumed */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ward-server [--data-dir DIR] [--json] [-v] <verb> [args]\n\n"
            "  init [--listen HOST:PORT] [--name DNS-OR-IP]... [--url URL]\n"
            "       [--device-cert-ttl DUR] [--checkin-interval DUR]\n"
            "  serve [--listen HOST:PORT]\n"
            "  token create [--uses N] [--ttl DUR] [--label TEXT]\n"
            "               [--ownership corporate|personal] [--allow GRANT,...|none]\n"
            "  token list | token revoke ID\n"
            "  devices list\n"
            "  device show DEVICE | device revoke DEVICE\n"
            "  command send DEVICE TYPE [--param KEY=VALUE]... [--ttl DUR]\n"
            "  command send DEVICE lock | selective-wipe\n"
            "  command send DEVICE reboot|shutdown [--grace S] [--deadline ISO]\n"
            "               [--deferrals N] [--defer-seconds S] [--message TEXT]\n"
            "  command send DEVICE script FILE [--interpreter PATH] [--user U] [--timeout S]\n"
            "               [--memory-mb N] [--cpu-seconds S] [--arg A]...\n"
            "  command send DEVICE package install|remove|upgrade NAME...\n"
            "  command send DEVICE package-file FILE\n"
            "  command send DEVICE os-update [--security] [--reboot]\n"
            "  command send DEVICE full-wipe [--device PATH]... [--allow-overwrite]\n"
            "  command prepare DEVICE FORM... [--ttl DUR] --out FILE\n"
            "  command sign FILE --key KEY-FILE [--passphrase-file F] [--out FILE]\n"
            "  command send --signed FILE\n"
            "  offline-key create --out FILE [--label TEXT] [--passphrase-file F]\n"
            "  offline-key list\n"
            "  commands list [DEVICE] | commands show ID\n"
            "  file add PATH | files\n"
            "  wake DEVICE\n"
            "  inventory show DEVICE [--section S]\n"
            "  inventory find [--package NAME [--version-lt|--version-le|--version-gt|\n"
            "                 --version-ge|--version-eq V]] [--unencrypted-root]\n"
            "                 [--cert-expiring-within DUR]\n"
            "                 [--where 'TABLE.COLUMN OP VALUE']...\n"
            "  baseline put FILE | baseline list\n"
            "  baseline assign|unassign ID DEVICE|--all\n"
            "  compliance [DEVICE]\n"
            "  cert-profile put FILE | cert-profile list | cert-profile show ID\n"
            "  certs [DEVICE]\n"
            "  cert revoke SERIAL\n\n"
            "DUR is seconds or a number with s, m, h or d. DEVICE may be a unique prefix.\n"
            "A --param VALUE that is JSON (30, true, [\"a\"]) is sent as that JSON, else as a\n"
            "string. GRANT is full_wipe, scripts or packages (corporate default: all three;\n"
            "personal: none, and never full_wipe or scripts). Every verb takes --json.\n"
            "default data directory: %s\n",
            DEFAULT_DATA_DIR);
}

/* ward-server(8): the usage text above, verbatim in a no-fill block, with the few words a
 * manual page needs around it. */
static void man_page(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    usage(m);
    fclose(m);
    printf(".TH WARD-SERVER 8 \"\" \"ward-server %s\" \"System Administration\"\n"
           ".SH NAME\nward\\-server \\- reference management service for Ward agents\n"
           ".SH SYNOPSIS\n.nf\n",
           WARD_VERSION);
    for (const char *s = text; s && *s; s++) {
        if ((s == text || s[-1] == '\n') && (*s == '.' || *s == '\''))
            fputs("\\&", stdout);
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
    printf(".fi\n.SH DESCRIPTION\n"
           "ward\\-server enrolls devices with one-time tokens, issues their certificates "
           "from its own CA, serves their mutual-TLS check-ins, signs the commands it queues "
           "for them, and stores their inventory, compliance and results in SQLite under "
           "its data directory (mode 0700). It runs as ward\\-server.service.\n"
           ".SH FILES\n.TP\n%s\nThe data directory: CA, keys, the database, the admin "
           "socket.\n.SH SEE ALSO\n\\fBward\\fR(8)\n",
           DEFAULT_DATA_DIR);
    free(text);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "ward-server: %s: %s\n", what, ward_strerror(rc));
    return EXIT_FAIL;
}

/* Takes "--name VALUE" / "--name=VALUE" out of the argument list. Returns 1 when found. */
static int take_opt(struct cli *c, const char *name, const char **value)
{
    size_t n = strlen(name);
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i];
        int used;
        if (strncmp(a, name, n) != 0)
            continue;
        if (a[n] == '=') {
            *value = a + n + 1;
            used = 1;
        } else if (a[n] == '\0' && i + 1 < c->argc) {
            *value = c->argv[i + 1];
            used = 2;
        } else {
            continue;
        }
        memmove(&c->argv[i], &c->argv[i + used], (size_t)(c->argc - i - used) * sizeof(char *));
        c->argc -= used;
        return 1;
    }
    return 0;
}

static int take_flag(struct cli *c, const char *name)
{
    for (int i = 0; i < c->argc; i++) {
        if (strcmp(c->argv[i], name) == 0) {
            memmove(&c->argv[i], &c->argv[i + 1], (size_t)(c->argc - i - 1) * sizeof(char *));
            c->argc--;
            return 1;
        }
    }
    return 0;
}

/* Any flag left over is a typo the user should hear about. */
static int no_leftover_flags(struct cli *c, const char *verb)
{
    for (int i = 0; i < c->argc; i++) {
        if (c->argv[i][0] == '-' && c->argv[i][1]) {
            fprintf(stderr, "ward-server %s: unknown or incomplete option '%s'\n", verb,
                    c->argv[i]);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

static int print_json(const json_t *j)
{
    char *s = NULL;
    if (ward_json_dumps(j, WARD_JSON_PRETTY, &s, NULL) != 0)
        return EXIT_FAIL;
    printf("%s\n", s);
    ward_free(s);
    return EXIT_OK;
}

static const char *sget(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

static int open_app(struct cli *c, struct srv_app **app)
{
    int rc = srv_app_open(c->data_dir, app);
    if (rc == WARD_ENOENT) {
        fprintf(stderr, "ward-server: %s is not initialized (run ward-server --data-dir %s init)\n",
                c->data_dir, c->data_dir);
        return EXIT_FAIL;
    }
    return rc == 0 ? EXIT_OK : fail(c->data_dir, rc);
}

static int resolve_device(struct srv_app *app, const char *arg, char **id)
{
    int rc = srv_device_resolve(app, arg, id);
    if (rc == WARD_EBUSY)
        fprintf(stderr, "ward-server: device prefix '%s' is ambiguous\n", arg);
    else if (rc == WARD_ENOENT || rc == WARD_EINVAL)
        fprintf(stderr, "ward-server: no device '%s'\n", arg);
    else if (rc != 0)
        fail("device lookup", rc);
    return rc;
}

/* ---- verbs -------------------------------------------------------------------------- */

static int verb_init(struct cli *c)
{
    struct srv_init_opts o = {0};
    const char *names[MAX_NAMES], *v;
    int rc;

    while (take_opt(c, "--name", &v)) {
        if (o.n_names == MAX_NAMES) {
            fprintf(stderr, "ward-server init: at most %d --name options\n", MAX_NAMES);
            return EXIT_USAGE;
        }
        names[o.n_names++] = v;
    }
    o.names = names;
    take_opt(c, "--listen", &o.listen);
    take_opt(c, "--url", &o.url);
    if (take_opt(c, "--device-cert-ttl", &v) && srv_parse_duration(v, &o.device_cert_ttl) != 0) {
        fprintf(stderr, "ward-server init: bad --device-cert-ttl '%s'\n", v);
        return EXIT_USAGE;
    }
    if (take_opt(c, "--checkin-interval", &v) && srv_parse_duration(v, &o.checkin_interval) != 0) {
        fprintf(stderr, "ward-server init: bad --checkin-interval '%s'\n", v);
        return EXIT_USAGE;
    }
    if (no_leftover_flags(c, "init") != EXIT_OK || c->argc != 0)
        return EXIT_USAGE;
    rc = srv_app_init(c->data_dir, &o);
    if (rc == WARD_EEXIST) {
        fprintf(stderr, "ward-server: %s is already initialized\n", c->data_dir);
        return EXIT_FAIL;
    }
    if (rc != 0)
        return fail("init", rc);
    if (c->json) {
        struct srv_app *app = NULL;
        if (open_app(c, &app) != EXIT_OK)
            return EXIT_FAIL;
        json_t *j = json_pack("{s:s, s:s, s:s}", "data_dir", c->data_dir, "url", app->settings.url,
                              "ca_pin", app->ca_pin);
        rc = j ? print_json(j) : EXIT_FAIL;
        json_decref(j);
        srv_app_close(app);
        return rc;
    }
    printf("initialized %s\n", c->data_dir);
    return EXIT_OK;
}

static int verb_serve(struct cli *c)
{
    struct srv_serve_opts o = {0};
    int rc;
    if (ward_log_threshold < WARD_LOG_INFO)
        ward_log_set_level(WARD_LOG_INFO);
    take_opt(c, "--listen", &o.listen);
    if (no_leftover_flags(c, "serve") != EXIT_OK || c->argc != 0)
        return EXIT_USAGE;
    rc = srv_serve(c->data_dir, &o);
    return rc == 0 ? EXIT_OK : fail("serve", rc);
}

static int verb_token(struct cli *c)
{
    struct srv_app *app = NULL;
    const char *sub = c->argc > 0 ? c->argv[0] : "";
    int rc = EXIT_OK;

    if (strcmp(sub, "create") == 0) {
        struct srv_token_opts o = {0};
        const char *v;
        char *token = NULL, *id = NULL;
        c->argc--;
        c->argv++;
        if (take_opt(c, "--uses", &v)) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1000000) {
                fprintf(stderr, "ward-server token create: bad --uses '%s'\n", v);
                return EXIT_USAGE;
            }
            o.uses = (int)n;
        }
        if (take_opt(c, "--ttl", &v) && srv_parse_duration(v, &o.ttl) != 0) {
            fprintf(stderr, "ward-server token create: bad --ttl '%s'\n", v);
            return EXIT_USAGE;
        }
        take_opt(c, "--label", &o.label);
        if (take_opt(c, "--ownership", &v)) {
            if (strcmp(v, "personal") != 0 && strcmp(v, "corporate") != 0) {
                fprintf(stderr, "ward-server token create: --ownership is corporate or personal\n");
                return EXIT_USAGE;
            }
            o.personal = strcmp(v, "personal") == 0;
        }
        take_opt(c, "--allow", &o.grants);
        {
            char g[64], msg[160];
            if (srv_grants_normalize(o.grants, o.personal, g, sizeof(g), msg, sizeof(msg)) != 0) {
                fprintf(stderr, "ward-server token create: --allow: %s\n", msg);
                return EXIT_USAGE;
            }
        }
        if (no_leftover_flags(c, "token create") != EXIT_OK || c->argc != 0)
            return EXIT_USAGE;
        if (open_app(c, &app) != EXIT_OK)
            return EXIT_FAIL;
        int r = srv_token_create(app, &o, &token, &id);
        if (r != 0) {
            rc = fail("token create", r);
        } else if (c->json) {
            json_t *j = json_pack("{s:s, s:s}", "token", token, "id", id);
            rc = j ? print_json(j) : EXIT_FAIL;
            json_decref(j);
        } else {
            printf("%s\n", token);
        }
        ward_free(token);
        ward_free(id);
    } else if (strcmp(sub, "list") == 0 && c->argc == 1) {
        json_t *list = NULL, *t;
        size_t i;
        if (open_app(c, &app) != EXIT_OK)
            return EXIT_FAIL;
        int r = srv_token_list(app, &list);
        if (r != 0) {
            rc = fail("token list", r);
        } else if (c->json) {
            rc = print_json(list);
        } else {
            printf("%-9s %-8s %-5s %-21s %-9s %-26s %s\n", "ID", "STATE", "USES", "EXPIRES",
                   "OWNERSHIP", "GRANTS", "LABEL");
            json_array_foreach(list, i, t)
            {
                char uses[24];
                snprintf(uses, sizeof(uses), "%lld/%lld",
                         (long long)json_integer_value(json_object_get(t, "uses")),
                         (long long)json_integer_value(json_object_get(t, "uses_allowed")));
                const char *g = sget(t, "grants");
                printf("%-9s %-8s %-5s %-21s %-9s %-26s %s\n", sget(t, "id"), sget(t, "state"),
                       uses, sget(t, "expires_at"), sget(t, "ownership"), g[0] ? g : "none",
                       sget(t, "label"));
            }
        }
        json_decref(list);
    } else if (strcmp(sub, "revoke") == 0 && c->argc == 2) {
        if (open_app(c, &app) != EXIT_OK)
            return EXIT_FAIL;
        int r = srv_token_revoke(app, c->argv[1]);
        if (r == WARD_ENOENT) {
            fprintf(stderr, "ward-server: no active token '%s'\n", c->argv[1]);
            rc = EXIT_FAIL;
        } else if (r != 0) {
            rc = fail("token revoke", r);
        } else {
            printf("revoked token %s\n", c->argv[1]);
        }
    } else {
        fprintf(stderr, "usage: ward-server token create|list|revoke ID\n");
        return EXIT_USAGE;
    }
    srv_app_close(app);
    return rc;
}

static int verb_devices(struct cli *c)
{
    struct srv_app *app = NULL;
    json_t *list = NULL, *d;
    size_t i;
    int rc;
    if (c->argc != 1 || strcmp(c->argv[0], "list") != 0) {
        fprintf(stderr, "usage: ward-server devices list\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    rc = srv_device_list(app, &list);
    if (rc != 0) {
        rc = fail("devices list", rc);
    } else if (c->json) {
        rc = print_json(list);
    } else {
        printf("%-28s %-20s %-8s %-21s %s\n", "DEVICE", "HOSTNAME", "STATE", "LAST CHECK-IN", "OS");
        json_array_foreach(list, i, d)
        {
            printf("%-28s %-20s %-8s %-21s %s\n", sget(d, "device_id"), sget(d, "hostname"),
                   json_is_string(json_object_get(d, "revoked_at")) ? "revoked" : "active",
                   sget(d, "last_checkin"), sget(d, "os"));
        }
        rc = EXIT_OK;
    }
    json_decref(list);
    srv_app_close(app);
    return rc;
}

static void human_bytes(const json_t *v, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double x;
    size_t u = 0;
    if (!json_is_integer(v)) {
        snprintf(out, outlen, "?");
        return;
    }
    x = (double)json_integer_value(v);
    while (x >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        x /= 1024;
        u++;
    }
    snprintf(out, outlen, u ? "%.1f %s" : "%.0f %s", x, units[u]);
}

/* The hardware and OS lines of `device show`. */
static void print_inventory_summary(const json_t *inv)
{
    const json_t *v, *apps;
    const char *k;
    size_t i;
    char size[32];

    if (!json_is_object(inv)) {
        printf("inventory:      none yet\n");
        return;
    }
    v = json_object_get(inv, "last_upload");
    printf("inventory:      updated %s, last upload %s (%lld bytes on the wire, %lld change(s))\n",
           sget(inv, "updated_at"), sget(v, "kind"),
           (long long)json_integer_value(json_object_get(v, "wire_bytes")),
           (long long)json_integer_value(json_object_get(v, "changes")));
    if (!json_object_get(inv, "vendor") && !json_object_get(inv, "model"))
        printf("  hardware:     unknown (no DMI data)\n");
    else
        printf("  hardware:     %s %s%s%s%s\n", sget(inv, "vendor"), sget(inv, "model"),
               json_object_get(inv, "chassis") ? " (" : "",
               json_object_get(inv, "chassis") ? sget(inv, "chassis") : "",
               json_object_get(inv, "chassis") ? ")" : "");
    printf("  cpu:          %s (%lld cores, %lld threads)\n", sget(inv, "cpu"),
           (long long)json_integer_value(json_object_get(inv, "cpu_cores")),
           (long long)json_integer_value(json_object_get(inv, "cpu_threads")));
    human_bytes(json_object_get(inv, "memory_bytes"), size, sizeof(size));
    printf("  memory:       %s\n", size);
    json_array_foreach(json_object_get(inv, "disks"), i, v)
    {
        human_bytes(json_object_get(v, "size_bytes"), size, sizeof(size));
        printf("  %-13s %s %s (%s, %s)\n", i == 0 ? "disks:" : "", sget(v, "name"), size,
               sget(v, "transport"), sget(v, "model"));
    }
    printf("  os:           %s, kernel %s\n", sget(inv, "os"), sget(inv, "kernel"));
    v = json_object_get(inv, "root_encrypted");
    printf("  encryption:   %s\n", json_is_true(v)    ? "root filesystem encrypted"
                                   : json_is_false(v) ? "root filesystem NOT encrypted"
                                                      : "unknown");
    apps = json_object_get(inv, "apps");
    if (json_is_object(apps)) {
        int first = 1;
        printf("  apps:         %lld (",
               (long long)json_integer_value(json_object_get(apps, "total")));
        json_object_foreach((json_t *)(uintptr_t)apps, k, v)
        {
            if (strcmp(k, "total") == 0)
                continue;
            printf("%s%s %lld", first ? "" : ", ", k, (long long)json_integer_value(v));
            first = 0;
        }
        printf(")\n");
    }
    if (json_array_size(json_object_get(inv, "collection_errors")) > 0) {
        printf("  not collected:");
        json_array_foreach(json_object_get(inv, "collection_errors"), i, v)
        {
            printf(" %s", json_string_value(v));
        }
        printf("\n");
    }
}

/* What a selective wipe removed, as the device signed it. */
static void print_wipe_receipt(const json_t *r)
{
    const json_t *x;
    size_t i;
    if (!json_is_object(r))
        return;
    printf("selective wipe: %s, receipt signed by the device key (%s)\n", sget(r, "wiped_at"),
           json_is_true(json_object_get(r, "verified")) ? "verified" : "NOT VERIFIED");
    json_array_foreach(json_object_get(r, "removed"), i, x)
    {
        printf("  removed %-8s %s%s%s\n", sget(x, "kind"), sget(x, "name"),
               json_is_string(json_object_get(x, "error")) ? ": " : "",
               json_is_string(json_object_get(x, "error")) ? sget(x, "error") : "");
    }
}

static int verb_device(struct cli *c)
{
    struct srv_app *app = NULL;
    char *id = NULL;
    int rc = EXIT_OK;
    if (c->argc != 2 || (strcmp(c->argv[0], "show") != 0 && strcmp(c->argv[0], "revoke") != 0)) {
        fprintf(stderr, "usage: ward-server device show|revoke DEVICE\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (resolve_device(app, c->argv[1], &id) != 0) {
        srv_app_close(app);
        return EXIT_FAIL;
    }
    if (strcmp(c->argv[0], "revoke") == 0) {
        int r = srv_device_revoke(app, id);
        if (r == WARD_ENOENT) {
            fprintf(stderr, "ward-server: device %s is already revoked\n", id);
            rc = EXIT_FAIL;
        } else if (r != 0) {
            rc = fail("device revoke", r);
        } else {
            printf("revoked device %s\n", id);
        }
    } else {
        json_t *d = NULL, *x;
        size_t i;
        int r = srv_device_show(app, id, &d);
        if (r != 0) {
            rc = fail("device show", r);
        } else if (c->json) {
            rc = print_json(d);
        } else {
            printf("device:         %s\n", sget(d, "device_id"));
            printf("hostname:       %s\n", sget(d, "hostname"));
            printf("os:             %s\n", sget(d, "os"));
            printf("machine id:     %s\n", sget(d, "machine_id"));
            printf("agent:          %s\n", sget(d, "agent_version"));
            printf("enrolled:       %s\n", sget(d, "enrolled_at"));
            printf("state:          %s\n",
                   json_is_string(json_object_get(d, "revoked_at")) ? "revoked" : "active");
            printf("last check-in:  %s from %s (%lld in all)\n", sget(d, "last_checkin"),
                   sget(d, "last_addr"),
                   (long long)json_integer_value(json_object_get(d, "checkins")));
            printf("certificate:    %s, valid until %s\n", sget(d, "cert_serial"),
                   sget(d, "cert_not_after"));
            {
                struct ward_buf g;
                ward_buf_init(&g, 256);
                json_array_foreach(json_object_get(d, "grants"), i, x)
                {
                    ward_buf_appendf(&g, "%s%s", i ? ", " : "", json_string_value(x));
                }
                printf("ownership:      %s; grants: %s\n", sget(d, "ownership"),
                       g.data && g.data[0] ? g.data : "none");
                ward_buf_release(&g);
            }
            printf("offline key:    %.16s%s\n", sget(d, "offline_key"),
                   json_is_string(json_object_get(d, "offline_key")) ? "..." : " (none pinned)");
            print_wipe_receipt(json_object_get(d, "wipe_receipt"));
            printf("pending:        %lld command(s)\n",
                   (long long)json_integer_value(json_object_get(d, "pending_commands")));
            print_inventory_summary(json_object_get(d, "inventory"));
            printf("recent events:\n");
            json_array_foreach(json_object_get(d, "events"), i, x)
            {
                printf("  %s  %-15s %s\n", sget(x, "at"), sget(x, "kind"), sget(x, "detail"));
            }
        }
        json_decref(d);
    }
    ward_free(id);
    srv_app_close(app);
    return rc;
}

/* Best effort: a server that is not running picks the command up at the next check-in. */
static void notify_wake(struct cli *c, const char *device_id, int verbose)
{
    int r = srv_admin_wake(c->data_dir, device_id);
    if (verbose) {
        if (r == 1)
            printf("woke %s\n", device_id);
        else if (r == 0)
            printf("%s will be woken at its next wait\n", device_id);
        else
            printf("server not running; %s gets it at its next check-in\n", device_id);
    }
}

/* --param KEY=VALUE: VALUE is taken as JSON when it is JSON (30, true, ["a","b"], {"k":1},
 * "quoted"), else as the literal string, so typed parameters need no separate flag. */
static json_t *param_value(const char *v)
{
    json_t *j = json_loads(v, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    return j ? j : json_string(v);
}

static int parse_int_opt(const char *verb, const char *flag, const char *v, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        fprintf(stderr, "ward-server %s: %s wants an integer, got '%s'\n", verb, flag, v);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Seconds: a plain integer (0 allowed) or a duration (90, 5m, 2h). */
static int parse_seconds_opt(const char *verb, const char *flag, const char *v, long long *out)
{
    long d;
    if (strcmp(v, "0") == 0) {
        *out = 0;
        return EXIT_OK;
    }
    if (srv_parse_duration(v, &d) == 0) {
        *out = d;
        return EXIT_OK;
    }
    return parse_int_opt(verb, flag, v, out);
}

/* Reads a whole file of at most max bytes. WARD_ETOOBIG beyond. */
static int read_small_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct ward_buf b;
    char chunk[65536];
    size_t n;
    int rc = 0;

    *out = NULL;
    if (!f)
        return errno == ENOENT ? WARD_ENOENT : errno == EACCES ? WARD_EACCES : WARD_EIO;
    ward_buf_init(&b, max);
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = ward_buf_append(&b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = WARD_EIO;
    fclose(f);
    if (rc == 0)
        *out = ward_buf_steal(&b, len);
    ward_buf_release(&b);
    return rc != 0 ? rc : *out ? 0 : WARD_ENOMEM;
}

/* `file add` for the friendly forms: *file (new) is {url, sha256, length} for params,
 * *added (new) the whole record. */
static int add_file_ref(struct srv_app *app, const char *path, json_t **file, json_t **added)
{
    int rc = srv_file_add(app, path, added);
    *file = NULL;
    if (rc != 0) {
        fprintf(stderr, "ward-server: %s: %s\n", path,
                rc == WARD_EINVAL ? "not a regular file, or empty" : ward_strerror(rc));
        return EXIT_FAIL;
    }
    *file =
        json_pack("{s:O, s:O, s:O}", "url", json_object_get(*added, "url"), "sha256",
                  json_object_get(*added, "sha256"), "length", json_object_get(*added, "length"));
    return *file ? EXIT_OK : EXIT_FAIL;
}

static void command_send_usage(void)
{
    fprintf(stderr,
            "usage: ward-server command send DEVICE TYPE [--param KEY=VALUE]... [--ttl DUR]\n"
            "       ward-server command send DEVICE lock | selective-wipe\n"
            "       ward-server command send DEVICE reboot|shutdown [--grace S] [--deadline ISO]\n"
            "                   [--deferrals N] [--defer-seconds S] [--message TEXT]\n"
            "       ward-server command send DEVICE script FILE [--interpreter PATH] [--user U]\n"
            "                   [--timeout S] [--memory-mb N] [--cpu-seconds S] [--arg A]...\n"
            "       ward-server command send DEVICE package install|remove|upgrade NAME...\n"
            "       ward-server command send DEVICE package-file FILE\n"
            "       ward-server command send DEVICE os-update [--security] [--reboot]\n"
            "       ward-server command send DEVICE full-wipe [--device PATH]... "
            "[--allow-overwrite]\n"
            "       ward-server command prepare DEVICE FORM... [--ttl DUR] --out FILE\n"
            "       ward-server command sign FILE --key KEY-FILE [--passphrase-file F]\n"
            "       ward-server command send --signed FILE\n");
}

/* The friendly forms: TYPE names that are not protocol types, and reboot/shutdown with
 * their options. Fills params and *type (static). Consumes the form's options and
 * positional arguments (after DEVICE and the form's name); what is left must be nothing. */
struct send_form {
    const char *name; /* as typed */
    const char *type; /* protocol type */
};

static const struct send_form send_forms[] = {
    {"lock", "lock"},           {"reboot", "reboot"},
    {"shutdown", "shutdown"},   {"script", "run_script"},
    {"package", "package"},     {"package-file", "package"},
    {"os-update", "os_update"}, {"selective-wipe", "selective_wipe"},
    {"full-wipe", "full_wipe"},
};

static int build_form(struct cli *c, struct srv_app *app, const char *form, json_t *params,
                      json_t **added)
{
    static const char *verb = "command send";
    const char *v;
    long long n;
    json_t *arr, *file = NULL;
    int rc;

    *added = NULL;
    if (strcmp(form, "reboot") == 0 || strcmp(form, "shutdown") == 0) {
        if (take_opt(c, "--grace", &v)) {
            if (parse_seconds_opt(verb, "--grace", v, &n) != EXIT_OK)
                return EXIT_USAGE;
            json_object_set_new(params, "grace_seconds", json_integer(n));
        }
        if (take_opt(c, "--deadline", &v))
            json_object_set_new(params, "deadline", json_string(v));
        if (take_opt(c, "--deferrals", &v)) {
            if (parse_int_opt(verb, "--deferrals", v, &n) != EXIT_OK)
                return EXIT_USAGE;
            json_object_set_new(params, "deferrals", json_integer(n));
        }
        if (take_opt(c, "--defer-seconds", &v)) {
            if (parse_seconds_opt(verb, "--defer-seconds", v, &n) != EXIT_OK)
                return EXIT_USAGE;
            json_object_set_new(params, "defer_seconds", json_integer(n));
        }
        if (take_opt(c, "--message", &v))
            json_object_set_new(params, "message", json_string(v));
        return EXIT_OK;
    }
    if (strcmp(form, "script") == 0) {
        const char *interp = "/bin/sh";
        char *text = NULL;
        size_t len = 0;
        take_opt(c, "--interpreter", &interp);
        json_object_set_new(params, "interpreter", json_string(interp));
        if (take_opt(c, "--user", &v))
            json_object_set_new(params, "user", json_string(v));
        if (take_opt(c, "--timeout", &v)) {
            if (parse_seconds_opt(verb, "--timeout", v, &n) != EXIT_OK)
                return EXIT_USAGE;
            json_object_set_new(params, "timeout", json_integer(n));
        }
        if (take_opt(c, "--memory-mb", &v)) {
            char *end;
            long long mb = strtoll(v, &end, 10);
            if (*v == '\0' || *end != '\0') {
                fprintf(stderr, "ward-server %s: --memory-mb needs a number of MiB\n", verb);
                return EXIT_USAGE;
            }
            json_object_set_new(params, "memory_mb", json_integer(mb));
        }
        if (take_opt(c, "--cpu-seconds", &v)) {
            if (parse_seconds_opt(verb, "--cpu-seconds", v, &n) != EXIT_OK)
                return EXIT_USAGE;
            json_object_set_new(params, "cpu_seconds", json_integer(n));
        }
        if (take_opt(c, "--arg", &v)) {
            arr = json_array();
            do
                json_array_append_new(arr, json_string(v));
            while (take_opt(c, "--arg", &v));
            json_object_set_new(params, "args", arr);
        }
        if (no_leftover_flags(c, verb) != EXIT_OK || c->argc != 1) {
            command_send_usage();
            return EXIT_USAGE;
        }
        /* Inline when small enough and valid UTF-8 text; otherwise a file. */
        rc = read_small_file(c->argv[0], SRV_SCRIPT_INLINE_MAX, &text, &len);
        if (rc == 0) {
            json_t *s = memchr(text, '\0', len) ? NULL : json_stringn(text, len);
            ward_free(text);
            if (s) {
                json_object_set_new(params, "script", s);
                c->argc = 0;
                return EXIT_OK;
            }
        } else if (rc != WARD_ETOOBIG) {
            fprintf(stderr, "ward-server: %s: %s\n", c->argv[0], ward_strerror(rc));
            return EXIT_FAIL;
        }
        if (add_file_ref(app, c->argv[0], &file, added) != EXIT_OK)
            return EXIT_FAIL;
        json_object_set_new(params, "file", file);
        c->argc = 0;
        return EXIT_OK;
    }
    if (strcmp(form, "package") == 0) {
        if (c->argc == 0)
            return EXIT_OK; /* the generic form: parameters from --param only */
        if (no_leftover_flags(c, verb) != EXIT_OK || c->argc < 2) {
            command_send_usage();
            return EXIT_USAGE;
        }
        json_object_set_new(params, "action", json_string(c->argv[0]));
        arr = json_array();
        for (int i = 1; i < c->argc; i++)
            json_array_append_new(arr, json_string(c->argv[i]));
        json_object_set_new(params, "names", arr);
        c->argc = 0;
        return EXIT_OK;
    }
    if (strcmp(form, "package-file") == 0) {
        if (no_leftover_flags(c, verb) != EXIT_OK || c->argc != 1) {
            command_send_usage();
            return EXIT_USAGE;
        }
        if (add_file_ref(app, c->argv[0], &file, added) != EXIT_OK)
            return EXIT_FAIL;
        json_object_set_new(params, "action", json_string("install"));
        json_object_set_new(params, "file", file);
        c->argc = 0;
        return EXIT_OK;
    }
    if (strcmp(form, "os-update") == 0) {
        if (take_flag(c, "--security"))
            json_object_set_new(params, "security_only", json_true());
        if (take_flag(c, "--reboot"))
            json_object_set_new(params, "reboot", json_true());
        return EXIT_OK;
    }
    if (strcmp(form, "full-wipe") == 0) {
        if (take_opt(c, "--device", &v)) {
            arr = json_array();
            do
                json_array_append_new(arr, json_string(v));
            while (take_opt(c, "--device", &v));
            json_object_set_new(params, "devices", arr);
        }
        if (take_flag(c, "--allow-overwrite"))
            json_object_set_new(params, "allow_overwrite", json_true());
        return EXIT_OK;
    }
    return EXIT_OK; /* lock, selective-wipe: no parameters */
}

/* What `command send` and `command prepare` share: DEVICE FORM-or-TYPE [options]. */
struct cmd_args {
    char *id;         /* resolved device id, new */
    const char *type; /* protocol type (static or argv) */
    json_t *params;   /* new */
    json_t *added;    /* the file record a friendly form added, new or NULL */
    long ttl;
};

static void cmd_args_release(struct cmd_args *a)
{
    ward_free(a->id);
    json_decref(a->params);
    json_decref(a->added);
    memset(a, 0, sizeof(*a));
}

static int parse_command(struct cli *c, struct srv_app **app, struct cmd_args *a, const char *verb)
{
    json_t *extra = NULL, *x;
    const struct send_form *form = NULL;
    const char *v, *dev_arg, *k;
    int rc = EXIT_OK;

    memset(a, 0, sizeof(*a));
    /* Options every form takes first, so that what is left is the form's own. */
    a->params = json_object();
    extra = json_object();
    if (!a->params || !extra) {
        rc = EXIT_FAIL;
        goto out;
    }
    while (take_opt(c, "--param", &v)) {
        const char *eq = strchr(v, '=');
        char key[128];
        if (!eq || eq == v || (size_t)(eq - v) >= sizeof(key)) {
            fprintf(stderr, "ward-server %s: --param wants KEY=VALUE, got '%s'\n", verb, v);
            rc = EXIT_USAGE;
            goto out;
        }
        snprintf(key, sizeof(key), "%.*s", (int)(eq - v), v);
        json_object_set_new(extra, key, param_value(eq + 1));
    }
    if (take_opt(c, "--ttl", &v) && srv_parse_duration(v, &a->ttl) != 0) {
        fprintf(stderr, "ward-server %s: bad --ttl '%s'\n", verb, v);
        rc = EXIT_USAGE;
        goto out;
    }
    if (c->argc < 2) {
        command_send_usage();
        rc = EXIT_USAGE;
        goto out;
    }
    dev_arg = c->argv[0];
    a->type = c->argv[1];
    c->argc -= 2;
    c->argv += 2;
    for (size_t i = 0; i < sizeof(send_forms) / sizeof(send_forms[0]); i++)
        if (strcmp(send_forms[i].name, a->type) == 0)
            form = &send_forms[i];
    if (open_app(c, app) != EXIT_OK) {
        rc = EXIT_FAIL;
        goto out;
    }
    /* The device first: a file is only added for a command that can be queued. */
    if (resolve_device(*app, dev_arg, &a->id) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    if (form) {
        if ((rc = build_form(c, *app, form->name, a->params, &a->added)) != EXIT_OK)
            goto out;
        a->type = form->type;
    }
    if (no_leftover_flags(c, verb) != EXIT_OK || c->argc != 0) {
        command_send_usage();
        rc = EXIT_USAGE;
        goto out;
    }
    json_object_foreach(extra, k, x)
    {
        json_object_set(a->params, k, x); /* --param has the last word */
    }
out:
    json_decref(extra);
    return rc;
}

/* The outcome of srv_command_send(_authorized) as the CLI says it. */
static int report_send(struct cli *c, int r, const char *id, const char *type, json_t *out,
                       const json_t *added, const char *msg)
{
    if (r == WARD_EINVAL || r == WARD_EPARSE || r == WARD_EEXIST || r == WARD_EEXPIRED ||
        r == WARD_EDENIED) {
        fprintf(stderr, "ward-server command send: %s\n", msg[0] ? msg : ward_strerror(r));
        return EXIT_FAIL;
    }
    if (r == WARD_ENOENT) {
        fprintf(stderr, "ward-server: device %s is revoked\n", id);
        return EXIT_FAIL;
    }
    if (r != 0)
        return fail("command send", r);
    notify_wake(c, id, 0);
    if (added)
        json_object_set(out, "file", (json_t *)(uintptr_t)added);
    if (c->json)
        return print_json(out);
    if (added)
        printf("added file %s (%lld bytes)\n", sget(added, "sha256"),
               (long long)json_integer_value(json_object_get(added, "length")));
    printf("queued %s (%s, seq %lld) for %s\n", sget(out, "command_id"), type,
           (long long)json_integer_value(json_object_get(out, "seq")), id);
    return EXIT_OK;
}

static int read_request(const char *path, json_t **out)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_small_file(path, 256 * 1024, &text, &len);
    *out = NULL;
    if (rc == 0)
        rc = ward_json_loadb(text, len, NULL, out, NULL);
    ward_free(text);
    if (rc != 0)
        fprintf(stderr, "ward-server: %s: %s\n", path,
                rc == WARD_EPARSE ? "not a JSON request file" : ward_strerror(rc));
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

static int write_request(const char *path, const json_t *req)
{
    char *text = NULL;
    size_t len = 0;
    int rc = ward_json_dumps(req, WARD_JSON_PRETTY, &text, &len);
    if (rc == 0)
        rc = ward_secfile_write(path, text, len);
    ward_free(text);
    if (rc != 0)
        fprintf(stderr, "ward-server: cannot write %s: %s\n", path, ward_strerror(rc));
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* `command send --signed FILE`: a request the offline key signed. */
static int command_send_signed(struct cli *c, const char *file)
{
    struct srv_app *app = NULL;
    struct srv_offline_auth a;
    json_t *req = NULL, *out = NULL, *dev = NULL;
    char msg[SRV_COMMAND_MSG_MAX] = "";
    const char *pinned;
    long ttl = 0;
    const char *v;
    int rc = EXIT_FAIL, r;

    memset(&a, 0, sizeof(a));
    if (take_opt(c, "--ttl", &v) && srv_parse_duration(v, &ttl) != 0) {
        fprintf(stderr, "ward-server command send: bad --ttl '%s'\n", v);
        return EXIT_USAGE;
    }
    if (no_leftover_flags(c, "command send") != EXIT_OK || c->argc != 0) {
        fprintf(stderr, "usage: ward-server command send --signed FILE [--ttl DUR]\n");
        return EXIT_USAGE;
    }
    if (read_request(file, &req) != EXIT_OK || open_app(c, &app) != EXIT_OK)
        goto out;
    r = srv_offline_request_open(app, req, &a, msg, sizeof(msg));
    if (r != 0) {
        fprintf(stderr, "ward-server command send: %s: %s\n", file,
                msg[0] ? msg : ward_strerror(r));
        goto out;
    }
    r = srv_device_show(app, a.device_id, &dev);
    if (r != 0) {
        fprintf(stderr, "ward-server command send: device %s: %s\n", a.device_id,
                r == WARD_ENOENT ? "no such device" : ward_strerror(r));
        goto out;
    }
    pinned = json_string_value(json_object_get(dev, "offline_key"));
    if (!pinned || strcmp(pinned, a.fingerprint) != 0) {
        fprintf(stderr,
                "ward-server command send: device %s pinned %s%.16s at enrollment; the request is"
                " signed by %.16s...\n",
                a.device_id, pinned ? "offline key " : "no offline key", pinned ? pinned : "",
                a.fingerprint);
        goto out;
    }
    r = srv_command_send_authorized(app, a.device_id, a.type, a.params, ttl, a.command_id,
                                    a.authorization, a.not_after, &out, msg, sizeof(msg));
    rc = report_send(c, r, a.device_id, a.type, out, NULL, msg);
out:
    srv_offline_auth_release(&a);
    json_decref(req);
    json_decref(out);
    json_decref(dev);
    srv_app_close(app);
    return rc;
}

static int command_send(struct cli *c)
{
    struct srv_app *app = NULL;
    struct cmd_args a;
    json_t *out = NULL;
    char msg[SRV_COMMAND_MSG_MAX] = "";
    const char *signed_file;
    int rc;

    if (take_opt(c, "--signed", &signed_file))
        return command_send_signed(c, signed_file);
    rc = parse_command(c, &app, &a, "command send");
    if (rc == EXIT_OK) {
        int r = srv_command_send(app, a.id, a.type, a.params, a.ttl, &out, msg, sizeof(msg));
        rc = report_send(c, r, a.id, a.type, out, a.added, msg);
    }
    json_decref(out);
    cmd_args_release(&a);
    srv_app_close(app);
    return rc;
}

/* `command prepare DEVICE FORM... --out FILE`: the request the offline key is to sign. */
static int command_prepare(struct cli *c)
{
    struct srv_app *app = NULL;
    struct cmd_args a;
    json_t *req = NULL, *dev = NULL;
    char msg[SRV_COMMAND_MSG_MAX] = "", command_id[32], hex[25];
    uint8_t idb[12];
    const char *outpath = NULL;
    int rc, r;

    if (!take_opt(c, "--out", &outpath)) {
        fprintf(stderr, "usage: ward-server command prepare DEVICE FORM [options] --out FILE\n"
                        "       (FORM and options as for command send)\n");
        return EXIT_USAGE;
    }
    rc = parse_command(c, &app, &a, "command prepare");
    if (rc != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    r = srv_command_check(app, a.type, a.params, msg, sizeof(msg));
    if (r != 0) {
        fprintf(stderr, "ward-server command prepare: %s\n", msg[0] ? msg : ward_strerror(r));
        goto out;
    }
    if ((r = srv_device_show(app, a.id, &dev)) != 0) {
        rc = fail("command prepare", r);
        goto out;
    }
    if (!json_is_string(json_object_get(dev, "offline_key"))) {
        fprintf(stderr,
                "ward-server command prepare: device %s pinned no offline key at enrollment, so"
                " an offline signature means nothing to it (create one with ward-server"
                " offline-key create before enrolling devices)\n",
                a.id);
        goto out;
    }
    if (ward_random_bytes(idb, sizeof(idb)) != 0 ||
        ward_hex_encode(idb, sizeof(idb), hex, sizeof(hex)) != 0)
        goto out;
    snprintf(command_id, sizeof(command_id), "c-%s", hex);
    r = srv_offline_request_new(command_id, a.id, a.type, a.params,
                                srv_now() + (a.ttl > 0 ? a.ttl : 86400), &req);
    if (r != 0) {
        rc = fail("command prepare", r);
        goto out;
    }
    if (write_request(outpath, req) != EXIT_OK)
        goto out;
    if (c->json) {
        rc = print_json(req);
    } else {
        printf("wrote %s: %s for %s (command %s); sign it with the offline key:\n"
               "  ward-server command sign %s --key OFFLINE-KEY-FILE\n"
               "then queue it here with: ward-server command send --signed %s\n",
               outpath, a.type, a.id, command_id, outpath, outpath);
        rc = EXIT_OK;
    }
out:
    json_decref(req);
    json_decref(dev);
    cmd_args_release(&a);
    srv_app_close(app);
    return rc;
}

/* One line from the terminal with echo off. */
static int read_secret_tty(const char *prompt, char *out, size_t outlen)
{
    struct termios old, quiet;
    FILE *tty = fopen("/dev/tty", "r+");
    int ok;

    if (!tty)
        return WARD_EIO;
    fputs(prompt, tty);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) != 0) {
        fclose(tty);
        return WARD_EIO;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    ok = fgets(out, (int)outlen, tty) != NULL;
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputs("\n", tty);
    fclose(tty);
    if (!ok)
        return WARD_EIO;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* The offline key's passphrase: --passphrase-file, WARD_OFFLINE_PASSPHRASE, or the
 * terminal (twice when creating). */
static int read_passphrase(struct cli *c, const char *verb, int confirm, char *out, size_t outlen)
{
    const char *file = NULL, *env = getenv("WARD_OFFLINE_PASSPHRASE");
    char again[256];
    size_t n;

    out[0] = '\0';
    if (take_opt(c, "--passphrase-file", &file)) {
        FILE *f = fopen(file, "r");
        if (!f || !fgets(out, (int)outlen, f)) {
            fprintf(stderr, "ward-server %s: cannot read %s\n", verb, file);
            if (f)
                fclose(f);
            return EXIT_FAIL;
        }
        fclose(f);
    } else if (env) {
        snprintf(out, outlen, "%s", env);
    } else if (isatty(STDIN_FILENO)) {
        if (read_secret_tty("offline key passphrase: ", out, outlen) != 0 ||
            (confirm &&
             (read_secret_tty("again: ", again, sizeof(again)) != 0 || strcmp(again, out) != 0))) {
            fprintf(stderr, "ward-server %s: the passphrases differ or could not be read\n", verb);
            memset(again, 0, sizeof(again));
            return EXIT_FAIL;
        }
        memset(again, 0, sizeof(again));
    } else {
        fprintf(stderr,
                "ward-server %s: the offline key's passphrase comes from --passphrase-file,"
                " WARD_OFFLINE_PASSPHRASE or a terminal\n",
                verb);
        return EXIT_USAGE;
    }
    n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return EXIT_OK;
}

/* `command sign REQ --key KEY [--out FILE]`: runs anywhere, no data directory. */
static int command_sign(struct cli *c)
{
    const char *keyfile = NULL, *outpath = NULL;
    char pass[256], msg[SRV_COMMAND_MSG_MAX] = "", *params = NULL;
    EVP_PKEY *key = NULL;
    json_t *req = NULL, *sum;
    int rc = EXIT_FAIL, r;

    if (!take_opt(c, "--key", &keyfile)) {
        fprintf(stderr, "usage: ward-server command sign REQUEST --key KEY-FILE"
                        " [--passphrase-file F] [--out FILE]\n");
        return EXIT_USAGE;
    }
    take_opt(c, "--out", &outpath);
    if (read_passphrase(c, "command sign", 0, pass, sizeof(pass)) != EXIT_OK)
        return EXIT_FAIL;
    if (no_leftover_flags(c, "command sign") != EXIT_OK || c->argc != 1) {
        memset(pass, 0, sizeof(pass));
        fprintf(stderr, "usage: ward-server command sign REQUEST --key KEY-FILE\n");
        return EXIT_USAGE;
    }
    if (!outpath)
        outpath = c->argv[0];
    r = ward_key_load_pem_passphrase(keyfile, pass, &key);
    memset(pass, 0, sizeof(pass));
    if (r != 0) {
        fprintf(stderr, "ward-server command sign: %s: %s\n", keyfile,
                r == WARD_EVERIFY ? "wrong passphrase, or not a key" : ward_strerror(r));
        goto out;
    }
    if (read_request(c->argv[0], &req) != EXIT_OK)
        goto out;
    r = srv_offline_request_sign(req, key, msg, sizeof(msg));
    if (r != 0) {
        fprintf(stderr, "ward-server command sign: %s: %s\n", c->argv[0],
                msg[0] ? msg : ward_strerror(r));
        goto out;
    }
    sum = json_object_get(req, "summary");
    if (ward_json_dumps(json_object_get(sum, "params"), WARD_JSON_SORT_KEYS, &params, NULL) != 0)
        goto out;
    /* What was signed, for the person who signed it. */
    fprintf(stderr, "signed %s for device %s (command %s, valid until %s)\n  params: %s\n",
            sget(sum, "type"), sget(sum, "device_id"), sget(sum, "command_id"),
            sget(sum, "not_after"), params);
    rc = write_request(outpath, req);
out:
    ward_free(params);
    EVP_PKEY_free(key);
    json_decref(req);
    return rc;
}

static int verb_offline_key(struct cli *c)
{
    struct srv_app *app = NULL;
    const char *sub = c->argc > 0 ? c->argv[0] : "", *outpath = NULL, *label = NULL;
    char pass[256], fp[SRV_OFFLINE_FP_LEN + 1];
    json_t *list = NULL, *k;
    size_t i;
    int rc = EXIT_FAIL, r;

    if (strcmp(sub, "create") == 0) {
        c->argc--;
        c->argv++;
        if (!take_opt(c, "--out", &outpath)) {
            fprintf(stderr, "usage: ward-server offline-key create --out FILE [--label TEXT]"
                            " [--passphrase-file F]\n");
            return EXIT_USAGE;
        }
        take_opt(c, "--label", &label);
        if (read_passphrase(c, "offline-key create", 1, pass, sizeof(pass)) != EXIT_OK)
            return EXIT_FAIL;
        if (no_leftover_flags(c, "offline-key create") != EXIT_OK || c->argc != 0 ||
            open_app(c, &app) != EXIT_OK) {
            memset(pass, 0, sizeof(pass));
            return EXIT_USAGE;
        }
        r = srv_offline_key_create(app, outpath, pass, label, fp, sizeof(fp));
        memset(pass, 0, sizeof(pass));
        if (r == WARD_EINVAL)
            fprintf(stderr,
                    "ward-server offline-key create: the passphrase needs at least %d"
                    " characters\n",
                    WARD_PASSPHRASE_MIN);
        else if (r == WARD_EEXIST)
            fprintf(stderr, "ward-server offline-key create: %s exists; not overwritten\n",
                    outpath);
        else if (r != 0)
            fail("offline-key create", r);
        else if (c->json) {
            json_t *j = json_pack("{s:s, s:s}", "fingerprint", fp, "file", outpath);
            rc = j ? print_json(j) : EXIT_FAIL;
            json_decref(j);
        } else {
            printf("offline key %.16s... written to %s\n"
                   "Devices enrolled from now on pin it: their destructive commands then need its"
                   " signature.\nMove %s off this machine; the service keeps only the public"
                   " key.\n",
                   fp, outpath, outpath);
            rc = EXIT_OK;
        }
    } else if (strcmp(sub, "list") == 0 && c->argc == 1) {
        if (open_app(c, &app) != EXIT_OK)
            return EXIT_FAIL;
        r = srv_offline_key_list(app, &list);
        if (r != 0) {
            rc = fail("offline-key list", r);
        } else if (c->json) {
            rc = print_json(list);
        } else {
            printf("%-18s %-21s %-21s %s\n", "FINGERPRINT", "CREATED", "RETIRED", "LABEL");
            json_array_foreach(list, i, k)
            {
                printf("%.16s   %-21s %-21s %s\n", sget(k, "fingerprint"), sget(k, "created_at"),
                       sget(k, "retired_at"), sget(k, "label"));
            }
            rc = EXIT_OK;
        }
        json_decref(list);
    } else {
        fprintf(stderr, "usage: ward-server offline-key create --out FILE | offline-key list\n");
        return EXIT_USAGE;
    }
    srv_app_close(app);
    return rc;
}

static int verb_command(struct cli *c)
{
    const char *sub = c->argc > 0 ? c->argv[0] : "";
    int (*run)(struct cli *) = strcmp(sub, "send") == 0      ? command_send
                               : strcmp(sub, "prepare") == 0 ? command_prepare
                               : strcmp(sub, "sign") == 0    ? command_sign
                                                             : NULL;
    if (!run) {
        command_send_usage();
        return EXIT_USAGE;
    }
    c->argc--;
    c->argv++;
    return run(c);
}

/* Text of a result member that may be long (script output): indented lines. */
static void print_block(const char *label, const json_t *text, const json_t *dropped)
{
    const char *s = json_string_value(text), *nl;
    long long d = json_integer_value(dropped);
    if (!s)
        return;
    printf("%-11s %zu bytes%s", label, strlen(s), d > 0 ? "" : "\n");
    if (d > 0)
        printf(", %lld more dropped\n", d);
    while (*s) {
        nl = strchr(s, '\n');
        printf("    %.*s\n", nl ? (int)(nl - s) : (int)strlen(s), s);
        s = nl ? nl + 1 : s + strlen(s);
    }
}

static void print_compact(const char *label, const json_t *j)
{
    char *s = NULL;
    if (!j || ward_json_dumps(j, WARD_JSON_SORT_KEYS, &s, NULL) != 0)
        return;
    printf("%-11s %s\n", label, s);
    ward_free(s);
}

static void print_command(const json_t *x)
{
    const json_t *res = json_object_get(x, "result"), *o = json_object_get(res, "output");
    const json_t *params = json_object_get(x, "params"), *script;
    const json_t *receipt = json_object_get(res, "receipt");
    json_t *shown = NULL;

    printf("command:    %s\n", sget(x, "command_id"));
    printf("device:     %s\n", sget(x, "device_id"));
    printf("type:       %s (seq %lld)\n", sget(x, "type"),
           (long long)json_integer_value(json_object_get(x, "seq")));
    /* An inline script is shown by its size; `--json` has the text. */
    script = json_object_get(params, "script");
    if (json_is_string(script) && (shown = json_deep_copy(params)) != NULL) {
        char size[48];
        snprintf(size, sizeof(size), "<%zu bytes>", json_string_length(script));
        json_object_set_new(shown, "script", json_string(size));
        params = shown;
    }
    print_compact("params:", params);
    json_decref(shown);
    printf("status:     %s\n", sget(x, "status"));
    printf("issued:     %s, expires %s\n", sget(x, "issued_at"), sget(x, "expires_at"));
    printf("delivered:  %s\n", sget(x, "delivered_at"));
    printf("updated:    %s\n", sget(x, "updated_at"));
    printf("finished:   %s\n", sget(x, "finished_at"));
    if (!json_is_object(res)) {
        printf("result:     none yet\n");
        return;
    }
    if (json_object_get(res, "started_at") || json_object_get(res, "finished_at"))
        printf("ran:        %s to %s\n", sget(res, "started_at"), sget(res, "finished_at"));
    if (json_is_string(json_object_get(res, "error")))
        printf("error:      %s\n", sget(res, "error"));
    if (!receipt)
        receipt = json_object_get(o, "receipt");
    if (strcmp(sget(x, "type"), "run_script") == 0 && json_is_object(o)) {
        if (json_is_integer(json_object_get(o, "exit_code")))
            printf("exit code:  %lld\n",
                   (long long)json_integer_value(json_object_get(o, "exit_code")));
        print_block("stdout:", json_object_get(o, "stdout"), json_object_get(o, "stdout_dropped"));
        print_block("stderr:", json_object_get(o, "stderr"), json_object_get(o, "stderr_dropped"));
    } else if (o && !json_is_null(o)) {
        print_compact("output:", o);
    }
    if (receipt)
        print_compact("receipt:", receipt);
}

static int verb_commands(struct cli *c)
{
    struct srv_app *app = NULL;
    json_t *list = NULL, *x;
    char *id = NULL;
    size_t i;
    int rc = EXIT_OK;
    if (c->argc == 2 && strcmp(c->argv[0], "show") == 0) {
        if (open_app(c, &app) != EXIT_OK)
            return EXIT_FAIL;
        int r = srv_command_show(app, c->argv[1], &x);
        if (r == WARD_ENOENT || r == WARD_EINVAL) {
            fprintf(stderr, "ward-server: no command '%s'\n", c->argv[1]);
            rc = EXIT_FAIL;
        } else if (r == WARD_EBUSY) {
            fprintf(stderr, "ward-server: command prefix '%s' is ambiguous\n", c->argv[1]);
            rc = EXIT_FAIL;
        } else if (r != 0) {
            rc = fail("commands show", r);
        } else {
            if (c->json)
                rc = print_json(x);
            else
                print_command(x);
            json_decref(x);
        }
        srv_app_close(app);
        return rc;
    }
    if (c->argc < 1 || c->argc > 2 || strcmp(c->argv[0], "list") != 0) {
        fprintf(stderr, "usage: ward-server commands list [DEVICE] | commands show ID\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (c->argc == 2 && resolve_device(app, c->argv[1], &id) != 0) {
        srv_app_close(app);
        return EXIT_FAIL;
    }
    int r = srv_command_list(app, id, &list);
    if (r != 0) {
        rc = fail("commands list", r);
    } else if (c->json) {
        rc = print_json(list);
    } else {
        printf("%-26s %-28s %-4s %-14s %-11s %s\n", "COMMAND", "DEVICE", "SEQ", "TYPE", "STATUS",
               "ISSUED");
        json_array_foreach(list, i, x)
        {
            printf("%-26s %-28s %-4lld %-14s %-11s %s\n", sget(x, "command_id"),
                   sget(x, "device_id"), (long long)json_integer_value(json_object_get(x, "seq")),
                   sget(x, "type"), sget(x, "status"), sget(x, "issued_at"));
        }
    }
    json_decref(list);
    ward_free(id);
    srv_app_close(app);
    return rc;
}

/* ---- files -------------------------------------------------------------------------- */

static int verb_file(struct cli *c)
{
    struct srv_app *app = NULL;
    json_t *out = NULL;
    int rc = EXIT_OK, r;
    if (no_leftover_flags(c, "file") != EXIT_OK || c->argc != 2 || strcmp(c->argv[0], "add") != 0) {
        fprintf(stderr, "usage: ward-server file add PATH\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    r = srv_file_add(app, c->argv[1], &out);
    if (r == WARD_EINVAL) {
        fprintf(stderr, "ward-server file add: %s: not a regular file, or empty\n", c->argv[1]);
        rc = EXIT_FAIL;
    } else if (r != 0) {
        fprintf(stderr, "ward-server file add: %s: %s\n", c->argv[1], ward_strerror(r));
        rc = EXIT_FAIL;
    } else if (c->json) {
        rc = print_json(out);
    } else {
        printf("%s %lld\n", sget(out, "sha256"),
               (long long)json_integer_value(json_object_get(out, "length")));
    }
    json_decref(out);
    srv_app_close(app);
    return rc;
}

static int verb_files(struct cli *c)
{
    struct srv_app *app = NULL;
    json_t *list = NULL, *f;
    size_t i;
    int rc = EXIT_OK, r;
    if (no_leftover_flags(c, "files") != EXIT_OK || c->argc > 1 ||
        (c->argc == 1 && strcmp(c->argv[0], "list") != 0)) {
        fprintf(stderr, "usage: ward-server files [list]\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    r = srv_file_list(app, &list);
    if (r != 0) {
        rc = fail("files", r);
    } else if (c->json) {
        rc = print_json(list);
    } else {
        printf("%-64s %12s %-21s %s\n", "SHA256", "LENGTH", "ADDED", "NAME");
        json_array_foreach(list, i, f)
        {
            printf("%-64s %12lld %-21s %s\n", sget(f, "sha256"),
                   (long long)json_integer_value(json_object_get(f, "length")), sget(f, "added_at"),
                   sget(f, "name"));
        }
    }
    json_decref(list);
    srv_app_close(app);
    return rc;
}

static int verb_wake(struct cli *c)
{
    struct srv_app *app = NULL;
    char *id = NULL;
    int r;
    if (c->argc != 1) {
        fprintf(stderr, "usage: ward-server wake DEVICE\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (resolve_device(app, c->argv[0], &id) != 0) {
        srv_app_close(app);
        return EXIT_FAIL;
    }
    r = srv_admin_wake(c->data_dir, id);
    srv_app_close(app);
    if (r < 0) {
        fprintf(stderr, "ward-server: cannot reach the running server: %s\n", ward_strerror(r));
        ward_free(id);
        return EXIT_FAIL;
    }
    printf(r == 1 ? "woke %s\n" : "%s will be woken at its next wait\n", id);
    ward_free(id);
    return EXIT_OK;
}

/* ---- baselines and compliance ------------------------------------------------------- */

static int read_doc(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct ward_buf b;
    char chunk[65536];
    size_t n;
    int rc = 0;

    *out = NULL;
    if (!f)
        return errno == ENOENT ? WARD_ENOENT : errno == EACCES ? WARD_EACCES : WARD_EIO;
    ward_buf_init(&b, SRV_BASELINE_MAX_BYTES);
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = ward_buf_append(&b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = WARD_EIO;
    fclose(f);
    if (rc == 0)
        *out = ward_buf_steal(&b, len);
    ward_buf_release(&b);
    return rc != 0 ? rc : *out ? 0 : WARD_ENOMEM;
}

static int baseline_put(struct cli *c, struct srv_app *app, const char *file)
{
    char *doc = NULL, msg[WARD_JSON_PATH_MAX + WARD_JSON_TEXT_MAX + 64];
    json_t *out = NULL;
    size_t len = 0;
    int rc = read_doc(file, &doc, &len);
    if (rc != 0) {
        fprintf(stderr, "ward-server baseline put: %s: %s\n", file,
                rc == WARD_ETOOBIG ? "larger than 4 MiB" : ward_strerror(rc));
        return EXIT_FAIL;
    }
    rc = srv_baseline_put(app, doc, len, &out, msg, sizeof(msg));
    ward_free(doc);
    if (rc != 0) {
        fprintf(stderr, "ward-server baseline put: %s: %s\n", file,
                msg[0] ? msg : ward_strerror(rc));
        return EXIT_FAIL;
    }
    if (c->json)
        rc = print_json(out);
    else
        printf("stored baseline %s version %lld (%lld settings, %s mode, sha256 %s)\n",
               sget(out, "id"), (long long)json_integer_value(json_object_get(out, "version")),
               (long long)json_integer_value(json_object_get(out, "settings")), sget(out, "mode"),
               sget(out, "sha256"));
    json_decref(out);
    return rc;
}

static int baseline_list(struct cli *c, struct srv_app *app)
{
    json_t *list = NULL, *b, *a;
    size_t i, k;
    int rc = srv_baseline_list(app, &list);
    if (rc != 0)
        return fail("baseline list", rc);
    if (c->json) {
        rc = print_json(list);
    } else {
        printf("%-32s %-7s %-8s %-8s %s\n", "BASELINE", "VERSION", "MODE", "SETTINGS",
               "ASSIGNED TO");
        json_array_foreach(list, i, b)
        {
            printf("%-32s %-7lld %-8s %-8lld ", sget(b, "id"),
                   (long long)json_integer_value(json_object_get(b, "version")), sget(b, "mode"),
                   (long long)json_integer_value(json_object_get(b, "settings")));
            if (json_array_size(json_object_get(b, "assigned")) == 0)
                printf("-");
            json_array_foreach(json_object_get(b, "assigned"), k, a)
            {
                const char *t = json_string_value(a);
                printf("%s%s", k ? ", " : "", strcmp(t, "*") == 0 ? "all devices" : t);
            }
            printf("\n");
        }
        rc = EXIT_OK;
    }
    json_decref(list);
    return rc;
}

static int verb_baseline(struct cli *c)
{
    struct srv_app *app = NULL;
    const char *sub = c->argc > 0 ? c->argv[0] : "";
    char *dev = NULL;
    int all, assign, r, rc = EXIT_OK;

    if (c->argc > 0) {
        c->argc--;
        c->argv++;
    }
    all = take_flag(c, "--all");
    if (no_leftover_flags(c, "baseline") != EXIT_OK)
        return EXIT_USAGE;
    if (!((strcmp(sub, "put") == 0 && c->argc == 1 && !all) ||
          (strcmp(sub, "list") == 0 && c->argc == 0 && !all) ||
          ((strcmp(sub, "assign") == 0 || strcmp(sub, "unassign") == 0) &&
           c->argc == (all ? 1 : 2)))) {
        fprintf(stderr, "usage: ward-server baseline put FILE | list | assign ID DEVICE|--all |"
                        " unassign ID DEVICE|--all\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (strcmp(sub, "put") == 0) {
        rc = baseline_put(c, app, c->argv[0]);
        goto out;
    }
    if (strcmp(sub, "list") == 0) {
        rc = baseline_list(c, app);
        goto out;
    }
    assign = strcmp(sub, "assign") == 0;
    if (!all && resolve_device(app, c->argv[1], &dev) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    r = assign ? srv_baseline_assign(app, c->argv[0], dev)
               : srv_baseline_unassign(app, c->argv[0], dev);
    if (r == WARD_ENOENT && assign) {
        fprintf(stderr, "ward-server: no baseline '%s'\n", c->argv[0]);
        rc = EXIT_FAIL;
    } else if (r == WARD_ENOENT) {
        fprintf(stderr, "ward-server: baseline '%s' is not assigned to %s\n", c->argv[0],
                dev ? dev : "all devices");
        rc = EXIT_FAIL;
    } else if (r == WARD_EEXIST) {
        printf("baseline %s is already assigned to %s\n", c->argv[0], dev ? dev : "all devices");
    } else if (r != 0) {
        rc = fail(assign ? "baseline assign" : "baseline unassign", r);
    } else {
        printf("%s baseline %s %s %s\n", assign ? "assigned" : "unassigned", c->argv[0],
               assign ? "to" : "from", dev ? dev : "all devices");
        if (dev)
            notify_wake(c, dev, 0); /* a running server lets the device check in now */
    }
out:
    ward_free(dev);
    srv_app_close(app);
    return rc;
}

static long long iget(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_compliance_device(const char *dev, const json_t *out)
{
    const json_t *x, *f;
    size_t i, k;
    printf("device %s\n", dev);
    if (json_array_size(out) == 0)
        printf("  no baselines assigned or reported\n");
    json_array_foreach(out, i, x)
    {
        const json_t *n = json_object_get(x, "results");
        printf("\n%s: %s", sget(x, "baseline"), sget(x, "status"));
        if (json_is_integer(json_object_get(x, "version")))
            printf(" (version %lld of %lld, evaluated %s; kept %lld, repaired %lld, failed %lld,"
                   " denied %lld, skipped %lld)",
                   iget(x, "version"), iget(x, "latest_version"), sget(x, "evaluated_at"),
                   iget(n, "KEPT"), iget(n, "REPAIRED"), iget(n, "FAILED"), iget(n, "DENIED"),
                   iget(n, "SKIPPED"));
        printf("%s\n", json_is_true(json_object_get(x, "assigned")) ? "" : " [not assigned]");
        if (json_array_size(json_object_get(x, "failing")) > 0)
            printf("  %-24s %-8s %-28s %-28s %s\n", "SETTING", "RESULT", "EXPECTED", "ACTUAL",
                   "ERROR");
        json_array_foreach(json_object_get(x, "failing"), k, f)
        {
            printf("  %-24s %-8s %-28s %-28s %s%s\n", sget(f, "id"), sget(f, "result"),
                   sget(f, "expected"), sget(f, "actual"), sget(f, "error"),
                   json_is_true(json_object_get(f, "flapping")) ? " (flapping)" : "");
        }
    }
}

static int verb_compliance(struct cli *c)
{
    struct srv_app *app = NULL;
    json_t *out = NULL, *x;
    char *dev = NULL;
    size_t i;
    int rc = EXIT_OK, r;

    if (no_leftover_flags(c, "compliance") != EXIT_OK || c->argc > 1) {
        fprintf(stderr, "usage: ward-server compliance [DEVICE]\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (c->argc == 1 && resolve_device(app, c->argv[0], &dev) != 0) {
        srv_app_close(app);
        return EXIT_FAIL;
    }
    r = dev ? srv_compliance_device(app, dev, &out) : srv_compliance_summary(app, &out);
    if (r != 0) {
        rc = fail("compliance", r);
    } else if (c->json) {
        rc = print_json(out);
    } else if (dev) {
        print_compliance_device(dev, out);
    } else {
        printf("%-28s %-7s %-7s %-9s %-13s %-12s %s\n", "BASELINE", "VERSION", "DEVICES",
               "COMPLIANT", "NON-COMPLIANT", "NOT REPORTED", "KEPT/REPAIRED/FAILED/DENIED/SKIPPED");
        json_array_foreach(out, i, x)
        {
            const json_t *n = json_object_get(x, "results");
            printf("%-28s %-7lld %-7lld %-9lld %-13lld %-12lld %lld/%lld/%lld/%lld/%lld\n",
                   sget(x, "id"), iget(x, "version"), iget(x, "devices"), iget(x, "compliant"),
                   iget(x, "non_compliant"), iget(x, "not_reported"), iget(n, "KEPT"),
                   iget(n, "REPAIRED"), iget(n, "FAILED"), iget(n, "DENIED"), iget(n, "SKIPPED"));
        }
    }
    json_decref(out);
    ward_free(dev);
    srv_app_close(app);
    return rc;
}

int srv_admin_wake(const char *data_dir, const char *device_id)
{
    char *path = srv_path_join(data_dir, SRV_FILE_ADMIN_SOCK);
    struct plat_ipc_client *c = NULL;
    json_t *req = json_pack("{s:s, s:s}", "verb", "wake", "device", device_id), *ans = NULL;
    char *text = NULL, *reply = NULL;
    size_t len = 0, rlen = 0;
    int rc = path && req ? ward_json_dumps(req, 0, &text, &len) : WARD_ENOMEM;

    if (rc == 0 && (rc = plat_ipc_connect(path, 5000, &c)) != 0)
        rc = WARD_ECONNECT; /* no server running: the device is woken at its next poll */
    if (rc == 0)
        rc = plat_ipc_client_send(c, text, len, 5000);
    if (rc == 0)
        rc = plat_ipc_client_recv(c, 4096, 5000, &reply, &rlen);
    if (rc == 0 && ward_json_loadb(reply, rlen, NULL, &ans, NULL) == 0 &&
        json_is_true(json_object_get(ans, "ok")))
        rc = json_is_true(json_object_get(json_object_get(ans, "result"), "woken")) ? 1 : 0;
    else if (rc == 0)
        rc = WARD_EPROTO;
    plat_ipc_client_close(c);
    json_decref(req);
    json_decref(ans);
    ward_free(text);
    ward_free(reply);
    ward_free(path);
    return rc;
}

/* One row as "col=value col=value" for the text output of inventory show/find. */
static void print_row(const char *indent, const json_t *row)
{
    const char *k;
    json_t *v;
    printf("%s", indent);
    json_object_foreach((json_t *)(uintptr_t)row, k, v)
    {
        if (json_is_string(v))
            printf(" %s=%s", k, json_string_value(v));
        else if (json_is_integer(v))
            printf(" %s=%lld", k, (long long)json_integer_value(v));
        else if (json_is_real(v))
            printf(" %s=%g", k, json_real_value(v));
        else if (json_is_boolean(v))
            printf(" %s=%s", k, json_is_true(v) ? "true" : "false");
    }
    printf("\n");
}

static int inventory_show(struct cli *c, struct srv_app *app)
{
    const char *section = NULL;
    json_t *doc = NULL, *out = NULL;
    char *id = NULL;
    int rc = EXIT_OK, r;

    take_opt(c, "--section", &section);
    if (no_leftover_flags(c, "inventory show") != EXIT_OK || c->argc != 1) {
        fprintf(stderr, "usage: ward-server inventory show DEVICE [--section S] [--json]\n");
        return EXIT_USAGE;
    }
    if (section && !inv_section_find(section) && strcmp(section, "collection") != 0) {
        fprintf(stderr, "ward-server inventory show: unknown section '%s'\n", section);
        return EXIT_USAGE;
    }
    if (resolve_device(app, c->argv[0], &id) != 0)
        return EXIT_FAIL;
    r = srv_inventory_load(app, id, &doc);
    if (r == WARD_ENOENT) {
        fprintf(stderr, "ward-server: device %s has not sent an inventory yet\n", id);
        rc = EXIT_FAIL;
        goto out;
    }
    if (r != 0) {
        rc = fail("inventory show", r);
        goto out;
    }
    if (section) {
        out = json_object();
        if (!out || (json_object_get(doc, section) &&
                     json_object_set(out, section, json_object_get(doc, section)) != 0)) {
            rc = fail("inventory show", WARD_ENOMEM);
            goto out;
        }
    } else {
        out = json_incref(doc);
    }
    if (c->json) {
        rc = print_json(out);
        goto out;
    }
    for (size_t s = 0; inv_sections[s]; s++) {
        for (size_t i = 0; inv_sections[s]->tables[i]; i++) {
            const struct inv_table *t = inv_sections[s]->tables[i];
            const json_t *sec = json_object_get(out, t->section), *v, *row;
            size_t k;
            v = t->member ? json_object_get(sec, t->member) : sec;
            if (!v)
                continue;
            if (t->shape == INV_SHAPE_OBJECT) {
                printf("%s:\n", t->name);
                print_row("   ", v);
                continue;
            }
            printf("%s: %zu row(s)\n", t->name, json_array_size(v));
            json_array_foreach(v, k, row)
            {
                print_row("   ", row);
            }
        }
    }
out:
    json_decref(doc);
    json_decref(out);
    ward_free(id);
    return rc;
}

static int add_cond(struct srv_inv_cond *conds, size_t *n, size_t max, const char *text)
{
    char err[256] = "";
    if (*n >= max) {
        fprintf(stderr, "ward-server inventory find: at most %zu conditions\n", max);
        return EXIT_USAGE;
    }
    if (srv_inv_cond_parse(text, &conds[*n], err, sizeof(err)) != 0) {
        fprintf(stderr, "ward-server inventory find: %s\n", err);
        return EXIT_USAGE;
    }
    (*n)++;
    return EXIT_OK;
}

static int inventory_find(struct cli *c, struct srv_app *app)
{
    static const struct {
        const char *flag, *op;
    } vflags[] = {{"--version-lt", "<"},
                  {"--version-le", "<="},
                  {"--version-gt", ">"},
                  {"--version-ge", ">="},
                  {"--version-eq", "="}};
    struct srv_inv_cond conds[MAX_PARAMS];
    const char *pkg = NULL, *v;
    char text[512];
    json_t *list = NULL, *d;
    size_t n = 0, i;
    int rc = EXIT_OK, r, have_version = 0;

    if (take_opt(c, "--package", &pkg)) {
        snprintf(text, sizeof(text), "apps.name=%s", pkg);
        if (add_cond(conds, &n, MAX_PARAMS, text) != EXIT_OK ||
            add_cond(conds, &n, MAX_PARAMS, "apps.status=installed") != EXIT_OK)
            return EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof(vflags) / sizeof(vflags[0]); k++) {
        while (take_opt(c, vflags[k].flag, &v)) {
            if (!pkg) {
                fprintf(stderr, "ward-server inventory find: %s needs --package\n", vflags[k].flag);
                return EXIT_USAGE;
            }
            snprintf(text, sizeof(text), "apps.version%s%s", vflags[k].op, v);
            if (add_cond(conds, &n, MAX_PARAMS, text) != EXIT_OK)
                return EXIT_USAGE;
            have_version = 1;
        }
    }
    (void)have_version;
    if (take_opt(c, "--cert-expiring-within", &v)) {
        long within;
        if (srv_parse_duration(v, &within) != 0) {
            fprintf(stderr,
                    "ward-server inventory find: --cert-expiring-within: '%s' is not a "
                    "duration\n",
                    v);
            return EXIT_USAGE;
        }
        snprintf(text, sizeof(text), "certificates.not_after<=%lld",
                 (long long)time(NULL) + (long long)within);
        if (add_cond(conds, &n, MAX_PARAMS, text) != EXIT_OK)
            return EXIT_USAGE;
    }
    if (take_flag(c, "--unencrypted-root") &&
        add_cond(conds, &n, MAX_PARAMS, "encryption.summary.root_encrypted=false") != EXIT_OK)
        return EXIT_USAGE;
    while (take_opt(c, "--where", &v))
        if (add_cond(conds, &n, MAX_PARAMS, v) != EXIT_OK)
            return EXIT_USAGE;
    if (no_leftover_flags(c, "inventory find") != EXIT_OK || c->argc != 0 || n == 0) {
        fprintf(stderr, "usage: ward-server inventory find [--package NAME [--version-lt V]...]"
                        " [--unencrypted-root] [--cert-expiring-within DUR]"
                        " [--where 'TABLE.COLUMN OP VALUE']... [--json]\n");
        return EXIT_USAGE;
    }
    r = srv_inventory_find(app, conds, n, &list);
    if (r != 0)
        return fail("inventory find", r);
    if (c->json) {
        rc = print_json(list);
    } else {
        printf("%-28s %-20s %s\n", "DEVICE", "HOSTNAME", "MATCHING ROWS");
        json_array_foreach(list, i, d)
        {
            const char *k;
            json_t *rows, *row;
            size_t j;
            printf("%-28s %-20s\n", sget(d, "device_id"), sget(d, "hostname"));
            json_object_foreach(json_object_get(d, "matches"), k, rows)
            {
                json_array_foreach(rows, j, row)
                {
                    printf("    %s:", k);
                    print_row("", row);
                }
            }
        }
        printf("%zu device(s)\n", json_array_size(list));
    }
    json_decref(list);
    return rc;
}

static int verb_inventory(struct cli *c)
{
    struct srv_app *app = NULL;
    const char *sub = c->argc > 0 ? c->argv[0] : "";
    int rc;
    if (strcmp(sub, "show") != 0 && strcmp(sub, "find") != 0) {
        fprintf(stderr, "usage: ward-server inventory show DEVICE [--section S] | inventory find "
                        "CONDITIONS (see --help)\n");
        return EXIT_USAGE;
    }
    c->argc--;
    c->argv++;
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    rc = strcmp(sub, "show") == 0 ? inventory_show(c, app) : inventory_find(c, app);
    srv_app_close(app);
    return rc;
}

/* ---- EST certificate profiles and issued certificates ------------------------------- */

static int cert_profile_put(struct cli *c, struct srv_app *app, const char *file)
{
    char *doc = NULL, msg[WARD_JSON_PATH_MAX + WARD_JSON_TEXT_MAX + 64] = "";
    json_t *out = NULL;
    size_t len = 0;
    int rc = read_doc(file, &doc, &len);
    if (rc == 0 && len > SRV_CERT_PROFILE_MAX_BYTES)
        rc = WARD_ETOOBIG;
    if (rc != 0) {
        fprintf(stderr, "ward-server cert-profile put: %s: %s\n", file,
                rc == WARD_ETOOBIG ? "larger than 16 KiB" : ward_strerror(rc));
        ward_free(doc);
        return EXIT_FAIL;
    }
    rc = srv_cert_profile_put(app, doc, len, &out, msg, sizeof(msg));
    ward_free(doc);
    if (rc != 0) {
        fprintf(stderr, "ward-server cert-profile put: %s: %s\n", file,
                msg[0] ? msg : ward_strerror(rc));
        return EXIT_FAIL;
    }
    if (c->json) {
        rc = print_json(out);
    } else {
        json_t *p = json_object_get(out, "profile"), *v;
        char keys[64] = "";
        size_t k;
        json_array_foreach(json_object_get(p, "key"), k, v)
            snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s", k ? "," : "",
                     json_string_value(v));
        printf("%s certificate profile %s (lifetime %llds, key %s)\n",
               json_is_true(json_object_get(out, "created")) ? "created" : "updated",
               sget(out, "id"), (long long)json_integer_value(json_object_get(p, "lifetime")),
               keys);
        rc = EXIT_OK;
    }
    json_decref(out);
    return rc;
}

static int verb_cert_profile(struct cli *c)
{
    struct srv_app *app = NULL;
    const char *sub = c->argc > 0 ? c->argv[0] : "";
    json_t *out = NULL, *p;
    size_t i;
    int r, rc = EXIT_OK;

    if (c->argc > 0) {
        c->argc--;
        c->argv++;
    }
    if (no_leftover_flags(c, "cert-profile") != EXIT_OK)
        return EXIT_USAGE;
    if (!((strcmp(sub, "put") == 0 && c->argc == 1) || (strcmp(sub, "list") == 0 && c->argc == 0) ||
          (strcmp(sub, "show") == 0 && c->argc == 1))) {
        fprintf(stderr, "usage: ward-server cert-profile put FILE | list | show ID\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (strcmp(sub, "put") == 0) {
        rc = cert_profile_put(c, app, c->argv[0]);
    } else if (strcmp(sub, "show") == 0) {
        r = srv_cert_profile_show(app, c->argv[0], &out);
        if (r == WARD_ENOENT) {
            fprintf(stderr, "ward-server: no certificate profile '%s'\n", c->argv[0]);
            rc = EXIT_FAIL;
        } else if (r != 0) {
            rc = fail("cert-profile show", r);
        } else {
            rc = print_json(out); /* the document is the clearest view */
        }
    } else if ((r = srv_cert_profile_list(app, &out)) != 0) {
        rc = fail("cert-profile list", r);
    } else if (c->json) {
        rc = print_json(out);
    } else {
        printf("%-24s %-10s %-18s %-38s %s\n", "PROFILE", "LIFETIME", "KEY", "EKU", "UPDATED");
        json_array_foreach(out, i, p)
        {
            char keys[64] = "", eku[96] = "";
            size_t k;
            json_t *v;
            json_array_foreach(json_object_get(p, "key"), k, v)
                snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s", k ? "," : "",
                         json_string_value(v));
            json_array_foreach(json_object_get(p, "eku"), k, v)
                snprintf(eku + strlen(eku), sizeof(eku) - strlen(eku), "%s%s", k ? "," : "",
                         json_string_value(v));
            printf("%-24s %-10lld %-18s %-38s %s\n", sget(p, "id"), iget(p, "lifetime"), keys, eku,
                   sget(p, "updated_at"));
        }
    }
    json_decref(out);
    srv_app_close(app);
    return rc;
}

/* "in 89d", "in 5h", "expired". */
static void expiry_text(const char *iso, char *out, size_t outlen)
{
    struct tm tm;
    time_t t, now = time(NULL);
    long long d;
    memset(&tm, 0, sizeof(tm));
    if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        snprintf(out, outlen, "-");
        return;
    }
    t = timegm(&tm);
    d = (long long)(t - now);
    if (d <= 0)
        snprintf(out, outlen, "expired");
    else if (d >= 86400)
        snprintf(out, outlen, "in %lldd", d / 86400);
    else if (d >= 3600)
        snprintf(out, outlen, "in %lldh", d / 3600);
    else if (d >= 60)
        snprintf(out, outlen, "in %lldm", d / 60);
    else
        snprintf(out, outlen, "in %llds", d);
}

static int verb_certs(struct cli *c)
{
    struct srv_app *app = NULL;
    char *dev = NULL;
    json_t *list = NULL, *x;
    size_t i;
    int r, rc = EXIT_OK;

    if (no_leftover_flags(c, "certs") != EXIT_OK)
        return EXIT_USAGE;
    if (c->argc > 1) {
        fprintf(stderr, "usage: ward-server certs [DEVICE]\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    if (c->argc == 1 && resolve_device(app, c->argv[0], &dev) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    if ((r = srv_issued_cert_list(app, dev, &list)) != 0) {
        rc = fail("certs", r);
        goto out;
    }
    if (c->json) {
        rc = print_json(list);
        goto out;
    }
    printf("%-32s %-16s %-22s %-10s %-20s %-10s %s\n", "SERIAL", "PROFILE", "DEVICE", "STATE",
           "NOT AFTER", "EXPIRES", "SUBJECT");
    json_array_foreach(list, i, x)
    {
        char exp[32];
        expiry_text(sget(x, "not_after"), exp, sizeof(exp));
        printf("%-32s %-16s %-22s %-10s %-20s %-10s %s\n", sget(x, "serial"), sget(x, "profile"),
               sget(x, "device_id"), sget(x, "state"), sget(x, "not_after"), exp,
               sget(x, "subject"));
    }
out:
    json_decref(list);
    ward_free(dev);
    srv_app_close(app);
    return rc;
}

static int verb_cert(struct cli *c)
{
    struct srv_app *app = NULL;
    char *dev = NULL;
    int r, rc = EXIT_OK;

    if (no_leftover_flags(c, "cert") != EXIT_OK)
        return EXIT_USAGE;
    if (c->argc != 2 || strcmp(c->argv[0], "revoke") != 0) {
        fprintf(stderr, "usage: ward-server cert revoke SERIAL\n");
        return EXIT_USAGE;
    }
    if (open_app(c, &app) != EXIT_OK)
        return EXIT_FAIL;
    r = srv_issued_cert_revoke(app, c->argv[1], &dev);
    if (r == WARD_ENOENT) {
        fprintf(stderr, "ward-server: no issued certificate with serial '%s'\n", c->argv[1]);
        rc = EXIT_FAIL;
    } else if (r == WARD_EEXIST) {
        printf("certificate %s is already revoked\n", c->argv[1]);
    } else if (r != 0) {
        rc = fail("cert revoke", r);
    } else if (c->json) {
        json_t *j =
            json_pack("{s:s, s:s, s:b}", "serial", c->argv[1], "device_id", dev, "revoked", 1);
        rc = j ? print_json(j) : EXIT_FAIL;
        json_decref(j);
    } else {
        printf("revoked certificate %s of %s\n", c->argv[1], dev);
    }
    ward_free(dev);
    srv_app_close(app);
    return rc;
}

static const struct {
    const char *name;
    int (*run)(struct cli *c);
} verbs[] = {
    {"init", verb_init},
    {"serve", verb_serve},
    {"token", verb_token},
    {"devices", verb_devices},
    {"device", verb_device},
    {"command", verb_command},
    {"commands", verb_commands},
    {"wake", verb_wake},
    {"baseline", verb_baseline},
    {"compliance", verb_compliance},
    {"inventory", verb_inventory},
    {"file", verb_file},
    {"files", verb_files},
    {"offline-key", verb_offline_key},
    {"cert-profile", verb_cert_profile},
    {"certs", verb_certs},
    {"cert", verb_cert},
};

int main(int argc, char **argv)
{
    struct cli c = {.data_dir = DEFAULT_DATA_DIR};
    int i = 1;

    ward_json_init();
    /* Admin verbs print their own results; routine progress is for `serve` (and -v). */
    ward_log_set_level(WARD_LOG_WARN);
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (strcmp(a, "--data-dir") == 0 && i + 1 < argc) {
            c.data_dir = argv[++i];
        } else if (strncmp(a, "--data-dir=", 11) == 0) {
            c.data_dir = a + 11;
        } else if (strcmp(a, "--json") == 0) {
            c.json = 1;
        } else if (strcmp(a, "-v") == 0) {
            ward_log_set_level(WARD_LOG_DEBUG);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--man") == 0) {
            man_page();
            return EXIT_OK;
        } else {
            fprintf(stderr, "ward-server: unknown option '%s'\n", a);
            return EXIT_USAGE;
        }
        i++;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++) {
        if (strcmp(verbs[k].name, argv[i]) == 0) {
            c.argc = argc - i - 1;
            c.argv = argv + i + 1;
            if (take_flag(&c, "--json"))
                c.json = 1;
            return verbs[k].run(&c);
        }
    }
    if (strcmp(argv[i], "version") == 0) {
        printf("ward-server %s\n", WARD_VERSION);
        return EXIT_OK;
    }
    fprintf(stderr, "ward-server: unknown verb '%s' (see ward-server --help)\n", argv[i]);
    return EXIT_USAGE;
}
