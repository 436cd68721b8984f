/* A board kept exact from rank messages alone, with the contract's shift rule ("Ranking"). */
#include "board.h"

#include <stdio.h>
#include <string.h>

standing *board_find(board *b, const char *id) {
    for (int i = 0; i < b->count; i++)
        if (strcmp(b->s[i].id, id) == 0) return &b->s[i];
    return NULL;
}

long long board_ranked(const board *b) {
    long long n = 0;
    for (int i = 0; i < b->count; i++)
        if (b->s[i].rank > 0) n++;
    return n;
}

/* For a message with previousRank a and rank b, every other ranked competitor at r moves by the
 * same two steps: if a > 0 and r > a, r - 1 (the competitor left place a); then if b > 0 and
 * r >= b, r + 1 (the competitor took place b). */
int board_apply(board *b, long long seq, const char *id, long long score, long long rank,
                long long previous_rank, long long n, char *err, size_t err_len) {
    /* On one node rank messages arrive in seq order. After a stream-leader fail-over a re-sent
     * message can be stored after newer ones; a client that must survive that orders by seq. */
    if (seq < b->last_seq) {
        snprintf(err, err_len, "%s rank message for seq %lld arrived after seq %lld: order by seq",
                 b->name, seq, b->last_seq);
        return -1;
    }
    b->last_seq = seq;
    standing *self = board_find(b, id);
    if (self == NULL) {
        if (b->count == BOARD_MAX || strlen(id) >= ID_MAX) {
            snprintf(err, err_len, "%s board: no room for \"%s\" in this example", b->name, id);
            return -1;
        }
        self = &b->s[b->count++];
        memset(self, 0, sizeof *self);
        strcpy(self->id, id);
    } else {
        self->messages++;
    }
    if (self->rank != previous_rank) {
        snprintf(err, err_len, "%s \"%s\": message at seq %lld says previousRank %lld, the board had %lld",
                 b->name, id, seq, previous_rank, self->rank);
        return -1;
    }
    for (int i = 0; i < b->count; i++) {
        standing *other = &b->s[i];
        if (other == self || other->rank == 0) continue;
        if (previous_rank > 0 && other->rank > previous_rank) other->rank--;
        if (rank > 0 && other->rank >= rank) other->rank++;
    }
    self->rank = rank;
    self->score = score;
    if (board_ranked(b) != n) {
        snprintf(err, err_len, "%s board after seq %lld: %lld ranked here, the message says %lld",
                 b->name, seq, board_ranked(b), n);
        return -1;
    }
    return 0;
}
