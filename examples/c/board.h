/* A board kept exact from rank messages alone, with the contract's shift rule ("Ranking"). */
#ifndef CAIRN_EXAMPLE_BOARD_H
#define CAIRN_EXAMPLE_BOARD_H

#include <stddef.h>

/* This example follows a handful of competitors; a real server would use a hash map. */
#define BOARD_MAX 64
/* An id is at most 128 code points: at most 512 bytes of UTF-8. */
#define ID_MAX 513

typedef struct {
    char id[ID_MAX];
    long long rank;  /* 0: not ranked (left, or disqualified) */
    long long score;
    /* Rank messages after the first (the join or the team's creation): each of them is also an
     * entry of the competitor's ledger. */
    int messages;
} standing;

typedef struct {
    const char *name; /* "player" or "team" */
    long long last_seq;
    int count;
    standing s[BOARD_MAX];
} board;

standing *board_find(board *b, const char *id);

/* Counts the competitors ranked now. */
long long board_ranked(const board *b);

/* Folds one rank message into the board. Returns 0, or -1 with the reason in err when the
 * message does not fit what the board knows (n is "players" or "teams": the ranked count after). */
int board_apply(board *b, long long seq, const char *id, long long score, long long rank,
                long long previous_rank, long long n, char *err, size_t err_len);

#endif
