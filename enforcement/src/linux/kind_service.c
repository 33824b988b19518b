/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `service` kind: a systemd unit's enablement (enabled, disabled, masked) and running
 * state, asked and changed over D-Bus (helpers.h: sd-bus, never systemctl). A unit that is
 * not installed is compliant with `disabled` and `active: false` (it cannot start). Under
 * a --root other than "/" without WARD_SYSTEM_BUS_ADDRESS systemd cannot be asked: a unit
 * with no unit file under the root is reported as not installed, anything else fails with
 * that reason instead of guessing from symlinks.
 */
#define WARD_LOG_TAG "enf-service"

#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"

static const char *const enablements[] = {"enabled", "disabled", "masked", NULL};

static const struct enf_field fields[] = {
    {.name = "unit",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Unit name (`cups.service`, `avahi-daemon.socket`); `.service` is added "
                    "when the name has no unit suffix."},
    {.name = "enablement",
     .type = ENF_F_ENUM,
     .allowed = enablements,
     .description = "`enabled` (also met by `static`/`generated` units, which have no "
                    "enablement of their own), `disabled` (also met by a masked or missing "
                    "unit) or `masked`."},
    {.name = "active",
     .type = ENF_F_BOOL,
     .description = "Whether the unit runs now (ActiveState active, activating or reloading); "
                    "repaired with StartUnit/StopUnit, waiting for the job."},
    {.name = "timeout",
     .type = ENF_F_INT,
     .min = 1,
     .max = 3600,
     .def = "90",
     .description = "Seconds to wait for a start or stop job."},
    {.name = NULL},
};

static const char *const suffixes[] = {".service",   ".socket", ".timer",  ".path",  ".mount",
                                       ".automount", ".swap",   ".target", ".slice", NULL};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *u = enf_str(s, "unit", "");
    char p[WARD_JSON_PATH_MAX];
    int bad = u[0] == '\0' || u[0] == '-' || u[0] == '.' || strlen(u) > 200;
    for (const char *c = u; *c && !bad; c++)
        bad = !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                strchr(":-_.\\@", *c));
    if (bad) {
        enf_diag_path(d, "unit", p, sizeof(p));
        enf_diag(d, p, "\"%.64s\" is not a systemd unit name", u);
        return 1;
    }
    if (!json_object_get(s->params, "enablement") && !json_object_get(s->params, "active")) {
        enf_diag(d, d->setting_path, "give \"enablement\", \"active\" or both");
        return 1;
    }
    return 0;
}

struct params {
    char unit[256];
    const char *enablement; /* NULL: not managed */
    int active;             /* -1: not managed */
    uint64_t timeout_ms;
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    const char *u = enf_str(s, "unit", "");
    int has_suffix = 0;
    size_t n = strlen(u);
    for (size_t i = 0; suffixes[i]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(u + n - k, suffixes[i]) == 0)
            has_suffix = 1;
    }
    snprintf(p->unit, sizeof(p->unit), "%s%s", u, has_suffix ? "" : ".service");
    p->enablement = enf_str(s, "enablement", NULL);
    p->active = json_object_get(s->params, "active") ? enf_bool(s, "active", 0) : -1;
    p->timeout_ms = (uint64_t)enf_int(s, "timeout", 90) * 1000u;
}

static int enablement_ok(const char *want, const struct enf_unit_state *st)
{
    const char *e = st->enablement;
    if (strcmp(want, "masked") == 0)
        return strcmp(e, "masked") == 0;
    if (strcmp(want, "disabled") == 0)
        return !st->exists || strcmp(e, "disabled") == 0 || strcmp(e, "masked") == 0;
    return strcmp(e, "enabled") == 0 || strcmp(e, "static") == 0 || strcmp(e, "generated") == 0;
}

/* Reads the state: over the bus, or offline where only "not installed" can be known. */
static int read_state(struct enf_ctx *ctx, const struct params *p, struct enf_unit_state *st)
{
    struct sd_bus *bus = NULL;
    char where[PLAT_FS_MAX_PATH];
    int rc;
    if (!enf_sd_reachable(ctx)) {
        memset(st, 0, sizeof(*st));
        snprintf(st->active, sizeof(st->active), "inactive");
        if (!enf_sd_unit_file_present(ctx, p->unit, where, sizeof(where)))
            return 0;
        enf_ctx_detail(ctx,
                       "%s has a unit file (%s) but systemd cannot be asked under root %s "
                       "(no system bus there)",
                       p->unit, where, enf_ctx_root(ctx));
        return WARD_ENOTSUP;
    }
    rc = enf_sd_open(ctx, &bus);
    if (rc == 0)
        rc = enf_sd_query(ctx, bus, p->unit, st);
    enf_sd_close(bus);
    return rc;
}

static void describe(char *out, size_t len, const struct params *p, const struct enf_unit_state *st)
{
    if (!st->exists)
        snprintf(out, len, "not installed%s", p->active == 1 ? ", inactive" : "");
    else if (p->enablement && p->active >= 0)
        snprintf(out, len, "%s, %s", st->enablement, st->active);
    else
        snprintf(out, len, "%s", p->enablement ? st->enablement : st->active);
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct enf_unit_state st;
    char act[128];
    int rc;
    params_get(s, &p);
    enf_check_expected(out, "%s%s%s%s", p.enablement ? p.enablement : "",
                       p.enablement && p.active >= 0 ? ", " : "", p.active == 1 ? "active" : "",
                       p.active == 0 ? "inactive" : "");
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    describe(act, sizeof(act), &p, &st);
    enf_check_actual(out, "%s", act);
    out->compliant = (!p.enablement || enablement_ok(p.enablement, &st)) &&
                     (p.active < 0 || enf_sd_is_active(st.active) == p.active);
    return 0;
}

/* Restore wants the prior state exactly; apply accepts what the field's rule accepts. */
static int exact_ok(const char *want, const struct enf_unit_state *st)
{
    const char *e = st->enablement;
    if (strcmp(want, "masked") == 0)
        return strcmp(e, "masked") == 0;
    if (strcmp(want, "enabled") == 0)
        return strcmp(e, "enabled") == 0;
    return strcmp(e, "enabled") != 0 && strncmp(e, "masked", 6) != 0;
}

static int change(struct enf_ctx *ctx, const struct params *p, const char *enablement, int active,
                  int exact)
{
    struct sd_bus *bus = NULL;
    struct enf_unit_state st;
    int rc;
    if (!enf_sd_reachable(ctx)) {
        enf_ctx_detail(ctx, "systemd cannot be asked under root %s (no system bus there)",
                       enf_ctx_root(ctx));
        return WARD_ENOTSUP;
    }
    rc = enf_sd_open(ctx, &bus);
    if (rc == 0)
        rc = enf_sd_query(ctx, bus, p->unit, &st);
    if (rc == 0 && enablement &&
        !(exact ? exact_ok(enablement, &st) : enablement_ok(enablement, &st)))
        rc = enf_sd_set_enablement(ctx, bus, p->unit, enablement);
    if (rc == 0 && active >= 0 && enf_sd_is_active(st.active) != active) {
        if (active && !st.exists) {
            enf_ctx_detail(ctx, "%s is not installed", p->unit);
            rc = WARD_ENOENT;
        } else {
            rc = enf_sd_set_active(ctx, bus, p->unit, active, p->timeout_ms);
        }
    }
    enf_sd_close(bus);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    params_get(s, &p);
    return change(ctx, &p, p.enablement, p.active, 0);
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct params p;
    struct enf_unit_state st;
    int rc;
    *out = NULL;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    *out =
        json_pack("{s:o, s:b}", "enablement", st.exists ? json_string(st.enablement) : json_null(),
                  "active", enf_sd_is_active(st.active));
    return *out ? 0 : WARD_ENOMEM;
}

/* Puts back what this setting manages: enablement (a unit that was missing or in another
 * state than the three Ward sets goes back to disabled/unmasked) and the running state. */
static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    const json_t *e = json_object_get(snap, "enablement");
    const char *prior = json_is_string(e) ? json_string_value(e) : "disabled";
    const char *want = NULL;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    params_get(s, &p);
    if (p.enablement) {
        if (strncmp(prior, "masked", 6) == 0)
            want = "masked";
        else if (strcmp(prior, "enabled") == 0)
            want = "enabled";
        else
            want = "disabled";
    }
    return change(ctx, &p, want, p.active >= 0 ? json_is_true(json_object_get(snap, "active")) : -1,
                  1);
}

const struct enf_kind enf_kind_service = {
    .name = "service",
    .summary = "A systemd unit enabled, disabled or masked, and running or not, through "
               "D-Bus (never systemctl).",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
};
