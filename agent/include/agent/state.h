/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state directory and its SQLite database (WAL, numbered migrations). The
 * directory is created private (0700 / SYSTEM-only) on first use. Later work adds identity,
 * command journal, outbox and inventory tables as migrations here.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

struct agent_state;
struct ward_store;

/* Creates the directory if needed and opens <dir>/state.db. */
int agent_state_open(const char *dir, struct agent_state **out);
void agent_state_close(struct agent_state *st);
/* Borrowed store handle. */
struct ward_store *agent_state_store(struct agent_state *st);
/* A second connection to the same database, new (ward_store_close), for work on another
 * thread (engine runs with their journal): one connection is never shared across threads. */
int agent_state_open_store(const struct agent_state *st, struct ward_store **out);
const char *agent_state_dir(const struct agent_state *st);
/* 1 once enrollment has stored a device identity. */
int agent_state_enrolled(struct agent_state *st);
/* Small key/value table for agent facts (start count, last error ...). *out is
 * ward_malloc'd; WARD_ENOENT when absent. */
int agent_state_get(struct agent_state *st, const char *key, char **out);
int agent_state_set(struct agent_state *st, const char *key, const char *value);

#endif
