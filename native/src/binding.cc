// The N-API glue for the rank index: argument checks, id conversion and typed-array access only.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "rank_index.h"

namespace {

constexpr double kMaxSafe = 9007199254740991.0;

class NativeIndex;

// The live indexes of one JS environment, by handle. A call names its index by handle (an index into
// this table, checked), so the methods are plain functions made once per environment rather than
// per index, and a handle that names no live index is refused instead of read as a pointer.
class HandleTable {
 public:
  uint32_t add(NativeIndex* index) {
    if (!free_.empty()) {
      uint32_t h = free_.back();
      free_.pop_back();
      slots_[h] = index;
      return h;
    }
    slots_.push_back(index);
    return static_cast<uint32_t>(slots_.size() - 1);
  }
  void remove(uint32_t h) {
    slots_[h] = nullptr;
    free_.push_back(h);
  }
  NativeIndex* get(uint32_t h) const { return h < slots_.size() ? slots_[h] : nullptr; }

 private:
  std::vector<NativeIndex*> slots_;
  std::vector<uint32_t> free_;
};

// Per JS environment (worker threads each get their own): one id buffer, so converting an id never
// allocates, and the table of live indexes. An index shares ownership of the table, so that its
// finalizer may run after the environment's data is gone.
struct EnvData {
  char id[cairn::kMaxIdBytes + 8];
  std::string ids;  // the concatenated ids of a top() call, reused between calls
  std::shared_ptr<HandleTable> handles = std::make_shared<HandleTable>();
};

// Formats a number the way JS prints it in the common cases (integers, NaN, Infinity).
std::string number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  if (std::trunc(d) == d && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", d);
  }
  return buf;
}

std::string describe(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  switch (t) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "a boolean";
    case napi_string:
      return "a string";
    case napi_symbol:
      return "a symbol";
    case napi_object:
      return "an object";
    case napi_function:
      return "a function";
    case napi_bigint:
      return "a bigint";
    case napi_number: {
      double d;
      napi_get_value_double(env, v, &d);
      return number(d);
    }
    default:
      return "a value of another type";
  }
}

bool fail(napi_env env, bool range, const std::string& message) {
  if (range) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message.c_str());
  } else {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message.c_str());
  }
  return false;
}

bool isSafeInteger(double d) { return std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= kMaxSafe; }

// Reads a safe-integer argument (scores and tiebreaks).
bool safeInteger(napi_env env, napi_value v, const char* name, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    return fail(env, false, std::string(name) + " must be a number, got " + describe(env, v));
  }
  if (!isSafeInteger(*out)) {
    return fail(env, true, std::string(name) + " must be a safe integer, got " + number(*out));
  }
  return true;
}

// Reads a non-negative integer argument (counts, offsets); huge values are allowed and clamp later.
bool nonNegative(napi_env env, napi_value v, const char* name, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    return fail(env, false, std::string(name) + " must be a number, got " + describe(env, v));
  }
  if (!(*out >= 0) || !std::isfinite(*out) || std::trunc(*out) != *out) {
    return fail(env, true, std::string(name) + " must be a non-negative integer, got " + number(*out));
  }
  return true;
}

// A typed array argument of one exact type, read in place.
template <typename T>
bool typedArray(napi_env env, napi_value v, napi_typedarray_type want, const char* name, const char* typeName,
                T** data, size_t* length) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  void* p = nullptr;
  if (is) napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr);
  if (!is || type != want) {
    return fail(env, false, std::string(name) + " must be a " + typeName + ", got " + describe(env, v));
  }
  *data = static_cast<T*>(p);
  return true;
}

class NativeIndex : public Napi::ObjectWrap<NativeIndex> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "NativeRankIndexCore", {}); }

  // The functions every index is used through: f(handle, ...arguments).
  static void DefineMethods(napi_env env, napi_value exports, EnvData* data) {
    napi_property_descriptor methods[] = {
        method<&NativeIndex::Upsert>(env, data, "upsert"),
        method<&NativeIndex::Intern>(env, data, "intern"),
        method<&NativeIndex::InternUtf8>(env, data, "internUtf8"),
        method<&NativeIndex::SlotOf>(env, data, "slotOf"),
        method<&NativeIndex::PlayerIdOf>(env, data, "playerIdOf"),
        method<&NativeIndex::Remove>(env, data, "remove"),
        method<&NativeIndex::Rank>(env, data, "rank"),
        method<&NativeIndex::Score>(env, data, "score"),
        method<&NativeIndex::Size>(env, data, "size"),
        method<&NativeIndex::Top>(env, data, "top"),
        method<&NativeIndex::TopSlots>(env, data, "topSlots"),
        method<&NativeIndex::ApplyBatch>(env, data, "applyBatch"),
        method<&NativeIndex::Serialize>(env, data, "serialize"),
        method<&NativeIndex::SerializeInto>(env, data, "serializeInto"),
        method<&NativeIndex::WriteRecords>(env, data, "writeRecords"),
        method<&NativeIndex::WriteTopJson>(env, data, "writeTopJson"),
        method<&NativeIndex::Load>(env, data, "load"),
        method<&NativeIndex::Clear>(env, data, "clear"),
        method<&NativeIndex::Stats>(env, data, "stats"),
    };
    napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  }

  ~NativeIndex() override {
    if (handles_) handles_->remove(handle_);
  }

  // new NativeRankIndexCore(scratch: Int32Array(>= 2), scores: Float64Array(>= 3)): results that are
  // not a single number come back through these two arrays rather than through new JS objects. The
  // instance's `handle` names it in calls; the instance owns the index, so keep it while calling.
  explicit NativeIndex(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeIndex>(info) {
    Napi::Env env = info.Env();
    env_ = env.GetInstanceData<EnvData>();
    index_ = std::make_unique<cairn::RankIndex>();
    if (info.Length() < 2 ||
        !typedArray(env, info[0], napi_int32_array, "scratch", "Int32Array", &scratch_, &scratchLen_)) {
      if (info.Length() < 2) fail(env, false, "scratch must be an Int32Array, got undefined");
      return;
    }
    if (scratchLen_ < 2) {
      fail(env, true, "scratch must have at least 2 elements");
      return;
    }
    if (!typedArray(env, info[1], napi_float64_array, "scores", "Float64Array", &scores_, &scoresLen_))
      return;
    if (scoresLen_ < 3) {
      fail(env, true, "scores must have at least 3 elements");
      return;
    }
    scratchRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    scoresRef_ = Napi::Persistent(info[1].As<Napi::Object>());
    // Only a fully made index gets a handle.
    handles_ = env_->handles;
    handle_ = handles_->add(this);
    napi_value handle;
    napi_create_uint32(env, handle_, &handle);
    napi_property_descriptor prop = {"handle", nullptr, nullptr, nullptr, nullptr, handle, napi_enumerable, nullptr};
    napi_define_properties(env, info.This(), 1, &prop);
  }

 private:
  // Copies a JS string argument's UTF-8 bytes into the environment's id buffer.
  bool id(napi_env env, napi_value v, size_t* size) {
    if (napi_get_value_string_utf8(env, v, env_->id, sizeof env_->id, size) != napi_ok) {
      return fail(env, false, "playerId must be a string, got " + describe(env, v));
    }
    // A copy that filled the buffer may have been cut; either way the id is too long.
    if (*size > cairn::kMaxIdBytes) {
      return fail(env, true,
                  "playerId must be at most " + std::to_string(cairn::kMaxIdBytes) + " UTF-8 bytes");
    }
    return true;
  }
  const uint8_t* idBytes() const { return reinterpret_cast<const uint8_t*>(env_->id); }

  bool slot(napi_env env, napi_value v, const char* name, uint32_t* out) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) {
      return fail(env, false, std::string(name) + " must be a number, got " + describe(env, v));
    }
    if (!(d >= 0 && d < index_->internedCount() && std::trunc(d) == d)) {
      return fail(env, true, std::string(name) + " " + number(d) + " is not an interned slot");
    }
    *out = static_cast<uint32_t>(d);
    return true;
  }

  static napi_value num(napi_env env, double d) {
    napi_value v;
    napi_create_double(env, d, &v);
    return v;
  }

  // The methods are plain N-API functions made once per environment, not per index (a function per
  // method on every instance cost about 11 KB of heap per board, which a platform's thousands of small
  // hunts pay many times over), and they skip ObjectWrap's CallbackInfo and unwrapping: the first
  // argument is the index's handle, checked against the table of live indexes.
  static constexpr size_t kMaxArgs = 7;
  using Method = napi_value (NativeIndex::*)(napi_env, const napi_value*);
  template <Method M>
  static napi_value Fast(napi_env env, napi_callback_info cb) {
    size_t argc = kMaxArgs + 1;
    napi_value argv[kMaxArgs + 1];  // arguments not passed read as undefined
    void* data;
    napi_get_cb_info(env, cb, &argc, argv, nullptr, &data);
    double h;  // read exactly: napi_get_value_uint32 would take NaN, 0.7 or 2**32 for 0
    NativeIndex* index = nullptr;
    if (napi_get_value_double(env, argv[0], &h) == napi_ok && h >= 0 && h < 4294967296.0 && std::trunc(h) == h)
      index = static_cast<EnvData*>(data)->handles->get(static_cast<uint32_t>(h));
    if (index == nullptr) {
      fail(env, false, "handle must name a live NativeRankIndexCore, got " + describe(env, argv[0]));
      return nullptr;
    }
    return (index->*M)(env, argv + 1);
  }
  template <Method M>
  static napi_property_descriptor method(napi_env env, EnvData* data, const char* name) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, &Fast<M>, data, &fn);
    return {name, nullptr, nullptr, nullptr, nullptr, fn, napi_default, nullptr};
  }
  static napi_value undefined(napi_env env) {
    napi_value v;
    napi_get_undefined(env, &v);
    return v;
  }

  // upsert(id, score, tiebreak) -> rank; the previous rank goes to scratch[0].
  napi_value Upsert(napi_env env, const napi_value* argv) {
    size_t size;
    double score, tiebreak;
    if (!id(env, argv[0], &size) || !safeInteger(env, argv[1], "score", &score) ||
        !safeInteger(env, argv[2], "tiebreak", &tiebreak)) {
      return nullptr;
    }
    size_t rank, prev;
    index_->upsertId(idBytes(), size, score, tiebreak, &rank, &prev);
    scratch_[0] = static_cast<int32_t>(prev);
    return num(env, static_cast<double>(rank));
  }

  napi_value Intern(napi_env env, const napi_value* argv) {
    size_t size;
    if (!id(env, argv[0], &size)) return nullptr;
    return num(env, index_->intern(idBytes(), size));
  }

  // internUtf8(bytes: Uint8Array, spans: Uint32Array, out: Uint32Array): out[i] = the slot of the id
  // whose UTF-8 bytes are bytes[spans[2i], spans[2i] + spans[2i+1]), interned if new. One call, and no
  // string, for a restored hunt's players (a million of them), read straight from its snapshot.
  napi_value InternUtf8(napi_env env, const napi_value* argv) {
    const uint8_t* bytes;
    const uint32_t* spans;
    uint32_t* out;
    size_t size, spansLen, outLen;
    if (!typedArray(env, argv[0], napi_uint8_array, "bytes", "Uint8Array", &bytes, &size) ||
        !typedArray(env, argv[1], napi_uint32_array, "spans", "Uint32Array", &spans, &spansLen) ||
        !typedArray(env, argv[2], napi_uint32_array, "out", "Uint32Array", &out, &outLen)) {
      return nullptr;
    }
    size_t n = spansLen / 2;
    if (spansLen % 2 != 0 || outLen < n) {
      fail(env, true, spansLen % 2 != 0 ? "spans must hold (offset, length) pairs, got " + std::to_string(spansLen)
                                        : "out must hold a slot for each id, got " + std::to_string(outLen));
      return nullptr;
    }
    for (size_t i = 0; i < n; ++i) {
      size_t at = spans[2 * i], len = spans[2 * i + 1];
      if (at > size || len > size - at || len > cairn::kMaxIdBytes || !cairn::validUtf8(bytes + at, len)) {
        fail(env, true, "id " + std::to_string(i) + " is not a player id's UTF-8 bytes within bytes");
        return nullptr;
      }
      out[i] = index_->intern(bytes + at, len);
    }
    return undefined(env);
  }

  napi_value SlotOf(napi_env env, const napi_value* argv) {
    size_t size;
    if (!id(env, argv[0], &size)) return nullptr;
    return num(env, static_cast<double>(index_->slotOf(idBytes(), size)));
  }

  napi_value PlayerIdOf(napi_env env, const napi_value* argv) {
    uint32_t s;
    if (!slot(env, argv[0], "slot", &s)) return nullptr;
    cairn::IdView v = index_->idOf(s);
    napi_value str;
    napi_create_string_utf8(env, reinterpret_cast<const char*>(v.data), v.size, &str);
    return str;
  }

  napi_value Remove(napi_env env, const napi_value* argv) {
    size_t size;
    if (!id(env, argv[0], &size)) return nullptr;
    int64_t s = index_->slotOf(idBytes(), size);
    return num(env, s < 0 ? 0 : static_cast<double>(index_->remove(static_cast<uint32_t>(s))));
  }

  napi_value Rank(napi_env env, const napi_value* argv) {
    size_t size;
    if (!id(env, argv[0], &size)) return nullptr;
    int64_t s = index_->slotOf(idBytes(), size);
    return num(env, s < 0 ? 0 : static_cast<double>(index_->rank(static_cast<uint32_t>(s))));
  }

  napi_value Score(napi_env env, const napi_value* argv) {
    size_t size;
    if (!id(env, argv[0], &size)) return nullptr;
    int64_t s = index_->slotOf(idBytes(), size);
    if (s < 0 || !index_->ranked(static_cast<uint32_t>(s))) return undefined(env);
    return num(env, index_->score(static_cast<uint32_t>(s)));
  }

  napi_value Size(napi_env env, const napi_value*) { return num(env, static_cast<double>(index_->size())); }

  // The ranks top() and topSlots() read: checks (n, offset) and clamps them to the index, so that
  // ranks from+1 .. from+count exist and fit the scratch arrays. False after raising the JS error.
  bool rankRange(napi_env env, const napi_value* argv, size_t* from, size_t* count) {
    double n, offset;
    if (!nonNegative(env, argv[0], "n", &n) || !nonNegative(env, argv[1], "offset", &offset)) {
      return false;
    }
    size_t limit = std::min(scoresLen_, scratchLen_);
    if (n > static_cast<double>(limit)) {
      fail(env, true, "n must be at most " + std::to_string(limit) + " per native call");
      return false;
    }
    size_t size = index_->size();
    *from = offset >= static_cast<double>(size) ? size : static_cast<size_t>(offset);
    *count = std::min(static_cast<size_t>(n), size - *from);
    return true;
  }

  // top(n, offset) -> the ids of ranks offset+1 .. offset+n concatenated into one string; each id's
  // length in UTF-16 units goes to scratch[i] and its score to scores[i]. One string is much cheaper
  // to hand over than n of them.
  napi_value Top(napi_env env, const napi_value* argv) {
    size_t from, count;
    if (!rankRange(env, argv, &from, &count)) return nullptr;
    std::string& out = env_->ids;
    out.clear();
    size_t i = 0;
    index_->visit(from, count, [&](uint32_t s) {
      cairn::IdView v = index_->idOf(s);
      int32_t units = 0;
      for (size_t b = 0; b < v.size; ++b) {
        uint8_t c = v.data[b];
        units += (c & 0xc0) != 0x80 ? (c >= 0xf0 ? 2 : 1) : 0;
      }
      out.append(reinterpret_cast<const char*>(v.data), v.size);
      scratch_[i] = units;
      scores_[i] = index_->score(s);
      ++i;
    });
    napi_value str;
    napi_create_string_utf8(env, out.data(), out.size(), &str);
    return str;
  }

  // topSlots(n, offset) -> count: the slots of ranks offset+1 .. offset+count go to scratch[i] (read
  // them as unsigned) and their scores to scores[i]. No strings: the caller keeps the ids of the
  // best ranks in a small cache by slot (a slot's id never changes).
  napi_value TopSlots(napi_env env, const napi_value* argv) {
    size_t from, count;
    if (!rankRange(env, argv, &from, &count)) return nullptr;
    size_t i = 0;
    index_->visit(from, count, [&](uint32_t s) {
      scratch_[i] = static_cast<int32_t>(s);
      scores_[i] = index_->score(s);
      ++i;
    });
    return num(env, static_cast<double>(i));
  }

  // applyBatch(ops, slots, scores, tiebreaks, count, out): checks the whole batch, then applies it.
  napi_value ApplyBatch(napi_env env, const napi_value* argv) {
    const uint8_t* ops;
    const uint32_t* slots;
    const double* scores;
    const double* tiebreaks;
    int32_t* out;
    size_t opsLen, slotsLen, scoresLen, tbLen, outLen;
    double countD;
    if (!typedArray(env, argv[0], napi_uint8_array, "ops", "Uint8Array", &ops, &opsLen) ||
        !typedArray(env, argv[1], napi_uint32_array, "slots", "Uint32Array", &slots, &slotsLen) ||
        !typedArray(env, argv[2], napi_float64_array, "scores", "Float64Array", &scores, &scoresLen) ||
        !typedArray(env, argv[3], napi_float64_array, "tiebreaks", "Float64Array", &tiebreaks, &tbLen) ||
        !nonNegative(env, argv[4], "count", &countD) ||
        !typedArray(env, argv[5], napi_int32_array, "out", "Int32Array", &out, &outLen)) {
      return nullptr;
    }
    auto tooShort = [&](const char* name, size_t have, double need) {
      fail(env, true,
           std::string(name) + " has " + std::to_string(have) + " elements but count needs " + number(need));
      return nullptr;
    };
    if (countD > static_cast<double>(opsLen)) return tooShort("ops", opsLen, countD);
    size_t count = static_cast<size_t>(countD);
    if (slotsLen < count) return tooShort("slots", slotsLen, countD);
    if (scoresLen < count) return tooShort("scores", scoresLen, countD);
    if (tbLen < count) return tooShort("tiebreaks", tbLen, countD);
    if (outLen / 2 < count) return tooShort("out", outLen, 2 * countD);
    uint32_t interned = index_->internedCount();
    for (size_t i = 0; i < count; ++i) {
      if (ops[i] > 1) {
        fail(env, true,
             "ops[" + std::to_string(i) + "] must be OP_UPSERT (0) or OP_REMOVE (1), got " +
                 std::to_string(ops[i]));
        return nullptr;
      }
      if (slots[i] >= interned) {
        fail(env, true,
             "slots[" + std::to_string(i) + "] " + std::to_string(slots[i]) + " is not an interned slot");
        return nullptr;
      }
      if (ops[i] == 0 && !isSafeInteger(scores[i])) {
        fail(env, true, "scores[" + std::to_string(i) + "] must be a safe integer, got " + number(scores[i]));
        return nullptr;
      }
      if (ops[i] == 0 && !isSafeInteger(tiebreaks[i])) {
        fail(env, true,
             "tiebreaks[" + std::to_string(i) + "] must be a safe integer, got " + number(tiebreaks[i]));
        return nullptr;
      }
    }
    index_->applyBatch(ops, slots, scores, tiebreaks, count, out);
    return undefined(env);
  }

  napi_value Serialize(napi_env env, const napi_value*) {
    size_t size = index_->serializedSize();
    // A Buffer's memory is not zeroed first (an ArrayBuffer's is): every byte is written below.
    Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, size);
    if (buffer.IsEmpty()) return nullptr;  // not allocated: the exception is pending
    const size_t written = index_->serialize(buffer.Data());
    if (written != size) {
      std::string message = "internal error: the board's bytes came to " + std::to_string(written) +
                            ", not the " + std::to_string(size) + " counted";
      napi_throw_error(env, "ERR_INTERNAL_ASSERTION", message.c_str());
      return nullptr;
    }
    return Napi::Uint8Array::New(env, size, buffer.ArrayBuffer(), buffer.ByteOffset());
  }

  // serializeInto(out, cursor) -> length: the serialize() bytes in parts, into a buffer the caller
  // keeps (a checkpoint's, streamed into its hash) rather than a new one each time. From where cursor
  // says (all 0 to start: [0] bytes written so far, [1] the byte offset in out, [2] the next rank,
  // [3] the CRC-32 so far), the next bytes that fit go into out from cursor[1] on, and cursor moves
  // past them; returns the serialization's length, which cursor[0] reaches when it is all written.
  napi_value SerializeInto(napi_env env, const napi_value* argv) {
    uint8_t* out;
    uint32_t* cursor;
    size_t outLen, cursorLen;
    if (!typedArray(env, argv[0], napi_uint8_array, "out", "Uint8Array", &out, &outLen) ||
        !typedArray(env, argv[1], napi_uint32_array, "cursor", "Uint32Array", &cursor, &cursorLen)) {
      return nullptr;
    }
    if (outLen > 0xffffffffu) {
      fail(env, true, "out must be shorter than 4 GiB, since cursor holds a 32-bit offset");
      return nullptr;
    }
    const size_t size = index_->serializedSize();
    if (cursorLen < 4 || cursor[0] > size || cursor[1] > outLen || cursor[2] > index_->size()) {
      fail(env, true, "cursor must be 4 zeros to start, then as the last call left it, with a byte offset within out");
      return nullptr;
    }
    cairn::RankIndex::SerializeCursor at{cursor[0], cursor[2], cursor[3]};
    size_t offset = cursor[1];
    index_->serializePart(out, outLen, &offset, &at);
    cursor[0] = static_cast<uint32_t>(at.done);
    cursor[1] = static_cast<uint32_t>(offset);
    cursor[2] = static_cast<uint32_t>(at.rank);
    cursor[3] = at.crc;
    return num(env, static_cast<double>(size));
  }

  // writeRecords(out, cursor, slots, states, scores, tiebreaks, count): from player cursor[0] on,
  // each player's record (the id of slots[i] as a u32 LE byte length and its UTF-8 bytes, then
  // states[i] as a u8, scores[i] and tiebreaks[i] as f64 LE) into out from byte cursor[1] on, whole
  // records while they fit; cursor moves past them. A hunt's player records for its canonical bytes,
  // written from the ids this table holds as bytes into the caller's buffer: no string per player
  // and no allocation at every checkpoint.
  napi_value WriteRecords(napi_env env, const napi_value* argv) {
    uint8_t* out;
    uint32_t* cursor;
    const uint32_t* slots;
    const uint8_t* states;
    const double* scores;
    const double* tiebreaks;
    size_t outLen, cursorLen, slotsLen, statesLen, scoresLen, tiebreaksLen;
    double countD;
    if (!typedArray(env, argv[0], napi_uint8_array, "out", "Uint8Array", &out, &outLen) ||
        !typedArray(env, argv[1], napi_uint32_array, "cursor", "Uint32Array", &cursor, &cursorLen) ||
        !typedArray(env, argv[2], napi_uint32_array, "slots", "Uint32Array", &slots, &slotsLen) ||
        !typedArray(env, argv[3], napi_uint8_array, "states", "Uint8Array", &states, &statesLen) ||
        !typedArray(env, argv[4], napi_float64_array, "scores", "Float64Array", &scores, &scoresLen) ||
        !typedArray(env, argv[5], napi_float64_array, "tiebreaks", "Float64Array", &tiebreaks, &tiebreaksLen) ||
        !nonNegative(env, argv[6], "count", &countD)) {
      return nullptr;
    }
    // Compared before the cast, as applyBatch's count is: the slots bound it below 2^32.
    if (countD > static_cast<double>(std::min({slotsLen, statesLen, scoresLen, tiebreaksLen}))) {
      fail(env, true, "slots, states, scores and tiebreaks must each hold count (" + number(countD) + ") entries");
      return nullptr;
    }
    const uint32_t count = static_cast<uint32_t>(countD);
    if (outLen > 0xffffffffu) {
      fail(env, true, "out must be shorter than 4 GiB, since cursor holds a 32-bit offset");
      return nullptr;
    }
    if (cursorLen < 2 || cursor[0] > count || cursor[1] > outLen) {
      fail(env, true, "cursor must hold a player (at most count) and a byte offset within out");
      return nullptr;
    }
    // The slots of the records that can fit (one takes 21 bytes at least), checked before any is
    // written; no record past them is written, nor its slot read.
    const uint32_t interned = index_->internedCount();
    const size_t fits = (outLen - cursor[1]) / 21;
    const uint32_t last = static_cast<uint32_t>(std::min<size_t>(count, cursor[0] + fits));
    for (uint32_t i = cursor[0]; i < last; ++i) {
      if (slots[i] >= interned) {
        fail(env, true, "slots[" + std::to_string(i) + "] is " + std::to_string(slots[i]) + ", which no id has");
        return nullptr;
      }
    }
    size_t next = cursor[0], at = cursor[1];
    index_->writeRecords(slots, states, scores, tiebreaks, last, out, outLen, &next, &at);
    cursor[0] = static_cast<uint32_t>(next);
    cursor[1] = static_cast<uint32_t>(at);
    return undefined(env);
  }

  // writeTopJson(out, at, n, key) -> end: the first n ranks as a JSON array of {"rank", key, "score"}
  // objects, byte for byte as JSON.stringify writes it, into out from byte `at`; -1 when it does not
  // fit (out is then scribbled on past `at`: grow it and call again). A top-N message made from the
  // ids this table holds as bytes: no string nor object per entry. key: 1 to 32 letters, digits or _,
  // not starting with a digit.
  napi_value WriteTopJson(napi_env env, const napi_value* argv) {
    uint8_t* out;
    size_t outLen;
    double at, n;
    if (!typedArray(env, argv[0], napi_uint8_array, "out", "Uint8Array", &out, &outLen) ||
        !nonNegative(env, argv[1], "at", &at) || !nonNegative(env, argv[2], "n", &n)) {
      return nullptr;
    }
    if (at > static_cast<double>(outLen)) {
      fail(env, true, "at (" + number(at) + ") must be within out (" + std::to_string(outLen) + " bytes)");
      return nullptr;
    }
    char key[40];
    size_t keyLen = 0;
    if (napi_get_value_string_utf8(env, argv[3], key, sizeof key, &keyLen) != napi_ok) {
      fail(env, false, "key must be a string, got " + describe(env, argv[3]));
      return nullptr;
    }
    // A key that starts with a digit could be an array index, which JSON.stringify would write first.
    bool plain = keyLen >= 1 && keyLen <= 32 && !(key[0] >= '0' && key[0] <= '9');
    for (size_t i = 0; plain && i < keyLen; ++i) {
      char c = key[i];
      plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }
    if (!plain) {
      fail(env, true, "key must be 1 to 32 letters, digits or underscores, starting with a letter or _");
      return nullptr;
    }
    const size_t count = std::min(static_cast<double>(index_->size()), n);
    const size_t end = index_->writeTopJson(count, key, keyLen, out, outLen, static_cast<size_t>(at));
    return num(env, end == cairn::RankIndex::kNoRoom ? -1 : static_cast<double>(end));
  }

  // load(bytes): replaces the contents with deserialised CRNK bytes, or throws and changes nothing.
  napi_value Load(napi_env env, const napi_value* argv) {
    const uint8_t* data;
    size_t size;
    if (!typedArray(env, argv[0], napi_uint8_array, "bytes", "Uint8Array", &data, &size)) return nullptr;
    std::string error;
    std::unique_ptr<cairn::RankIndex> loaded = cairn::RankIndex::deserialize(data, size, &error);
    if (!loaded) {
      napi_throw_error(env, "ERR_CORRUPT_RANK_INDEX", error.c_str());
      return nullptr;
    }
    index_ = std::move(loaded);
    return undefined(env);
  }

  // clear(): an empty index in place of this one, whose memory goes back at once.
  napi_value Clear(napi_env env, const napi_value*) {
    index_ = std::make_unique<cairn::RankIndex>();
    return undefined(env);
  }

  // stats(): bytes, allocations and leaf blocks go to scores[0..2], with no object made: an engine
  // reads every board's figures several times a second.
  napi_value Stats(napi_env env, const napi_value*) {
    scores_[0] = static_cast<double>(index_->bytes());
    scores_[1] = static_cast<double>(index_->allocations());
    scores_[2] = static_cast<double>(index_->leafBlocks());
    return undefined(env);
  }

  EnvData* env_;
  std::shared_ptr<HandleTable> handles_;
  uint32_t handle_ = 0;
  std::unique_ptr<cairn::RankIndex> index_;
  int32_t* scratch_ = nullptr;
  double* scores_ = nullptr;
  size_t scoresLen_ = 0;
  size_t scratchLen_ = 0;
  Napi::ObjectReference scratchRef_;
  Napi::ObjectReference scoresRef_;
};

// totals(out: Float64Array(>= 2)): the bytes every index in the process holds and the arena
// allocations they have made, to out[0] and out[1].
Napi::Value Totals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double* out = nullptr;
  size_t len = 0;
  if (info.Length() < 1) {
    fail(env, false, "out must be a Float64Array, got undefined");
    return env.Undefined();
  }
  if (!typedArray(env, info[0], napi_float64_array, "out", "Float64Array", &out, &len)) return env.Undefined();
  if (len < 2) {
    fail(env, true, "out must have at least 2 elements");
    return env.Undefined();
  }
  out[0] = static_cast<double>(cairn::processBytes.load(std::memory_order_relaxed));
  out[1] = static_cast<double>(cairn::processAllocations.load(std::memory_order_relaxed));
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new EnvData();
  env.SetInstanceData(data);
  exports.Set("NativeRankIndexCore", NativeIndex::Define(env));
  NativeIndex::DefineMethods(env, exports, data);
  exports.Set("totals", Napi::Function::New(env, Totals, "totals"));
  return exports;
}

}  // namespace

NODE_API_MODULE(cairn_rank, Init)
