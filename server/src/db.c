/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward-server's schema. Times are Unix seconds (UTC). Tokens keep only SHA-256 of their
 * secret. Each device has its current certificate serial and, after a renewal, the previous
 * one with the time until which it still works. Commands carry the exact signed envelope
 * they were issued with, so a re-delivery is byte-identical. Events are the audit trail.
 * Never edit a shipped migration; append a new one.
 */
#include "server/db.h"

#include "ward/store.h"

static const struct ward_migration migrations[] = {
    {1, "CREATE TABLE tokens ("
        "  id TEXT PRIMARY KEY,"
        "  secret_hash BLOB NOT NULL,"
        "  label TEXT,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL,"
        "  uses_allowed INTEGER NOT NULL,"
        "  uses INTEGER NOT NULL DEFAULT 0,"
        "  revoked_at INTEGER);"
        "CREATE TABLE devices ("
        "  device_id TEXT PRIMARY KEY,"
        "  hostname TEXT, machine_id TEXT, os TEXT, agent_version TEXT,"
        "  enrolled_at INTEGER NOT NULL,"
        "  token_id TEXT,"
        "  cert_serial TEXT NOT NULL,"
        "  cert_not_after INTEGER NOT NULL,"
        "  prev_cert_serial TEXT,"
        "  prev_valid_until INTEGER,"
        "  last_checkin INTEGER,"
        "  last_addr TEXT,"
        "  checkins INTEGER NOT NULL DEFAULT 0,"
        "  seq_high INTEGER NOT NULL DEFAULT 0,"
        "  next_seq INTEGER NOT NULL DEFAULT 1,"
        "  revoked_at INTEGER);"
        "CREATE INDEX devices_cert ON devices(cert_serial);"
        "CREATE TABLE certs ("
        "  serial TEXT PRIMARY KEY,"
        "  device_id TEXT NOT NULL REFERENCES devices(device_id),"
        "  not_before INTEGER NOT NULL,"
        "  not_after INTEGER NOT NULL,"
        "  issued_at INTEGER NOT NULL,"
        "  revoked_at INTEGER);"
        "CREATE TABLE commands ("
        "  command_id TEXT PRIMARY KEY,"
        "  device_id TEXT NOT NULL REFERENCES devices(device_id),"
        "  seq INTEGER NOT NULL,"
        "  type TEXT NOT NULL,"
        "  params TEXT NOT NULL,"
        "  issued_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL,"
        "  envelope TEXT NOT NULL,"
        "  status TEXT NOT NULL DEFAULT 'queued',"
        "  delivered_at INTEGER,"
        "  finished_at INTEGER,"
        "  result TEXT,"
        "  UNIQUE(device_id, seq));"
        "CREATE INDEX commands_pending ON commands(device_id, status, seq);"
        "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY,"
        "  at INTEGER NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  device_id TEXT,"
        "  token_id TEXT,"
        "  detail TEXT);"},
    /* Inventories (server/src/inventory.c): one row per device, table and row key with the
     * row's JSON; inventory_tables says which tables the device reported (possibly empty);
     * inventory holds the document hash, the last upload's "collection" and counters. */
    {2, "CREATE TABLE inventory ("
        "  device_id TEXT PRIMARY KEY REFERENCES devices(device_id),"
        "  hash TEXT NOT NULL,"
        "  collection TEXT,"
        "  updated_at INTEGER NOT NULL,"
        "  full_at INTEGER NOT NULL,"
        "  uploads INTEGER NOT NULL DEFAULT 0,"
        "  full_uploads INTEGER NOT NULL DEFAULT 0,"
        "  resyncs INTEGER NOT NULL DEFAULT 0,"
        "  last_kind TEXT,"
        "  last_wire_bytes INTEGER,"
        "  last_body_bytes INTEGER,"
        "  last_changes INTEGER);"
        "CREATE TABLE inventory_tables ("
        "  device_id TEXT NOT NULL,"
        "  tbl TEXT NOT NULL,"
        "  PRIMARY KEY (device_id, tbl));"
        "CREATE TABLE inventory_rows ("
        "  device_id TEXT NOT NULL,"
        "  tbl TEXT NOT NULL,"
        "  key TEXT NOT NULL,"
        "  row TEXT NOT NULL,"
        "  PRIMARY KEY (device_id, tbl, key));"
        "CREATE INDEX inventory_rows_tbl ON inventory_rows(tbl, device_id);"},
    /* Baselines (server/src/baselines.c): documents by version with their exact bytes and
     * SHA-256; assignments to a device id or '*' (every device, enrolled later too); the
     * latest compliance report per device and baseline with its result counts. */
    {3, "CREATE TABLE baselines ("
        "  id TEXT NOT NULL,"
        "  version INTEGER NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  document BLOB NOT NULL,"
        "  description TEXT,"
        "  mode TEXT NOT NULL,"
        "  settings INTEGER NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  PRIMARY KEY (id, version));"
        "CREATE TABLE baseline_assignments ("
        "  baseline_id TEXT NOT NULL,"
        "  target TEXT NOT NULL,"
        "  assigned_at INTEGER NOT NULL,"
        "  PRIMARY KEY (baseline_id, target));"
        "CREATE TABLE compliance ("
        "  device_id TEXT NOT NULL REFERENCES devices(device_id),"
        "  baseline_id TEXT NOT NULL,"
        "  version INTEGER NOT NULL,"
        "  evaluated_at INTEGER NOT NULL,"
        "  received_at INTEGER NOT NULL,"
        "  removed INTEGER NOT NULL DEFAULT 0,"
        "  kept INTEGER NOT NULL,"
        "  repaired INTEGER NOT NULL,"
        "  failed INTEGER NOT NULL,"
        "  denied INTEGER NOT NULL,"
        "  skipped INTEGER NOT NULL,"
        "  results TEXT NOT NULL,"
        "  PRIMARY KEY (device_id, baseline_id));"
        "CREATE INDEX compliance_baseline ON compliance(baseline_id);"},
    /* Files agents download (server/src/files.c): content-addressed copies under
     * <data>/files/<sha256>. commands.result_at: when the latest result was stored, as
     * non-final results (accepted, running) may be replaced by later ones; finished_at is
     * set only by a final one. commands.status has no CHECK constraint, so the new
     * statuses need no table rebuild. */
    {4, "CREATE TABLE files ("
        "  sha256 TEXT PRIMARY KEY,"
        "  length INTEGER NOT NULL,"
        "  name TEXT,"
        "  added_at INTEGER NOT NULL);"
        "ALTER TABLE commands ADD COLUMN result_at INTEGER;"
        "UPDATE commands SET result_at = finished_at WHERE result IS NOT NULL;"},
    /* Authority (docs/commands.md, "Who may do what"): a token's ownership and grants,
     * copied into the device record at enrollment (rows from before keep what the service
     * could already do: corporate, every grant); the offline administrator keys (public
     * halves only; the newest unretired one is pinned by devices enrolling) and which one a
     * device pinned; the receipt of a selective wipe. */
    {5, "ALTER TABLE tokens ADD COLUMN ownership TEXT NOT NULL DEFAULT 'corporate';"
        "ALTER TABLE tokens ADD COLUMN grants TEXT NOT NULL DEFAULT 'full_wipe,scripts,packages';"
        "ALTER TABLE devices ADD COLUMN ownership TEXT NOT NULL DEFAULT 'corporate';"
        "ALTER TABLE devices ADD COLUMN grants TEXT NOT NULL DEFAULT 'full_wipe,scripts,packages';"
        "ALTER TABLE devices ADD COLUMN offline_key TEXT;"
        "ALTER TABLE devices ADD COLUMN wipe_receipt TEXT;"
        "CREATE TABLE offline_keys ("
        "  fingerprint TEXT PRIMARY KEY,"
        "  public_key TEXT NOT NULL,"
        "  label TEXT,"
        "  created_at INTEGER NOT NULL,"
        "  retired_at INTEGER);"},
    /* EST (server/src/est.c): certificate profiles (the validated, normalized document)
     * and every certificate the issuing CA issued. superseded_by names the certificate a
     * simplereenroll replaced it with; renewed_from the one it replaced. */
    {6, "CREATE TABLE cert_profiles ("
        "  id TEXT PRIMARY KEY,"
        "  doc TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL);"
        "CREATE TABLE issued_certs ("
        "  serial TEXT PRIMARY KEY,"
        "  device_id TEXT NOT NULL REFERENCES devices(device_id),"
        "  profile TEXT NOT NULL,"
        "  subject TEXT NOT NULL,"
        "  not_before INTEGER NOT NULL,"
        "  not_after INTEGER NOT NULL,"
        "  issued_at INTEGER NOT NULL,"
        "  revoked_at INTEGER,"
        "  superseded_by TEXT,"
        "  renewed_from TEXT);"
        "CREATE INDEX issued_certs_device ON issued_certs(device_id, profile);"},
};

int srv_db_open(const char *path, struct ward_store **out)
{
    int rc = ward_store_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), out);
    /* WAL with synchronous=NORMAL: a commit is durable against a process crash (kill -9) at
     * once and against power loss at the next checkpoint; without it every check-in would
     * wait for an fsync. */
    if (rc == 0 && (rc = ward_store_exec(*out, "PRAGMA synchronous=NORMAL")) != 0) {
        ward_store_close(*out);
        *out = NULL;
    }
    return rc;
}
