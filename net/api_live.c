/* net/api_live.c — the WebSocket route GET /v1/sessions/{id}/live (docs/live-protocol.md):
 * authentication before the upgrade (Authorization: Bearer header or the `access_token`
 * query parameter, since browsers cannot set headers on WebSockets), then the hub takes the
 * socket (net/hub.h stk_hub_accept). Without either, the first message must be `auth`.
 * The route itself is registered by the sessions module (net/api_sessions.c), which owns the
 * hub. Thread: loop thread.
 */
#include "net/hub.h"

#include <string.h>

#include "core/error.h"
#include "net/auth_jwt.h"

void stk_api_live_handler(stk_http_req_t *req, stk_http_res_t *res, void *hub)
{
    stk_hub_t *h = hub;
    stk_app_t *app = stk_hub_app(h);
    stk_uuid_t id, user;
    if (stk_app_param_uuid(req, res, "id", &id) != 0)
        return;
    if (stk_app_stopping(app)) {
        stk_app_problem(res, 503, NULL, "the server is shutting down");
        return;
    }
    if (stk_http_req_header(req, "Authorization")) {
        if (stk_app_auth(app, req, res, &user) != 0)
            return;
        stk_hub_accept(h, &id, &user, req, res);
        return;
    }
    char token[STK_JWT_MAX + 1];
    int rc = stk_http_query_get(req->query, "access_token", token, sizeof token);
    if (rc == STK_ENOTFOUND) {
        stk_hub_accept(h, &id, NULL, req, res);
        return;
    }
    if (rc != 0) {
        stk_app_problem(res, 401, NULL, "access_token is malformed or too long");
        return;
    }
    stk_jwt_claims_t cl;
    stk_jwt_reason_t why = STK_JWT_OK;
    if (stk_jwt_verify(stk_app_jwt_key(app), token, strlen(token), STK_JWT_ACCESS, stk_app_now_s(),
                       &cl, &why) != 0) {
        stk_app_problem(res, 401, NULL, "%s", stk_jwt_reason_message(why));
        return;
    }
    user = cl.sub;
    stk_hub_accept(h, &id, &user, req, res);
}
