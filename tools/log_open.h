/* tools/log_open.h — how every subcommand finds and opens the event log: it lives in
 * <data-dir>/log, where data-dir is --data-dir, $STOCKADE_DATA_DIR or ./var. */
#ifndef STK_TOOLS_LOG_OPEN_H
#define STK_TOOLS_LOG_OPEN_H

#include <stddef.h>

#include "events/log.h"

/* Writes "<data-dir>/log" into buf. Returns 0, or STK_ETOOBIG if it does not fit. */
int stk_tool_log_path(const char *data_dir_flag, char *buf, size_t cap);

/* Opens the log of the data directory (read_only: it must exist already). Returns 0 and
 * *out (close with stk_log_close), or the errors of stk_log_open. */
int stk_tool_log_open(stk_log_t **out, const char *data_dir_flag, int read_only);

/* Prints why the log could not be opened and returns the matching STK_EXIT_* code. */
int stk_tool_log_open_fail(const char *cmd, const char *data_dir_flag, int err);

#endif
