/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service kind where systemd cannot be asked (a scratch root, no
 * WARD_SYSTEM_BUS_ADDRESS): a unit with no unit file is honestly "not installed" (KEPT
 * for disabled/inactive, FAILED for enabled), one with a unit file fails with the reason,
 * nothing is guessed; and a bus address that does not answer is a clear failure.
 * The D-Bus path runs against python-dbusmock in test_kind_service.py.
 */
#include "enf_test.h"

#include <stdlib.h>

WT_TEST(service_offline)
{
    struct enf_baseline *b;
    struct enf_report *r;
    unsetenv("WARD_SYSTEM_BUS_ADDRESS");
    et_put("/lib/systemd/system/cups.service", "[Unit]\n");
    b = et_doc("{\"id\": \"s\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"avahi\", \"kind\": \"service\", \"unit\": \"avahi-daemon\", "
               "\"enablement\": \"disabled\", \"active\": false},"
               "{\"id\": \"ssh\", \"kind\": \"service\", \"unit\": \"ssh.service\", "
               "\"enablement\": \"enabled\"},"
               "{\"id\": \"cups\", \"kind\": \"service\", \"unit\": \"cups\", \"enablement\": "
               "\"masked\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "avahi", ENF_KEPT);
    WT_EQ_STR(et_outcome(r, "avahi")->actual, "not installed");
    WT_EQ_STR(et_outcome(r, "avahi")->expected, "disabled, inactive");
    ET_RESULT(r, "ssh", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "ssh")->error, "systemd cannot be asked under root");
    ET_RESULT(r, "cups", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "cups")->error,
                "cups.service has a unit file (/lib/systemd/system/cups.service) but systemd "
                "cannot be asked");
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(service_bus_unreachable)
{
    struct enf_baseline *b;
    struct enf_report *r;
    char addr[4200];
    snprintf(addr, sizeof(addr), "unix:path=%s", wt_path("no-bus"));
    setenv("WARD_SYSTEM_BUS_ADDRESS", addr, 1);
    b = et_doc("{\"id\": \"s\", \"version\": 1, \"settings\": ["
               "{\"id\": \"avahi\", \"kind\": \"service\", \"unit\": \"avahi-daemon\", "
               "\"active\": false}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "avahi", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "avahi")->error, "systemd cannot be asked: no system bus");
    enf_report_free(r);
    enf_baseline_free(b);
    unsetenv("WARD_SYSTEM_BUS_ADDRESS");
}

WT_TEST(service_validation)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"s\", \"version\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"service\", \"unit\": \"../etc/x\", \"active\": true},"
        "{\"id\": \"b\", \"kind\": \"service\", \"unit\": \"cups\"},"
        "{\"id\": \"c\", \"kind\": \"service\", \"unit\": \"cups\", \"enablement\": \"on\"}]}",
        &rc);
    WT_CONTAINS(e, "$.settings[0].unit: \"../etc/x\" is not a systemd unit name");
    WT_CONTAINS(e, "$.settings[1]: give \"enablement\", \"active\" or both");
    WT_CONTAINS(e, "$.settings[2].enablement");
}
