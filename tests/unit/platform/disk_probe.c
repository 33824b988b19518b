/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for platform/disk.h, run by test_disk_luks.py against LUKS containers it
 * made itself in scratch files and loop devices: one call per run, the result as one JSON
 * object on stdout, exit status 0 when the call returned 0 and 1 otherwise.
 *
 *   disk_probe inspect DEVICE
 *   disk_probe erase DEVICE
 *   disk_probe overwrite DEVICE [ROOT]
 *   disk_probe root-luks ROOT MOUNTPOINT
 */
#include <stdio.h>
#include <string.h>

#include "platform/disk.h"
#include "ward/error.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void head(int rc, const char *why)
{
    printf("{\"rc\": ");
    json_str(ward_err_name(rc));
    printf(", \"why\": ");
    json_str(why);
}

static void print_info(const struct plat_luks_info *i)
{
    printf(", \"device\": ");
    json_str(i->device);
    printf(", \"version\": %d, \"keyslots\": %d, \"uuid\": ", i->version, i->keyslots);
    json_str(i->uuid);
    printf(", \"header_bytes\": %lld, \"data_offset\": %lld", i->header_bytes, i->data_offset);
}

struct progress {
    int calls;
    long long done, total;
};

static void on_progress(long long done, long long total, void *ctx)
{
    struct progress *p = ctx;
    p->calls++;
    p->done = done;
    p->total = total;
}

int main(int argc, char **argv)
{
    char why[512] = "";
    int rc;

    if (argc >= 3 && strcmp(argv[1], "inspect") == 0) {
        struct plat_luks_info info;
        memset(&info, 0, sizeof(info));
        rc = plat_disk_luks_inspect(argv[2], &info, why, sizeof(why));
        head(rc, why);
        if (rc == 0)
            print_info(&info);
    } else if (argc >= 3 && strcmp(argv[1], "erase") == 0) {
        struct plat_disk_erase_report rep;
        memset(&rep, 0, sizeof(rep));
        rc = plat_disk_crypto_erase(argv[2], &rep, why, sizeof(why));
        head(rc, why);
        printf(", \"slots_before\": %d, \"header_bytes_overwritten\": %lld, \"verified\": %d, "
               "\"cryptsetup_erased\": %d",
               rep.slots_before, rep.header_bytes_overwritten, rep.verified, rep.cryptsetup_erased);
    } else if (argc >= 3 && strcmp(argv[1], "overwrite") == 0) {
        struct progress p = {0, -1, -1};
        rc = plat_disk_overwrite(argc >= 4 ? argv[3] : NULL, argv[2], on_progress, &p, why,
                                 sizeof(why));
        head(rc, why);
        printf(", \"progress_calls\": %d, \"done\": %lld, \"total\": %lld", p.calls, p.done,
               p.total);
    } else if (argc >= 4 && strcmp(argv[1], "root-luks") == 0) {
        struct plat_luks_info info;
        memset(&info, 0, sizeof(info));
        rc = plat_disk_root_luks(argv[2], argv[3], &info, why, sizeof(why));
        head(rc, why);
        if (rc == 0)
            print_info(&info);
    } else {
        fprintf(stderr, "usage: disk_probe inspect|erase DEVICE | overwrite DEVICE [ROOT] | "
                        "root-luks ROOT MOUNTPOINT\n");
        return 2;
    }
    printf("}\n");
    return rc == 0 ? 0 : 1;
}
