/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration baselines: the engine's public API. A baseline is a JSON document
 * (docs/baselines.md) validated against the schema tables of the setting kinds; a run checks
 * each setting and, for settings in enforce mode, snapshots the prior state into a rollback
 * journal, applies, checks again and restores what failed. The drift watcher re-runs a
 * baseline on a uv loop when a watched file changes and on a period.
 *
 * Compliance results (enum enf_result) are separate from Ward error codes: a run that
 * evaluated every setting returns 0 whatever the compliance was; per-setting errors are in
 * the report. Ownership: "new" means the caller frees it, "borrowed" that it lives as long
 * as the object it came from.
 */
#ifndef ENFORCEMENT_BASELINE_H
#define ENFORCEMENT_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct ward_buf;
struct ward_store;
struct enf_kind;

/* Limits of a baseline document (ward_json_loadb caps plus a settings count). */
#define ENF_DOC_MAX_BYTES ((size_t)4 << 20)
#define ENF_DOC_MAX_DEPTH 8
#define ENF_DOC_MAX_SETTINGS 10000
#define ENF_DOC_MAX_ERRORS 100 /* validation stops listing problems after this many */

enum enf_mode {
    ENF_MODE_AUDIT = 0,
    ENF_MODE_ENFORCE = 1,
};

/* Compliance results, a separate enum from Ward errors (DESIGN section 3). */
enum enf_result {
    ENF_KEPT = 0, /* compliant, nothing done */
    ENF_REPAIRED, /* was not compliant, applied and checked again: compliant now */
    ENF_FAILED,   /* not compliant (audit), or could not be checked/applied (error set) */
    ENF_DENIED,   /* confinement refused a path (.., a symlink leaving the root) */
    ENF_SKIPPED,  /* not attempted (atomic run already failed, not restorable ...) */
    ENF_RESULT_COUNT,
};

/* "KEPT", "REPAIRED", "FAILED", "DENIED", "SKIPPED". */
const char *enf_result_name(enum enf_result r);

/* One validated setting. params is the setting's JSON object, borrowed from the document:
 * kinds read their fields from it with the getters in enforcement/kind.h. */
struct enf_setting {
    const char *id;
    const struct enf_kind *kind;
    enum enf_mode mode; /* effective: the setting's override or the document's default */
    int restore_on_removal;
    size_t index; /* position in the document's settings array */
    const json_t *params;
    /* the document the setting belongs to, for settings that name another one (a wifi's
     * client_cert); NULL for a setting rebuilt from the journal */
    const struct enf_baseline *baseline;
    /* rebuilt from the journal: its secret fields hold enf_secret_hash() stand-ins */
    int redacted;
};

/* A validated baseline. Built only by enf_baseline_parse; read-only afterwards. */
struct enf_baseline {
    json_t *doc; /* owns the strings and objects borrowed below */
    const char *id;
    long long version;
    const char *description; /* "" when absent */
    enum enf_mode mode;
    int atomic;
    size_t n_settings;
    struct enf_setting *settings;
};

/* Validates a document (buf, len: no NUL needed) against the schema tables. On success
 * *out is new (enf_baseline_free). On failure every problem (up to ENF_DOC_MAX_ERRORS) is
 * appended to errs (may be NULL) as one "PATH: message\n" line with its JSON path, nothing
 * is returned, and the code is WARD_EPARSE (schema or syntax), WARD_ETOOBIG, WARD_EDEPTH,
 * WARD_EDUP (duplicate JSON key) or WARD_ENOMEM. */
int enf_baseline_parse(const char *buf, size_t len, struct enf_baseline **out,
                       struct ward_buf *errs);
/* Same from a host file (at most ENF_DOC_MAX_BYTES); WARD_ENOENT etc. if unreadable. */
int enf_baseline_load_file(const char *path, struct enf_baseline **out, struct ward_buf *errs);
/* NULL-safe. */
void enf_baseline_free(struct enf_baseline *b);
/* The setting with this id, or NULL. */
const struct enf_setting *enf_baseline_find(const struct enf_baseline *b, const char *id);

/* The setting's JSON with the value of every secret field (ENF_F_SECRET, also inside
 * ENF_F_OBJECTS members) replaced by its hash: what may be stored or shown (the journal
 * keeps this). *out is new. */
int enf_setting_redacted(const struct enf_setting *s, json_t **out);
/* Calls fn for the value of every secret field of s (borrowed strings), in table order. */
void enf_setting_secrets(const struct enf_setting *s,
                         void (*fn)(const char *value, size_t len, void *ctx), void *ctx);

/* ---- runs ----------------------------------------------------------------------------- */

/* Hooks for the embedding program. Every member may be NULL. */
struct enf_hooks {
    /* Called before each change a run makes (file write, attribute change, removal, runtime
     * value). A non-zero Ward code fails that change with that code. Tests use it to inject
     * a failure halfway through an apply or to swap a symlink in before a write. */
    int (*before_write)(void *ctx, const char *path);
    /* Content addressed by SHA-256 (the file kind's content_sha256), *data new (ward_free).
     * Without it a setting that needs content it does not already have fails with
     * WARD_ENOTSUP, never a pretend success. */
    int (*fetch)(void *ctx, const char *sha256_hex, char **data, size_t *len);
    /* Certificate enrollment (RFC 7030) with the service the device is enrolled with, for
     * the client_cert kind: op is "cacerts", "simpleenroll" or "simplereenroll" of the
     * certificate profile; body (len bytes) the base64 DER PKCS#10 request of the last two
     * (NULL for cacerts). A 200 answer's body in *answer (new, *alen bytes: base64 PKCS#7
     * certs-only). Any other outcome is an error code with a reason in why (the service's
     * words for a refusal: WARD_EHTTP; WARD_ESTATE when the device has no usable identity).
     * Called on the run's thread; it blocks until the exchange ends. Without it a
     * client_cert setting fails with WARD_ENOTSUP. */
    int (*est)(void *ctx, const char *profile, const char *op, const char *body, size_t len,
               char **answer, size_t *alen, char *why, size_t whylen);
    void *ctx;
};

#define ENF_RUN_APPLY 0x1u /* enforce settings whose mode is enforce (without it: check only) */
/* enf_baseline_remove for selective_wipe: settings of kinds with retire_restores are restored
 * even without restore_on_removal (certificates and network profiles Ward installed go). */
#define ENF_RUN_RETIRE 0x2u

struct enf_run_opts {
    const char *root; /* WARD_ROOT, a host directory; NULL means "/" */
    unsigned flags;   /* ENF_RUN_* */
    /* Rollback journal (borrowed; tables from ENF_JOURNAL_SQL_V1). NULL: snapshots live
     * only for the run (in-run rollback works, enf_baseline_remove has nothing to undo). */
    struct ward_store *journal;
    /* NULL, or n_settings flags: only settings with select[i] != 0 are evaluated (drift
     * re-evaluates the settings whose files changed). Unselected ones are not reported. */
    const uint8_t *select;
    /* NULL, or n_settings flags: hold[i] != 0 means check only and report as flapping. */
    const uint8_t *hold;
    const struct enf_hooks *hooks;
};

/* One setting's outcome. Strings are new (freed with the report), NULL when not known. */
struct enf_outcome {
    const struct enf_setting *setting; /* borrowed from the baseline (or the report) */
    enum enf_result result;
    int err;        /* Ward code behind FAILED/DENIED, 0 for audit non-compliance */
    char *expected; /* what the setting asks for, in the kind's words */
    char *actual;   /* what was found (after a repair: what is there now) */
    char *error;    /* why it failed, NULL when it did not */
    int flapping;   /* held back by the drift watcher's flapping limit */
    /* Unix time at which the setting wants to be checked again without any change on the
     * device (a certificate's renewal point, a retry after a failed enrollment); 0: none.
     * The drift watcher runs it then. */
    int64_t recheck_at;
};

struct enf_report {
    char *baseline_id;
    size_t n;
    struct enf_outcome *items; /* in document order */
    size_t counts[ENF_RESULT_COUNT];
    int rolled_back; /* an atomic run failed and restored every setting it had changed */
    size_t n_errors; /* outcomes with err != 0: settings that could not be evaluated/applied */
    /* private: settings owned by the report (enf_baseline_remove) */
    json_t *owned;
    struct enf_setting *owned_settings;
};

/* Runs a baseline. Returns 0 when the run happened (see the report for each setting), or
 * WARD_EINVAL / WARD_ENOMEM; *out is new (enf_report_free). */
int enf_run(const struct enf_baseline *b, const struct enf_run_opts *opts, struct enf_report **out);
/* NULL-safe. */
void enf_report_free(struct enf_report *r);

/* {"baseline": ..., "results": [{"id", "kind", "result", "expected", "actual", "error"
 * [, "flapping": true]}], "summary": {"KEPT": n, ...}}; *out is new. */
int enf_report_json(const struct enf_report *r, json_t **out);
/* Human compliance table, one row per setting, then a summary line. */
int enf_report_table(const struct enf_report *r, struct ward_buf *out);

/* Restores, from the journal, the prior state of every setting of baseline_id marked
 * restore_on_removal (latest applied first) and forgets the baseline's journal rows.
 * Restored settings are REPAIRED, settings without restore_on_removal SKIPPED (left as
 * they are), failed restores FAILED (their rows stay for a retry). opts->journal is
 * required (WARD_EINVAL); WARD_ENOENT when the journal has nothing for baseline_id. */
int enf_baseline_remove(const char *baseline_id, const struct enf_run_opts *opts,
                        struct enf_report **out);

/* ---- rollback journal schema ----------------------------------------------------------- */

/* The journal lives in the agent's state database; its owner appends this as a numbered
 * migration (agent/src/state.c), and tests use it as migration 1 of a scratch store. One
 * row per (baseline, setting): the first prior state Ward saw (later repairs keep it, so
 * removal restores what was there before the baseline), the setting's JSON (so removal
 * needs no document), and id for restoring in reverse order. Never edit: add _V2. */
#define ENF_JOURNAL_SQL_V1                                                                         \
    "CREATE TABLE enf_journal ("                                                                   \
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                       \
    " baseline_id TEXT NOT NULL,"                                                                  \
    " setting_id TEXT NOT NULL,"                                                                   \
    " kind TEXT NOT NULL,"                                                                         \
    " setting TEXT NOT NULL,"                                                                      \
    " snapshot TEXT NOT NULL,"                                                                     \
    " restore_on_removal INTEGER NOT NULL,"                                                        \
    " created_at INTEGER NOT NULL,"                                                                \
    " UNIQUE (baseline_id, setting_id)) STRICT;"

/* ---- drift watcher ---------------------------------------------------------------------- */

#define ENF_DRIFT_DEFAULT_INTERVAL_MS (30u * 60u * 1000u)
#define ENF_DRIFT_DEFAULT_DEBOUNCE_MS 200u
#define ENF_DRIFT_DEFAULT_FLAP_LIMIT 5u
#define ENF_DRIFT_DEFAULT_FLAP_WINDOW_MS (60u * 60u * 1000u)

struct enf_drift;

/* Called on the loop thread after each run the watcher makes; the report is borrowed for
 * the call. why is "start", "period" or "change". */
typedef void (*enf_drift_report_fn)(struct enf_drift *d, const struct enf_report *r,
                                    const char *why, void *ctx);
typedef void (*enf_drift_stop_fn)(void *ctx);

struct enf_drift_opts {
    struct enf_run_opts run; /* copied; select/hold are the watcher's own */
    uint64_t interval_ms;    /* periodic full run; 0: ENF_DRIFT_DEFAULT_INTERVAL_MS */
    uint64_t debounce_ms;    /* file events coalesce this long; 0: default */
    unsigned flap_limit;     /* repairs per window before a setting is held; 0: default */
    uint64_t flap_window_ms; /* 0: one hour */
    enf_drift_report_fn on_report;
    void *ctx;
};

/* Starts watching: a first full run right away (on the thread pool, like every run), a
 * uv_fs_event on the parent directory of every file a file-based setting manages (events
 * debounced, then only the affected settings re-run), and a periodic full run. In enforce
 * mode drift is repaired; a setting repaired more than flap_limit times within
 * flap_window_ms is held: checked and reported with flapping set, no longer repaired, until
 * its repairs age out of the window. b is borrowed and must outlive the watcher (until the
 * stop callback). On error nothing was started and no callback is ever called. */
int enf_drift_start(uv_loop_t *loop, const struct enf_baseline *b,
                    const struct enf_drift_opts *opts, struct enf_drift **out);
/* Closes the watcher (our x_close): handles are closed, a run in flight finishes first, and
 * the memory is freed in the close path; cb (may be NULL) is called after that, on the loop.
 * NULL-safe. */
void enf_drift_stop(struct enf_drift *d, enf_drift_stop_fn cb, void *ctx);
/* Runs the watched settings now (as a "change" run), e.g. for a sync request. */
int enf_drift_trigger(struct enf_drift *d);

/* ---- schema as data: documentation ------------------------------------------------------- */

/* Appends the generated field reference (Markdown) of the document, the common setting
 * fields and every kind of this OS's table: docs/baselines.md embeds it between markers,
 * and a unit test fails when the two differ. */
int enf_schema_markdown(struct ward_buf *out);
/* The same as JSON (for tools); *out is new. */
int enf_schema_json(json_t **out);

#endif
