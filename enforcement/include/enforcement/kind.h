/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The setting-kind contract, for whoever adds a kind. A kind is a const table (struct
 * enf_kind) listed in its OS's registry (enforcement/src/<os>/registry.c): a name, a field
 * table that drives validation, docs and tests, and the slots below. The engine calls them
 * from a run; they do their I/O through the run context (struct enf_ctx), which confines
 * paths to the root, caches file contents for the run (one read per file), skips writes
 * that change nothing, and passes every change through the test hooks.
 *
 * Slot rules:
 *   - check never changes anything. It fills out->compliant and, always when it can,
 *     expected/actual (short text in the kind's words). A non-zero return is an error
 *     (FAILED, or DENIED for WARD_EPATH/WARD_ELOOP).
 *   - apply makes the setting compliant (it may assume check said it was not) and is
 *     idempotent: it writes nothing that is already right. The engine checks again after
 *     it; it need not check itself.
 *   - snapshot captures, as a JSON object (new), only the prior state this setting
 *     manages, so restoring one setting does not undo another on the same file.
 *   - restore puts a snapshot back. It is called both within a run (failed apply, atomic
 *     rollback) and much later from the journal when a baseline is removed, with the
 *     setting rebuilt from its stored JSON.
 *   - watch (optional) lists the root-relative files the setting manages, for drift
 *     detection; kinds without files leave it NULL (periodic runs still cover them).
 *   - validate (optional) checks what the field table cannot (one field required with
 *     another, mutually exclusive fields); the table's checks have passed already.
 *   - recheck: a setting that must run again later without any change on the device (a
 *     certificate's renewal) says when with enf_ctx_recheck_at.
 *   - An operation the OS or the build cannot do returns WARD_ENOTSUP, never success.
 */
#ifndef ENFORCEMENT_KIND_H
#define ENFORCEMENT_KIND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enforcement/baseline.h"
#include "platform/fs.h"
#include "platform/proc.h"
#include "ward/buf.h"
#include "ward/config.h"

/* Field types. Adding one means: validation (schema.c), its doc name, and its tests. */
enum enf_field_type {
    ENF_F_STRING,  /* any string */
    ENF_F_INT,     /* integer within [min, max] */
    ENF_F_BOOL,    /* true / false */
    ENF_F_ENUM,    /* one of `allowed` */
    ENF_F_MODE,    /* POSIX permission bits as an octal string: "0640", "755" */
    ENF_F_PATH,    /* absolute path ("/etc/x"), resolved under the root */
    ENF_F_ARGV,    /* non-empty array of strings; the first an absolute executable path */
    ENF_F_SHA256,  /* 64 hex digits */
    ENF_F_SCALAR,  /* string or integer (compared as text: sysctl values, registry data) */
    ENF_F_STRINGS, /* array of strings (refs) */
    ENF_F_OBJECT,  /* JSON object; its members are checked by the validate slot */
    ENF_F_SECRET,  /* a string that is never shown: snapshots, the journal, reports and logs
                    * get its hash (enf_secret_hash), and validation never quotes it */
    ENF_F_OBJECTS, /* array of objects, each checked against `members` (secrets inside too) */
};

struct enf_field {
    const char *name;
    enum enf_field_type type;
    int required;
    const char *const *allowed; /* ENF_F_ENUM: NULL-terminated */
    long long min, max;         /* ENF_F_INT bounds */
    const char *def;            /* default, as documented ("" or NULL: none) */
    const char *description;
    const struct enf_field *members; /* ENF_F_OBJECTS: the members' table (name NULL ends) */
};

/* What stands in for a secret wherever a value would be shown: "sha256:" and the first 12
 * hex digits of the SHA-256 of the value (enough to tell two values apart, not to undo; a
 * guessable password can still be guessed from it, as from any hash). */
#define ENF_SECRET_HASH_SIZE 20
void enf_secret_hash(const char *value, size_t len, char out[ENF_SECRET_HASH_SIZE]);

/* What check found. The engine owns the buffers; write them with the helpers. */
struct enf_check {
    int compliant;
    struct ward_buf expected;
    struct ward_buf actual;
};
void enf_check_expected(struct enf_check *c, const char *fmt, ...) WARD_PRINTF(2, 3);
void enf_check_actual(struct enf_check *c, const char *fmt, ...) WARD_PRINTF(2, 3);

/* Problems found by a kind's validate slot: one line per problem with its JSON path. */
struct enf_diags;
void enf_diag(struct enf_diags *d, const char *path, const char *fmt, ...) WARD_PRINTF(3, 4);
/* JSON path of a field of the setting being validated ("$.settings[3].value"). */
void enf_diag_path(const struct enf_diags *d, const char *field, char *out, size_t outlen);

struct enf_ctx;

struct enf_kind {
    const char *name;
    const char *summary;            /* one line for the docs */
    const struct enf_field *fields; /* terminated by an entry with name NULL */
    int (*validate)(const struct enf_setting *s, struct enf_diags *d);
    int (*check)(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out);
    int (*apply)(struct enf_ctx *ctx, const struct enf_setting *s);
    int (*snapshot)(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out);
    int (*restore)(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap);
    /* Fills up to max root-relative paths (borrowed from s); returns how many it has. */
    size_t (*watch)(const struct enf_setting *s, const char **paths, size_t max);
    /* Optional: checks the ids this setting gives of other settings of its document
     * (s->baseline, complete by then); called after every setting passed validate. */
    int (*refs)(const struct enf_setting *s, struct enf_diags *d);
    /* 1 for kinds that put credentials on the device (trust roots, network profiles): a
     * selective wipe (ENF_RUN_RETIRE) restores their settings' prior state whether or not
     * the setting asked for restore_on_removal, so what Ward installed goes with Ward. */
    int retire_restores;
};

/* This OS's registry (enforcement/src/<os>/registry.c), NULL-terminated. */
extern const struct enf_kind *const enf_os_kinds[];
/* Table lookup by name; NULL when this OS has no such kind. */
const struct enf_kind *enf_kind_find(const char *name);

/* ---- field getters (values were validated: types are right) ---------------------------- */

/* The string field, or def when absent. */
const char *enf_str(const struct enf_setting *s, const char *name, const char *def);
long long enf_int(const struct enf_setting *s, const char *name, long long def);
int enf_bool(const struct enf_setting *s, const char *name, int def);
/* A SCALAR field as text (integers formatted into buf); def when absent. */
const char *enf_scalar(const struct enf_setting *s, const char *name, char *buf, size_t buflen,
                       const char *def);
/* A SECRET field's value (len may be NULL). NULL when absent, and always for a setting
 * rebuilt from the journal (s->redacted), which holds only the hashes: restore must not
 * need secrets. */
const char *enf_secret(const struct enf_setting *s, const char *name, size_t *len);
/* A MODE field: 1 and *mode when present, 0 when absent. */
int enf_mode_bits(const struct enf_setting *s, const char *name, unsigned int *mode);
/* An ARGV field as a NULL-terminated array of borrowed strings; *argv new (ward_free the
 * array only). WARD_ENOENT when absent. */
int enf_argv(const struct enf_setting *s, const char *name, const char ***argv);

/* ---- run context: the only way kinds touch the system ---------------------------------- */

const char *enf_ctx_root(const struct enf_ctx *ctx);
/* A precise reason for the error the current slot is about to return ("unknown user
 * 'x'"); the engine puts it in the setting's error text instead of the bare code's. */
void enf_ctx_detail(struct enf_ctx *ctx, const char *fmt, ...) WARD_PRINTF(2, 3);

/* Contents of a regular file under the root, read once per run and cached (the cache is
 * updated by enf_file_write/remove). *data is borrowed until the next change of that path;
 * it is NUL-terminated. WARD_ENOENT when missing; other fs.h errors as they are. */
int enf_file_read(struct enf_ctx *ctx, const char *path, const char **data, size_t *len);
/* Replaces a file atomically (plat_fs_write_atomic) unless it already holds exactly these
 * bytes and attrs is NULL. attrs as plat_fs_write_atomic (NULL keeps mode and owner). */
int enf_file_write(struct enf_ctx *ctx, const char *path, const void *data, size_t len,
                   const struct plat_fs_attrs *attrs);
/* Drops path from the run's cache after a child process (apt-get, userdel, dconf) changed
 * it, so the next enf_file_read sees the file as it is now. */
int enf_file_forget(struct enf_ctx *ctx, const char *path);
/* Removes a file (WARD_ENOENT-tolerant: a missing file is success). */
int enf_file_remove(struct enf_ctx *ctx, const char *path);
/* Removes an empty directory (missing is success). */
int enf_dir_remove(struct enf_ctx *ctx, const char *path);
/* plat_fs_stat under the root (not cached: cheap). */
int enf_file_stat(struct enf_ctx *ctx, const char *path, unsigned flags, struct plat_fs_info *info);
int enf_file_set_attrs(struct enf_ctx *ctx, const char *path, const struct plat_fs_attrs *attrs);
int enf_mkdir(struct enf_ctx *ctx, const char *path, unsigned int mode);
/* Overwrites an existing file in place (no temp file, no create): only for kernel
 * interfaces such as /proc/sys that cannot be replaced by rename. Goes through the hooks. */
int enf_file_write_inplace(struct enf_ctx *ctx, const char *path, const void *data, size_t len);

/* User and group names of the managed system, looked up in <root>/etc/passwd and
 * <root>/etc/group (read once per run); a decimal number is taken as an id. WARD_ENOENT for
 * an unknown name. The reverse lookups give NULL when the id has no name there. */
int enf_user_id(struct enf_ctx *ctx, const char *name, int64_t *uid);
int enf_group_id(struct enf_ctx *ctx, const char *name, int64_t *gid);
const char *enf_user_name(struct enf_ctx *ctx, int64_t uid);
const char *enf_group_name(struct enf_ctx *ctx, int64_t gid);

/* Runs a child (plat_proc_run; argv only, scrubbed environment) with WARD_ROOT=<root> added
 * to its environment. res as plat_proc_run. */
int enf_proc_run(struct enf_ctx *ctx, const char *const *argv, uint64_t timeout_ms,
                 struct plat_proc_result *res);
/* Content by SHA-256 through the embedder's fetch hook; WARD_ENOTSUP without one. */
int enf_fetch(struct enf_ctx *ctx, const char *sha256_hex, char **data, size_t *len);
/* An EST exchange through the embedder's est hook (struct enf_hooks); WARD_ENOTSUP without
 * one. A failure's reason goes to the setting's error text (enf_ctx_detail). */
int enf_est(struct enf_ctx *ctx, const char *profile, const char *op, const char *body, size_t len,
            char **answer, size_t *alen);
/* Asks for the current setting to be checked again at unix time `at` (the earliest of
 * several calls wins); see enf_outcome.recheck_at. Ignored outside check and apply. */
void enf_ctx_recheck_at(struct enf_ctx *ctx, int64_t at);

#endif
