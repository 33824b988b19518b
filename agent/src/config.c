/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent configuration driven by one schema table: the table says each key's type, limits
 * and meaning; loading, command-line overrides, `ward config check` and the generated
 * documentation all read it. A document with problems reports every problem (one line
 * each, with its JSON path) and changes nothing.
 */
#define WARD_LOG_TAG "config"

#include "agent/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/service.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/config.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

#define CONFIG_MAX_BYTES (256 * 1024)
#define CONFIG_MAX_DEPTH 4

static const char *const level_choices[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const sink_choices[] = {"stderr", "syslog", "journal", "eventlog", "file", NULL};

#define OFF(f) offsetof(struct agent_config, f)

const struct agent_config_field agent_config_schema[] = {
    {.name = "server_url",
     .type = AGENT_CFG_URL,
     .offset = OFF(server_url),
     .description = "The only service URL this agent enrolls with (tokens for others are refused)"},
    {.name = "state_dir",
     .type = AGENT_CFG_PATH,
     .offset = OFF(state_dir),
     .description = "Directory for the state database, keys and certificates"},
    {.name = "root",
     .type = AGENT_CFG_PATH,
     .offset = OFF(root),
     .description = "Prefix for every file enforcement reads or writes (WARD_ROOT)"},
    {.name = "log_level",
     .type = AGENT_CFG_ENUM,
     .offset = OFF(log_level),
     .choices = level_choices,
     .description = "Least severe level logged"},
    {.name = "log_sink",
     .type = AGENT_CFG_ENUM,
     .offset = OFF(log_sink),
     .choices = sink_choices,
     .description = "Where logs go (journal/syslog on Linux, eventlog on Windows)"},
    {.name = "log_file",
     .type = AGENT_CFG_PATH,
     .offset = OFF(log_file),
     .description = "Log file for log_sink \"file\""},
    {.name = "checkin_interval",
     .type = AGENT_CFG_INT,
     .offset = OFF(checkin_interval),
     .min = 30,
     .max = 86400,
     .description = "Seconds between check-ins (jittered; the service may change it)"},
    {.name = "connect_timeout",
     .type = AGENT_CFG_INT,
     .offset = OFF(connect_timeout),
     .min = 1,
     .max = 300,
     .description = "Seconds allowed for TCP and TLS connection set-up"},
    {.name = "stall_timeout",
     .type = AGENT_CFG_INT,
     .offset = OFF(stall_timeout),
     .min = 1,
     .max = 3600,
     .description = "Seconds a transfer may stay below 16 bytes/s before it is cut off (a "
                    "download then resumes)"},
    {.name = "proxy",
     .type = AGENT_CFG_URL,
     .offset = OFF(proxy),
     .description = "HTTP proxy URL, http://[user:password@]host:port; default HTTPS_PROXY"},
    {.name = "no_proxy",
     .type = AGENT_CFG_STRING,
     .offset = OFF(no_proxy),
     .description = "Comma-separated hosts that bypass the proxy; default NO_PROXY"},
    {.name = "extra_ca_file",
     .type = AGENT_CFG_PATH,
     .offset = OFF(extra_ca_file),
     .description = "PEM bundle trusted in addition (for TLS-inspecting proxies)"},
    {.name = "max_response",
     .type = AGENT_CFG_SIZE,
     .offset = OFF(max_response),
     .min = 4096,
     .max = 1LL << 30,
     .description = "Largest response body accepted from the service, in bytes"},
    {.name = "backoff_base",
     .type = AGENT_CFG_INT,
     .offset = OFF(backoff_base),
     .min = 1,
     .max = 3600,
     .description = "Seconds before the first retry of a failed check-in (doubles per failure)"},
    {.name = "backoff_cap",
     .type = AGENT_CFG_INT,
     .offset = OFF(backoff_cap),
     .min = 0,
     .max = 86400,
     .description = "Longest retry delay in seconds; 0 means the check-in interval (at least 60)"},
    {.name = "enroll_token_file",
     .type = AGENT_CFG_PATH,
     .offset = OFF(enroll_token_file),
     .description = "Enrollment token the service enrolls with on its first start (owned by "
                    "the agent's user, mode 0600; deleted once enrolled)"},
    {.name = "ipc_socket",
     .type = AGENT_CFG_STRING,
     .offset = OFF(ipc_socket),
     .description = "Local IPC endpoint the daemon answers `ward status`, the tray and scripts "
                    "on: a Unix socket path or \\\\.\\pipe\\NAME (default: "
                    "/run/ward/ward.sock or \\\\.\\pipe\\ward for the default state "
                    "directory, ward.sock in any other)"},
    {.name = NULL},
};

static const struct agent_config_field *field_by_name(const char *name)
{
    for (const struct agent_config_field *f = agent_config_schema; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static int is_string_type(enum agent_config_type t)
{
    return t == AGENT_CFG_STRING || t == AGENT_CFG_URL || t == AGENT_CFG_PATH;
}

static char **str_slot(struct agent_config *cfg, const struct agent_config_field *f)
{
    return (char **)((char *)cfg + f->offset);
}

static const char *str_val(const struct agent_config *cfg, const struct agent_config_field *f)
{
    return *(char *const *)((const char *)cfg + f->offset);
}

static int set_str(char **slot, const char *v)
{
    char *d = NULL;
    if (v) {
        d = ward_strdup(v);
        if (!d)
            return WARD_ENOMEM;
    }
    ward_free(*slot);
    *slot = d;
    return 0;
}

int agent_config_init(struct agent_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = WARD_LOG_INFO;
    cfg->log_sink = WARD_LOG_SINK_STDERR;
    cfg->checkin_interval = 900;
    cfg->connect_timeout = 30;
    cfg->stall_timeout = 30;
    cfg->max_response = 16u << 20;
    cfg->backoff_base = 5;
    if (set_str(&cfg->state_dir, WARD_DEFAULT_STATE_DIR) != 0 || set_str(&cfg->root, "/") != 0 ||
        set_str(&cfg->enroll_token_file, WARD_DEFAULT_TOKEN_FILE) != 0) {
        agent_config_release(cfg);
        return WARD_ENOMEM;
    }
    return 0;
}

void agent_config_release(struct agent_config *cfg)
{
    if (!cfg)
        return;
    for (const struct agent_config_field *f = agent_config_schema; f->name; f++)
        if (is_string_type(f->type)) {
            char **slot = str_slot(cfg, f);
            ward_free(*slot);
            *slot = NULL;
        }
}

int agent_config_apply_policy(struct agent_config *cfg, struct ward_buf *errs)
{
    for (const struct agent_config_field *f = agent_config_schema; f->name; f++) {
        char *v = NULL;
        int rc = plat_policy_get(f->name, &v);
        if (rc == WARD_ENOENT)
            continue;
        if (rc == 0)
            rc = agent_config_set(cfg, f->name, v, errs);
        ward_free(v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int agent_config_copy(struct agent_config *dst, const struct agent_config *src)
{
    *dst = *src;
    /* First detach every string from src, so a failure part way frees only copies. */
    for (const struct agent_config_field *f = agent_config_schema; f->name; f++)
        if (is_string_type(f->type))
            *str_slot(dst, f) = NULL;
    for (const struct agent_config_field *f = agent_config_schema; f->name; f++) {
        if (!is_string_type(f->type))
            continue;
        if (set_str(str_slot(dst, f), str_val(src, f)) != 0) {
            agent_config_release(dst);
            return WARD_ENOMEM;
        }
    }
    return 0;
}

WARD_PRINTF(3, 4) static void add_err(struct ward_buf *errs, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!errs)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A full error buffer only loses later messages; the result is already an error. */
    (void)ward_buf_appendf(errs, "%s: %s\n", path, msg);
}

/* Validates a string value for a string-typed field. */
static int check_string(const struct agent_config_field *f, const char *v, const char *path,
                        struct ward_buf *errs)
{
    if (f->type == AGENT_CFG_URL && strncmp(v, "https://", 8) != 0 &&
        !(f->offset == OFF(proxy) && strncmp(v, "http://", 7) == 0)) {
        add_err(errs, path, "\"%s\" is not an https:// URL", v);
        return WARD_ECONFIG;
    }
    if (f->type == AGENT_CFG_PATH && v[0] == '\0') {
        add_err(errs, path, "empty path");
        return WARD_ECONFIG;
    }
    return 0;
}

/* Staged value for one field, so a document with errors changes nothing. */
struct staged {
    const struct agent_config_field *f;
    const char *str;
    long long num;
};

static int stage_json(const struct agent_config_field *f, json_t *v, const char *path,
                      struct staged *st, struct ward_buf *errs)
{
    st->f = f;
    if (is_string_type(f->type)) {
        if (!json_is_string(v)) {
            add_err(errs, path, "expected a string, got %s", ward_json_type_name(v));
            return WARD_ECONFIG;
        }
        st->str = json_string_value(v);
        return check_string(f, st->str, path, errs);
    }
    if (f->type == AGENT_CFG_ENUM) {
        if (!json_is_string(v)) {
            add_err(errs, path, "expected a string, got %s", ward_json_type_name(v));
            return WARD_ECONFIG;
        }
        for (long long i = 0; f->choices[i]; i++)
            if (strcmp(f->choices[i], json_string_value(v)) == 0) {
                st->num = i;
                return 0;
            }
        add_err(errs, path, "\"%s\" is not one of the allowed values", json_string_value(v));
        return WARD_ECONFIG;
    }
    if (!json_is_integer(v)) {
        add_err(errs, path, "expected an integer, got %s", ward_json_type_name(v));
        return WARD_ECONFIG;
    }
    st->num = json_integer_value(v);
    if (st->num < f->min || st->num > f->max) {
        add_err(errs, path, "%lld is outside %lld..%lld", st->num, f->min, f->max);
        return WARD_ECONFIG;
    }
    return 0;
}

static int commit_staged(struct agent_config *cfg, const struct staged *st, size_t n)
{
    struct agent_config next;
    int rc = agent_config_copy(&next, cfg);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct agent_config_field *f = st[i].f;
        void *slot = (char *)&next + f->offset;
        if (is_string_type(f->type)) {
            rc = set_str(slot, st[i].str);
            if (rc != 0) {
                agent_config_release(&next);
                return rc;
            }
        } else if (f->type == AGENT_CFG_SIZE) {
            *(size_t *)slot = (size_t)st[i].num;
        } else {
            *(int *)slot = (int)st[i].num;
        }
    }
    agent_config_release(cfg);
    *cfg = next;
    return 0;
}

int agent_config_load_buf(struct agent_config *cfg, const char *buf, size_t len,
                          struct ward_buf *errs)
{
    struct ward_json_limits lim = {.max_bytes = CONFIG_MAX_BYTES, .max_depth = CONFIG_MAX_DEPTH};
    struct ward_json_error jerr;
    struct staged st[sizeof(agent_config_schema) / sizeof(agent_config_schema[0])];
    size_t n = 0;
    json_t *root = NULL, *v;
    const char *key;
    int rc, bad = 0;

    rc = ward_json_loadb(buf, len, &lim, &root, &jerr);
    if (rc != 0) {
        if (errs) {
            if (jerr.line > 0)
                (void)ward_buf_appendf(errs, "%s: line %d, column %d: %s\n", jerr.path, jerr.line,
                                       jerr.column, jerr.text);
            else
                (void)ward_buf_appendf(errs, "%s: %s\n", jerr.path, jerr.text);
        }
        return rc == WARD_ENOMEM ? rc : WARD_ECONFIG;
    }
    if (!json_is_object(root)) {
        add_err(errs, "$", "the configuration must be a JSON object, not %s",
                ward_json_type_name(root));
        rc = WARD_ECONFIG;
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        char path[WARD_JSON_PATH_MAX];
        const struct agent_config_field *f = field_by_name(key);
        ward_json_path_key(path, sizeof(path), NULL, key);
        if (!f) {
            add_err(errs, path, "unknown key");
            bad = 1;
            continue;
        }
        if (json_is_null(v))
            continue;
        if (stage_json(f, v, path, &st[n], errs) != 0)
            bad = 1;
        else
            n++;
    }
    if (bad) {
        rc = WARD_ECONFIG;
        goto out;
    }
    rc = commit_staged(cfg, st, n);
out:
    json_decref(root);
    return rc;
}

/* The config path is the administrator's host path (relative to the working directory
 * when relative), not a path under WARD_ROOT, so plain stdio with a size cap is right. */
static int read_capped(const char *path, size_t max, char **data, size_t *len)
{
    struct ward_buf b;
    char chunk[8192];
    size_t n;
    int rc = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? WARD_ENOENT : errno == EACCES ? WARD_EACCES : WARD_EIO;
    ward_buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = ward_buf_append(&b, chunk, n);
        if (rc != 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = errno == EISDIR ? WARD_EISDIR : WARD_EIO;
    fclose(f);
    if (rc == 0) {
        *data = ward_buf_steal(&b, len);
        if (!*data)
            rc = WARD_ENOMEM;
    }
    ward_buf_release(&b);
    return rc;
}

int agent_config_load_file(struct agent_config *cfg, const char *path, struct ward_buf *errs)
{
    char *data = NULL;
    size_t len = 0;
    int rc = read_capped(path, CONFIG_MAX_BYTES, &data, &len);
    if (rc != 0) {
        if (rc != WARD_ENOENT && errs)
            (void)ward_buf_appendf(errs, "%s: %s\n", path, ward_strerror(rc));
        return rc;
    }
    rc = agent_config_load_buf(cfg, data, len, errs);
    if (rc != 0 && errs && errs->len) {
        /* Prefix each line with the file name, as compilers do. */
        struct ward_buf out;
        const char *p = errs->data;
        ward_buf_init(&out, errs->max);
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
            (void)ward_buf_appendf(&out, "%s: %.*s", path, (int)l, p);
            p += l;
        }
        ward_buf_release(errs);
        *errs = out;
    }
    ward_free(data);
    return rc;
}

int agent_config_set(struct agent_config *cfg, const char *name, const char *value,
                     struct ward_buf *errs)
{
    const struct agent_config_field *f = field_by_name(name);
    char path[WARD_JSON_PATH_MAX];
    struct staged st;
    json_t *v;
    int rc;

    ward_json_path_key(path, sizeof(path), NULL, name);
    if (!f) {
        add_err(errs, path, "unknown key");
        return WARD_ECONFIG;
    }
    if (f->type == AGENT_CFG_INT || f->type == AGENT_CFG_SIZE) {
        char *end;
        long long n;
        errno = 0;
        n = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            add_err(errs, path, "\"%s\" is not an integer", value);
            return WARD_ECONFIG;
        }
        v = json_integer(n);
    } else {
        v = json_string(value);
    }
    if (!v)
        return WARD_ENOMEM;
    rc = stage_json(f, v, path, &st, errs);
    if (rc == 0)
        rc = commit_staged(cfg, &st, 1);
    json_decref(v);
    return rc;
}
