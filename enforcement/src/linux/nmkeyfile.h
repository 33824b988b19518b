/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the wifi and vpn kinds share: NetworkManager keyfiles written the way
 * NetworkManager writes them (GKeyFile escaping, NetworkManager's SSID forms), the profile
 * file name and UUID derived from the setting, and the check/apply/snapshot/restore of one
 * profile file (0600 root, byte for byte; snapshots keep prior profiles without their
 * secrets). See nmkeyfile.c.
 */
#ifndef ENFORCEMENT_LINUX_NMKEYFILE_H
#define ENFORCEMENT_LINUX_NMKEYFILE_H

#include <stddef.h>

#include "enforcement/kind.h"
#include "ward/buf.h"

#define NM_PROFILE_DIR "/etc/NetworkManager/system-connections"
#define NM_NAME_MAX 256 /* bytes of a connection name (id) */

/* A keyfile being built. Errors (allocation, cap) stick and show in nmkf_finish. */
struct nmkf {
    struct ward_buf b;
    int groups;
    int err;
};
void nmkf_init(struct nmkf *k);
void nmkf_release(struct nmkf *k);
/* "[name]" after a blank line (name must be safe: fixed text or a validated key). */
void nmkf_group(struct nmkf *k, const char *name);
/* key=value with GKeyFile string escaping (leading blanks, \n \r \\), as
 * g_key_file_set_string: a value cannot start a new line, key or group. */
void nmkf_str(struct nmkf *k, const char *key, const char *val, size_t len);
/* key=text written as is: numbers, fixed words, lists of validated items. */
void nmkf_raw(struct nmkf *k, const char *key, const char *text);
void nmkf_int(struct nmkf *k, const char *key, long long v);
/* The SSID as NetworkManager writes it: printable ASCII as a string (';' escaped),
 * anything else as the byte list "1;2;3;". */
void nmkf_ssid(struct nmkf *k, const char *ssid, size_t len);
/* *data new (ward_free), NUL-terminated. */
int nmkf_finish(struct nmkf *k, char **data, size_t *len);

/* 1 when text has no control characters other than tab, newline and CR, and no NUL. */
int nm_text_ok(const char *s, size_t len);
/* The connection name: 1 to NM_NAME_MAX bytes, no NUL. */
int nm_name_ok(const char *s, size_t len);
/* NM_PROFILE_DIR "/ward-<name>.nmconnection" with the name reduced to A-Z a-z 0-9 . _ -
 * (others become _, at most 64) and, when that changed it, "-" + 8 hex digits of its
 * SHA-256 so that two names never share a file. */
void nm_profile_path(const char *name, size_t len, char *out, size_t outlen);
/* A UUID (RFC 9562 version 8) from the SHA-256 of the setting id: re-applies write the
 * same bytes. out: 37 bytes. */
void nm_uuid(const char *setting_id, char out[37]);
/* Name as shown in report texts: control characters as '?', at most 64 bytes. */
void nm_name_shown(const char *name, char *out, size_t outlen);

/* The profile of a setting: path, wanted content (NULL for absent), a short description. */
struct nm_profile {
    char path[512];
    char shown[80];
    int absent;
    char *content; /* new, NULL when absent or not built (restore) */
    size_t len;
};
void nm_profile_release(struct nm_profile *p);

/* The profile of a setting with a string `name` and an enum `state`; with_content builds
 * the wanted file with build (check, apply). Snapshot and restore need only the path: they
 * must work on a setting rebuilt from the journal, whose secrets are hashes. */
int nm_profile_get(const struct enf_setting *s, int with_content,
                   int (*build)(const struct enf_setting *s, char **data, size_t *len),
                   struct nm_profile *p);

/* Slots over a built profile. */
int nm_check(struct enf_ctx *ctx, const struct nm_profile *p, const char *what,
             struct enf_check *out);
int nm_apply(struct enf_ctx *ctx, const struct nm_profile *p);
int nm_snapshot(struct enf_ctx *ctx, const struct nm_profile *p, json_t **out);
int nm_restore(struct enf_ctx *ctx, const struct nm_profile *p, const json_t *snap);

/* The four slots of a profile kind (wifi, vpn) over nm_profile_get: check and apply build
 * the wanted file with build; snapshot and restore need only the path. what names the
 * profile's type in check's texts ("WireGuard", "Wi-Fi (wpa2-personal)"). */
typedef int (*nm_build_fn)(const struct enf_setting *s, char **data, size_t *len);
int nm_kind_check(struct enf_ctx *ctx, const struct enf_setting *s, nm_build_fn build,
                  const char *what, struct enf_check *out);
int nm_kind_apply(struct enf_ctx *ctx, const struct enf_setting *s, nm_build_fn build);
int nm_kind_snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out);
int nm_kind_restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap);
/* key=<the setting's string field>, when the setting has it. */
void nmkf_str_field(struct nmkf *k, const struct enf_setting *s, const char *field,
                    const char *key);

/* Keyfile text with every secret line left out (psk, passwords, keys, [vpn-secrets]):
 * what a snapshot may keep of a prior profile. *n_withheld counts the lines left out. */
int nm_redact(const char *data, size_t len, struct ward_buf *out, int *n_withheld);

#endif
