/* SPDX-License-Identifier: Apache-2.0 */
/* ward-server's database: schema migrations and small query helpers. */
#ifndef SERVER_DB_H
#define SERVER_DB_H

#include <sqlite3.h>

struct ward_store;

/* Opens (creating, migrating) the server database. */
int srv_db_open(const char *path, struct ward_store **out);

#endif
