/* net/metrics.c — the Prometheus metric registry (see net/metrics.h).
 *
 * Families live in a fixed array; each family keeps its series in a small array searched
 * linearly (at most STK_METRICS_SERIES_MAX, so a scan is cheap and the memory is bounded).
 * A series is identified by its label values joined with a 0x1f separator.
 */
#include "net/metrics.h"

#include "core/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

typedef struct series {
    char *key;         /* label values joined by 0x1f; "" without labels */
    double value;      /* counter / gauge */
    double sum;        /* histogram */
    uint64_t count;    /* histogram */
    uint64_t *buckets; /* histogram: n_bounds cumulative-at-render counts (not cumul.) */
} series_t;

struct stk_metric {
    kind_t kind;
    char *name, *help;
    size_t n_labels;
    char *labels[STK_METRICS_LABELS_MAX];
    size_t n_bounds;
    double bounds[STK_METRICS_BUCKETS_MAX];
    size_t n_series;
    series_t series[STK_METRICS_SERIES_MAX];
};

typedef struct collector {
    stk_metrics_collect_cb fn;
    void *ud;
} collector_t;

struct stk_metrics {
    size_t n;
    stk_metric_t *f[STK_METRICS_FAMILIES_MAX];
    size_t n_collectors;
    collector_t collectors[STK_METRICS_FAMILIES_MAX];
};

static int valid_name(const char *s, int allow_colon)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > STK_METRICS_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

int stk_metrics_create(stk_metrics_t **out)
{
    stk_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return STK_ENOMEM;
    *out = m;
    return 0;
}

static void family_free(stk_metric_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_series; i++) {
        free(f->series[i].key);
        free(f->series[i].buckets);
    }
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void stk_metrics_destroy(stk_metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        family_free(m->f[i]);
    free(m);
}

stk_metric_t *stk_metrics_find(stk_metrics_t *m, const char *name)
{
    for (size_t i = 0; m && name && i < m->n; i++) {
        if (strcmp(m->f[i]->name, name) == 0)
            return m->f[i];
    }
    return NULL;
}

static int add_family(stk_metrics_t *m, kind_t kind, const char *name, const char *help,
                      const char *const *labels, size_t n_labels, const double *bounds,
                      size_t n_bounds, stk_metric_t **out)
{
    if (!m || !out || !valid_name(name, 1) || n_labels > STK_METRICS_LABELS_MAX ||
        (n_labels > 0 && !labels))
        return STK_EINVAL;
    for (size_t i = 0; i < n_labels; i++) {
        if (!valid_name(labels[i], 0) || strncmp(labels[i], "__", 2) == 0 ||
            (kind == KIND_HISTOGRAM && strcmp(labels[i], "le") == 0))
            return STK_EINVAL;
    }
    if (kind == KIND_HISTOGRAM) {
        if (!bounds || n_bounds == 0 || n_bounds > STK_METRICS_BUCKETS_MAX)
            return STK_EINVAL;
        for (size_t i = 0; i < n_bounds; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                return STK_EINVAL;
        }
    }
    if (stk_metrics_find(m, name))
        return STK_EEXIST;
    if (m->n == STK_METRICS_FAMILIES_MAX)
        return STK_EFULL;
    stk_metric_t *f = calloc(1, sizeof(*f));
    if (!f)
        return STK_ENOMEM;
    f->kind = kind;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help)
        goto fail;
    for (size_t i = 0; i < n_labels; i++) {
        f->labels[i] = strdup(labels[i]);
        if (!f->labels[i])
            goto fail;
        f->n_labels = i + 1;
    }
    f->n_labels = n_labels;
    if (kind == KIND_HISTOGRAM) {
        memcpy(f->bounds, bounds, n_bounds * sizeof(double));
        f->n_bounds = n_bounds;
    }
    m->f[m->n++] = f;
    *out = f;
    return 0;
fail:
    family_free(f);
    return STK_ENOMEM;
}

int stk_metrics_counter(stk_metrics_t *m, const char *name, const char *help,
                        const char *const *labels, size_t n_labels, stk_metric_t **out)
{
    return add_family(m, KIND_COUNTER, name, help, labels, n_labels, NULL, 0, out);
}

int stk_metrics_gauge(stk_metrics_t *m, const char *name, const char *help,
                      const char *const *labels, size_t n_labels, stk_metric_t **out)
{
    return add_family(m, KIND_GAUGE, name, help, labels, n_labels, NULL, 0, out);
}

int stk_metrics_histogram(stk_metrics_t *m, const char *name, const char *help,
                          const char *const *labels, size_t n_labels, const double *bounds,
                          size_t n_bounds, stk_metric_t **out)
{
    return add_family(m, KIND_HISTOGRAM, name, help, labels, n_labels, bounds, n_bounds, out);
}

int stk_metrics_collector(stk_metrics_t *m, stk_metrics_collect_cb fn, void *ud)
{
    if (!m || !fn)
        return STK_EINVAL;
    if (m->n_collectors == STK_METRICS_FAMILIES_MAX)
        return STK_EFULL;
    m->collectors[m->n_collectors].fn = fn;
    m->collectors[m->n_collectors].ud = ud;
    m->n_collectors++;
    return 0;
}

/* Joins the label values into buf ("" without labels); values are cut at
 * STK_METRICS_VALUE_MAX bytes. */
static void make_key(const stk_metric_t *f, const char *const *lv, const char *forced, char *buf,
                     size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = forced ? forced : (lv && lv[i] ? lv[i] : "");
        size_t len = strnlen(v, STK_METRICS_VALUE_MAX);
        if (used + len + 2 > cap)
            len = cap > used + 2 ? cap - used - 2 : 0;
        memcpy(buf + used, v, len);
        used += len;
        if (i + 1 < f->n_labels)
            buf[used++] = '\x1f';
        buf[used] = '\0';
    }
}

#define KEY_CAP (STK_METRICS_LABELS_MAX * (STK_METRICS_VALUE_MAX + 1) + 1)

static series_t *find_series(stk_metric_t *f, const char *key)
{
    for (size_t i = 0; i < f->n_series; i++) {
        if (strcmp(f->series[i].key, key) == 0)
            return &f->series[i];
    }
    return NULL;
}

static series_t *get_series(stk_metric_t *f, const char *const *lv)
{
    char key[KEY_CAP];
    make_key(f, lv, NULL, key, sizeof key);
    series_t *s = find_series(f, key);
    if (s)
        return s;
    if (f->n_series >= STK_METRICS_SERIES_MAX - 1 && f->n_labels > 0) {
        /* The last slot is reserved for the overflow series. */
        make_key(f, NULL, "other", key, sizeof key);
        s = find_series(f, key);
        if (s)
            return s;
        if (f->n_series == STK_METRICS_SERIES_MAX)
            return NULL;
    } else if (f->n_series == STK_METRICS_SERIES_MAX) {
        return NULL;
    }
    s = &f->series[f->n_series];
    memset(s, 0, sizeof(*s));
    s->key = strdup(key);
    if (!s->key)
        return NULL;
    if (f->kind == KIND_HISTOGRAM) {
        s->buckets = calloc(f->n_bounds, sizeof(uint64_t));
        if (!s->buckets) {
            free(s->key);
            s->key = NULL;
            return NULL;
        }
    }
    f->n_series++;
    return s;
}

void stk_metric_add(stk_metric_t *f, const char *const *lv, double v)
{
    if (!f || f->kind == KIND_HISTOGRAM || (f->kind == KIND_COUNTER && !(v >= 0)))
        return;
    series_t *s = get_series(f, lv);
    if (s)
        s->value += v;
}

void stk_metric_set(stk_metric_t *f, const char *const *lv, double v)
{
    if (!f || f->kind == KIND_HISTOGRAM)
        return;
    series_t *s = get_series(f, lv);
    if (s)
        s->value = v;
}

void stk_metric_observe(stk_metric_t *f, const char *const *lv, double v)
{
    if (!f || f->kind != KIND_HISTOGRAM || isnan(v))
        return;
    series_t *s = get_series(f, lv);
    if (!s)
        return;
    s->count++;
    s->sum += v;
    for (size_t i = 0; i < f->n_bounds; i++) {
        if (v <= f->bounds[i]) {
            s->buckets[i]++;
            break;
        }
    }
}

void stk_metric_reset(stk_metric_t *f)
{
    if (!f || f->kind != KIND_GAUGE)
        return;
    for (size_t i = 0; i < f->n_series; i++)
        f->series[i].value = 0;
}

double stk_metric_value(stk_metric_t *f, const char *const *lv)
{
    if (!f)
        return 0;
    char key[KEY_CAP];
    make_key(f, lv, NULL, key, sizeof key);
    series_t *s = find_series(f, key);
    if (!s)
        return 0;
    return f->kind == KIND_HISTOGRAM ? (double)s->count : s->value;
}

/* ---- rendering -------------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Text 0.0.4 escaping: help escapes \ and newline; label values also ". */
static void put_escaped(buf_t *b, const char *s, size_t n, int quote)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            puts_(b, "\\\\");
        else if (s[i] == '\n')
            puts_(b, "\\n");
        else if (quote && s[i] == '"')
            puts_(b, "\\\"");
        else
            put(b, &s[i], 1);
    }
}

static void put_value(buf_t *b, double v)
{
    if (isnan(v))
        puts_(b, "NaN");
    else if (isinf(v))
        puts_(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        putf(b, "%.0f", v);
    else
        putf(b, "%.15g", v);
}

/* Writes {a="x",b="y"[,extra]} for a series key; nothing if there are no labels and no
 * extra. */
static void put_labels(buf_t *b, const stk_metric_t *f, const char *key, const char *extra)
{
    if (f->n_labels == 0 && !extra)
        return;
    puts_(b, "{");
    const char *p = key;
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *end = strchr(p, '\x1f');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (i > 0)
            puts_(b, ",");
        puts_(b, f->labels[i]);
        puts_(b, "=\"");
        put_escaped(b, p, n, 1);
        puts_(b, "\"");
        p = end ? end + 1 : p + n;
    }
    if (extra) {
        if (f->n_labels > 0)
            puts_(b, ",");
        puts_(b, extra);
    }
    puts_(b, "}");
}

int stk_metrics_render(stk_metrics_t *m, char **out, size_t *len)
{
    if (!m || !out)
        return STK_EINVAL;
    for (size_t i = 0; i < m->n_collectors; i++)
        m->collectors[i].fn(m, m->collectors[i].ud);
    buf_t b = {0};
    puts_(&b, "");
    for (size_t i = 0; i < m->n; i++) {
        const stk_metric_t *f = m->f[i];
        static const char *const kinds[] = {"counter", "gauge", "histogram"};
        putf(&b, "# HELP %s ", f->name);
        put_escaped(&b, f->help, strlen(f->help), 0);
        putf(&b, "\n# TYPE %s %s\n", f->name, kinds[f->kind]);
        if (f->n_series == 0 && f->n_labels == 0 && f->kind != KIND_HISTOGRAM) {
            putf(&b, "%s 0\n", f->name);
            continue;
        }
        for (size_t s = 0; s < f->n_series; s++) {
            const series_t *se = &f->series[s];
            if (f->kind != KIND_HISTOGRAM) {
                puts_(&b, f->name);
                put_labels(&b, f, se->key, NULL);
                puts_(&b, " ");
                put_value(&b, se->value);
                puts_(&b, "\n");
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k <= f->n_bounds; k++) {
                char le[64];
                if (k < f->n_bounds) {
                    cum += se->buckets[k];
                    snprintf(le, sizeof le, "le=\"%.15g\"", f->bounds[k]);
                } else {
                    cum = se->count;
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                }
                putf(&b, "%s_bucket", f->name);
                put_labels(&b, f, se->key, le);
                putf(&b, " %llu\n", (unsigned long long)cum);
            }
            putf(&b, "%s_sum", f->name);
            put_labels(&b, f, se->key, NULL);
            puts_(&b, " ");
            put_value(&b, se->sum);
            putf(&b, "\n%s_count", f->name);
            put_labels(&b, f, se->key, NULL);
            putf(&b, " %llu\n", (unsigned long long)se->count);
        }
    }
    if (b.oom) {
        free(b.p);
        return STK_ENOMEM;
    }
    *out = b.p;
    if (len)
        *len = b.len;
    return 0;
}
