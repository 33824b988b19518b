/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the enforcement unit tests: build a baseline from JSON text (failing
 * the case with the validation errors), run it under a scratch root, find a setting's
 * outcome, read and write files of the scratch tree, open a scratch journal.
 */
#ifndef ENF_TEST_H
#define ENF_TEST_H

#include <stdint.h>

#include "enforcement/baseline.h"
#include "wtest.h"

struct ward_store;

/* Parses json (asserts it is valid). */
struct enf_baseline *et_doc(const char *json);
/* Parses json expecting failure; returns the error text (static) and the code in *rc. */
const char *et_doc_errors(const char *json, int *rc);
/* Runs b under wt_tmpdir()/root (created). flags: ENF_RUN_APPLY. */
struct enf_report *et_run(const struct enf_baseline *b, unsigned flags, struct ward_store *journal,
                          const struct enf_hooks *hooks);
const struct enf_outcome *et_outcome(const struct enf_report *r, const char *id);
/* The scratch root (wt_tmpdir()/root). */
const char *et_root(void);
/* Host path of a root-relative path. */
const char *et_host(const char *rel);
void et_put(const char *rel, const char *content);
/* Content of a root-relative file, or NULL when missing (static buffer per call slot). */
char *et_get(const char *rel);
int64_t et_mtime(const char *rel);
unsigned et_mode(const char *rel);
struct ward_store *et_journal(void);
/* Asserts every outcome has result r. */
void et_all(const struct enf_report *rep, enum enf_result r);

#define ET_RESULT(rep, id, want)                                                                   \
    do {                                                                                           \
        const struct enf_outcome *et_o_ = et_outcome((rep), (id));                                 \
        if (et_o_->result != (want))                                                               \
            wt_fail(__FILE__, __LINE__,                                                            \
                    "%s: %s, wanted %s\n  expected: %s\n  actual: %s\n"                            \
                    "  error: %s",                                                                 \
                    (id), enf_result_name(et_o_->result), enf_result_name(want),                   \
                    et_o_->expected ? et_o_->expected : "-", et_o_->actual ? et_o_->actual : "-",  \
                    et_o_->error ? et_o_->error : "-");                                            \
    } while (0)

#endif
