/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent configuration: a JSON file validated against a schema table (name, type, limits,
 * description), overridden by command-line flags. Unknown keys and bad values each give
 * one error line carrying the JSON path; nothing partial is ever applied.
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stddef.h>

struct ward_buf;

struct agent_config {
    char *server_url;        /* if set, the only service URL enrollment accepts */
    char *state_dir;         /* SQLite state, keys, certificates */
    char *root;              /* WARD_ROOT: prefix for everything enforcement touches */
    int log_level;           /* enum ward_log_level */
    int log_sink;            /* enum ward_log_sink */
    char *log_file;          /* for the file sink */
    int checkin_interval;    /* seconds */
    int connect_timeout;     /* seconds */
    int stall_timeout;       /* seconds below the low-speed limit before a transfer is cut off */
    char *proxy;             /* http://[user:pass@]host:port; NULL = environment */
    char *no_proxy;          /* hosts that bypass the proxy; NULL = environment */
    char *extra_ca_file;     /* extra trust for TLS-inspecting proxies */
    size_t max_response;     /* bytes */
    int backoff_base;        /* seconds: first retry delay after a failed check-in */
    int backoff_cap;         /* seconds: longest retry delay; 0 = the interval (at least 60) */
    char *enroll_token_file; /* token an unenrolled service enrolls with (agent/provision.h) */
    char *ipc_socket;        /* local IPC endpoint; NULL: agent_ipc_default_path */
};

/* Field types of the schema table. */
enum agent_config_type {
    AGENT_CFG_STRING,
    AGENT_CFG_INT,
    AGENT_CFG_SIZE,
    AGENT_CFG_ENUM,
    AGENT_CFG_URL,
    AGENT_CFG_PATH,
};

struct agent_config_field {
    const char *name;
    enum agent_config_type type;
    size_t offset;
    long long min, max;         /* INT/SIZE bounds */
    const char *const *choices; /* ENUM: NULL-terminated names, index stored */
    const char *description;
};

/* NULL-terminated by a zeroed entry. */
extern const struct agent_config_field agent_config_schema[];

/* Fills defaults (system paths from ward/config.h). */
int agent_config_init(struct agent_config *cfg);
void agent_config_release(struct agent_config *cfg);
/* Loads and validates a JSON config from memory over the values already in cfg. On
 * validation failure every problem is appended to errs as "PATH: message\n", cfg is
 * left unchanged, and WARD_ECONFIG is returned. */
int agent_config_load_buf(struct agent_config *cfg, const char *buf, size_t len,
                          struct ward_buf *errs);
/* Same from a file; a missing file is WARD_ENOENT (callers decide if that is fine). */
int agent_config_load_file(struct agent_config *cfg, const char *path, struct ward_buf *errs);
/* Sets one field by name from a command-line string with the same validation. */
int agent_config_set(struct agent_config *cfg, const char *name, const char *value,
                     struct ward_buf *errs);
/* Settings the installer left for the service (plat_policy_get: the MSI's SERVER_URL and
 * ENROLL_TOKEN_FILE under HKLM\SOFTWARE\Ward on Windows; nothing on Linux), each applied
 * like agent_config_set, by the key's name: after the configuration file, before the
 * command-line flags. */
int agent_config_apply_policy(struct agent_config *cfg, struct ward_buf *errs);
/* Deep copy (for SIGHUP reload: build the new one, then swap). */
int agent_config_copy(struct agent_config *dst, const struct agent_config *src);

#endif
