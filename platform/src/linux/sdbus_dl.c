/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsystemd's sd-bus, loaded on first use: dlopen("libsystemd.so.0") the first time one of
 * the sd_bus_* functions below is called, and forward to it. Only inventory's services
 * collector and enforcement's service and firewall kinds talk to systemd, so the agent
 * does not map libsystemd and what it drags in (libgcrypt, libgpg-error, liblzma, libzstd,
 * liblz4, libcap: about 1.2 MiB resident) for the rest of its life. sd_notify and the
 * journal have their own implementations (service.c, log_sink.c).
 * Ward links no libsystemd: code that calls another sd-bus function fails to link until it
 * gets its line here. Without libsystemd the int functions return -ENOSYS and the rest
 * NULL (or nothing), so opening the bus fails like any missing bus.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <systemd/sd-bus.h>

static void *lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_open(void)
{
    lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
}

/* The address of name in libsystemd, or NULL. */
static void *sym(const char *name)
{
    pthread_once(&lib_once, lib_open);
    return lib ? dlsym(lib, name) : NULL;
}

/* Defines ret name(params) forwarding to libsystemd's name(args); fail is returned when
 * libsystemd or the symbol is missing. The pointer is copied, not cast, from void *. */
#define SD_FWD(ret, fail, name, params, args)                                                      \
    ret name params                                                                                \
    {                                                                                              \
        static ret(*fp) params;                                                                    \
        if (!fp) {                                                                                 \
            void *p = sym(#name);                                                                  \
            if (!p)                                                                                \
                return fail;                                                                       \
            memcpy(&fp, &p, sizeof(fp));                                                           \
        }                                                                                          \
        return fp args;                                                                            \
    }

SD_FWD(int, -ENOSYS, sd_bus_new, (sd_bus * *ret), (ret))
SD_FWD(int, -ENOSYS, sd_bus_open_system, (sd_bus * *ret), (ret))
SD_FWD(int, -ENOSYS, sd_bus_set_address, (sd_bus * bus, const char *address), (bus, address))
SD_FWD(int, -ENOSYS, sd_bus_set_bus_client, (sd_bus * bus, int b), (bus, b))
SD_FWD(int, -ENOSYS, sd_bus_set_method_call_timeout, (sd_bus * bus, uint64_t usec), (bus, usec))
SD_FWD(int, -ENOSYS, sd_bus_start, (sd_bus * bus), (bus))
SD_FWD(int, -ENOSYS, sd_bus_process, (sd_bus * bus, sd_bus_message **r), (bus, r))
SD_FWD(int, -ENOSYS, sd_bus_wait, (sd_bus * bus, uint64_t timeout_usec), (bus, timeout_usec))
SD_FWD(sd_bus *, NULL, sd_bus_unref, (sd_bus * bus), (bus))
SD_FWD(sd_bus *, NULL, sd_bus_flush_close_unref, (sd_bus * bus), (bus))
SD_FWD(sd_bus_slot *, NULL, sd_bus_slot_unref, (sd_bus_slot * slot), (slot))
SD_FWD(sd_bus_message *, NULL, sd_bus_message_unref, (sd_bus_message * m), (m))
SD_FWD(int, -ENOSYS, sd_bus_message_enter_container,
       (sd_bus_message * m, char type, const char *contents), (m, type, contents))
SD_FWD(int, 0, sd_bus_error_has_name, (const sd_bus_error *e, const char *name), (e, name))
SD_FWD(int, -ENOSYS, sd_bus_get_property_string,
       (sd_bus * bus, const char *destination, const char *path, const char *interface,
        const char *member, sd_bus_error *ret_error, char **ret),
       (bus, destination, path, interface, member, ret_error, ret))
SD_FWD(int, -ENOSYS, sd_bus_get_property_trivial,
       (sd_bus * bus, const char *destination, const char *path, const char *interface,
        const char *member, sd_bus_error *ret_error, char type, void *ret_ptr),
       (bus, destination, path, interface, member, ret_error, type, ret_ptr))
SD_FWD(int, -ENOSYS, sd_bus_match_signal,
       (sd_bus * bus, sd_bus_slot **ret, const char *sender, const char *path,
        const char *interface, const char *member, sd_bus_message_handler_t callback,
        void *userdata),
       (bus, ret, sender, path, interface, member, callback, userdata))
SD_FWD(int, -ENOSYS, sd_bus_call_methodv,
       (sd_bus * bus, const char *destination, const char *path, const char *interface,
        const char *member, sd_bus_error *ret_error, sd_bus_message **reply, const char *types,
        va_list ap),
       (bus, destination, path, interface, member, ret_error, reply, types, ap))
SD_FWD(int, -ENOSYS, sd_bus_message_readv, (sd_bus_message * m, const char *types, va_list ap),
       (m, types, ap))

void sd_bus_error_free(sd_bus_error *e)
{
    static void (*fp)(sd_bus_error *);
    if (!fp) {
        void *p = sym("sd_bus_error_free");
        if (!p)
            return;
        memcpy(&fp, &p, sizeof(fp));
    }
    fp(e);
}

/* The variadic ones through their va_list twins. */
int sd_bus_call_method(sd_bus *bus, const char *destination, const char *path,
                       const char *interface, const char *member, sd_bus_error *ret_error,
                       sd_bus_message **reply, const char *types, ...)
{
    va_list ap;
    int r;
    va_start(ap, types);
    r = sd_bus_call_methodv(bus, destination, path, interface, member, ret_error, reply, types, ap);
    va_end(ap);
    return r;
}

int sd_bus_message_read(sd_bus_message *m, const char *types, ...)
{
    va_list ap;
    int r;
    va_start(ap, types);
    r = sd_bus_message_readv(m, types, ap);
    va_end(ap);
    return r;
}
