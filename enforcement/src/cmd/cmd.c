/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portable half of the command contract (enforcement/command.h): registry lookup,
 * parameter validation from the field tables, the generated reference, and the commands
 * that only ask the agent for something (ping, sync, unenroll, inventory).
 */
#include "enforcement/command.h"

#include <stdint.h>
#include <string.h>

#include "../internal.h"
#include "cmd_portable.h"
#include "ward/error.h"
#include "ward/json.h"

const struct enf_cmd *enf_cmd_find(const char *name)
{
    for (const struct enf_cmd *const *c = enf_os_commands; name && *c; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

int enf_cmd_validate(const struct enf_cmd *c, const json_t *params, struct ward_buf *err)
{
    struct enf_diags d = {.out = err};
    const char *key;
    json_t *v;
    char path[WARD_JSON_PATH_MAX];

    if (!json_is_object(params)) {
        enf_diag(&d, "$", "params must be an object");
        return WARD_EINVAL;
    }
    /* jansson's iteration takes a non-const object; it does not modify it */
    json_object_foreach((json_t *)(uintptr_t)params, key, v)
    {
        const struct enf_field *f = enf_field_find(c->fields, key);
        ward_json_path_key(path, sizeof(path), "$", key);
        if (!f)
            enf_diag(&d, path, "unknown parameter for command \"%s\"", c->name);
        else
            enf_field_check(f, v, path, &d);
    }
    for (const struct enf_field *f = c->fields; f && f->name; f++)
        if (f->required && !json_object_get(params, f->name))
            enf_diag(&d, "$", "missing required parameter \"%s\"", f->name);
    if (d.count == 0 && c->validate && c->validate(params, err) != 0)
        d.count++;
    return d.count ? WARD_EINVAL : 0;
}

static const char *flag_doc(unsigned flags, struct ward_buf *b)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{ENF_CMD_DESTRUCTIVE, "destructive"},
                 {ENF_CMD_NEEDS_OFFLINE_KEY, "needs the offline key"},
                 {ENF_CMD_REBOOTS, "ends in a power cycle"},
                 {ENF_CMD_LONG_RUNNING, "long-running"},
                 {ENF_CMD_CORPORATE_ONLY, "refused on personal devices"}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (flags & names[i].bit)
            ward_buf_appendf(b, "%s%s", n++ ? ", " : "", names[i].name);
    if (n == 0)
        ward_buf_append_str(b, "none");
    return "";
}

int enf_cmd_markdown(struct ward_buf *out)
{
    size_t before = out->len;
    for (const struct enf_cmd *const *c = enf_os_commands; *c; c++) {
        ward_buf_appendf(out, "\n### `%s`\n\n%s\n\nFlags: ", (*c)->name, (*c)->summary);
        flag_doc((*c)->flags, out);
        if ((*c)->destructive_for)
            ward_buf_append_str(out, "; destructive in some forms (below)");
        ward_buf_appendf(out, ". Needs the grant: %s.\n\n",
                         (*c)->capability ? (*c)->capability : "none");
        if (!(*c)->fields || !(*c)->fields[0].name)
            ward_buf_append_str(out, "No parameters.\n");
        else
            enf_md_fields(out, (*c)->fields);
    }
    if (out->len == before || (out->max && out->len >= out->max))
        return WARD_ETOOBIG;
    return 0;
}

int enf_cmd_destructive(const struct enf_cmd *c, const json_t *params)
{
    if (c->flags & (ENF_CMD_DESTRUCTIVE | ENF_CMD_NEEDS_OFFLINE_KEY))
        return 1;
    return c->destructive_for && c->destructive_for(params);
}

const char *enf_param_str(const json_t *p, const char *name, const char *def)
{
    const json_t *v = json_object_get(p, name);
    return json_is_string(v) ? json_string_value(v) : def;
}

long long enf_param_int(const json_t *p, const char *name, long long def)
{
    const json_t *v = json_object_get(p, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int enf_param_bool(const json_t *p, const char *name, int def)
{
    const json_t *v = json_object_get(p, name);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* ---- commands that ask the agent for something ------------------------------------------- */

static int request_done(struct enf_cmd_job *j, unsigned req, const char *key, json_t *val)
{
    json_t *out = json_object();
    j->requests |= req;
    if (!out || json_object_set_new(out, key, val) != 0) {
        json_decref(out);
        return WARD_ENOMEM;
    }
    enf_job_done(j, 0, out, NULL);
    return 0;
}

static int ping_start(struct enf_cmd_job *j)
{
    return request_done(j, 0, "pong", json_true());
}

static int sync_start(struct enf_cmd_job *j)
{
    return request_done(j, ENF_REQ_SYNC, "sync", json_true());
}

static int unenroll_start(struct enf_cmd_job *j)
{
    return request_done(j, ENF_REQ_UNENROLL, "unenrolled", json_true());
}

static int inventory_start(struct enf_cmd_job *j)
{
    return request_done(j, ENF_REQ_INVENTORY, "inventory", json_string("scheduled"));
}

static const struct enf_field no_fields[] = {{.name = NULL}};

const struct enf_cmd enf_cmd_ping = {
    .name = "ping",
    .summary = "Answers `{\"pong\": true}`: proves the device receives and runs commands.",
    .fields = no_fields,
    .start = ping_start,
};
const struct enf_cmd enf_cmd_sync = {
    .name = "sync",
    .summary = "Checks in again right after this check-in (baselines, results).",
    .fields = no_fields,
    .start = sync_start,
};
const struct enf_cmd enf_cmd_unenroll = {
    .name = "unenroll",
    .summary = "Reports, then deletes the device identity; the agent stops checking in. "
               "Baselines stay applied (use `selective_wipe` to remove what Ward put there).",
    .fields = no_fields,
    .start = unenroll_start,
};
const struct enf_cmd enf_cmd_inventory = {
    .name = "inventory",
    .summary = "A full inventory collection and upload right after this check-in.",
    .fields = no_fields,
    .start = inventory_start,
};
