/* net/api_health.c — GET /healthz and GET /metrics.
 *
 * /healthz answers 200 {"status":"ok","head_seq":N} when the log can be read (503 problem
 * otherwise), so a load balancer sees a node that can serve. /metrics renders the app's
 * registry (net/metrics.h) as Prometheus text 0.0.4; other modules add their families
 * there (stk_app_metrics). Neither route needs authentication.
 */
#include "net/app.h"

#include "core/error.h"

#include <stdlib.h>

static void healthz(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    stk_app_t *app = arg;
    uint64_t head = 0;
    int rc = stk_log_head(stk_app_log(app), &head, NULL);
    if (rc != 0) {
        stk_app_problem(res, 503, NULL, "the event log cannot be read: %s", stk_strerror(rc));
        return;
    }
    json_t *j = json_pack("{s:s, s:I}", "status", stk_app_stopping(app) ? "stopping" : "ok",
                          "head_seq", (json_int_t)head);
    stk_app_send_json_new(res, 200, j);
}

static void free_text(void *p)
{
    free(p);
}

static void metrics(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    stk_app_t *app = arg;
    char *text = NULL;
    size_t len = 0;
    int rc = stk_metrics_render(stk_app_metrics(app), &text, &len);
    if (rc != 0) {
        stk_app_problem_err(res, rc, NULL, NULL);
        return;
    }
    stk_http_res_send_borrowed(res, 200, STK_METRICS_CONTENT_TYPE, text, len, free_text, text);
}

int stk_api_health_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n)
{
    const stk_route_t routes[] = {
        {"GET", "/healthz", healthz, app, 0},
        {"GET", "/metrics", metrics, app, 0},
    };
    return stk_app_routes(routes, sizeof routes / sizeof routes[0], out, cap, n);
}
