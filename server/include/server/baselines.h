/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baselines on the service: documents stored by version, assigned to devices (or to every
 * device), served to the devices they are assigned to, and the compliance each device
 * reports (the latest evaluation per device and baseline). The server never links the
 * enforcement engine: it checks only the document's outer shape (id, version, settings
 * with ids and kinds) and leaves the schema to the agents, which refuse an invalid
 * document as a whole. docs/protocol.md, "Baselines and compliance".
 */
#ifndef SERVER_BASELINES_H
#define SERVER_BASELINES_H

#include <stddef.h>

#include <jansson.h>

struct srv_app;

/* Caps (the agent's engine has the same ones). */
#define SRV_BASELINE_MAX_BYTES ((size_t)4 << 20)
#define SRV_BASELINE_MAX_DEPTH 8
#define SRV_BASELINE_MAX_SETTINGS 10000
/* A compliance report: body cap for POST /api/v1/compliance (after gzip). */
#define SRV_COMPLIANCE_MAX_BYTES ((size_t)8 << 20)

/* Stores a document (exact bytes) as a new version. Errors: WARD_EPARSE / WARD_ETOOBIG /
 * WARD_EDEPTH / WARD_EDUP (shape; msg says where, with a JSON path), WARD_EEXIST (the id
 * already has this or a higher version; msg names it). *out (new) is {id, version, sha256,
 * settings}. Records a baseline_put event. */
int srv_baseline_put(struct srv_app *app, const char *buf, size_t len, json_t **out, char *msg,
                     size_t msglen);
/* Every baseline (latest version) with its assignments; *out new. */
int srv_baseline_list(struct srv_app *app, json_t **out);
/* device_id NULL means every device ("--all"). assign: WARD_ENOENT for an unknown
 * baseline, WARD_EEXIST when already assigned. unassign: WARD_ENOENT when it was not
 * assigned that way. Records baseline_assign / baseline_unassign events. */
int srv_baseline_assign(struct srv_app *app, const char *id, const char *device_id);
int srv_baseline_unassign(struct srv_app *app, const char *id, const char *device_id);

/* The check-in's "baselines" member: [{id, version, sha256}] of the latest version of each
 * baseline assigned to the device, in id order; appended to arr. */
int srv_baselines_for_device(struct srv_app *app, const char *device_id, json_t *arr);
/* GET /api/v1/baselines/<id>?version=N (version 0: latest) for a device it is assigned
 * to: *doc (new, ward_free) holds the exact stored bytes. WARD_ENOENT otherwise. */
int srv_baseline_fetch(struct srv_app *app, const char *device_id, const char *id,
                       long long version, char **doc, size_t *len, char sha256[65]);

/* POST /api/v1/compliance. WARD_EINVAL for a body of the wrong shape (msg says what),
 * WARD_ENOENT for a baseline the service does not know. *resp (new) is {"stored": bool}:
 * false when a later evaluation is already kept (the call is idempotent either way). */
int srv_compliance_post(struct srv_app *app, const char *device_id, const json_t *req,
                        json_t **resp, char *msg, size_t msglen);
/* Fleet summary per baseline; *out new. */
int srv_compliance_summary(struct srv_app *app, json_t **out);
/* One device: every baseline assigned to it or reported by it, with failing settings. */
int srv_compliance_device(struct srv_app *app, const char *device_id, json_t **out);

#endif
