/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers on jansson. Every JSON document Ward reads from outside (config files,
 * server answers, command envelopes) goes through ward_json_loadb(), which adds what
 * jansson alone does not give: a size cap, a nesting cap far below jansson's own, duplicate
 * keys rejected, and errors that say where they are as a JSON path ("$.settings[3].mode")
 * as well as line and column. The typed getters give schema validation the same kind of
 * error. Jansson's allocations go through ward_malloc/ward_free once ward_json_init() ran.
 *
 * Ownership: every json_t * handed out through an out-parameter says new (caller owns a
 * reference, release with json_decref) or borrowed (valid while the parent lives).
 */
#ifndef WARD_JSON_H
#define WARD_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "ward/buf.h"

#define WARD_JSON_DEFAULT_MAX_BYTES ((size_t)1 << 20)
#define WARD_JSON_DEFAULT_MAX_DEPTH 32
#define WARD_JSON_PATH_MAX 256
#define WARD_JSON_TEXT_MAX 160

struct ward_json_limits {
    size_t max_bytes; /* 0: WARD_JSON_DEFAULT_MAX_BYTES */
    int max_depth;    /* 0: WARD_JSON_DEFAULT_MAX_DEPTH; the root container is depth 1 */
};

/* Where and why a document was rejected. line/column are 1-based (column counts UTF-8
 * characters, as jansson does) and 0 when the error has no position in a text (the typed
 * getters work on parsed values). path is "$" for the root, never empty. */
struct ward_json_error {
    int line;
    int column;
    size_t position; /* byte offset into the input */
    char path[WARD_JSON_PATH_MAX];
    char text[WARD_JSON_TEXT_MAX];
};

/* Routes jansson's allocator through ward_malloc/ward_free (so allocation-failure injection
 * covers JSON) and seeds jansson's hash function. Call once at startup, before any thread
 * uses jansson; calling it again is harmless. */
void ward_json_init(void);

/* Parses buf[0..len) (no NUL needed). The top level must be an object or an array.
 * limits may be NULL for the defaults; err may be NULL. *out is new on success.
 * Errors: WARD_ETOOBIG (len > max_bytes), WARD_EDEPTH (nesting > max_depth, checked
 * before jansson parses), WARD_EDUP (duplicate key), WARD_EPARSE (syntax, invalid UTF-8,
 * NUL in a string), WARD_ENOMEM. Nothing is logged: the caller knows what the input was. */
int ward_json_loadb(const char *buf, size_t len, const struct ward_json_limits *limits,
                    json_t **out, struct ward_json_error *err);

/* "$", "$.a", "$.a[2]", `$["key with spaces"]`. Appends one step to parent (NULL means
 * "$") into out; always NUL-terminates, truncating with "..." when out is too small. */
void ward_json_path_key(char *out, size_t outlen, const char *parent, const char *key);
void ward_json_path_index(char *out, size_t outlen, const char *parent, size_t index);

/* "object", "array", "string", "integer", "real", "boolean", "null" ("missing" for NULL). */
const char *ward_json_type_name(const json_t *j);

/* Typed member getters for schema validation. obj is the object at JSON path `path` (NULL
 * means "$"); key names the member. A missing member returns WARD_ENOENT when flags has
 * WARD_JSON_REQUIRED, otherwise 0 with *out untouched (so it can hold a default). A member
 * of the wrong type, or out of range, returns WARD_EPARSE. On error err (may be NULL) gets
 * the member's path and a message; line/column are 0. Strings and containers are borrowed
 * from obj. A string containing NUL is rejected (the loader already refuses them). */
#define WARD_JSON_REQUIRED 0x1u
int ward_json_get_str(const json_t *obj, const char *path, const char *key, unsigned flags,
                      const char **out, struct ward_json_error *err);
int ward_json_get_int(const json_t *obj, const char *path, const char *key, unsigned flags,
                      long long min, long long max, long long *out, struct ward_json_error *err);
int ward_json_get_bool(const json_t *obj, const char *path, const char *key, unsigned flags,
                       int *out, struct ward_json_error *err);
int ward_json_get_object(const json_t *obj, const char *path, const char *key, unsigned flags,
                         json_t **out, struct ward_json_error *err);
int ward_json_get_array(const json_t *obj, const char *path, const char *key, unsigned flags,
                        json_t **out, struct ward_json_error *err);

/* WARD_EPARSE with the path of the first member of obj whose key is not in the
 * NULL-terminated list `allowed` (keys in jansson's iteration order), or WARD_EPARSE if obj
 * is not an object; 0 when every key is allowed. */
int ward_json_check_keys(const json_t *obj, const char *path, const char *const *allowed,
                         struct ward_json_error *err);

/* Serialization, always compact (no spaces) unless WARD_JSON_PRETTY. */
#define WARD_JSON_SORT_KEYS 0x1u
#define WARD_JSON_PRETTY 0x2u /* two-space indent, for humans */
/* Appends to b; WARD_ETOOBIG when b's cap is reached (b then holds a truncated prefix). */
int ward_json_dump_buf(const json_t *j, unsigned flags, struct ward_buf *b);
/* *out is a new NUL-terminated string (ward_free it); *len may be NULL. */
int ward_json_dumps(const json_t *j, unsigned flags, char **out, size_t *len);

#endif
