// Player-id interning: an open-addressing hash table of slots over length-prefixed id chunks.
#include "intern_table.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace cairn {

// 32 entries hold 22 ids before the first rehash (70% full): a board of 20 players never grows its table.
InternTable::InternTable(Accounting& acct) : acct_(acct), recs_(acct) { rehash(32); }

InternTable::~InternTable() {
  acct_.release(table_, (mask_ + 1) * sizeof(uint32_t));
  for (size_t i = 0; i < chunkCount_; ++i) acct_.release(chunks_[i], chunkSizes_[i]);
  acct_.release(chunks_, chunkCap_ * sizeof(uint8_t*));
  acct_.release(chunkSizes_, chunkCap_ * sizeof(uint32_t));
}

uint32_t InternTable::intern(const uint8_t* data, size_t size, uint64_t h) {
  size_t i = h & mask_;
  uint32_t fp = fingerprint(h);
  uint32_t low = static_cast<uint32_t>(mask_);
  for (;;) {
    uint32_t e = table_[i];
    if (e == 0) break;
    if ((e & ~low) == fp) {
      IdView v = id((e & low) - 1);
      if (v.size == size && (size == 0 || std::memcmp(v.data, data, size) == 0)) {
        return (e & low) - 1;
      }
    }
    i = (i + 1) & mask_;
  }
  uint32_t slot = count_;
  recs_.ensure(static_cast<size_t>(slot) + 1);
  SlotRecord& r = recs_[slot];
  r.key = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  if (size <= kInlineBytes) {
    r.size = static_cast<uint8_t>(size);
    if (size > 0) std::memcpy(r.bytes, data, size);
  } else {
    r.size = kOutOfLine;
    uint32_t ref = store(data, size);
    std::memcpy(r.bytes, &ref, sizeof ref);
  }
  table_[i] = (slot + 1) | fp;
  ++count_;
  // Keep the load at or below 0.7 so probes stay short.
  if (static_cast<size_t>(count_) * 10 > (mask_ + 1) * 7) rehash((mask_ + 1) * 2);
  return slot;
}

uint32_t InternTable::store(const uint8_t* data, size_t size) {
  size_t need = size + (size < 0x80 ? 1 : size < 0x4000 ? 2 : 3);
  if (chunkCount_ == 0 || chunkUsed_ + need > chunkSizes_[chunkCount_ - 1]) {
    // A reference holds the chunk number in 32 - kOffsetBits bits: 4 GiB of ids longer than 15 bytes.
    // Past that a reference would wrap to another id's bytes; stop instead, as on running out of memory.
    if (chunkCount_ >= (size_t{1} << (32 - kOffsetBits))) std::abort();
    if (chunkCount_ == chunkCap_) {
      size_t cap = chunkCap_ == 0 ? 8 : chunkCap_ * 2;
      auto** list = static_cast<uint8_t**>(acct_.allocate(cap * sizeof(uint8_t*)));
      auto* sizes = static_cast<uint32_t*>(acct_.allocate(cap * sizeof(uint32_t)));
      if (chunkCount_ > 0) {
        std::memcpy(list, chunks_, chunkCount_ * sizeof(uint8_t*));
        std::memcpy(sizes, chunkSizes_, chunkCount_ * sizeof(uint32_t));
      }
      acct_.release(chunks_, chunkCap_ * sizeof(uint8_t*));
      acct_.release(chunkSizes_, chunkCap_ * sizeof(uint32_t));
      chunks_ = list;
      chunkSizes_ = sizes;
      chunkCap_ = cap;
    }
    size_t bytes = chunkCount_ >= 7 ? kChunkSize : std::min(kChunkSize, kFirstChunkSize << chunkCount_);
    if (bytes < need) bytes = kChunkSize;  // need <= kMaxIdBytes + 3 < kChunkSize
    chunkSizes_[chunkCount_] = static_cast<uint32_t>(bytes);
    chunks_[chunkCount_++] = static_cast<uint8_t*>(acct_.allocate(bytes));
    chunkUsed_ = 0;
  }
  uint8_t* p = chunks_[chunkCount_ - 1] + chunkUsed_;
  uint32_t ref = static_cast<uint32_t>(((chunkCount_ - 1) << kOffsetBits) | chunkUsed_);
  if (size < 0x80) {
    *p++ = static_cast<uint8_t>(size);
  } else if (size < 0x4000) {
    *p++ = static_cast<uint8_t>(0x80 | (size & 0x7f));
    *p++ = static_cast<uint8_t>(size >> 7);
  } else {
    *p++ = static_cast<uint8_t>(0x80 | (size & 0x7f));
    *p++ = static_cast<uint8_t>(0x80 | ((size >> 7) & 0x7f));
    *p++ = static_cast<uint8_t>(size >> 14);
  }
  if (size > 0) std::memcpy(p, data, size);
  chunkUsed_ += need;
  return ref;
}

void InternTable::reserve(size_t n) {
  size_t capacity = mask_ + 1;
  while (n * 10 > capacity * 7) capacity *= 2;
  if (capacity != mask_ + 1) rehash(capacity);
  recs_.ensure(n);
}

void InternTable::rehash(size_t capacity) {
  // Entries keep slot + 1 below the table size, so the table never outgrows 32-bit entries.
  if (capacity > (size_t{1} << 32)) std::abort();
  auto* table = static_cast<uint32_t*>(acct_.allocate(capacity * sizeof(uint32_t)));
  std::memset(table, 0, capacity * sizeof(uint32_t));
  size_t oldMask = mask_;
  mask_ = capacity - 1;
  for (uint32_t slot = 0; slot < count_; ++slot) {
    IdView v = id(slot);
    uint64_t h = hash(v.data, v.size);
    size_t i = h & mask_;
    while (table[i] != 0) i = (i + 1) & mask_;
    table[i] = (slot + 1) | fingerprint(h);
  }
  acct_.release(table_, (oldMask + 1) * sizeof(uint32_t));
  table_ = table;
}

}  // namespace cairn
