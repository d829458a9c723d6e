/* net/problem.c — RFC 9457 problem+json bodies. See problem.h. */
#include "net/problem.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int set_str(json_t *o, const char *key, const char *val)
{
    return json_object_set_new(o, key, json_string(val ? val : ""));
}

json_t *stk_problem_build(int status, const char *type, const char *title, const char *detail,
                          const stk_problem_error_t *errors, size_t n_errors)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = set_str(o, "type", type ? type : "about:blank");
    rc |= set_str(o, "title", title ? title : stk_http_status_reason(status));
    rc |= json_object_set_new(o, "status", json_integer(status));
    if (detail)
        rc |= set_str(o, "detail", detail);
    if (n_errors && errors) {
        json_t *arr = json_array();
        rc |= json_object_set_new(o, "errors", arr);
        for (size_t i = 0; arr && i < n_errors; i++) {
            json_t *e = json_object();
            if (!e) {
                rc = -1;
                break;
            }
            rc |= set_str(e, "field", errors[i].field);
            rc |= set_str(e, "code", errors[i].code);
            rc |= set_str(e, "message", errors[i].message);
            rc |= json_array_append_new(arr, e);
        }
    }
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int stk_problem_send(stk_http_res_t *res, int status, const char *type, const char *title,
                     const char *detail, const stk_problem_error_t *errors, size_t n_errors)
{
    json_t *o = stk_problem_build(status, type, title, detail, errors, n_errors);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        (void)stk_http_res_send(res, 500, NULL, NULL, 0);
        return STK_ENOMEM;
    }
    return stk_http_res_send_borrowed(res, status, STK_PROBLEM_CONTENT_TYPE, s, strlen(s), free, s);
}
