/* The shift rule on the contract's worked example ("Keeping your rank exact"), followed from the
 * start of the stream: joins first, then the example's messages. `make check` runs it. */
#include <stdio.h>

#include "board.h"

int main(void) {
    static const struct {
        long long seq;
        const char *id;
        long long score, rank, previous, n;
    } steps[] = {
        {10, "ann", 0, 1, 0, 1},   {11, "bob", 0, 2, 0, 2},   {12, "cat", 0, 3, 0, 3}, {13, "dan", 0, 4, 0, 4},
        {20, "ann", 30, 1, 1, 4},  {40, "bob", 20, 2, 2, 4},  {60, "cat", 10, 3, 3, 4},
        {101, "dan", 25, 2, 4, 4}, {102, "eve", 0, 5, 0, 5},  {103, "bob", 20, 0, 3, 4},
        {104, "ann", 5, 3, 1, 4},  {105, "eve", 10, 3, 4, 4},
    };
    static board b = {.name = "player"};
    char err[1200];
    int failures = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (board_apply(&b, steps[i].seq, steps[i].id, steps[i].score, steps[i].rank, steps[i].previous,
                        steps[i].n, err, sizeof err) != 0) {
            printf("seq %lld: %s\n", steps[i].seq, err);
            return 1;
        }
    }
    static const struct {
        const char *id;
        long long rank;
    } want[] = {{"dan", 1}, {"cat", 2}, {"eve", 3}, {"ann", 4}, {"bob", 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        long long got = board_find(&b, want[i].id)->rank;
        if (got != want[i].rank) {
            printf("%s: rank %lld, want %lld\n", want[i].id, got, want[i].rank);
            failures++;
        }
    }
    if (board_apply(&b, 106, "dan", 30, 1, 2, 4, err, sizeof err) == 0) {
        printf("a previousRank the board does not have was accepted\n");
        failures++;
    }
    if (board_apply(&b, 100, "cat", 11, 2, 2, 4, err, sizeof err) == 0) {
        printf("a message older than the last one was accepted\n");
        failures++;
    }
    printf("board_test: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
