/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inventory's file parsers. Each takes (buf, len) (no NUL needed), never reads past
 * len, caps line lengths and row counts, and reports rows through a callback or fills a
 * fixed struct, so unit tests and libFuzzer targets drive them directly. Strings handed to
 * callbacks are counted spans into buf (inv_span) or fixed arrays; nothing is allocated.
 *
 * Malformed input never stops a parser early unless a cap is hit: bad records are skipped
 * and counted in `bad`, good ones are still reported. Return values: 0; WARD_ETOOBIG when
 * a row cap was reached (rows up to the cap were reported); or a callback's nonzero value,
 * which stops the parse.
 */
#ifndef INVENTORY_PARSE_H
#define INVENTORY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define INV_LINE_MAX (64 * 1024) /* longer lines make their record malformed */

struct inv_span {
    const char *p;
    size_t n;
};

struct inv_parse_stats {
    size_t rows; /* reported */
    size_t bad;  /* skipped as malformed */
};

/* ---- dpkg status (deb822 stanzas) ---- */
struct inv_dpkg_pkg {
    struct inv_span name, version, arch, source, status, state; /* state: 3rd Status word */
    long long installed_size_kib;                               /* -1 when absent */
};
/* Reports every stanza whose state is not "not-installed" (what `dpkg-query -W` lists).
 * A stanza without Package, Status or Architecture, with an invalid package name, or
 * with an over-long line is counted bad. */
typedef int (*inv_dpkg_cb)(const struct inv_dpkg_pkg *p, void *ctx);
int inv_dpkg_parse(const char *buf, size_t len, size_t max_rows, inv_dpkg_cb cb, void *ctx,
                   struct inv_parse_stats *st);

/* ---- /proc/cpuinfo ---- */
struct inv_cpuinfo {
    char vendor[64];
    char model[128];
    int family, model_id, stepping; /* -1 unknown */
    int threads;                    /* processor entries */
    int sockets, cores;             /* from physical id / core id; 0 unknown */
    int max_mhz;                    /* highest "cpu MHz" seen; 0 unknown */
    int vmx, svm, hypervisor;       /* flags */
};
int inv_cpuinfo_parse(const char *buf, size_t len, struct inv_cpuinfo *out);

/* ---- /proc/meminfo ---- */
struct inv_meminfo {
    long long total, available, swap_total, swap_free; /* bytes; -1 unknown */
};
int inv_meminfo_parse(const char *buf, size_t len, struct inv_meminfo *out);

/* ---- /proc/self/mountinfo ---- */
struct inv_mount {
    unsigned int major, minor;
    char mountpoint[1024]; /* octal escapes (\040) decoded */
    char fstype[64];
    char source[1024];
    int read_only;
};
typedef int (*inv_mount_cb)(const struct inv_mount *m, void *ctx);
int inv_mountinfo_parse(const char *buf, size_t len, size_t max_rows, inv_mount_cb cb, void *ctx,
                        struct inv_parse_stats *st);

/* ---- /proc/net/route, /proc/net/ipv6_route, /proc/net/if_inet6, /proc/net/fib_trie ---- */
struct inv_route4 {
    char iface[32];
    uint32_t dest, gateway, mask; /* network byte order, as the kernel prints them */
    unsigned int flags;
    long metric;
};
typedef int (*inv_route4_cb)(const struct inv_route4 *r, void *ctx);
int inv_route4_parse(const char *buf, size_t len, size_t max_rows, inv_route4_cb cb, void *ctx,
                     struct inv_parse_stats *st);

struct inv_route6 {
    uint8_t dest[16];
    unsigned int dest_plen;
    uint8_t next_hop[16];
    unsigned long metric;
    unsigned long flags;
    char iface[32];
};
typedef int (*inv_route6_cb)(const struct inv_route6 *r, void *ctx);
int inv_route6_parse(const char *buf, size_t len, size_t max_rows, inv_route6_cb cb, void *ctx,
                     struct inv_parse_stats *st);

struct inv_inet6 {
    uint8_t addr[16];
    unsigned int ifindex, plen, scope, flags;
    char iface[32];
};
typedef int (*inv_inet6_cb)(const struct inv_inet6 *a, void *ctx);
int inv_if_inet6_parse(const char *buf, size_t len, size_t max_rows, inv_inet6_cb cb, void *ctx,
                       struct inv_parse_stats *st);

/* Local IPv4 addresses ("/32 host LOCAL" leaves), host byte order, each reported once per
 * occurrence (the caller de-duplicates). */
typedef int (*inv_addr4_cb)(uint32_t addr, void *ctx);
int inv_fib_trie_parse(const char *buf, size_t len, size_t max_rows, inv_addr4_cb cb, void *ctx,
                       struct inv_parse_stats *st);

/* ---- /etc/resolv.conf: nameserver lines in order ---- */
typedef int (*inv_str_cb)(struct inv_span s, void *ctx);
int inv_resolv_parse(const char *buf, size_t len, size_t max_rows, inv_str_cb cb, void *ctx,
                     struct inv_parse_stats *st);

/* ---- /etc/login.defs: UID_MIN/UID_MAX (defaults 1000/60000 left in place) ---- */
int inv_login_defs_parse(const char *buf, size_t len, long *uid_min, long *uid_max);

/* ---- /etc/passwd and /etc/group ---- */
struct inv_passwd {
    struct inv_span name, gecos, home, shell;
    long long uid, gid;
};
typedef int (*inv_passwd_cb)(const struct inv_passwd *p, void *ctx);
int inv_passwd_parse(const char *buf, size_t len, size_t max_rows, inv_passwd_cb cb, void *ctx,
                     struct inv_parse_stats *st);
/* Group lines: name and the comma-separated member list. */
typedef int (*inv_group_cb)(struct inv_span name, struct inv_span members, void *ctx);
int inv_group_parse(const char *buf, size_t len, size_t max_rows, inv_group_cb cb, void *ctx,
                    struct inv_parse_stats *st);

/* ---- utmp (glibc struct utmp, 384-byte records, host byte order) ---- */
#define INV_UTMP_RECORD 384
#define INV_UTMP_USER_PROCESS 7
struct inv_utmp {
    int type;
    int32_t pid;
    char line[33];
    char user[33];
    char host[257];
    int64_t tv_sec;
};
typedef int (*inv_utmp_cb)(const struct inv_utmp *u, void *ctx);
/* Reports every record (callers pick USER_PROCESS); a trailing partial record is bad. */
int inv_utmp_parse(const char *buf, size_t len, size_t max_rows, inv_utmp_cb cb, void *ctx,
                   struct inv_parse_stats *st);

/* ---- KEY=VALUE files (uevent, os-release-like) and INI files (flatpak metadata) ---- */
/* Finds key in a KEY=VALUE file: value span with surrounding quotes removed (no escape
 * processing). 0, or WARD_ENOENT. */
int inv_kv_get(const char *buf, size_t len, const char *key, struct inv_span *out);
/* Finds key in [group] of an INI file. 0, or WARD_ENOENT. */
int inv_ini_get(const char *buf, size_t len, const char *group, const char *key,
                struct inv_span *out);

/* ---- snap meta/snap.yaml: top-level name, version and first architecture ---- */
struct inv_snap_yaml {
    struct inv_span name, version, arch;
};
int inv_snap_yaml_parse(const char *buf, size_t len, struct inv_snap_yaml *out);

/* ---- flatpak deploy data (GVariant): a string value of the metadata dict by key ---- */
int inv_gvariant_find_string(const char *buf, size_t len, const char *key, struct inv_span *out);

/* ---- TPM 1.2 caps: "Manufacturer: 0x49465800" and "TCG version: 1.2" ---- */
struct inv_tpm_caps {
    char manufacturer[16]; /* the vendor id's printable ASCII: "IFX" */
    char version[16];
};
int inv_tpm_caps_parse(const char *buf, size_t len, struct inv_tpm_caps *out);

/* Small helpers the collectors share. */
struct inv_span inv_trim(const char *p, size_t n);
/* Decimal integer (optional sign, surrounding blanks allowed). 0 or WARD_EPARSE. */
int inv_parse_ll(const char *p, size_t n, long long *out);
int inv_span_eq(struct inv_span s, const char *lit);

#endif
