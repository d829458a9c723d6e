/* net/metrics.h — a small registry of Prometheus metric families (text format 0.0.4).
 *
 * Any module of `stockade serve` registers its families here (counters, gauges, histograms,
 * each with 0..STK_METRICS_LABELS_MAX label names) and updates them; GET /metrics renders
 * the whole registry. Collectors (callbacks run at every scrape) let a module set gauges
 * from live state right before rendering — sessions by state, connected clients — instead
 * of tracking every change. The app (net/app.h) creates one registry; modules reach it with
 * stk_app_metrics().
 *
 * It is not an HTTP handler (net/api_health.c serves it) and not thread-safe: every call
 * runs on the loop thread (counts from other threads reach the loop through
 * stk_server_post first, or are read at scrape time by a collector).
 *
 * Limits: STK_METRICS_FAMILIES_MAX families, STK_METRICS_SERIES_MAX label-value sets per
 * family (a further set is folded into one series whose every label is "other", so a peer
 * that controls a label value cannot grow memory), STK_METRICS_BUCKETS_MAX buckets.
 */
#ifndef STK_NET_METRICS_H
#define STK_NET_METRICS_H

#include <stddef.h>

#define STK_METRICS_FAMILIES_MAX 128
#define STK_METRICS_SERIES_MAX   512
#define STK_METRICS_LABELS_MAX   3
#define STK_METRICS_BUCKETS_MAX  32
#define STK_METRICS_NAME_MAX     96  /* metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* */
#define STK_METRICS_VALUE_MAX    128 /* one label value, bytes (longer ones are cut) */

typedef struct stk_metrics stk_metrics_t;
typedef struct stk_metric stk_metric_t; /* one family */

/* Called at each render, before any family is written: set gauges here. */
typedef void (*stk_metrics_collect_cb)(stk_metrics_t *m, void *ud);

/* Creates an empty registry. Returns 0 or STK_ENOMEM. Free with stk_metrics_destroy. */
int stk_metrics_create(stk_metrics_t **out);
/* Frees the registry and every family (their pointers become invalid). NULL is a no-op. */
void stk_metrics_destroy(stk_metrics_t *m);

/* Registers a family. name and help are copied; labels: n_labels label names (copied;
 * may be NULL when n_labels is 0). For a histogram, bounds are the upper bounds of the
 * buckets, strictly ascending (+Inf is implicit), n_bounds 1..STK_METRICS_BUCKETS_MAX.
 * Returns 0 and *out (borrowed, valid until stk_metrics_destroy); STK_EEXIST (name already
 * registered), STK_EINVAL (bad name, label or bounds), STK_EFULL (too many families),
 * STK_ENOMEM. */
int stk_metrics_counter(stk_metrics_t *m, const char *name, const char *help,
                        const char *const *labels, size_t n_labels, stk_metric_t **out);
int stk_metrics_gauge(stk_metrics_t *m, const char *name, const char *help,
                      const char *const *labels, size_t n_labels, stk_metric_t **out);
int stk_metrics_histogram(stk_metrics_t *m, const char *name, const char *help,
                          const char *const *labels, size_t n_labels, const double *bounds,
                          size_t n_bounds, stk_metric_t **out);

/* Registered family by name, or NULL. */
stk_metric_t *stk_metrics_find(stk_metrics_t *m, const char *name);

/* Adds a collector (fn, ud borrowed until destroy). Returns 0, STK_EFULL, STK_ENOMEM. */
int stk_metrics_collector(stk_metrics_t *m, stk_metrics_collect_cb fn, void *ud);

/* Updates the series of the label values lv[0..n_labels) (the family's label count; lv
 * may be NULL for a family without labels; values are copied). add: counters and gauges
 * (a counter ignores negative v); set: gauges, and counters that mirror a monotonic count
 * kept elsewhere (writer stats); observe: histograms. A call of the wrong kind is ignored. Never
 * fails: without memory the update is dropped. */
void stk_metric_add(stk_metric_t *f, const char *const *lv, double v);
void stk_metric_set(stk_metric_t *f, const char *const *lv, double v);
void stk_metric_observe(stk_metric_t *f, const char *const *lv, double v);
/* Sets every series of a gauge to 0 (before a collector re-fills it). */
void stk_metric_reset(stk_metric_t *f);
/* Current value of a counter/gauge series (0 if absent); the count of a histogram series. */
double stk_metric_value(stk_metric_t *f, const char *const *lv);

/* Runs the collectors and renders every family as Prometheus text 0.0.4 into *out
 * (malloc'd, NUL-terminated; caller frees), *len without the NUL. Returns 0 or
 * STK_ENOMEM. */
int stk_metrics_render(stk_metrics_t *m, char **out, size_t *len);

#define STK_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
