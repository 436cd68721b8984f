// A counted B+tree of player slots: O(log n) insert, erase, rank-of-key and select-by-rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "intern_table.h"
#include "memory.h"

namespace cairn {

// Leaves hold slots plus a 64-bit approximate key per entry (float score, float tiebreak) that settles
// almost every comparison without touching the slot records; inner nodes hold full separator keys and
// their children's subtree sizes.
constexpr int kLeafCap = 41;
constexpr int kLeafMin = 13;
constexpr int kInnerCap = 48;
constexpr int kInnerMin = 16;
// Entries a bulk load puts in one leaf (it fills leaves three quarters), and so the most a tree kept
// in a single leaf holds before it reserves for growth.
constexpr size_t kSmallTree = kLeafCap * 3 / 4;
constexpr int kMaxHeight = 24;

struct Leaf {
  uint16_t n;
  Leaf* next;
  uint64_t akey[kLeafCap];  // approxKey(score, tiebreak): ascending in rank order, ties need a full compare
  uint32_t slot[kLeafCap];
};
static_assert(sizeof(Leaf) <= 512, "a leaf fits one 512-byte block");

// A 64-bit key whose unsigned order never contradicts the rank order: the score's float (descending)
// above the tiebreak's float (ascending). The tiebreak half is kept only while the score's float is
// exact (|score| < 2^24); otherwise two scores could share a float and the tiebreak would mislead.
inline uint32_t orderedFloatBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
inline uint64_t approxKey(double score, double tiebreak) {
  uint64_t hi = ~orderedFloatBits(static_cast<float>(score)) & 0xffffffffu;
  uint64_t lo =
      (score < 16777216.0 && score > -16777216.0) ? orderedFloatBits(static_cast<float>(tiebreak)) : 0;
  return (hi << 32) | lo;
}

// The 32-bit form of a separator's score that inner nodes scan: the score's float, ordered so that
// signed order is rank order (a higher score is smaller). Two scores whose floats differ are told
// apart by it; equal ones (ties, or scores beyond 2^24 that round together) need the full key.
inline int32_t sepKeyOf(double score) {
  return static_cast<int32_t>(~orderedFloatBits(static_cast<float>(score)) ^ 0x80000000u);
}

// An inner node's hot part (what a walk reads: the scanned 32-bit separator keys, the subtree counts
// and the children) comes first and is all that is prefetched; the exact separators after it are
// read only where a separator key ties with the key sought. Entry i is child i, its subtree count
// and (i >= 1) its separator: a lower bound of child i's keys, above all of child i-1's.
struct Inner {
  int32_t n;
  int32_t sepKey[kInnerCap];  // sepKeyOf(sepScore[i]), ascending in rank order
  uint32_t count[kInnerCap];
  void* child[kInnerCap];
  double sepScore[kInnerCap];
  double sepTb[kInnerCap];
  uint32_t sepSlot[kInnerCap];
};
constexpr size_t kInnerHotBytes = offsetof(Inner, sepScore);

// No slot: a walk that was never taken, or one that may depend on a slot it was not given.
constexpr uint32_t kNoSlot = 0xffffffffu;
// Any slot: a walk taken without a slot for a key that no separator on its path shares, so its path
// is the same whatever the slot.
constexpr uint32_t kAnySlot = 0xfffffffeu;

struct Walk {
  Inner* path[kMaxHeight];
  int idx[kMaxHeight];
  Leaf* leaf;
  uint64_t shape;  // the tree's shape() when the walk was taken
  double score;    // the key it was taken for
  double tiebreak;
  uint32_t slot;
};

// Order: score descending, tiebreak ascending, id ascending (UTF-8 bytes). The tree compares keys
// through the slot records of the intern table, so a leaf entry costs 12 bytes (approximate key, slot).
class RankTree {
 public:
  RankTree(Accounting& acct, InternTable& ids);
  ~RankTree() = default;
  RankTree(const RankTree&) = delete;
  RankTree& operator=(const RankTree&) = delete;

  // The operations below take optional walks (from walk() or walkBoth()); one that no longer fits the
  // key or the tree's shape is ignored, so a stale walk costs a walk and is never wrong.

  // Inserts a slot whose key is in its record; returns its 1-based rank.
  size_t insert(uint32_t slot, const Walk* hint = nullptr);
  // Erases a ranked slot whose key is in its record; returns the 1-based rank it had.
  size_t erase(uint32_t slot, const Walk* hint = nullptr);
  // Moves a ranked slot from its recorded key to a different key (score, tiebreak) and records that key
  // instead. The two keys are walked together (their cache misses overlap), and a move that stays
  // inside its leaf (a small move) changes only that leaf; erase + insert otherwise.
  void move(uint32_t slot, double score, double tiebreak, size_t* rank, size_t* previousRank,
            const Walk* oldHint = nullptr, const Walk* newHint = nullptr);
  // 1-based rank of a ranked slot.
  size_t rankOf(uint32_t slot, const Walk* hint = nullptr) const;
  // Walks to the leaf where (score, tiebreak, slot) is or belongs, loading each node ahead of use.
  void walk(uint32_t slot, double score, double tiebreak, Walk* w) const {
    walk(keyOf(slot, score, tiebreak), w);
  }
  // walk() for a key whose slot is not known yet (it is being looked up): the walk fits any slot
  // unless a separator on its path has the same score and tiebreak (then only its loads help).
  void walkAnySlot(double score, double tiebreak, Walk* w) const;
  // Both walks of a move, level by level.
  void walkBoth(uint32_t slot, double score, double tiebreak, double newScore, double newTiebreak, Walk* w,
                Walk* nw) const {
    walkBoth(keyOf(slot, score, tiebreak), w, keyOf(slot, newScore, newTiebreak), nw);
  }
  // Changes whenever the tree's shape does: walks taken in another shape are stale.
  uint64_t shape() const { return shape_; }
  // Visits up to `n` slots from 0-based position `from` in rank order; returns how many.
  template <typename F>
  size_t visit(size_t from, size_t n, F&& f) const {
    if (from >= size_ || n == 0) return 0;
    int pos;
    const Leaf* leaf = select(from, &pos);
    size_t done = 0;
    while (leaf != nullptr && done < n) {
      for (; pos < leaf->n && done < n; ++pos, ++done) f(leaf->slot[pos]);
      leaf = leaf->next;
      pos = 0;
    }
    return done;
  }
  // Calls f(slots, n) for the rest of each leaf from 0-based position `from` on, until f returns false.
  template <typename F>
  void visitLeavesFrom(size_t from, F&& f) const {
    if (from >= size_) return;
    int pos;
    for (const Leaf* leaf = select(from, &pos); leaf != nullptr; leaf = leaf->next, pos = 0) {
      if (!f(leaf->slot + pos, leaf->n - pos)) return;
    }
  }
  // Replaces the contents with `count` slots already in rank order, leaves about 3/4 full.
  void bulkLoad(const uint32_t* slots, size_t count);
  size_t size() const { return size_; }
  // Leaf and inner blocks in use (for tests and tuning).
  size_t leafBlocks() const { return leaves_.live(); }

 private:
  struct Key {
    double score;
    double tiebreak;
    uint32_t slot;
    uint64_t akey;
    int32_t sepKey;
  };
  Key keyOf(uint32_t slot) const {
    const SlotKey& k = ids_.key(slot);
    return keyOf(slot, k.score, k.tiebreak);
  }
  static Key keyOf(uint32_t slot, double score, double tiebreak) {
    return {score, tiebreak, slot, approxKey(score, tiebreak), sepKeyOf(score)};
  }
  void walk(const Key& k, Walk* w) const;
  // Sets a walk's leaf and what it was taken for (the key, the current shape).
  void stamp(Walk* w, void* leaf, const Key& k) const;
  void walkBoth(const Key& a, Walk* wa, const Key& b, Walk* wb) const;
  // `hint` when it was taken for k in the current shape, else `local` after walking it.
  const Walk& walkFor(const Key& k, const Walk* hint, Walk* local) const {
    if (fits(hint, k)) return *hint;
    walk(k, local);
    return *local;
  }
  bool fits(const Walk* w, const Key& k) const {
    // The slot first: it is the one field set in a walk that was never taken.
    return w != nullptr && (w->slot == k.slot || w->slot == kAnySlot) && w->shape == shape_ &&
           w->score == k.score && w->tiebreak == k.tiebreak;
  }
  // The number of entries in the leaves left of a walk's leaf.
  size_t entriesLeftOf(const Walk& w) const;
  // <0 when (s, t, slot) ranks before k, 0 when equal, >0 after.
  int compare(double s, double t, uint32_t slot, const Key& k) const {
    if (s != k.score) return s > k.score ? -1 : 1;
    if (t != k.tiebreak) return t < k.tiebreak ? -1 : 1;
    if (slot == k.slot) return 0;
    if (k.slot >= kAnySlot) return -1;  // a slot-less key (walkAnySlot) goes after its ties
    return compareIds(ids_.id(slot), ids_.id(k.slot));
  }
  int childFor(const Inner* in, const Key& k) const;
  // Removes entry p of w's leaf, then fixes counts and underflows; true when nodes were rebalanced
  // (the shape changed, so other walks are stale).
  bool eraseAt(const Walk& w, int p);
  // Inserts k (its record already holds it) into w's leaf. Returns k's 1-based rank.
  size_t insertInto(const Key& k, const Walk& w);
  int leafLowerBound(const Leaf* leaf, const Key& k) const;
  int leafFind(const Leaf* leaf, const Key& k) const;
  static void prefetch(const void* node, bool leaf);
  void insertAt(Leaf* leaf, int p, const Key& k);
  // Makes the key of `slot` the separator of entry i.
  void setSep(Inner* in, int i, uint32_t slot);
  bool lend(Leaf* leaf, Inner* parent, int i, int p, const Key& k);
  const Leaf* select(size_t index, int* pos) const;
  Leaf* newLeaf();
  Inner* newInner();
  void fixUnderflow(Inner* parent, int i, bool childIsLeaf);
  void freeAll(void* node, int height);
  void reserveFor(size_t entries);

  Accounting& acct_;
  InternTable& ids_;
  BlockArena leaves_;
  BlockArena inners_;
  void* root_ = nullptr;
  int height_ = 0;  // inner levels above the leaves
  uint64_t shape_ = 0;
  size_t size_ = 0;
  size_t reservedFor_ = 0;
};

}  // namespace cairn
