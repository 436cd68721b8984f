// A stress run of the C++ rank index against a naive model, built with AddressSanitizer and
// UndefinedBehaviorSanitizer by test/unit/rank-index-sanitizers.test.ts: random single and batched
// upserts and removes, ties on score and tiebreak, scores at the safe-integer ends, short (inline) and
// long ids, the same player twice in a row (stale walk-ahead paths), and trees of every height up to 3.
// Usage: rank-index-stress <rounds> <seed>; prints "ok" or the first disagreement and exits 1.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rank_index.h"

namespace {

uint64_t state = 88172645463325252ull;
uint32_t next() {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<uint32_t>(state);
}

struct Player {
  std::string id;
  bool ranked = false;
  double score = 0;
  double tiebreak = 0;
};

// 1-based rank by counting who ranks before: score descending, tiebreak ascending, id bytes ascending.
size_t modelRank(const std::vector<Player>& model, uint32_t slot) {
  const Player& me = model[slot];
  if (!me.ranked) return 0;
  size_t rank = 1;
  for (size_t j = 0; j < model.size(); ++j) {
    const Player& o = model[j];
    if (j == slot || !o.ranked) continue;
    bool before = o.score != me.score         ? o.score > me.score
                  : o.tiebreak != me.tiebreak ? o.tiebreak < me.tiebreak
                                              : o.id < me.id;
    rank += before;
  }
  return rank;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 300;
  if (argc > 2) state = std::strtoull(argv[2], nullptr, 10) | 1;
  const double kMaxSafe = 9007199254740991.0;
  for (int round = 0; round < rounds; ++round) {
    cairn::RankIndex index;
    std::vector<Player> model;
    int players = 1 + static_cast<int>(next() % (round % 3 == 0 ? 20 : round % 3 == 1 ? 800 : 6000));
    const double ranges[] = {2, 50, 1e7, kMaxSafe};
    double range = ranges[next() % 4];
    std::vector<uint32_t> slots;
    for (int p = 0; p < players; ++p) {
      std::string id = (next() % 3 != 0 ? "p" : "a-longer-player-id-") + std::to_string(p);
      slots.push_back(index.intern(reinterpret_cast<const uint8_t*>(id.data()), id.size()));
      model.push_back({id});
    }
    const int n = 3000;
    std::vector<uint8_t> ops(n);
    std::vector<uint32_t> opSlots(n);
    std::vector<double> scores(n), tiebreaks(n);
    std::vector<int32_t> out(2 * n);
    const int batches[] = {1, 2, 7, 64, n};
    int batch = batches[next() % 5];
    double span = std::min(range, 4e9);
    for (int i = 0; i < n; ++i) {
      opSlots[i] = i > 0 && next() % 8 == 0 ? opSlots[i - 1] : slots[next() % players];
      ops[i] = next() % 5 == 0 ? 1 : 0;
      scores[i] = static_cast<double>(next() % static_cast<uint64_t>(span)) - span / 2;
      if (range == kMaxSafe && next() % 2 == 0) scores[i] = (next() % 2 ? 1 : -1) * (kMaxSafe - next() % 4);
      tiebreaks[i] = next() % 4;
    }
    bool single = next() % 2 == 0;
    for (int at = 0; at < n; at += batch) {
      int m = std::min(batch, n - at);
      if (single) {
        for (int i = at; i < at + m; ++i) {
          size_t rank = 0, prev = 0;
          if (ops[i] == 0) {
            const std::string& id = model[opSlots[i]].id;
            index.upsertId(reinterpret_cast<const uint8_t*>(id.data()), id.size(), scores[i], tiebreaks[i],
                           &rank, &prev);
          } else {
            prev = index.remove(opSlots[i]);
          }
          out[2 * i] = static_cast<int32_t>(rank);
          out[2 * i + 1] = static_cast<int32_t>(prev);
        }
      } else {
        index.applyBatch(ops.data() + at, opSlots.data() + at, scores.data() + at, tiebreaks.data() + at, m,
                         out.data() + 2 * at);
      }
      for (int i = at; i < at + m; ++i) {
        Player& p = model[opSlots[i]];
        size_t prev = modelRank(model, opSlots[i]);
        p.ranked = ops[i] == 0;
        p.score = scores[i] + 0.0;
        p.tiebreak = tiebreaks[i] + 0.0;
        size_t rank = modelRank(model, opSlots[i]);
        if (static_cast<size_t>(out[2 * i]) != rank || static_cast<size_t>(out[2 * i + 1]) != prev) {
          std::printf(
              "round %d, op %d (%s, %d per batch, %d players): rank %d, previous %d; the model says %zu, "
              "%zu\n",
              round, i, single ? "single calls" : "applyBatch", batch, players, out[2 * i], out[2 * i + 1],
              rank, prev);
          return 1;
        }
      }
    }
    if (index.size() != static_cast<size_t>(std::count_if(model.begin(), model.end(),
                                                          [](const Player& p) { return p.ranked; }))) {
      std::printf("round %d: size %zu disagrees with the model\n", round, index.size());
      return 1;
    }
  }
  std::printf("ok\n");
  return 0;
}
