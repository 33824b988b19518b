/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers the Linux command handlers (cmd_*.c) share: the ownership test, params
 * diagnostics in the validate slot's format, libuv error codes, and turning a child's bytes
 * into JSON text (jansson only takes UTF-8). Not installed.
 */
#ifndef ENFORCEMENT_LINUX_CMD_UTIL_H
#define ENFORCEMENT_LINUX_CMD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enforcement/command.h"
#include "ward/buf.h"
#include "ward/config.h"

/* 1 when the device is personally owned (BYOD): destructive commands are refused there. */
int enf_cmdu_personal(const struct enf_cmd_job *j);

/* One validate-slot problem: "PATH: text\n" appended to err (err may be NULL). */
void enf_cmdu_diag(struct ward_buf *err, const char *path, const char *fmt, ...) WARD_PRINTF(3, 4);

/* A libuv error (uv_queue_work, uv_timer_init ...) as a Ward code. */
int enf_cmdu_uv_err(int uverr);

/* Appends s[0, n) to b as UTF-8: every ill-formed sequence (stray continuation bytes,
 * truncated or overlong sequences, surrogates, code points above U+10FFFF) becomes one
 * U+FFFD per maximal invalid subpart, as Unicode recommends; valid text is copied as it
 * is (NUL bytes included). WARD_ETOOBIG / WARD_ENOMEM from the buffer. */
int enf_cmdu_utf8_append(struct ward_buf *b, const char *s, size_t n);

/* A JSON string (new) of s[0, n) made valid UTF-8 as above; NULL on allocation failure. */
json_t *enf_cmdu_text(const char *s, size_t n);

/* One captured child stream as such a string (new): data[0, head_len) is the start and
 * the rest the end, with a "[... N bytes dropped ...]" line between when dropped > 0
 * (plat_proc_result's out/out_head_len/out_dropped). NULL on allocation failure. */
json_t *enf_cmdu_stream_text(const char *data, size_t len, size_t head_len, uint64_t dropped);

/* Checks a file the service offers, {"url": "/api/v1/files/<id>", "sha256", "length"}
 * (no other members): diagnostics under where ("$.file"). 1 when it is bad. */
int enf_cmdu_validate_file(const json_t *file, const char *where, struct ward_buf *err);

#endif
