// Player-id interning: ids (UTF-8 bytes) to dense slots 0, 1, 2, ... and back, arena-backed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "memory.h"

namespace cairn {

// Longest player id accepted, in UTF-8 bytes; it keeps a stored id inside one string chunk.
constexpr size_t kMaxIdBytes = 65535;

// A borrowed view of an interned id's bytes.
struct IdView {
  const uint8_t* data;
  size_t size;
};

// Compares two ids by UTF-8 bytes, shorter prefix first: the same as Unicode code point order.
inline int compareIds(IdView a, IdView b) {
  size_t n = a.size < b.size ? a.size : b.size;
  int c = n == 0 ? 0 : std::memcmp(a.data, b.data, n);
  if (c != 0) return c;
  return a.size < b.size ? -1 : (a.size > b.size ? 1 : 0);
}

// A slot's sort key. `score` is NaN while the slot is not ranked.
struct SlotKey {
  double score;
  double tiebreak;
};

// Maps ids to slots with an open-addressing table of slot numbers, and keeps one 32-byte record per
// slot: its sort key and its id, inline when the id is at most 15 bytes (otherwise a 32-bit reference
// (chunk, offset) to the length-prefixed bytes in a 256 KiB chunk). A table entry is slot + 1 in its
// low bits (below the table size) and a fingerprint of the id's hash in the bits above, so a probe
// that meets another id almost never reads that id's record. Finding a player and reading its key
// then costs two cache misses: the table's and the record's.
class InternTable {
 public:
  explicit InternTable(Accounting& acct);
  ~InternTable();
  InternTable(const InternTable&) = delete;
  InternTable& operator=(const InternTable&) = delete;

  // The slot of an id, or -1.
  int64_t find(const uint8_t* data, size_t size) const { return find(data, size, hash(data, size)); }
  // find() for an id whose hash() is h.
  int64_t find(const uint8_t* data, size_t size, uint64_t h) const {
    size_t i = h & mask_;
    uint32_t fp = fingerprint(h);
    uint32_t low = static_cast<uint32_t>(mask_);
    for (;;) {
      uint32_t e = table_[i];
      if (e == 0) return -1;
      if ((e & ~low) == fp) {
        uint32_t slot = (e & low) - 1;
        IdView v = id(slot);
        if (v.size == size && (size == 0 || std::memcmp(v.data, data, size) == 0)) return slot;
      }
      i = (i + 1) & mask_;
    }
  }
  // The slot of an id, interning it first if it is new (its key then reads as not ranked).
  uint32_t intern(const uint8_t* data, size_t size) { return intern(data, size, hash(data, size)); }
  uint32_t intern(const uint8_t* data, size_t size, uint64_t h);
  // Starts loading the table entry where the search for hash h begins.
  void prefetchBucket(uint64_t h) const { __builtin_prefetch(&table_[h & mask_]); }
  // The id behind a slot below count().
  IdView id(uint32_t slot) const {
    const SlotRecord& r = recs_[slot];
    if (r.size != kOutOfLine) return {r.bytes, r.size};
    uint32_t ref;
    std::memcpy(&ref, r.bytes, sizeof ref);
    const uint8_t* p = chunks_[ref >> kOffsetBits] + (ref & (kChunkSize - 1));
    size_t size = p[0];
    if (size < 0x80) return {p + 1, size};
    size = (size & 0x7f) | (static_cast<size_t>(p[1] & 0x7f) << 7);
    if (p[1] < 0x80) return {p + 2, size};
    size |= static_cast<size_t>(p[2]) << 14;
    return {p + 3, size};
  }
  // The sort key of a slot below count() (NaN score when it was never set).
  SlotKey& key(uint32_t slot) { return recs_[slot].key; }
  const SlotKey& key(uint32_t slot) const { return recs_[slot].key; }
  // Starts loading a slot's record (key and short id) into the cache.
  void prefetch(uint32_t slot) const { __builtin_prefetch(&recs_[slot]); }
  // The hash the table files an id under.
  static uint64_t hash(const uint8_t* data, size_t size) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (size * 0xff51afd7ed558ccdull);
    while (size >= 8) {
      uint64_t k;
      std::memcpy(&k, data, 8);
      h = (h ^ k) * 0xc4ceb9fe1a85ec53ull;
      h ^= h >> 31;
      data += 8;
      size -= 8;
    }
    uint64_t k = 0;
    if (size > 0) std::memcpy(&k, data, size);
    h = (h ^ k) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
  }
  // Number of interned ids (the next slot).
  uint32_t count() const { return count_; }
  // Makes room for `n` ids in all, so that interning them grows nothing on the way.
  void reserve(size_t n);

 private:
  // Ids up to this many bytes live in the record itself.
  static constexpr size_t kInlineBytes = 15;
  static constexpr uint8_t kOutOfLine = 0xff;
  struct SlotRecord {
    SlotKey key;
    uint8_t size;                 // the id's length, or kOutOfLine
    uint8_t bytes[kInlineBytes];  // the id, or (out of line) its 32-bit chunk reference
  };
  static_assert(sizeof(SlotRecord) == 32, "two records per cache line, none straddling two");

  static constexpr int kOffsetBits = 18;
  static constexpr size_t kChunkSize = size_t{1} << kOffsetBits;
  // Chunks start small and double up to kChunkSize, so that a hunt of a few players takes a few
  // kilobytes; an id longer than the next chunk gets a chunk of kChunkSize.
  static constexpr size_t kFirstChunkSize = 2048;

  // The fingerprint bits of an entry: the hash's high half above the bits that hold slot + 1 (the
  // table index uses the low half, so the two are independent).
  uint32_t fingerprint(uint64_t h) const {
    return static_cast<uint32_t>(h >> 32) & ~static_cast<uint32_t>(mask_);
  }
  uint32_t store(const uint8_t* data, size_t size);
  void rehash(size_t capacity);

  Accounting& acct_;
  uint32_t* table_ = nullptr;  // 0 = empty, else slot + 1
  size_t mask_ = 0;
  uint32_t count_ = 0;
  PagedArray<SlotRecord> recs_;
  uint8_t** chunks_ = nullptr;
  size_t chunkCount_ = 0;
  size_t chunkCap_ = 0;
  uint32_t* chunkSizes_ = nullptr;  // bytes of each chunk
  size_t chunkUsed_ = 0;            // bytes used in the newest chunk
};

}  // namespace cairn
