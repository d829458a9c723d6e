/* events/replay_report.c — a replay's output: the game state at a tick and the final report,
 * as text or JSON (see replay.h, stk_replay_state_write() and stk_replay_report()).
 *
 * It only reads a replay (and games cloned from it by stk_replay_seek()); it feeds,
 * simulates and stores nothing — that is events/replay.c and events/replay_keyframes.c.
 */
#include "events/replay_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "events/types.h"

/* ---- reports ------------------------------------------------------------------------ */

static const char *tower_name(const stk_game_t *g, int kind)
{
    const stk_balance_t *b = stk_game_balance(g);
    if (kind >= 0 && kind < STK_TOWER_KINDS)
        return b->tower[kind].name;
    return "?";
}

static json_t *state_json(const stk_game_t *g)
{
    json_t *o = json_object();
    json_t *pl = json_array();
    json_t *tw = json_array();
    json_t *en = json_array();
    if (o == NULL || pl == NULL || tw == NULL || en == NULL)
        goto fail;
    char hash[17];
    snprintf(hash, sizeof(hash), "%016" PRIx64, stk_game_hash(g));
    json_object_set_new(o, "state", json_string(stk_game_state_name(stk_game_state(g))));
    json_object_set_new(o, "result", json_string(stk_game_result_name(stk_game_result(g))));
    json_object_set_new(o, "tick", json_integer((json_int_t)stk_game_tick(g)));
    json_object_set_new(o, "wave", json_integer(stk_game_wave(g)));
    json_object_set_new(o, "waves_cleared", json_integer(stk_game_waves_cleared(g)));
    json_object_set_new(o, "wave_count", json_integer(stk_game_wave_count(g)));
    json_object_set_new(o, "lives", json_integer(stk_game_lives(g)));
    json_object_set_new(o, "leaks", json_integer(stk_game_leaks(g)));
    json_object_set_new(o, "hash", json_string(hash));
    for (size_t i = 0; i < stk_game_player_count(g); i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0)
            continue;
        char id[STK_UUID_STR_LEN + 1];
        stk_uuid_t u;
        memcpy(u.b, p.id, STK_UUID_LEN);
        stk_uuid_format(&u, id);
        json_array_append_new(pl, json_pack("{s:s, s:I, s:I, s:b, s:b, s:b, s:b, s:i, s:i, s:i}",
                                            "id", id, "gold", (json_int_t)p.gold, "kills",
                                            (json_int_t)p.kills, "ready", p.ready, "connected",
                                            p.connected, "left", p.left, "host", p.host,
                                            "damage_bp", (int)p.damage_bp, "attack_speed_bp",
                                            (int)p.attack_speed_bp, "range_bp", (int)p.range_bp));
    }
    for (size_t i = 0; i < stk_game_tower_count(g); i++) {
        stk_game_tower_info_t t;
        if (stk_game_tower(g, i, &t) != 0)
            continue;
        json_array_append_new(tw, json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                                            (json_int_t)t.id, "owner", (json_int_t)t.owner, "tower",
                                            tower_name(g, t.kind), "level", (json_int_t)t.level,
                                            "x", (json_int_t)t.x, "y", (json_int_t)t.y, "spent",
                                            (json_int_t)t.spent, "cooldown", (json_int_t)t.cooldown,
                                            "kills", (json_int_t)t.kills));
    }
    for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
        stk_game_enemy_info_t e;
        if (stk_game_enemy(g, i, &e) != 0)
            continue;
        const char *kn = stk_map_enemy_type_name((uint32_t)e.kind);
        json_array_append_new(
            en, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)e.id, "enemy", kn != NULL ? kn : "?", "wave",
                          (json_int_t)e.wave, "health", (json_int_t)e.health, "x", (json_int_t)e.x,
                          "y", (json_int_t)e.y, "nx", (json_int_t)e.nx, "ny", (json_int_t)e.ny,
                          "progress", (json_int_t)e.progress, "slow_bp", (json_int_t)e.slow_bp,
                          "slow_ticks", (json_int_t)e.slow_ticks));
    }
    json_object_set_new(o, "players", pl);
    json_object_set_new(o, "towers", tw);
    json_object_set_new(o, "enemies", en);
    return o;
fail:
    json_decref(o);
    json_decref(pl);
    json_decref(tw);
    json_decref(en);
    return NULL;
}

static int state_text(const stk_game_t *g, FILE *f)
{
    fprintf(f,
            "state %s  result %s  tick %" PRIu64 "  wave %" PRIu32 "/%" PRIu32 " (cleared %" PRIu32
            ")  lives %" PRId32 "  leaks %" PRIu32 "  hash %016" PRIx64 "\n",
            stk_game_state_name(stk_game_state(g)), stk_game_result_name(stk_game_result(g)),
            stk_game_tick(g), stk_game_wave(g), stk_game_wave_count(g), stk_game_waves_cleared(g),
            stk_game_lives(g), stk_game_leaks(g), stk_game_hash(g));
    for (size_t i = 0; i < stk_game_player_count(g); i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0)
            continue;
        char id[STK_UUID_STR_LEN + 1];
        stk_uuid_t u;
        memcpy(u.b, p.id, STK_UUID_LEN);
        stk_uuid_format(&u, id);
        fprintf(f,
                "  player %zu %s gold %" PRIu64 " kills %" PRIu32 "%s%s%s%s  bonus dmg %" PRIu32
                " spd %" PRIu32 " rng %" PRIu32 "\n",
                i, id, p.gold, p.kills, p.host ? " host" : "", p.ready ? " ready" : "",
                p.connected ? "" : " disconnected", p.left ? " left" : "", p.damage_bp,
                p.attack_speed_bp, p.range_bp);
    }
    for (size_t i = 0; i < stk_game_tower_count(g); i++) {
        stk_game_tower_info_t t;
        if (stk_game_tower(g, i, &t) != 0)
            continue;
        fprintf(f,
                "  tower %" PRIu32 " %s L%" PRIu32 " at (%" PRIu32 ",%" PRIu32 ") owner %" PRIu32
                " spent %" PRIu32 " kills %" PRIu32 " cooldown %" PRIu32 "\n",
                t.id, tower_name(g, t.kind), t.level, t.x, t.y, t.owner, t.spent, t.kills,
                t.cooldown);
    }
    for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
        stk_game_enemy_info_t e;
        if (stk_game_enemy(g, i, &e) != 0)
            continue;
        const char *kn = stk_map_enemy_type_name((uint32_t)e.kind);
        fprintf(f,
                "  enemy %" PRIu32 " %s wave %" PRIu32 " health %" PRId32 " at (%" PRIu32
                ",%" PRIu32 ")->(%" PRIu32 ",%" PRIu32 ") progress %" PRId32 " slow %" PRId32
                "/%" PRIu32 "\n",
                e.id, kn != NULL ? kn : "?", e.wave, e.health, e.x, e.y, e.nx, e.ny, e.progress,
                e.slow_bp, e.slow_ticks);
    }
    return ferror(f) ? STK_EIO : 0;
}

int stk_replay_state_write(const stk_replay_t *r, FILE *f, bool json)
{
    if (r == NULL || f == NULL)
        return STK_EINVAL;
    if (r->g == NULL)
        return STK_ESTATE;
    if (!json)
        return state_text(r->g, f);
    json_t *o = state_json(r->g);
    if (o == NULL)
        return STK_ENOMEM;
    int rc = json_dumpf(o, f, JSON_COMPACT) == 0 ? 0 : STK_EIO;
    fputc('\n', f);
    json_decref(o);
    return rc;
}

static json_t *record_json(const stk_game_record_t *x)
{
    char hash[17];
    snprintf(hash, sizeof(hash), "%016" PRIx64, x->hash);
    json_t *gold = json_array();
    for (uint32_t i = 0; i < x->n_gold && i < STK_GAME_MAX_PLAYERS; i++)
        json_array_append_new(gold, json_integer((json_int_t)x->gold[i]));
    return json_pack("{s:s, s:I, s:s, s:I, s:i, s:o, s:s}", "type", stk_replay_event_name(x->type),
                     "tick", (json_int_t)x->tick, "result", stk_game_result_name(x->result), "wave",
                     (json_int_t)x->wave, "lives", (int)x->lives, "gold", gold, "hash", hash);
}

static void record_text(FILE *f, const char *label, const stk_game_record_t *x)
{
    fprintf(f, "  %-10s tick %" PRIu64, label, x->tick);
    if (x->type == STK_EV_GAME_ENDED)
        fprintf(f, " result %s", stk_game_result_name(x->result));
    if (x->type != STK_EV_TICK_MARK) {
        fprintf(f, " wave %" PRIu32 " lives %" PRId32 " gold [", x->wave, x->lives);
        for (uint32_t i = 0; i < x->n_gold && i < STK_GAME_MAX_PLAYERS; i++)
            fprintf(f, "%s%" PRIu64, i ? " " : "", x->gold[i]);
        fprintf(f, "]");
    }
    fprintf(f, " hash %016" PRIx64 "\n", x->hash);
}

int stk_replay_report(const stk_replay_t *r, FILE *f, bool json)
{
    if (r == NULL || f == NULL)
        return STK_EINVAL;
    const stk_replay_divergence_t *d = r->diverged ? &r->div : NULL;
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    if (json) {
        json_t *o = json_object();
        if (o == NULL)
            return STK_ENOMEM;
        json_object_set_new(o, "diverged", json_boolean(d != NULL));
        json_object_set_new(o, "mismatches", json_integer((json_int_t)s.mismatches));
        if (d != NULL) {
            json_object_set_new(o, "problem", json_string(stk_replay_problem_name(d->problem)));
            json_object_set_new(o, "seq", json_integer((json_int_t)d->seq));
            json_object_set_new(o, "tick", json_integer((json_int_t)d->tick));
            json_object_set_new(o, "event", json_string(stk_replay_event_name(d->event_type)));
            json_object_set_new(o, "detail", json_string(d->detail));
            if (d->problem == STK_REPLAY_INPUT_REFUSED)
                json_object_set_new(o, "rejected", json_string(stk_reject_name(d->rejected)));
            if (d->has_expected) {
                json_object_set_new(o, "recorded", record_json(&d->expected));
                json_object_set_new(o, "replayed", record_json(&d->actual));
            }
            json_object_set_new(o, "last_good_seq", json_integer((json_int_t)d->good_seq));
            json_object_set_new(o, "last_good_tick", json_integer((json_int_t)d->good_tick));
            json_t *diff = json_array();
            for (size_t i = 0; i < d->n_diff; i++)
                json_array_append_new(diff, json_pack("{s:s, s:I, s:I}", "field", d->diff[i].field,
                                                      "last_good", (json_int_t)d->diff[i].a,
                                                      "replayed", (json_int_t)d->diff[i].b));
            json_object_set_new(o, "diff", diff);
            json_object_set_new(o, "diff_total", json_integer((json_int_t)d->n_diff_total));
            if (r->div_game != NULL)
                json_object_set_new(o, "state", state_json(r->div_game));
        }
        int rc = json_dumpf(o, f, JSON_COMPACT) == 0 ? 0 : STK_EIO;
        fputc('\n', f);
        json_decref(o);
        return rc;
    }
    if (d == NULL) {
        fprintf(f, "no divergence\n");
        return ferror(f) ? STK_EIO : 0;
    }
    fprintf(f,
            "DIVERGENCE (%s) at tick %" PRIu64 ", seq %" PRIu64 " (%s); %" PRIu64
            " mismatch(es) in all\n",
            stk_replay_problem_name(d->problem), d->tick, d->seq,
            stk_replay_event_name(d->event_type), s.mismatches);
    fprintf(f, "  %s\n", d->detail);
    if (d->has_expected) {
        record_text(f, "recorded", &d->expected);
        record_text(f, "replayed", &d->actual);
    }
    fprintf(f,
            "state diff: last matching check (tick %" PRIu64 ", seq %" PRIu64
            ") -> replayed state at the divergence, %zu field(s)%s\n",
            d->good_tick, d->good_seq, d->n_diff_total,
            d->n_diff_total > d->n_diff ? " (first shown)" : "");
    for (size_t i = 0; i < d->n_diff; i++)
        fprintf(f, "  %-32s %" PRId64 " -> %" PRId64 "\n", d->diff[i].field, d->diff[i].a,
                d->diff[i].b);
    if (r->div_game != NULL) {
        fprintf(f, "replayed state at the divergence:\n");
        state_text(r->div_game, f);
    }
    return ferror(f) ? STK_EIO : 0;
}
