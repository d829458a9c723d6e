/* tools/bots.h — scripted players for `stockade simulate` (and later load tools).
 *
 * A bot looks at the committed game (core/game.h accessors only) and proposes inputs:
 * place towers where they cover the most of the enemies' current walking path, upgrade
 * them, now and then sell one, call the next wave when the field is clear, the host pauses
 * once and resumes, and a few deliberately invalid commands (off-map, water, someone
 * else's tower, an unknown tower kind, a wave call while one is spawning) that the
 * command path must refuse without writing anything. Every choice comes from the game
 * state and the bot's own PRNG (core/rng.h, seeded from the simulation seed and the
 * player's index), so the same seed gives the same inputs at the same ticks.
 *
 * It is NOT the command path (events/session.h submits what a bot proposes) and does no
 * I/O. Thread: a bot set belongs to one thread.
 */
#ifndef STK_TOOLS_BOTS_H
#define STK_TOOLS_BOTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/game.h"

#define STK_BOTS_MAX_INPUTS 8 /* inputs one bot may propose in one turn */

typedef struct stk_bots stk_bots_t;

/* Create bots for players[0..n) (user ids, join order; players[0] is the host) on games
 * played on `map`'s size. seed drives every choice. Returns 0 and *out (free with
 * stk_bots_destroy), STK_EINVAL, STK_ERANGE (n outside 1..STK_GAME_MAX_PLAYERS),
 * STK_ENOMEM. players is copied. */
int stk_bots_create(stk_bots_t **out, const uint8_t (*players)[STK_GAME_ID_LEN], size_t n,
                    const stk_map_t *map, uint64_t seed);
void stk_bots_destroy(stk_bots_t *b);

/* Inputs bot `i` proposes now, given the committed game g: written to out[0..cap),
 * returns how many (0 when it has nothing to do this tick). Bots think every half second
 * of game time, each at its own offset; while the game is PAUSED the host proposes the
 * resume. The caller submits them in order; some are meant to be refused. */
size_t stk_bots_turn(stk_bots_t *b, size_t i, const stk_game_t *g, stk_game_input_t *out,
                     size_t cap);

#endif
