/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package kind: Debian version ordering (dpkg's own test vectors), the dpkg status
 * lookup (multi-arch, config-files, continuation lines), check on fixture status files in a
 * scratch root, remediation refused under a root other than "/" (with its reason), and
 * hostile names that would reach apt-get's argv refused at validation. Real apt-get runs
 * are in tests/integration/test_package_chroot.py (a debootstrap tree).
 */
#include "enf_test.h"

#include <string.h>

#include "ward/vercmp.h"

/* internal (enforcement/src/linux/helpers.h) */
int ward_vercmp_dpkg(const char *a, const char *b);
void enf_dpkg_lookup(const char *data, size_t len, const char *name, int *installed, char *ver,
                     size_t verlen);

WT_TEST(dpkg_vercmp)
{
    static const struct {
        const char *a, *b;
        int want;
    } v[] = {
        {"1.0", "1.0", 0},
        {"1.0", "1.0-0", 0},
        {"1:1.0", "2.0", 1},
        {"0:1.0", "1.0", 0},
        {"1.0~rc1", "1.0", -1},
        {"1.0", "1.0+b1", -1},
        {"1.0-1", "1.0-2", -1},
        {"1.10", "1.9", 1},
        {"1.0a", "1.0", 1},
        {"1.0~~", "1.0~", -1},
        {"9.2p1-2+deb12u3", "9.2p1-2+deb12u2", 1},
        {"0.17+2.4-2", "0.17+2.4-2", 0},
        {"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
        {"1.002", "1.2", 0},
        {"a", "1", 1},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (ward_vercmp_dpkg(v[i].a, v[i].b) != v[i].want ||
            ward_vercmp_dpkg(v[i].b, v[i].a) != -v[i].want)
            wt_fail(__FILE__, __LINE__, "vercmp(%s, %s) != %d", v[i].a, v[i].b, v[i].want);
    }
}

#define STATUS                                                                                     \
    "Package: telnet\n"                                                                            \
    "Status: install ok installed\n"                                                               \
    "Version: 0.17+2.4-2\n"                                                                        \
    "Description: a client\n"                                                                      \
    " Package: fake-in-description\n"                                                              \
    "\n"                                                                                           \
    "Package: libc6\n"                                                                             \
    "Status: install ok installed\n"                                                               \
    "Architecture: i386\n"                                                                         \
    "Version: 2.36-9+deb12u3\n"                                                                    \
    "\n"                                                                                           \
    "Package: libc6\n"                                                                             \
    "Status: install ok installed\n"                                                               \
    "Architecture: amd64\n"                                                                        \
    "Version: 2.36-9+deb12u4\n"                                                                    \
    "\n"                                                                                           \
    "Package: nis\n"                                                                               \
    "Status: deinstall ok config-files\n"                                                          \
    "Version: 4.3\n"                                                                               \
    "\n"                                                                                           \
    "Package: rsh-client\n"                                                                        \
    "Status: install reinstreq half-installed\n"                                                   \
    "Version: 0.17-24"

WT_TEST(dpkg_lookup)
{
    char ver[64];
    int inst;
    enf_dpkg_lookup(STATUS, strlen(STATUS), "telnet", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 1);
    WT_EQ_STR(ver, "0.17+2.4-2");
    enf_dpkg_lookup(STATUS, strlen(STATUS), "libc6:amd64", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 1);
    WT_EQ_STR(ver, "2.36-9+deb12u4");
    enf_dpkg_lookup(STATUS, strlen(STATUS), "libc6", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 1);
    WT_EQ_STR(ver, "2.36-9+deb12u3"); /* the first installed architecture */
    enf_dpkg_lookup(STATUS, strlen(STATUS), "nis", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 0);
    enf_dpkg_lookup(STATUS, strlen(STATUS), "rsh-client", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 0); /* last stanza without a final newline, half-installed */
    enf_dpkg_lookup(STATUS, strlen(STATUS), "fake-in-description", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 0);
    enf_dpkg_lookup(STATUS, strlen(STATUS), "tel", &inst, ver, sizeof(ver));
    WT_EQ_INT(inst, 0);
}

WT_TEST(package_check_on_fixture_and_refused_apply)
{
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/var/lib/dpkg/status", STATUS "\n");
    b = et_doc("{\"id\": \"p\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"telnet\", \"kind\": \"package\", \"name\": \"telnet\", \"state\": "
               "\"absent\"},"
               "{\"id\": \"nis\", \"kind\": \"package\", \"name\": \"nis\", \"state\": "
               "\"absent\"},"
               "{\"id\": \"libc\", \"kind\": \"package\", \"name\": \"libc6:amd64\", "
               "\"min_version\": \"2.36-9+deb12u4\"},"
               "{\"id\": \"libc-new\", \"kind\": \"package\", \"name\": \"libc6:amd64\", "
               "\"min_version\": \"2.36-9+deb12u10\"},"
               "{\"id\": \"aide\", \"kind\": \"package\", \"name\": \"aide\"}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "telnet", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "telnet")->actual, "installed 0.17+2.4-2");
    ET_RESULT(r, "nis", ENF_KEPT);
    ET_RESULT(r, "libc", ENF_KEPT);
    ET_RESULT(r, "libc-new", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "libc-new")->expected, "installed, version >= 2.36-9+deb12u10");
    ET_RESULT(r, "aide", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "aide")->actual, "not installed");
    enf_report_free(r);

    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "telnet", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "telnet")->error, "package changes run only on the live system");
    WT_EQ_STR(ward_err_name(et_outcome(r, "telnet")->err), "WARD_ENOTSUP");
    enf_report_free(r);
    WT_EQ_STR(et_get("/var/lib/dpkg/status"), STATUS "\n");
    enf_baseline_free(b);
}

WT_TEST(package_no_database)
{
    struct enf_baseline *b =
        et_doc("{\"id\": \"p\", \"version\": 1, \"settings\": ["
               "{\"id\": \"t\", \"kind\": \"package\", \"name\": \"telnet\", \"state\": "
               "\"absent\"}]}");
    struct enf_report *r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "t", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "t")->error, "no package database under root");
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(package_validation)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"p\", \"version\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"package\", \"name\": \"-oDir=/tmp\"},"
        "{\"id\": \"b\", \"kind\": \"package\", \"name\": \"Telnet\"},"
        "{\"id\": \"c\", \"kind\": \"package\", \"name\": \"telnet\", \"state\": \"absent\", "
        "\"min_version\": \"1\"},"
        "{\"id\": \"d\", \"kind\": \"package\", \"name\": \"telnet\", \"min_version\": \"1 "
        "--x\"}]}",
        &rc);
    WT_CONTAINS(e, "$.settings[0].name: \"-oDir=/tmp\" is not a Debian package name");
    WT_CONTAINS(e, "$.settings[1].name");
    WT_CONTAINS(e, "$.settings[2].min_version: only with state \"present\"");
    WT_CONTAINS(e, "$.settings[3].min_version: \"1 --x\" is not a Debian version");
}
