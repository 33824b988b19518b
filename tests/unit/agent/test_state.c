/* SPDX-License-Identifier: Apache-2.0 */
/* Agent state directory and database: created private, reopened with data kept, key/value
 * facts, enrollment flag. */
#include <sys/stat.h>

#include "agent/state.h"
#include "ward/alloc.h"
#include "wtest.h"

WT_TEST(creates_private_dir_and_keeps_data)
{
    struct agent_state *st = NULL;
    const char *dir = wt_path("a/b/state");
    char *v = NULL;
    struct stat sb;

    WT_OK(agent_state_open(dir, &st));
    WT_EQ_INT(stat(dir, &sb), 0);
    WT_EQ_INT(sb.st_mode & 0777, 0700);
    WT_EQ_INT(agent_state_enrolled(st), 0);
    WT_EQ_ERR(agent_state_get(st, "x", &v), WARD_ENOENT);
    WT_OK(agent_state_set(st, "x", "1"));
    WT_OK(agent_state_set(st, "x", "2"));
    agent_state_close(st);

    WT_OK(agent_state_open(dir, &st));
    WT_OK(agent_state_get(st, "x", &v));
    WT_EQ_STR(v, "2");
    ward_free(v);
    WT_OK(agent_state_set(st, "device_id", "dev-1"));
    WT_EQ_INT(agent_state_enrolled(st), 1);
    agent_state_close(st);
}

WT_TEST(loose_dir_is_tightened)
{
    struct agent_state *st = NULL;
    const char *dir = wt_path("loose");
    struct stat sb;
    WT_EQ_INT(mkdir(dir, 0755), 0);
    WT_EQ_INT(chmod(dir, 0755), 0);
    WT_OK(agent_state_open(dir, &st));
    WT_EQ_INT(stat(dir, &sb), 0);
    WT_EQ_INT(sb.st_mode & 0777, 0700);
    agent_state_close(st);
}

WT_TEST(file_in_the_way_is_an_error)
{
    struct agent_state *st = NULL;
    const char *f = wt_write_file("notadir", "x", 1);
    WT_ASSERT(agent_state_open(f, &st) != 0);
    WT_ASSERT(st == NULL);
}
