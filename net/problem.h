/* net/problem.h — RFC 9457 problem details (application/problem+json).
 *
 * Builds the error bodies every Stockade HTTP error uses: {type, title, status, detail,
 * instance?, errors?: [{field, code, message}]}. `errors` is the field-level extension:
 * one entry per rejected input field, `code` a stable machine word ("required",
 * "too_long", "unsupported"), `message` for humans. This module only shapes the body and
 * completes a response; it decides no status codes and does no logging.
 *
 * Thread: any thread for stk_problem_build; stk_problem_send as for stk_http_res_send
 * (the loop thread in the server).
 */
#ifndef STK_NET_PROBLEM_H
#define STK_NET_PROBLEM_H

#include "net/http.h"

#include <jansson.h>

typedef struct stk_problem_error {
    const char *field;   /* JSON pointer-ish name of the field ("name", "bonuses.damage") */
    const char *code;    /* stable machine code */
    const char *message; /* human sentence */
} stk_problem_error_t;

#define STK_PROBLEM_CONTENT_TYPE "application/problem+json"

/* Builds the problem object. type NULL → "about:blank"; title NULL → the status's reason
 * phrase; detail NULL → omitted; errors may be NULL when n_errors is 0 (then no "errors"
 * member). Strings are copied. Returns a new reference (caller json_decref) or NULL on
 * out-of-memory. */
json_t *stk_problem_build(int status, const char *type, const char *title, const char *detail,
                          const stk_problem_error_t *errors, size_t n_errors);

/* Builds the problem and completes `res` with it (status, application/problem+json).
 * Always completes res (see stk_http_res_send); returns 0, STK_ENOMEM (a bare 500 went
 * out instead) or STK_EINVAL. */
int stk_problem_send(stk_http_res_t *res, int status, const char *type, const char *title,
                     const char *detail, const stk_problem_error_t *errors, size_t n_errors);

#endif
