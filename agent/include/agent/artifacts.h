/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Managed artifacts: what Ward itself put on the device (a package it installed, a file a
 * baseline created; certificates and network profiles when their issue lands), kept in the
 * state database's `managed_artifacts` table. selective_wipe removes exactly these and
 * nothing else, and a personal device lets Ward remove a package only when it is listed
 * here. Each row: kind, name (package name or absolute path), detail (JSON text with what
 * removal needs), the command that added it and when.
 */
#ifndef AGENT_ARTIFACTS_H
#define AGENT_ARTIFACTS_H

#include <jansson.h>

struct agent_state;

/* Adds or replaces (kind, name); detail borrowed (NULL: none); command_id may be NULL.
 * Runs in the caller's transaction when one is open. */
int agent_artifacts_add(struct agent_state *st, const char *kind, const char *name,
                        const json_t *detail, const char *command_id);
/* 1 when (kind, name) is listed, 0 when not, or a negative error. */
int agent_artifacts_has(struct agent_state *st, const char *kind, const char *name);
/* Forgets (kind, name); 0 also when it was not listed. */
int agent_artifacts_remove(struct agent_state *st, const char *kind, const char *name);
/* Every artifact as [{kind, name, detail, command_id, added_at}], oldest first (new). */
int agent_artifacts_list(struct agent_state *st, json_t **out);

#endif
