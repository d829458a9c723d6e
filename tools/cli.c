/* tools/cli.c — helpers shared by the subcommands (see cli.h). */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int stk_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int stk_cli_fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "stockade %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

const char *stk_cli_data_dir(const char *flag_value)
{
    if (flag_value != NULL && flag_value[0] != '\0')
        return flag_value;
    const char *env = getenv("STOCKADE_DATA_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
    return "./var";
}
