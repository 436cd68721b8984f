// Memory accounting, the fixed-size block arena and paged per-slot arrays the rank index lives in.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace cairn {

// What every index in the process holds and has allocated, added up as it happens, so that an
// engine with thousands of boards reads its native memory in one call rather than one per board.
// Atomic, since worker threads may hold indexes too; relaxed, since nothing is ordered by them.
inline std::atomic<size_t> processBytes{0};
inline std::atomic<size_t> processAllocations{0};

// Every byte the index takes from the C++ heap goes through one Accounting, so `stats()` is exact
// and a test can check that steady-state updates allocate nothing.
class Accounting {
 public:
  void* allocate(size_t n) {
    // 64-byte alignment keeps a 512-byte leaf on exactly eight cache lines.
    size_t rounded = (n + 63) & ~static_cast<size_t>(63);
    void* p = std::aligned_alloc(64, rounded);
    if (p == nullptr) std::abort();  // out of memory: nothing sensible is left to do
    ++allocations_;
    bytes_ += rounded;
    processAllocations.fetch_add(1, std::memory_order_relaxed);
    processBytes.fetch_add(rounded, std::memory_order_relaxed);
    return p;
  }
  void release(void* p, size_t n) {
    if (p == nullptr) return;
    std::free(p);
    size_t rounded = (n + 63) & ~static_cast<size_t>(63);
    bytes_ -= rounded;
    processBytes.fetch_sub(rounded, std::memory_order_relaxed);
  }
  size_t bytes() const { return bytes_; }
  size_t allocations() const { return allocations_; }

 private:
  size_t bytes_ = 0;
  size_t allocations_ = 0;
};

// Fixed-size blocks carved from slabs. A freed block goes on an intrusive free list and is reused
// before a new slab is taken, so a structure that frees as much as it takes allocates nothing.
class BlockArena {
 public:
  BlockArena(Accounting& acct, size_t blockSize)
      : acct_(acct), blockSize_((std::max(blockSize, sizeof(void*)) + 63) & ~static_cast<size_t>(63)) {}
  ~BlockArena() {
    Slab* s = slabs_;
    while (s != nullptr) {
      Slab* next = s->next;
      acct_.release(s, sizeof(Slab) + s->blocks * blockSize_);
      s = next;
    }
  }
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  void* take() {
    void* b;
    if (free_ != nullptr) {
      b = free_;
      free_ = *static_cast<void**>(free_);
    } else {
      if (bump_ == bumpEnd_) grow(std::max<size_t>(64, capacity_ / 4));
      b = bump_;
      bump_ += blockSize_;
    }
    ++live_;
    return b;
  }
  void give(void* b) {
    *static_cast<void**>(b) = free_;
    free_ = b;
    --live_;
  }
  // Makes sure at least `blocks` blocks exist in total. Small structures take small slabs; a growing
  // one takes at least a quarter more each time, so the number of slabs stays logarithmic.
  void reserve(size_t blocks) {
    if (capacity_ >= blocks) return;
    grow(std::max<size_t>(blocks - capacity_, capacity_ / 4));
  }
  size_t live() const { return live_; }
  size_t capacity() const { return capacity_; }

 private:
  struct alignas(64) Slab {
    Slab* next;
    size_t blocks;
  };
  void grow(size_t blocks) {
    // Blocks still in the bump range of the old slab go on the free list so none are lost.
    while (bump_ != bumpEnd_) {
      *reinterpret_cast<void**>(bump_) = free_;
      free_ = bump_;
      bump_ += blockSize_;
    }
    auto* s = static_cast<Slab*>(acct_.allocate(sizeof(Slab) + blocks * blockSize_));
    s->next = slabs_;
    s->blocks = blocks;
    slabs_ = s;
    bump_ = reinterpret_cast<char*>(s + 1);
    bumpEnd_ = bump_ + blocks * blockSize_;
    capacity_ += blocks;
  }

  Accounting& acct_;
  size_t blockSize_;
  Slab* slabs_ = nullptr;
  void* free_ = nullptr;
  char* bump_ = nullptr;
  char* bumpEnd_ = nullptr;
  size_t capacity_ = 0;
  size_t live_ = 0;
};

// A growable array addressed by slot, stored in pages so that growing past the first page never
// copies the elements and never needs twice the memory; only the small page table is reallocated.
// The first page starts small and grows by half (copying, while it is small), so that an array of a
// few elements takes a few hundred bytes and a board of 20 players room for 24, not 32: no
// reference to an element may be held across `ensure`.
template <typename T, int PageBits = 12>
class PagedArray {
 public:
  static constexpr size_t kPage = size_t{1} << PageBits;
  static constexpr size_t kFirstPage = 16;
  explicit PagedArray(Accounting& acct) : acct_(acct) {}
  ~PagedArray() {
    for (size_t i = 0; i < pageCount_; ++i) acct_.release(pages_[i], (i == 0 ? firstCap_ : kPage) * sizeof(T));
    acct_.release(pages_, pageCap_ * sizeof(T*));
  }
  PagedArray(const PagedArray&) = delete;
  PagedArray& operator=(const PagedArray&) = delete;

  T& operator[](size_t i) { return pages_[i >> PageBits][i & (kPage - 1)]; }
  const T& operator[](size_t i) const { return pages_[i >> PageBits][i & (kPage - 1)]; }
  // Makes elements [0, n) addressable.
  void ensure(size_t n) {
    if (n <= firstCap_) return;
    if (firstCap_ < kPage) growFirst(std::min(n, kPage));
    while (pageCount_ * kPage < n) {
      if (pageCount_ == pageCap_) {
        size_t cap = std::max<size_t>(8, pageCap_ * 2);
        auto** table = static_cast<T**>(acct_.allocate(cap * sizeof(T*)));
        if (pageCount_ > 0) std::memcpy(table, pages_, pageCount_ * sizeof(T*));
        acct_.release(pages_, pageCap_ * sizeof(T*));
        pages_ = table;
        pageCap_ = cap;
      }
      pages_[pageCount_++] = static_cast<T*>(acct_.allocate(kPage * sizeof(T)));
    }
  }

 private:
  // Makes the first page hold at least `n` (<= kPage) elements, growing it by half and copying what
  // it held.
  // It reaches kPage before any other page is added.
  void growFirst(size_t n) {
    size_t cap = firstCap_ == 0 ? kFirstPage : firstCap_;
    while (cap < n) cap += cap / 2;
    cap = std::min(cap, kPage);
    auto* page = static_cast<T*>(acct_.allocate(cap * sizeof(T)));
    if (pageCount_ == 0) {
      pages_ = static_cast<T**>(acct_.allocate(8 * sizeof(T*)));
      pageCap_ = 8;
      pageCount_ = 1;
    } else {
      std::memcpy(page, pages_[0], firstCap_ * sizeof(T));
      acct_.release(pages_[0], firstCap_ * sizeof(T));
    }
    pages_[0] = page;
    firstCap_ = cap;
  }

  Accounting& acct_;
  T** pages_ = nullptr;
  size_t pageCount_ = 0;
  size_t pageCap_ = 0;
  size_t firstCap_ = 0;  // elements of the first page (kPage once it is full size)
};

}  // namespace cairn
