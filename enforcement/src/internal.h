/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Engine internals shared by the portable sources of ward_enforcement (not installed):
 * validation diagnostics, the per-run context, the journal, and text helpers kinds share.
 */
#ifndef ENFORCEMENT_INTERNAL_H
#define ENFORCEMENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "enforcement/baseline.h"
#include "enforcement/kind.h"
#include "ward/buf.h"
#include "ward/json.h"

struct enf_diags {
    struct ward_buf *out; /* may be NULL: count only */
    size_t count;
    const char *setting_path; /* "$.settings[3]" while a kind validates */
    int redacted;             /* settings read back from the journal: secrets are hashes */
};

/* Validates one setting object against the common fields and its kind's table. Fills s
 * (params borrowed from obj) when it is valid; problems go to d. default_mode applies when
 * the setting has no mode of its own. Returns the number of new problems. */
size_t enf_validate_setting(json_t *obj, const char *path, enum enf_mode default_mode,
                            struct enf_diags *d, struct enf_setting *s);

/* One field's value against its table entry (problems to d). */
void enf_field_check(const struct enf_field *f, const json_t *v, const char *path,
                     struct enf_diags *d);
const struct enf_field *enf_field_find(const struct enf_field *t, const char *name);
/* A markdown table of a field table (generated docs). */
void enf_md_fields(struct ward_buf *b, const struct enf_field *t);

/* ---- run context (engine.c) ---- */
struct enf_ctx *enf_ctx_new(const char *root, const struct enf_hooks *hooks);
void enf_ctx_free(struct enf_ctx *ctx);

/* ---- journal (journal.c) ---- */
/* Inserts the prior state of a setting unless the journal already has one for it (the
 * first prior state wins); refreshes the setting JSON and restore flag. *inserted says
 * whether this call created the row. Call inside a transaction. */
int enf_journal_put(struct ward_store *st, const char *baseline_id, const struct enf_setting *s,
                    const json_t *snap, int *inserted);
int enf_journal_forget(struct ward_store *st, const char *baseline_id, const char *setting_id);

/* ---- text helpers (text.c) ---- */
struct enf_line {
    const char *p; /* start of the line */
    size_t len;    /* without the newline (and a trailing \r) */
};
/* Iterates lines: returns 1 and the line at *pos (advancing it), 0 at the end. */
int enf_text_next(const char *data, size_t len, size_t *pos, struct enf_line *l);
/* Skips leading blanks (space, tab). */
struct enf_line enf_text_ltrim(struct enf_line l);
struct enf_line enf_text_trim(struct enf_line l);
/* 1 if l (left-trimmed) starts with any character of `comment` (or is blank). */
int enf_text_is_comment(struct enf_line l, const char *comment);
/* Matches an active "key<sep>value" line. sep " " (or any blanks) means one or more
 * blanks; another separator may have blanks around it. On a match *val is the trimmed
 * value (may be empty). icase: ASCII case-insensitive keys. */
int enf_text_key_match(struct enf_line l, const char *key, const char *sep, int icase,
                       const char *comment, struct enf_line *val);
/* 1 if the two spans are equal (after collapsing runs of blanks to one space when ws). */
int enf_text_eq(struct enf_line a, const char *b, int ws);

/* A line edit; edits are applied in order of `line` (index from enf_text_next). */
enum enf_edit_op {
    ENF_EDIT_REPLACE, /* line replaced by text */
    ENF_EDIT_DELETE,
    ENF_EDIT_COMMENT, /* comment + " " + original line */
    ENF_EDIT_INSERT,  /* text inserted before the line (line == count: at the end) */
};
struct enf_edit {
    size_t line;
    enum enf_edit_op op;
    const char *text; /* without newline */
};
/* Builds the edited text into out (edits sorted by line; stable for equal lines). A
 * missing final newline is added when something follows it. */
int enf_text_edit(const char *data, size_t len, const struct enf_edit *edits, size_t n,
                  const char *comment, struct ward_buf *out);

/* Edits the file at path (data/len: its current content, NULL for a missing file) and
 * writes the result (nothing when unchanged; missing parent directories are created 0755).
 * remove_if_idle: remove the file instead when no active line is left (restoring a file
 * Ward created); 2 also counts [section] headers as idle (ini files). */
int enf_text_rewrite(struct enf_ctx *ctx, const char *path, const char *data, size_t len,
                     const struct enf_edit *edits, size_t n, const char *comment,
                     int remove_if_idle);
/* Creates the missing parent directories (0755) of a root-relative path. */
int enf_mkdir_parent(struct enf_ctx *ctx, const char *path);
/* 1 if every line is blank or a comment (or a section header when ini is set). */
int enf_text_idle(const char *data, size_t len, const char *comment, int ini);

/* JSON string (or null) helper for snapshots: new reference, NULL on OOM. */
json_t *enf_json_str_or_null(const char *s, size_t len);

#endif
