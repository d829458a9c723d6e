/* events/json.c — schema-guided MessagePack <-> JSON for payloads, and event lines.
 *
 * Not here: the rules a payload must follow (events/payload.c checks them; this file only
 * maps kinds and then asks the validator), the envelope bytes (events/envelope.c).
 */
#include "events/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

/* ---- MessagePack -> JSON ----------------------------------------------------------- */

static json_t *u64_json(uint64_t v, int decimal)
{
    if (decimal || v > (uint64_t)INT64_MAX) {
        char buf[24];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        return json_string(buf);
    }
    return json_integer((json_int_t)v);
}

static json_t *fields_to_json(const stk_fields_t *fields, const msgpack_object *map);

/* o was validated against f, so its kind is the expected one. NULL only on ENOMEM. */
static json_t *value_to_json(const stk_field_t *f, const msgpack_object *o)
{
    switch (f->kind) {
    case STK_FK_UINT:
        return u64_json(o->via.u64, (f->flags & STK_FF_DECIMAL) != 0);
    case STK_FK_INT:
        return json_integer((json_int_t)o->via.i64);
    case STK_FK_BOOL:
        return json_boolean(o->via.boolean);
    case STK_FK_STR:
        return json_stringn(o->via.str.ptr, o->via.str.size);
    case STK_FK_BIN: {
        size_t cap = sodium_base64_encoded_len(o->via.bin.size, B64);
        char *b = malloc(cap);
        if (b == NULL)
            return NULL;
        sodium_bin2base64(b, cap, (const unsigned char *)o->via.bin.ptr, o->via.bin.size, B64);
        json_t *j = json_string(b);
        free(b);
        return j;
    }
    case STK_FK_UUID: {
        stk_uuid_t u;
        char s[STK_UUID_STR_LEN + 1];
        memcpy(u.b, o->via.bin.ptr, STK_UUID_LEN);
        stk_uuid_format(&u, s);
        return json_string(s);
    }
    case STK_FK_MAP:
        return fields_to_json(f->sub, o);
    case STK_FK_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a != NULL && i < o->via.array.size; i++) {
            json_t *v = value_to_json(f->elem, &o->via.array.ptr[i]);
            if (v == NULL || json_array_append_new(a, v) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    }
    return NULL;
}

static json_t *fields_to_json(const stk_fields_t *fields, const msgpack_object *map)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj != NULL && i < fields->n; i++) {
        const msgpack_object *v = stk_payload_find(map, fields->f[i].key);
        if (v == NULL)
            continue;
        json_t *j = value_to_json(&fields->f[i], v);
        if (j == NULL || json_object_set_new(obj, fields->f[i].key, j) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

int stk_json_from_payload(uint16_t type, uint16_t schema, const uint8_t *mp, size_t len,
                          json_t **out, stk_payload_error_t *err)
{
    stk_payload_t p;
    *out = NULL;
    int rc = stk_payload_open_checked(&p, type, schema, mp, len, err);
    if (rc != 0)
        return rc;
    *out = fields_to_json(stk_event_schema(type, schema)->fields, &p.root);
    stk_payload_close(&p);
    if (*out == NULL)
        return stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
    return 0;
}

/* ---- JSON -> MessagePack ----------------------------------------------------------- */

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* A uint as a JSON integer >= 0 or a string of 1..20 decimal digits that fits u64. */
static int json_u64(const json_t *j, uint64_t *v)
{
    if (json_is_integer(j)) {
        json_int_t i = json_integer_value(j);
        if (i < 0)
            return -1;
        *v = (uint64_t)i;
        return 0;
    }
    if (!json_is_string(j))
        return -1;
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (r > (UINT64_MAX - d) / 10)
            return -1;
        r = r * 10 + d;
    }
    *v = r;
    return 0;
}

static int fields_from_json(const stk_fields_t *fields, const json_t *obj, msgpack_packer *pk,
                            const char *path, stk_payload_error_t *err);

#define PACKED(call) ((call) == 0 ? 0 : stk_payload_fail(err, STK_ENOMEM, path, "out of memory"))

static int value_from_json(const stk_field_t *f, const json_t *j, msgpack_packer *pk,
                           const char *path, stk_payload_error_t *err)
{
    switch (f->kind) {
    case STK_FK_UINT: {
        uint64_t v;
        if (json_u64(j, &v) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, path,
                                    "expected unsigned integer (or decimal string), got %s",
                                    json_kind(j));
        return PACKED(msgpack_pack_uint64(pk, v));
    }
    case STK_FK_INT:
        if (!json_is_integer(j))
            return stk_payload_fail(err, STK_ESCHEMA, path, "expected integer, got %s",
                                    json_kind(j));
        return PACKED(msgpack_pack_int64(pk, (int64_t)json_integer_value(j)));
    case STK_FK_BOOL:
        if (!json_is_boolean(j))
            return stk_payload_fail(err, STK_ESCHEMA, path, "expected boolean, got %s",
                                    json_kind(j));
        return PACKED(json_is_true(j) ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    case STK_FK_STR:
        if (!json_is_string(j))
            return stk_payload_fail(err, STK_ESCHEMA, path, "expected string, got %s",
                                    json_kind(j));
        return PACKED(msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j)));
    case STK_FK_BIN: {
        if (!json_is_string(j))
            return stk_payload_fail(err, STK_ESCHEMA, path, "expected base64 string, got %s",
                                    json_kind(j));
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        if (n / 4 * 3 > STK_PAYLOAD_MAX)
            return stk_payload_fail(err, STK_ETOOBIG, path, "base64 of %zu chars is too long", n);
        size_t cap = n / 4 * 3 + 3, blen = 0;
        const char *end = NULL;
        unsigned char *b = malloc(cap);
        if (b == NULL)
            return stk_payload_fail(err, STK_ENOMEM, path, "out of memory");
        if (sodium_base642bin(b, cap, s, n, NULL, &blen, &end, B64) != 0 || end != s + n) {
            free(b);
            return stk_payload_fail(err, STK_ESCHEMA, path, "not valid base64");
        }
        int rc = PACKED(msgpack_pack_bin_with_body(pk, b, blen));
        free(b);
        return rc;
    }
    case STK_FK_UUID: {
        stk_uuid_t u;
        if (!json_is_string(j) || json_string_length(j) != STK_UUID_STR_LEN ||
            stk_uuid_parse(json_string_value(j), &u) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, path,
                                    "expected uuid string xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
        return PACKED(msgpack_pack_bin_with_body(pk, u.b, STK_UUID_LEN));
    }
    case STK_FK_MAP:
        return fields_from_json(f->sub, j, pk, path, err);
    case STK_FK_ARRAY: {
        if (!json_is_array(j))
            return stk_payload_fail(err, STK_ESCHEMA, path, "expected array, got %s", json_kind(j));
        size_t n = json_array_size(j);
        if (n > f->max)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%zu items, expected %llu..%llu", n,
                                    (unsigned long long)f->min, (unsigned long long)f->max);
        int rc = PACKED(msgpack_pack_array(pk, n));
        char sub[sizeof err->path];
        for (size_t i = 0; rc == 0 && i < n; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            rc = value_from_json(f->elem, json_array_get(j, i), pk, sub, err);
        }
        return rc;
    }
    }
    return stk_payload_fail(err, STK_EINVAL, path, "bad field table");
}

static void join_path(char *out, size_t cap, const char *path, const char *key)
{
    snprintf(out, cap, "%s%s%.40s", path, path[0] != '\0' ? "." : "", key);
}

static int fields_from_json(const stk_fields_t *fields, const json_t *obj, msgpack_packer *pk,
                            const char *path, stk_payload_error_t *err)
{
    char sub[sizeof err->path];
    const char *key;
    json_t *val;

    if (!json_is_object(obj))
        return stk_payload_fail(err, STK_ESCHEMA, path, "expected object, got %s", json_kind(obj));
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i;
        for (i = 0; i < fields->n; i++)
            if (strcmp(fields->f[i].key, key) == 0)
                break;
        if (i == fields->n) {
            join_path(sub, sizeof sub, path, key);
            return stk_payload_fail(err, STK_ESCHEMA, sub, "unknown key");
        }
    }
    int rc = PACKED(msgpack_pack_map(pk, json_object_size(obj)));
    for (size_t i = 0; rc == 0 && i < fields->n; i++) {
        const stk_field_t *f = &fields->f[i];
        const json_t *v = json_object_get(obj, f->key);
        join_path(sub, sizeof sub, path, f->key);
        if (v == NULL) {
            if (f->flags & STK_FF_REQUIRED)
                return stk_payload_fail(err, STK_ESCHEMA, sub, "missing required key");
            continue;
        }
        rc = PACKED(msgpack_pack_str_with_body(pk, f->key, strlen(f->key)));
        if (rc == 0)
            rc = value_from_json(f, v, pk, sub, err);
    }
    return rc;
}

int stk_json_to_payload(uint16_t type, uint16_t schema, const json_t *obj, msgpack_sbuffer *out,
                        stk_payload_error_t *err)
{
    msgpack_packer pk;
    if (stk_event_type_by_id(type) == NULL)
        return stk_payload_fail(err, STK_ETYPE, "", "unknown event type %u", (unsigned)type);
    const stk_schema_t *s = stk_event_schema(type, schema);
    if (s == NULL)
        return stk_payload_fail(err, STK_EVERSION, "", "%s has no schema version %u",
                                stk_event_type_by_id(type)->name, (unsigned)schema);
    size_t start = out->size;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = fields_from_json(s->fields, obj, &pk, "", err);
    if (rc != 0)
        return rc;
    if (out->size - start > STK_PAYLOAD_MAX)
        return stk_payload_fail(err, STK_ETOOBIG, "", "payload of %zu bytes exceeds %u",
                                out->size - start, (unsigned)STK_PAYLOAD_MAX);
    return stk_payload_check(type, schema, (const uint8_t *)out->data + start, out->size - start,
                             err);
}

/* ---- event lines ------------------------------------------------------------------- */

static int uuid_json(const stk_uuid_t *u, json_t **out)
{
    char s[STK_UUID_STR_LEN + 1];
    stk_uuid_format(u, s);
    *out = json_string(s);
    return *out != NULL ? 0 : STK_ENOMEM;
}

int stk_json_event_dump(const stk_envelope_t *e, char **line, stk_payload_error_t *err)
{
    json_t *obj = NULL, *payload = NULL, *stream = NULL, *actor = NULL;
    int rc;

    *line = NULL;
    const stk_event_type_t *t = stk_event_type_by_id(e->type);
    if (t == NULL)
        return stk_payload_fail(err, STK_ETYPE, "type", "unknown event type %u", (unsigned)e->type);
    if (e->seq > INT64_MAX || e->version > INT64_MAX || e->tick > INT64_MAX)
        return stk_payload_fail(err, STK_ERANGE, "seq", "seq, version or tick above INT64_MAX");
    rc = stk_json_from_payload(e->type, e->schema, e->payload, e->payload_len, &payload, err);
    if (rc != 0) {
        char p[sizeof err->path];
        if (err != NULL) {
            snprintf(p, sizeof p, "payload%s%.100s", err->path[0] != '\0' ? "." : "", err->path);
            memcpy(err->path, p, sizeof p);
        }
        return rc;
    }
    if (uuid_json(&e->stream, &stream) != 0 || uuid_json(&e->actor, &actor) != 0)
        goto nomem;
    obj = json_pack("{s:I, s:o, s:I, s:s, s:i, s:I, s:o, s:I, s:o}", "seq", (json_int_t)e->seq,
                    "stream", stream, "version", (json_int_t)e->version, "type", t->name, "schema",
                    (int)e->schema, "tick", (json_int_t)e->tick, "actor", actor, "time_us",
                    (json_int_t)e->time_us, "payload", payload);
    /* json_pack steals the "o" references even when it fails. */
    stream = actor = payload = NULL;
    if (obj == NULL)
        goto nomem;
    *line = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (*line == NULL)
        return stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
    return 0;
nomem:
    json_decref(stream);
    json_decref(actor);
    json_decref(payload);
    return stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
}

/* Field readers for the top level of a line. Each returns 0 (absent optional fields leave
 * *v as is) or STK_ESCHEMA naming key. */
static int line_u64(const json_t *obj, const char *key, int required, uint64_t *v,
                    stk_payload_error_t *err)
{
    const json_t *j = json_object_get(obj, key);
    if (j == NULL)
        return required ? stk_payload_fail(err, STK_ESCHEMA, key, "missing required key") : 0;
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return stk_payload_fail(err, STK_ESCHEMA, key, "expected unsigned integer, got %s",
                                json_kind(j));
    *v = (uint64_t)json_integer_value(j);
    return 0;
}

static int line_uuid(const json_t *obj, const char *key, int required, stk_uuid_t *u,
                     stk_payload_error_t *err)
{
    const json_t *j = json_object_get(obj, key);
    if (j == NULL)
        return required ? stk_payload_fail(err, STK_ESCHEMA, key, "missing required key") : 0;
    if (!json_is_string(j) || json_string_length(j) != STK_UUID_STR_LEN ||
        stk_uuid_parse(json_string_value(j), u) != 0)
        return stk_payload_fail(err, STK_ESCHEMA, key,
                                "expected uuid string xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    return 0;
}

/* Parse the common part of both line forms. allowed: NULL-terminated key list. */
static int parse_line(const char *line, size_t len, const char *const *allowed, int full,
                      stk_envelope_t *e, uint8_t **payload, json_t **root_out,
                      stk_payload_error_t *err)
{
    json_error_t jerr;
    json_t *root = NULL;
    msgpack_sbuffer sb;
    uint64_t v;
    int rc;

    memset(e, 0, sizeof *e);
    *payload = NULL;
    *root_out = NULL;
    msgpack_sbuffer_init(&sb);
    if (len > STK_JSON_LINE_MAX)
        return stk_payload_fail(err, STK_ETOOBIG, "", "line of %zu bytes exceeds %u", len,
                                (unsigned)STK_JSON_LINE_MAX);
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return stk_payload_fail(err, STK_EDECODE, "", "invalid JSON at column %d: %s", jerr.column,
                                jerr.text);
    if (!json_is_object(root)) {
        rc = stk_payload_fail(err, STK_EDECODE, "", "expected a JSON object, got %s",
                              json_kind(root));
        goto fail;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t i;
        for (i = 0; allowed[i] != NULL; i++)
            if (strcmp(allowed[i], key) == 0)
                break;
        if (allowed[i] == NULL) {
            char k[48];
            snprintf(k, sizeof k, "%.40s", key);
            rc = stk_payload_fail(err, STK_ESCHEMA, k, "unknown key");
            goto fail;
        }
    }

    const json_t *jt = json_object_get(root, "type");
    if (jt == NULL) {
        rc = stk_payload_fail(err, STK_ESCHEMA, "type", "missing required key");
        goto fail;
    }
    if (!json_is_string(jt)) {
        rc = stk_payload_fail(err, STK_ESCHEMA, "type", "expected event name string, got %s",
                              json_kind(jt));
        goto fail;
    }
    const stk_event_type_t *t =
        stk_event_type_by_name(json_string_value(jt), json_string_length(jt));
    if (t == NULL) {
        rc = stk_payload_fail(err, STK_ETYPE, "type", "unknown event type \"%.40s\"",
                              json_string_value(jt));
        goto fail;
    }
    e->type = t->id;

    v = t->schema;
    if ((rc = line_u64(root, "schema", full, &v, err)) != 0)
        goto fail;
    if (v > UINT16_MAX || stk_event_schema(t->id, (uint16_t)v) == NULL) {
        rc = stk_payload_fail(err, STK_EVERSION, "schema", "%s has no schema version %llu", t->name,
                              (unsigned long long)v);
        goto fail;
    }
    e->schema = (uint16_t)v;
    if ((rc = line_uuid(root, "stream", 1, &e->stream, err)) != 0 ||
        (rc = line_uuid(root, "actor", full, &e->actor, err)) != 0 ||
        (rc = line_u64(root, "tick", full, &e->tick, err)) != 0)
        goto fail;
    if (full) {
        const json_t *jtime = json_object_get(root, "time_us");
        if ((rc = line_u64(root, "seq", 1, &e->seq, err)) != 0 ||
            (rc = line_u64(root, "version", 1, &e->version, err)) != 0)
            goto fail;
        if (jtime == NULL || !json_is_integer(jtime)) {
            rc = stk_payload_fail(err, STK_ESCHEMA, "time_us",
                                  jtime == NULL ? "missing required key" : "expected integer");
            goto fail;
        }
        e->time_us = (int64_t)json_integer_value(jtime);
    }

    const json_t *jp = json_object_get(root, "payload");
    json_t *empty = NULL;
    if (jp == NULL) {
        if (full) {
            rc = stk_payload_fail(err, STK_ESCHEMA, "payload", "missing required key");
            goto fail;
        }
        jp = empty = json_object();
        if (empty == NULL) {
            rc = stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
            goto fail;
        }
    }
    rc = stk_json_to_payload(e->type, e->schema, jp, &sb, err);
    json_decref(empty);
    if (rc != 0) {
        if (err != NULL) {
            char p[sizeof err->path];
            snprintf(p, sizeof p, "payload%s%.100s", err->path[0] != '\0' ? "." : "", err->path);
            memcpy(err->path, p, sizeof p);
        }
        goto fail;
    }
    e->payload_len = sb.size;
    *payload = (uint8_t *)msgpack_sbuffer_release(&sb);
    if (*payload == NULL) { /* an empty sbuffer has no data; never the case for a map */
        rc = stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
        goto fail;
    }
    e->payload = *payload;
    *root_out = root;
    return 0;
fail:
    msgpack_sbuffer_destroy(&sb);
    json_decref(root);
    memset(e, 0, sizeof *e);
    return rc;
}

int stk_json_event_parse(const char *line, size_t len, stk_envelope_t *e, uint8_t **payload,
                         stk_payload_error_t *err)
{
    static const char *const keys[] = {"seq",  "stream", "version", "type",    "schema",
                                       "tick", "actor",  "time_us", "payload", NULL};
    json_t *root = NULL;
    int rc = parse_line(line, len, keys, 1, e, payload, &root, err);
    json_decref(root);
    return rc;
}

int stk_json_append_parse(const char *line, size_t len, stk_json_append_t *out,
                          stk_payload_error_t *err)
{
    static const char *const keys[] = {"stream", "type",  "payload",          "schema",
                                       "tick",   "actor", "expected_version", NULL};
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    int rc = parse_line(line, len, keys, 0, &out->env, &out->payload, &root, err);
    if (rc != 0)
        return rc;
    if (json_object_get(root, "expected_version") != NULL) {
        rc = line_u64(root, "expected_version", 1, &out->expected_version, err);
        out->has_expected_version = rc == 0;
    }
    json_decref(root);
    if (rc != 0)
        stk_json_append_free(out);
    return rc;
}

void stk_json_append_free(stk_json_append_t *a)
{
    if (a == NULL)
        return;
    free(a->payload);
    memset(a, 0, sizeof *a);
}
