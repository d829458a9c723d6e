/* tests/support/tmpdir.h — temporary directories for tests: make one under /tmp with a
 * recognisable name, and remove it again with everything below it.
 *
 * This is test scaffolding only (the static library stk_test_support, linked into every
 * stk_add_test executable). It is not a general file-system module: nothing in the server
 * links it, and it makes no attempt to be careful about paths it did not create. It does
 * not depend on Criterion, so harness code (tests/net/client.c) can use it as well as tests.
 *
 * Thread: both functions may be called from any thread; they share no state.
 */
#ifndef STK_TESTS_SUPPORT_TMPDIR_H
#define STK_TESTS_SUPPORT_TMPDIR_H

#include <stddef.h>

/* Creates a new, empty directory /tmp/stk-test-<tag>-XXXXXX (mkdtemp(3)) and writes its
 * path, NUL-terminated, into out (cap bytes, caller-owned; 64 is enough for short tags).
 * Returns 0, STK_EINVAL (out/tag NULL, or the path does not fit in cap) or STK_EIO
 * (mkdtemp failed). On error out holds no usable path. */
int stk_test_tmpdir_make(char *out, size_t cap, const char *tag);

/* Removes path and everything below it (files, subdirectories; symbolic links are removed,
 * never followed). Best effort: a missing path or an entry that cannot be removed is
 * skipped silently, so it is safe in teardown even after a failed setup. path is borrowed. */
void stk_test_tmpdir_remove(const char *path);

#endif
