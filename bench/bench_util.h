/* bench/bench_util.h — the small toolkit every Stockade benchmark shares: a monotonic
 * clock, percentiles, environment knobs, resident-memory probes, throw-away directories
 * and the one output format that bench/run collects.
 *
 * It is not a benchmark framework: no warm-up policy, no statistics beyond percentiles,
 * no registration. Each bench_* executable is a plain main() that measures and prints
 * figure lines on stdout; anything else it says goes to stderr.
 *
 * Figure line (the only thing on stdout):
 *   <name> <value> <unit> [peer=<name> <value>] [ratio=<x>]
 *
 * Thread: stk_bench_now_ns() may be called from any thread; the rest from the main thread.
 */
#ifndef STK_BENCH_UTIL_H
#define STK_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define STK_BENCH_PATH_MAX 512

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t stk_bench_now_ns(void);

/* Unsigned integer knob from the environment: `name` if set and a whole number in
 * [min, max], else `def`. A set-but-invalid value is reported on stderr and ignored. */
uint64_t stk_bench_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max);

/* Sorts `v[0..n)` in place and returns the nearest-rank `pct` percentile (0 < pct <= 100);
 * 0 when n == 0. */
uint64_t stk_bench_percentile(uint64_t *v, size_t n, double pct);

/* Resident memory of this process from /proc/self/status, in KiB: VmRSS (everything
 * resident, including file-backed mapped pages such as an LMDB map), RssAnon (the process's
 * own heap and stacks) and RssFile (file-backed pages). Any out-pointer may be NULL.
 * Returns 0, or STK_EIO if /proc/self/status cannot be read or lacks a field. */
int stk_bench_rss_kib(uint64_t *vm_rss, uint64_t *rss_anon, uint64_t *rss_file);

/* Creates a fresh directory "<$STK_BENCH_DIR or /tmp>/stk-bench-<tag>-XXXXXX" and writes
 * its path into out[cap]. Returns 0, STK_ETOOBIG if the path does not fit, STK_EIO if
 * mkdtemp fails (out is then ""). The caller removes it with stk_bench_rmdir(). */
int stk_bench_mkdtemp(char *out, size_t cap, const char *tag);

/* Removes a directory made by stk_bench_mkdtemp() and the plain files in it (one level:
 * benchmarks keep no subdirectories). Returns 0 or STK_EIO. */
int stk_bench_rmdir(const char *dir);

/* Prints one figure line on stdout and flushes. `peer` may be NULL (no peer, no ratio);
 * `ratio` < 0 means "print no ratio". `decimals` applies to value and peer_value. A value
 * or peer_value that is NaN (not measured: its side failed) prints as "n/a", without ratio. */
void stk_bench_print(const char *name, double value, const char *unit, int decimals,
                     const char *peer, double peer_value, double ratio);

/* Formats a count the way figure names carry it: 10000000 -> "10M", 500000 -> "500k",
 * 1500000 -> "1.5M", 999 -> "999". Writes into out[cap] (truncates if cap is too small). */
void stk_bench_count_name(char *out, size_t cap, uint64_t n);

#endif
