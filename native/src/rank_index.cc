// The rank index operations and the CRNK serialisation shared byte for byte with the TS index.
#include "rank_index.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace cairn {

namespace {

constexpr double kNotRanked = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxSafe = 9007199254740991.0;

bool isSafeInteger(double v) { return std::isfinite(v) && std::trunc(v) == v && std::fabs(v) <= kMaxSafe; }

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t* p, double d) {
  uint64_t v;
  std::memcpy(&v, &d, 8);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
double get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  double d;
  std::memcpy(&d, &v, 8);
  return d;
}

// Slicing-by-8 tables: t[0] is the classic byte table, t[k][i] the CRC of byte i followed by k zero
// bytes, so eight bytes are folded per step (about five times the byte-at-a-time speed; a snapshot
// of a large hunt is megabytes, checked on every write and load).
struct CrcTable {
  uint32_t t[8][256];
  CrcTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int k = 1; k < 8; ++k) t[k][i] = t[0][t[k - 1][i] & 0xff] ^ (t[k - 1][i] >> 8);
    }
  }
};

}  // namespace

bool validUtf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t j = 1; j < len; ++j) {
      if ((s[i + j] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const CrcTable table;
  const auto& t = table.t;
  uint32_t c = crc ^ 0xffffffffu;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    // Little-endian by construction: the bytes are combined in the order they come.
    uint32_t lo = c ^ (static_cast<uint32_t>(data[i]) | static_cast<uint32_t>(data[i + 1]) << 8 |
                       static_cast<uint32_t>(data[i + 2]) << 16 | static_cast<uint32_t>(data[i + 3]) << 24);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][data[i + 4]] ^ t[2][data[i + 5]] ^ t[1][data[i + 6]] ^ t[0][data[i + 7]];
  }
  for (; i < size; ++i) c = t[0][(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

RankIndex::RankIndex() : ids_(acct_), tree_(acct_, ids_) {}

uint32_t RankIndex::intern(const uint8_t* id, size_t size) { return ids_.intern(id, size); }

void RankIndex::upsertId(const uint8_t* id, size_t size, double score, double tiebreak, size_t* rank,
                         size_t* previousRank) {
  uint64_t h = InternTable::hash(id, size);
  ids_.prefetchBucket(h);
  Plan plan;
  plan.old.slot = kNoSlot;
  tree_.walkAnySlot(score + 0.0, tiebreak + 0.0, &plan.next);
  uint32_t slot = ids_.intern(id, size, h);
  upsert(slot, score, tiebreak, rank, previousRank, &plan);
}

void RankIndex::upsert(uint32_t slot, double score, double tiebreak, size_t* rank, size_t* previousRank,
                       const Plan* plan) {
  // Adding 0.0 turns -0 into +0, so equal contents always serialise to equal bytes.
  score += 0.0;
  tiebreak += 0.0;
  SlotKey& k = ids_.key(slot);
  const Walk* oldWalk = plan != nullptr ? &plan->old : nullptr;
  const Walk* newWalk = plan != nullptr ? &plan->next : nullptr;
  if (ranked(slot)) {
    if (k.score == score && k.tiebreak == tiebreak) {
      // Same key: a rank lookup. applyBatch walked it as `old`, upsertId as `next` (the new key is
      // this key); rankOf ignores a walk that does not fit.
      *rank = *previousRank =
          tree_.rankOf(slot, oldWalk != nullptr && oldWalk->slot == slot ? oldWalk : newWalk);
      return;
    }
    tree_.move(slot, score, tiebreak, rank, previousRank, oldWalk, newWalk);
    return;
  }
  k.score = score;
  k.tiebreak = tiebreak;
  *rank = tree_.insert(slot, newWalk);
  *previousRank = 0;
  rankedIdBytes_ += ids_.id(slot).size;
}

void RankIndex::plan(uint8_t op, uint32_t slot, double score, double tiebreak, Plan* plan) const {
  const SlotKey& k = ids_.key(slot);
  score += 0.0;
  tiebreak += 0.0;
  if (!ranked(slot)) {
    if (op == 0) tree_.walk(slot, score, tiebreak, &plan->next);
  } else if (op == 0 && !(k.score == score && k.tiebreak == tiebreak)) {
    tree_.walkBoth(slot, k.score, k.tiebreak, score, tiebreak, &plan->old, &plan->next);
  } else {
    tree_.walk(slot, k.score, k.tiebreak, &plan->old);
  }
}

void RankIndex::applyBatch(const uint8_t* ops, const uint32_t* slots, const double* scores,
                           const double* tiebreaks, size_t count, int32_t* out) {
  // A software pipeline over the batch: the record of the op kRecordAhead ahead starts loading, the
  // op kWalkAhead ahead is walked (its record has arrived by then) and its leaves start loading, and
  // the current op runs on nodes already in the cache. Walks stay valid while the tree keeps its
  // shape, which most ops do not change; a stale one is ignored and walked again.
  constexpr size_t kRecordAhead = 12;
  constexpr size_t kWalkAhead = 6;
  constexpr size_t kPlans = 8;  // > kWalkAhead: the current op's plan is not overwritten
  Plan plans[kPlans];
  for (Plan& p : plans) p.old.slot = p.next.slot = kNoSlot;
  for (size_t i = 0; i < count && i < kRecordAhead; ++i) prefetch(slots[i]);
  for (size_t i = 0; i < count && i < kWalkAhead; ++i) {
    plan(ops[i], slots[i], scores[i], tiebreaks[i], &plans[i % kPlans]);
  }
  for (size_t i = 0; i < count; ++i) {
    if (i + kRecordAhead < count) prefetch(slots[i + kRecordAhead]);
    if (i + kWalkAhead < count) {
      size_t j = i + kWalkAhead;
      plan(ops[j], slots[j], scores[j], tiebreaks[j], &plans[j % kPlans]);
    }
    const Plan* p = &plans[i % kPlans];
    size_t rank = 0, prev = 0;
    if (ops[i] == 0) {
      upsert(slots[i], scores[i], tiebreaks[i], &rank, &prev, p);
    } else {
      prev = remove(slots[i], &p->old);
    }
    out[2 * i] = static_cast<int32_t>(rank);
    out[2 * i + 1] = static_cast<int32_t>(prev);
  }
}

size_t RankIndex::remove(uint32_t slot, const Walk* hint) {
  if (!ranked(slot)) return 0;
  size_t prev = tree_.erase(slot, hint);
  ids_.key(slot) = {kNotRanked, kNotRanked};
  rankedIdBytes_ -= ids_.id(slot).size;
  return prev;
}

size_t RankIndex::serialize(uint8_t* out) const {
  size_t at = 0;
  SerializeCursor cursor;
  serializePart(out, serializedSize(), &at, &cursor);
  return at;
}

void RankIndex::serializePart(uint8_t* out, size_t size, size_t* at, SerializeCursor* cursor) const {
  uint8_t* p = out + *at;
  uint8_t* const start = p;
  uint8_t* const end = out + size;
  const size_t total = serializedSize();
  if (cursor->done == 0) {
    if (end - p < 12) return;
    std::memcpy(p, "CRNK", 4);
    put32(p + 4, 1);
    put32(p + 8, static_cast<uint32_t>(tree_.size()));
    p += 12;
  }
  size_t rank = cursor->rank;
  tree_.visitLeavesFrom(rank, [&](const uint32_t* slots, int n) {
    // A leaf's records are scattered over the slot table: ask for all of them before the first.
    for (int i = 0; i < n; ++i) ids_.prefetch(slots[i]);
    for (int i = 0; i < n; ++i) {
      const SlotKey& k = ids_.key(slots[i]);
      IdView id = ids_.id(slots[i]);
      if (static_cast<size_t>(end - p) < 20 + id.size) return false;
      put64(p, k.score);
      put64(p + 8, k.tiebreak);
      put32(p + 16, static_cast<uint32_t>(id.size));
      if (id.size > 0) std::memcpy(p + 20, id.data, id.size);
      p += 20 + id.size;
      ++rank;
    }
    return true;
  });
  uint32_t crc = crc32(start, static_cast<size_t>(p - start), cursor->crc);
  const size_t done = cursor->done + static_cast<size_t>(p - start);
  if (rank == tree_.size() && done + 4 == total && end - p >= 4) {
    put32(p, crc);
    p += 4;
  }
  cursor->done += static_cast<size_t>(p - start);
  cursor->rank = rank;
  cursor->crc = crc;
  *at = static_cast<size_t>(p - out);
}

void RankIndex::writeRecords(const uint32_t* slots, const uint8_t* states, const double* scores,
                             const double* tiebreaks, size_t n, uint8_t* out, size_t size, size_t* next,
                             size_t* at) const {
  size_t i = *next;
  uint8_t* p = out + *at;
  uint8_t* const end = out + size;
  for (; i < n; ++i) {
    IdView id = ids_.id(slots[i]);
    if (static_cast<size_t>(end - p) < 4 + id.size + 17) break;
    put32(p, static_cast<uint32_t>(id.size));
    if (id.size > 0) std::memcpy(p + 4, id.data, id.size);
    p += 4 + id.size;
    p[0] = states[i];
    put64(p + 1, scores[i]);
    put64(p + 9, tiebreaks[i]);
    p += 17;
  }
  *next = i;
  *at = static_cast<size_t>(p - out);
}

size_t RankIndex::writeTopJson(size_t n, const char* key, size_t keyLen, uint8_t* out, size_t size,
                               size_t at) const {
  uint8_t* p = out + at;
  uint8_t* const end = out + size;
  bool fits = true;
  // Each write checks its own room, so the array is written whenever it fits exactly.
  auto text = [&](const char* t, size_t len) {
    if (!fits || static_cast<size_t>(end - p) < len) {
      fits = false;
      return;
    }
    std::memcpy(p, t, len);
    p += len;
  };
  auto integer = [&](double d) {
    char buf[24];
    const char* last = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d)).ptr;
    text(buf, static_cast<size_t>(last - buf));
  };
  static const char kHex[] = "0123456789abcdef";
  static const char kShort[] = "btnvfr";  // \b \t \n (\v unused) \f \r: the escapes JSON has for 8..13
  text("[", 1);
  size_t rank = 0;
  tree_.visit(0, n, [&](uint32_t s) {
    if (!fits) return;
    text(rank == 0 ? "{\"rank\":" : ",{\"rank\":", rank == 0 ? 8 : 9);
    integer(static_cast<double>(++rank));
    text(",\"", 2);
    text(key, keyLen);
    text("\":\"", 3);
    IdView id = ids_.id(s);
    for (size_t i = 0; i < id.size && fits;) {
      // A run of bytes written as they are (UTF-8 above 0x7f included), then one escaped byte.
      size_t j = i;
      while (j < id.size && id.data[j] >= 0x20 && id.data[j] != '"' && id.data[j] != '\\') ++j;
      if (j > i) {
        text(reinterpret_cast<const char*>(id.data + i), j - i);
        i = j;
        continue;
      }
      const uint8_t u = id.data[i++];
      if (u == '"' || u == '\\') {
        const char e[2] = {'\\', static_cast<char>(u)};
        text(e, 2);
      } else if (u >= 8 && u <= 13 && u != 11) {
        const char e[2] = {'\\', kShort[u - 8]};
        text(e, 2);
      } else {
        const char e[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        text(e, 6);
      }
    }
    text("\",\"score\":", 10);
    integer(score(s));
    text("}", 1);
  });
  text("]", 1);
  return fits ? static_cast<size_t>(p - out) : kNoRoom;
}

std::unique_ptr<RankIndex> RankIndex::deserialize(const uint8_t* data, size_t size, std::string* error) {
  auto fail = [&](std::string message) {
    *error = "corrupt rank index: " + message;
    return std::unique_ptr<RankIndex>();
  };
  if (size < 16) return fail("truncated (" + std::to_string(size) + " bytes, a header needs 16)");
  if (std::memcmp(data, "CRNK", 4) != 0) return fail("bad magic (expected CRNK)");
  uint32_t version = get32(data + 4);
  if (version != 1) return fail("unsupported version " + std::to_string(version) + " (expected 1)");
  if (crc32(data, size - 4) != get32(data + size - 4)) return fail("checksum mismatch");
  uint32_t count = get32(data + 8);
  size_t end = size - 4;
  if (count > (end - 12) / 20) return fail("truncated (" + std::to_string(count) + " entries declared)");

  auto index = std::make_unique<RankIndex>();
  index->ids_.reserve(count);
  std::vector<uint32_t> slots;
  slots.reserve(count);
  size_t pos = 12;
  double prevScore = 0, prevTb = 0;
  IdView prevId{nullptr, 0};
  for (uint32_t i = 0; i < count; ++i) {
    // Named only on failure: a million-entry load would otherwise build a million strings.
    auto at = [i] { return "entry " + std::to_string(i); };
    if (end - pos < 20) return fail("truncated at " + at());
    double score = get64(data + pos);
    double tb = get64(data + pos + 8);
    uint32_t len = get32(data + pos + 16);
    pos += 20;
    if (!isSafeInteger(score)) return fail(at() + " has a score that is not a safe integer");
    if (!isSafeInteger(tb)) return fail(at() + " has a tiebreak that is not a safe integer");
    if (len > end - pos) return fail("truncated at " + at());
    if (len > kMaxIdBytes || !validUtf8(data + pos, len)) return fail(at() + " has an invalid player id");
    IdView id{data + pos, len};
    pos += len;
    if (i > 0) {
      int c = score != prevScore ? (score > prevScore ? 1 : -1)
              : tb != prevTb     ? (tb < prevTb ? 1 : -1)
                                 : -compareIds(id, prevId);
      if (c == 0) return fail(at() + " duplicates a player id");
      if (c > 0) return fail(at() + " is out of order");
    }
    // A fresh index gives entry i slot i, unless its id came before.
    uint32_t slot = index->intern(id.data, id.size);
    if (slot != i) return fail(at() + " duplicates a player id");
    index->ids_.key(slot) = {score + 0.0, tb + 0.0};
    slots.push_back(slot);
    prevScore = score;
    prevTb = tb;
    prevId = id;
  }
  if (pos != end) return fail(std::to_string(end - pos) + " trailing bytes before the checksum");
  index->tree_.bulkLoad(slots.data(), slots.size());
  index->rankedIdBytes_ = end - 12 - 20 * static_cast<size_t>(count);
  return index;
}

}  // namespace cairn
