/* bench/bench_util.c — see bench_util.h. Plain libc and /proc; no Stockade state. */
#include "bench/bench_util.h"

#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t stk_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t stk_bench_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max)
{
    const char *s = getenv(name);
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || *s == '\0')
        return def;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || s[0] == '-' || v < min || v > max) {
        fprintf(stderr,
                "bench: ignoring %s=%s (want %" PRIu64 "..%" PRIu64 "), using %" PRIu64 "\n", name,
                s, min, max, def);
        return def;
    }
    return (uint64_t)v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t stk_bench_percentile(uint64_t *v, size_t n, double pct)
{
    size_t rank;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof v[0], cmp_u64);
    /* Nearest rank: the smallest value with at least pct% of samples at or below it. */
    rank = (size_t)((pct / 100.0) * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

int stk_bench_rss_kib(uint64_t *vm_rss, uint64_t *rss_anon, uint64_t *rss_file)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long v;
    int found = 0;

    if (f == NULL)
        return STK_EIO;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %llu kB", &v) == 1) {
            if (vm_rss != NULL)
                *vm_rss = v;
            found |= 1;
        } else if (sscanf(line, "RssAnon: %llu kB", &v) == 1) {
            if (rss_anon != NULL)
                *rss_anon = v;
            found |= 2;
        } else if (sscanf(line, "RssFile: %llu kB", &v) == 1) {
            if (rss_file != NULL)
                *rss_file = v;
            found |= 4;
        }
    }
    fclose(f);
    return found == 7 ? 0 : STK_EIO;
}

int stk_bench_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("STK_BENCH_DIR");
    int n;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    n = snprintf(out, cap, "%s/stk-bench-%s-XXXXXX", base, tag);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return STK_ETOOBIG;
    }
    if (mkdtemp(out) == NULL) {
        fprintf(stderr, "bench: mkdtemp %s: %s\n", out, strerror(errno));
        out[0] = '\0'; /* nothing for the caller to remove */
        return STK_EIO;
    }
    return 0;
}

int stk_bench_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[STK_BENCH_PATH_MAX];
    int rc = 0;

    if (d == NULL)
        return STK_EIO;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            unlink(path) != 0)
            rc = STK_EIO;
    }
    closedir(d);
    if (rmdir(dir) != 0)
        rc = STK_EIO;
    return rc;
}

void stk_bench_print(const char *name, double value, const char *unit, int decimals,
                     const char *peer, double peer_value, double ratio)
{
    if (isnan(value))
        printf("%s n/a %s", name, unit);
    else
        printf("%s %.*f %s", name, decimals, value, unit);
    if (peer != NULL) {
        if (isnan(peer_value))
            printf(" peer=%s n/a", peer);
        else
            printf(" peer=%s %.*f", peer, decimals, peer_value);
        if (ratio >= 0 && !isnan(value) && !isnan(peer_value))
            printf(" ratio=%.2f", ratio);
    }
    printf("\n");
    fflush(stdout);
}

void stk_bench_count_name(char *out, size_t cap, uint64_t n)
{
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(out, cap, "%" PRIu64 "M", n / 1000000);
    else if (n >= 1000000)
        snprintf(out, cap, "%.1fM", (double)n / 1e6);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(out, cap, "%" PRIu64 "k", n / 1000);
    else
        snprintf(out, cap, "%" PRIu64, n);
}
