/* tools/bots_report.c — `stockade bots`: the final report of a run.
 *
 * Ack latency percentiles (the samples are sorted in place), throughput, message counts,
 * rejects by code, errors, disconnects by close code and the game and audit totals, as text
 * or JSON on stdout, and the command's exit code from them. It is NOT the progress line
 * printed while the run goes (tools/cmd_bots.c) and measures nothing itself.
 * Thread: the run's loop only, after the loop stopped.
 */
#include "tools/bots_internal.h"

#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- report ------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

int stk_botrun_report(run_t *r)
{
    qsort(r->lat_us, r->n_lat, sizeof *r->lat_us, cmp_u32);
    double secs = (double)((r->play_t1_ns ? r->play_t1_ns : now_ns()) - r->play_t0_ns) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    double p50 = pct_ms(r->lat_us, r->n_lat, 0.50), p99 = pct_ms(r->lat_us, r->n_lat, 0.99),
           p999 = pct_ms(r->lat_us, r->n_lat, 0.999),
           pmax = r->n_lat ? r->lat_us[r->n_lat - 1] / 1000.0 : 0;
    uint64_t rejects = 0;
    for (size_t i = 0; i < r->n_rejects; i++)
        rejects += r->rejects[i].n;
    const char *mode = r->mode == MODE_JSON      ? "json"
                       : r->mode == MODE_MSGPACK ? "msgpack"
                                                 : "mixed";
    if (r->json) {
        json_t *rj = json_object(), *cc = json_object();
        for (size_t i = 0; i < r->n_rejects; i++)
            json_object_set_new(rj, r->rejects[i].code, json_integer((json_int_t)r->rejects[i].n));
        for (int i = 0; i < 5000; i++)
            if (r->close_codes[i]) {
                char k[8];
                snprintf(k, sizeof k, "%d", i);
                json_object_set_new(cc, k, json_integer((json_int_t)r->close_codes[i]));
            }
        json_t *mm = json_array();
        for (size_t i = 0; i < r->n_sessions; i++)
            if (r->sessions[i].mismatch)
                json_array_append_new(mm, json_string(r->sessions[i].id));
        json_t *o = json_pack(
            "{s:i, s:i, s:i, s:s, s:I, s:f, s:{s:I, s:f, s:f, s:f, s:f}, s:{s:I, s:I, s:f, s:f, "
            "s:I, s:I}, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:I, s:I, s:I, "
            "s:o}",
            "sessions", (int)r->n_sessions, "players", (int)r->n_players, "users", (int)r->n_users,
            "protocol", mode, "clients", (json_int_t)r->clients_total, "seconds", secs,
            "ack_latency_ms", "samples", (json_int_t)r->n_lat, "p50", p50, "p99", p99, "p999", p999,
            "max", pmax, "messages", "in", (json_int_t)r->msgs_in, "out", (json_int_t)r->msgs_out,
            "in_per_s", r->msgs_in / secs, "out_per_s", r->msgs_out / secs, "bytes_in",
            (json_int_t)r->bytes_in, "bytes_out", (json_int_t)r->bytes_out, "ops",
            (json_int_t)r->ops_out, "acks", (json_int_t)r->acks, "rejects", (json_int_t)rejects,
            "rejects_by_code", rj, "errors", "protocol", (json_int_t)r->proto_errors, "disconnects",
            (json_int_t)r->disconnects, "http", (json_int_t)r->http_errors, "mirror",
            (json_int_t)r->mirror_errors, "sessions_failed", (json_int_t)r->sessions_failed,
            "missing_end", (json_int_t)r->missing_end, "close_codes", cc, "finished_games",
            (json_int_t)r->games_finished, "verified_games", (json_int_t)r->games_verified,
            "hash_mismatches", (json_int_t)r->mismatches, "mismatched_sessions", mm);
        /* One bot's credentials and a readable resource, for follow-up measurements
         * (bench/bench_live.sh points wrk at GET /v1/tribes/{id} with this token). */
        for (size_t i = 0; o && i < r->n_users; i++)
            if (r->users[i].ready) {
                char path[64];
                snprintf(path, sizeof path, "/v1/tribes/%s", r->users[i].tribe);
                json_object_set_new(
                    o, "sample",
                    json_pack("{s:s, s:s}", "token", r->users[i].token, "get_by_id", path));
                break;
            }
        char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(o);
    } else {
        printf("sessions %zu x players %zu (%zu users, %s), %zu clients, %.1f s of play\n",
               r->n_sessions, r->n_players, r->n_users, mode, r->clients_total, secs);
        printf("ack latency ms: p50 %.3f  p99 %.3f  p999 %.3f  max %.3f  (%zu acks timed)\n", p50,
               p99, p999, pmax, r->n_lat);
        printf("messages: in %" PRIu64 " (%.0f/s)  out %" PRIu64 " (%.0f/s)  ops %" PRIu64
               "  acks %" PRIu64 "  rejects %" PRIu64 "\n",
               r->msgs_in, r->msgs_in / secs, r->msgs_out, r->msgs_out / secs, r->ops_out, r->acks,
               rejects);
        for (size_t i = 0; i < r->n_rejects; i++)
            printf("  reject %-20s %" PRIu64 "\n", r->rejects[i].code, r->rejects[i].n);
        printf("errors: protocol %" PRIu64 "  disconnects %" PRIu64 "  http %" PRIu64
               "  mirror %" PRIu64 "  failed sessions %" PRIu64 "  games without end %" PRIu64 "\n",
               r->proto_errors, r->disconnects, r->http_errors, r->mirror_errors,
               r->sessions_failed, r->missing_end);
        for (int i = 0; i < 5000; i++)
            if (r->close_codes[i])
                printf("  close %d: %" PRIu64 "\n", i, r->close_codes[i]);
        printf("games: finished %" PRIu64 "  verified by replay %" PRIu64
               "  hash mismatches %" PRIu64 "\n",
               r->games_finished, r->games_verified, r->mismatches);
        for (size_t i = 0; i < r->n_sessions; i++)
            if (r->sessions[i].mismatch)
                printf("  MISMATCH %s\n", r->sessions[i].id);
    }
    return r->mismatches || r->sessions_failed ? STK_EXIT_FAIL : STK_EXIT_OK;
}
