// A stress run of the C++ rank index against an order-statistics model (libstdc++'s policy tree),
// built with AddressSanitizer and UndefinedBehaviorSanitizer by test/unit/rank-index-sanitizers.test.ts.
//   - Small rounds: random single and batched upserts and removes over 1..6,000 players, ties on
//     score and tiebreak, scores at the safe-integer ends, short (inline) and long ids, the same
//     player twice in a row (stale walk-ahead paths).
//   - Large rounds: grow to 120,000 players, churn, a serialize/deserialize round trip, then remove
//     almost everyone, so that inner nodes split, lend, borrow and merge and the tree shrinks back.
// Every op's (rank, previous rank) is checked, and the whole order after each phase.
// Usage: rank-index-stress <small rounds> <large rounds> <seed>; prints "ok" or the first disagreement.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <memory>
#include <random>
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

const double kMaxSafe = 9007199254740991.0;

struct Key {
  double score;
  double tiebreak;
  std::string id;
  int player;  // not part of the order
};
struct RankOrder {
  bool operator()(const Key& a, const Key& b) const {
    if (a.score != b.score) return a.score > b.score;
    if (a.tiebreak != b.tiebreak) return a.tiebreak < b.tiebreak;
    return a.id < b.id;
  }
};
using Ordered = __gnu_pbds::tree<Key, __gnu_pbds::null_type, RankOrder, __gnu_pbds::rb_tree_tag,
                                 __gnu_pbds::tree_order_statistics_node_update>;

struct Player {
  std::string id;
  bool ranked = false;
  double score = 0;
  double tiebreak = 0;
};

// The index under test beside the model, with the players' slots.
struct Run {
  std::unique_ptr<cairn::RankIndex> index = std::make_unique<cairn::RankIndex>();
  std::vector<Player> players;
  std::vector<uint32_t> slots;  // by player
  std::vector<int> playerOf;    // by slot
  Ordered order;
  const char* phase = "";
  bool failed = false;

  size_t rankOf(int p) const {
    const Player& pl = players[p];
    return pl.ranked ? order.order_of_key({pl.score, pl.tiebreak, pl.id, p}) + 1 : 0;
  }
  void add(const std::string& id) {
    int p = static_cast<int>(players.size());
    players.push_back({id});
    uint32_t slot = index->intern(reinterpret_cast<const uint8_t*>(id.data()), id.size());
    slots.push_back(slot);
    if (playerOf.size() <= slot) playerOf.resize(slot + 1, -1);
    playerOf[slot] = p;
  }
  // Applies op i of (ops, ps, scores, tiebreaks) to the model and checks the index's answer.
  bool check(int p, uint8_t op, double score, double tiebreak, int32_t rank, int32_t prev) {
    size_t wantPrev = rankOf(p);
    Player& pl = players[p];
    if (pl.ranked) order.erase({pl.score, pl.tiebreak, pl.id, p});
    pl.ranked = op == 0;
    pl.score = score + 0.0;
    pl.tiebreak = tiebreak + 0.0;
    if (pl.ranked) order.insert({pl.score, pl.tiebreak, pl.id, p});
    size_t want = op == 0 ? rankOf(p) : 0;
    if (static_cast<size_t>(rank) == want && static_cast<size_t>(prev) == wantPrev) return true;
    std::printf("%s: player %s, %s: rank %d, previous %d; the model says %zu, %zu\n", phase, pl.id.c_str(),
                op == 0 ? "upsert" : "remove", rank, prev, want, wantPrev);
    failed = true;
    return false;
  }
  // Runs the ops on the index, `batch` per applyBatch call (0: single calls by id), checking each.
  bool apply(const std::vector<int>& ps, const std::vector<uint8_t>& ops, const std::vector<double>& scores,
             const std::vector<double>& tiebreaks, size_t batch) {
    size_t n = ps.size();
    std::vector<uint32_t> opSlots(n);
    for (size_t i = 0; i < n; ++i) opSlots[i] = slots[ps[i]];
    std::vector<int32_t> out(2 * n);
    for (size_t at = 0; at < n;) {
      size_t m = batch == 0 ? 1 : std::min(batch, n - at);
      if (batch == 0) {
        size_t rank = 0, prev = 0;
        const std::string& id = players[ps[at]].id;
        if (ops[at] == 0) {
          index->upsertId(reinterpret_cast<const uint8_t*>(id.data()), id.size(), scores[at], tiebreaks[at],
                          &rank, &prev);
        } else {
          prev = index->remove(opSlots[at]);
        }
        out[2 * at] = static_cast<int32_t>(rank);
        out[2 * at + 1] = static_cast<int32_t>(prev);
      } else {
        index->applyBatch(ops.data() + at, opSlots.data() + at, scores.data() + at, tiebreaks.data() + at, m,
                          out.data() + 2 * at);
      }
      for (size_t i = at; i < at + m; ++i) {
        if (!check(ps[i], ops[i], scores[i], tiebreaks[i], out[2 * i], out[2 * i + 1])) return false;
      }
      at += m;
    }
    return true;
  }
  // The whole order, read back through visit(), against the model's.
  bool checkOrder() {
    if (index->size() != order.size()) {
      std::printf("%s: size %zu, the model has %zu\n", phase, index->size(), order.size());
      return !(failed = true);
    }
    auto it = order.begin();
    size_t at = 0;
    bool same = true;
    index->visit(0, index->size(), [&](uint32_t slot) {
      const Player& pl = players[playerOf[slot]];
      if (same && (pl.id != it->id || pl.score != it->score || pl.tiebreak != it->tiebreak)) {
        std::printf("%s: rank %zu is %s, the model says %s\n", phase, at + 1, pl.id.c_str(), it->id.c_str());
        same = false;
      }
      ++it;
      ++at;
    });
    return same || !(failed = true);
  }
  // Every player's record, written into exactly recordsSize() bytes (ASan sees any byte past them)
  // and read back: the id, the state, the score and the tie-break given.
  bool checkRecords() {
    size_t n = players.size();
    std::vector<uint8_t> states(n);
    std::vector<double> scores(n), tiebreaks(n);
    for (size_t p = 0; p < n; ++p) {
      states[p] = static_cast<uint8_t>(p);
      scores[p] = players[p].score;
      tiebreaks[p] = players[p].tiebreak;
    }
    // Written in pieces into a small buffer, as a writer short of room would, then all together
    // into exactly the bytes they take (ASan sees any byte past them).
    std::vector<uint8_t> all;
    size_t next = 0;
    while (next < n) {
      std::vector<uint8_t> piece(4 + 65535 + 17 + next % 97);
      size_t at = 0;
      size_t before = next;
      index->writeRecords(slots.data(), states.data(), scores.data(), tiebreaks.data(), n, piece.data(),
                          piece.size(), &next, &at);
      if (next == before) {
        std::printf("%s: no record written into room for the longest\n", phase);
        return !(failed = true);
      }
      all.insert(all.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(at));
    }
    std::vector<uint8_t> out(all.size());
    size_t first = 0, end = 0;
    index->writeRecords(slots.data(), states.data(), scores.data(), tiebreaks.data(), n, out.data(), out.size(),
                        &first, &end);
    if (first != n || end != out.size() || out != all) {
      std::printf("%s: the records written at once differ from those written in pieces\n", phase);
      return !(failed = true);
    }
    size_t at = 0;
    for (size_t p = 0; p < n; ++p) {
      uint32_t size;
      std::memcpy(&size, out.data() + at, 4);
      std::string id(reinterpret_cast<const char*>(out.data() + at + 4), size);
      at += 4 + size;
      double score, tiebreak;
      std::memcpy(&score, out.data() + at + 1, 8);
      std::memcpy(&tiebreak, out.data() + at + 9, 8);
      bool same = id == players[p].id && out[at] == states[p] &&
                  std::memcmp(&score, &scores[p], 8) == 0 && std::memcmp(&tiebreak, &tiebreaks[p], 8) == 0;
      if (!same) {
        std::printf("%s: record %zu is %s, the model says %s\n", phase, p, id.c_str(), players[p].id.c_str());
        return !(failed = true);
      }
      at += 17;
    }
    return true;
  }
  // The first ranks as JSON, compared with the model's, written into exactly the bytes they take
  // (ASan sees any byte past them) and refused, with nothing written past the end, by every buffer
  // a byte shorter down to none.
  bool checkTopJson() {
    const size_t n = 25;
    std::string want = "[";
    size_t rank = 0;
    for (auto it = order.begin(); it != order.end() && rank < n; ++it) {
      want += rank == 0 ? "{\"rank\":" : ",{\"rank\":";
      want += std::to_string(++rank) + ",\"playerId\":\"" + it->id + "\",\"score\":";
      want += std::to_string(static_cast<long long>(it->score)) + "}";
    }
    want += "]";
    for (size_t size = want.size() + 1; size-- > 0;) {
      std::vector<uint8_t> out(size);
      size_t end = index->writeTopJson(n, "playerId", 8, out.data(), out.size(), 0);
      bool fits = size == want.size();
      if (fits ? end != want.size() || std::memcmp(out.data(), want.data(), end) != 0
               : end != cairn::RankIndex::kNoRoom) {
        std::printf("%s: writeTopJson into %zu bytes gave %zu for %s\n", phase, size, end, want.c_str());
        return !(failed = true);
      }
      if (size + 40 < want.size()) size = std::min(size, size_t{40});  // the short end: a few sizes
    }
    return true;
  }
  // Replaces the index by one read back from its serialisation (slots are assigned anew).
  bool roundTrip() {
    if (!checkRecords() || !checkTopJson()) return false;
    std::vector<uint8_t> bytes(index->serializedSize());
    if (index->serialize(bytes.data()) != bytes.size()) {
      std::printf("%s: serialize wrote a size other than serializedSize()\n", phase);
      return !(failed = true);
    }
    std::string error;
    index = cairn::RankIndex::deserialize(bytes.data(), bytes.size(), &error);
    if (!index) {
      std::printf("%s: deserialize failed: %s\n", phase, error.c_str());
      return !(failed = true);
    }
    playerOf.assign(playerOf.size(), -1);
    for (size_t p = 0; p < players.size(); ++p) {
      const std::string& id = players[p].id;
      slots[p] = index->intern(reinterpret_cast<const uint8_t*>(id.data()), id.size());
      if (playerOf.size() <= slots[p]) playerOf.resize(slots[p] + 1, -1);
      playerOf[slots[p]] = static_cast<int>(p);
    }
    return checkOrder();
  }
};

std::string idOf(int p) { return (next() % 3 != 0 ? "p" : "a-longer-player-id-") + std::to_string(p); }

// A score drawn from `range` values centred on 0; the widest range also hits both safe-integer ends.
double scoreIn(double range) {
  if (range == kMaxSafe && next() % 2 == 0) return (next() % 2 ? 1 : -1) * (kMaxSafe - next() % 4);
  double span = std::min(range, 4e9);
  return static_cast<double>(next() % static_cast<uint64_t>(span)) - span / 2;
}

bool smallRound() {
  Run run;
  run.phase = "small round";
  int players = 1 + static_cast<int>(next() % (next() % 3 == 0 ? 20 : next() % 2 ? 800 : 6000));
  for (int p = 0; p < players; ++p) run.add(idOf(p));
  const double ranges[] = {2, 50, 1e7, kMaxSafe};
  double range = ranges[next() % 4];
  const size_t n = 3000;
  std::vector<int> ps(n);
  std::vector<uint8_t> ops(n);
  std::vector<double> scores(n), tiebreaks(n);
  for (size_t i = 0; i < n; ++i) {
    ps[i] = i > 0 && next() % 8 == 0 ? ps[i - 1] : static_cast<int>(next() % players);
    ops[i] = next() % 5 == 0 ? 1 : 0;
    scores[i] = scoreIn(range);
    tiebreaks[i] = next() % 4;
  }
  const size_t batches[] = {0, 1, 2, 7, 64, n};
  return run.apply(ps, ops, scores, tiebreaks, batches[next() % 6]) && run.checkOrder();
}

bool largeRound() {
  Run run;
  const int players = 120'000;
  for (int p = 0; p < players; ++p) run.add(idOf(p));
  double range = next() % 2 ? 1000 : 1e9;
  // Grow: everyone joins, in batches.
  std::vector<int> ps(players);
  for (int p = 0; p < players; ++p) ps[p] = p;
  std::shuffle(ps.begin(), ps.end(), std::mt19937(next()));
  std::vector<uint8_t> ops(players, 0);
  std::vector<double> scores(players), tiebreaks(players);
  for (int i = 0; i < players; ++i) {
    scores[i] = scoreIn(range);
    tiebreaks[i] = next() % 8;
  }
  run.phase = "grow";
  if (!run.apply(ps, ops, scores, tiebreaks, 1000) || !run.checkOrder()) return false;
  // Churn: random moves, half batched, half single calls.
  run.phase = "churn";
  for (int half = 0; half < 2; ++half) {
    for (int i = 0; i < players / 2; ++i) {
      ps[i] = static_cast<int>(next() % players);
      scores[i] = scoreIn(range);
      tiebreaks[i] = next() % 8;
    }
    std::vector<int> part(ps.begin(), ps.begin() + players / 2);
    if (!run.apply(part, std::vector<uint8_t>(part.size(), 0), scores, tiebreaks, half == 0 ? 1000 : 0)) {
      return false;
    }
  }
  if (!run.checkOrder()) return false;
  run.phase = "round trip";
  if (!run.roundTrip()) return false;
  // Bands leave in rank order: first the best 30% from rank 1, where every underflowing node is the
  // first child of its parent and borrows from a full right sibling, then ranks 10%..40% of the rest,
  // where the node at the band's front borrows from a full left sibling; both end in merges.
  for (int b = 0; b < 2; ++b) {
    run.phase = b == 0 ? "band from the top" : "band in the middle";
    std::vector<int> band;
    size_t from = b == 0 ? 0 : run.order.size() / 10;
    for (auto it = run.order.find_by_order(from); band.size() < run.order.size() * 3 / 10; ++it) {
      band.push_back(it->player);
    }
    if (!run.apply(band, std::vector<uint8_t>(band.size(), 1), scores, tiebreaks, 1000) ||
        !run.checkOrder()) {
      return false;
    }
  }
  // Shrink: all but 1% leave in random order, with some moves among them; batched, then single.
  run.phase = "shrink";
  for (int p = 0; p < players; ++p) ps[p] = p;
  std::shuffle(ps.begin(), ps.end(), std::mt19937(next()));
  ps.resize(players - players / 100);
  std::vector<uint8_t> leave(ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    leave[i] = next() % 10 != 0 ? 1 : 0;  // one op in ten moves a player instead
    scores[i] = scoreIn(range);
    tiebreaks[i] = next() % 8;
  }
  size_t mid = ps.size() / 2;
  std::vector<int> first(ps.begin(), ps.begin() + mid), second(ps.begin() + mid, ps.end());
  std::vector<uint8_t> l1(leave.begin(), leave.begin() + mid), l2(leave.begin() + mid, leave.end());
  std::vector<double> s2(scores.begin() + mid, scores.end()), t2(tiebreaks.begin() + mid, tiebreaks.end());
  if (!run.apply(first, l1, scores, tiebreaks, 500) || !run.apply(second, l2, s2, t2, 0)) return false;
  if (!run.checkOrder()) return false;
  // Everyone left leaves.
  run.phase = "empty";
  std::vector<int> rest;
  for (int p = 0; p < players; ++p) {
    if (run.players[p].ranked) rest.push_back(p);
  }
  return run.apply(rest, std::vector<uint8_t>(rest.size(), 1), scores, tiebreaks, 64) && run.checkOrder();
}

}  // namespace

int main(int argc, char** argv) {
  int small = argc > 1 ? std::atoi(argv[1]) : 300;
  int large = argc > 2 ? std::atoi(argv[2]) : 2;
  if (argc > 3) state = std::strtoull(argv[3], nullptr, 10) | 1;
  for (int r = 0; r < small; ++r) {
    if (!smallRound()) return 1;
  }
  for (int r = 0; r < large; ++r) {
    if (!largeRound()) return 1;
  }
  std::printf("ok\n");
  return 0;
}
