/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `command` kind, the escape hatch: a check program judged by its exit status (0 is
 * compliant) and an optional fix program, each an argv with an absolute executable path,
 * run through plat_proc_run (no shell, scrubbed environment plus WARD_ROOT, a timeout).
 * Ward cannot see what a command changes, so rollback runs the optional `undo` argv; a
 * command setting without one cannot be restored and says so.
 */
#define WARD_LOG_TAG "enf-command"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/error.h"

static const struct enf_field fields[] = {
    {.name = "check",
     .type = ENF_F_ARGV,
     .required = 1,
     .description = "Program and arguments; exit status 0 means compliant."},
    {.name = "fix",
     .type = ENF_F_ARGV,
     .description = "Run to repair (enforce mode); exit status 0 means it worked. Without it "
                    "the setting can only be audited."},
    {.name = "undo",
     .type = ENF_F_ARGV,
     .description = "Run to restore the prior state (failed apply, atomic rollback, "
                    "`restore_on_removal`)."},
    {.name = "timeout",
     .type = ENF_F_INT,
     .min = 1,
     .max = 3600,
     .def = "60",
     .description = "Seconds each program may run before it is killed."},
    {.name = NULL},
};

/* First line of a child's output, for the report. */
static void first_line(const char *s, char *out, size_t len)
{
    size_t n = 0;
    while (s && s[n] && s[n] != '\n' && n + 1 < len)
        n++;
    if (s)
        memcpy(out, s, n);
    out[n] = '\0';
}

/* Runs argv field `name`; *ok is 1 for exit 0. desc gets a short description. */
static int run(struct enf_ctx *ctx, const struct enf_setting *s, const char *name, int *ok,
               char *desc, size_t desclen)
{
    const char **argv = NULL;
    struct plat_proc_result res;
    char line[200];
    int rc;

    *ok = 0;
    rc = enf_argv(s, name, &argv);
    if (rc != 0)
        return rc;
    memset(&res, 0, sizeof(res));
    rc = enf_proc_run(ctx, argv, (uint64_t)enf_int(s, "timeout", 60) * 1000u, &res);
    if (rc != 0) {
        enf_ctx_detail(ctx, "cannot run %s: %s", argv[0], ward_strerror(rc));
        goto out;
    }
    first_line(res.out_len ? res.out : res.err, line, sizeof(line));
    if (res.timed_out)
        snprintf(desc, desclen, "timed out after %llds", enf_int(s, "timeout", 60));
    else if (res.term_signal)
        snprintf(desc, desclen, "killed by signal %d", res.term_signal);
    else
        snprintf(desc, desclen, "exit %lld%s%s", (long long)res.exit_status, line[0] ? ": " : "",
                 line);
    *ok = !res.timed_out && !res.term_signal && res.exit_status == 0;
out:
    plat_proc_result_release(&res);
    ward_free(argv);
    return rc;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    char desc[256];
    int ok, rc;
    enf_check_expected(out, "check exits 0");
    rc = run(ctx, s, "check", &ok, desc, sizeof(desc));
    if (rc != 0)
        return rc;
    enf_check_actual(out, "%s", desc);
    out->compliant = ok;
    return 0;
}

static int run_step(struct enf_ctx *ctx, const struct enf_setting *s, const char *name)
{
    char desc[256];
    int ok, rc;
    if (!json_object_get(s->params, name)) {
        enf_ctx_detail(ctx, "no \"%s\" argv: this setting cannot %s", name,
                       strcmp(name, "fix") == 0 ? "be repaired, only audited" : "be restored");
        return WARD_ENOTSUP;
    }
    rc = run(ctx, s, name, &ok, desc, sizeof(desc));
    if (rc == 0 && !ok) {
        enf_ctx_detail(ctx, "%s: %s", name, desc);
        rc = WARD_EIO;
    }
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    return run_step(ctx, s, "fix");
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    (void)ctx;
    (void)s;
    *out = json_object();
    return *out ? 0 : WARD_ENOMEM;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    (void)snap;
    return run_step(ctx, s, "undo");
}

const struct enf_kind enf_kind_command = {
    .name = "command",
    .summary = "Escape hatch: a check program judged by its exit status and a fix program, "
               "argv only (no shell).",
    .fields = fields,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
};
