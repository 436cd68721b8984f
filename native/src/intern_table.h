// Player-id interning: ids (UTF-8 bytes) to dense slots 0, 1, 2, ... and back, arena-backed.
#pragma once

#include <cstddef>
#include <cstdint>

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

// Maps ids to slots with an open-addressing table of slot numbers; the id bytes live in 256 KiB
// chunks (length-prefixed), found from a slot through a 32-bit reference (chunk, offset).
class InternTable {
 public:
  explicit InternTable(Accounting& acct);
  ~InternTable();
  InternTable(const InternTable&) = delete;
  InternTable& operator=(const InternTable&) = delete;

  // The slot of an id, or -1.
  int64_t find(const uint8_t* data, size_t size) const;
  // The slot of an id, interning it first if it is new (sets `added`).
  uint32_t intern(const uint8_t* data, size_t size, bool* added);
  // The id behind a slot below count().
  IdView id(uint32_t slot) const {
    uint32_t ref = refs_[slot];
    const uint8_t* p = chunks_[ref >> kOffsetBits] + (ref & (kChunkSize - 1));
    size_t size = p[0];
    if (size < 0x80) return {p + 1, size};
    size = (size & 0x7f) | (static_cast<size_t>(p[1] & 0x7f) << 7);
    if (p[1] < 0x80) return {p + 2, size};
    size |= static_cast<size_t>(p[2]) << 14;
    return {p + 3, size};
  }
  // Number of interned ids (the next slot).
  uint32_t count() const { return count_; }

 private:
  static constexpr int kOffsetBits = 18;
  static constexpr size_t kChunkSize = size_t{1} << kOffsetBits;

  static uint64_t hash(const uint8_t* data, size_t size);
  uint32_t store(const uint8_t* data, size_t size);
  void rehash(size_t capacity);

  Accounting& acct_;
  uint32_t* table_ = nullptr;  // 0 = empty, else slot + 1
  size_t mask_ = 0;
  uint32_t count_ = 0;
  PagedArray<uint32_t> refs_;
  uint8_t** chunks_ = nullptr;
  size_t chunkCount_ = 0;
  size_t chunkCap_ = 0;
  size_t chunkUsed_ = kChunkSize;  // bytes used in the newest chunk
};

}  // namespace cairn
