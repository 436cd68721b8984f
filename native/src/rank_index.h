// The rank index: interned player ids, per-slot keys and the counted B+tree, plus the CRNK format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "intern_table.h"
#include "memory.h"
#include "rank_tree.h"

namespace cairn {

// Everything the index holds is counted by `acct_`, which is declared first so it outlives the rest.
class RankIndex {
 public:
  RankIndex();
  RankIndex(const RankIndex&) = delete;
  RankIndex& operator=(const RankIndex&) = delete;

  // The slot of an id, or -1.
  int64_t slotOf(const uint8_t* id, size_t size) const { return ids_.find(id, size); }
  // The slot of an id, interned if new.
  uint32_t intern(const uint8_t* id, size_t size);
  // Number of interned ids: valid slots are 0 .. internedCount() - 1.
  uint32_t internedCount() const { return ids_.count(); }
  IdView idOf(uint32_t slot) const { return ids_.id(slot); }

  // Walks taken ahead of an op (see applyBatch); either may be stale or unset.
  struct Plan {
    Walk old;   // for the slot's key before the op
    Walk next;  // for the key the op gives it
  };
  // Moves (or inserts) a slot to (score, tiebreak); both must be safe integers.
  void upsert(uint32_t slot, double score, double tiebreak, size_t* rank, size_t* previousRank,
              const Plan* plan = nullptr);
  // upsert() by id, interning it if new. The new key's walk (and its leaf's load) runs while the id's
  // table entry and record load, so a single call waits for fewer cache misses one after another.
  void upsertId(const uint8_t* id, size_t size, double score, double tiebreak, size_t* rank,
                size_t* previousRank);
  // Applies `count` checked ops (0 = upsert slots[i] to (scores[i], tiebreaks[i]), 1 = remove slots[i]);
  // out[2i] and out[2i+1] get each op's rank and previous rank (0 for a remove's rank).
  void applyBatch(const uint8_t* ops, const uint32_t* slots, const double* scores, const double* tiebreaks,
                  size_t count, int32_t* out);
  // Removes a slot; returns its previous rank, 0 if it was not ranked. `hint`: a walk for its key
  // taken ahead (see applyBatch), used when it still fits.
  size_t remove(uint32_t slot, const Walk* hint = nullptr);
  // 1-based rank, 0 if not ranked.
  size_t rank(uint32_t slot) const { return ranked(slot) ? tree_.rankOf(slot) : 0; }
  bool ranked(uint32_t slot) const { return ids_.key(slot).score == ids_.key(slot).score; }
  double score(uint32_t slot) const { return ids_.key(slot).score; }
  size_t size() const { return tree_.size(); }
  // Starts loading a slot's key into the cache ahead of an update.
  void prefetch(uint32_t slot) const { ids_.prefetch(slot); }
  // Visits up to `n` ranked slots from 0-based position `from`; returns how many.
  template <typename F>
  size_t visit(size_t from, size_t n, F&& f) const {
    return tree_.visit(from, n, std::forward<F>(f));
  }

  // CRNK bytes: magic, version 1, count, entries in rank order, CRC-32. serializedSize() is kept up
  // to date as players are ranked and unranked, so serialize() walks the board once; it writes at most
  // serializedSize() bytes and returns how many it wrote (anything else is a bug of the count).
  size_t serializedSize() const { return 16 + 20 * tree_.size() + rankedIdBytes_; }
  size_t serialize(uint8_t* out) const;
  // Where a serialization in parts has got to: bytes of it written, the next rank, and the CRC-32 of
  // the bytes written (all 0 to start).
  struct SerializeCursor {
    size_t done = 0;
    size_t rank = 0;
    uint32_t crc = 0;
  };
  // serialize() in parts: writes its next bytes into out[*at, size), the header, whole entries and
  // the CRC while they fit, and moves *at and the cursor past them. The board must not change until
  // cursor.done reaches serializedSize().
  void serializePart(uint8_t* out, size_t size, size_t* at, SerializeCursor* cursor) const;
  // A hunt's player records, for its canonical bytes: for each slot (all interned), the id as a u32
  // little-endian byte length and its bytes, then states[i] (u8), scores[i] and tiebreaks[i] (f64
  // little-endian). Writes whole records for i = *next, *next + 1, ... < n into out[*at, size) while
  // they fit, and moves *next and *at past them.
  void writeRecords(const uint32_t* slots, const uint8_t* states, const double* scores, const double* tiebreaks,
                    size_t n, uint8_t* out, size_t size, size_t* next, size_t* at) const;
  // The first `n` ranks as a JSON array, [{"rank":1,"<key>":"<id>","score":<score>},...], byte for
  // byte as JSON.stringify writes it (ids escaped as it escapes them; scores are safe integers), into
  // out[at, size). Returns where it ends, or kNoRoom when it does not fit (out past `at` is then
  // scribbled on). `key` is written as it is: the caller gives a plain name.
  size_t writeTopJson(size_t n, const char* key, size_t keyLen, uint8_t* out, size_t size, size_t at) const;
  static constexpr size_t kNoRoom = static_cast<size_t>(-1);

  // Builds an index from CRNK bytes; on corrupt input returns null and sets `error`.
  // Ids are interned in rank order, so slots after a round trip need not equal those before.
  static std::unique_ptr<RankIndex> deserialize(const uint8_t* data, size_t size, std::string* error);

  size_t bytes() const { return acct_.bytes(); }
  size_t allocations() const { return acct_.allocations(); }
  size_t leafBlocks() const { return tree_.leafBlocks(); }

 private:
  // Walks the tree for op (0 = upsert to (score, tiebreak), 1 = remove) on `slot`, loading its leaves.
  void plan(uint8_t op, uint32_t slot, double score, double tiebreak, Plan* plan) const;

  Accounting acct_;
  InternTable ids_;
  RankTree tree_;
  // UTF-8 bytes of the ids of the ranked slots.
  size_t rankedIdBytes_ = 0;
};

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(const uint8_t* s, size_t n);

// CRC-32 (IEEE 802.3, as zlib computes it), going on from the CRC-32 `crc` of the bytes before.
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace cairn
