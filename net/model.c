/* net/model.c — write-model records folded from their streams, and the in-memory owner
 * index (see net/model.h).
 *
 * The index is one open-addressing hash table keyed by UUID. An entry is a user (its tribe
 * and map ids), a tribe (its owner, for removal on TribeDeleted) or a map (its play count);
 * UUIDs never collide across kinds, so one table serves all three.
 */
#include "net/model.h"

#include "core/error.h"
#include "events/game.h"
#include "events/payload.h"
#include "events/types.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct idvec {
    stk_uuid_t *v;
    size_t n, cap;
} idvec_t;

typedef struct entry {
    stk_uuid_t key;
    idvec_t tribes; /* user: live tribe ids in founding order */
    idvec_t maps;   /* user: map ids in drawing order */
    stk_uuid_t owner;
    bool has_owner; /* tribe: owner user */
    uint64_t plays; /* map: sessions opened on it */
    uint64_t games; /* user: distinct sessions joined */
    bool seen;      /* (user, session) marker: already counted */
    bool used;      /* tribe: a player joined a session with it */
} entry_t;

struct stk_model {
    stk_log_t *log;
    uint64_t seq; /* last event applied to the index */
    entry_t *ent;
    size_t n_ent, cap_ent;
    uint32_t *slots; /* 0 = empty, else entry index + 1 */
    size_t n_slots;  /* power of two */
};

static uint64_t uuid_hash(const stk_uuid_t *u)
{
    /* UUIDs are random (v4): their bytes are already a good hash. */
    uint64_t h;
    memcpy(&h, u->b, sizeof h);
    uint64_t l;
    memcpy(&l, u->b + 8, sizeof l);
    return h ^ (l * 0x9e3779b97f4a7c15ull);
}

int stk_model_create(stk_log_t *log, stk_model_t **out)
{
    stk_model_t *m = calloc(1, sizeof(*m));
    if (!m)
        return STK_ENOMEM;
    m->log = log;
    m->n_slots = 1024;
    m->slots = calloc(m->n_slots, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return STK_ENOMEM;
    }
    *out = m;
    return 0;
}

void stk_model_destroy(stk_model_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_ent; i++) {
        free(m->ent[i].tribes.v);
        free(m->ent[i].maps.v);
    }
    free(m->ent);
    free(m->slots);
    free(m);
}

static entry_t *find(const stk_model_t *m, const stk_uuid_t *key)
{
    size_t mask = m->n_slots - 1;
    for (size_t i = uuid_hash(key) & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return NULL;
        if (stk_uuid_eq(&m->ent[s - 1].key, key))
            return &m->ent[s - 1];
    }
}

static int grow_slots(stk_model_t *m)
{
    size_t n = m->n_slots * 2;
    uint32_t *s = calloc(n, sizeof(*s));
    if (!s)
        return STK_ENOMEM;
    for (size_t e = 0; e < m->n_ent; e++) {
        size_t i = uuid_hash(&m->ent[e].key) & (n - 1);
        while (s[i] != 0)
            i = (i + 1) & (n - 1);
        s[i] = (uint32_t)(e + 1);
    }
    free(m->slots);
    m->slots = s;
    m->n_slots = n;
    return 0;
}

static entry_t *get(stk_model_t *m, const stk_uuid_t *key)
{
    entry_t *e = find(m, key);
    if (e)
        return e;
    if (m->n_ent >= UINT32_MAX - 1)
        return NULL;
    if ((m->n_ent + 1) * 10 > m->n_slots * 7 && grow_slots(m) != 0)
        return NULL;
    if (m->n_ent == m->cap_ent) {
        size_t cap = m->cap_ent ? m->cap_ent * 2 : 256;
        entry_t *ne = realloc(m->ent, cap * sizeof(*ne));
        if (!ne)
            return NULL;
        m->ent = ne;
        m->cap_ent = cap;
    }
    e = &m->ent[m->n_ent];
    memset(e, 0, sizeof(*e));
    e->key = *key;
    size_t mask = m->n_slots - 1;
    size_t i = uuid_hash(key) & mask;
    while (m->slots[i] != 0)
        i = (i + 1) & mask;
    m->slots[i] = (uint32_t)(m->n_ent + 1);
    m->n_ent++;
    return e;
}

static int vec_push(idvec_t *v, const stk_uuid_t *id)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        stk_uuid_t *nv = realloc(v->v, cap * sizeof(*nv));
        if (!nv)
            return STK_ENOMEM;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = *id;
    return 0;
}

static void vec_remove(idvec_t *v, const stk_uuid_t *id)
{
    for (size_t i = 0; i < v->n; i++) {
        if (stk_uuid_eq(&v->v[i], id)) {
            memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof(*v->v));
            v->n--;
            return;
        }
    }
}

int stk_model_extract(const stk_envelope_t *ev, stk_model_note_t *note)
{
    const char *key = NULL;
    uint16_t type = ev->type;
    switch (type) {
    case STK_EV_TRIBE_FOUNDED:
    case STK_EV_MAP_DRAWN:
        key = "user_id";
        break;
    case STK_EV_SESSION_OPENED:
        key = "map_id";
        break;
    case STK_EV_TRIBE_DELETED:
    case STK_EV_PLAYER_JOINED:
        break;
    default:
        return 0;
    }
    memset(note, 0, sizeof(*note));
    note->type = type;
    note->stream = ev->stream;
    if (type == STK_EV_PLAYER_JOINED) {
        note->ref = ev->actor;
        key = "tribe_id";
    }
    if (!key)
        return 1;
    stk_payload_t p;
    if (stk_payload_open(&p, ev->payload, ev->payload_len, NULL) != 0)
        return 0;
    int rc = stk_payload_get_uuid(stk_payload_root(&p), key,
                                  type == STK_EV_PLAYER_JOINED ? &note->tribe : &note->ref);
    stk_payload_close(&p);
    return rc == 0;
}

int stk_model_apply(stk_model_t *m, const stk_model_note_t *note)
{
    entry_t *e;
    switch (note->type) {
    case STK_EV_TRIBE_FOUNDED: {
        entry_t *t = get(m, &note->stream);
        if (!t)
            return STK_ENOMEM;
        t->owner = note->ref;
        t->has_owner = true;
        e = get(m, &note->ref); /* may move t: do not use t below */
        return e ? vec_push(&e->tribes, &note->stream) : STK_ENOMEM;
    }
    case STK_EV_TRIBE_DELETED: {
        entry_t *t = find(m, &note->stream);
        if (!t || !t->has_owner)
            return 0;
        stk_uuid_t owner = t->owner;
        t->has_owner = false;
        e = find(m, &owner);
        if (e)
            vec_remove(&e->tribes, &note->stream);
        return 0;
    }
    case STK_EV_MAP_DRAWN:
        e = get(m, &note->ref);
        return e ? vec_push(&e->maps, &note->stream) : STK_ENOMEM;
    case STK_EV_SESSION_OPENED:
        e = get(m, &note->ref);
        if (!e)
            return STK_ENOMEM;
        e->plays++;
        return 0;
    case STK_EV_PLAYER_JOINED: {
        /* Count each (user, session) once, whatever the rejoins: the pair's marker entry is
         * keyed by a hash of both ids. The user's entry is made first so a failure leaves
         * nothing half-counted. */
        if (!get(m, &note->ref))
            return STK_ENOMEM;
        entry_t *t = get(m, &note->tribe);
        if (!t)
            return STK_ENOMEM;
        t->used = true; /* session_players.tribe_id is ON DELETE RESTRICT */
        stk_uuid_t pair;
        uint8_t both[2 * STK_UUID_LEN];
        memcpy(both, note->ref.b, STK_UUID_LEN);
        memcpy(both + STK_UUID_LEN, note->stream.b, STK_UUID_LEN);
        crypto_generichash(pair.b, sizeof pair.b, both, sizeof both, NULL, 0);
        entry_t *p = get(m, &pair);
        if (!p)
            return STK_ENOMEM;
        if (!p->seen) {
            p->seen = true;
            find(m, &note->ref)->games++;
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int build_cb(void *ud, const stk_envelope_t *e)
{
    stk_model_t *m = ud;
    stk_model_note_t note;
    if (stk_model_extract(e, &note)) {
        int rc = stk_model_apply(m, &note);
        if (rc)
            return rc; /* m->seq stays before e: the next sync retries it */
    }
    m->seq = e->seq;
    return 0;
}

int stk_model_sync(stk_model_t *m)
{
    return stk_log_read(m->log, m->seq + 1, 0, build_cb, m);
}

int stk_model_build(stk_model_t *m)
{
    return stk_model_sync(m);
}

static void list(const idvec_t *v, stk_uuid_t *out, size_t cap, size_t *n)
{
    size_t k = v->n < cap ? v->n : cap;
    if (k)
        memcpy(out, v->v, k * sizeof(*out));
    *n = v->n;
}

int stk_model_user_tribes(stk_model_t *m, const stk_uuid_t *user, stk_uuid_t *out, size_t cap,
                          size_t *n)
{
    int rc = stk_model_sync(m);
    const entry_t *e = find(m, user);
    static const idvec_t none = {0};
    list(e ? &e->tribes : &none, out, cap, n);
    return rc;
}

int stk_model_user_maps(stk_model_t *m, const stk_uuid_t *user, stk_uuid_t *out, size_t cap,
                        size_t *n)
{
    int rc = stk_model_sync(m);
    const entry_t *e = find(m, user);
    static const idvec_t none = {0};
    list(e ? &e->maps : &none, out, cap, n);
    return rc;
}

bool stk_model_tribe_in_use(stk_model_t *m, const stk_uuid_t *tribe)
{
    (void)stk_model_sync(m);
    const entry_t *e = find(m, tribe);
    return e && e->used;
}

uint64_t stk_model_games_played(stk_model_t *m, const stk_uuid_t *user)
{
    (void)stk_model_sync(m);
    const entry_t *e = find(m, user);
    return e ? e->games : 0;
}

uint64_t stk_model_play_count(stk_model_t *m, const stk_uuid_t *map)
{
    (void)stk_model_sync(m); /* on a read error the count is the last one known */
    const entry_t *e = find(m, map);
    return e ? e->plays : 0;
}

/* ---- folds -------------------------------------------------------------------------------- */

static int copy_str(const msgpack_object *root, const char *key, char *dst, size_t cap)
{
    const char *s;
    size_t len;
    int rc = stk_payload_get_str(root, key, &s, &len);
    if (rc)
        return STK_ECORRUPT;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int copy_bin(const msgpack_object *root, const char *key, uint8_t *dst, size_t cap,
                    size_t *out_len)
{
    const uint8_t *b;
    size_t len;
    if (stk_payload_get_bin(root, key, &b, &len) != 0 || len > cap)
        return STK_ECORRUPT;
    memcpy(dst, b, len);
    *out_len = len;
    return 0;
}

static int user_cb(void *ud, const stk_envelope_t *e)
{
    stk_model_user_t *u = ud;
    if (e->version == 1 && e->type != STK_EV_USER_REGISTERED)
        return STK_ENOTFOUND;
    u->version = e->version;
    if (e->type == STK_EV_USER_LOGGED_IN) {
        u->last_login_us = e->time_us;
        return 0;
    }
    if (e->type == STK_EV_USER_ERASED) {
        u->erased = true;
        return 0;
    }
    if (e->type != STK_EV_USER_REGISTERED)
        return 0;
    stk_payload_t p;
    if (stk_payload_open_checked(&p, e->type, e->schema, e->payload, e->payload_len, NULL) != 0)
        return STK_ECORRUPT;
    const msgpack_object *r = stk_payload_root(&p);
    int rc = copy_str(r, "username", u->username, sizeof u->username);
    rc = rc ? rc
            : copy_bin(r, "email", u->email_sealed, sizeof u->email_sealed, &u->email_sealed_len);
    rc = rc ? rc
            : copy_bin(r, "password_hash", u->hash_sealed, sizeof u->hash_sealed,
                       &u->hash_sealed_len);
    stk_payload_close(&p);
    u->created_us = e->time_us;
    return rc;
}

int stk_model_user(stk_log_t *log, const stk_uuid_t *id, stk_model_user_t *out)
{
    memset(out, 0, sizeof(*out));
    out->id = *id;
    int rc = stk_log_read_stream(log, id, 1, 0, user_cb, out);
    if (rc == 0 && out->version == 0)
        rc = STK_ENOTFOUND;
    return rc;
}

static int tribe_fields(stk_model_tribe_t *t, const msgpack_object *r)
{
    uint64_t d, a, g;
    int rc = copy_str(r, "name", t->name, sizeof t->name);
    rc = rc ? rc : copy_str(r, "archetype", t->archetype, sizeof t->archetype);
    rc = rc ? rc : copy_str(r, "color", t->color, sizeof t->color);
    if (rc)
        return rc;
    if (stk_payload_get_uint(r, "damage_bp", &d) ||
        stk_payload_get_uint(r, "attack_speed_bp", &a) || stk_payload_get_uint(r, "range_bp", &g))
        return STK_ECORRUPT;
    t->damage_bp = (uint32_t)d;
    t->attack_speed_bp = (uint32_t)a;
    t->range_bp = (uint32_t)g;
    return 0;
}

static int tribe_cb(void *ud, const stk_envelope_t *e)
{
    stk_model_tribe_t *t = ud;
    if (e->version == 1 && e->type != STK_EV_TRIBE_FOUNDED)
        return STK_ENOTFOUND;
    t->version = e->version;
    t->updated_us = e->time_us;
    if (e->type == STK_EV_TRIBE_DELETED) {
        t->deleted = true;
        return 0;
    }
    if (e->type != STK_EV_TRIBE_FOUNDED && e->type != STK_EV_TRIBE_UPDATED)
        return 0;
    stk_payload_t p;
    if (stk_payload_open_checked(&p, e->type, e->schema, e->payload, e->payload_len, NULL) != 0)
        return STK_ECORRUPT;
    const msgpack_object *r = stk_payload_root(&p);
    int rc = tribe_fields(t, r);
    if (rc == 0 && e->type == STK_EV_TRIBE_FOUNDED) {
        rc = stk_payload_get_uuid(r, "user_id", &t->user_id) ? STK_ECORRUPT : 0;
        t->created_us = e->time_us;
    }
    stk_payload_close(&p);
    return rc;
}

int stk_model_tribe(stk_log_t *log, const stk_uuid_t *id, stk_model_tribe_t *out)
{
    memset(out, 0, sizeof(*out));
    out->id = *id;
    int rc = stk_log_read_stream(log, id, 1, 0, tribe_cb, out);
    if (rc == 0 && out->version == 0)
        rc = STK_ENOTFOUND;
    return rc;
}

typedef struct rating {
    stk_uuid_t user;
    uint64_t version;
    uint32_t stars;
} rating_t;

typedef struct map_fold {
    stk_model_map_t *m;
    rating_t *r;
    size_t n_r, cap_r;
} map_fold_t;

/* Bytes of s to keep in a buffer of cap bytes (NUL included) without splitting a UTF-8
 * sequence. Stored names always fit; this only guards the buffer. */
static size_t utf8_cut(const char *s, size_t len, size_t cap)
{
    if (len < cap)
        return len;
    size_t n = cap - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int map_cb(void *ud, const stk_envelope_t *e)
{
    map_fold_t *f = ud;
    stk_model_map_t *m = f->m;
    if (e->version == 1 && e->type != STK_EV_MAP_DRAWN)
        return STK_ENOTFOUND;
    m->version = e->version;
    switch (e->type) {
    case STK_EV_MAP_DRAWN:
    case STK_EV_MAP_EDITED: {
        stk_game_map_meta_t meta;
        if (stk_game_map_decode(e->type, e->schema, e->payload, e->payload_len, &m->map, &meta,
                                NULL) != 0)
            return STK_ECORRUPT;
        size_t n = utf8_cut(meta.name, meta.name_len, sizeof m->name);
        memcpy(m->name, meta.name, n);
        m->name[n] = '\0';
        n = meta.description
                ? utf8_cut(meta.description, meta.description_len, sizeof m->description)
                : 0;
        if (n)
            memcpy(m->description, meta.description, n);
        m->description[n] = '\0';
        if (e->type == STK_EV_MAP_DRAWN) {
            m->user_id = meta.user_id;
            m->created_us = e->time_us;
        }
        m->updated_us = e->time_us;
        return 0;
    }
    case STK_EV_MAP_PUBLISHED: {
        stk_payload_t p;
        bool pub = false;
        if (stk_payload_open(&p, e->payload, e->payload_len, NULL) != 0)
            return STK_ECORRUPT;
        int rc = stk_payload_get_bool(stk_payload_root(&p), "public", &pub);
        stk_payload_close(&p);
        if (rc)
            return STK_ECORRUPT;
        m->is_public = pub;
        return 0;
    }
    case STK_EV_MAP_RATED: {
        stk_payload_t p;
        rating_t r = {.version = e->version};
        uint64_t stars = 0;
        if (stk_payload_open(&p, e->payload, e->payload_len, NULL) != 0)
            return STK_ECORRUPT;
        int rc = stk_payload_get_uuid(stk_payload_root(&p), "user_id", &r.user);
        rc = rc ? rc : stk_payload_get_uint(stk_payload_root(&p), "stars", &stars);
        stk_payload_close(&p);
        if (rc || stars > 5)
            return STK_ECORRUPT;
        r.stars = (uint32_t)stars;
        if (f->n_r == f->cap_r) {
            size_t cap = f->cap_r ? f->cap_r * 2 : 16;
            rating_t *nr = realloc(f->r, cap * sizeof(*nr));
            if (!nr)
                return STK_ENOMEM;
            f->r = nr;
            f->cap_r = cap;
        }
        f->r[f->n_r++] = r;
        return 0;
    }
    default:
        return 0;
    }
}

static int rating_cmp(const void *a, const void *b)
{
    const rating_t *x = a, *y = b;
    int c = memcmp(x->user.b, y->user.b, STK_UUID_LEN);
    if (c)
        return c;
    return x->version < y->version ? -1 : x->version > y->version;
}

int stk_model_map(stk_model_t *idx, stk_log_t *log, const stk_uuid_t *id, stk_model_map_t *out)
{
    memset(out, 0, sizeof(*out));
    out->id = *id;
    map_fold_t f = {.m = out};
    int rc = stk_log_read_stream(log, id, 1, 0, map_cb, &f);
    if (rc == 0 && out->version == 0)
        rc = STK_ENOTFOUND;
    if (rc == 0 && f.n_r > 0) {
        /* One rating per user: the latest (highest version) counts. */
        qsort(f.r, f.n_r, sizeof(*f.r), rating_cmp);
        for (size_t i = 0; i < f.n_r; i++) {
            if (i + 1 < f.n_r && stk_uuid_eq(&f.r[i].user, &f.r[i + 1].user))
                continue;
            out->rating_count++;
            out->rating_sum += f.r[i].stars;
        }
        out->rating_centi =
            (uint32_t)((out->rating_sum * 200 + out->rating_count) / (out->rating_count * 2));
    }
    free(f.r);
    if (rc == 0 && idx)
        out->play_count = stk_model_play_count(idx, id);
    return rc;
}
