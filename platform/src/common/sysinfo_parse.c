/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers for the text files behind sysinfo: os-release, /proc/stat and machine-id. They
 * take (buf, len) with no NUL guarantee and treat every byte as hostile: they are the
 * fuzz targets for this component. Shared by the real and the fake platform libraries.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform/sysinfo.h"
#include "ward/error.h"

#define OSREL_MAX_LINE 1024

/* Unquotes an os-release value into out; 0 on success, -1 if malformed or too long. */
static int osrel_value(const char *v, size_t n, char *out, size_t outlen)
{
    size_t o = 0, i = 0;
    char q = 0;
    if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
        q = v[0];
        i = 1;
        /* Trailing whitespace after the closing quote is tolerated. */
        while (n > 1 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
            n--;
        if (n < 2 || v[n - 1] != q)
            return -1;
        n--;
    } else {
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
            n--;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (q == '"' && c == '\\' && i + 1 < n && strchr("\"\\$`", v[i + 1]) != NULL) {
            c = (unsigned char)v[++i];
        } else if (q == '"' && (c == '"' || c == '`' || c == '$')) {
            return -1; /* unescaped shell metacharacter: not a plain string */
        } else if (q == '\'' && c == '\'') {
            return -1;
        } else if (!q && (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '\\' || c == '$' ||
                          c == '`')) {
            return -1; /* unquoted values must be a single plain word */
        }
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static void osrel_line(const char *l, size_t n, struct plat_sysinfo *out)
{
    static const struct {
        const char *key;
        size_t off;
        size_t size;
    } keys[] = {
        {"ID", offsetof(struct plat_sysinfo, os_id), sizeof(out->os_id)},
        {"NAME", offsetof(struct plat_sysinfo, os_name), sizeof(out->os_name)},
        {"VERSION_ID", offsetof(struct plat_sysinfo, os_version), sizeof(out->os_version)},
        {"PRETTY_NAME", offsetof(struct plat_sysinfo, os_pretty), sizeof(out->os_pretty)},
        {"BUILD_ID", offsetof(struct plat_sysinfo, os_build), sizeof(out->os_build)},
    };
    const char *eq;
    size_t klen;
    while (n > 0 && (*l == ' ' || *l == '\t')) {
        l++;
        n--;
    }
    if (n == 0 || *l == '#')
        return;
    eq = memchr(l, '=', n);
    if (!eq)
        return;
    klen = (size_t)(eq - l);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *field = (char *)out + keys[i].off;
        if (strlen(keys[i].key) != klen || memcmp(keys[i].key, l, klen) != 0)
            continue;
        /* Later assignments win, as when the file is sourced by a shell. */
        if (osrel_value(eq + 1, n - klen - 1, field, keys[i].size) != 0)
            field[0] = '\0';
        return;
    }
}

int plat_sysinfo_parse_os_release(const char *buf, size_t len, struct plat_sysinfo *out)
{
    size_t i = 0;
    if ((!buf && len) || !out)
        return WARD_EINVAL;
    out->os_id[0] = out->os_name[0] = out->os_version[0] = '\0';
    out->os_pretty[0] = out->os_build[0] = '\0';
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        if (n <= OSREL_MAX_LINE && !memchr(buf + i, '\0', n))
            osrel_line(buf + i, n, out);
        i += n + 1;
    }
    return 0;
}

int plat_sysinfo_parse_proc_stat(const char *buf, size_t len, int64_t *boot_time)
{
    size_t i = 0;
    if ((!buf && len) || !boot_time)
        return WARD_EINVAL;
    *boot_time = 0;
    while (i < len) {
        const char *l = buf + i;
        const char *nl = memchr(l, '\n', len - i);
        size_t n = nl ? (size_t)(nl - l) : len - i;
        i += n + 1;
        if (n < 5 || memcmp(l, "btime", 5) != 0 || (n > 5 && l[5] != ' '))
            continue;
        {
            int64_t v = 0;
            size_t j = 5, digits = 0;
            while (j < n && l[j] == ' ')
                j++;
            for (; j < n && l[j] >= '0' && l[j] <= '9'; j++, digits++) {
                if (v > (INT64_MAX - (l[j] - '0')) / 10)
                    return WARD_EPARSE;
                v = v * 10 + (l[j] - '0');
            }
            while (j < n && (l[j] == ' ' || l[j] == '\r'))
                j++;
            if (digits == 0 || j != n || v <= 0)
                return WARD_EPARSE;
            *boot_time = v;
            return 0;
        }
    }
    return WARD_ENOENT;
}

int plat_sysinfo_parse_machine_id(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t i;
    if ((!buf && len) || !out || outlen < 33)
        return WARD_EINVAL;
    out[0] = '\0';
    if (len < 32)
        return WARD_EPARSE;
    for (i = 0; i < 32; i++) {
        char c = buf[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return WARD_EPARSE;
        out[i] = c;
    }
    for (; i < len; i++)
        if (buf[i] != '\n' && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
            return WARD_EPARSE;
    out[32] = '\0';
    /* The all-zero id is systemd's "uninitialized" marker. */
    if (strspn(out, "0") == 32) {
        out[0] = '\0';
        return WARD_EPARSE;
    }
    return 0;
}
