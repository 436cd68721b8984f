// The counted B+tree: descent with rank accumulation, splits on the way up, borrow-or-merge on
// underflow, select by subtree counts, and bulk loading from rank order.
#include "rank_tree.h"

#include <cmath>
#include <cstring>

// AVX2 versions of the node scans, chosen at load on CPUs that have it (CAIRN_NO_AVX2 builds without
// them, so the sanitizer test can cover the baseline versions too).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(CAIRN_NO_AVX2)
#define CAIRN_AVX2 1
#endif

namespace cairn {

namespace {

template <typename T>
void shiftRight(T* a, int from, int n) {
  std::memmove(a + from + 1, a + from, static_cast<size_t>(n - from) * sizeof(T));
}
template <typename T>
void shiftLeft(T* a, int from, int n) {
  std::memmove(a + from, a + from + 1, static_cast<size_t>(n - from - 1) * sizeof(T));
}
template <typename T>
void copyRange(T* dst, const T* src, int n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
}

size_t sumCounts(const Inner* in) {
  size_t s = 0;
  for (int i = 0; i < in->n; ++i) s += in->count[i];
  return s;
}

// Inner entries move as a whole: child, subtree count and separator.
void moveEntries(Inner* dst, int di, const Inner* src, int si, int n) {
  size_t m = static_cast<size_t>(n);
  std::memmove(dst->sepKey + di, src->sepKey + si, m * sizeof(int32_t));
  std::memmove(dst->count + di, src->count + si, m * sizeof(uint32_t));
  std::memmove(dst->child + di, src->child + si, m * sizeof(void*));
  std::memmove(dst->sepScore + di, src->sepScore + si, m * sizeof(double));
  std::memmove(dst->sepTb + di, src->sepTb + si, m * sizeof(double));
  std::memmove(dst->sepSlot + di, src->sepSlot + si, m * sizeof(uint32_t));
}
// Makes room at entry `at` / closes entry `at` up.
void openEntry(Inner* in, int at) { moveEntries(in, at + 1, in, at, static_cast<int>(in->n) - at); }
void closeEntry(Inner* in, int at) { moveEntries(in, at, in, at + 1, static_cast<int>(in->n) - at - 1); }
void setSepTo(Inner* in, int i, double score, double tiebreak, uint32_t slot) {
  in->sepKey[i] = sepKeyOf(score);
  in->sepScore[i] = score;
  in->sepTb[i] = tiebreak;
  in->sepSlot[i] = slot;
}
void copySep(Inner* dst, int di, const Inner* src, int si) {
  setSepTo(dst, di, src->sepScore[si], src->sepTb[si], src->sepSlot[si]);
}

// childFor's counting loop: how many of sepKey[1..n-1] are below `key` and how many equal it. It runs
// over all kInnerCap entries with a mask (entries from n on hold stale but defined values), so the
// compiler unrolls it into a few SIMD compares with no branches.
inline __attribute__((always_inline)) void countSepsBody(const int32_t* sep, int n, int32_t key, int* below,
                                                         int* equal) {
  int b = 0, e = 0;
  for (int j = 0; j < kInnerCap; ++j) {
    int live = (j >= 1) & (j < n);
    b += (sep[j] < key) & live;
    e += (sep[j] == key) & live;
  }
  *below = b;
  *equal = e;
}

void countSeps(const int32_t* sep, int n, int32_t key, int* below, int* equal) {
  countSepsBody(sep, n, key, below, equal);
}

// count[0] + ... + count[i - 1], as a masked sum over all kInnerCap counts (no branches, a few SIMD
// adds). A subtree count fits 32 bits, so the sum does too.
inline __attribute__((always_inline)) uint32_t countsBeforeBody(const uint32_t* count, int i) {
  uint32_t s = 0;
  for (int j = 0; j < kInnerCap; ++j) s += j < i ? count[j] : 0;
  return s;
}

uint32_t countsBeforeBase(const uint32_t* count, int i) { return countsBeforeBody(count, i); }

#if defined(CAIRN_AVX2)
// The same loop eight lanes at a time, for CPUs that have AVX2 (checked once, at load).
__attribute__((target("avx2"))) void countSepsAvx2(const int32_t* sep, int n, int32_t key, int* below,
                                                   int* equal) {
  countSepsBody(sep, n, key, below, equal);
}

__attribute__((target("avx2"))) uint32_t countsBeforeAvx2(const uint32_t* count, int i) {
  return countsBeforeBody(count, i);
}

bool hasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
const bool kHasAvx2 = hasAvx2();
#endif

inline uint32_t countsBefore(const Inner* in, int i) {
#if defined(CAIRN_AVX2)
  if (kHasAvx2) return countsBeforeAvx2(in->count, i);
#endif
  return countsBeforeBase(in->count, i);
}

}  // namespace

RankTree::RankTree(Accounting& acct, InternTable& ids)
    : acct_(acct), ids_(ids), leaves_(acct, sizeof(Leaf)), inners_(acct, sizeof(Inner)) {}

Leaf* RankTree::newLeaf() {
  auto* l = static_cast<Leaf*>(leaves_.take());
  l->n = 0;
  l->next = nullptr;
  return l;
}

Inner* RankTree::newInner() {
  auto* in = static_cast<Inner*>(inners_.take());
  std::memset(in, 0, sizeof(Inner));  // the separator scan reads all kInnerCap keys
  return in;
}

// Reserves blocks for a tree of `entries` keys with leaves half full, so that moving players around
// (which splits some leaves and merges others) never needs a new slab once the players are in.
void RankTree::reserveFor(size_t entries) {
  // A small tree (a hunt of a few dozen players, loaded or grown) is one leaf, and a move erases
  // before it inserts, so it never splits: that leaf is all it needs. Thousands of small hunts each
  // saved the slack below, about 3 KB.
  if (entries <= kSmallTree) {
    reservedFor_ = kSmallTree;
    leaves_.reserve(1);
    return;
  }
  reservedFor_ = entries + entries / 16 + 64;
  size_t leaves = reservedFor_ * 10 / (kLeafCap * 7) + 2;
  leaves_.reserve(leaves);
  // Inner nodes at least half full: at most leaves/23 of them over all levels (1/24 + 1/24² + …),
  // plus one partly filled node per level.
  size_t levels = 1;
  for (size_t reach = kInnerCap / 2; reach < leaves; reach *= kInnerCap / 2) ++levels;
  inners_.reserve(leaves / (kInnerCap / 2 - 1) + levels);
}

int RankTree::childFor(const Inner* in, const Key& k) const {
  // The number of separators sep[1..n-1] that are <= k. Those whose 32-bit key is below k's all
  // count; counting them over the whole node (no early exit) lets its cache lines load together.
  // Only separators whose key equals k's are compared in full.
  int below, equal;
  int n = static_cast<int>(in->n);
#if defined(CAIRN_AVX2)
  if (kHasAvx2) {
    countSepsAvx2(in->sepKey, n, k.sepKey, &below, &equal);
  } else {
    countSeps(in->sepKey, n, k.sepKey, &below, &equal);
  }
#else
  countSeps(in->sepKey, n, k.sepKey, &below, &equal);
#endif
  int lo = 1 + below;
  int hi = lo + equal;
  while (lo < hi && compare(in->sepScore[lo], in->sepTb[lo], in->sepSlot[lo], k) <= 0) ++lo;
  return lo - 1;
}

void RankTree::walk(const Key& k, Walk* w) const {
  void* node = root_;
  for (int d = 0; d < height_; ++d) {
    auto* in = static_cast<Inner*>(node);
    int i = childFor(in, k);
    w->path[d] = in;
    w->idx[d] = i;
    node = in->child[i];
    prefetch(node, d + 1 == height_);
  }
  stamp(w, node, k);
}

void RankTree::stamp(Walk* w, void* leaf, const Key& k) const {
  w->leaf = static_cast<Leaf*>(leaf);
  w->shape = shape_;
  w->score = k.score;
  w->tiebreak = k.tiebreak;
  w->slot = k.slot;
}

void RankTree::walkBoth(const Key& a, Walk* wa, const Key& b, Walk* wb) const {
  // Level by level, so that each level's two node loads (or one, while the paths agree) overlap.
  void* na = root_;
  void* nb = root_;
  for (int d = 0; d < height_; ++d) {
    auto* ia = static_cast<Inner*>(na);
    auto* ib = static_cast<Inner*>(nb);
    int i = childFor(ia, a);
    int j = childFor(ib, b);
    wa->path[d] = ia;
    wa->idx[d] = i;
    wb->path[d] = ib;
    wb->idx[d] = j;
    na = ia->child[i];
    nb = ib->child[j];
    prefetch(na, d + 1 == height_);
    if (nb != na) prefetch(nb, d + 1 == height_);
  }
  stamp(wa, na, a);
  stamp(wb, nb, b);
}

void RankTree::walkAnySlot(double score, double tiebreak, Walk* w) const {
  const Key k = keyOf(kNoSlot, score, tiebreak);
  walk(k, w);
  // The slot decides a step only where a separator has the key's score and tiebreak. compare() puts
  // a slot-less key after every such separator, so one of them would be the separator the step took.
  // The hot 32-bit separator key rules most out before the exact (cold) separator is read.
  for (int d = 0; d < height_; ++d) {
    const Inner* in = w->path[d];
    int i = w->idx[d];
    if (i >= 1 && in->sepKey[i] == k.sepKey && in->sepScore[i] == score && in->sepTb[i] == tiebreak) return;
  }
  w->slot = kAnySlot;
}

size_t RankTree::entriesLeftOf(const Walk& w) const {
  size_t r = 0;
  for (int d = 0; d < height_; ++d) r += countsBefore(w.path[d], w.idx[d]);
  return r;
}

void RankTree::prefetch(const void* node, bool leaf) {
  const char* p = static_cast<const char*>(node);
  size_t bytes = leaf ? sizeof(Leaf) : kInnerHotBytes;
  for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(p + i);
}

namespace {

// First position in a[0..n) whose value is >= key: a branch-free binary search (the outcome of each
// step is a coin flip, so branches would mispredict half the time).
inline int akeyLowerBound(const uint64_t* a, int n, uint64_t key) {
  if (n == 0) return 0;
  const uint64_t* base = a;
  while (n > 1) {
    int half = n >> 1;
    base = base[half] < key ? base + half : base;
    n -= half;
  }
  return static_cast<int>(base - a) + (*base < key);
}

}  // namespace

int RankTree::leafLowerBound(const Leaf* leaf, const Key& k) const {
  // First position whose key is >= k. The approximate keys settle every entry except those whose
  // approximate key equals k's; only those (usually none) are compared through the slot arrays.
  int lo = akeyLowerBound(leaf->akey, leaf->n, k.akey);
  int hi = lo;
  while (hi < leaf->n && leaf->akey[hi] == k.akey) ++hi;
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    uint32_t s = leaf->slot[mid];
    const SlotKey& e = ids_.key(s);
    if (compare(e.score, e.tiebreak, s, k) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

int RankTree::leafFind(const Leaf* leaf, const Key& k) const {
  // Position of k's own slot, or -1: it can only be among the entries whose approximate key is k's.
  int lo = akeyLowerBound(leaf->akey, leaf->n, k.akey);
  for (int i = lo; i < leaf->n && leaf->akey[i] == k.akey; ++i) {
    if (leaf->slot[i] == k.slot) return i;
  }
  return -1;
}

size_t RankTree::insert(uint32_t slot, const Walk* hint) {
  if (size_ + 1 > reservedFor_) reserveFor(size_ + 1);
  const Key k = keyOf(slot);
  if (root_ == nullptr) {
    root_ = newLeaf();
    height_ = 0;
    ++shape_;
  }
  Walk local;
  return insertInto(k, walkFor(k, hint, &local));
}

size_t RankTree::insertInto(const Key& k, const Walk& w) {
  Inner* const* path = w.path;
  const int* idx = w.idx;
  Leaf* leaf = w.leaf;
  const uint32_t slot = k.slot;
  int p = leafLowerBound(leaf, k);
  size_t rank = entriesLeftOf(w) + static_cast<size_t>(p) + 1;
  ++size_;

  if (leaf->n < kLeafCap) {
    shiftRight(leaf->akey, p, leaf->n);
    shiftRight(leaf->slot, p, leaf->n);
    leaf->akey[p] = k.akey;
    leaf->slot[p] = slot;
    ++leaf->n;
    for (int d = 0; d < height_; ++d) ++path[d]->count[idx[d]];
    return rank;
  }

  // Either way below, separators or nodes change.
  ++shape_;
  // A full leaf first lends entries to a sibling with room: leaves stay fuller and splits are rarer.
  if (height_ > 0 && lend(leaf, path[height_ - 1], idx[height_ - 1], p, k)) {
    for (int d = 0; d + 1 < height_; ++d) ++path[d]->count[idx[d]];
    return rank;
  }

  // Split the full leaf in half, then insert into the half the key belongs to.
  Leaf* right = newLeaf();
  int half = kLeafCap / 2;
  right->n = static_cast<uint16_t>(kLeafCap - half);
  copyRange(right->akey, leaf->akey + half, right->n);
  copyRange(right->slot, leaf->slot + half, right->n);
  leaf->n = static_cast<uint16_t>(half);
  right->next = leaf->next;
  leaf->next = right;
  Leaf* target = p <= half ? leaf : right;
  int tp = p <= half ? p : p - half;
  shiftRight(target->akey, tp, target->n);
  shiftRight(target->slot, tp, target->n);
  target->akey[tp] = k.akey;
  target->slot[tp] = slot;
  ++target->n;

  void* newChild = right;
  Key newSep = keyOf(right->slot[0]);
  size_t leftCount = leaf->n;
  size_t rightCount = right->n;
  for (int d = height_ - 1; d >= 0; --d) {
    Inner* in = path[d];
    int i = idx[d];
    if (newChild == nullptr) {
      ++in->count[i];
      continue;
    }
    in->count[i] = static_cast<uint32_t>(leftCount);
    Inner* dst = in;
    int at = i + 1;
    Inner* split = nullptr;
    if (in->n == kInnerCap) {
      split = newInner();
      int mid = kInnerCap / 2;
      split->n = kInnerCap - mid;
      moveEntries(split, 0, in, mid, kInnerCap - mid);
      in->n = mid;
      if (at > mid) {
        dst = split;
        at -= mid;
      }
    }
    openEntry(dst, at);
    dst->child[at] = newChild;
    dst->count[at] = static_cast<uint32_t>(rightCount);
    setSepTo(dst, at, newSep.score, newSep.tiebreak, newSep.slot);
    ++dst->n;
    if (split == nullptr) {
      newChild = nullptr;
    } else {
      newChild = split;
      newSep = keyOf(split->sepSlot[0], split->sepScore[0], split->sepTb[0]);
      leftCount = sumCounts(in);
      rightCount = sumCounts(split);
    }
  }
  if (newChild != nullptr) {
    Inner* r = newInner();
    r->n = 2;
    r->child[0] = root_;
    r->count[0] = static_cast<uint32_t>(leftCount);
    r->child[1] = newChild;
    r->count[1] = static_cast<uint32_t>(rightCount);
    setSepTo(r, 1, newSep.score, newSep.tiebreak, newSep.slot);
    root_ = r;
    ++height_;
  }
  return rank;
}

void RankTree::insertAt(Leaf* leaf, int p, const Key& k) {
  shiftRight(leaf->akey, p, leaf->n);
  shiftRight(leaf->slot, p, leaf->n);
  leaf->akey[p] = k.akey;
  leaf->slot[p] = k.slot;
  ++leaf->n;
}

void RankTree::setSep(Inner* in, int i, uint32_t slot) {
  const SlotKey& s = ids_.key(slot);
  setSepTo(in, i, s.score, s.tiebreak, slot);
}

// Inserts k at position p of the full leaf (child i of parent) after moving some of its entries to a
// sibling that has room; false (and nothing changed) when neither sibling has.
bool RankTree::lend(Leaf* leaf, Inner* parent, int i, int p, const Key& k) {
  if (i > 0) {
    auto* l = static_cast<Leaf*>(parent->child[i - 1]);
    if (l->n <= kLeafCap - 3) {
      int m = (kLeafCap - l->n) / 2;
      int old = l->n;
      copyRange(l->akey + old, leaf->akey, m);
      copyRange(l->slot + old, leaf->slot, m);
      l->n = static_cast<uint16_t>(old + m);
      std::memmove(leaf->akey, leaf->akey + m, static_cast<size_t>(leaf->n - m) * sizeof(uint64_t));
      std::memmove(leaf->slot, leaf->slot + m, static_cast<size_t>(leaf->n - m) * sizeof(uint32_t));
      leaf->n = static_cast<uint16_t>(leaf->n - m);
      parent->count[i - 1] += m;
      parent->count[i] -= m;
      setSep(parent, i, leaf->slot[0]);
      if (p <= m) {
        insertAt(l, old + p, k);
        ++parent->count[i - 1];
      } else {
        insertAt(leaf, p - m, k);
        ++parent->count[i];
      }
      return true;
    }
  }
  if (i + 1 < parent->n) {
    auto* r = static_cast<Leaf*>(parent->child[i + 1]);
    if (r->n <= kLeafCap - 3) {
      int m = (kLeafCap - r->n) / 2;
      std::memmove(r->akey + m, r->akey, static_cast<size_t>(r->n) * sizeof(uint64_t));
      std::memmove(r->slot + m, r->slot, static_cast<size_t>(r->n) * sizeof(uint32_t));
      int keep = leaf->n - m;
      copyRange(r->akey, leaf->akey + keep, m);
      copyRange(r->slot, leaf->slot + keep, m);
      r->n = static_cast<uint16_t>(r->n + m);
      leaf->n = static_cast<uint16_t>(keep);
      parent->count[i] -= m;
      parent->count[i + 1] += m;
      setSep(parent, i + 1, r->slot[0]);
      if (p <= keep) {
        insertAt(leaf, p, k);
        ++parent->count[i];
      } else {
        insertAt(r, p - keep, k);
        ++parent->count[i + 1];
      }
      return true;
    }
  }
  return false;
}

size_t RankTree::rankOf(uint32_t slot, const Walk* hint) const {
  const Key k = keyOf(slot);
  Walk local;
  const Walk& w = walkFor(k, hint, &local);
  int p = leafFind(w.leaf, k);
  if (p < 0) return 0;
  return entriesLeftOf(w) + static_cast<size_t>(p) + 1;
}

size_t RankTree::erase(uint32_t slot, const Walk* hint) {
  const Key k = keyOf(slot);
  Walk local;
  const Walk& w = walkFor(k, hint, &local);
  int p = leafFind(w.leaf, k);
  if (p < 0) return 0;  // not in the tree: callers check first
  size_t rank = entriesLeftOf(w) + static_cast<size_t>(p) + 1;
  eraseAt(w, p);
  return rank;
}

void RankTree::move(uint32_t slot, double score, double tiebreak, size_t* rank, size_t* previousRank,
                    const Walk* oldHint, const Walk* newHint) {
  const Key k = keyOf(slot);
  const Key nk = keyOf(slot, score, tiebreak);
  Walk oldLocal, newLocal;
  const Walk* ow = fits(oldHint, k) ? oldHint : nullptr;
  const Walk* nw = fits(newHint, nk) ? newHint : nullptr;
  if (ow == nullptr && nw == nullptr) {
    walkBoth(k, &oldLocal, nk, &newLocal);
    ow = &oldLocal;
    nw = &newLocal;
  } else if (ow == nullptr) {
    walk(k, &oldLocal);
    ow = &oldLocal;
  } else if (nw == nullptr) {
    walk(nk, &newLocal);
    nw = &newLocal;
  }
  Leaf* leaf = ow->leaf;
  int p = leafFind(leaf, k);
  if (p < 0) {  // not in the tree: callers check first
    ids_.key(slot) = {score, tiebreak};
    *previousRank = 0;
    *rank = insert(slot);
    return;
  }
  size_t base = entriesLeftOf(*ow);
  *previousRank = base + static_cast<size_t>(p) + 1;
  int n = leaf->n;
  if (nw->leaf == leaf && n >= 3 && nk.akey >= leaf->akey[0] && nk.akey <= leaf->akey[n - 1]) {
    // The new key's place among the leaf's entries (the slot's own entry still holds the old key).
    int q = leafLowerBound(leaf, nk);
    int np = q <= p ? q : q - 1;
    // Strictly between two other entries of the leaf, the new key is inside the leaf's key range,
    // so it can stay here: no counts or separators change.
    if (np >= 1 && np <= n - 2) {
      if (np < p) {
        std::memmove(leaf->akey + np + 1, leaf->akey + np, static_cast<size_t>(p - np) * sizeof(uint64_t));
        std::memmove(leaf->slot + np + 1, leaf->slot + np, static_cast<size_t>(p - np) * sizeof(uint32_t));
      } else if (np > p) {
        std::memmove(leaf->akey + p, leaf->akey + p + 1, static_cast<size_t>(np - p) * sizeof(uint64_t));
        std::memmove(leaf->slot + p, leaf->slot + p + 1, static_cast<size_t>(np - p) * sizeof(uint32_t));
      }
      leaf->akey[np] = nk.akey;
      leaf->slot[np] = slot;
      ids_.key(slot) = {score, tiebreak};
      *rank = base + static_cast<size_t>(np) + 1;
      return;
    }
  }
  // Erase, then insert down the new key's walk, unless the erase rebalanced nodes (then that walk
  // is stale and the insert walks afresh).
  bool rebalanced = eraseAt(*ow, p);
  ids_.key(slot) = {score, tiebreak};
  if (rebalanced || size_ + 1 > reservedFor_) {
    *rank = insert(slot);
    return;
  }
  *rank = insertInto(nk, *nw);
}

bool RankTree::eraseAt(const Walk& w, int p) {
  Inner* const* path = w.path;
  const int* idx = w.idx;
  Leaf* leaf = w.leaf;
  shiftLeft(leaf->akey, p, leaf->n);
  shiftLeft(leaf->slot, p, leaf->n);
  --leaf->n;
  --size_;
  for (int d = 0; d < height_; ++d) --path[d]->count[idx[d]];

  // Rebalance from the leaf up while nodes are below their minimum.
  bool rebalanced = false;
  bool leafLevel = true;
  for (int d = height_ - 1; d >= 0; --d) {
    Inner* parent = path[d];
    int i = idx[d];
    int n = leafLevel ? static_cast<Leaf*>(parent->child[i])->n : static_cast<Inner*>(parent->child[i])->n;
    if (n >= (leafLevel ? kLeafMin : kInnerMin)) break;
    if (!rebalanced) ++shape_;
    rebalanced = true;
    int before = parent->n;
    fixUnderflow(parent, i, leafLevel);
    if (parent->n == before) break;  // borrowed: the parent kept its children
    leafLevel = false;
  }
  while (height_ > 0 && static_cast<Inner*>(root_)->n == 1) {
    auto* old = static_cast<Inner*>(root_);
    root_ = old->child[0];
    inners_.give(old);
    --height_;
    if (!rebalanced) ++shape_;  // (a root is left with one child only by a merge, already counted)
    rebalanced = true;
  }
  return rebalanced;
}

// Child i of `parent` is below its minimum: borrow one entry from a sibling, or merge with it.
void RankTree::fixUnderflow(Inner* parent, int i, bool childIsLeaf) {
  int li = i > 0 ? i - 1 : i;  // merge or borrow between children li and li + 1
  int ri = li + 1;
  if (childIsLeaf) {
    auto* l = static_cast<Leaf*>(parent->child[li]);
    auto* r = static_cast<Leaf*>(parent->child[ri]);
    if (l->n + r->n <= kLeafCap) {
      copyRange(l->akey + l->n, r->akey, r->n);
      copyRange(l->slot + l->n, r->slot, r->n);
      l->n = static_cast<uint16_t>(l->n + r->n);
      l->next = r->next;
      parent->count[li] += parent->count[ri];
      leaves_.give(r);
    } else if (ri == i) {
      // Move l's last entry to the front of r.
      shiftRight(r->akey, 0, r->n);
      shiftRight(r->slot, 0, r->n);
      --l->n;
      r->akey[0] = l->akey[l->n];
      r->slot[0] = l->slot[l->n];
      ++r->n;
      --parent->count[li];
      ++parent->count[ri];
      setSep(parent, ri, r->slot[0]);
      return;
    } else {
      // Move r's first entry to the end of l.
      l->akey[l->n] = r->akey[0];
      l->slot[l->n] = r->slot[0];
      ++l->n;
      shiftLeft(r->akey, 0, r->n);
      shiftLeft(r->slot, 0, r->n);
      --r->n;
      --parent->count[ri];
      ++parent->count[li];
      setSep(parent, ri, r->slot[0]);
      return;
    }
  } else {
    auto* l = static_cast<Inner*>(parent->child[li]);
    auto* r = static_cast<Inner*>(parent->child[ri]);
    if (l->n + r->n <= kInnerCap) {
      // r's first child takes the parent's separator for r.
      copySep(r, 0, parent, ri);
      moveEntries(l, static_cast<int>(l->n), r, 0, static_cast<int>(r->n));
      l->n += r->n;
      parent->count[li] += parent->count[ri];
      inners_.give(r);
    } else if (ri == i) {
      // Move l's last child to the front of r.
      int last = static_cast<int>(l->n) - 1;
      uint32_t moved = l->count[last];
      openEntry(r, 0);
      r->child[0] = l->child[last];
      r->count[0] = moved;
      copySep(r, 1, parent, ri);
      ++r->n;
      copySep(parent, ri, l, last);
      --l->n;
      parent->count[li] -= moved;
      parent->count[ri] += moved;
      return;
    } else {
      // Move r's first child to the end of l.
      uint32_t moved = r->count[0];
      int at = static_cast<int>(l->n);
      l->child[at] = r->child[0];
      l->count[at] = moved;
      copySep(l, at, parent, ri);
      ++l->n;
      copySep(parent, ri, r, 1);
      closeEntry(r, 0);
      --r->n;
      parent->count[ri] -= moved;
      parent->count[li] += moved;
      return;
    }
  }
  // Merged: drop child ri from the parent.
  closeEntry(parent, ri);
  --parent->n;
}

const Leaf* RankTree::select(size_t index, int* pos) const {
  const void* node = root_;
  for (int d = 0; d < height_; ++d) {
    auto* in = static_cast<const Inner*>(node);
    int i = 0;
    while (i < in->n - 1 && index >= in->count[i]) {
      index -= in->count[i];
      ++i;
    }
    node = in->child[i];
  }
  *pos = static_cast<int>(index);
  return static_cast<const Leaf*>(node);
}

void RankTree::freeAll(void* node, int height) {
  if (node == nullptr) return;
  if (height == 0) {
    leaves_.give(node);
    return;
  }
  auto* in = static_cast<Inner*>(node);
  for (int i = 0; i < in->n; ++i) freeAll(in->child[i], height - 1);
  inners_.give(in);
}

void RankTree::bulkLoad(const uint32_t* slots, size_t count) {
  ++shape_;
  freeAll(root_, height_);
  root_ = nullptr;
  height_ = 0;
  size_ = 0;
  reservedFor_ = 0;
  if (count == 0) return;
  reserveFor(count);
  size_ = count;

  // Level 0: leaves about 3/4 full, sizes spread evenly so none is below the minimum.
  size_t target = kSmallTree;
  size_t nodes = (count + target - 1) / target;
  auto* level = static_cast<void**>(acct_.allocate(nodes * sizeof(void*)));
  auto* counts = static_cast<size_t*>(acct_.allocate(nodes * sizeof(size_t)));
  auto* firsts = static_cast<uint32_t*>(acct_.allocate(nodes * sizeof(uint32_t)));
  size_t at = 0;
  Leaf* prev = nullptr;
  for (size_t i = 0; i < nodes; ++i) {
    size_t n = count / nodes + (i < count % nodes ? 1 : 0);
    Leaf* leaf = newLeaf();
    for (size_t j = 0; j < n; ++j, ++at) {
      leaf->slot[j] = slots[at];
      leaf->akey[j] = approxKey(ids_.key(slots[at]).score, ids_.key(slots[at]).tiebreak);
    }
    leaf->n = static_cast<uint16_t>(n);
    if (prev != nullptr) prev->next = leaf;
    prev = leaf;
    level[i] = leaf;
    counts[i] = n;
    firsts[i] = leaf->slot[0];
  }
  // Inner levels, about 3/4 full, until one node is left.
  size_t itarget = kInnerCap * 3 / 4;
  while (nodes > 1) {
    size_t parents = (nodes + itarget - 1) / itarget;
    size_t from = 0;
    for (size_t i = 0; i < parents; ++i) {
      size_t n = nodes / parents + (i < nodes % parents ? 1 : 0);
      Inner* in = newInner();
      size_t total = 0;
      for (size_t j = 0; j < n; ++j) {
        size_t c = from + j;
        const SlotKey& k = ids_.key(firsts[c]);
        in->child[j] = level[c];
        in->count[j] = static_cast<uint32_t>(counts[c]);
        setSepTo(in, static_cast<int>(j), k.score, k.tiebreak, firsts[c]);
        total += counts[c];
      }
      in->n = static_cast<int32_t>(n);
      uint32_t first = firsts[from];
      level[i] = in;
      counts[i] = total;
      firsts[i] = first;
      from += n;
    }
    nodes = parents;
    ++height_;
  }
  root_ = level[0];
  size_t cap = (count + target - 1) / target;
  acct_.release(level, cap * sizeof(void*));
  acct_.release(counts, cap * sizeof(size_t));
  acct_.release(firsts, cap * sizeof(uint32_t));
}

}  // namespace cairn
