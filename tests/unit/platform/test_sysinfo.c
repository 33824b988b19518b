/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sysinfo tests: the os-release, /proc/stat and machine-id parsers on fixtures in
 * tests/data/platform (well-formed, quoted, missing fields, malformed, huge lines, binary
 * junk), and the live call on this machine. The fixture-root case is Linux-only
 * (test_sysinfo_linux.c).
 */
#include "wtest.h"

#include "platform/fs.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"

static char *fixture(const char *name, size_t *len)
{
    char *data = NULL;
    char rel[256];
    snprintf(rel, sizeof(rel), "platform/%s", name);
    WT_OK(plat_fs_read_file(wt_data_dir(), rel, PLAT_FS_NTS, 1 << 20, &data, len));
    return data;
}

static void parse_osrel(const char *name, struct plat_sysinfo *si)
{
    size_t len;
    char *d = fixture(name, &len);
    memset(si, 0x55, sizeof(*si)); /* garbage in untouched fields must not matter */
    WT_OK(plat_sysinfo_parse_os_release(d, len, si));
    ward_free(d);
}

WT_TEST(sysinfo_osrel_debian)
{
    struct plat_sysinfo si;
    parse_osrel("os-release/debian12", &si);
    WT_EQ_STR(si.os_id, "debian");
    WT_EQ_STR(si.os_name, "Debian GNU/Linux");
    WT_EQ_STR(si.os_version, "12");
    WT_EQ_STR(si.os_pretty, "Debian GNU/Linux 12 (bookworm)");
    WT_EQ_STR(si.os_build, "");
}

WT_TEST(sysinfo_osrel_quoting)
{
    struct plat_sysinfo si;
    parse_osrel("os-release/quoted", &si);
    WT_EQ_STR(si.os_name, "Ubuntu"); /* leading blanks before the key are allowed */
    WT_EQ_STR(si.os_id, "ubuntu");
    WT_EQ_STR(si.os_pretty, "Ubuntu \"Noble\" 24.04 $HOME \\ LTS");
    WT_EQ_STR(si.os_version, "24.04");
    WT_EQ_STR(si.os_build, "rolling");
}

WT_TEST(sysinfo_osrel_missing_fields)
{
    struct plat_sysinfo si;
    parse_osrel("os-release/missing-fields", &si);
    WT_EQ_STR(si.os_name, "Fedora");
    WT_EQ_STR(si.os_id, "");
    WT_EQ_STR(si.os_version, "");
    WT_EQ_STR(si.os_pretty, "");
    /* Empty input is fine too. */
    WT_OK(plat_sysinfo_parse_os_release("", 0, &si));
    WT_EQ_STR(si.os_name, "");
    WT_OK(plat_sysinfo_parse_os_release(NULL, 0, &si));
    WT_EQ_ERR(plat_sysinfo_parse_os_release(NULL, 3, &si), WARD_EINVAL);
    WT_EQ_ERR(plat_sysinfo_parse_os_release("x", 1, NULL), WARD_EINVAL);
}

WT_TEST(sysinfo_osrel_malformed)
{
    struct plat_sysinfo si;
    parse_osrel("os-release/malformed", &si);
    WT_EQ_STR(si.os_id, "second"); /* the last assignment wins */
    WT_EQ_STR(si.os_name, "");     /* unterminated quote */
    WT_EQ_STR(si.os_version, "");  /* junk after the closing quote */
    WT_EQ_STR(si.os_pretty, "");   /* unquoted blank */
    WT_EQ_STR(si.os_build, "");    /* unescaped $ */
}

WT_TEST(sysinfo_osrel_huge_lines)
{
    struct plat_sysinfo si;
    parse_osrel("os-release/huge-line", &si);
    WT_EQ_STR(si.os_pretty, ""); /* 100 kB line skipped */
    WT_EQ_STR(si.os_name, "");   /* fits the line limit, not the field */
    WT_EQ_STR(si.os_id, "huge"); /* parsing carries on after them */
    WT_EQ_STR(si.os_version, "");
}

WT_TEST(sysinfo_osrel_binary_junk)
{
    struct plat_sysinfo si;
    parse_osrel("os-release/binary-junk", &si);
    WT_EQ_STR(si.os_id, "debian");
    WT_EQ_STR(si.os_name, "");    /* control character */
    WT_EQ_STR(si.os_pretty, "");  /* embedded NUL */
    WT_EQ_STR(si.os_version, ""); /* DEL */
    /* No NUL terminator after the buffer is needed: parse every prefix length. */
    {
        size_t len;
        char *d = fixture("os-release/binary-junk", &len);
        for (size_t n = 0; n < len; n += 97) {
            char *copy = ward_malloc(n ? n : 1);
            WT_ASSERT(copy != NULL);
            memcpy(copy, d, n);
            WT_OK(plat_sysinfo_parse_os_release(copy, n, &si));
            ward_free(copy);
        }
        ward_free(d);
    }
}

static int parse_stat(const char *name, int64_t *bt)
{
    size_t len;
    char *d = fixture(name, &len);
    int rc = plat_sysinfo_parse_proc_stat(d, len, bt);
    ward_free(d);
    return rc;
}

WT_TEST(sysinfo_proc_stat)
{
    int64_t bt = -1;
    WT_OK(parse_stat("proc-stat/normal", &bt));
    WT_EQ_INT(bt, 1700000000);
    WT_OK(parse_stat("proc-stat/spaces-crlf", &bt));
    WT_EQ_INT(bt, 1699999999);
    WT_EQ_ERR(parse_stat("proc-stat/no-btime", &bt), WARD_ENOENT);
    WT_EQ_INT(bt, 0);
    WT_EQ_ERR(parse_stat("proc-stat/bad-btime", &bt), WARD_EPARSE);
    WT_EQ_ERR(parse_stat("proc-stat/overflow", &bt), WARD_EPARSE);
    WT_EQ_ERR(parse_stat("proc-stat/empty-value", &bt), WARD_EPARSE);
    WT_EQ_ERR(plat_sysinfo_parse_proc_stat("btime 5", 4, &bt), WARD_ENOENT); /* cut short */
    WT_EQ_ERR(plat_sysinfo_parse_proc_stat("btime 5", 6, &bt), WARD_EPARSE);
    WT_OK(plat_sysinfo_parse_proc_stat("btime 5", 7, &bt)); /* no newline */
    WT_EQ_INT(bt, 5);
}

WT_TEST(sysinfo_machine_id)
{
    char id[64];
    WT_OK(plat_sysinfo_parse_machine_id("0123456789ABCDEF0123456789abcdef\n", 33, id, sizeof(id)));
    WT_EQ_STR(id, "0123456789abcdef0123456789abcdef");
    WT_EQ_ERR(plat_sysinfo_parse_machine_id("", 0, id, sizeof(id)), WARD_EPARSE);
    WT_EQ_STR(id, "");
    WT_EQ_ERR(plat_sysinfo_parse_machine_id("0123456789abcdef0123456789abcdeg", 32, id, sizeof(id)),
              WARD_EPARSE);
    WT_EQ_ERR(
        plat_sysinfo_parse_machine_id("0123456789abcdef0123456789abcdef0", 33, id, sizeof(id)),
        WARD_EPARSE);
    WT_EQ_ERR(plat_sysinfo_parse_machine_id("00000000000000000000000000000000", 32, id, sizeof(id)),
              WARD_EPARSE);
    WT_EQ_ERR(plat_sysinfo_parse_machine_id("x", 1, id, 8), WARD_EINVAL);
}

WT_TEST(sysinfo_live)
{
    struct plat_sysinfo si;
    WT_OK(plat_sysinfo_get(NULL, &si));
    printf("host=%s os=%s/%s/%s pretty=%s build=%s kernel=%s arch=%s id=%s boot=%lld\n",
           si.hostname, si.os_id, si.os_name, si.os_version, si.os_pretty, si.os_build, si.kernel,
           si.arch, si.machine_id, (long long)si.boot_time);
    WT_ASSERT(si.hostname[0] != '\0');
    WT_ASSERT(si.kernel[0] != '\0');
    WT_ASSERT(si.arch[0] != '\0');
    WT_ASSERT(si.os_id[0] != '\0');
    WT_EQ_ERR(plat_sysinfo_get(NULL, NULL), WARD_EINVAL);
}
