/* events/replay_keyframes.c — keyframes kept in the log's snapshot store (see replay.h):
 * their stream id, the record format (encode in store, decode in load and seek), loading
 * them for checking, and starting a replay from the latest usable one.
 *
 * It is not the in-memory keyframes a replay takes while it simulates, nor the checks of
 * loaded records against them (both in events/replay.c); this file only turns records into
 * stored_kf_t / replay state and back.
 */
#include "events/replay_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include "core/error.h"
#include "events/payload.h"
#include "events/types.h"

/* ---- stored keyframes --------------------------------------------------------------- */

void stk_replay_keyframe_stream(const stk_uuid_t *session, stk_uuid_t *out)
{
    crypto_generichash_state st;
    uint8_t h[STK_UUID_LEN];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)KF_STREAM_CONTEXT,
                              sizeof(KF_STREAM_CONTEXT)); /* with its NUL */
    crypto_generichash_update(&st, session->b, STK_UUID_LEN);
    crypto_generichash_final(&st, h, sizeof(h));
    memcpy(out->b, h, STK_UUID_LEN);
}

/* Decode a stored record. Format 2 must carry the state; format 1 (hash only) is still
 * read so a replay can check it. Returns 0 or STK_ECORRUPT; on success rec->state points
 * into p, which the caller closes after use. */
static int kf_decode(stk_payload_t *p, const uint8_t *data, size_t len, kf_record_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    if (stk_payload_open(p, data, len, NULL) != 0)
        return STK_ECORRUPT;
    const msgpack_object *root = stk_payload_root(p);
    if (stk_payload_get_uint(root, "v", &rec->format) != 0 ||
        (rec->format != 1 && rec->format != STK_REPLAY_KF_FORMAT) ||
        stk_payload_get_uint(root, "tick", &rec->tick) != 0 ||
        stk_payload_get_uint(root, "seq", &rec->seq) != 0 ||
        stk_payload_get_uint(root, "version", &rec->version) != 0 ||
        stk_payload_get_uint(root, "hash", &rec->hash) != 0)
        goto fail;
    if (rec->format == 1)
        return 0;
    const msgpack_object *items = NULL;
    size_t n = 0;
    if (stk_payload_get_bin(root, "state", &rec->state, &rec->state_len) != 0 ||
        rec->state_len == 0 || stk_payload_get_array(root, "pend", &items, &n) != 0 || n > PEND_MAX)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *it = &items[i];
        uint64_t type, tick, wave;
        if (it->type != MSGPACK_OBJECT_ARRAY || it->via.array.size != 3 ||
            stk_payload_as_uint(&it->via.array.ptr[0], &type) != 0 ||
            stk_payload_as_uint(&it->via.array.ptr[1], &tick) != 0 ||
            stk_payload_as_uint(&it->via.array.ptr[2], &wave) != 0 ||
            (type != STK_EV_WAVE_ENDED && type != STK_EV_GAME_ENDED) || tick != rec->tick ||
            wave > UINT32_MAX)
            goto fail;
        rec->pend[i] = (pending_t){(uint16_t)type, tick, (uint32_t)wave};
    }
    rec->n_pend = n;
    return 0;
fail:
    stk_payload_close(p);
    return STK_ECORRUPT;
}

int stk_replay_keyframes_load(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
{
    if (r == NULL || log == NULL || session == NULL)
        return STK_EINVAL;
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(session, &kfs);
    uint64_t at = UINT64_MAX;
    int rc = 0;
    while (r->n_stored < STORED_KF_MAX) {
        uint64_t seq = 0;
        uint8_t *data = NULL;
        size_t len = 0;
        rc = stk_log_snapshot_get(log, &kfs, at, &seq, &data, &len);
        if (rc == STK_ENOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        /* A record that does not decode is kept as "bad": the replay reports it when it
         * reaches its tick (the snapshot key), instead of silently checking less. */
        stored_kf_t k = {.tick = seq, .bad = true};
        stk_payload_t p;
        kf_record_t rec;
        if (kf_decode(&p, data, len, &rec) == 0) {
            if (rec.tick == seq) {
                k.hash = rec.hash;
                k.has_state = rec.state != NULL;
                if (k.has_state)
                    k.state_hash = XXH3_64bits(rec.state, rec.state_len);
                k.bad = false;
            }
            stk_payload_close(&p);
        }
        free(data);
        if (r->n_stored % 64 == 0) {
            stored_kf_t *s = realloc(r->stored, (r->n_stored + 64) * sizeof(*s));
            if (s == NULL) {
                rc = STK_ENOMEM;
                break;
            }
            r->stored = s;
        }
        r->stored[r->n_stored++] = k;
        if (seq == 0)
            break;
        at = seq - 1;
    }
    /* Loaded newest first: put them in tick order. */
    for (size_t i = 0; i < r->n_stored / 2; i++) {
        stored_kf_t t = r->stored[i];
        r->stored[i] = r->stored[r->n_stored - 1 - i];
        r->stored[r->n_stored - 1 - i] = t;
    }
    r->i_stored = 0;
    return rc;
}

int stk_replay_keyframes_store(const stk_replay_t *r, stk_log_t *log, size_t *stored)
{
    if (r == NULL || log == NULL)
        return STK_EINVAL;
    if (stored != NULL)
        *stored = 0;
    if (r->g == NULL || r->resumed)
        return STK_ESTATE;
    if (r->diverged)
        return STK_EHASH;
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(&r->sum.session, &kfs);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint8_t *state = NULL;
    size_t cap = 0;
    int rc = 0;
    size_t j = 0;
    for (size_t i = 1; i < r->n_kf; i++) {
        const keyframe_t *k = &r->kf[i];
        while (j < r->n_stored && r->stored[j].tick < k->tick)
            j++;
        if (j < r->n_stored && r->stored[j].tick == k->tick && !r->stored[j].bad &&
            r->stored[j].has_state && r->stored[j].hash == k->hash &&
            r->stored[j].state_hash == k->hash)
            continue;
        size_t len = 0;
        rc = stk_game_snapshot(k->g, NULL, 0, &len);
        if (rc != 0 && rc != STK_ETOOBIG)
            break;
        if (len > cap) {
            uint8_t *b = realloc(state, len);
            if (b == NULL) {
                rc = STK_ENOMEM;
                break;
            }
            state = b;
            cap = len;
        }
        rc = stk_game_snapshot(k->g, state, cap, &len);
        if (rc != 0)
            break;
        /* "hash" stays the last key (tools and tests locate it there). */
        msgpack_sbuffer_clear(&sb);
        int bad = msgpack_pack_map(&pk, 7) != 0 ||
                  stk_payload_put_uint(&pk, "v", STK_REPLAY_KF_FORMAT) != 0 ||
                  stk_payload_put_uint(&pk, "tick", k->tick) != 0 ||
                  stk_payload_put_uint(&pk, "seq", k->seq) != 0 ||
                  stk_payload_put_uint(&pk, "version", k->version) != 0 ||
                  stk_payload_put_array(&pk, "pend", k->n_pend) != 0;
        for (size_t q = 0; !bad && q < k->n_pend; q++)
            bad = msgpack_pack_array(&pk, 3) != 0 ||
                  msgpack_pack_uint64(&pk, k->pend[q].type) != 0 ||
                  msgpack_pack_uint64(&pk, k->pend[q].tick) != 0 ||
                  msgpack_pack_uint64(&pk, k->pend[q].wave) != 0;
        if (bad || stk_payload_put_bin(&pk, "state", state, len) != 0 ||
            stk_payload_put_uint(&pk, "hash", k->hash) != 0) {
            rc = STK_ENOMEM;
            break;
        }
        rc = stk_log_snapshot_put(log, &kfs, k->tick, (const uint8_t *)sb.data, sb.size);
        if (rc != 0)
            break;
        if (stored != NULL)
            (*stored)++;
    }
    free(state);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- seeking through the store ------------------------------------------------------ */

/* Feed only the first event of the stream (SessionOpened), then stop the read. */
static int first_feed_cb(void *ud, const stk_envelope_t *e)
{
    int rc = stk_replay_feed(ud, e);
    if (rc == STK_EHASH)
        rc = 0;
    return rc != 0 ? rc : 1;
}

/* Try the stored record at snapshot key seq: decode, check its position, restore it into a
 * copy of the game as created and compare the restored state's hash with the record's.
 * Returns 0 and *out (the restored game) with *rec filled (rec->state cleared: it pointed
 * into the freed payload), or non-zero if the record is unusable. */
static int kf_try(stk_replay_t *r, uint64_t seq, const uint8_t *data, size_t len, kf_record_t *rec,
                  stk_game_t **out)
{
    stk_payload_t p;
    if (kf_decode(&p, data, len, rec) != 0)
        return STK_ECORRUPT;
    int rc = STK_ECORRUPT;
    stk_game_t *g = NULL;
    if (rec->state == NULL || rec->tick != seq || rec->tick > r->opts.until_tick ||
        rec->version < r->kf[0].version || rec->seq < r->kf[0].seq)
        goto done;
    rc = stk_game_clone(r->kf[0].g, &g);
    if (rc != 0)
        goto done;
    rc = stk_game_restore(g, rec->state, rec->state_len);
    if (rc == 0 && (stk_game_hash(g) != rec->hash || stk_game_tick(g) != rec->tick))
        rc = STK_EHASH;
done:
    rec->state = NULL;
    rec->state_len = 0;
    stk_payload_close(&p);
    if (rc != 0) {
        stk_game_destroy(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Make the restored game the replay's starting point. */
static int resume_at(stk_replay_t *r, stk_game_t *g, const kf_record_t *rec)
{
    stk_game_t *base = NULL, *good = NULL;
    if (stk_game_clone(g, &base) != 0 || stk_game_clone(g, &good) != 0) {
        stk_game_destroy(base);
        stk_game_destroy(good);
        stk_game_destroy(g);
        return STK_ENOMEM;
    }
    stk_game_destroy(r->g);
    r->g = g;
    stk_game_destroy(r->kf[0].g);
    r->kf[0] = (keyframe_t){.tick = rec->tick,
                            .input_idx = 0,
                            .seq = rec->seq,
                            .version = rec->version,
                            .hash = rec->hash,
                            .g = base};
    r->n_kf = 1;
    stk_game_destroy(r->good);
    r->good = good;
    r->good_seq = rec->seq;
    r->good_tick = rec->tick;
    memcpy(r->pend, rec->pend, rec->n_pend * sizeof(pending_t));
    r->n_pend = rec->n_pend;
    r->fed_version = rec->version;
    r->sum.last_seq = rec->seq;
    r->sum.last_version = rec->version;
    r->sum.last_tick = rec->tick;
    r->sum.resumed_tick = rec->tick;
    r->resumed = true;
    /* the timeline goes on from the restored state: no notes for what came before */
    r->waves_seen = stk_game_wave(g);
    r->leaks_seen = stk_game_leaks(g);
    for (size_t i = 0; i < stk_game_player_count(g) && i < STK_GAME_MAX_PLAYERS; i++) {
        stk_game_player_info_t pi;
        if (stk_game_player(g, i, &pi) == 0)
            r->kills_seen[i] = pi.kills;
    }
    return 0;
}

int stk_replay_run_log_seek(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
{
    if (r == NULL || log == NULL || session == NULL)
        return STK_EINVAL;
    if (r->opts.until_tick == STK_REPLAY_UNTIL_END || r->g != NULL || r->err != 0)
        return STK_ESTATE;
    int rc = stk_log_read_stream(log, session, 1, 1, first_feed_cb, r);
    if (rc < 0)
        return rc;
    if (r->g == NULL)
        return r->err != 0 ? r->err : STK_ENOTFOUND;
    if (r->diverged) /* SessionOpened itself is suspect: take no shortcut */
        return stk_replay_run_log_from(r, log, session);
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(session, &kfs);
    uint64_t at = r->opts.until_tick;
    for (unsigned tries = 0; tries < STORED_KF_TRIES; tries++) {
        uint64_t seq = 0;
        uint8_t *data = NULL;
        size_t len = 0;
        rc = stk_log_snapshot_get(log, &kfs, at, &seq, &data, &len);
        if (rc == STK_ENOTFOUND)
            break;
        if (rc != 0)
            return rc;
        kf_record_t rec;
        stk_game_t *g = NULL;
        int trc = seq == 0 ? STK_ECORRUPT : kf_try(r, seq, data, len, &rec, &g);
        free(data);
        if (trc == STK_ENOMEM)
            return trc;
        if (trc == 0) {
            rc = resume_at(r, g, &rec);
            if (rc != 0)
                return rc;
            break;
        }
        r->sum.keyframes_rejected++;
        if (seq == 0)
            break;
        at = seq - 1;
    }
    return stk_replay_run_log_from(r, log, session);
}
