/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the proc tests: where the proc_child helper lives. */
#ifndef WARD_TEST_PROC_TEST_H
#define WARD_TEST_PROC_TEST_H

#ifndef PROC_TEST_EXE_SUFFIX
#define PROC_TEST_EXE_SUFFIX ""
#endif

/* Absolute path of proc_child next to the running test binary. */
const char *child_path(void);

#endif
