/* tests/core/test_game_session.c — the session state machine and host rules, every typed
 * reject (each reachable, each leaving the state untouched), creation errors, names. */
#include "test_game_fixture.h"

/* Expect `in` to be refused with `want`, the state unchanged, and mark `want` seen. */
static void expect_reject(stk_game_t *g, const stk_game_input_t *in, stk_reject_t want,
                          bool seen[STK_REJECT_COUNT])
{
    uint64_t before = stk_game_hash(g);
    stk_reject_t why = STK_REJECT_COUNT;
    cr_expect_eq(stk_game_check(g, in, &why), STK_EPERM);
    cr_expect_eq(why, want, "check: want %s, got %s", stk_reject_name(want), stk_reject_name(why));
    why = STK_REJECT_COUNT;
    cr_expect_eq(stk_game_apply(g, in, &why), STK_EPERM);
    cr_expect_eq(why, want, "apply: want %s, got %s", stk_reject_name(want), stk_reject_name(why));
    cr_expect_eq(stk_game_hash(g), before, "refused %s changed the state", stk_reject_name(want));
    if (why == want)
        seen[want] = true;
}

Test(game_session, every_typed_reject_is_reachable_and_changes_nothing)
{
    bool seen[STK_REJECT_COUNT] = {0};
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 3, 1000);
    fx_add_wave(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_map_tile_mut(&m, 3, 3)->blocked = 1;
    stk_map_tile_mut(&m, 4, 4)->terrain = STK_TERRAIN_WATER;
    stk_game_t *g = fx_game(&m, 7);
    stk_game_input_t in;

    /* lobby */
    in = fx_input(STK_INPUT_KINDS + 3, 1);
    expect_reject(g, &in, STK_REJECT_UNKNOWN_INPUT, seen);
    in = fx_join_input(0, FX_TRIBE_RANGE);
    expect_reject(g, &in, STK_REJECT_INVALID_PLAYER, seen);
    in = fx_input(STK_INPUT_READY, 0);
    expect_reject(g, &in, STK_REJECT_INVALID_PLAYER, seen);
    in = fx_join_input(1, 2000, 2000, 999);
    expect_reject(g, &in, STK_REJECT_BAD_BONUS, seen);
    in = fx_join_input(1, 5001, 0, 0);
    expect_reject(g, &in, STK_REJECT_BAD_BONUS, seen);
    in = fx_join_input(1, 0xffffffffu, 5001, 0); /* would wrap a naive sum */
    expect_reject(g, &in, STK_REJECT_BAD_BONUS, seen);
    in = fx_input(STK_INPUT_READY, 1);
    expect_reject(g, &in, STK_REJECT_NOT_IN_SESSION, seen);
    in = fx_input(STK_INPUT_START, 1);
    expect_reject(g, &in, STK_REJECT_NOT_IN_SESSION, seen);
    fx_join(g, 1, FX_TRIBE_RANGE);
    in = fx_join_input(1, FX_TRIBE_RANGE);
    expect_reject(g, &in, STK_REJECT_ALREADY_JOINED, seen);
    fx_join(g, 2, FX_TRIBE_DAMAGE);
    fx_join(g, 3, FX_TRIBE_SPEED);
    fx_join(g, 4, 1000, 2000, 2000);
    in = fx_join_input(5, FX_TRIBE_RANGE);
    expect_reject(g, &in, STK_REJECT_SESSION_FULL, seen);
    in = fx_place_input(1, 5, 5, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_WRONG_STATE, seen);
    in = fx_input(STK_INPUT_PAUSE, 1);
    expect_reject(g, &in, STK_REJECT_WRONG_STATE, seen);
    fx_ready(g, 1);
    fx_ready(g, 2);
    fx_ready(g, 3);
    in = fx_input(STK_INPUT_START, 1);
    expect_reject(g, &in, STK_REJECT_NOT_ALL_READY, seen);
    fx_ready(g, 4);
    in = fx_input(STK_INPUT_START, 2);
    expect_reject(g, &in, STK_REJECT_NOT_HOST, seen);
    in = fx_input(STK_INPUT_START, 1);
    fx_ok(g, &in);

    /* in progress: placement */
    in = fx_join_input(5, FX_TRIBE_RANGE);
    expect_reject(g, &in, STK_REJECT_WRONG_STATE, seen);
    in = fx_input(STK_INPUT_READY, 1);
    expect_reject(g, &in, STK_REJECT_WRONG_STATE, seen);
    in = fx_place_input(1, 5, 5, -1);
    expect_reject(g, &in, STK_REJECT_UNKNOWN_TOWER, seen);
    in = fx_place_input(1, 5, 5, STK_TOWER_KINDS);
    expect_reject(g, &in, STK_REJECT_UNKNOWN_TOWER, seen);
    in = fx_place_input(1, FX_W, 5, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_OFF_MAP, seen);
    in = fx_place_input(1, 5, UINT32_MAX, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_OFF_MAP, seen);
    in = fx_place_input(1, 0, FX_ROW, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_ON_SPAWN_OR_GOAL, seen);
    in = fx_place_input(1, FX_W - 1, FX_ROW, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_ON_SPAWN_OR_GOAL, seen);
    in = fx_place_input(1, 3, 3, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_TILE_BLOCKED, seen);
    in = fx_place_input(1, 4, 4, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_TILE_BLOCKED, seen);
    in = fx_place_input(9, 5, 5, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_NOT_IN_SESSION, seen);
    uint32_t t1 = fx_place(g, 1, 5, 5, STK_TOWER_CANNON);
    in = fx_place_input(2, 5, 5, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_TILE_OCCUPIED, seen);
    for (uint32_t x = 6; x < 10; x++)
        fx_place(g, 1, x, 5, STK_TOWER_CANNON); /* 5 x 100 gold */
    in = fx_place_input(1, 11, 5, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_NOT_ENOUGH_GOLD, seen);
    /* a wall of towers across the map, except the last tile, which would close it */
    for (uint32_t y = 0; y < FX_H - 1; y++) {
        uint8_t who = (uint8_t)(2 + y / 8); /* 8 arrows each for players 2, 3, 4 */
        fx_place(g, who, 15, y, STK_TOWER_ARROW);
    }
    in = fx_place_input(1, 15, FX_H - 1, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_NOT_ENOUGH_GOLD, seen);
    stk_game_input_t sell = fx_input(STK_INPUT_SELL, 1);
    sell.tower_id = t1;
    fx_ok(g, &sell); /* player 1 can pay again */
    expect_reject(g, &in, STK_REJECT_WOULD_BLOCK_PATH, seen);

    /* towers */
    in = fx_input(STK_INPUT_UPGRADE, 1);
    in.tower_id = 999;
    expect_reject(g, &in, STK_REJECT_NO_SUCH_TOWER, seen);
    in.tower_id = t1;
    expect_reject(g, &in, STK_REJECT_NO_SUCH_TOWER, seen); /* sold */
    stk_game_tower_info_t t2;
    cr_assert_eq(stk_game_tower(g, 0, &t2), 0); /* player 1's cannon at (6, 5) */
    in = fx_input(STK_INPUT_SELL, 2);
    in.tower_id = t2.id;
    expect_reject(g, &in, STK_REJECT_NOT_OWNER, seen);
    in = fx_input(STK_INPUT_UPGRADE, 1);
    in.tower_id = t2.id;
    expect_reject(g, &in, STK_REJECT_NOT_ENOUGH_GOLD, seen); /* 80 to upgrade, 70 left */

    /* waves */
    fx_call_wave(g, 1);
    in = fx_input(STK_INPUT_CALL_WAVE, 2);
    expect_reject(g, &in, STK_REJECT_WAVE_SPAWNING, seen);
    fx_steps(g, 41);
    cr_assert_not(stk_game_wave_spawning(g));
    fx_ok(g, &in);
    fx_steps(g, 2);
    expect_reject(g, &in, STK_REJECT_NO_MORE_WAVES, seen);

    /* connection */
    in = fx_input(STK_INPUT_RECONNECT, 3);
    expect_reject(g, &in, STK_REJECT_ALREADY_CONNECTED, seen);
    in = fx_input(STK_INPUT_DISCONNECT, 3);
    fx_ok(g, &in);
    expect_reject(g, &in, STK_REJECT_ALREADY_DISCONNECTED, seen);

    /* pause and max level */
    in = fx_input(STK_INPUT_PAUSE, 3);
    expect_reject(g, &in, STK_REJECT_NOT_HOST, seen);
    in = fx_input(STK_INPUT_PAUSE, 1);
    fx_ok(g, &in);
    in = fx_place_input(2, 12, 12, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_WRONG_STATE, seen);
    in = fx_input(STK_INPUT_ABANDON, 2);
    expect_reject(g, &in, STK_REJECT_NOT_HOST, seen);
    in = fx_input(STK_INPUT_ABANDON, 0); /* the server */
    fx_ok(g, &in);
    expect_reject(g, &in, STK_REJECT_WRONG_STATE, seen);
    stk_game_destroy(g);

    /* MAX_LEVEL and TOWER_LIMIT need their own games */
    g = fx_game(&m, 7);
    fx_start(g, 1);
    uint32_t t = fx_place(g, 1, 8, 8, STK_TOWER_ARROW);
    in = fx_input(STK_INPUT_UPGRADE, 1);
    in.tower_id = t;
    fx_ok(g, &in);
    fx_ok(g, &in);
    expect_reject(g, &in, STK_REJECT_MAX_LEVEL, seen);
    stk_game_destroy(g);

    stk_balance_t free_towers;
    stk_balance_default(&free_towers);
    free_towers.tower[STK_TOWER_ARROW].level[0].cost = 0;
    g = fx_game_with(&m, 7, &free_towers);
    fx_start(g, 1);
    int placed = 0;
    for (uint32_t y = 0; y < FX_H && placed < STK_GAME_MAX_TOWERS; y++) {
        if (y == FX_ROW)
            continue;
        for (uint32_t x = 0; x < FX_W && placed < STK_GAME_MAX_TOWERS; x++) {
            in = fx_place_input(1, x, y, STK_TOWER_ARROW);
            if (fx_try(g, &in) == STK_REJECT_NONE)
                placed++;
        }
    }
    cr_assert_eq(placed, STK_GAME_MAX_TOWERS);
    in = fx_place_input(1, 19, 19, STK_TOWER_ARROW);
    expect_reject(g, &in, STK_REJECT_TOWER_LIMIT, seen);
    stk_game_destroy(g);

    for (int r = 1; r < STK_REJECT_COUNT; r++)
        cr_expect(seen[r], "reject %s never produced", stk_reject_name((stk_reject_t)r));
}

Test(game_session, at_most_four_players_join_and_the_first_is_host)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    for (uint8_t p = 1; p <= 4; p++)
        fx_join(g, p, FX_TRIBE_RANGE);
    stk_game_input_t in = fx_join_input(5, FX_TRIBE_RANGE);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_SESSION_FULL);
    cr_expect_eq(stk_game_player_count(g), 4);
    stk_game_player_info_t p;
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(stk_game_player(g, i, &p), 0);
        cr_expect_eq(p.host, i == 0);
        cr_expect_eq(p.gold, 500);
        cr_expect_eq(p.id[0], i + 1, "join order");
    }
    cr_expect_eq(stk_game_player(g, 4, &p), STK_ERANGE);
    /* a player leaving the lobby frees the seat; the host leaving passes the role on */
    in = fx_input(STK_INPUT_LEAVE, 1);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_player_count(g), 3);
    cr_assert_eq(stk_game_player(g, 0, &p), 0);
    cr_expect_eq(p.id[0], 2);
    cr_expect(p.host);
    in = fx_join_input(5, FX_TRIBE_RANGE);
    fx_ok(g, &in);
    stk_game_destroy(g);
}

Test(game_session, only_the_host_starts_pauses_and_resumes)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_join(g, 1, FX_TRIBE_RANGE);
    fx_join(g, 2, FX_TRIBE_RANGE);
    fx_ready(g, 1);
    fx_ready(g, 2);
    stk_game_input_t in = fx_input(STK_INPUT_START, 2);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NOT_HOST);
    in = fx_input(STK_INPUT_START, 1);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_state(g), STK_GAME_IN_PROGRESS);
    in = fx_input(STK_INPUT_PAUSE, 2);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NOT_HOST);
    in = fx_input(STK_INPUT_PAUSE, 1);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_state(g), STK_GAME_PAUSED);
    in = fx_input(STK_INPUT_RESUME, 2);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NOT_HOST);
    in = fx_input(STK_INPUT_RESUME, 1);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_state(g), STK_GAME_IN_PROGRESS);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_WRONG_STATE);
    /* when the host leaves mid-game, the next player in join order becomes host */
    in = fx_input(STK_INPUT_LEAVE, 1);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_player_count(g), 2, "a player who left stays in the gold list");
    stk_game_player_info_t p;
    stk_game_player(g, 0, &p);
    cr_expect(p.left);
    cr_expect_not(p.host);
    in = fx_place_input(1, 5, 5, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NOT_IN_SESSION);
    in = fx_input(STK_INPUT_PAUSE, 2);
    fx_ok(g, &in);
    stk_game_destroy(g);
}

Test(game_session, pause_stops_time)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 5, 200);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    fx_steps(g, 30);
    stk_game_input_t in = fx_input(STK_INPUT_PAUSE, 1);
    fx_ok(g, &in);
    uint64_t tick = stk_game_tick(g), hash = stk_game_hash(g);
    stk_game_outcome_t out;
    for (int i = 0; i < 100; i++) {
        stk_game_step(g, &out);
        cr_assert_not(out.wave_ended || out.game_ended);
    }
    cr_expect_eq(stk_game_tick(g), tick);
    cr_expect_eq(stk_game_hash(g), hash);
    in = fx_input(STK_INPUT_RESUME, 1);
    fx_ok(g, &in);
    stk_game_step(g, NULL);
    cr_expect_eq(stk_game_tick(g), tick + 1);
    cr_expect_neq(stk_game_hash(g), hash);
    stk_game_destroy(g);
}

Test(game_session, the_lobby_does_not_advance_time)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_join(g, 1, FX_TRIBE_RANGE);
    uint64_t hash = stk_game_hash(g);
    fx_steps(g, 50);
    cr_expect_eq(stk_game_tick(g), 0);
    cr_expect_eq(stk_game_hash(g), hash);
    stk_game_destroy(g);
}

Test(game_session, abandon_by_host_or_server_ends_the_game)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 2);
    stk_game_input_t in = fx_input(STK_INPUT_ABANDON, 2);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NOT_HOST);
    in = fx_input(STK_INPUT_ABANDON, 1);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_state(g), STK_GAME_ABANDONED);
    cr_expect_eq(stk_game_result(g), STK_RESULT_ABANDONED);
    stk_game_outcome_t out;
    stk_game_outcome(g, &out);
    cr_expect(out.game_ended);
    cr_expect_str_eq(stk_game_result_name(out.result), "abandoned");
    cr_expect_eq(out.n_players, 2);
    cr_expect_eq(out.lives, 20);
    cr_expect_eq(out.hash, stk_game_hash(g));
    in = fx_input(STK_INPUT_LEAVE, 2);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_WRONG_STATE);
    stk_game_destroy(g);

    /* a lobby can be abandoned too */
    g = fx_game(&m, 1);
    in = fx_input(STK_INPUT_ABANDON, 0);
    fx_ok(g, &in);
    cr_expect_eq(stk_game_state(g), STK_GAME_ABANDONED);
    stk_game_destroy(g);
}

Test(game_session, disconnect_and_reconnect_toggle_the_connection)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    stk_game_input_t in = fx_input(STK_INPUT_DISCONNECT, 1);
    fx_ok(g, &in);
    stk_game_player_info_t p;
    stk_game_player(g, 0, &p);
    cr_expect_not(p.connected);
    in = fx_input(STK_INPUT_RECONNECT, 1);
    fx_ok(g, &in);
    stk_game_player(g, 0, &p);
    cr_expect(p.connected);
    stk_game_destroy(g);
}

Test(game_session, create_refuses_bad_setups)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_setup_t s;
    memset(&s, 0, sizeof(s));
    s.map = &m;
    s.tick_rate = 20;
    s.ruleset = STK_RULESET_VERSION;
    stk_balance_default(&s.balance);
    stk_game_t *g = NULL;
    cr_expect_eq(stk_game_create(NULL, &g), STK_EINVAL);
    cr_expect_eq(stk_game_create(&s, NULL), STK_EINVAL);
    s.ruleset = STK_RULESET_VERSION + 1;
    cr_expect_eq(stk_game_create(&s, &g), STK_EVERSION);
    s.ruleset = STK_RULESET_VERSION;
    s.tick_rate = 0;
    cr_expect_eq(stk_game_create(&s, &g), STK_ERANGE);
    s.tick_rate = STK_GAME_MAX_TICK_RATE + 1;
    cr_expect_eq(stk_game_create(&s, &g), STK_ERANGE);
    s.tick_rate = 20;
    s.balance.enemy[STK_ENEMY_GRUNT].health = 0;
    cr_expect_eq(stk_game_create(&s, &g), STK_ERANGE);
    stk_balance_default(&s.balance);
    m.goal = m.spawn;
    cr_expect_eq(stk_game_create(&s, &g), STK_ESCHEMA);
    cr_expect_null(g);
}

Test(game_session, balance_validation_names_the_bad_field)
{
    stk_balance_t b;
    stk_balance_default(&b);
    const char *field = NULL;
    cr_expect_eq(stk_balance_validate(&b, &field), 0);
    b.tower[STK_TOWER_TESLA].level[2].chain_jumps = 17;
    cr_expect_eq(stk_balance_validate(&b, &field), STK_ERANGE);
    cr_expect_str_eq(field, "tower.level.chain_jumps");
    stk_balance_default(&b);
    strcpy(b.enemy[STK_ENEMY_FLYER].name, "bat");
    cr_expect_eq(stk_balance_validate(&b, &field), STK_ERANGE);
    cr_expect_str_eq(field, "enemy.name");
    cr_expect_eq(stk_balance_validate(NULL, &field), STK_EINVAL);
    stk_balance_default(&b);
    cr_expect_eq(stk_balance_tower_by_name(&b, "cannon"), STK_TOWER_CANNON);
    cr_expect_eq(stk_balance_tower_by_name(&b, "Cannon"), -1);
    cr_expect_eq(stk_balance_tower_by_name(&b, NULL), -1);
}

Test(game_session, names_are_declared_once)
{
    cr_expect_str_eq(stk_reject_name(STK_REJECT_WOULD_BLOCK_PATH), "WOULD_BLOCK_PATH");
    cr_expect_str_eq(stk_reject_message(STK_REJECT_NOT_ENOUGH_GOLD), "not enough gold");
    cr_expect_str_eq(stk_reject_name(STK_REJECT_COUNT), "UNKNOWN");
    cr_expect_str_eq(stk_game_input_event(STK_INPUT_PLACE), "TowerPlaced");
    cr_expect_str_eq(stk_game_input_event(STK_INPUT_ABANDON), "SessionAbandoned");
    cr_expect_null(stk_game_input_event(STK_INPUT_KINDS));
    cr_expect_str_eq(stk_game_state_name(STK_GAME_PAUSED), "paused");
    cr_expect_str_eq(stk_game_result_name(STK_RESULT_VICTORY), "victory");
    cr_expect_str_eq(stk_game_result_name(STK_RESULT_DEFEAT), "defeat");
}
