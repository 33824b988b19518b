/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sanity checks for running tests under wine: a test that crashes must fail. wine 8.0's
 * automatic debugger (winedbg) made a NULL write exit with status 0 in 13-30 % of runs,
 * which turns every crashing test green; scripts/wine-run disables it. CMake registers the
 * crash case several times with WILL_FAIL, so one crash reported as success fails ctest.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* volatile so the compiler emits a real store through address 0, not a trap instruction. */
static volatile uintptr_t null_address;

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "ok") == 0) {
        puts("ok: exit status 0 reaches ctest");
        return 0;
    }
    if (strcmp(mode, "exit3") == 0) {
        puts("exit3: exit status 3 reaches ctest");
        return 3;
    }
    if (strcmp(mode, "null_write") == 0) {
        puts("null_write: writing through NULL");
        fflush(stdout);
        *(volatile int *)null_address = 42;
        puts("null_write: survived the NULL write");
        return 0;
    }
    fprintf(stderr, "usage: %s ok|exit3|null_write\n", argc > 0 ? argv[0] : "crash_sanity");
    return 2;
}
