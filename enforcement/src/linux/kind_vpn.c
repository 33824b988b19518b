/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `vpn` kind: a NetworkManager VPN profile in keyfile form, with the same file rules
 * as wifi (nmkeyfile.c: derived file name, 0600 root, byte-identical re-applies,
 * NetworkManager told over D-Bus when it runs). `wireguard` is NetworkManager's native
 * type (private key, addresses, listen port, peers with their own groups); `openvpn` is the
 * NetworkManager-openvpn plugin's form ([vpn] data items and service-type, passwords in
 * [vpn-secrets]); the plugin itself must be installed for NetworkManager to connect.
 * Private keys, pre-shared keys and passwords are secret fields. Every value that ends up
 * in a group name or a list (public keys, addresses, allowed IPs, endpoints) is checked
 * strictly, so none can carry ']' or ';' or a line break.
 */
#define WARD_LOG_TAG "enf-vpn"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "nmkeyfile.h"
#include "ward/alloc.h"
#include "ward/error.h"

static const char *const states[] = {"present", "absent", NULL};
static const char *const types[] = {"wireguard", "openvpn", NULL};
static const char *const ctypes[] = {"tls", "password", "password-tls", "static-key", NULL};

static const struct enf_field peer_fields[] = {
    {.name = "public_key",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "The peer's public key (base64, 44 characters)."},
    {.name = "endpoint", .type = ENF_F_STRING, .description = "`host:port` or `[IPv6]:port`."},
    {.name = "allowed_ips",
     .type = ENF_F_STRINGS,
     .required = 1,
     .description = "Networks routed to the peer (`10.0.0.0/24`, `::/0`)."},
    {.name = "preshared_key",
     .type = ENF_F_SECRET,
     .description = "Optional pre-shared key (base64, 44 characters)."},
    {.name = "persistent_keepalive",
     .type = ENF_F_INT,
     .min = 0,
     .max = 65535,
     .description = "Seconds between keepalive packets (0: off)."},
    {.name = NULL},
};

static const struct enf_field fields[] = {
    {.name = "name",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Connection name (`connection.id`), 1 to 256 bytes; the file name is derived "
                    "from it as for `wifi`."},
    {.name = "type",
     .type = ENF_F_ENUM,
     .required = 1,
     .allowed = types,
     .description = "`wireguard` (NetworkManager's own type) or `openvpn` (the "
                    "NetworkManager-openvpn plugin's profile)."},
    {.name = "private_key",
     .type = ENF_F_SECRET,
     .description = "`wireguard`: this device's private key (base64, 44 characters); required."},
    {.name = "interface",
     .type = ENF_F_STRING,
     .def = "wg0",
     .description = "`wireguard`: interface name, 1 to 15 of `A-Z a-z 0-9 _ . -`."},
    {.name = "addresses",
     .type = ENF_F_STRINGS,
     .description = "`wireguard`: this device's addresses with prefix (`10.0.0.2/24`, "
                    "`fd00::2/64`); without any, IPv4 and IPv6 are disabled on the interface."},
    {.name = "listen_port",
     .type = ENF_F_INT,
     .min = 1,
     .max = 65535,
     .description = "`wireguard`: UDP port to listen on (default: chosen at random)."},
    {.name = "peers",
     .type = ENF_F_OBJECTS,
     .members = peer_fields,
     .description = "`wireguard`: the peers, at least one, each public key once."},
    {.name = "remote",
     .type = ENF_F_STRING,
     .description = "`openvpn`: the server(s), `host[:port][:proto]`, comma-separated; required."},
    {.name = "connection_type",
     .type = ENF_F_ENUM,
     .allowed = ctypes,
     .def = "tls",
     .description = "`openvpn`: `tls` (certificates), `password`, `password-tls` (both) or "
                    "`static-key`."},
    {.name = "ca_cert_path",
     .type = ENF_F_PATH,
     .description = "`openvpn`: CA certificate of the server (all but `static-key`)."},
    {.name = "client_cert_path",
     .type = ENF_F_PATH,
     .description = "`openvpn`: client certificate (`tls`, `password-tls`)."},
    {.name = "private_key_path",
     .type = ENF_F_PATH,
     .description = "`openvpn`: client private key (`tls`, `password-tls`)."},
    {.name = "private_key_password",
     .type = ENF_F_SECRET,
     .description = "`openvpn`: password of an encrypted private key."},
    {.name = "client_cert",
     .type = ENF_F_STRING,
     .description = "`openvpn` (`tls`, `password-tls`): the id of a `client_cert` setting of "
                    "the same baseline, whose `cert.pem` and `key.pem` the profile names "
                    "(instead of `client_cert_path` and `private_key_path`)."},
    {.name = "username",
     .type = ENF_F_STRING,
     .description = "`openvpn`: user name (`password`, `password-tls`)."},
    {.name = "password",
     .type = ENF_F_SECRET,
     .description = "`openvpn`: the password (`password`, `password-tls`), stored in the "
                    "profile's [vpn-secrets]."},
    {.name = "static_key_path",
     .type = ENF_F_PATH,
     .description = "`openvpn`: the shared key file (`static-key`)."},
    {.name = "local_ip",
     .type = ENF_F_STRING,
     .description = "`openvpn` `static-key`: this end's tunnel address."},
    {.name = "remote_ip",
     .type = ENF_F_STRING,
     .description = "`openvpn` `static-key`: the other end's tunnel address."},
    {.name = "autoconnect",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "`connection.autoconnect`."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`absent` removes Ward's profile file."},
    {.name = NULL},
};

/* ---- validation ------------------------------------------------------------------------- */

/* A WireGuard key: 32 bytes in base64, 43 characters and '='. */
static int wg_key_ok(const char *k, size_t n)
{
    if (!k || n != 44 || k[43] != '=')
        return 0;
    for (size_t i = 0; i < 43; i++) {
        char c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

/* "addr/prefix" (IPv4 or IPv6); need_prefix: the prefix is required. */
static int cidr_ok(const char *s, int need_prefix)
{
    char buf[64];
    unsigned char a[16];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    int v6, max;
    if (n == 0 || n >= sizeof(buf) || (need_prefix && !slash))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    v6 = strchr(buf, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, a) != 1)
        return 0;
    max = v6 ? 128 : 32;
    if (slash) {
        char *end;
        long p;
        if (!slash[1] || slash[1] < '0' || slash[1] > '9')
            return 0;
        p = strtol(slash + 1, &end, 10);
        if (*end || p < 0 || p > max)
            return 0;
    }
    return 1;
}

static int ip_ok(const char *s)
{
    return !strchr(s, '/') && cidr_ok(s, 0);
}

/* host:port or [v6]:port; host of letters, digits, '.', '-', or an IPv4 address. */
static int endpoint_ok(const char *s)
{
    const char *colon;
    char host[256];
    size_t n;
    long port;
    char *end;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return 0;
        n = (size_t)(close - s - 1);
        if (n == 0 || n >= sizeof(host))
            return 0;
        memcpy(host, s + 1, n);
        host[n] = '\0';
        if (!strchr(host, ':') || !ip_ok(host))
            return 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
            return 0;
        for (const char *p = s; p < colon; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
                return 0;
    }
    if (!colon[1] || colon[1] < '0' || colon[1] > '9')
        return 0;
    port = strtol(colon + 1, &end, 10);
    return !*end && port >= 1 && port <= 65535;
}

static int ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

static int is_wg(const struct enf_setting *s)
{
    return strcmp(enf_str(s, "type", ""), "wireguard") == 0;
}

static int field_allowed(const char *f, int wg, const char *ct)
{
    static const char *const wgf[] = {"private_key", "interface", "addresses",
                                      "listen_port", "peers",     NULL};
    static const char *const ov[] = {"remote",
                                     "connection_type",
                                     "ca_cert_path",
                                     "client_cert_path",
                                     "private_key_path",
                                     "private_key_password",
                                     "username",
                                     "password",
                                     "static_key_path",
                                     "local_ip",
                                     "remote_ip",
                                     "client_cert",
                                     NULL};
    int tls = !strcmp(ct, "tls") || !strcmp(ct, "password-tls");
    int pw = !strcmp(ct, "password") || !strcmp(ct, "password-tls");
    int sk = !strcmp(ct, "static-key");
    for (const char *const *x = wgf; *x; x++)
        if (!strcmp(*x, f))
            return wg;
    for (const char *const *x = ov; *x; x++) {
        if (strcmp(*x, f) != 0)
            continue;
        if (wg)
            return 0;
        if (!strcmp(f, "client_cert_path") || !strcmp(f, "private_key_path") ||
            !strcmp(f, "private_key_password") || !strcmp(f, "client_cert"))
            return tls;
        if (!strcmp(f, "username") || !strcmp(f, "password"))
            return pw;
        if (!strcmp(f, "ca_cert_path"))
            return !sk;
        if (!strcmp(f, "static_key_path") || !strcmp(f, "local_ip") || !strcmp(f, "remote_ip"))
            return sk;
        return 1;
    }
    return 1;
}

static int need(const struct enf_setting *s, struct enf_diags *d, const char *f, const char *why)
{
    char p[WARD_JSON_PATH_MAX];
    if (json_object_get(s->params, f))
        return 0;
    enf_diag_path(d, f, p, sizeof(p));
    enf_diag(d, p, "required with %s", why);
    return 1;
}

static int validate_wg(const struct enf_setting *s, struct enf_diags *d)
{
    const json_t *peers = json_object_get(s->params, "peers"), *pe, *a, *e;
    char p[WARD_JSON_PATH_MAX], q[WARD_JSON_PATH_MAX];
    size_t i, j, klen;
    const char *key;
    int n = 0;

    if (!s->redacted) {
        key = enf_secret(s, "private_key", &klen);
        enf_diag_path(d, "private_key", p, sizeof(p));
        if (!key) {
            enf_diag(d, p, "required with type wireguard");
            n++;
        } else if (!wg_key_ok(key, klen)) {
            enf_diag(d, p, "must be a WireGuard key: 44 characters of base64 (not shown)");
            n++;
        }
    }
    if (!ifname_ok(enf_str(s, "interface", "wg0"))) {
        enf_diag_path(d, "interface", p, sizeof(p));
        enf_diag(d, p, "must be 1 to 15 of A-Z a-z 0-9 _ . -");
        n++;
    }
    a = json_object_get(s->params, "addresses");
    json_array_foreach(a, i, e)
    {
        if (!cidr_ok(json_string_value(e), 1)) {
            enf_diag_path(d, "addresses", p, sizeof(p));
            ward_json_path_index(q, sizeof(q), p, i);
            enf_diag(d, q, "\"%.64s\" is not an address with prefix (10.0.0.2/24, fd00::2/64)",
                     json_string_value(e));
            n++;
        }
    }
    enf_diag_path(d, "peers", p, sizeof(p));
    if (json_array_size(peers) == 0) {
        enf_diag(d, p, "type wireguard needs at least one peer");
        return n + 1;
    }
    json_array_foreach(peers, i, pe)
    {
        const json_t *pk = json_object_get(pe, "public_key");
        char pp[WARD_JSON_PATH_MAX], mp[WARD_JSON_PATH_MAX];
        ward_json_path_index(pp, sizeof(pp), p, i);
        if (!wg_key_ok(json_string_value(pk), json_string_length(pk))) {
            ward_json_path_key(mp, sizeof(mp), pp, "public_key");
            enf_diag(d, mp, "must be a WireGuard key: 44 characters of base64");
            n++;
        } else {
            for (j = 0; j < i; j++)
                if (json_equal(json_object_get(json_array_get(peers, j), "public_key"), pk)) {
                    ward_json_path_key(mp, sizeof(mp), pp, "public_key");
                    enf_diag(d, mp, "same as peers[%zu]'s", j);
                    n++;
                    break;
                }
        }
        if (json_is_string(json_object_get(pe, "endpoint")) &&
            !endpoint_ok(json_string_value(json_object_get(pe, "endpoint")))) {
            ward_json_path_key(mp, sizeof(mp), pp, "endpoint");
            enf_diag(d, mp, "must be host:port or [IPv6]:port");
            n++;
        }
        if (!s->redacted && json_is_string(json_object_get(pe, "preshared_key")) &&
            !wg_key_ok(json_string_value(json_object_get(pe, "preshared_key")),
                       json_string_length(json_object_get(pe, "preshared_key")))) {
            ward_json_path_key(mp, sizeof(mp), pp, "preshared_key");
            enf_diag(d, mp, "must be a WireGuard key: 44 characters of base64 (not shown)");
            n++;
        }
        a = json_object_get(pe, "allowed_ips");
        json_array_foreach(a, j, e)
        {
            if (!cidr_ok(json_string_value(e), 0)) {
                ward_json_path_key(mp, sizeof(mp), pp, "allowed_ips");
                ward_json_path_index(q, sizeof(q), mp, j);
                enf_diag(d, q, "\"%.64s\" is not an address or network", json_string_value(e));
                n++;
            }
        }
    }
    return n;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const json_t *nm = json_object_get(s->params, "name"), *v;
    const char *ct = enf_str(s, "connection_type", "tls"), *key;
    char p[WARD_JSON_PATH_MAX];
    int wg = is_wg(s), n = 0;

    if (!nm_name_ok(json_string_value(nm), json_string_length(nm))) {
        enf_diag_path(d, "name", p, sizeof(p));
        enf_diag(d, p, "must be 1 to %d bytes without NUL", NM_NAME_MAX);
        n++;
    }
    json_object_foreach((json_t *)(uintptr_t)s->params, key, v)
    {
        if (!field_allowed(key, wg, ct)) {
            enf_diag_path(d, key, p, sizeof(p));
            enf_diag(d, p, "does not apply to type \"%s\"%s%s", wg ? "wireguard" : "openvpn",
                     wg ? "" : " with connection_type ", wg ? "" : ct);
            n++;
        } else if (json_is_string(v) && strcmp(key, "name") != 0 &&
                   !nm_text_ok(json_string_value(v), json_string_length(v))) {
            enf_diag_path(d, key, p, sizeof(p));
            enf_diag(d, p, "must not contain control characters other than tab and newline");
            n++;
        }
    }
    if (n)
        return n;
    if (wg)
        return validate_wg(s, d);
    n += need(s, d, "remote", "type openvpn");
    if (strcmp(ct, "static-key") == 0) {
        n += need(s, d, "static_key_path", "connection_type static-key");
        n += need(s, d, "local_ip", "connection_type static-key");
        n += need(s, d, "remote_ip", "connection_type static-key");
        for (int i = 0; i < 2; i++) {
            const char *f = i ? "remote_ip" : "local_ip";
            const char *ip = enf_str(s, f, NULL);
            if (ip && !ip_ok(ip)) {
                enf_diag_path(d, f, p, sizeof(p));
                enf_diag(d, p, "\"%.64s\" is not an IP address", ip);
                n++;
            }
        }
        return n;
    }
    n += need(s, d, "ca_cert_path", "type openvpn");
    if (strcmp(ct, "password") != 0 && json_object_get(s->params, "client_cert")) {
        n += enf_client_cert_not_paths(s, d);
    } else if (strcmp(ct, "password") != 0) {
        n += need(s, d, "client_cert_path", "connection_type with tls");
        n += need(s, d, "private_key_path", "connection_type with tls");
    }
    if (strcmp(ct, "tls") != 0) {
        n += need(s, d, "username", "a password connection_type");
        if (!s->redacted)
            n += need(s, d, "password", "a password connection_type");
    }
    return n;
}

/* ---- the profile ------------------------------------------------------------------------ */

/* "a;b;c;" of validated items (no ';' in them). */
static void list_field(struct nmkf *k, const char *key, const json_t *a)
{
    struct ward_buf b;
    const json_t *e;
    size_t i;
    ward_buf_init(&b, 65536);
    json_array_foreach(a, i, e)
    {
        ward_buf_append_str(&b, json_string_value(e));
        ward_buf_append_str(&b, ";");
    }
    nmkf_raw(k, key, b.data ? b.data : "");
    ward_buf_release(&b);
}

static void wg_body(struct nmkf *k, const struct enf_setting *s)
{
    const json_t *peers = json_object_get(s->params, "peers"), *pe, *a, *e;
    size_t i, len, n4 = 0, n6 = 0;
    const char *key = enf_secret(s, "private_key", &len);

    nmkf_group(k, "wireguard");
    if (json_object_get(s->params, "listen_port"))
        nmkf_int(k, "listen-port", enf_int(s, "listen_port", 0));
    if (key)
        nmkf_str(k, "private-key", key, len);
    json_array_foreach(peers, i, pe)
    {
        const json_t *ps = json_object_get(pe, "preshared_key");
        char group[128];
        snprintf(group, sizeof(group), "wireguard-peer.%s",
                 json_string_value(json_object_get(pe, "public_key")));
        nmkf_group(k, group);
        nmkf_str_field(k, (const struct enf_setting *)&(struct enf_setting){.params = pe},
                       "endpoint", "endpoint");
        if (json_is_string(ps)) {
            nmkf_str(k, "preshared-key", json_string_value(ps), json_string_length(ps));
            nmkf_raw(k, "preshared-key-flags", "0");
        }
        if (json_integer_value(json_object_get(pe, "persistent_keepalive")) > 0)
            nmkf_int(k, "persistent-keepalive",
                     json_integer_value(json_object_get(pe, "persistent_keepalive")));
        list_field(k, "allowed-ips", json_object_get(pe, "allowed_ips"));
    }
    a = json_object_get(s->params, "addresses");
    nmkf_group(k, "ipv4");
    json_array_foreach(a, i, e)
    {
        if (!strchr(json_string_value(e), ':')) {
            char kk[32];
            snprintf(kk, sizeof(kk), "address%zu", ++n4);
            nmkf_raw(k, kk, json_string_value(e));
        }
    }
    nmkf_raw(k, "method", n4 ? "manual" : "disabled");
    nmkf_group(k, "ipv6");
    nmkf_raw(k, "addr-gen-mode", "default");
    json_array_foreach(a, i, e)
    {
        if (strchr(json_string_value(e), ':')) {
            char kk[32];
            snprintf(kk, sizeof(kk), "address%zu", ++n6);
            nmkf_raw(k, kk, json_string_value(e));
        }
    }
    nmkf_raw(k, "method", n6 ? "manual" : "disabled");
}

static void ovpn_body(struct nmkf *k, const struct enf_setting *s, const char *cc_cert,
                      const char *cc_key)
{
    const char *ct = enf_str(s, "connection_type", "tls");
    int pw = !strcmp(ct, "password") || !strcmp(ct, "password-tls");
    size_t len;
    const char *cp = enf_secret(s, "private_key_password", &len), *pwv;

    /* data items sorted by name, then service-type: NetworkManager's order */
    nmkf_group(k, "vpn");
    nmkf_str_field(k, s, "ca_cert_path", "ca");
    if (cc_cert[0])
        nmkf_str(k, "cert", cc_cert, strlen(cc_cert));
    else
        nmkf_str_field(k, s, "client_cert_path", "cert");
    if (json_object_get(s->params, "private_key_password"))
        nmkf_raw(k, "cert-pass-flags", "0");
    nmkf_raw(k, "connection-type", ct);
    if (cc_key[0])
        nmkf_str(k, "key", cc_key, strlen(cc_key));
    else
        nmkf_str_field(k, s, "private_key_path", "key");
    nmkf_str_field(k, s, "local_ip", "local-ip");
    if (pw)
        nmkf_raw(k, "password-flags", "0");
    nmkf_str_field(k, s, "remote", "remote");
    nmkf_str_field(k, s, "remote_ip", "remote-ip");
    nmkf_str_field(k, s, "static_key_path", "static-key");
    nmkf_str_field(k, s, "username", "username");
    nmkf_raw(k, "service-type", "org.freedesktop.NetworkManager.openvpn");
    pwv = enf_secret(s, "password", NULL);
    if (cp || pwv) {
        nmkf_group(k, "vpn-secrets");
        if (cp)
            nmkf_str(k, "cert-pass", cp, len);
        if (pwv)
            nmkf_str(k, "password", pwv, strlen(pwv));
    }
    nmkf_group(k, "ipv4");
    nmkf_raw(k, "method", "auto");
    nmkf_group(k, "ipv6");
    nmkf_raw(k, "addr-gen-mode", "default");
    nmkf_raw(k, "method", "auto");
}

static int build(const struct enf_setting *s, char **data, size_t *len)
{
    const json_t *nm = json_object_get(s->params, "name");
    char uuid[37], cc_cert[PLAT_FS_MAX_PATH] = "", cc_key[PLAT_FS_MAX_PATH] = "";
    struct nmkf k;
    int rc, wg = is_wg(s);

    if (!wg && json_object_get(s->params, "client_cert") &&
        (rc = enf_client_cert_ref_paths(s, cc_cert, cc_key, sizeof(cc_cert))) != 0)
        return rc;
    nm_uuid(s->id, uuid);
    nmkf_init(&k);
    nmkf_group(&k, "connection");
    nmkf_str(&k, "id", json_string_value(nm), json_string_length(nm));
    nmkf_raw(&k, "uuid", uuid);
    nmkf_raw(&k, "type", wg ? "wireguard" : "vpn");
    if (!enf_bool(s, "autoconnect", 1))
        nmkf_raw(&k, "autoconnect", "false");
    if (wg)
        nmkf_raw(&k, "interface-name", enf_str(s, "interface", "wg0"));
    if (wg)
        wg_body(&k, s);
    else
        ovpn_body(&k, s, cc_cert, cc_key);
    nmkf_group(&k, "proxy");
    rc = nmkf_finish(&k, data, len);
    nmkf_release(&k);
    return rc;
}

/* ---- slots ------------------------------------------------------------------------------- */

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    return nm_kind_check(ctx, s, build, is_wg(s) ? "WireGuard" : "OpenVPN", out);
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    return nm_kind_apply(ctx, s, build);
}

const struct enf_kind enf_kind_vpn = {
    .name = "vpn",
    .summary = "A NetworkManager VPN profile (keyfile, 0600 root): WireGuard, or OpenVPN through "
               "the NetworkManager-openvpn plugin.",
    .fields = fields,
    .validate = validate,
    .refs = enf_client_cert_refs,
    .check = check,
    .apply = apply,
    .snapshot = nm_kind_snapshot,
    .restore = nm_kind_restore,
    .retire_restores = 1, /* selective_wipe removes it whatever restore_on_removal says */
};
