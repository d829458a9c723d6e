/* events/upcast.c — the upcaster table and the loop that applies it.
 *
 * Each upcaster receives the old payload already unpacked and validated and writes the
 * whole next-version payload, keys in the next schema's order, so its output is
 * canonical. Intermediate results live in a local sbuffer; the last one is copied into
 * the caller's scratch buffer.
 */
#include "events/upcast.h"

#include <string.h>

#include "core/error.h"

typedef int (*upcast_fn)(const msgpack_object *root, msgpack_packer *pk);

/* Copy every key of root as it is (in its order), leaving room for `extra` more keys. */
static int copy_keys(const msgpack_object *root, msgpack_packer *pk, uint32_t extra)
{
    if (msgpack_pack_map(pk, root->via.map.size + extra) != 0)
        return STK_ENOMEM;
    for (uint32_t i = 0; i < root->via.map.size; i++)
        if (msgpack_pack_object(pk, root->via.map.ptr[i].key) != 0 ||
            msgpack_pack_object(pk, root->via.map.ptr[i].val) != 0)
            return STK_ENOMEM;
    return 0;
}

/* SessionOpened v1 -> v2: sessions recorded before the tick rate was stored ran at the
 * fixed 20 Hz of the first ruleset. */
static int session_opened_v1_v2(const msgpack_object *root, msgpack_packer *pk)
{
    int rc = copy_keys(root, pk, 1);
    if (rc == 0)
        rc = stk_payload_put_uint(pk, "tick_rate", 20);
    return rc;
}

static const struct {
    uint16_t type;
    uint16_t from;
    upcast_fn fn;
} upcasters[] = {
    {STK_EV_SESSION_OPENED, 1, session_opened_v1_v2},
};

#define NUPCASTERS (sizeof upcasters / sizeof upcasters[0])

static upcast_fn find(uint16_t type, uint16_t from)
{
    for (size_t i = 0; i < NUPCASTERS; i++)
        if (upcasters[i].type == type && upcasters[i].from == from)
            return upcasters[i].fn;
    return NULL;
}

int stk_upcast_has(uint16_t type, uint16_t from_version)
{
    return find(type, from_version) != NULL;
}

int stk_upcast(uint16_t type, uint16_t schema, const uint8_t *payload, size_t len,
               msgpack_sbuffer *scratch, const uint8_t **out, size_t *out_len, uint16_t *out_schema,
               stk_payload_error_t *err)
{
    msgpack_sbuffer cur;
    msgpack_packer pk;
    stk_payload_t p;
    int rc;

    const stk_event_type_t *t = stk_event_type_by_id(type);
    if (t == NULL)
        return stk_payload_fail(err, STK_ETYPE, "", "unknown event type %u", (unsigned)type);
    if (schema == 0 || schema > t->schema)
        return stk_payload_fail(err, STK_EVERSION, "", "%s has no schema version %u", t->name,
                                (unsigned)schema);
    if (schema == t->schema) {
        *out = payload;
        *out_len = len;
        *out_schema = schema;
        return 0;
    }

    msgpack_sbuffer_init(&cur);
    const uint8_t *in = payload;
    size_t in_len = len;
    uint16_t v = schema;
    while (v < t->schema) {
        upcast_fn fn = find(type, v);
        if (fn == NULL) {
            rc = stk_payload_fail(err, STK_EVERSION, "", "no upcaster for %s v%u", t->name,
                                  (unsigned)v);
            goto fail;
        }
        rc = stk_payload_open_checked(&p, type, v, in, in_len, err);
        if (rc != 0)
            goto fail;
        msgpack_sbuffer next;
        msgpack_sbuffer_init(&next);
        msgpack_packer_init(&pk, &next, msgpack_sbuffer_write);
        rc = fn(&p.root, &pk);
        stk_payload_close(&p);
        msgpack_sbuffer_destroy(&cur);
        cur = next; /* the old input (if it was cur) is no longer referenced */
        if (rc != 0) {
            stk_payload_fail(err, rc, "", "upcasting %s v%u failed", t->name, (unsigned)v);
            goto fail;
        }
        if (cur.size > STK_PAYLOAD_MAX) {
            rc = stk_payload_fail(err, STK_ETOOBIG, "", "upcast %s exceeds %u bytes", t->name,
                                  (unsigned)STK_PAYLOAD_MAX);
            goto fail;
        }
        in = (const uint8_t *)cur.data;
        in_len = cur.size;
        v++;
    }
    msgpack_sbuffer_clear(scratch);
    if (msgpack_sbuffer_write(scratch, cur.data, cur.size) != 0) {
        rc = stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
        goto fail;
    }
    msgpack_sbuffer_destroy(&cur);
    *out = (const uint8_t *)scratch->data;
    *out_len = scratch->size;
    *out_schema = v;
    return 0;
fail:
    msgpack_sbuffer_destroy(&cur);
    return rc;
}
