/* tools/log_open.c — locating and opening the data directory's log (see log_open.h). */
#include "tools/log_open.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/error.h"
#include "tools/cli.h"

int stk_tool_log_path(const char *data_dir_flag, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/log", stk_cli_data_dir(data_dir_flag));
    return n < 0 || (size_t)n >= cap ? STK_ETOOBIG : 0;
}

int stk_tool_log_open(stk_log_t **out, const char *data_dir_flag, int read_only)
{
    char path[4096];
    int rc = stk_tool_log_path(data_dir_flag, path, sizeof(path));
    if (rc != 0)
        return rc;
    /* The log creates its own directory; a writer also creates the data directory. */
    if (!read_only && mkdir(stk_cli_data_dir(data_dir_flag), 0700) != 0 && errno != EEXIST)
        return STK_EIO;
    stk_log_opts_t opts = {.read_only = read_only};
    return stk_log_open(out, path, &opts);
}

int stk_tool_log_open_fail(const char *cmd, const char *data_dir_flag, int err)
{
    char path[4096];
    if (stk_tool_log_path(data_dir_flag, path, sizeof(path)) != 0)
        return stk_cli_fail(STK_EXIT_USAGE, cmd, "data directory path too long");
    if (err == STK_ENOTFOUND)
        return stk_cli_fail(STK_EXIT_RUNTIME, cmd, "no event log in %s", path);
    return stk_cli_fail(err == STK_ECORRUPT ? STK_EXIT_CORRUPT : STK_EXIT_RUNTIME, cmd,
                        "cannot open the event log in %s: %s", path, stk_strerror(err));
}
