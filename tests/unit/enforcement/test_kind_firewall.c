/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firewall kind in scratch roots: ufw's ENABLED flag repaired and restored, ufw picked
 * over nftables when both are present, nftables judged from its install symlink when
 * systemd cannot be asked (and not repaired, with the reason), no firewall at all.
 * The D-Bus path is tested with the service kind (test_kind_service.py).
 */
#include "enf_test.h"

#include <stdlib.h>
#include <unistd.h>

#include "platform/fs.h"
#include "ward/store.h"

#define DOC(extra)                                                                                 \
    "{\"id\": \"fw\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["                      \
    "{\"id\": \"fw\", \"kind\": \"firewall\"" extra "}]}"

WT_TEST(firewall_ufw)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b = et_doc(DOC(", \"restore_on_removal\": true"));
    struct enf_report *r;
    unsetenv("WARD_SYSTEM_BUS_ADDRESS");
    et_put("/etc/ufw/ufw.conf", "# ufw.conf\nENABLED=no\nLOGLEVEL=low\n");
    et_put("/etc/nftables.conf", "flush ruleset\n");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "fw", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "fw")->actual, "ufw: ENABLED=no");
    enf_report_free(r);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "fw", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/ufw/ufw.conf"), "# ufw.conf\nENABLED=yes\nLOGLEVEL=low\n");
    enf_baseline_free(b);
    WT_OK(enf_baseline_remove("fw", &o, &r));
    ET_RESULT(r, "fw", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/ufw/ufw.conf"), "# ufw.conf\nENABLED=no\nLOGLEVEL=low\n");
    ward_store_close(j);
}

WT_TEST(firewall_nftables_offline)
{
    struct enf_baseline *b = et_doc(DOC(""));
    struct enf_report *r;
    unsetenv("WARD_SYSTEM_BUS_ADDRESS");
    et_put("/etc/nftables.conf", "flush ruleset\n");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "fw", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "fw")->actual, "nftables: nftables.service not enabled");
    WT_CONTAINS(et_outcome(r, "fw")->error, "systemd cannot be asked there");
    enf_report_free(r);
    et_put("/lib/systemd/system/nftables.service", "[Unit]\n");
    WT_OK(plat_fs_mkdir_p(NULL, et_host("/etc/systemd/system/sysinit.target.wants"), PLAT_FS_NTS,
                          0755));
    WT_OK(symlink("/lib/systemd/system/nftables.service",
                  et_host("/etc/systemd/system/sysinit.target.wants/nftables.service")));
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "fw", ENF_KEPT);
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(firewall_none)
{
    struct enf_baseline *b = et_doc(DOC(""));
    struct enf_report *r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "fw", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "fw")->actual, "no firewall installed");
    WT_CONTAINS(et_outcome(r, "fw")->error, "no firewall under root");
    enf_report_free(r);
    enf_baseline_free(b);
    b = et_doc(DOC(", \"backend\": \"firewalld\""));
    et_put("/etc/ufw/ufw.conf", "ENABLED=yes\n");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "fw", ENF_FAILED); /* asked for firewalld: ufw does not count */
    enf_report_free(r);
    enf_baseline_free(b);
}
