/* net/api_tribes.c — tribes: found, list own, get, update, delete (the contract's `tribes`).
 *
 *   POST   /v1/tribes        body → 201 tribe          (TribeFounded)
 *   GET    /v1/tribes        → 200 {"tribes": [...]}    the caller's live tribes
 *   GET    /v1/tribes/{id}   → 200 tribe                any logged-in user
 *   PUT    /v1/tribes/{id}   body → 200 tribe           owner only (TribeUpdated)
 *   DELETE /v1/tribes/{id}   → 204                      owner only (TribeDeleted)
 * Body: {name, archetype, damage_bonus, attack_speed_bonus, range_bonus, color_theme}, all
 * required (PUT replaces the whole tribe). Every CHECK of the contract is validated with a
 * field error each: name 1..100 characters; archetype one of Aggressive, Defensive,
 * Balanced, Support; each bonus a DECIMAL(5,2) in 0..0.50, given as a JSON number (0.25) or
 * a decimal string ("0.25", as Prisma sends Decimal), converted exactly to basis points; the
 * three summing to exactly 0.50; color_theme #RRGGBB.
 *
 * A tribe that played in a game session cannot be deleted (409): the contract's
 * session_players.tribe_id is ON DELETE RESTRICT.
 * Concurrency: an update or delete appends with the stream version it was validated
 * against (or the If-Match version the client sends, "3" or "\"3\""), so a concurrent change
 * makes it fail with 409 instead of overwriting. Every answer carries "version" and an ETag.
 *
 * Not here: using a tribe in a session (the sessions module copies its bonuses at join).
 * Thread: loop thread.
 */
#include "net/app.h"

#include "core/error.h"
#include "events/payload.h"
#include "events/types.h"
#include "net/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIBES_PER_USER_MAX 100
#define NAME_MAX_CP         100
#define BONUS_TOTAL_BP      5000
#define BONUS_MAX_BP        5000

typedef struct tribe_in {
    char name[NAME_MAX_CP * 4 + 1];
    size_t name_len;
    const char *archetype;
    uint32_t bp[3];
    char color[8];
} tribe_in_t;

static const char *const bonus_keys[3] = {"damage_bonus", "attack_speed_bonus", "range_bonus"};
static const char *const bp_keys[3] = {"damage_bp", "attack_speed_bp", "range_bp"};
static const char *const archetypes[] = {"Aggressive", "Defensive", "Balanced", "Support"};

static size_t codepoints(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* A DECIMAL(5,2) bonus → basis points, exactly. Numbers: at most two decimals (checked
 * on the value × 100, whose distance to an integer is far below 1e-6 for any such
 * decimal). Strings: "0", "0.5", "0.25", optional leading '+'/'-'. Returns 0 or a code. */
static const char *parse_bonus(const json_t *v, long *bp)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -1000 || i > 1000)
            return "range";
        *bp = (long)i * 10000;
        return NULL;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v) * 100.0;
        double r = round(d);
        if (!isfinite(d) || fabs(d) > 100000.0)
            return "range";
        if (fabs(d - r) > 1e-6)
            return "precision";
        *bp = (long)r * 100;
        return NULL;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        int neg = 0;
        if (*s == '+' || *s == '-')
            neg = *s++ == '-';
        long whole = 0, frac = 0;
        int nd = 0, nf = 0;
        for (; *s >= '0' && *s <= '9'; s++, nd++) {
            if (nd > 3)
                return "range";
            whole = whole * 10 + (*s - '0');
        }
        if (*s == '.') {
            s++;
            for (; *s >= '0' && *s <= '9'; s++, nf++) {
                if (nf == 2)
                    return "precision";
                frac = frac * 10 + (*s - '0');
            }
            if (nf == 0)
                return "type";
        }
        if (*s != '\0' || nd == 0)
            return "type";
        if (nf == 1)
            frac *= 10;
        *bp = (whole * 100 + frac) * 100 * (neg ? -1 : 1);
        return NULL;
    }
    return "type";
}

static bool color_ok(const char *s, size_t len)
{
    if (len != 7 || s[0] != '#')
        return false;
    for (size_t i = 1; i < 7; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* Validates a tribe body into *in; every problem becomes a field error. */
static void parse_tribe(const json_t *body, tribe_in_t *in, stk_app_fields_t *f)
{
    memset(in, 0, sizeof(*in));
    const json_t *v = json_object_get(body, "name");
    if (!v) {
        stk_app_fields_add(f, "name", "required", "name is required");
    } else if (!json_is_string(v)) {
        stk_app_fields_add(f, "name", "type", "name must be a string");
    } else {
        size_t len = json_string_length(v), cp = codepoints(json_string_value(v), len);
        if (cp < 1 || cp > NAME_MAX_CP || len >= sizeof in->name)
            stk_app_fields_add(f, "name", "length", "name must be 1..%d characters, not %zu",
                               NAME_MAX_CP, cp);
        else if (memchr(json_string_value(v), '\0', len))
            stk_app_fields_add(f, "name", "format", "name must not contain NUL");
        else {
            memcpy(in->name, json_string_value(v), len);
            in->name_len = len;
        }
    }
    v = json_object_get(body, "archetype");
    if (!v) {
        stk_app_fields_add(f, "archetype", "required", "archetype is required");
    } else {
        for (size_t i = 0; json_is_string(v) && i < sizeof archetypes / sizeof *archetypes; i++) {
            if (strcmp(json_string_value(v), archetypes[i]) == 0)
                in->archetype = archetypes[i];
        }
        if (!in->archetype)
            stk_app_fields_add(f, "archetype", "enum",
                               "archetype must be one of Aggressive, Defensive, Balanced, Support");
    }
    bool bonuses_ok = true;
    long sum = 0;
    for (int i = 0; i < 3; i++) {
        v = json_object_get(body, bonus_keys[i]);
        long bp = 0;
        const char *code = v ? parse_bonus(v, &bp) : "required";
        if (!code && (bp < 0 || bp > BONUS_MAX_BP))
            code = "range";
        if (code) {
            bonuses_ok = false;
            stk_app_fields_add(f, bonus_keys[i], code,
                               strcmp(code, "required") == 0 ? "%s is required"
                               : strcmp(code, "precision") == 0
                                   ? "%s must have at most two decimals"
                               : strcmp(code, "type") == 0 ? "%s must be a decimal number"
                                                           : "%s must be between 0 and 0.50",
                               bonus_keys[i]);
            continue;
        }
        in->bp[i] = (uint32_t)bp;
        sum += bp;
    }
    if (bonuses_ok && sum != BONUS_TOTAL_BP)
        stk_app_fields_add(f, "bonuses", "sum",
                           "damage_bonus + attack_speed_bonus + range_bonus must be exactly 0.50, "
                           "not %ld.%02ld",
                           sum / 10000, (sum % 10000) / 100);
    v = json_object_get(body, "color_theme");
    if (!v)
        stk_app_fields_add(f, "color_theme", "required", "color_theme is required");
    else if (!json_is_string(v) || !color_ok(json_string_value(v), json_string_length(v)))
        stk_app_fields_add(f, "color_theme", "format", "color_theme must be #RRGGBB");
    else
        memcpy(in->color, json_string_value(v), 8);
}

static int encode(const tribe_in_t *in, const stk_uuid_t *user, uint16_t type, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, user ? 7 : 6) ? STK_ENOMEM : 0;
    if (user)
        rc = rc ? rc : stk_payload_put_uuid(&pk, "user_id", user);
    rc = rc ? rc : stk_payload_put_str(&pk, "name", in->name, in->name_len);
    rc = rc ? rc : stk_payload_put_cstr(&pk, "archetype", in->archetype);
    for (int i = 0; i < 3; i++)
        rc = rc ? rc : stk_payload_put_uint(&pk, bp_keys[i], in->bp[i]);
    rc = rc ? rc : stk_payload_put_cstr(&pk, "color", in->color);
    return rc ? rc : stk_payload_check(type, 1, (const uint8_t *)sb->data, sb->size, NULL);
}

static json_t *tribe_json(const stk_model_tribe_t *t)
{
    char id[STK_UUID_STR_LEN + 1], uid[STK_UUID_STR_LEN + 1];
    char created[STK_APP_ISO_LEN], updated[STK_APP_ISO_LEN];
    stk_uuid_format(&t->id, id);
    stk_uuid_format(&t->user_id, uid);
    stk_app_iso8601(t->created_us, created);
    stk_app_iso8601(t->updated_us, updated);
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:s, s:s, s:s, s:I}", "id", id, "user_id",
                     uid, "name", t->name, "archetype", t->archetype, "damage_bonus",
                     t->damage_bp / 10000.0, "attack_speed_bonus", t->attack_speed_bp / 10000.0,
                     "range_bonus", t->range_bp / 10000.0, "color_theme", t->color, "created_at",
                     created, "updated_at", updated, "version", (json_int_t)t->version);
}

/* Answers with the tribe as it is now (after a commit), with its ETag. */
static void answer_tribe(stk_app_t *app, stk_http_res_t *res, const stk_uuid_t *id, int status)
{
    stk_model_tribe_t *t = malloc(sizeof(*t));
    int rc = t ? stk_model_tribe(stk_app_log(app), id, t) : STK_ENOMEM;
    if (rc == 0 && t->deleted)
        rc = STK_ENOTFOUND;
    if (stk_app_loaded(res, rc, "tribe", false) == 0) {
        stk_app_etag(res, t->version);
        stk_app_send_json_new(res, status, tribe_json(t));
    }
    free(t);
}

/* ---- commands ------------------------------------------------------------------------------- */

static void answered(stk_app_t *app, stk_http_res_t *res, const stk_app_cmd_t *cmd)
{
    if (cmd->ok_status == 204)
        stk_app_send_empty(res, 204);
    else
        answer_tribe(app, res, &cmd->stream, cmd->ok_status);
}

/* Appends one event and answers after the commit. payload may be NULL (empty map). */
static void submit(stk_app_t *app, stk_http_res_t *res, const stk_uuid_t *id,
                   const stk_uuid_t *user, uint16_t type, const msgpack_sbuffer *payload,
                   uint64_t expected, int ok_status)
{
    stk_app_cmd_t cmd = {
        .type = type,
        .stream = *id,
        .actor = *user,
        .payload = payload ? (const uint8_t *)payload->data : NULL,
        .payload_len = payload ? payload->size : 0,
        .expected = expected,
        .ok_status = ok_status,
    };
    stk_app_command(app, res, &cmd, answered);
}

static void h_create(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    json_t *body;
    if (stk_app_json_body(req, res, &body))
        return;
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    tribe_in_t in;
    parse_tribe(body, &in, &f);
    json_decref(body);
    if (f.n || f.dropped) {
        stk_app_problem_fields(res, &f);
        return;
    }
    size_t have = 0;
    stk_model_user_tribes(stk_app_model(app), &user, NULL, 0, &have);
    if (have >= TRIBES_PER_USER_MAX) {
        stk_app_problem(res, 409, NULL, "a user may have at most %d tribes", TRIBES_PER_USER_MAX);
        return;
    }
    stk_uuid_t id;
    stk_uuid_random(&id);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = encode(&in, &user, STK_EV_TRIBE_FOUNDED, &sb);
    if (rc)
        stk_app_problem_err(res, rc, "the tribe does not fit the event schema", NULL);
    else {
        char loc[64], ids[STK_UUID_STR_LEN + 1];
        stk_uuid_format(&id, ids);
        snprintf(loc, sizeof loc, "/v1/tribes/%s", ids);
        stk_http_res_header(res, "Location", loc);
        submit(app, res, &id, &user, STK_EV_TRIBE_FOUNDED, &sb, STK_VERSION_NONE, 201);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void h_list(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    stk_uuid_t ids[TRIBES_PER_USER_MAX];
    size_t n = 0;
    stk_model_user_tribes(stk_app_model(app), &user, ids, TRIBES_PER_USER_MAX, &n);
    if (n > TRIBES_PER_USER_MAX)
        n = TRIBES_PER_USER_MAX;
    json_t *arr = json_array();
    stk_model_tribe_t *t = malloc(sizeof(*t));
    int rc = arr && t ? 0 : STK_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int r = stk_model_tribe(stk_app_log(app), &ids[i], t);
        if (r == STK_ENOTFOUND || (r == 0 && t->deleted))
            continue;
        rc = r ? r : json_array_append_new(arr, tribe_json(t)) ? STK_ENOMEM : 0;
    }
    free(t);
    if (rc) {
        json_decref(arr);
        stk_app_problem_err(res, rc, NULL, NULL);
        return;
    }
    stk_app_send_json_new(res, 200, json_pack("{s:o}", "tribes", arr));
}

/* Loads the tribe of the {id} parameter; answers 404 if it does not exist or is deleted and
 * 403 if owner_only and the caller is not its owner. Returns 0 or non-zero (answered). */
static int load(stk_app_t *app, stk_http_req_t *req, stk_http_res_t *res, const stk_uuid_t *user,
                bool owner_only, stk_model_tribe_t *t)
{
    stk_uuid_t id;
    if (stk_app_param_uuid(req, res, "id", &id))
        return STK_ENOTFOUND;
    int rc = stk_model_tribe(stk_app_log(app), &id, t);
    if (rc == 0 && t->deleted)
        rc = STK_ENOTFOUND;
    return stk_app_loaded(res, rc, "tribe",
                          rc == 0 && owner_only && !stk_uuid_eq(&t->user_id, user));
}

static void h_get(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user, id;
    if (stk_app_auth(app, req, res, &user))
        return;
    if (stk_app_param_uuid(req, res, "id", &id))
        return;
    answer_tribe(app, res, &id, 200);
}

static void h_update(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    stk_model_tribe_t *t = malloc(sizeof(*t));
    if (!t) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    json_t *body = NULL;
    uint64_t expected;
    if (load(app, req, res, &user, true, t) || stk_app_json_body(req, res, &body) ||
        stk_app_expected_version(req, res, t->version, &expected)) {
        json_decref(body);
        free(t);
        return;
    }
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    tribe_in_t in;
    parse_tribe(body, &in, &f);
    json_decref(body);
    if (f.n || f.dropped) {
        stk_app_problem_fields(res, &f);
        free(t);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = encode(&in, NULL, STK_EV_TRIBE_UPDATED, &sb);
    if (rc)
        stk_app_problem_err(res, rc, "the tribe does not fit the event schema", NULL);
    else
        submit(app, res, &t->id, &user, STK_EV_TRIBE_UPDATED, &sb, expected, 200);
    msgpack_sbuffer_destroy(&sb);
    free(t);
}

static void h_delete(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    stk_model_tribe_t *t = malloc(sizeof(*t));
    if (!t) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    uint64_t expected;
    if (load(app, req, res, &user, true, t) == 0 &&
        stk_app_expected_version(req, res, t->version, &expected) == 0) {
        if (stk_model_tribe_in_use(stk_app_model(app), &t->id))
            stk_app_problem(res, 409, NULL,
                            "the tribe has played in a game session and is kept with it "
                            "(session_players.tribe_id is ON DELETE RESTRICT)");
        else
            submit(app, res, &t->id, &user, STK_EV_TRIBE_DELETED, NULL, expected, 204);
    }
    free(t);
}

int stk_api_tribes_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n)
{
    const stk_route_t routes[] = {
        {"POST", "/v1/tribes", h_create, app, 0},
        {"GET", "/v1/tribes", h_list, app, 0},
        {"GET", "/v1/tribes/{id}", h_get, app, 0},
        {"PUT", "/v1/tribes/{id}", h_update, app, 0},
        {"DELETE", "/v1/tribes/{id}", h_delete, app, 0},
    };
    return stk_app_routes(routes, sizeof routes / sizeof routes[0], out, cap, n);
}
