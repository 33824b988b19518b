/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward-server's application layer: the data directory (CA, server certificate, command
 * signing key, settings, database), enrollment tokens, devices, signed commands and the
 * audit trail. The admin CLI and the `serve` loop both work through these functions on the
 * same SQLite database (WAL), so an admin verb run while the server is up is safe.
 */
#ifndef SERVER_APP_H
#define SERVER_APP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>
#include <openssl/types.h>
#include <openssl/x509.h>

struct ward_store;

/* Settings kept in <data>/server.json, written by `init`. */
struct srv_settings {
    char listen[128];      /* "127.0.0.1:8443" */
    char url[256];         /* what tokens carry: "https://127.0.0.1:8443" */
    long device_cert_ttl;  /* seconds */
    long checkin_interval; /* seconds, sent to agents */
    long token_ttl;        /* default token lifetime, seconds */
    long command_ttl;      /* default command lifetime, seconds */
    long renew_grace;      /* how long a superseded certificate still works, seconds */
};

/* Statements prepared once and reused on the hot paths (authentication, check-in). */
#define SRV_STMT_CACHE 16
struct srv_stmt_slot {
    const char *sql; /* a string literal: cached by address */
    sqlite3_stmt *st;
    int busy;
};

struct srv_app {
    char *data_dir;
    struct srv_settings settings;
    struct ward_store *store;
    X509 *ca_cert;
    EVP_PKEY *ca_key;
    char *ca_pem;
    char ca_pin[72];
    EVP_PKEY *command_key; /* Ed25519 */
    char *command_pub_b64;
    struct srv_stmt_slot stmts[SRV_STMT_CACHE];
};

/* A prepared statement for `sql` (a string literal), reused across calls: preparing is
 * about half the cost of a kept-alive check-in. Hand it back with srv_stmt_done, which
 * resets it (or finalizes an uncached one: a nested use of the same SQL, a full cache). */
int srv_stmt(struct srv_app *app, const char *sql, sqlite3_stmt **out);
void srv_stmt_done(struct srv_app *app, sqlite3_stmt *st);

/* Options of `ward-server init`. */
struct srv_init_opts {
    const char *listen;       /* NULL: 127.0.0.1:8443 */
    const char *const *names; /* DNS names / IP addresses for the server certificate */
    size_t n_names;           /* 0: derived from the listen host (and localhost) */
    const char *url;          /* NULL: https://<first name>:<port> */
    long device_cert_ttl;     /* 0: 30 days */
    long checkin_interval;    /* 0: 900 s */
    long server_cert_ttl;     /* 0: 825 days */
};

/* Data directory files. */
#define SRV_FILE_SETTINGS "server.json"
#define SRV_FILE_CA_CERT "ca.pem"
#define SRV_FILE_CA_KEY "ca.key"
#define SRV_FILE_SERVER_CERT "server.pem"
#define SRV_FILE_SERVER_KEY "server.key"
#define SRV_FILE_COMMAND_KEY "command.key"
#define SRV_FILE_DB "server.db"
#define SRV_FILE_ADMIN_SOCK "admin.sock"
/* The EST issuing CA (server/est.h): separate from the service CA, so nothing it issues can
 * pass as a device certificate (TLS client authentication trusts only ca.pem). */
#define SRV_FILE_ISSUING_CERT "issuing-ca.pem"
#define SRV_FILE_ISSUING_KEY "issuing-ca.key"
#define SRV_ISSUING_CA_CN "Ward Issuing CA"

/* Creates everything a first start needs in an empty (or missing) directory; refuses a
 * directory that already holds a CA (WARD_EEXIST), so keys are never replaced by accident. */
int srv_app_init(const char *data_dir, const struct srv_init_opts *o);
/* Creates the issuing CA (EC P-256, 10 years) in dir: the key (0600) first, then the
 * certificate, whose presence marks it complete. `init` calls it; `serve` calls it for a
 * data directory made before the issuing CA existed. */
int srv_issuing_ca_create(const char *data_dir);
/* Opens an initialized data directory (WARD_ENOENT if `init` never ran). */
int srv_app_open(const char *data_dir, struct srv_app **out);
void srv_app_close(struct srv_app *app);
/* "<data_dir>/<name>", new (ward_free). */
char *srv_app_path(const struct srv_app *app, const char *name);
char *srv_path_join(const char *dir, const char *name);

/* ---- audit trail -------------------------------------------------------------------- */
/* kind: "enroll", "enroll_refused", "token_create", "token_revoke", "device_revoke",
 * "command_send", "command_result", "renew", ... detail is a short text (never a secret). */
int srv_event(struct srv_app *app, const char *kind, const char *device_id, const char *token_id,
              const char *detail);

/* ---- tokens --------------------------------------------------------------------------- */
struct srv_token_opts {
    int uses; /* 0: 1 */
    long ttl; /* seconds; 0: settings.token_ttl */
    const char *label;
    int personal;       /* ownership of the devices it enrolls: corporate (0) or personal */
    const char *grants; /* "full_wipe,scripts,packages", "none", or NULL: the ownership's
                         * default (corporate: all three; personal: none) */
};

/* Checks and normalizes a grant list for an ownership into out ("" for none): known names,
 * no repeats, and never full_wipe or scripts for a personal device. WARD_EINVAL with msg. */
int srv_grants_normalize(const char *grants, int personal, char *out, size_t outlen, char *msg,
                         size_t msglen);
/* Creates a token; *token_out is the full "ward1...." string (new), *id_out the id (new). */
int srv_token_create(struct srv_app *app, const struct srv_token_opts *o, char **token_out,
                     char **id_out);
/* Checks and consumes one use of "<id>.<secret>" in one transaction. Errors:
 * WARD_ENOENT (unknown id or wrong secret: token_invalid), WARD_EEXPIRED, WARD_EREVOKED,
 * WARD_ETOOBIG (used up). *token_id (new) names the token on success and, where the id
 * was known, on failure too (for the audit trail). */
int srv_token_redeem(struct srv_app *app, const char *secret, char **token_id);
int srv_token_revoke(struct srv_app *app, const char *id);
/* Array of token objects (never secrets), new. */
int srv_token_list(struct srv_app *app, json_t **out);

/* ---- devices ---------------------------------------------------------------------------- */
struct srv_enroll_req {
    const char *token;
    const char *csr_pem;
    size_t csr_len;
    const char *hostname;
    const char *machine_id;
    const char *os;
    const char *agent_version;
    const char *peer_addr;
};
/* Redeems the token, issues the device certificate, records the device. *resp is new (the
 * 201 body of docs/protocol.md). On error *code (static) is the protocol error code. */
int srv_enroll(struct srv_app *app, const struct srv_enroll_req *r, json_t **resp,
               const char **code);

/* Identifies a device from its verified client certificate: WARD_EREVOKED for a revoked,
 * superseded or unknown certificate. *device_id is new. Using a renewed certificate for the
 * first time retires the previous one. */
int srv_device_auth(struct srv_app *app, X509 *cert, char **device_id);
/* Check-in: records it, returns the 200 body with pending commands. */
int srv_checkin(struct srv_app *app, const char *device_id, const json_t *req,
                const char *peer_addr, json_t **resp);
/* Renewal with a CSR: new certificate, the old one valid for settings.renew_grace. */
int srv_renew(struct srv_app *app, const char *device_id, const char *csr_pem, size_t len,
              json_t **resp, const char **code);
/* Stores command results; *resp is {"ack": [...], "rejected": [...]}. */
/* device_key (borrowed, may be NULL) is the public key of the certificate the device
 * presented: a selective_wipe result's receipt is verified with it before it is kept in
 * the device record (wipe_receipt, with "verified"). */
int srv_results(struct srv_app *app, const char *device_id, EVP_PKEY *device_key, const json_t *req,
                json_t **resp);
/* 1 if the device has a queued, unexpired command with seq > seq_high. */
int srv_has_pending(struct srv_app *app, const char *device_id, long long seq_high);

int srv_device_list(struct srv_app *app, json_t **out);
int srv_device_show(struct srv_app *app, const char *device_id, json_t **out);
int srv_device_revoke(struct srv_app *app, const char *device_id);
/* Accepts a full device id or a unique prefix of at least 4 characters. *out new. */
int srv_device_resolve(struct srv_app *app, const char *id_or_prefix, char **out);

/* ---- commands --------------------------------------------------------------------------- */
/* Checks the parameters (server/commands.h; a file they name must be stored here), signs
 * and queues a command; params is borrowed (an object, may be NULL). *out is the command
 * object (id, seq, type, expires_at), new. Errors: WARD_EINVAL (unknown type) and
 * WARD_EPARSE (parameters), both with msg set to one line saying what is wrong;
 * WARD_ENOENT (no such device, or revoked). */
int srv_command_send(struct srv_app *app, const char *device_id, const char *type, json_t *params,
                     long ttl, json_t **out, char *msg, size_t msglen);
/* The checks srv_command_send makes before it queues (parameters, stored files). */
int srv_command_check(struct srv_app *app, const char *type, const json_t *params, char *msg,
                      size_t msglen);
/* The same for a command the offline key authorized (server/offline.h): the command keeps
 * the document's id, the payload carries the authorization, and it expires no later than
 * the authorization. WARD_EEXIST when that command id was queued already. */
int srv_command_send_authorized(struct srv_app *app, const char *device_id, const char *type,
                                json_t *params, long ttl, const char *command_id,
                                const json_t *authorization, int64_t not_after, json_t **out,
                                char *msg, size_t msglen);
/* Commands, newest first; device_id NULL for all. */
int srv_command_list(struct srv_app *app, const char *device_id, json_t **out);
/* One command by id or unique prefix (at least 6 characters), as listed plus its result;
 * WARD_ENOENT, WARD_EBUSY (ambiguous prefix), WARD_EINVAL (prefix too short). */
int srv_command_show(struct srv_app *app, const char *id, json_t **out);

/* ---- time ----------------------------------------------------------------------------- */
/* ISO 8601 UTC ("2026-11-28T10:00:00Z") into out (>= 21 bytes); "" for 0. */
void srv_time_iso(int64_t t, char *out, size_t outlen);
/* A duration as the CLI and profiles write it: positive seconds, or a number with s, m, h
 * or d (at most 100 years). WARD_EPARSE otherwise. */
int srv_parse_duration(const char *s, long *out);
int64_t srv_now(void);

#endif
