/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files the agents download (scripts too large to send inline, package files): stored in
 * the data directory under files/<sha256> (0600), recorded in the `files` table, served by
 * GET /api/v1/files/<sha256> to enrolled devices (docs/protocol.md, "Files"). A file is
 * named by its content, so adding the same bytes twice stores them once.
 */
#ifndef SERVER_FILES_H
#define SERVER_FILES_H

#include <stdint.h>

#include <jansson.h>

struct srv_app;

#define SRV_FILES_DIR "files"
#define SRV_FILES_URL_PREFIX "/api/v1/files/"

/* Copies the regular file at path into the data directory (temp name, fsync, rename) while
 * hashing it, and records it (name: the path's last component). *out (new) is {sha256,
 * length, name, added_at, url}. Adding bytes already stored keeps the first record (and
 * rewrites the stored copy, repairing one that went missing). Errors: WARD_ENOENT /
 * WARD_EACCES for the source, WARD_EINVAL for a source that is not a regular file or is
 * empty, WARD_EIO / WARD_ENOSPC writing. Records a file_add event. */
int srv_file_add(struct srv_app *app, const char *path, json_t **out);
/* Every recorded file, oldest first; *out new. */
int srv_file_list(struct srv_app *app, json_t **out);
/* Length of a recorded file; WARD_ENOENT for an unknown sha256. */
int srv_file_length(struct srv_app *app, const char *sha256, int64_t *length);
/* Opens the stored copy of a recorded file for reading (O_CLOEXEC); *fd is the caller's.
 * WARD_ENOENT for an unknown (or malformed) sha256; WARD_ECORRUPT when the stored copy is
 * missing or its size is not the recorded length (logged). */
int srv_file_open(struct srv_app *app, const char *sha256, int *fd, int64_t *length);

/* A Range request header against a body of len bytes (RFC 9110 section 14): "bytes=N-",
 * "bytes=N-M" and "bytes=-SUFFIX". Returns 1 with [*first, *last] (inclusive) for a
 * satisfiable range, SRV_RANGE_UNSATISFIABLE (416) when it starts at or beyond the end
 * (or asks for an empty suffix), and 0 when the whole body should be sent: no header,
 * another unit, several ranges, or one that does not parse (which RFC 9110 lets a server
 * ignore). */
#define SRV_RANGE_UNSATISFIABLE (-1)
int srv_range_parse(const char *header, int64_t len, int64_t *first, int64_t *last);

#endif
