/* tests/support/tmpdir.c — temporary directories for tests (see tmpdir.h). Removal walks
 * the tree depth-first with nftw(3), children before their directory, without following
 * links. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tmpdir.h"

#include "core/error.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int stk_test_tmpdir_make(char *out, size_t cap, const char *tag)
{
    if (out == NULL || tag == NULL || cap == 0)
        return STK_EINVAL;
    int n = snprintf(out, cap, "/tmp/stk-test-%s-XXXXXX", tag);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return STK_EINVAL;
    }
    if (mkdtemp(out) == NULL) {
        out[0] = '\0';
        return STK_EIO;
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path); /* best effort: keep walking past anything that will not go */
    return 0;
}

void stk_test_tmpdir_remove(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return;
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
