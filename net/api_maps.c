/* net/api_maps.c — maps: draw, edit, publish/unpublish, rate, get (the contract's `maps`).
 *
 *   POST /v1/maps                 contract map JSON → 201 map        (MapDrawn)
 *   PUT  /v1/maps/{id}            contract map JSON → 200 map        owner (MapEdited)
 *   POST /v1/maps/{id}/publish    → 200 map                          owner (MapPublished true)
 *   POST /v1/maps/{id}/unpublish  → 200 map                          owner (MapPublished false)
 *   POST /v1/maps/{id}/rating     {stars: 0..5} → 200 {rating...}    any logged-in user who
 *                                 can see the map; one rating per user, the latest counts
 *   GET  /v1/maps/{id}            → 200 map: public maps for anyone, private ones only for
 *                                 their owner (404 for everyone else: no existence leak)
 *   GET  /v1/maps                 → 503 problem: listing and search are served from the
 *                                 PostgreSQL projection (a later issue)
 *   GET  /v1/users/me/maps        → 200 {"maps": [summary...]}: the caller's own maps,
 *                                 private ones included, without terrain (owner index)
 * The body is the contract's row shape (events/map_json.h): name, description, width,
 * height, terrain_data, spawn_point, goal_point, wave_config. A shape problem (missing key,
 * wrong kind) is reported for the first field found; then EVERY rule problem of the core
 * validator (core/map.h: ranges, spawn/goal, connectivity, waves) is listed, each as a
 * field error with its JSON path and its code in lower case ("no_path").
 * The answer's map carries the contract's columns plus rating_count, updated_at, version.
 *
 * Not here: listing and search (projections), play counts (the sessions module appends
 * SessionOpened; the model's index counts them).
 * Thread: loop thread.
 */
#include "net/app.h"

#include "core/error.h"
#include "core/map.h"
#include "events/map_json.h"
#include "events/payload.h"
#include "events/types.h"
#include "net/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAPS_PER_USER_MAX 1000
#define PROBLEMS_MAX      STK_APP_FIELDS_MAX

/* ---- validation ----------------------------------------------------------------------------- */

/* True if reason starts with a core problem name and ':' (map_json's rule-stage errors). */
static bool is_rule_problem(const char *reason)
{
    for (int c = 0; c < STK_MAP_PROBLEM_COUNT; c++) {
        const char *name = stk_map_problem_name(c);
        size_t n = strlen(name);
        if (strncmp(reason, name, n) == 0 && reason[n] == ':')
            return true;
    }
    return false;
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* Parses and validates the body into *doc; on failure fills f and returns non-zero. */
static int parse_map(const json_t *body, stk_map_doc_t *doc, stk_app_fields_t *f)
{
    stk_payload_error_t err;
    int rc = stk_map_json_from_object(body, doc, &err);
    if (rc == 0)
        return 0;
    if (rc != STK_ESCHEMA) {
        stk_app_fields_add(f, err.path[0] ? err.path : "body", "invalid", "%s", err.reason);
        return rc;
    }
    if (!is_rule_problem(err.reason)) {
        stk_app_fields_add(f, err.path[0] ? err.path : "body", "invalid", "%s", err.reason);
        return rc;
    }
    /* The shape was fine and doc->map is filled (map_json validates last): list every
     * rule problem, not only the first. */
    stk_map_problem_t *p = calloc(PROBLEMS_MAX, sizeof(*p));
    size_t count = 0;
    if (!p || stk_map_validate(&doc->map, p, PROBLEMS_MAX, &count) != STK_ESCHEMA || count == 0) {
        stk_app_fields_add(f, err.path, "invalid", "%s", err.reason);
    } else {
        for (size_t i = 0; i < count && i < PROBLEMS_MAX; i++) {
            char code[48];
            lower(stk_map_problem_name(p[i].code), code, sizeof code);
            stk_app_fields_add(f, p[i].field, code, "%s", p[i].message);
        }
        f->dropped += count > PROBLEMS_MAX ? count - PROBLEMS_MAX : 0;
    }
    free(p);
    return rc;
}

/* ---- answers -------------------------------------------------------------------------------- */

static json_t *map_json(const stk_model_map_t *m)
{
    stk_map_doc_t *doc = malloc(sizeof(*doc));
    json_t *j = NULL;
    if (!doc)
        return NULL;
    memcpy(&doc->map, &m->map, sizeof doc->map);
    snprintf(doc->name, sizeof doc->name, "%s", m->name);
    snprintf(doc->description, sizeof doc->description, "%s", m->description);
    if (stk_map_json_to_object(doc, &j) != 0) {
        free(doc);
        return NULL;
    }
    free(doc);
    char id[STK_UUID_STR_LEN + 1], uid[STK_UUID_STR_LEN + 1];
    char created[STK_APP_ISO_LEN], updated[STK_APP_ISO_LEN];
    stk_uuid_format(&m->id, id);
    stk_uuid_format(&m->user_id, uid);
    stk_app_iso8601(m->created_us, created);
    stk_app_iso8601(m->updated_us, updated);
    int bad = json_object_set_new(j, "id", json_string(id));
    bad |= json_object_set_new(j, "user_id", json_string(uid));
    bad |= json_object_set_new(j, "is_public", json_boolean(m->is_public));
    bad |= json_object_set_new(j, "play_count", json_integer((json_int_t)m->play_count));
    bad |= json_object_set_new(j, "rating", json_real(m->rating_centi / 100.0));
    bad |= json_object_set_new(j, "rating_count", json_integer((json_int_t)m->rating_count));
    bad |= json_object_set_new(j, "created_at", json_string(created));
    bad |= json_object_set_new(j, "updated_at", json_string(updated));
    bad |= json_object_set_new(j, "version", json_integer((json_int_t)m->version));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Optional authentication: the caller's user id if a valid access token was sent. */
static bool viewer(stk_app_t *app, stk_http_req_t *req, stk_uuid_t *user)
{
    const char *h = stk_http_req_header(req, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    stk_jwt_claims_t c;
    if (stk_jwt_verify(stk_app_jwt_key(app), h + 7, strlen(h + 7), STK_JWT_ACCESS, stk_app_now_s(),
                       &c, NULL) != 0)
        return false;
    *user = c.sub;
    return true;
}

/* Loads the map of the {id} parameter (m: a caller allocation). Visible: public, or the
 * viewer's own. owner_only: the caller must own it (403 if it is visible but not theirs).
 * Returns 0 or non-zero with res answered. */
static int load(stk_app_t *app, stk_http_req_t *req, stk_http_res_t *res, const stk_uuid_t *user,
                bool owner_only, stk_model_map_t *m)
{
    stk_uuid_t id;
    if (stk_app_param_uuid(req, res, "id", &id))
        return STK_ENOTFOUND;
    int rc = stk_model_map(stk_app_model(app), stk_app_log(app), &id, m);
    bool own = rc == 0 && user && stk_uuid_eq(&m->user_id, user);
    if (rc == 0 && !m->is_public && !own)
        rc = STK_ENOTFOUND;
    return stk_app_loaded(res, rc, "map", owner_only && !own);
}

static void answer_map(stk_app_t *app, stk_http_res_t *res, const stk_uuid_t *id, int status)
{
    stk_model_map_t *m = malloc(sizeof(*m));
    int rc = m ? stk_model_map(stk_app_model(app), stk_app_log(app), id, m) : STK_ENOMEM;
    if (rc) {
        stk_app_problem_err(res, rc, NULL, NULL);
    } else {
        stk_app_etag(res, m->version);
        stk_app_send_json_new(res, status, map_json(m));
    }
    free(m);
}

/* ---- commands ------------------------------------------------------------------------------- */

/* After a commit: a rating (arg: the stars, >= 0) answers the map's new rating, any other
 * command the map itself. */
static void answered(stk_app_t *app, stk_http_res_t *res, const stk_app_cmd_t *cmd)
{
    if (cmd->arg < 0) {
        answer_map(app, res, &cmd->stream, cmd->ok_status);
        return;
    }
    stk_model_map_t *m = malloc(sizeof(*m));
    int rc = m ? stk_model_map(stk_app_model(app), stk_app_log(app), &cmd->stream, m) : STK_ENOMEM;
    char id[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&cmd->stream, id);
    if (rc)
        stk_app_problem_err(res, rc, NULL, NULL);
    else
        stk_app_send_json_new(res, 200,
                              json_pack("{s:s, s:i, s:f, s:I}", "map_id", id, "stars", cmd->arg,
                                        "rating", m->rating_centi / 100.0, "rating_count",
                                        (json_int_t)m->rating_count));
    free(m);
}

static void submit(stk_app_t *app, stk_http_res_t *res, const stk_uuid_t *id,
                   const stk_uuid_t *user, uint16_t type, const msgpack_sbuffer *sb,
                   uint64_t expected, int ok_status, int stars)
{
    int rc = stk_payload_check(type, 1, (const uint8_t *)sb->data, sb->size, NULL);
    if (rc) {
        stk_app_problem_err(res, rc, "the map does not fit the event schema", NULL);
        return;
    }
    stk_app_cmd_t cmd = {
        .type = type,
        .stream = *id,
        .actor = *user,
        .payload = (const uint8_t *)sb->data,
        .payload_len = sb->size,
        .expected = expected,
        .ok_status = ok_status,
        .arg = stars,
    };
    stk_app_command(app, res, &cmd, answered);
}

/* Parses the body of POST/PUT into an encoded MapDrawn/MapEdited payload in sb. Returns 0
 * or non-zero with res answered. */
static int read_map_body(stk_http_req_t *req, stk_http_res_t *res, uint16_t type,
                         const stk_uuid_t *user, msgpack_sbuffer *sb)
{
    json_t *body;
    if (stk_app_json_body(req, res, &body))
        return STK_EINVAL;
    stk_map_doc_t *doc = malloc(sizeof(*doc));
    stk_app_fields_t *f = malloc(sizeof(*f));
    int rc = doc && f ? 0 : STK_ENOMEM;
    if (rc) {
        stk_app_problem_err(res, rc, NULL, NULL);
        goto done;
    }
    stk_app_fields_init(f);
    rc = parse_map(body, doc, f);
    if (rc) {
        stk_app_problem_fields(res, f);
        goto done;
    }
    rc = stk_map_json_to_payload(doc, type, user, sb);
    if (rc)
        stk_app_problem_err(res, rc, "the map does not fit the event schema", NULL);
done:
    json_decref(body);
    free(doc);
    free(f);
    return rc;
}

static void h_create(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    size_t have = 0;
    stk_model_user_maps(stk_app_model(app), &user, NULL, 0, &have);
    if (have >= MAPS_PER_USER_MAX) {
        stk_app_problem(res, 409, NULL, "a user may draw at most %d maps", MAPS_PER_USER_MAX);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (read_map_body(req, res, STK_EV_MAP_DRAWN, &user, &sb) == 0) {
        stk_uuid_t id;
        stk_uuid_random(&id);
        char ids[STK_UUID_STR_LEN + 1], loc[64];
        stk_uuid_format(&id, ids);
        snprintf(loc, sizeof loc, "/v1/maps/%s", ids);
        stk_http_res_header(res, "Location", loc);
        submit(app, res, &id, &user, STK_EV_MAP_DRAWN, &sb, STK_VERSION_NONE, 201, -1);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void h_edit(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    stk_model_map_t *m = malloc(sizeof(*m));
    if (!m) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint64_t expected;
    if (load(app, req, res, &user, true, m) == 0 &&
        stk_app_expected_version(req, res, m->version, &expected) == 0 &&
        read_map_body(req, res, STK_EV_MAP_EDITED, NULL, &sb) == 0)
        submit(app, res, &m->id, &user, STK_EV_MAP_EDITED, &sb, expected, 200, -1);
    msgpack_sbuffer_destroy(&sb);
    free(m);
}

static void publish(stk_http_req_t *req, stk_http_res_t *res, stk_app_t *app, bool pub)
{
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    stk_model_map_t *m = malloc(sizeof(*m));
    if (!m) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    uint64_t expected;
    if (load(app, req, res, &user, true, m) == 0 &&
        stk_app_expected_version(req, res, m->version, &expected) == 0) {
        if (m->is_public == pub && expected == m->version) {
            /* Already so: nothing to record. */
            stk_app_etag(res, m->version);
            m->play_count = stk_model_play_count(stk_app_model(app), &m->id);
            stk_app_send_json_new(res, 200, map_json(m));
        } else {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            if (msgpack_pack_map(&pk, 1) || stk_payload_put_bool(&pk, "public", pub))
                stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
            else
                submit(app, res, &m->id, &user, STK_EV_MAP_PUBLISHED, &sb, expected, 200, -1);
            msgpack_sbuffer_destroy(&sb);
        }
    }
    free(m);
}

static void h_publish(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    publish(req, res, arg, true);
}

static void h_unpublish(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    publish(req, res, arg, false);
}

static void h_rate(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    json_t *body = NULL;
    stk_model_map_t *m = malloc(sizeof(*m));
    if (!m) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    if (load(app, req, res, &user, false, m) || stk_app_json_body(req, res, &body)) {
        free(m);
        return;
    }
    const json_t *v = json_object_get(body, "stars");
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    if (!v)
        stk_app_fields_add(&f, "stars", "required", "stars is required");
    else if (!json_is_integer(v))
        stk_app_fields_add(&f, "stars", "type", "stars must be a whole number 0..5");
    else if (json_integer_value(v) < 0 || json_integer_value(v) > 5)
        stk_app_fields_add(&f, "stars", "range", "stars must be 0..5");
    int stars = f.n ? 0 : (int)json_integer_value(v);
    json_decref(body);
    if (f.n) {
        stk_app_problem_fields(res, &f);
        free(m);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_map(&pk, 2) || stk_payload_put_uuid(&pk, "user_id", &user) ||
        stk_payload_put_uint(&pk, "stars", (uint64_t)stars))
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
    else /* ratings never conflict with edits: any version */
        submit(app, res, &m->id, &user, STK_EV_MAP_RATED, &sb, STK_VERSION_ANY, 200, stars);
    msgpack_sbuffer_destroy(&sb);
    free(m);
}

static void h_get(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    bool who = viewer(app, req, &user);
    stk_model_map_t *m = malloc(sizeof(*m));
    if (!m) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    if (load(app, req, res, who ? &user : NULL, false, m) == 0) {
        stk_app_etag(res, m->version);
        stk_app_send_json_new(res, 200, map_json(m));
    }
    free(m);
}

/* The caller's own maps (private ones too), as summaries without the terrain, in drawing
 * order. Served from the write model's owner index until the projections serve listings. */
static void h_mine(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    size_t n = 0;
    stk_model_user_maps(stk_app_model(app), &user, NULL, 0, &n);
    if (n > MAPS_PER_USER_MAX)
        n = MAPS_PER_USER_MAX;
    stk_uuid_t *ids = calloc(n ? n : 1, sizeof(*ids));
    stk_model_map_t *m = malloc(sizeof(*m));
    json_t *arr = json_array();
    int rc = ids && m && arr ? 0 : STK_ENOMEM;
    if (rc == 0)
        stk_model_user_maps(stk_app_model(app), &user, ids, n, &n);
    for (size_t i = 0; rc == 0 && i < n && i < MAPS_PER_USER_MAX; i++) {
        rc = stk_model_map(stk_app_model(app), stk_app_log(app), &ids[i], m);
        if (rc)
            break;
        char id[STK_UUID_STR_LEN + 1], created[STK_APP_ISO_LEN], updated[STK_APP_ISO_LEN];
        stk_uuid_format(&m->id, id);
        stk_app_iso8601(m->created_us, created);
        stk_app_iso8601(m->updated_us, updated);
        json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:b, s:I, s:f, s:I, s:s, s:s, s:I}", "id", id,
                              "name", m->name, "width", (int)m->map.width, "height",
                              (int)m->map.height, "is_public", m->is_public, "play_count",
                              (json_int_t)m->play_count, "rating", m->rating_centi / 100.0,
                              "rating_count", (json_int_t)m->rating_count, "created_at", created,
                              "updated_at", updated, "version", (json_int_t)m->version);
        rc = json_array_append_new(arr, j) ? STK_ENOMEM : 0;
    }
    free(ids);
    free(m);
    if (rc) {
        json_decref(arr);
        stk_app_problem_err(res, rc, NULL, NULL);
        return;
    }
    stk_app_send_json_new(res, 200, json_pack("{s:o}", "maps", arr));
}

static void h_list(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    (void)arg;
    stk_app_problem(res, 503, NULL,
                    "projections not configured: map listing and search are served from "
                    "PostgreSQL (DATABASE_URL and `stockade project`); get a map by id instead");
}

int stk_api_maps_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n)
{
    const stk_route_t routes[] = {
        {"POST", "/v1/maps", h_create, app, 0},
        {"GET", "/v1/maps", h_list, app, 0},
        {"GET", "/v1/maps/{id}", h_get, app, 0},
        {"PUT", "/v1/maps/{id}", h_edit, app, 0},
        {"POST", "/v1/maps/{id}/publish", h_publish, app, 0},
        {"POST", "/v1/maps/{id}/unpublish", h_unpublish, app, 0},
        {"POST", "/v1/maps/{id}/rating", h_rate, app, 0},
        {"GET", "/v1/users/me/maps", h_mine, app, 0},
    };
    return stk_app_routes(routes, sizeof routes / sizeof routes[0], out, cap, n);
}
