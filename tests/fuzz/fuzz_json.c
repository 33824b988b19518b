/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for ward_json_loadb, the entry point of every JSON document Ward reads
 * from outside. Each input is loaded twice, with the default limits and with tight ones
 * (so the depth pre-scan and the error-path scanner see deep and long documents), and the
 * results are checked, not just survived: a success serializes and reparses to an equal
 * value; a failure has no document, a code from the documented set, a position inside the
 * input and a well-formed path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static void load_and_check(const char *buf, size_t size, const struct ward_json_limits *lim)
{
    struct ward_json_error err;
    json_t *j = NULL, *again = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = ward_json_loadb(buf, size, lim, &j, &err);

    if (rc != 0) {
        check(j == NULL);
        check(rc == WARD_ETOOBIG || rc == WARD_EDEPTH || rc == WARD_EDUP || rc == WARD_EPARSE);
        check(err.path[0] == '$');
        check(strlen(err.path) < sizeof(err.path));
        check(strlen(err.text) < sizeof(err.text));
        check(err.position <= size);
        return;
    }
    check(j != NULL);
    check(json_is_object(j) || json_is_array(j));
    check(ward_json_dumps(j, WARD_JSON_SORT_KEYS, &text, &len) == 0);
    check(strlen(text) == len);
    check(ward_json_loadb(text, len, NULL, &again, &err) == 0);
    check(json_equal(j, again));
    json_decref(again);
    ward_free(text);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    const struct ward_json_limits tight = {4096, 4};

    if (!initialized) {
        ward_json_init();
        ward_log_set_level(WARD_LOG_ERROR);
        initialized = 1;
    }
    load_and_check((const char *)data, size, NULL);
    load_and_check((const char *)data, size, &tight);
    return 0;
}
