/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `wifi` kind: a NetworkManager Wi-Fi connection profile in keyfile form under
 * /etc/NetworkManager/system-connections/ (nmkeyfile.c does the file: its name derived
 * from the connection name, never the name itself; 0600 root; byte-identical re-applies;
 * NetworkManager told over D-Bus when it runs). Security: open, WPA2/WPA3-Personal (PSK)
 * and WPA2/WPA3-Enterprise with EAP-TLS (certificate and key by path) or PEAP/TTLS. The
 * PSK and passwords are secret fields: never in a report, a log, a snapshot or the
 * journal. EAP-TLS takes its certificate and key by path or from a client_cert setting of
 * the same baseline (`client_cert`: its id), whose files the profile then names. Not
 * built: WPA3-Enterprise 192-bit mode.
 */
#define WARD_LOG_TAG "enf-wifi"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "nmkeyfile.h"
#include "ward/alloc.h"
#include "ward/error.h"

static const char *const states[] = {"present", "absent", NULL};
static const char *const securities[] = {
    "open", "wpa2-personal", "wpa3-personal", "wpa2-enterprise", "wpa3-enterprise", NULL};
static const char *const eaps[] = {"tls", "peap", "ttls", NULL};
static const char *const phase2s[] = {"mschapv2", "pap", NULL};

static const struct enf_field fields[] = {
    {.name = "name",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Connection name (NetworkManager's `connection.id`), 1 to 256 bytes. It is "
                    "kept inside the profile only; the file is "
                    "`ward-<name reduced to A-Z a-z 0-9 . _ ->[-<hash>].nmconnection`."},
    {.name = "ssid",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Network name, 1 to 32 bytes (UTF-8 as given)."},
    {.name = "security",
     .type = ENF_F_ENUM,
     .required = 1,
     .allowed = securities,
     .description = "`open`; `wpa2-personal` / `wpa3-personal` (SAE) with `psk`; "
                    "`wpa2-enterprise` / `wpa3-enterprise` (802.1X, management frame protection "
                    "required) with `eap`."},
    {.name = "psk",
     .type = ENF_F_SECRET,
     .description = "Personal: the passphrase, 8 to 63 printable ASCII characters, or 64 hex "
                    "digits."},
    {.name = "eap",
     .type = ENF_F_ENUM,
     .allowed = eaps,
     .description = "Enterprise: `tls` (needs `client_cert`, or `client_cert_path` and "
                    "`private_key_path`), or "
                    "`peap` / `ttls` (need `identity` and `password`). All need `ca_cert_path`."},
    {.name = "identity",
     .type = ENF_F_STRING,
     .description = "Enterprise: the identity (user name); required for `peap` and `ttls`."},
    {.name = "password", .type = ENF_F_SECRET, .description = "`peap` / `ttls`: the password."},
    {.name = "phase2",
     .type = ENF_F_ENUM,
     .allowed = phase2s,
     .def = "mschapv2",
     .description = "`peap` / `ttls`: the inner authentication."},
    {.name = "ca_cert_path",
     .type = ENF_F_PATH,
     .description = "Enterprise: CA certificate that the RADIUS server's certificate must chain "
                    "to (required: without it any server would be believed)."},
    {.name = "domain_suffix_match",
     .type = ENF_F_STRING,
     .description = "Enterprise: the server certificate's name must end with this."},
    {.name = "client_cert_path",
     .type = ENF_F_PATH,
     .description = "`tls`: the client certificate (PEM or DER file)."},
    {.name = "private_key_path",
     .type = ENF_F_PATH,
     .description = "`tls`: the client's private key file."},
    {.name = "private_key_password",
     .type = ENF_F_SECRET,
     .description = "`tls`: the password of an encrypted private key."},
    {.name = "client_cert",
     .type = ENF_F_STRING,
     .description = "`tls`: the id of a `client_cert` setting of the same baseline; the "
                    "profile names its `cert.pem` and `key.pem` (instead of "
                    "`client_cert_path` and `private_key_path`)."},
    {.name = "hidden",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "The network does not broadcast its SSID (probe for it)."},
    {.name = "autoconnect",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "NetworkManager connects on its own when the network is in range."},
    {.name = "priority",
     .type = ENF_F_INT,
     .min = -999,
     .max = 999,
     .description = "`connection.autoconnect-priority`: higher is preferred."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`absent` removes Ward's profile file."},
    {.name = NULL},
};

static int is_personal(const char *sec)
{
    return strcmp(sec, "wpa2-personal") == 0 || strcmp(sec, "wpa3-personal") == 0;
}

static int is_enterprise(const char *sec)
{
    return strcmp(sec, "wpa2-enterprise") == 0 || strcmp(sec, "wpa3-enterprise") == 0;
}

static int psk_ok(const char *p, size_t n)
{
    int hex = n == 64;
    if (n < 8 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c < 0x20 || c > 0x7e)
            return 0;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            hex = 0;
    }
    return n <= 63 || hex;
}

/* Which fields belong to which security / EAP method (the rest are refused). */
static int field_allowed(const char *f, const char *sec, const char *eap)
{
    static const char *const personal[] = {"psk", NULL};
    static const char *const ent[] = {"eap", "identity", "ca_cert_path", "domain_suffix_match",
                                      NULL};
    static const char *const tls[] = {"client_cert_path", "private_key_path",
                                      "private_key_password", "client_cert", NULL};
    static const char *const inner[] = {"password", "phase2", NULL};
    const char *const *sets[] = {personal, ent, tls, inner};
    int in[4] = {is_personal(sec), is_enterprise(sec),
                 is_enterprise(sec) && eap && !strcmp(eap, "tls"),
                 is_enterprise(sec) && eap && strcmp(eap, "tls") != 0};
    for (int i = 0; i < 4; i++)
        for (const char *const *x = sets[i]; *x; x++)
            if (strcmp(*x, f) == 0)
                return in[i];
    return 1;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *sec = enf_str(s, "security", "open"), *eap = enf_str(s, "eap", NULL);
    const json_t *v;
    const char *key;
    char p[WARD_JSON_PATH_MAX];
    int n = 0;
    const json_t *nm = json_object_get(s->params, "name"), *ss = json_object_get(s->params, "ssid");

    if (!nm_name_ok(json_string_value(nm), json_string_length(nm))) {
        enf_diag_path(d, "name", p, sizeof(p));
        enf_diag(d, p, "must be 1 to %d bytes without NUL", NM_NAME_MAX);
        n++;
    }
    if (json_string_length(ss) < 1 || json_string_length(ss) > 32 ||
        strlen(json_string_value(ss)) != json_string_length(ss)) {
        enf_diag_path(d, "ssid", p, sizeof(p));
        enf_diag(d, p, "is %zu bytes; an SSID is 1 to 32 bytes (no NUL)", json_string_length(ss));
        n++;
    }
    json_object_foreach((json_t *)(uintptr_t)s->params, key, v)
    {
        if (!field_allowed(key, sec, eap)) {
            enf_diag_path(d, key, p, sizeof(p));
            enf_diag(d, p, "does not apply to security \"%s\"%s%s", sec, eap ? " with eap " : "",
                     eap ? eap : "");
            n++;
        } else if (json_is_string(v) && !nm_text_ok(json_string_value(v), json_string_length(v)) &&
                   strcmp(key, "name") != 0 && strcmp(key, "ssid") != 0) {
            /* never quoted: it may be a secret */
            enf_diag_path(d, key, p, sizeof(p));
            enf_diag(d, p, "must not contain control characters other than tab and newline");
            n++;
        }
    }
    if (is_personal(sec) && !s->redacted) {
        size_t len = 0;
        const char *psk = enf_secret(s, "psk", &len);
        enf_diag_path(d, "psk", p, sizeof(p));
        if (!psk) {
            enf_diag(d, p, "required with security \"%s\"", sec);
            n++;
        } else if (!psk_ok(psk, len)) {
            enf_diag(d, p,
                     "must be 8 to 63 printable ASCII characters or 64 hex digits (%zu given; "
                     "the value is not shown)",
                     len);
            n++;
        }
    }
    if (is_enterprise(sec)) {
        const char *need[4] = {"ca_cert_path", NULL, NULL, NULL};
        if (!eap) {
            enf_diag_path(d, "eap", p, sizeof(p));
            enf_diag(d, p, "required with security \"%s\"", sec);
            return n + 1;
        }
        if (json_object_get(s->params, "client_cert")) {
            n += enf_client_cert_not_paths(s, d);
        } else if (strcmp(eap, "tls") == 0) {
            need[1] = "client_cert_path";
            need[2] = "private_key_path";
        }
        if (strcmp(eap, "tls") != 0) {
            need[1] = "identity";
            need[2] = s->redacted ? NULL : "password";
        }
        for (int i = 0; i < 4 && need[i]; i++) {
            if (!json_object_get(s->params, need[i])) {
                enf_diag_path(d, need[i], p, sizeof(p));
                enf_diag(d, p, "required with eap \"%s\"", eap);
                n++;
            }
        }
    }
    return n;
}

/* ---- the profile ------------------------------------------------------------------------ */

static void secret_field(struct nmkf *k, const struct enf_setting *s, const char *field,
                         const char *key)
{
    size_t len;
    const char *v = enf_secret(s, field, &len);
    if (v)
        nmkf_str(k, key, v, len);
}

/* The keyfile, keys in the order NetworkManager writes them. */
static int build(const struct enf_setting *s, char **data, size_t *len)
{
    const json_t *nm = json_object_get(s->params, "name"), *ss = json_object_get(s->params, "ssid");
    const char *sec = enf_str(s, "security", "open"), *eap = enf_str(s, "eap", NULL);
    const char *ccid = enf_str(s, "client_cert", NULL);
    char uuid[37], cc_cert[PLAT_FS_MAX_PATH] = "", cc_key[PLAT_FS_MAX_PATH] = "";
    struct nmkf k;
    int rc;

    if (ccid && (rc = enf_client_cert_ref_paths(s, cc_cert, cc_key, sizeof(cc_cert))) != 0)
        return rc;
    nm_uuid(s->id, uuid);
    nmkf_init(&k);
    nmkf_group(&k, "connection");
    nmkf_str(&k, "id", json_string_value(nm), json_string_length(nm));
    nmkf_raw(&k, "uuid", uuid);
    nmkf_raw(&k, "type", "wifi");
    if (!enf_bool(s, "autoconnect", 1))
        nmkf_raw(&k, "autoconnect", "false");
    if (json_object_get(s->params, "priority") && enf_int(s, "priority", 0) != 0)
        nmkf_int(&k, "autoconnect-priority", enf_int(s, "priority", 0));

    nmkf_group(&k, "wifi");
    if (enf_bool(s, "hidden", 0))
        nmkf_raw(&k, "hidden", "true");
    nmkf_raw(&k, "mode", "infrastructure");
    nmkf_ssid(&k, json_string_value(ss), json_string_length(ss));

    if (strcmp(sec, "open") != 0) {
        nmkf_group(&k, "wifi-security");
        nmkf_raw(&k, "key-mgmt",
                 is_enterprise(sec)                  ? "wpa-eap"
                 : strcmp(sec, "wpa3-personal") == 0 ? "sae"
                                                     : "wpa-psk");
        if (strcmp(sec, "wpa3-enterprise") == 0)
            nmkf_raw(&k, "pmf", "3");
        secret_field(&k, s, "psk", "psk");
    }
    if (is_enterprise(sec) && eap) {
        int tls = strcmp(eap, "tls") == 0;
        nmkf_group(&k, "802-1x");
        nmkf_str_field(&k, s, "ca_cert_path", "ca-cert");
        if (tls && cc_cert[0])
            nmkf_str(&k, "client-cert", cc_cert, strlen(cc_cert));
        else if (tls)
            nmkf_str_field(&k, s, "client_cert_path", "client-cert");
        nmkf_str_field(&k, s, "domain_suffix_match", "domain-suffix-match");
        nmkf_raw(&k, "eap", tls ? "tls;" : strcmp(eap, "peap") == 0 ? "peap;" : "ttls;");
        nmkf_str_field(&k, s, "identity", "identity");
        if (!tls) {
            secret_field(&k, s, "password", "password");
            nmkf_raw(&k, "phase2-auth", enf_str(s, "phase2", "mschapv2"));
        } else {
            if (cc_key[0])
                nmkf_str(&k, "private-key", cc_key, strlen(cc_key));
            else
                nmkf_str_field(&k, s, "private_key_path", "private-key");
            secret_field(&k, s, "private_key_password", "private-key-password");
        }
    }
    nmkf_group(&k, "ipv4");
    nmkf_raw(&k, "method", "auto");
    nmkf_group(&k, "ipv6");
    nmkf_raw(&k, "addr-gen-mode", "default");
    nmkf_raw(&k, "method", "auto");
    nmkf_group(&k, "proxy");
    rc = nmkf_finish(&k, data, len);
    nmkf_release(&k);
    return rc;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    const char *sec = enf_str(s, "security", "open"), *eap = enf_str(s, "eap", NULL);
    char what[96];
    snprintf(what, sizeof(what), "Wi-Fi (%s%s%s)", sec, eap ? ", eap " : "", eap ? eap : "");
    return nm_kind_check(ctx, s, build, what, out);
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    return nm_kind_apply(ctx, s, build);
}

const struct enf_kind enf_kind_wifi = {
    .name = "wifi",
    .summary = "A NetworkManager Wi-Fi profile (keyfile, 0600 root): open, WPA2/WPA3-Personal, "
               "WPA2/WPA3-Enterprise with EAP-TLS, PEAP or TTLS.",
    .fields = fields,
    .validate = validate,
    .refs = enf_client_cert_refs,
    .check = check,
    .apply = apply,
    .snapshot = nm_kind_snapshot,
    .restore = nm_kind_restore,
    .retire_restores = 1, /* selective_wipe removes it whatever restore_on_removal says */
};
