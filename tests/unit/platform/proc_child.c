/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Portable child program for the proc tests (runs natively and under Wine). Each argument
 * is one action, executed in order:
 *   exit:N        exit with status N          out:TEXT   write TEXT to stdout
 *   err:TEXT      write TEXT to stderr        flood:N    write N bytes to stdout
 *   sleep:MS      sleep                       env:NAME   print NAME's value or <unset>
 *   cat           copy stdin to stdout
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "exit:", 5) == 0) {
            fflush(stdout);
            return atoi(a + 5);
        } else if (strncmp(a, "out:", 4) == 0) {
            fputs(a + 4, stdout);
        } else if (strncmp(a, "err:", 4) == 0) {
            fputs(a + 4, stderr);
        } else if (strncmp(a, "flood:", 6) == 0) {
            long n = atol(a + 6);
            static char block[8192];
            memset(block, 'x', sizeof(block));
            while (n > 0) {
                size_t k = n > (long)sizeof(block) ? sizeof(block) : (size_t)n;
                if (fwrite(block, 1, k, stdout) != k)
                    return 3;
                n -= (long)k;
            }
        } else if (strncmp(a, "sleep:", 6) == 0) {
            fflush(stdout);
            uv_sleep((unsigned int)atoi(a + 6));
        } else if (strncmp(a, "env:", 4) == 0) {
            const char *v = getenv(a + 4);
            printf("%s=%s\n", a + 4, v ? v : "<unset>");
        } else if (strcmp(a, "cat") == 0) {
            char buf[4096];
            size_t n;
            while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
                fwrite(buf, 1, n, stdout);
        } else {
            fprintf(stderr, "proc_child: unknown action %s\n", a);
            return 100;
        }
    }
    return 0;
}
