/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux network collector: interfaces from /sys/class/net, addresses (getifaddrs(3) on
 * the live system, where it is one netlink round trip; under --root the /proc/net files
 * of the fixture: if_inet6 for IPv6, fib_trie's local /32 leaves matched against
 * /proc/net/route for IPv4), default gateways from /proc/net/route and ipv6_route, and DNS
 * servers from resolv.conf.
 */
#define WARD_LOG_TAG "inv-net"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../collector.h"
#include "inventory/parse.h"
#include "lxfs.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define NET_FILE_MAX (8u << 20)
#define NET_ROWS_MAX 65536
#define RTF_UP_ 0x1u
#define RTF_GATEWAY_ 0x2u
#define RTF_REJECT_ 0x200u

static const char *iface_kind(struct inv_ctx *ctx, const char *name)
{
    char uev[4096], link[1024];
    long long type = -1;
    struct inv_span dt = {NULL, 0};

    inv_lx_attr_ll(ctx, &type, "/sys/class/net/%s/type", name);
    if (type == 772)
        return "loopback";
    if (inv_lx_attr(ctx, uev, sizeof(uev), "/sys/class/net/%s/uevent", name) == 0)
        inv_kv_get(uev, strlen(uev), "DEVTYPE", &dt);
    if (inv_span_eq(dt, "wlan") || inv_lx_exists(ctx, "/sys/class/net/%s/wireless", name) ||
        inv_lx_exists(ctx, "/sys/class/net/%s/phy80211", name))
        return "wifi";
    if (inv_span_eq(dt, "bridge") || inv_lx_exists(ctx, "/sys/class/net/%s/bridge", name))
        return "bridge";
    if (inv_span_eq(dt, "bond") || inv_lx_exists(ctx, "/sys/class/net/%s/bonding", name))
        return "bond";
    if (inv_span_eq(dt, "vlan"))
        return "vlan";
    if (inv_lx_exists(ctx, "/sys/class/net/%s/tun_flags", name))
        return "tun";
    if (inv_lx_readlink(ctx, link, sizeof(link), "/sys/class/net/%s", name) == 0 &&
        strstr(link, "/virtual/"))
        return "virtual";
    if (type == 1)
        return "ethernet";
    return "other";
}

static int interface_row(struct inv_ctx *ctx, const char *name)
{
    json_t *row = inv_ctx_new_row(ctx, &inv_t_net_interfaces);
    char v[256], link[1024];
    long long x;
    int rc;
    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_str(row, "name", name);
    if (rc == 0)
        rc = inv_row_str(row, "kind", iface_kind(ctx, name));
    if (rc == 0 && inv_lx_attr(ctx, v, sizeof(v), "/sys/class/net/%s/address", name) == 0 && v[0])
        rc = inv_row_str(row, "mac", v);
    if (rc == 0 && inv_lx_attr_ll(ctx, &x, "/sys/class/net/%s/mtu", name) == 0)
        rc = inv_row_int(row, "mtu", x);
    if (rc == 0 && inv_lx_attr(ctx, v, sizeof(v), "/sys/class/net/%s/operstate", name) == 0 && v[0])
        rc = inv_row_str(row, "operstate", v);
    /* reading speed fails (EINVAL) on a link that is down: unknown */
    if (rc == 0 && inv_lx_attr_ll(ctx, &x, "/sys/class/net/%s/speed", name) == 0 && x > 0)
        rc = inv_row_int(row, "speed_mbps", x);
    if (rc == 0 &&
        inv_lx_readlink(ctx, link, sizeof(link), "/sys/class/net/%s/device/driver", name) == 0)
        rc = inv_row_str(row, "driver", inv_lx_basename(link));
    return rc;
}

/* ---- addresses ---- */

static int prefix_from_mask(const uint8_t *m, size_t n)
{
    int p = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = 7; b >= 0; b--) {
            if (!(m[i] >> b & 1))
                return p;
            p++;
        }
    return p;
}

static const char *scope4(const uint8_t a[4])
{
    if (a[0] == 127)
        return "host";
    if (a[0] == 169 && a[1] == 254)
        return "link";
    return "global";
}

static const char *scope6(const uint8_t a[16])
{
    static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (memcmp(a, loop, 16) == 0)
        return "host";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return "site";
    return "global";
}

static int address_row(struct inv_ctx *ctx, const char *iface, int family, const void *addr,
                       int plen)
{
    char text[INET6_ADDRSTRLEN];
    json_t *row;
    int rc;
    if (!inet_ntop(family, addr, text, sizeof(text)))
        return 0;
    row = inv_ctx_new_row(ctx, &inv_t_net_addresses);
    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_str(row, "interface", iface);
    if (rc == 0)
        rc = inv_row_str(row, "address", text);
    if (rc == 0)
        rc = inv_row_str(row, "family", family == AF_INET ? "ipv4" : "ipv6");
    if (rc == 0 && plen >= 0)
        rc = inv_row_int(row, "prefix_len", plen);
    if (rc == 0)
        rc = inv_row_str(row, "scope", family == AF_INET ? scope4(addr) : scope6(addr));
    return rc;
}

static int addresses_live(struct inv_ctx *ctx)
{
    struct ifaddrs *ifa = NULL;
    int rc = 0;
    if (getifaddrs(&ifa) != 0)
        return inv_ctx_fail(ctx, WARD_EIO, "getifaddrs failed");
    for (struct ifaddrs *i = ifa; rc == 0 && i; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_name)
            continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)i->ifa_addr;
            const struct sockaddr_in *m = (const struct sockaddr_in *)(const void *)i->ifa_netmask;
            rc = address_row(ctx, i->ifa_name, AF_INET, &a->sin_addr,
                             m ? prefix_from_mask((const uint8_t *)&m->sin_addr, 4) : -1);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;
            const struct sockaddr_in6 *m =
                (const struct sockaddr_in6 *)(const void *)i->ifa_netmask;
            rc = address_row(ctx, i->ifa_name, AF_INET6, &a->sin6_addr,
                             m ? prefix_from_mask(m->sin6_addr.s6_addr, 16) : -1);
        }
    }
    freeifaddrs(ifa);
    return rc;
}

struct route_list {
    struct inv_route4 *r;
    size_t n, cap;
};

static int collect_route(const struct inv_route4 *r, void *arg)
{
    struct route_list *l = arg;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        struct inv_route4 *p = ward_realloc(l->r, ncap * sizeof(*p));
        if (!p)
            return WARD_ENOMEM;
        l->r = p;
        l->cap = ncap;
    }
    l->r[l->n++] = *r;
    return 0;
}

struct addr4_walk {
    struct inv_ctx *ctx;
    const struct route_list *routes;
    uint32_t seen[256];
    size_t nseen;
};

static int fib_addr_cb(uint32_t host, void *arg)
{
    struct addr4_walk *w = arg;
    uint8_t b[4] = {(uint8_t)(host >> 24), (uint8_t)(host >> 16), (uint8_t)(host >> 8),
                    (uint8_t)host};
    uint32_t net; /* the address as the kernel prints route fields: network order in memory */
    const struct inv_route4 *best = NULL;
    int best_len = -1;

    for (size_t i = 0; i < w->nseen; i++)
        if (w->seen[i] == host)
            return 0;
    if (w->nseen < sizeof(w->seen) / sizeof(w->seen[0]))
        w->seen[w->nseen++] = host;
    if (b[0] == 127)
        return address_row(w->ctx, "lo", AF_INET, b, 8);
    memcpy(&net, b, 4);
    for (size_t i = 0; i < w->routes->n; i++) {
        const struct inv_route4 *r = &w->routes->r[i];
        int len;
        if (r->gateway != 0 || (net & r->mask) != r->dest)
            continue;
        len = prefix_from_mask((const uint8_t *)&r->mask, 4);
        if (len > best_len) {
            best = r;
            best_len = len;
        }
    }
    if (!best)
        return 0; /* no connected route: cannot say which interface */
    return address_row(w->ctx, best->iface, AF_INET, b, best_len);
}

static int inet6_cb(const struct inv_inet6 *a, void *arg)
{
    return address_row(arg, a->iface, AF_INET6, a->addr, (int)a->plen);
}

static int addresses_files(struct inv_ctx *ctx, const struct route_list *routes)
{
    struct addr4_walk w;
    char *data = NULL;
    size_t len = 0;
    int rc = 0;

    memset(&w, 0, sizeof(w));
    w.ctx = ctx;
    w.routes = routes;
    if (inv_lx_read(ctx, "/proc/net/fib_trie", NET_FILE_MAX, &data, &len) == 0)
        rc = inv_fib_trie_parse(data, len, NET_ROWS_MAX, fib_addr_cb, &w, NULL);
    ward_free(data);
    data = NULL;
    if (rc == 0 && inv_lx_read(ctx, "/proc/net/if_inet6", NET_FILE_MAX, &data, &len) == 0)
        rc = inv_if_inet6_parse(data, len, NET_ROWS_MAX, inet6_cb, ctx, NULL);
    ward_free(data);
    return rc == WARD_ETOOBIG ? 0 : rc;
}

/* ---- routes ---- */

static int gateway_row(struct inv_ctx *ctx, const char *family, const char *iface, const char *gw,
                       long long metric)
{
    json_t *row = inv_ctx_new_row(ctx, &inv_t_net_routes);
    int rc;
    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_str(row, "family", family);
    if (rc == 0)
        rc = inv_row_str(row, "interface", iface);
    if (rc == 0)
        rc = inv_row_str(row, "gateway", gw);
    if (rc == 0)
        rc = inv_row_int(row, "metric", metric);
    return rc;
}

static int route6_cb(const struct inv_route6 *r, void *arg)
{
    static const uint8_t zero[16];
    char gw[INET6_ADDRSTRLEN];
    if (r->dest_plen != 0 || memcmp(r->dest, zero, 16) != 0 || memcmp(r->next_hop, zero, 16) == 0 ||
        (r->flags & RTF_REJECT_))
        return 0;
    if (!inet_ntop(AF_INET6, r->next_hop, gw, sizeof(gw)))
        return 0;
    return gateway_row(arg, "ipv6", r->iface, gw, (long long)r->metric);
}

static int routes(struct inv_ctx *ctx, struct route_list *l)
{
    char *data = NULL;
    size_t len = 0;
    int rc = 0;

    if (inv_lx_read(ctx, "/proc/net/route", NET_FILE_MAX, &data, &len) == 0)
        rc = inv_route4_parse(data, len, NET_ROWS_MAX, collect_route, l, NULL);
    ward_free(data);
    data = NULL;
    if (rc == WARD_ETOOBIG)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const struct inv_route4 *r = &l->r[i];
        char gw[INET_ADDRSTRLEN];
        if (r->dest != 0 || r->mask != 0 ||
            (r->flags & (RTF_UP_ | RTF_GATEWAY_)) != (RTF_UP_ | RTF_GATEWAY_))
            continue;
        if (inet_ntop(AF_INET, &r->gateway, gw, sizeof(gw)))
            rc = gateway_row(ctx, "ipv4", r->iface, gw, r->metric);
    }
    if (rc == 0 && inv_lx_read(ctx, "/proc/net/ipv6_route", NET_FILE_MAX, &data, &len) == 0)
        rc = inv_route6_parse(data, len, NET_ROWS_MAX, route6_cb, ctx, NULL);
    ward_free(data);
    return rc == WARD_ETOOBIG ? 0 : rc;
}

/* ---- dns ---- */

struct dns_walk {
    struct inv_ctx *ctx;
    const char *source;
    long long n;
    int only_stub;
};

static int dns_cb(struct inv_span s, void *arg)
{
    struct dns_walk *w = arg;
    json_t *row = inv_ctx_new_row(w->ctx, &inv_t_net_dns);
    int rc;
    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_strn(row, "server", s.p, s.n);
    if (rc == 0)
        rc = inv_row_int(row, "priority", w->n++);
    if (rc == 0)
        rc = inv_row_str(row, "source", w->source);
    return rc;
}

static int stub_cb(struct inv_span s, void *arg)
{
    struct dns_walk *w = arg;
    if (!inv_span_eq(s, "127.0.0.53") && !inv_span_eq(s, "127.0.0.54"))
        w->only_stub = 0;
    w->n++;
    return 0;
}

static int dns(struct inv_ctx *ctx)
{
    static const char *const upstream = "/run/systemd/resolve/resolv.conf";
    struct dns_walk w = {ctx, "/etc/resolv.conf", 0, 1};
    char *data = NULL;
    size_t len = 0;
    int rc;

    rc = inv_lx_read(ctx, "/etc/resolv.conf", 1u << 20, &data, &len);
    if (rc != 0)
        return rc == WARD_ENOENT ? 0 : rc;
    inv_resolv_parse(data, len, 64, stub_cb, &w, NULL);
    if (w.n && w.only_stub) {
        char *up = NULL;
        size_t ulen = 0;
        if (inv_lx_read(ctx, upstream, 1u << 20, &up, &ulen) == 0) {
            ward_free(data);
            data = up;
            len = ulen;
            w.source = upstream;
        }
    }
    w.n = 0;
    rc = inv_resolv_parse(data, len, 64, dns_cb, &w, NULL);
    ward_free(data);
    return rc == WARD_ETOOBIG ? 0 : rc;
}

static int collect_network(struct inv_ctx *ctx)
{
    struct inv_names ifs = {NULL, 0};
    struct route_list rl = {NULL, 0, 0};
    int rc;

    for (size_t i = 0; inv_sec_network.tables[i]; i++)
        if (!inv_ctx_table(ctx, inv_sec_network.tables[i]))
            return WARD_ENOMEM;
    rc = inv_lx_listdir(ctx, "/sys/class/net", &ifs);
    if (rc != 0 && rc != WARD_ETOOBIG && rc != WARD_ENOENT)
        return inv_ctx_fail(ctx, rc, "/sys/class/net: %s", ward_strerror(rc));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < ifs.n; i++) {
        if (inv_ctx_expired(ctx)) {
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "over budget after %zu interfaces", i);
            break;
        }
        rc = interface_row(ctx, ifs.v[i]);
    }
    inv_names_release(&ifs);
    if (rc == 0)
        rc = routes(ctx, &rl);
    if (rc == 0)
        rc = ctx->live ? addresses_live(ctx) : addresses_files(ctx, &rl);
    if (rc == 0)
        rc = dns(ctx);
    ward_free(rl.r);
    return rc;
}

const struct inv_collector inv_lx_network = {
    .name = "network",
    .section = &inv_sec_network,
    .collect = collect_network,
    .budget_ms = 500,
    .cheap = 1,
};
