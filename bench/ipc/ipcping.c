/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Round trips of the agent's local IPC against a running daemon, through Ward's own
 * client (platform/ipc.h): N requests of one verb on one connection, then N on a fresh
 * connection each, with the wall time of every round trip. Beside it, as the peer, the
 * smallest D-Bus round trip there is (dbus-daemon answering org.freedesktop.DBus.GetId
 * over sd-bus), the mechanism desktop tray applets talk to their services with. Prints
 * one JSON object: per series the median, p99 and max in microseconds.
 *
 *   ward-bench-ipcping SOCKET VERB N [DBUS_ADDRESS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "platform/ipc.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void series(const char *name, double *t, int n, int last)
{
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("  \"%s\": {\"n\": %d, \"median_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}%s\n",
           name, n, t[n / 2], t[(n * 99) / 100], t[n - 1], last ? "" : ",");
}

static int round_trip(struct plat_ipc_client *c, const char *req, size_t *bytes)
{
    char *ans = NULL;
    size_t len = 0;
    int rc = plat_ipc_client_send(c, req, strlen(req), 5000);
    if (rc == 0)
        rc = plat_ipc_client_recv(c, PLAT_IPC_FRAME_LIMIT, 5000, &ans, &len);
    if (rc == 0 && !strstr(ans, "\"ok\":true"))
        rc = -1;
    free(ans);
    *bytes = len;
    return rc;
}

int main(int argc, char **argv)
{
    char req[128];
    int n, i;
    double *t;
    size_t bytes = 0;
    struct plat_ipc_client *c = NULL;

    if (argc < 4 || (n = atoi(argv[3])) < 10) {
        fprintf(stderr, "usage: ward-bench-ipcping SOCKET VERB N [DBUS_ADDRESS]\n");
        return 2;
    }
    t = calloc((size_t)n, sizeof(*t));
    snprintf(req, sizeof(req), "{\"verb\":\"%s\"}", argv[2]);
    if (!t || plat_ipc_connect(argv[1], 5000, &c) != 0) {
        fprintf(stderr, "cannot connect to %s\n", argv[1]);
        return 1;
    }
    printf("{\n");
    for (i = 0; i < n; i++) {
        double t0 = now_us();
        if (round_trip(c, req, &bytes) != 0) {
            fprintf(stderr, "request %d failed\n", i);
            return 1;
        }
        t[i] = now_us() - t0;
    }
    plat_ipc_client_close(c);
    printf("  \"answer_bytes\": %zu,\n", bytes);
    series("ward_same_connection", t, n, 0);
    for (i = 0; i < n; i++) {
        double t0 = now_us();
        if (plat_ipc_connect(argv[1], 5000, &c) != 0 || round_trip(c, req, &bytes) != 0) {
            fprintf(stderr, "request %d on a new connection failed\n", i);
            return 1;
        }
        plat_ipc_client_close(c);
        t[i] = now_us() - t0;
    }
    series("ward_new_connection", t, n, argc < 5);
    if (argc >= 5) {
        sd_bus *bus = NULL;
        if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, argv[4]) < 0 ||
            sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0) {
            fprintf(stderr, "cannot connect to the bus at %s\n", argv[4]);
            return 1;
        }
        for (i = 0; i < n; i++) {
            sd_bus_error err = SD_BUS_ERROR_NULL;
            sd_bus_message *m = NULL;
            double t0 = now_us();
            if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "GetId", &err, &m, "") < 0) {
                fprintf(stderr, "GetId failed: %s\n", err.message ? err.message : "?");
                return 1;
            }
            t[i] = now_us() - t0;
            sd_bus_message_unref(m);
            sd_bus_error_free(&err);
        }
        sd_bus_flush_close_unref(bus);
        series("dbus_getid", t, n, 1);
    }
    printf("}\n");
    free(t);
    return 0;
}
