/* A small game server for Cairn in C, written against the public contract only (subjects, JSON,
 * headers; schemas/CONTRACT.md): it creates and plays a hunt, follows the boards from HUNT_RANKS
 * with the shift rule, checks them against the engine's queries, and reads the rejections.
 *
 *   cairn-example [-nats URL] [-hunt ID] HUNT_FILE
 *
 * HUNT_FILE holds the hunt's definition, the `data` of its HuntCreated: {title, treasures, rules}.
 * A hunt whose rules have `teams` is played as a team hunt. Exit status: 0 when every check
 * passed, 1 when one failed or the engine could not be reached, 2 for a usage error.
 *
 * NATS: nats.c (libnats). JSON: jansson, which keeps JSON integers as 64-bit integers, so
 * sequence numbers and scores (safe integers, up to 2^53) stay exact. */
#include <jansson.h>
#include <nats/nats.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"

#define SOURCE "example-c-server"
#define MAX_CHAIN 16

/* A subject this server follows from the start of its stream, with an ordered consumer. */
typedef struct {
    char subject[128];
    const char *stream;
    natsSubscription *sub;
    uint64_t read; /* the stream sequence of the last message handled */
    board *b;      /* the board it feeds; NULL for the rejections */
} followed;

/* Error replies are {"error": {"code", "message"}}. */
typedef struct {
    char code[64];
    char message[1024];
} query_error;

typedef enum { QUERY_OK, QUERY_ERROR_REPLY, QUERY_FAILED } query_result;

typedef struct {
    natsConnection *nc;
    jsCtx *js;
    const char *hunt;
    int next; /* the number in the next event id */
    json_t *def;
    bool team_hunt;
    board players, teams;
    followed follows[3];
    int n_follows;
    uint64_t last_seq; /* the sequence of the last event this server published */
    char bad_id[160];  /* the event published to be rejected, until its rejection is read */
    int failures;
} game;

static const struct { const char *id, *name, *team; } PLAYERS[] = {
    {"ann", "Ann", "red"}, {"bob", "Bob", "red"}, {"cat", "Cat", "blue"}, {"dan", "Dan", "blue"}};
static const struct { const char *id, *name; } TEAMS[] = {{"red", "Red Herrings"}, {"blue", "Blue Whales"}};

static void fail(game *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    g->failures++;
}

static void nats_failed(const char *what, natsStatus s) {
    fprintf(stderr, "error: %s: %s (%s)\n", what, natsStatus_GetText(s), nats_GetLastError(NULL));
}

/* ---- publishing --------------------------------------------------------------------------- */

/* The next event id, unique across hunts: JetStream's duplicate window spans the whole
 * HUNT_EVENTS stream, so the hunt id is part of every event id. */
static void new_id(game *g, char *id, size_t len) { snprintf(id, len, "%s:%d", g->hunt, ++g->next); }

/* A CloudEvents 1.0 envelope in structured mode; takes ownership of data (may be NULL). */
static char *event_body(const char *id, const char *type, json_t *data) {
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", id, "source", SOURCE,
                           "type", type);
    if (data != NULL) json_object_set_new(ev, "data", data);
    char *body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return body;
}

/* Sends an event to hunt.<id>.events with Nats-Msg-Id = its id and waits for JetStream's ack,
 * which carries the stream sequence. A publish whose ack does not come is sent again, byte for
 * byte with the same id: if the first one was stored after all, JetStream drops the retry as a
 * duplicate and acks it with the first one's sequence, so nothing is applied twice. */
static natsStatus publish(game *g, const char *type, const char *id, const char *body, jsPubAck **ack) {
    char subject[128];
    snprintf(subject, sizeof subject, "hunt.%s.events", g->hunt);
    natsStatus s = NATS_OK;
    for (int attempt = 1; attempt <= 3; attempt++) {
        natsMsg *msg = NULL;
        jsPubOptions opts;
        jsErrCode jerr = 0;
        jsPubOptions_Init(&opts);
        opts.MaxWait = 2000;
        s = natsMsg_Create(&msg, subject, NULL, body, (int)strlen(body));
        if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
        if (s == NATS_OK) s = js_PublishMsg(ack, g->js, msg, &opts, &jerr);
        natsMsg_Destroy(msg);
        if (s != NATS_TIMEOUT && s != NATS_NO_RESPONDERS) break;
        printf("publish of %s: %s, sending it again (attempt %d)\n", id, natsStatus_GetText(s), attempt + 1);
    }
    if (s != NATS_OK) {
        fprintf(stderr, "error: publishing %s %s: %s (%s) (is the engine running? it creates the streams)\n",
                type, id, natsStatus_GetText(s), nats_GetLastError(NULL));
    }
    return s;
}

static void drain(game *g);

/* Publishes one event (taking ownership of data) and returns its stream sequence, or 0. */
static uint64_t send_event(game *g, const char *type, json_t *data, char *id_out, size_t id_len) {
    char id[160];
    new_id(g, id, sizeof id);
    if (id_out != NULL) snprintf(id_out, id_len, "%s", id);
    char *body = event_body(id, type, data);
    jsPubAck *ack = NULL;
    uint64_t seq = 0;
    if (publish(g, type, id, body, &ack) == NATS_OK) {
        seq = ack->Sequence;
        g->last_seq = seq;
        printf("published  seq %4llu  %-18s %s\n", (unsigned long long)seq, type, id);
        jsPubAck_Destroy(ack);
    }
    free(body);
    drain(g);
    return seq;
}

/* ---- queries ------------------------------------------------------------------------------ */

/* Asks hunt.<hunt>.query.<op> (taking ownership of request). On QUERY_OK *reply is the reply
 * object (the caller decrefs it); on QUERY_ERROR_REPLY *e says why. `unavailable` (the hunt is
 * loading or moving) is asked again for up to 10 s, as the contract advises. */
static query_result query(game *g, const char *hunt, const char *op, json_t *request, json_t **reply,
                          query_error *e) {
    char subject[160];
    snprintf(subject, sizeof subject, "hunt.%s.query.%s", hunt, op);
    char *body = json_dumps(request, JSON_COMPACT);
    json_decref(request);
    query_result result = QUERY_FAILED;
    int64_t deadline = nats_Now() + 10000;
    *reply = NULL;
    for (;;) {
        natsMsg *msg = NULL;
        natsStatus s = natsConnection_Request(&msg, g->nc, subject, body, (int)strlen(body), 5000);
        if (s == NATS_NO_RESPONDERS) {
            fprintf(stderr, "error: %s: no engine answers (is cairn serve running?)\n", subject);
            break;
        }
        if (s != NATS_OK) {
            nats_failed(subject, s);
            break;
        }
        json_error_t jerr;
        json_t *r = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, &jerr);
        natsMsg_Destroy(msg);
        if (!json_is_object(r)) {
            fprintf(stderr, "error: %s: the reply is not a JSON object (%s)\n", subject, jerr.text);
            json_decref(r);
            break;
        }
        const char *code = "", *message = "";
        if (json_unpack(r, "{s:{s:s, s:s}}", "error", "code", &code, "message", &message) != 0) {
            *reply = r;
            result = QUERY_OK;
            break;
        }
        snprintf(e->code, sizeof e->code, "%s", code);
        snprintf(e->message, sizeof e->message, "%s", message);
        json_decref(r);
        if (strcmp(e->code, "unavailable") != 0 || nats_Now() > deadline) {
            result = QUERY_ERROR_REPLY;
            break;
        }
        nats_Sleep(250);
    }
    free(body);
    return result;
}

/* A query that must succeed: on an error reply or a failure, counts a failure and returns NULL. */
static json_t *ask(game *g, const char *op, json_t *request) {
    json_t *reply;
    query_error e;
    switch (query(g, g->hunt, op, request, &reply, &e)) {
    case QUERY_OK:
        return reply;
    case QUERY_ERROR_REPLY:
        fail(g, "query %s: error %s: %s", op, e.code, e.message);
        return NULL;
    default:
        fail(g, "query %s: no answer", op);
        return NULL;
    }
}

static long long int_field(json_t *obj, const char *key) { return json_integer_value(json_object_get(obj, key)); }
static const char *str_field(json_t *obj, const char *key) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

/* ---- following HUNT_RANKS and HUNT_REJECTED ----------------------------------------------- */

static natsStatus follow(game *g, const char *suffix, const char *stream, board *b) {
    followed *f = &g->follows[g->n_follows++];
    snprintf(f->subject, sizeof f->subject, "hunt.%s.%s", g->hunt, suffix);
    f->stream = stream;
    f->b = b;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Ordered = true; /* an ephemeral consumer the client recreates, in order, if it misses one */
    so.Config.DeliverPolicy = js_DeliverAll;
    jsErrCode jerr = 0;
    natsStatus s = js_SubscribeSync(&f->sub, g->js, f->subject, NULL, &so, &jerr);
    if (s != NATS_OK) {
        fprintf(stderr, "error: following %s on %s: %s (%s) (the engine creates the streams: is it running, and does it serve this subject?)\n",
                f->subject, stream, natsStatus_GetText(s), nats_GetLastError(NULL));
    }
    return s;
}

static void on_rank(game *g, followed *f, json_t *r) {
    bool team = f->b == &g->teams;
    const char *id = str_field(r, team ? "teamId" : "playerId");
    long long seq = int_field(r, "seq"), score = int_field(r, "score"), rank = int_field(r, "rank"),
              previous = int_field(r, "previousRank"), n = int_field(r, team ? "teams" : "players");
    printf("  rank     seq %4lld  %-6s %-5s score %4lld  rank %lld (was %lld) of %lld\n", seq, f->b->name, id,
           score, rank, previous, n);
    char err[1200];
    if (board_apply(f->b, seq, id, score, rank, previous, n, err, sizeof err) != 0) fail(g, "%s", err);
}

static void on_rejected(game *g, json_t *r) {
    const char *id = json_is_string(json_object_get(r, "eventId")) ? str_field(r, "eventId") : "(unreadable)";
    const char *type = json_is_string(json_object_get(r, "type")) ? str_field(r, "type") : "(unreadable)";
    const char *code = str_field(r, "code");
    printf("  rejected seq %4lld  %-18s %s  %s: %s\n", int_field(r, "seq"), type, id, code, str_field(r, "message"));
    if (g->bad_id[0] != '\0' && strcmp(id, g->bad_id) == 0) {
        if (strcmp(code, "unknown_treasure") != 0) fail(g, "event %s was rejected %s, expected unknown_treasure", id, code);
        g->bad_id[0] = '\0';
    } else {
        fail(g, "event %s (%s) was rejected %s: %s", id, type, code, str_field(r, "message"));
    }
}

/* Handles one message of a followed subject. */
static void handle(game *g, followed *f, natsMsg *msg) {
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        f->read = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    json_error_t jerr;
    json_t *r = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, &jerr);
    if (!json_is_object(r))
        fail(g, "%s: a message that is not a JSON object (%s)", f->subject, jerr.text);
    else if (f->b != NULL)
        on_rank(g, f, r);
    else
        on_rejected(g, r);
    json_decref(r);
    natsMsg_Destroy(msg);
}

/* Handles every message that has arrived, without waiting. */
static void drain(game *g) {
    for (int i = 0; i < g->n_follows; i++) {
        int pending = 0;
        natsSubscription_GetPending(g->follows[i].sub, &pending, NULL);
        while (pending-- > 0) {
            natsMsg *msg = NULL;
            if (natsSubscription_NextMsg(&msg, g->follows[i].sub, 1000) != NATS_OK) break;
            handle(g, &g->follows[i], msg);
        }
    }
}

/* Waits until the engine has handled every event published (a `state` reply's seq is the last
 * input it handled), then until this server has read everything the engine stored for the hunt
 * on the followed subjects up to then. */
static int catch_up(game *g) {
    printf("\n== waiting for the engine to handle seq %llu\n", (unsigned long long)g->last_seq);
    int64_t deadline = nats_Now() + 15000;
    for (;;) {
        json_t *st = ask(g, "state", json_object());
        if (st == NULL) return -1;
        uint64_t seq = (uint64_t)int_field(st, "seq");
        json_decref(st);
        if (seq >= g->last_seq) break;
        if (nats_Now() > deadline) {
            fprintf(stderr, "error: the engine handled up to seq %llu, not %llu, in 15 s\n",
                    (unsigned long long)seq, (unsigned long long)g->last_seq);
            return -1;
        }
        drain(g);
        nats_Sleep(100);
    }
    for (int i = 0; i < g->n_follows; i++) {
        followed *f = &g->follows[i];
        natsMsg *last = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetLastMsg(&last, g->js, f->stream, f->subject, NULL, &jerr);
        if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;
        if (s != NATS_OK) {
            nats_failed(f->subject, s);
            return -1;
        }
        uint64_t end = natsMsg_GetSequence(last);
        natsMsg_Destroy(last);
        while (f->read < end) {
            natsMsg *msg = NULL;
            s = natsSubscription_NextMsg(&msg, f->sub, 5000);
            if (s != NATS_OK) {
                fprintf(stderr, "error: %s read to stream sequence %llu of %llu: %s\n", f->subject,
                        (unsigned long long)f->read, (unsigned long long)end, natsStatus_GetText(s));
                return -1;
            }
            handle(g, f, msg);
        }
    }
    return 0;
}

/* ---- the script --------------------------------------------------------------------------- */

/* The treasures this script can find, clues in order: each one after every treasure it
 * requires. Treasures scored by review, with an answer, or not open from the start are left
 * out, and so is any that requires one of them. */
static int findable(json_t *treasures, const char **chain) {
    int n = 0;
    bool progress = true;
    while (progress && n < MAX_CHAIN) {
        progress = false;
        size_t i;
        json_t *t;
        json_array_foreach(treasures, i, t) {
            const char *id = str_field(t, "id");
            bool skip = json_is_true(json_object_get(t, "review")) || json_object_get(t, "answerSha256") != NULL ||
                        int_field(t, "opensAfterMs") > 0;
            for (int k = 0; k < n && !skip; k++) skip = strcmp(chain[k], id) == 0;
            if (skip || n == MAX_CHAIN) continue;
            bool ready = true;
            size_t j;
            json_t *req;
            json_array_foreach(json_object_get(t, "requires"), j, req) {
                bool found = false;
                for (int k = 0; k < n; k++) found = found || strcmp(chain[k], json_string_value(req)) == 0;
                ready = ready && found;
            }
            if (ready) {
                chain[n++] = id;
                progress = true;
            }
        }
    }
    return n;
}

/* A TreasureFound's data; a treasure with a location is reported from its very spot. */
static json_t *find(game *g, const char *player, const char *treasure) {
    json_t *data = json_pack("{s:s, s:s}", "playerId", player, "treasureId", treasure);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(g->def, "treasures"), i, t) {
        json_t *loc = json_object_get(t, "location");
        if (strcmp(str_field(t, "id"), treasure) == 0 && loc != NULL)
            json_object_set_new(data, "location", json_pack("{s:O, s:O}", "lat", json_object_get(loc, "lat"),
                                                            "lon", json_object_get(loc, "lon")));
    }
    return data;
}

#define SEND(type, data)                                       \
    do {                                                       \
        if (send_event(g, (type), (data), NULL, 0) == 0) return -1; \
    } while (0)

static int play(game *g, const char **chain, int n_chain, const char *review) {
    printf("\n== publishing (acked JetStream publishes, Nats-Msg-Id = event id)\n");
    SEND("HuntCreated", json_incref(g->def));
    if (g->team_hunt)
        for (size_t i = 0; i < sizeof TEAMS / sizeof TEAMS[0]; i++)
            SEND("TeamCreated", json_pack("{s:s, s:s}", "teamId", TEAMS[i].id, "name", TEAMS[i].name));
    for (size_t i = 0; i < sizeof PLAYERS / sizeof PLAYERS[0]; i++) {
        json_t *data = json_pack("{s:s, s:s}", "playerId", PLAYERS[i].id, "name", PLAYERS[i].name);
        if (g->team_hunt) json_object_set_new(data, "teamId", json_string(PLAYERS[i].team));
        SEND("PlayerJoined", data);
    }
    SEND("HuntStarted", NULL);
    SEND("HintTaken", json_pack("{s:s, s:s}", "playerId", "dan", "treasureId", chain[0]));

    /* The ack of this find is "lost": a real server sends the same event again, with the same id.
     * JetStream recognises the id, stores nothing and acks with the first one's sequence. */
    char id[160];
    new_id(g, id, sizeof id);
    char *body = event_body(id, "TreasureFound", find(g, "ann", chain[0]));
    jsPubAck *first = NULL, *retry = NULL;
    if (publish(g, "TreasureFound", id, body, &first) != NATS_OK) return -1;
    printf("published  seq %4llu  %-18s %s\n", (unsigned long long)first->Sequence, "TreasureFound", id);
    if (publish(g, "TreasureFound", id, body, &retry) != NATS_OK) return -1;
    printf("retry      seq %4llu  %-18s %s  duplicate=%s\n", (unsigned long long)retry->Sequence, "TreasureFound",
           id, retry->Duplicate ? "true" : "false");
    if (!retry->Duplicate || retry->Sequence != first->Sequence)
        fail(g, "the retry of %s was not dropped as a duplicate of seq %llu", id, (unsigned long long)first->Sequence);
    g->last_seq = first->Sequence;
    jsPubAck_Destroy(first);
    jsPubAck_Destroy(retry);
    free(body);

    SEND("TreasureFound", find(g, "cat", chain[0]));
    SEND("TreasureFound", find(g, "ann", chain[1]));
    SEND("TreasureFound", find(g, "cat", chain[1]));
    if (n_chain > 2) SEND("TreasureFound", find(g, "ann", chain[2]));
    if (review != NULL) {
        /* A treasure with `review: true` is scored by a person: bob submits his evidence, a
         * reviewer approves it, and the treasure's points go to bob (and his team). */
        char submission[160];
        snprintf(submission, sizeof submission, "%s-photo-1", g->hunt);
        SEND("SubmissionMade", json_pack("{s:s, s:s, s:s, s:s}", "submissionId", submission, "playerId", "bob",
                                         "treasureId", review, "evidence", "photo 1 of 1, taken by bob at the mural"));
        SEND("SubmissionReviewed", json_pack("{s:s, s:b, s:s, s:s}", "submissionId", submission, "approved", 1,
                                             "reviewer", "judge-1", "reason", "the mural is in the photo"));
    }
    if (g->team_hunt)
        SEND("ScoreAdjusted", json_pack("{s:s, s:i, s:s, s:s}", "teamId", "blue", "delta", 5, "reason",
                                        "helped the red team across the river", "by", "organiser"));
    SEND("ScoreAdjusted", json_pack("{s:s, s:i, s:s, s:s}", "playerId", "bob", "delta", 2, "reason",
                                    "found a lost phone", "by", "organiser"));
    /* A deliberately bad event: the engine stores it in the log and rejects it, with its reason,
     * on hunt.<id>.rejected. */
    if (send_event(g, "TreasureFound", json_pack("{s:s, s:s}", "playerId", "ann", "treasureId", "no-such-treasure"),
                   g->bad_id, sizeof g->bad_id) == 0)
        return -1;
    SEND("PlayerLeft", json_pack("{s:s}", "playerId", "dan"));
    SEND("HuntEnded", json_pack("{s:s}", "reason", "the example is over"));
    return 0;
}

/* ---- checks against the queries ----------------------------------------------------------- */

/* Compares every competitor's rank and score kept from the stream with the engine's. The engine
 * answers for an input as soon as it has folded it, and its rank message is stored a moment
 * later: while they differ, this reads what arrived and asks again, for up to 5 s. */
static void check_ranks(game *g, board *b, const char *field) {
    int64_t deadline = nats_Now() + 5000;
    long long seq[BOARD_MAX], rank[BOARD_MAX], score[BOARD_MAX];
    for (;;) {
        bool same = true;
        for (int i = 0; i < b->count; i++) {
            json_t *got = ask(g, "rank", json_pack("{s:s}", field, b->s[i].id));
            if (got == NULL) return;
            seq[i] = int_field(got, "seq");
            rank[i] = int_field(got, "rank");
            score[i] = int_field(got, "score");
            json_decref(got);
            same = same && rank[i] == b->s[i].rank && score[i] == b->s[i].score;
        }
        if (same || nats_Now() > deadline) break;
        nats_Sleep(250);
        drain(g);
    }
    for (int i = 0; i < b->count; i++) {
        standing *mine = &b->s[i];
        bool same = rank[i] == mine->rank && score[i] == mine->score;
        printf("  %-6s %-5s stream: rank %lld score %4lld   query (seq %lld): rank %lld score %4lld   %s\n", b->name,
               mine->id, mine->rank, mine->score, seq[i], rank[i], score[i], same ? "same" : "DIFFERENT");
        if (!same) fail(g, "%s %s: the stream and query.rank differ", b->name, mine->id);
    }
}

static const char *entry_id(json_t *e) {
    return json_object_get(e, "teamId") != NULL ? str_field(e, "teamId") : str_field(e, "playerId");
}

/* Reads a whole board page by page and checks it against the board kept from the stream. */
static void page_top(game *g, board *b, const char *board_name) {
    char *after = NULL;
    long long seen = 0;
    for (int page = 1;; page++) {
        json_t *request = json_pack("{s:i}", "n", 2);
        if (board_name != NULL) json_object_set_new(request, "board", json_string(board_name));
        if (after != NULL) json_object_set_new(request, "after", json_string(after));
        free(after);
        after = NULL;
        json_t *reply = ask(g, "top", request);
        if (reply == NULL) return;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(reply, "entries"), i, e) {
            const char *id = entry_id(e);
            printf("  %s board page %d: #%lld %-5s %4lld\n", b->name, page, int_field(e, "rank"), id, int_field(e, "score"));
            standing *mine = board_find(b, id);
            seen++;
            if (int_field(e, "rank") != seen || mine == NULL || mine->rank != seen || mine->score != int_field(e, "score"))
                fail(g, "top of the %s board: entry %lld is %s, not what the stream says", b->name, seen, id);
        }
        if (json_is_string(json_object_get(reply, "next"))) after = strdup(str_field(reply, "next"));
        json_decref(reply);
        if (after == NULL) break;
    }
    if (seen != board_ranked(b))
        fail(g, "top of the %s board: %lld entries over all pages, %lld ranked on the stream", b->name, seen,
             board_ranked(b));
}

static void around(game *g, board *b, const char *field, const char *id) {
    json_t *reply = ask(g, "around", json_pack("{s:s, s:i, s:i}", field, id, "before", 1, "after", 1));
    if (reply == NULL) return;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(reply, "entries"), i, e) {
        standing *mine = board_find(b, entry_id(e));
        printf("  around %-5s #%lld %-5s %4lld\n", id, int_field(e, "rank"), entry_id(e), int_field(e, "score"));
        if (mine == NULL || mine->rank != int_field(e, "rank"))
            fail(g, "around %s: %s at rank %lld, not what the stream says", id, entry_id(e), int_field(e, "rank"));
    }
    json_decref(reply);
}

static void state(game *g) {
    json_t *reply = ask(g, "state", json_object());
    if (reply == NULL) return;
    /* Version 2 adds teams, frozenAt, runningMs and checkpoint; an engine without them omits them. */
    const char *fields[] = {"seq", "status", "players", "teams", "frozenAt", "runningMs", "stateHash", "checkpoint"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(reply, fields[i]);
        if (v == NULL) continue;
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("  %-10s %s\n", fields[i], text);
        free(text);
    }
    if (strcmp(str_field(reply, "status"), "ended") != 0)
        fail(g, "state: status \"%s\", expected \"ended\"", str_field(reply, "status"));
    json_decref(reply);
}

/* Pages through one competitor's ledger: every rank message but the first (the join or the
 * team's creation) is one of its entries. Returns true once the ledger was asked (a failure is
 * recorded like any other). */
static bool ledger(game *g, const char *field, standing *mine) {
    char *after = NULL;
    int entries = 0;
    long long last_score = 0;
    for (;;) {
        json_t *request = json_pack("{s:s, s:i}", field, mine->id, "limit", 2);
        if (after != NULL) json_object_set_new(request, "after", json_string(after));
        free(after);
        after = NULL;
        json_t *reply;
        query_error e;
        query_result r = query(g, g->hunt, "ledger", request, &reply, &e);
        if (r != QUERY_OK) {
            fail(g, "ledger of %s: %s", mine->id, r == QUERY_ERROR_REPLY ? e.message : "no answer");
            return true;
        }
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(reply, "entries"), i, x) {
            printf("  ledger %-5s seq %4lld %-18s delta %+4lld score %4lld rank %lld %s%s\n", mine->id,
                   int_field(x, "seq"), str_field(x, "type"), int_field(x, "delta"), int_field(x, "score"),
                   int_field(x, "rank"), str_field(x, "treasureId"), str_field(x, "reason"));
            entries++;
            last_score = int_field(x, "score");
        }
        if (json_is_string(json_object_get(reply, "next"))) after = strdup(str_field(reply, "next"));
        json_decref(reply);
        if (after == NULL) break;
    }
    if (entries != mine->messages)
        fail(g, "ledger of %s: %d entries, %d rank messages after the first", mine->id, entries, mine->messages);
    else if (entries > 0 && last_score != mine->score)
        fail(g, "ledger of %s: ends at score %lld, the stream says %lld", mine->id, last_score, mine->score);
    return true;
}

/* Sends a request that must fail and prints the error reply. */
static void expect_error(game *g, const char *hunt, const char *op, json_t *request, const char *code) {
    char *body = json_dumps(request, JSON_COMPACT);
    json_t *reply;
    query_error e;
    query_result r = query(g, hunt, op, request, &reply, &e);
    if (r == QUERY_ERROR_REPLY) {
        printf("  hunt.%s.query.%s %s -> %s: %s\n", hunt, op, body, e.code, e.message);
        if (strcmp(e.code, code) != 0) fail(g, "hunt.%s.query.%s: error %s, expected %s", hunt, op, e.code, code);
    } else {
        fail(g, "hunt.%s.query.%s %s: expected the error %s", hunt, op, body, code);
        json_decref(reply);
    }
    free(body);
}

static void ask_queries(game *g) {
    printf("\n== top, page by page (n = 2, then after = the reply's next)\n");
    page_top(g, &g->players, NULL);
    if (g->team_hunt) page_top(g, &g->teams, "teams");

    printf("\n== around\n");
    around(g, &g->players, "playerId", "cat");
    if (g->team_hunt) around(g, &g->teams, "teamId", "blue");

    printf("\n== state\n");
    state(g);

    printf("\n== ledger (limit = 2 a page)\n");
    bool served = true;
    for (int i = 0; i < g->players.count && served; i++) served = ledger(g, "playerId", &g->players.s[i]);
    for (int i = 0; i < g->teams.count && served; i++) served = ledger(g, "teamId", &g->teams.s[i]);

    printf("\n== error replies\n");
    expect_error(g, g->hunt, "top", json_pack("{s:i}", "n", 0), "invalid_request");
    char nobody[128];
    snprintf(nobody, sizeof nobody, "%s-nobody", g->hunt);
    expect_error(g, nobody, "state", json_object(), "unknown_hunt");
}

/* ---- main --------------------------------------------------------------------------------- */

static int run(game *g) {
    json_t *treasures = json_object_get(g->def, "treasures");
    const char *chain[MAX_CHAIN];
    int n_chain = findable(treasures, chain);
    const char *review = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(treasures, i, t) {
        if (review == NULL && json_is_true(json_object_get(t, "review"))) review = str_field(t, "id");
    }
    printf("hunt %s: \"%s\", a %s hunt; clue chain", g->hunt, str_field(g->def, "title"), g->team_hunt ? "team" : "solo");
    for (int k = 0; k < n_chain; k++) printf("%s%s", k == 0 ? " " : " -> ", chain[k]);
    if (review != NULL) printf("; %s is scored by review", review);
    printf("\n");
    if (n_chain < 2) {
        fprintf(stderr, "error: the hunt file needs at least two treasures this script can find (no review, no answer, open from the start)\n");
        return -1;
    }
    if (follow(g, "ranks", "HUNT_RANKS", &g->players) != NATS_OK) return -1;
    if (g->team_hunt && follow(g, "teams.ranks", "HUNT_RANKS", &g->teams) != NATS_OK) return -1;
    if (follow(g, "rejected", "HUNT_REJECTED", NULL) != NATS_OK) return -1;

    if (play(g, chain, n_chain, review) != 0 || catch_up(g) != 0) return -1;
    /* Wait for the verdict on the event published to be rejected. */
    for (int64_t deadline = nats_Now() + 5000; g->bad_id[0] != '\0' && nats_Now() < deadline;) {
        nats_Sleep(100);
        drain(g);
    }
    if (g->bad_id[0] != '\0') fail(g, "event %s was not rejected (expected unknown_treasure)", g->bad_id);

    printf("\n== ranks kept from the stream, checked against hunt.%s.query.rank\n", g->hunt);
    check_ranks(g, &g->players, "playerId");
    if (g->team_hunt) check_ranks(g, &g->teams, "teamId");
    ask_queries(g);
    return 0;
}

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [-nats URL] [-hunt ID] HUNT_FILE\n"
                    "  -nats URL  NATS server URL (env NATS_URL; default nats://127.0.0.1:4222)\n"
                    "  -hunt ID   hunt id: 1-64 characters of [A-Za-z0-9_-] (default c-<unix time>)\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *url = getenv("NATS_URL") != NULL ? getenv("NATS_URL") : NATS_DEFAULT_URL;
    char default_hunt[64];
    snprintf(default_hunt, sizeof default_hunt, "c-%lld", (long long)time(NULL));
    const char *hunt = default_hunt, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-nats") == 0 && i + 1 < argc) url = argv[++i];
        else if (strcmp(argv[i], "-hunt") == 0 && i + 1 < argc) hunt = argv[++i];
        else if (argv[i][0] != '-' && file == NULL) file = argv[i];
        else return usage(argv[0]);
    }
    if (file == NULL) return usage(argv[0]);

    json_error_t jerr;
    json_t *def = json_load_file(file, 0, &jerr);
    if (!json_is_object(def) || !json_is_array(json_object_get(def, "treasures"))) {
        fprintf(stderr, "%s is not a hunt definition ({title, treasures, rules}): %s (line %d)\n", file,
                def == NULL ? jerr.text : "no treasures array", jerr.line);
        json_decref(def);
        return 2;
    }
    json_t *teams = json_object_get(json_object_get(def, "rules"), "teams");
    game g = {.hunt = hunt, .def = def, .team_hunt = teams != NULL && !json_is_null(teams)};
    g.players.name = "player";
    g.teams.name = "team";

    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK) s = natsOptions_SetName(opts, "cairn-example-c");
    if (s == NATS_OK) s = natsConnection_Connect(&g.nc, opts);
    if (s == NATS_OK) s = natsConnection_JetStream(&g.js, g.nc, NULL);
    int status = 1;
    if (s != NATS_OK) {
        fprintf(stderr, "cannot connect to %s: %s (%s)\n", url, natsStatus_GetText(s), nats_GetLastError(NULL));
    } else if (run(&g) == 0) {
        if (g.failures > 0) {
            printf("\nFAILED: %d check(s)\n", g.failures);
        } else {
            printf("\nOK: every check passed\n");
            status = 0;
        }
    }
    for (int i = 0; i < g.n_follows; i++) natsSubscription_Destroy(g.follows[i].sub);
    jsCtx_Destroy(g.js);
    natsConnection_Destroy(g.nc);
    natsOptions_Destroy(opts);
    json_decref(def);
    nats_Close();
    return status;
}
