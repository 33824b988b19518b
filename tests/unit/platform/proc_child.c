/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Portable child program for the proc tests (runs natively and under Wine). Each argument
 * is one action, executed in order:
 *   exit:N        exit with status N          out:TEXT   write TEXT to stdout
 *   err:TEXT      write TEXT to stderr        flood:N    write N bytes to stdout
 *   sleep:MS      sleep                       env:NAME   print NAME's value or <unset>
 *   cat           copy stdin to stdout        file:PATH  copy a file to stdout
 *   seq:N         write N bytes of the pattern proc_child_pattern(i) to stdout
 *   seqerr:N      the same to stderr
 *   burn:MS       spin on the CPU for MS of wall time (until a CPU limit stops it)
 *   alloc:N       allocate N bytes and touch every page; "alloc ok", or "alloc failed" and
 *                 exit 4
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include <uv.h>

/* Byte i of a seq: stream; test_proc.c has the same function. The period, 61, is prime so
 * that it lines up with no buffer or cap size a test uses. */
static char proc_child_pattern(uint64_t i)
{
    static const char chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY";
    return chars[i % 61];
}

static int write_seq(FILE *f, long n)
{
    static char block[8192];
    long i = 0;
    while (i < n) {
        size_t k = 0;
        for (; k < sizeof(block) && i < n; k++, i++)
            block[k] = proc_child_pattern((uint64_t)i);
        if (fwrite(block, 1, k, f) != k)
            return 3;
    }
    return 0;
}

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
        } else if (strncmp(a, "seq:", 4) == 0) {
            if (write_seq(stdout, atol(a + 4)) != 0)
                return 3;
        } else if (strncmp(a, "seqerr:", 7) == 0) {
            if (write_seq(stderr, atol(a + 7)) != 0)
                return 3;
        } else if (strncmp(a, "burn:", 5) == 0) {
            uint64_t end = uv_hrtime() + (uint64_t)atol(a + 5) * 1000000;
            volatile unsigned long spin = 0;
            fflush(stdout);
            while (uv_hrtime() < end)
                for (int k = 0; k < 100000; k++)
                    spin++;
        } else if (strncmp(a, "alloc:", 6) == 0) {
            size_t n = (size_t)strtoull(a + 6, NULL, 10);
            char *m = malloc(n);
            if (!m) {
                puts("alloc failed");
                fflush(stdout);
                return 4;
            }
            for (size_t k = 0; k < n; k += 4096)
                m[k] = (char)k;
            puts("alloc ok");
            free(m);
        } else if (strncmp(a, "file:", 5) == 0) {
            char buf[4096];
            size_t n;
            FILE *f = fopen(a + 5, "rb");
            if (!f)
                return 5;
            while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, stdout);
            fclose(f);
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
